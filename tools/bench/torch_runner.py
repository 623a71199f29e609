#!/usr/bin/env python3
"""Native PyTorch f32 forward of a benchmark model, driven line by line by tools/bench/bench.mjs.

    python tools/bench/torch_runner.py <model dir> --threads N

<model dir> is one of build/bench-models/<name>/ (hf/ + pixels.npy). The model is loaded as a PyTorch user
would (AutoModelForImageClassification.from_pretrained, default attention implementation, float32), with
torch.set_num_threads(N), and every forward runs under torch.inference_mode(). Reading stdin, one JSON line
answered per command:
  run     one forward: {"ms": wall ms, "cpuMs": process CPU ms (all threads)}
  out     the logits of the last forward: {"logits": [...]}
  rss     {"peakRssMB": ru_maxrss of this process}
  quit
The first line written, before any command, is {"ready": true, "loadMs": ..., "torch": version}.
Timing happens here, around the forward only, so the pipe adds nothing to the numbers.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
from transformers import AutoModelForImageClassification


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--threads", type=int, required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model = AutoModelForImageClassification.from_pretrained(os.path.join(args.model_dir, "hf"),
                                                            torch_dtype=torch.float32).eval()
    load_ms = (time.perf_counter() - t0) * 1e3
    pixels = torch.from_numpy(np.load(os.path.join(args.model_dir, "pixels.npy")))
    out = None

    def say(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    say({"ready": True, "loadMs": load_ms, "torch": torch.__version__, "threads": torch.get_num_threads()})
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "run":
            c0, w0 = time.process_time(), time.perf_counter()
            with torch.inference_mode():
                out = model(pixel_values=pixels).logits[0]
            say({"ms": (time.perf_counter() - w0) * 1e3, "cpuMs": (time.process_time() - c0) * 1e3})
        elif cmd == "out":
            say({"logits": out.float().tolist() if out is not None else None})
        elif cmd == "rss":
            say({"peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
        elif cmd == "quit":
            break
        else:
            say({"error": f"unknown command {cmd!r}"})


if __name__ == "__main__":
    main()
