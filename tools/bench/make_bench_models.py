#!/usr/bin/env python3
"""Build the benchmark models (random weights, real sizes) as HF folders + ONNX, for tools/bench/bench.mjs.

    nice tools/.venv/bin/python tools/bench/make_bench_models.py [--out build/bench-models] [--only vit-s16,...]
                                                                 [--int8-onnx-only] [--no-verify-onnx]

For each model <out>/<name>/ gets:
  hf/            config.json (1000 labels), model.safetensors, preprocessor_config.json  (save_pretrained)
  model.onnx     the same torch model, opset 17, input "pixel_values" float32 [1,3,S,S] (S = 224, 518 for
                 dinov2-b14), output "logits" [1,1000]
  model.int8.onnx  model.onnx through onnxruntime.quantization.quantize_dynamic (QInt8 weights, activations
                 quantized per call): the int8 ONNX a Transformers.js user gets by default
  pixels.npy     float32 [1,3,S,S] (seeded)
  logits.npy     float32 [1000], torch float32 forward of the same model on pixels.npy
  info.json      sizes, timings, ONNX-vs-torch check
Nothing is downloaded; weights are seeded random (perturbed like the fixtures), configs written out here (dinov2-b14
is facebook/dinov2-base's Dinov2Config with a 1000-label head). Not committed (hundreds of MB).
--int8-onnx-only: only (re)write model.int8.onnx from an existing model.onnx.

The ONNX graph is checked with onnx.checker and its output compared with torch using onnx's own reference
evaluator (onnx.reference, numpy; no onnxruntime needed).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import transformers
from transformers import Dinov2Config, Dinov2ForImageClassification, ViTConfig, ViTForImageClassification

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from make_fixtures import IMAGENET_MEAN, IMAGENET_STD, HALF, bit_processor, make_pixels, perturb_, vit_processor  # noqa: E402

MODELS = {
    "vit-s16": dict(cls=ViTForImageClassification, processor=lambda: vit_processor(224), mean=HALF, std=HALF,
                    cfg=lambda: ViTConfig(hidden_size=384, num_hidden_layers=12, num_attention_heads=6,
                                          intermediate_size=1536, patch_size=16, image_size=224, num_labels=1000,
                                          layer_norm_eps=1e-12, hidden_act="gelu", qkv_bias=True)),
    "dinov2-s14": dict(cls=Dinov2ForImageClassification, processor=lambda: bit_processor(224, 256),
                       mean=IMAGENET_MEAN, std=IMAGENET_STD,
                       cfg=lambda: Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6,
                                                mlp_ratio=4, patch_size=14, image_size=518, num_labels=1000,
                                                layer_norm_eps=1e-6, hidden_act="gelu", qkv_bias=True,
                                                layerscale_value=1.0)),
    "vit-b16": dict(cls=ViTForImageClassification, processor=lambda: vit_processor(224), mean=HALF, std=HALF,
                    cfg=lambda: ViTConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                          intermediate_size=3072, patch_size=16, image_size=224, num_labels=1000,
                                          layer_norm_eps=1e-12, hidden_act="gelu", qkv_bias=True)),
    # facebook/dinov2-base's config, run at its native 518² (1370 tokens: the attention-heavy case).
    "dinov2-b14": dict(cls=Dinov2ForImageClassification, processor=lambda: bit_processor(224, 256),
                       mean=IMAGENET_MEAN, std=IMAGENET_STD, size=518,
                       cfg=lambda: Dinov2Config(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                                mlp_ratio=4, patch_size=14, image_size=518, num_labels=1000,
                                                layer_norm_eps=1e-6, hidden_act="gelu", qkv_bias=True,
                                                layerscale_value=1.0)),
}


class LogitsOnly(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        return self.m(pixel_values=pixel_values).logits


def onnx_reference_logits(path, pixels):
    import onnx
    from onnx.reference import ReferenceEvaluator

    sess = ReferenceEvaluator(onnx.load(path))
    (out,) = sess.run(["logits"], {"pixel_values": pixels})
    return out


def build_one(name, spec, out_root, seed, verify_onnx):
    import onnx

    t0 = time.time()
    d = os.path.join(out_root, name)
    os.makedirs(os.path.join(d, "hf"), exist_ok=True)
    cfg = spec["cfg"]()
    cfg._attn_implementation = "eager"  # plain matmul+softmax: exports to ONNX as-is; numerically same as sdpa
    torch.manual_seed(seed)
    model = perturb_(spec["cls"](cfg), seed + 1)
    model.save_pretrained(os.path.join(d, "hf"))
    spec["processor"]().save_pretrained(os.path.join(d, "hf"))
    t_hf = time.time()

    size = spec.get("size", 224)
    px, _ = make_pixels(seed + 2, size, size, spec["mean"], spec["std"])
    np.save(os.path.join(d, "pixels.npy"), px)
    with torch.no_grad():
        logits = model(pixel_values=torch.from_numpy(px)).logits[0].numpy().astype(np.float32)
    np.save(os.path.join(d, "logits.npy"), logits)

    onnx_path = os.path.join(d, "model.onnx")
    with torch.no_grad():
        torch.onnx.export(
            LogitsOnly(model), (torch.from_numpy(px),), onnx_path, opset_version=17,
            input_names=["pixel_values"], output_names=["logits"], do_constant_folding=True, dynamo=False,
        )
    t_onnx = time.time()
    onnx.checker.check_model(onnx_path)  # path form: works for >2 GB too
    g = onnx.load(onnx_path, load_external_data=False).graph
    ops = sorted({n.op_type for n in g.node})
    resize = [
        {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in g.node if n.op_type == "Resize"
    ]
    for r in resize:
        for k, v in list(r.items()):
            if isinstance(v, bytes):
                r[k] = v.decode()
    info = {
        "name": name,
        "hf_class": spec["cls"].__name__,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "config": {k: getattr(cfg, k) for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                                "patch_size", "image_size", "num_labels")},
        "params": int(sum(p.numel() for p in model.parameters())),
        "input": [1, 3, size, size],
        "bytes": {
            "model.safetensors": os.path.getsize(os.path.join(d, "hf", "model.safetensors")),
            "model.onnx": os.path.getsize(onnx_path),
        },
        "onnx_ops": ops,
        "onnx_resize_nodes": resize,
        "seconds": {"build+save_pretrained": round(t_hf - t0, 1), "torch+onnx export": round(t_onnx - t_hf, 1)},
    }
    if verify_onnx:
        t1 = time.time()
        ref = onnx_reference_logits(onnx_path, px)[0]
        info["onnx_reference_vs_torch_max_abs"] = float(np.abs(ref - logits).max())
        info["seconds"]["onnx reference run"] = round(time.time() - t1, 1)
    info["bytes"]["model.int8.onnx"], info["seconds"]["quantize_dynamic"] = quantize_onnx(d)
    write_info(d, info)
    return info


def write_info(d, info):
    with open(os.path.join(d, "info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")


def quantize_onnx(d):
    """model.onnx → model.int8.onnx with onnxruntime's dynamic quantization, as Transformers.js's quantize script
    does (MatMul weights QInt8, activations quantized at run time). Returns (bytes, seconds)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    t0 = time.time()
    out = os.path.join(d, "model.int8.onnx")
    quantize_dynamic(os.path.join(d, "model.onnx"), out, weight_type=QuantType.QInt8,
                     extra_options=dict(EnableSubgraph=True, MatMulConstBOnly=True))
    return os.path.getsize(out), round(time.time() - t0, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build",
                                                  "bench-models"), help="default: <repo>/build/bench-models")
    ap.add_argument("--only", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS))
    ap.add_argument("--no-verify-onnx", action="store_true", help="skip the (slow, numpy) ONNX reference run")
    ap.add_argument("--int8-onnx-only", action="store_true", help="only write model.int8.onnx from model.onnx")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for name in args.only.split(","):
        if args.int8_onnx_only:
            d = os.path.join(args.out, name)
            info = json.load(open(os.path.join(d, "info.json")))
            info["bytes"]["model.int8.onnx"], info["seconds"]["quantize_dynamic"] = quantize_onnx(d)
            write_info(d, info)
            print(f"{name}: model.int8.onnx {info['bytes']['model.int8.onnx'] / 1e6:.1f} MB", flush=True)
            continue
        seed = 2000 + 100 * list(MODELS).index(name)  # fixed per model, independent of --only
        info = build_one(name, MODELS[name], args.out, seed, not args.no_verify_onnx)
        mb = {k: round(v / 1e6, 1) for k, v in info["bytes"].items()}
        print(f"{name}: {info['params'] / 1e6:.1f} M params, {mb} MB, {info['seconds']} s, "
              f"onnx vs torch {info.get('onnx_reference_vs_torch_max_abs')}", flush=True)


if __name__ == "__main__":
    main()
