#!/usr/bin/env python3
"""Export a checkpoint of tools/default-model/train_default.py as a Hugging Face ViT folder and convert it into
weights/cifar10-vit/ (the bundled default model).

    tools/.venv/bin/python tools/default-model/export_default.py                       # newest epoch-NNN.pt of tools/runs/default
    tools/.venv/bin/python tools/default-model/export_default.py --checkpoint tools/runs/default/epoch-012.pt
    tools/.venv/bin/python tools/default-model/export_default.py --no-convert          # only the HF folder + PyTorch evaluation
    tools/.venv/bin/python tools/default-model/export_default.py --average 5           # mean weights of the last 5 epochs

Steps:
1. Rebuild the `ViTForImageClassification` from the run's config and load the checkpoint's weights.
2. Write <hf-out>/: config.json (id2label = the CIFAR-10 classes), model.safetensors, preprocessor_config.json
   (ViTImageProcessor: resize any photo to 32x32 with PIL bilinear (resample 2) as CIFAR's 32x32 images were made,
   rescale 1/255, normalise with the TRAINING set's mean/std).
3. Evaluate the exported model in PyTorch, float32, on all 10,000 test images, through the saved
   ViTImageProcessor (so the numbers are those of the exported folder, not of the training loop's own
   preprocessing); writes <hf-out>/eval_pytorch.json (accuracy, confusion matrix) and
   <hf-out>/test_logits.npy ([10000,10] float32, test.zip entry order) for tools/default-model/eval_default.mjs.
4. `node src/js/cli.js convert <hf-out> -o <weights>` (into a temporary folder that then replaces <weights>),
   and record the training provenance + PyTorch accuracy under `metadata.training` of its manifest.json.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUNS = os.path.join(ROOT, "tools", "runs")
sys.path.insert(0, HERE)
import train_default as T  # noqa: E402


def newest_epoch(run):
    eps = sorted(glob.glob(os.path.join(run, "epoch-*.pt")))
    if not eps:
        sys.exit(f"no epoch-NNN.pt in {run} yet")
    return eps[-1]


def train_seconds(run, upto_epoch):
    """Training time of a run's epochs 1..upto_epoch, from its log.jsonl (0 without one)."""
    lp = os.path.join(run, "log.jsonl")
    if not os.path.exists(lp):
        return 0.0
    return sum(r.get("train_seconds", 0) for r in map(json.loads, open(lp)) if r["epoch"] <= upto_epoch)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", default=os.path.join(RUNS, "default"))
    p.add_argument("--checkpoint", help="epoch-NNN.pt or last.pt (default: the newest epoch-NNN.pt of --run)")
    p.add_argument("--hf-out", help="HF folder to write (default: <run>/hf)")
    p.add_argument("--weights", default=os.path.join(ROOT, "weights", "cifar10-vit"))
    p.add_argument("--name", default="cifar10-vit")
    p.add_argument("--average", type=int, default=1, metavar="K",
                   help="export the mean of the weights of the K epochs ending at the checkpoint (same run): "
                        "checkpoint averaging, which smooths the noise of the last low-LR epochs (default 1: none)")
    p.add_argument("--no-convert", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default=T.DEFAULT_DATA)
    p.add_argument("--cache", default=os.path.join(RUNS, "cache"))
    a = p.parse_args(argv)

    import torch
    from PIL import Image
    from transformers import ViTForImageClassification, ViTImageProcessor
    torch.set_num_threads(a.threads)

    ck_path = a.checkpoint or newest_epoch(a.run)
    ck = torch.load(ck_path, map_location="cpu", weights_only=False)
    cfg = ck["config"]
    targs = T.parse_args([])
    for k, v in cfg.items():
        setattr(targs, k, v)
    model = ViTForImageClassification(T.make_config(targs))
    epoch = ck["epoch"]
    state = ck["model"]
    averaged = [epoch]
    if a.average > 1:
        run_dir = os.path.dirname(ck_path)
        averaged = list(range(epoch - a.average + 1, epoch + 1))
        paths = [os.path.join(run_dir, f"epoch-{e:03d}.pt") for e in averaged[:-1]]
        missing = [q for q in paths if not os.path.exists(q)]
        if averaged[0] < 1 or missing:
            sys.exit(f"--average {a.average}: needs epochs {averaged[0]}..{epoch} in {run_dir}; missing {missing}")
        state = {k: v.clone().double() for k, v in state.items()}
        for q in paths:
            for k, v in torch.load(q, map_location="cpu", weights_only=False)["model"].items():
                state[k] += v.double()
        state = {k: (v / a.average).float() for k, v in state.items()}
        print(f"weights averaged over epochs {averaged[0]}..{epoch}", flush=True)
    model.load_state_dict(state)
    model.eval()
    print(f"{ck_path}: epoch {epoch}, {sum(p.numel() for p in model.parameters()) / 1e6:.3f} M parameters", flush=True)

    hf = a.hf_out or os.path.join(a.run, "hf")
    if os.path.exists(hf):
        shutil.rmtree(hf)
    model.config.name_or_path = a.name
    model.save_pretrained(hf, safe_serialization=True)
    proc = ViTImageProcessor(do_resize=True, size={"height": 32, "width": 32}, resample=2, do_rescale=True,
                             rescale_factor=1 / 255, do_normalize=True, image_mean=T.MEAN, image_std=T.STD)
    proc.save_pretrained(hf)

    # Evaluate the exported folder: reload it, preprocess the decoded test JPEGs with the saved processor.
    model = ViTForImageClassification.from_pretrained(hf, attn_implementation="eager").eval()
    proc = ViTImageProcessor.from_pretrained(hf)
    xte, yte = T.load_split(a, "test")
    t0 = time.time()
    logits = []
    with torch.no_grad():
        for i in range(0, len(xte), 500):
            imgs = [Image.fromarray(x) for x in xte[i:i + 500]]
            pv = proc(images=imgs, return_tensors="pt")["pixel_values"]
            if i == 0:  # the processor must equal the training loop's preprocessing on 32x32 inputs
                ref = T.to_tensor(xte[:500], torch)
                d = (pv - ref).abs().max().item()
                assert d < 1e-5, f"processor differs from training preprocessing by {d}"
            logits.append(model(pixel_values=pv).logits.float().numpy())
    logits = np.concatenate(logits)
    pred = logits.argmax(1)
    acc = float((pred == yte).mean() * 100)
    conf = np.zeros((10, 10), np.int64)
    np.add.at(conf, (yte.astype(np.int64), pred), 1)
    per_class = {c: float(conf[i, i] / conf[i].sum() * 100) for i, c in enumerate(T.CLASSES)}
    res = {"checkpoint": os.path.relpath(ck_path, ROOT), "epoch": epoch, "averaged_epochs": averaged, "test_images": int(len(yte)),
           "top1": round(acc, 2), "correct": int((pred == yte).sum()), "per_class_top1": per_class,
           "confusion_rows_true_cols_pred": conf.tolist(), "eval_seconds": round(time.time() - t0, 1),
           "evaluated": "PyTorch float32, eager attention, ViTImageProcessor from the exported folder"}
    np.save(os.path.join(hf, "test_logits.npy"), logits.astype(np.float32))
    json.dump(res, open(os.path.join(hf, "eval_pytorch.json"), "w"), indent=1)
    print(f"PyTorch fp32 test top-1: {acc:.2f}% ({res['correct']}/{len(yte)})", flush=True)
    print("per class: " + ", ".join(f"{c} {v:.1f}" for c, v in per_class.items()), flush=True)

    if a.no_convert:
        return 0
    tmp = a.weights.rstrip("/") + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    # Only the files the converter reads (the logits/eval json stay in the run folder).
    src = os.path.join(a.run, "hf-convert-src")
    if os.path.exists(src):
        shutil.rmtree(src)
    os.makedirs(src)
    for f in ("config.json", "model.safetensors", "preprocessor_config.json"):
        shutil.copy(os.path.join(hf, f), src)
    cmd = ["node", os.path.join(ROOT, "src", "js", "cli.js"), "convert", src, "-o", tmp, "--name", a.name, "-q"]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    man_path = os.path.join(tmp, "manifest.json")
    man = json.load(open(man_path))
    # A run started with --init continues an earlier one: follow the chain for the total epochs and time.
    chain, seconds, prior_epochs, c = [], train_seconds(a.run, epoch), 0, cfg
    while c.get("init"):
        init = os.path.join(ROOT, c["init"])
        parent = os.path.dirname(init)
        pck = torch.load(init, map_location="cpu", weights_only=False)
        seconds += train_seconds(parent, pck["epoch"])
        prior_epochs += pck["epoch"]
        chain.append({"run": os.path.relpath(parent, ROOT), "epoch": pck["epoch"], "config": pck["config"]})
        c = pck["config"]
    man["metadata"]["training"] = {
        "script": "tools/default-model/train_default.py", "docs": "docs/TRAINING.md", "dataset": "CIFAR-10 (JPEG q75 copy), 50,000 train",
        "epoch": epoch, "averaged_epochs": averaged, "epochs_planned": cfg["epochs"], "config": cfg,
        "continues": chain or None, "total_epochs": prior_epochs + epoch,
        "train_seconds": round(seconds, 1),
        "test_top1_pytorch_fp32": res["top1"], "test_images": res["test_images"],
        "per_class_top1": {k: round(v, 1) for k, v in per_class.items()},
    }
    with open(man_path, "w") as f:
        json.dump(man, f, indent=1)
        f.write("\n")
    if os.path.exists(a.weights):
        shutil.rmtree(a.weights)
    os.replace(tmp, a.weights)
    shutil.rmtree(src)
    size = sum(os.path.getsize(os.path.join(a.weights, f)) for f in os.listdir(a.weights))
    print(f"{a.weights}: {size / 1e6:.2f} MB, {len(os.listdir(a.weights))} files", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
