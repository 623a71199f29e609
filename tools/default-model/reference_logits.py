"""PyTorch reference logits of the bundled default model on the 10,000 CIFAR-10 test images.

The model is rebuilt from the vitrine weights themselves (weights/cifar10-vit: manifest.json + chunks, every chunk's
SHA-256 checked), loaded into transformers' ViTForImageClassification, and run in float32 with eager attention on the
test JPEGs decoded by PIL and preprocessed by ViTImageProcessor with the manifest's preprocess settings — the
reference the engine's logits are compared with in wasm-tests/model/default-model.test.js. Rows follow the entry
order of test.zip (its central directory), the order tools/default-model/cifar10.mjs reads.

    /work/main/tools/.venv/bin/python tools/default-model/reference_logits.py \
        [--weights weights/cifar10-vit] [--data ../shared/data/cifar10] [--out wasm-tests/fixtures/cifar10-vit-test-logits.npy]
"""
import argparse
import hashlib
import io
import json
import os
import sys
import zipfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read_stream(folder):
    man = json.load(open(os.path.join(folder, "manifest.json")))
    parts = []
    for c in man["chunks"]:
        b = open(os.path.join(folder, c["file"]), "rb").read()
        if len(b) != c["size"] or hashlib.sha256(b).hexdigest() != c["sha256"]:
            sys.exit(f"{c['file']}: size or SHA-256 differs from the manifest")
        parts.append(b)
    stream = b"".join(parts)
    assert len(stream) == man["stream_size"]
    tensors = {}
    for t in man["tensors"]:
        if t["dtype"] != "f32":
            sys.exit(f"{t['name']}: dtype {t['dtype']}; the reference is built from the f32 model")
        n = int(np.prod(t["shape"]))
        tensors[t["name"]] = np.frombuffer(stream, np.float32, n, t["offset"]).reshape(t["shape"]).copy()
    return man, tensors


def hf_state(tensors, layers, hidden):
    """vitrine tensor names (docs/FORMAT.md §6, family vit) → ViTForImageClassification's state dict."""
    s = {
        "vit.embeddings.cls_token": tensors["embeddings.cls_token"],
        "vit.embeddings.position_embeddings": tensors["embeddings.position_embeddings"],
        "vit.embeddings.patch_embeddings.projection.weight": tensors["embeddings.patch.weight"],
        "vit.embeddings.patch_embeddings.projection.bias": tensors["embeddings.patch.bias"],
        "vit.layernorm.weight": tensors["norm.weight"],
        "vit.layernorm.bias": tensors["norm.bias"],
        "classifier.weight": tensors["classifier.weight"],
        "classifier.bias": tensors["classifier.bias"],
    }
    for l in range(layers):
        v, h = f"layers.{l}.", f"vit.encoder.layer.{l}."
        qkv_w, qkv_b = tensors[v + "attn.qkv.weight"], tensors[v + "attn.qkv.bias"]
        for k, name in enumerate(("query", "key", "value")):
            s[h + f"attention.attention.{name}.weight"] = qkv_w[k * hidden:(k + 1) * hidden]
            s[h + f"attention.attention.{name}.bias"] = qkv_b[k * hidden:(k + 1) * hidden]
        pairs = {"attn.out": "attention.output.dense", "norm1": "layernorm_before", "norm2": "layernorm_after",
                 "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense"}
        for a, b in pairs.items():
            s[h + b + ".weight"] = tensors[v + a + ".weight"]
            s[h + b + ".bias"] = tensors[v + a + ".bias"]
    return s


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", default=os.path.join(ROOT, "weights", "cifar10-vit"))
    p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "cifar10"))
    p.add_argument("--out", default=os.path.join(ROOT, "wasm-tests", "fixtures", "cifar10-vit-test-logits.npy"))
    a = p.parse_args(argv)

    import torch
    from PIL import Image
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    man, tensors = read_stream(a.weights)
    arch, pre = man["architecture"], man["preprocess"]
    assert arch["family"] == "vit" and arch["classifier"] == "cls"
    cfg = ViTConfig(hidden_size=arch["hidden_size"], num_hidden_layers=arch["num_hidden_layers"],
                    num_attention_heads=arch["num_attention_heads"], intermediate_size=arch["intermediate_size"],
                    patch_size=arch["patch_size"], image_size=arch["image_size"], num_channels=arch["num_channels"],
                    layer_norm_eps=arch["layer_norm_eps"], hidden_act=arch["hidden_act"], qkv_bias=arch["qkv_bias"],
                    num_labels=arch["num_labels"], attn_implementation="eager")
    model = ViTForImageClassification(cfg).eval()
    state = {k: torch.from_numpy(v) for k, v in hf_state(tensors, arch["num_hidden_layers"], arch["hidden_size"]).items()}
    model.load_state_dict(state, strict=True)
    proc = ViTImageProcessor(do_resize=pre["do_resize"], size=pre["size"], resample=pre["resample"],
                             do_rescale=pre["do_rescale"], rescale_factor=pre["rescale_factor"],
                             do_normalize=pre["do_normalize"], image_mean=pre["image_mean"], image_std=pre["image_std"])

    z = zipfile.ZipFile(os.path.join(a.data, "test.zip"))
    names = z.namelist()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    out = []
    with torch.no_grad():
        for i in range(0, len(names), 500):
            imgs = [Image.open(io.BytesIO(z.read(n))).convert("RGB") for n in names[i:i + 500]]
            pv = proc(images=imgs, return_tensors="pt")["pixel_values"]
            out.append(model(pixel_values=pv).logits.float().numpy())
    logits = np.concatenate(out).astype(np.float32)
    truth = np.array([man["labels"].index(n.split("/")[0]) for n in names])
    acc = float((logits.argmax(1) == truth).mean() * 100)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    np.save(a.out, logits)
    print(f"{a.out}: {logits.shape[0]} x {logits.shape[1]} f32 logits, top-1 {acc:.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
