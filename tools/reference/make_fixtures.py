#!/usr/bin/env python3
"""Regenerate the golden fixtures in wasm-tests/fixtures/models/ from the real Hugging Face classes.

    tools/.venv/bin/python tools/reference/make_fixtures.py [--out wasm-tests/fixtures/models] [--check]

Every case is a small model built from a real config with random (seeded, perturbed) weights, saved with
`save_pretrained` exactly as a Hub checkpoint is laid out, plus the input pixels and HF's outputs for them.
Nothing is downloaded. Running it twice gives byte-identical files (fixed seeds, CPU, deterministic ops);
`--check` regenerates into a temp folder and compares with what is on disk.

What every case folder holds and what the engine must match is described in
wasm-tests/fixtures/models/README.md (written by hand; keep it in sync with this script).
"""
import argparse
import filecmp
import json
import math
import os
import shutil
import struct
import sys
import tempfile

import numpy as np
import torch
import transformers
from transformers import (
    BitImageProcessor,
    CLIPConfig,
    CLIPImageProcessor,
    CLIPModel,
    CLIPVisionConfig,
    CLIPVisionModel,
    CLIPVisionModelWithProjection,
    DeiTConfig,
    DeiTForImageClassification,
    DeiTForImageClassificationWithTeacher,
    DeiTImageProcessor,
    Dinov2Config,
    Dinov2ForImageClassification,
    Dinov2Model,
    SiglipConfig,
    SiglipImageProcessor,
    SiglipModel,
    SiglipVisionConfig,
    SiglipVisionModel,
    ViTConfig,
    ViTForImageClassification,
    ViTImageProcessor,
    ViTModel,
)

try:  # present in 4.48.3; kept optional so the script still says something useful on older versions
    from transformers import (
        Dinov2WithRegistersConfig,
        Dinov2WithRegistersForImageClassification,
    )
except ImportError:  # pragma: no cover
    Dinov2WithRegistersConfig = None

EXPECTED_TRANSFORMERS = "4.48.3"
TOLERANCE = 5e-5
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
HALF = [0.5, 0.5, 0.5]

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)  # bit-for-bit reproducible reductions


# ---------------------------------------------------------------------------------------------------------------
# weights


def perturb_(model, seed):
    """Overwrite every parameter with seeded random values so that no element is exactly 0 or 1 and every
    tensor matters: LayerNorm gammas around 1, betas/biases around 0, tokens/position rows O(0.5),
    Linear/Conv weights ~ N(0, 1/fan_in) so activations stay O(1) through the blocks, layer scale in (0.2, 1.2)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            shape = p.shape
            randn = torch.randn(shape, generator=g, dtype=torch.float32)
            leaf = name.rsplit(".", 1)[-1]
            if "lambda1" in name:  # Dinov2LayerScale
                v = 0.2 + torch.rand(shape, generator=g) * 1.0
            elif ("norm" in name.lower()) and leaf == "weight" and p.ndim == 1:  # LayerNorm gamma
                v = 1.0 + 0.25 * randn
            elif leaf in ("bias", "in_proj_bias", "logit_bias"):
                v = 0.1 * randn
            elif leaf in ("cls_token", "distillation_token", "register_tokens", "mask_token", "class_embedding",
                          "probe"):
                v = 0.5 * randn
            elif leaf == "position_embeddings" or name.endswith("position_embedding.weight"):
                v = 0.3 * randn
            elif leaf == "logit_scale":  # CLIP/SigLIP text-image similarity scale: unused by the vision tower
                v = 2.0 + 0.1 * randn
            elif p.ndim >= 2:  # Linear [out, in] or Conv2d [out, C, P, P]
                fan_in = int(np.prod(shape[1:]))
                v = randn / math.sqrt(fan_in)
            else:
                raise RuntimeError(f"don't know how to perturb {name} {tuple(shape)}")
            # never exactly 0 or 1
            v = torch.where((v == 0) | (v == 1), v + 1e-3, v)
            p.copy_(v)
    model.eval()
    return model


def make_pixels(seed, height, width, mean, std):
    """Normal-ish pixels quantised like a real 8-bit photo after rescale+normalize: u8 = clip(round(128+50·N(0,1))),
    pixel = (u8/255 - mean)/std in float32. Returns (pixels [1,3,H,W] f32, u8 [H,W,3])."""
    rng = np.random.default_rng(seed)
    u8 = np.clip(np.round(128 + 50 * rng.standard_normal((height, width, 3))), 0, 255).astype(np.uint8)
    # exactly HF's arithmetic: rescale() multiplies in float64 and casts to float32, normalize() subtracts and
    # divides in float32 with mean/std cast to float32
    x = (u8.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.array(mean, np.float32)) / np.array(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None].astype(np.float32)), u8


# ---------------------------------------------------------------------------------------------------------------
# position interpolation, written out so the README's description is checked against torch on every run


def _cubic(x, a):
    x = abs(x)
    if x <= 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return (((x - 5) * x + 8) * x - 4) * a
    return 0.0


def bicubic_weights(n_in, n_out):
    """torch F.interpolate(mode="bicubic", align_corners=False, antialias=False) along one axis, as a [n_out, n_in]
    matrix: source coordinate s = (o + 0.5)·(n_in/n_out) - 0.5, taps floor(s)-1 .. floor(s)+2 with Keys a = -0.75,
    tap indices clamped to [0, n_in-1] (border replicate). scale and s are float32 in ATen."""
    W = np.zeros((n_out, n_in), np.float64)
    scale = np.float32(n_in) / np.float32(n_out)
    for o in range(n_out):
        s = np.float32(scale * np.float32(o + 0.5) - np.float32(0.5))
        i0 = math.floor(s)
        t = np.float32(s - np.float32(i0))
        taps = [_cubic(t + 1, -0.75), _cubic(t, -0.75), _cubic(1 - t, -0.75), _cubic(2 - t, -0.75)]
        for k in range(4):
            W[o, min(max(i0 - 1 + k, 0), n_in - 1)] += taps[k]
    return W


def bicubic_aa_weights(n_in, n_out):
    """torch F.interpolate(mode="bicubic", align_corners=False, antialias=True) along one axis (the PIL-style
    separable filter): scale = n_in/n_out; support = 2·scale if scale >= 1 else 2; center = (o+0.5)·scale;
    taps j in [max(int(center-support+0.5),0), min(int(center+support+0.5), n_in)); weight
    w = cubic_{a=-0.5}((j - center + 0.5) / max(scale,1)); weights normalised to sum 1 (no clamping, taps outside
    the input are simply dropped)."""
    W = np.zeros((n_out, n_in), np.float64)
    scale = float(np.float32(n_in) / np.float32(n_out))
    support = 2.0 * scale if scale >= 1.0 else 2.0
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    for o in range(n_out):
        center = scale * (o + 0.5)
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), n_in)
        w = np.array([_cubic((j + xmin - center + 0.5) * invscale, -0.5) for j in range(xmax - xmin)])
        W[o, xmin:xmax] = w / w.sum()
    return W


def check_interp_reference(pos_hf, pos_table, extra_tokens, grid_in, grid_out, antialias):
    """pos_hf: what HF added ([X+N', D]); pos_table: the stored table [X+N, D]. Returns max abs diff."""
    D = pos_table.shape[1]
    patch = pos_table[extra_tokens:].astype(np.float64).reshape(grid_in, grid_in, D)
    fn = bicubic_aa_weights if antialias else bicubic_weights
    Wh, Ww = fn(grid_in, grid_out[0]), fn(grid_in, grid_out[1])
    mine = np.einsum("hi,ijd,wj->hwd", Wh, patch, Ww).reshape(-1, D)
    mine = np.concatenate([pos_table[:extra_tokens].astype(np.float64), mine])
    return float(np.abs(mine - pos_hf).max())


# ---------------------------------------------------------------------------------------------------------------
# running HF


def capture_pos_embed(model):
    """Hook the embeddings module's interpolate_pos_encoding to record the position table HF actually adds."""
    emb = None
    for m in model.modules():
        if hasattr(m, "interpolate_pos_encoding") and hasattr(m, "position_embeddings"):
            emb = m
    box = {}
    orig = emb.interpolate_pos_encoding

    def hook(*a, **k):
        out = orig(*a, **k)
        box["pos"] = out.detach()
        return out

    emb.interpolate_pos_encoding = hook
    return box, lambda: setattr(emb, "interpolate_pos_encoding", orig)


def run(model, pixels):
    """Forward in float64 (exact for the stored f32 weights/pixels) and in float32 (what a user runs).
    Returns {dtype: {"hs": [1,T,D] after the final LayerNorm, "logits"..., "pos": table HF added or None}}.
    *ForImageClassification outputs carry no last_hidden_state; hidden_states[-1] is the encoder output before
    the final LayerNorm, so the base model's own `layernorm` module is applied to it (what HF does internally)."""
    outs = {}
    base = getattr(model, model.base_model_prefix, model)
    for dt in (torch.float64, torch.float32):
        m = model.to(dt)
        box, undo = capture_pos_embed(m)
        with torch.no_grad():
            o = m(torch.from_numpy(pixels).to(dt), output_hidden_states=True)
            hs = o.last_hidden_state if base is m else base.layernorm(o.hidden_states[-1])
        undo()
        res = {"hs": hs, "pos": box.get("pos")}
        for k in ("logits", "cls_logits", "distillation_logits"):
            if getattr(o, k, None) is not None:
                res[k] = o[k]
        outs[dt] = res
    model.to(torch.float32)
    return outs


# ---------------------------------------------------------------------------------------------------------------
# writing


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr, dtype=np.float32))


def arch_for(family, cfg, classifier, num_labels, head=None):
    """The FORMAT.md §4 `architecture` object the converter should produce for this checkpoint."""
    if family == "dinov2":
        inter = int(cfg.hidden_size * cfg.mlp_ratio)
        if cfg.use_swiglu_ffn:
            inter = (int(inter * 2 / 3) + 7) // 8 * 8
    else:
        inter = cfg.intermediate_size
    a = {
        "family": family,
        "hidden_size": cfg.hidden_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "intermediate_size": inter,
        "patch_size": cfg.patch_size,
        "image_size": cfg.image_size,
        "num_channels": cfg.num_channels,
        "layer_norm_eps": cfg.layer_norm_eps,
        "hidden_act": cfg.hidden_act,
        "qkv_bias": cfg.qkv_bias,
        "use_distillation_token": family == "deit",
        "num_register_tokens": getattr(cfg, "num_register_tokens", 0) if family == "dinov2" else 0,
        "use_layer_scale": family == "dinov2",
        "use_swiglu_ffn": bool(getattr(cfg, "use_swiglu_ffn", False)),
        "interpolate_pos_encoding": family == "dinov2",
        "classifier": classifier,
        "num_labels": num_labels,
    }
    if head is not None:
        a["head"] = head
    return a


class Writer:
    def __init__(self, root):
        self.root = root
        self.summary = []

    def case_dir(self, name):
        d = os.path.join(self.root, name)
        os.makedirs(os.path.join(d, "hf"), exist_ok=True)
        return d

    def case_json(self, d, info):
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump(info, f, indent=2)
            f.write("\n")


def labels_for(n, names=None):
    names = names or ["tabby cat", "golden retriever", "teapot", "red fox", "espresso", "volcano", "daisy"]
    return [names[i] if i < len(names) else f"class_{i}" for i in range(n)]


def emit_inputs(d, model, inputs, family, extra_tokens, grid_in, antialias, want_logits):
    """inputs: list of (suffix, pixels). Writes pixels/last_hidden_state/logits(/pos_embed) and returns facts."""
    facts = []
    for suffix, px in inputs:
        outs = run(model, px)
        hs64 = outs[torch.float64]["hs"][0]
        hs32 = outs[torch.float32]["hs"][0]
        H, W = px.shape[2], px.shape[3]
        save_npy(os.path.join(d, f"pixels{suffix}.npy"), px)
        save_npy(os.path.join(d, f"last_hidden_state{suffix}.npy"), hs64.numpy())
        item = {
            "suffix": suffix,
            "height": H,
            "width": W,
            "num_tokens": int(hs64.shape[0]),
            "hidden_size": int(hs64.shape[1]),
            "torch_f32_vs_f64_max_abs": {"last_hidden_state": float((hs32.double() - hs64).abs().max())},
        }
        if want_logits:
            lg64, lg32 = outs[torch.float64]["logits"][0], outs[torch.float32]["logits"][0]
            save_npy(os.path.join(d, f"logits{suffix}.npy"), lg64.numpy())
            item["torch_f32_vs_f64_max_abs"]["logits"] = float((lg32.double() - lg64).abs().max())
            item["num_labels"] = int(lg64.shape[0])
        pos = outs[torch.float64]["pos"]
        P = model.config.patch_size
        grid_out = (H // P, W // P)
        if pos is not None and (grid_out != (grid_in, grid_in)):
            # interpolation happened: keep HF's table (handy when debugging the engine's resize) and check the
            # README's formulas against it
            pos = pos[0].double().numpy()
            save_npy(os.path.join(d, f"pos_embed{suffix}.npy"), pos)
            table = model.state_dict()[[k for k in model.state_dict() if k.endswith("position_embeddings")][0]][0]
            err = check_interp_reference(pos, table.double().numpy(), extra_tokens, grid_in, grid_out, antialias)
            assert err < 1e-5, f"interpolation reference off by {err}"
            item["pos_interpolation"] = {
                "from_grid": [grid_in, grid_in],
                "to_grid": list(grid_out),
                "antialias": antialias,
                "numpy_reference_max_abs": err,
            }
        for k, v in item["torch_f32_vs_f64_max_abs"].items():
            assert v < TOLERANCE / 5, f"{d}{suffix}: torch f32 vs f64 {k} differ by {v}: badly conditioned case"
        facts.append(item)
    return facts


# ---------------------------------------------------------------------------------------------------------------
# cases


def vit_config(image, patch, hidden=48, heads=3, inter=64, labels=None):
    kw = {}
    if labels:
        kw = dict(id2label={i: l for i, l in enumerate(labels)}, label2id={l: i for i, l in enumerate(labels)})
    return ViTConfig(
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=heads,
        intermediate_size=inter,
        hidden_act="gelu",
        layer_norm_eps=1e-12,
        image_size=image,
        patch_size=patch,
        num_channels=3,
        qkv_bias=True,
        **kw,
    )


def vit_processor(size):
    return ViTImageProcessor(size={"height": size, "width": size}, resample=2, image_mean=HALF, image_std=HALF)


def deit_processor(crop):
    resize = int(round(crop * 256 / 224))
    return DeiTImageProcessor(
        size={"height": resize, "width": resize}, resample=3, crop_size={"height": crop, "width": crop},
        image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD,
    )


def bit_processor(crop, shortest=None):
    shortest = shortest or int(round(crop * 256 / 224))
    return BitImageProcessor(
        size={"shortest_edge": shortest}, resample=3, crop_size={"height": crop, "width": crop},
        do_center_crop=True, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD, do_convert_rgb=True,
    )


def dinov2_config(cls=Dinov2Config, image=518, patch=14, hidden=32, heads=2, mlp_ratio=2.0, labels=None, **extra):
    kw = dict(extra)
    if labels:
        kw.update(id2label={i: l for i, l in enumerate(labels)}, label2id={l: i for i, l in enumerate(labels)})
    return cls(
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=heads,
        mlp_ratio=mlp_ratio,
        hidden_act="gelu",
        layer_norm_eps=1e-6,
        image_size=image,
        patch_size=patch,
        qkv_bias=True,
        **kw,
    )


def build(cls, cfg, seed, **model_kw):
    torch.manual_seed(seed)
    cfg._attn_implementation = "eager"  # saved configs don't pin it; outputs are the same with sdpa (checked)
    m = cls(cfg, **model_kw)
    return perturb_(m, seed + 1)


def save_hf(model, processor, d, **kw):
    hf = os.path.join(d, "hf")
    model.save_pretrained(hf, **kw)
    processor.save_pretrained(hf)
    # save_pretrained stamps nothing time-dependent; the config still carries "_attn_implementation_autoset"
    # only in memory. Keep configs readable and stable:
    return hf


def case_classifier(w, name, family, cls, cfg, processor, seed, inputs, classifier, notes, grid_extra=1,
                    antialias=False, want_logits=True, save_kw=None, extra_files=None, tweak=None, model_kw=None):
    d = w.case_dir(name)
    model = build(cls, cfg, seed, **(model_kw or {}))
    if tweak is not None:
        with torch.no_grad():
            tweak(model)
    save_hf(model, processor, d, **(save_kw or {}))
    facts = emit_inputs(d, model, inputs, family, grid_extra, cfg.image_size // cfg.patch_size, antialias,
                        want_logits)
    labels = [cfg.id2label[i] for i in range(cfg.num_labels)] if want_logits else []
    info = {
        "family": family,
        "hf_class": cls.__name__,
        "height": inputs[0][1].shape[2],
        "width": inputs[0][1].shape[3],
        "tolerance": TOLERANCE,
        "notes": notes,
        "labels": labels,
        "architecture": arch_for(family, cfg, classifier, len(labels)),
        "inputs": facts,
        "state_dict_keys": sorted(model.state_dict().keys()),
    }
    if extra_files:
        info.update(extra_files(d, model))
    w.case_json(d, info)
    w.summary.append((name, cls.__name__, [(f["height"], f["width"], f["num_tokens"], f["hidden_size"],
                                            f.get("num_labels")) for f in facts]))
    return model, d


def head_case(w, name, base_cls, cfg, processor, family, seed, pixels, head_spec, labels, notes):
    """A base model from HF + a vitrine MLP head (FORMAT.md §4) stored next to it as vitrine_head.json/.safetensors.
    Golden logits are computed in float64 torch from HF's last_hidden_state."""
    from safetensors.torch import save_file

    d = w.case_dir(name)
    model = build(base_cls, cfg, seed)
    save_hf(model, processor, d)
    facts = emit_inputs(d, model, [("", pixels)], family, 1, cfg.image_size // cfg.patch_size, False, False)
    g = torch.Generator().manual_seed(seed + 7)
    tensors = {}
    mods = []
    for k, layer in enumerate(head_spec["layers"]):
        if layer["type"] == "linear":
            lin = torch.nn.Linear(layer["in"], layer["out"])
            with torch.no_grad():
                lin.weight.copy_(torch.randn(layer["out"], layer["in"], generator=g) / math.sqrt(layer["in"]))
                lin.bias.copy_(0.1 * torch.randn(layer["out"], generator=g))
            tensors[f"head.{k}.weight"] = lin.weight.detach().clone().contiguous()
            tensors[f"head.{k}.bias"] = lin.bias.detach().clone().contiguous()
            mods.append(lin)
        elif layer["type"] == "relu":
            mods.append(torch.nn.ReLU())
        elif layer["type"] == "gelu":
            mods.append(torch.nn.GELU())  # approximate="none": exact erf
        else:
            raise ValueError(layer)
    mlp = torch.nn.Sequential(*mods).double().eval()
    hf = os.path.join(d, "hf")
    save_file(tensors, os.path.join(hf, "vitrine_head.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(hf, "vitrine_head.json"), "w") as f:
        json.dump(dict(head_spec, labels=labels), f, indent=2)
        f.write("\n")
    hs = run(model, pixels)[torch.float64]["hs"][0]  # float64 [T, D]
    cls_tok, patches = hs[0], hs[1:]  # no DIST/registers in these bases: patch tokens are 1..T-1
    pooled = {"cls": cls_tok, "mean": patches.mean(0), "cls+mean": torch.cat([cls_tok, patches.mean(0)])}[
        head_spec["pooling"]
    ]
    with torch.no_grad():
        logits = mlp(pooled[None])[0]
    scores = torch.softmax(logits, 0) if head_spec["output"] == "softmax" else torch.sigmoid(logits)
    save_npy(os.path.join(d, "pooled.npy"), pooled.numpy())
    save_npy(os.path.join(d, "logits.npy"), logits.numpy())
    save_npy(os.path.join(d, "scores.npy"), scores.numpy())
    facts[0]["num_labels"] = len(labels)
    info = {
        "family": family,
        "hf_class": base_cls.__name__,
        "height": pixels.shape[2],
        "width": pixels.shape[3],
        "tolerance": TOLERANCE,
        "notes": notes,
        "labels": labels,
        "architecture": arch_for(family, cfg, "head", len(labels), head=head_spec),
        "inputs": facts,
        "state_dict_keys": sorted(model.state_dict().keys()),
        "head_tensors": {k: list(v.shape) for k, v in tensors.items()},
    }
    w.case_json(d, info)
    w.summary.append((name, base_cls.__name__ + " + vitrine head",
                      [(f["height"], f["width"], f["num_tokens"], f["hidden_size"], len(labels)) for f in facts]))


# ---------------------------------------------------------------------------------------------------------------
# vision towers of the image-text models (CLIP, SigLIP)

TOWER_CLASSES = (CLIPVisionModel, CLIPVisionModelWithProjection, CLIPModel, SiglipVisionModel, SiglipModel)


def tower_outputs(model, pixels):
    """The outputs vitrine reproduces, each taken from the class's own API: last_hidden_state and pooler_output of
    the vision tower, and for CLIP with a projection image_embeds (CLIPVisionModelWithProjection.image_embeds,
    CLIPModel.get_image_features). Vectors are [D] / [projection_dim], last_hidden_state [T, D]."""
    with torch.no_grad():
        if isinstance(model, (CLIPVisionModel, SiglipVisionModel)):
            o = model(pixels)
            return {"last_hidden_state": o.last_hidden_state[0], "pooler_output": o.pooler_output[0]}
        vo = model.vision_model(pixels)
        out = {"last_hidden_state": vo.last_hidden_state[0], "pooler_output": vo.pooler_output[0]}
        if isinstance(model, CLIPVisionModelWithProjection):
            o = model(pixels)
            assert torch.equal(o.last_hidden_state, vo.last_hidden_state)
            out["image_embeds"] = o.image_embeds[0]
        elif isinstance(model, CLIPModel):
            out["image_embeds"] = model.get_image_features(pixels)[0]
        else:  # SiglipModel: its image features are the tower's pooler_output
            assert torch.equal(model.get_image_features(pixels), vo.pooler_output)
        return out


def arch_for_tower(family, vcfg, projection_dim):
    """FORMAT.md §4 `architecture` for a CLIP / SigLIP vision tower: the keys every family shares (+ CLIP's
    projection_dim); the ViT-like keys (tokens, layer scale, SwiGLU, interpolation) are not theirs."""
    a = {
        "family": family,
        "hidden_size": vcfg.hidden_size,
        "num_hidden_layers": vcfg.num_hidden_layers,
        "num_attention_heads": vcfg.num_attention_heads,
        "intermediate_size": vcfg.intermediate_size,
        "patch_size": vcfg.patch_size,
        "image_size": vcfg.image_size,
        "num_channels": vcfg.num_channels,
        "layer_norm_eps": vcfg.layer_norm_eps,
        "hidden_act": vcfg.hidden_act,
        "qkv_bias": True,
        "classifier": "none",
        "num_labels": 0,
    }
    if family == "clip":
        a["projection_dim"] = projection_dim
    return a


def tower_case(w, name, family, cls, cfg, processor, seed, pixels, notes, image_u8=None):
    """image_u8: the 8-bit image the pixels were made from; saved as image.png after checking that the real
    processor turns it into exactly these pixels (a golden for `vitrine embed` on an image file)."""
    d = w.case_dir(name)
    if image_u8 is not None:
        from PIL import Image

        Image.fromarray(image_u8).save(os.path.join(d, "image.png"))
        px_proc = processor(Image.open(os.path.join(d, "image.png")), return_tensors="np")["pixel_values"]
        assert px_proc.dtype == np.float32 and np.array_equal(px_proc, pixels), np.abs(px_proc - pixels).max()
    model = build(cls, cfg, seed)
    save_hf(model, processor, d)
    vcfg = getattr(cfg, "vision_config", cfg)
    projection_dim = model.visual_projection.out_features if hasattr(model, "visual_projection") else 0
    px = torch.from_numpy(pixels)
    o64 = tower_outputs(model.to(torch.float64), px.double())
    o32 = tower_outputs(model.to(torch.float32), px)
    save_npy(os.path.join(d, "pixels.npy"), pixels)
    for k, v in o64.items():
        save_npy(os.path.join(d, f"{k}.npy"), v.numpy())
    hs = o64["last_hidden_state"]
    item = {
        "suffix": "",
        "height": pixels.shape[2],
        "width": pixels.shape[3],
        "num_tokens": int(hs.shape[0]),
        "hidden_size": int(hs.shape[1]),
        "outputs": {k: list(v.shape) for k, v in o64.items()},
        "torch_f32_vs_f64_max_abs": {k: float((o32[k].double() - v).abs().max()) for k, v in o64.items()},
    }
    for k, v in item["torch_f32_vs_f64_max_abs"].items():
        assert v < TOLERANCE / 5, f"{name}: torch f32 vs f64 {k} differ by {v}: badly conditioned case"
    info = {
        "family": family,
        "hf_class": cls.__name__,
        "height": pixels.shape[2],
        "width": pixels.shape[3],
        "tolerance": TOLERANCE,
        "notes": notes,
        "labels": [],
        "architecture": arch_for_tower(family, vcfg, projection_dim),
        "inputs": [item],
        "state_dict_keys": sorted(model.state_dict().keys()),
    }
    w.case_json(d, info)
    w.summary.append((name, cls.__name__, [(item["height"], item["width"], item["num_tokens"], item["hidden_size"],
                                            None)]))


def clip_vision_config(image=32, patch=8, hidden=32, heads=2, inter=64, projection_dim=24):
    return CLIPVisionConfig(hidden_size=hidden, num_hidden_layers=2, num_attention_heads=heads,
                            intermediate_size=inter, hidden_act="quick_gelu", layer_norm_eps=1e-5, image_size=image,
                            patch_size=patch, num_channels=3, projection_dim=projection_dim)


def clip_processor(crop, shortest=None):
    """openai/clip-vit-*: shortest_edge resize (bicubic) + center crop, CLIP mean/std, convert RGB."""
    return CLIPImageProcessor(size={"shortest_edge": shortest or crop}, resample=3,
                              crop_size={"height": crop, "width": crop}, do_center_crop=True,
                              image_mean=CLIP_MEAN, image_std=CLIP_STD, do_convert_rgb=True)


def siglip_vision_config(image=32, patch=8, hidden=32, heads=2, inter=64):
    return SiglipVisionConfig(hidden_size=hidden, num_hidden_layers=2, num_attention_heads=heads,
                              intermediate_size=inter, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
                              image_size=image, patch_size=patch, num_channels=3)


def siglip_processor(size):
    """google/siglip-*: resize to a fixed size (bicubic), rescale, mean = std = 0.5."""
    return SiglipImageProcessor(size={"height": size, "width": size}, resample=3, image_mean=HALF, image_std=HALF)


def tower_cases(w):
    # CLIPVisionModelWithProjection: 32x32, P8 -> [CLS, 16 patches]; projection 32 -> 24 (no bias)
    px, u8 = make_pixels(1701, 32, 32, CLIP_MEAN, CLIP_STD)
    tower_case(
        w, "clip", "clip", CLIPVisionModelWithProjection, clip_vision_config(), clip_processor(32), 1700, px,
        "CLIPVisionModelWithProjection: embeddings = [class_embedding, patch conv (NO bias)] + position_embedding, "
        "then pre_layrnorm, 2 encoder layers (quick_gelu MLP, eps 1e-5). last_hidden_state = encoder output (no "
        "final norm on the tokens); pooler_output = post_layernorm(last_hidden_state[0]) (from vision_model); "
        "image_embeds = visual_projection(pooler_output), no bias, not normalised. pixels.npy == "
        "CLIPImageProcessor(image.png) (32x32 input: resize and crop are no-ops).", image_u8=u8)

    # CLIPVisionModel: no projection; 3 heads of 16, non-default image/patch sizes
    px, _ = make_pixels(1801, 24, 24, CLIP_MEAN, CLIP_STD)
    tower_case(
        w, "clip-vision", "clip", CLIPVisionModel, clip_vision_config(24, 8, hidden=24, heads=3, inter=40),
        clip_processor(24, 27), 1800, px,
        "CLIPVisionModel (no projection): 24x24, P8 -> 1 + 9 tokens, 3 heads of 8, I=40. Outputs last_hidden_state "
        "and pooler_output = post_layernorm(CLS); no image_embeds.")

    # CLIPModel: the text tower and the logit scale are in the checkpoint and must be dropped by the converter
    cfg = CLIPConfig(
        text_config=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                         vocab_size=64, max_position_embeddings=8),
        vision_config=clip_vision_config().to_dict(), projection_dim=20)
    px, _ = make_pixels(1901, 32, 32, CLIP_MEAN, CLIP_STD)
    tower_case(
        w, "clip-full", "clip", CLIPModel, cfg, clip_processor(32), 1900, px,
        "CLIPModel (text + vision towers, projection_dim 20): the converter keeps vision_model.* and "
        "visual_projection.weight and drops text_model.*, text_projection.weight and logit_scale. image_embeds = "
        "CLIPModel.get_image_features (= visual_projection(pooler_output), not normalised).")

    # SiglipVisionModel: no CLS token; post_layernorm on every token; attention-pooling head -> pooler_output
    px, u8 = make_pixels(2001, 32, 32, HALF, HALF)
    tower_case(
        w, "siglip", "siglip", SiglipVisionModel, siglip_vision_config(), siglip_processor(32), 2000, px,
        "SiglipVisionModel: patch conv WITH bias + position_embedding (16 tokens, no CLS), 2 encoder layers "
        "(gelu_pytorch_tanh, eps 1e-6), post_layernorm on every token -> last_hidden_state; pooler_output = "
        "SiglipMultiheadAttentionPoolingHead: probe [1,1,D] attends over last_hidden_state with "
        "nn.MultiheadAttention (in_proj_weight [3D,D] = q;k;v, in_proj_bias, out_proj), then x + mlp(layernorm(x)). "
        "pixels.npy == SiglipImageProcessor(image.png).", image_u8=u8)

    # SiglipModel: text tower + logit scale/bias dropped; 4 heads of 6, I=40
    cfg = SiglipConfig(
        text_config=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                         vocab_size=64, max_position_embeddings=8),
        vision_config=siglip_vision_config(24, 8, hidden=24, heads=4, inter=40).to_dict())
    px, _ = make_pixels(2101, 24, 24, HALF, HALF)
    tower_case(
        w, "siglip-full", "siglip", SiglipModel, cfg, siglip_processor(24), 2100, px,
        "SiglipModel (text + vision): 24x24, P8 -> 9 tokens, 4 heads of 6, I=40. The converter keeps vision_model.* and "
        "drops text_model.*, logit_scale and logit_bias. pooler_output = SiglipModel.get_image_features.")


# ---------------------------------------------------------------------------------------------------------------
# bad inputs


def write_bad(root):
    from safetensors.torch import save_file

    d = os.path.join(root, "bad")
    os.makedirs(d, exist_ok=True)
    readme = {}

    # a valid little safetensors file to break in various ways
    good = os.path.join(d, "_good.safetensors")
    save_file({"a.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3) + 0.5,
               "a.bias": torch.tensor([0.25, -0.75], dtype=torch.float32)}, good, metadata={"format": "pt"})
    raw = open(good, "rb").read()
    os.remove(good)
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]

    def write_st(fname, hdr, data_bytes, n_override=None):
        h = json.dumps(hdr, separators=(",", ":")).encode()
        h += b" " * ((8 - len(h) % 8) % 8)
        nn = len(h) if n_override is None else n_override
        with open(os.path.join(d, fname), "wb") as f:
            f.write(struct.pack("<Q", nn) + h + data_bytes)

    write_st("header-length-lies.safetensors", header, data, n_override=1 << 40)
    readme["header-length-lies.safetensors"] = (
        "u64 header length = 2^40, far bigger than the file (%d bytes)"
        % os.path.getsize(os.path.join(d, "header-length-lies.safetensors")))

    h2 = json.loads(json.dumps(header))
    b0, b1 = h2["a.weight"]["data_offsets"]
    h2["a.weight"]["data_offsets"] = [b0, b0 + 4096]
    write_st("offsets-past-end.safetensors", h2, data)
    readme["offsets-past-end.safetensors"] = (
        "tensor a.weight (F32 [2,3] = 24 bytes) has data_offsets [%d, %d]; the data section is %d bytes"
        % (b0, b0 + 4096, len(data)))

    h3 = json.loads(json.dumps(header))
    h3["a.bias"]["dtype"] = "Q7"
    write_st("unknown-dtype.safetensors", h3, data)
    readme["unknown-dtype.safetensors"] = 'tensor a.bias has dtype "Q7" (not a safetensors dtype)'

    # a checkpoint folder with only the pickle format
    torch.manual_seed(1)
    cfg = vit_config(16, 8, hidden=16, heads=2, inter=16)
    m = perturb_(ViTModel(cfg, add_pooling_layer=False), 2)
    pb = os.path.join(d, "pytorch-bin-only")
    m.save_pretrained(pb, safe_serialization=False)
    vit_processor(16).save_pretrained(pb)
    readme["pytorch-bin-only/"] = ("config.json + pytorch_model.bin (torch pickle) + preprocessor_config.json, no "
                                   "safetensors: the converter must refuse (never unpickle) and say to re-save with "
                                   "safe_serialization=True")

    # a checkpoint with one tensor missing
    from safetensors.torch import save_file as sf
    mt = os.path.join(d, "missing-tensor")
    m.save_pretrained(mt)
    vit_processor(16).save_pretrained(mt)
    sd = {k: v.contiguous() for k, v in m.state_dict().items() if k != "encoder.layer.1.output.dense.bias"}
    sf(sd, os.path.join(mt, "model.safetensors"), metadata={"format": "pt"})
    readme["missing-tensor/"] = ('valid ViTModel checkpoint (hidden 16, 2 layers, image 16, patch 8) whose '
                                 'model.safetensors lacks "encoder.layer.1.output.dense.bias" '
                                 '(vitrine name layers.1.mlp.fc2.bias)')

    # an f16 checkpoint (valid: the converter may upcast to f32 or refuse; either way with a clear message)
    f16 = os.path.join(d, "f16-checkpoint")
    m.half().save_pretrained(f16)
    vit_processor(16).save_pretrained(f16)
    m.float()
    readme["f16-checkpoint/"] = ("the same tiny ViTModel saved in float16 (torch_dtype float16). Not broken: a "
                                 "converter may upcast to f32 (format v1 has no f16 reader) or refuse clearly")

    with open(os.path.join(d, "cases.json"), "w") as f:
        json.dump(readme, f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------------------------------------------------------


def generate(root):
    if os.path.exists(root):
        for e in os.listdir(root):
            p = os.path.join(root, e)
            if os.path.isdir(p):
                shutil.rmtree(p)
    os.makedirs(root, exist_ok=True)
    w = Writer(root)

    # 1. vit: ViTForImageClassification 224/16, 197 tokens. Pixels come from the real ViTImageProcessor applied to
    #    image.png (224x224 RGB, so its resize is an exact no-op): a golden for the preprocessing path as well.
    labels5 = labels_for(5)
    px, u8 = make_pixels(101, 224, 224, HALF, HALF)
    from PIL import Image

    proc = vit_processor(224)
    d = w.case_dir("vit")
    Image.fromarray(u8).save(os.path.join(d, "image.png"))
    px_proc = proc(Image.open(os.path.join(d, "image.png")), return_tensors="np")["pixel_values"].astype(np.float32)
    assert px_proc.shape == px.shape and np.array_equal(px_proc, px), np.abs(px_proc - px).max()
    px = px_proc
    vit_cfg = vit_config(224, 16, labels=labels5)
    vit_model, _ = case_classifier(
        w, "vit", "vit", ViTForImageClassification, vit_cfg, proc, 100, [("", px)], "cls",
        "ViTForImageClassification: classifier on the final-LayerNorm CLS token (token 0). pixels.npy == "
        "ViTImageProcessor(image.png) (224x224 input, so resize is a no-op; do_rescale 1/255, mean=std=0.5).",
        grid_extra=1)

    # 11. vit-npz: same weights as an .npz of HF-named arrays, no safetensors
    d = w.case_dir("vit-npz")
    hf = os.path.join(d, "hf")
    shutil.copy(os.path.join(root, "vit", "hf", "config.json"), os.path.join(hf, "config.json"))
    proc.save_pretrained(hf)
    np.savez(os.path.join(hf, "model.npz"), **{k: v.detach().numpy() for k, v in vit_model.state_dict().items()})
    for f in ("pixels.npy", "last_hidden_state.npy", "logits.npy"):
        shutil.copy(os.path.join(root, "vit", f), os.path.join(d, f))
    vit_info = json.load(open(os.path.join(root, "vit", "case.json")))
    vit_info["notes"] = ("the vit case's weights as hf/model.npz (np.savez of state_dict, keys exactly the HF names, "
                         "float32) + config.json + preprocessor_config.json; no safetensors. Outputs identical to vit.")
    w.case_json(d, vit_info)
    w.summary.append(("vit-npz", "ViTForImageClassification (npz)", [(224, 224, 197, 48, 5)]))

    # 12. vit-sharded
    d = w.case_dir("vit-sharded")
    vit_model.save_pretrained(os.path.join(d, "hf"), max_shard_size="100KB")
    proc.save_pretrained(os.path.join(d, "hf"))
    for f in ("pixels.npy", "last_hidden_state.npy", "logits.npy"):
        shutil.copy(os.path.join(root, "vit", f), os.path.join(d, f))
    vit_info["notes"] = ("the vit case saved with save_pretrained(max_shard_size='100KB'): "
                         "model.safetensors.index.json (weight_map: HF name -> shard file) + shards "
                         "model-0000k-of-0000n.safetensors. Outputs identical to vit.")
    vit_info["shards"] = sorted(f for f in os.listdir(os.path.join(d, "hf")) if f.startswith("model-"))
    assert len(vit_info["shards"]) >= 2
    w.case_json(d, vit_info)
    w.summary.append(("vit-sharded", "ViTForImageClassification (%d shards)" % len(vit_info["shards"]),
                      [(224, 224, 197, 48, 5)]))

    # 2. vit-model: ViTModel with pooler
    cfg = vit_config(32, 8, hidden=48, heads=3, inter=96)
    px, _ = make_pixels(201, 32, 32, HALF, HALF)
    case_classifier(
        w, "vit-model", "vit", ViTModel, cfg, vit_processor(32), 200, [("", px)], "none",
        "ViTModel with its pooler (add_pooling_layer=True): the checkpoint has pooler.dense.weight/bias "
        "(Linear+tanh on CLS) which vitrine does not use; the converter must drop pooler.*. No classifier. "
        "Keys have no 'vit.' prefix (base model).", want_logits=False)

    # 3. deit-teacher
    labels4 = labels_for(4, ["n01440764", "n01443537", "n01484850", "n01491361"])
    cfg = DeiTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                     hidden_act="gelu", layer_norm_eps=1e-12, image_size=224, patch_size=16, qkv_bias=True,
                     id2label=dict(enumerate(labels4)), label2id={l: i for i, l in enumerate(labels4)})
    px, _ = make_pixels(301, 224, 224, IMAGENET_MEAN, IMAGENET_STD)
    m, d = case_classifier(
        w, "deit-teacher", "deit", DeiTForImageClassificationWithTeacher, cfg, deit_processor(224), 300,
        [("", px)], "cls+dist",
        "DeiTForImageClassificationWithTeacher: tokens [CLS, DIST, 196 patches] (198); logits = "
        "(cls_classifier(hs[0]) + distillation_classifier(hs[1])) / 2. HF names the CLS head 'cls_classifier' "
        "(converter maps it to vitrine's 'classifier'). cls_logits.npy / distillation_logits.npy hold the two "
        "heads separately.", grid_extra=2)
    outs = run(m, px)
    save_npy(os.path.join(d, "cls_logits.npy"), outs[torch.float64]["cls_logits"][0].numpy())
    save_npy(os.path.join(d, "distillation_logits.npy"), outs[torch.float64]["distillation_logits"][0].numpy())

    # 4. deit (no teacher): classifier on CLS only, DIST token still in the sequence
    labels3 = labels_for(3)
    cfg = DeiTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                     hidden_act="gelu", layer_norm_eps=1e-12, image_size=64, patch_size=16, qkv_bias=True,
                     id2label=dict(enumerate(labels3)), label2id={l: i for i, l in enumerate(labels3)})
    px, _ = make_pixels(401, 64, 64, IMAGENET_MEAN, IMAGENET_STD)
    case_classifier(
        w, "deit", "deit", DeiTForImageClassification, cfg, deit_processor(64), 400, [("", px)], "cls",
        "DeiTForImageClassification: tokens [CLS, DIST, 16 patches] (18); logits = classifier(hs[0]) only, the "
        "DIST token is still embedded/attended but not read. 4 heads of width 8.", grid_extra=2)

    # 5. dinov2-518: no interpolation
    labels6 = labels_for(6)
    cfg = dinov2_config(image=518, patch=14, hidden=32, heads=2, mlp_ratio=2.0, labels=labels6)
    px, _ = make_pixels(501, 518, 518, IMAGENET_MEAN, IMAGENET_STD)
    case_classifier(
        w, "dinov2-518", "dinov2", Dinov2ForImageClassification, cfg, bit_processor(518, 518), 500, [("", px)],
        "cls+patchmean",
        "Dinov2ForImageClassification at its native 518x518 (37x37 patches, 1370 tokens): HF returns the stored "
        "position table unchanged (no interpolation). logits = classifier(concat(hs[0], mean(hs[1:]))), "
        "classifier [num_labels, 2D]. Layer scale lambda1 (ls1/ls2) random in (0.2,1.2). Checkpoint also holds "
        "embeddings.mask_token (unused at inference: converter drops it).")

    # 6. dinov2-interp: 518-trained model run at 224x224 and 224x308 (real facebook/dinov2-* processor: 256/224)
    cfg = dinov2_config(image=518, patch=14, hidden=32, heads=2, mlp_ratio=2.0, labels=labels6)
    px, _ = make_pixels(601, 224, 224, IMAGENET_MEAN, IMAGENET_STD)
    px2, _ = make_pixels(602, 224, 308, IMAGENET_MEAN, IMAGENET_STD)
    case_classifier(
        w, "dinov2-interp", "dinov2", Dinov2ForImageClassification, cfg, bit_processor(224, 256), 600,
        [("", px), ("-224x308", px2)], "cls+patchmean",
        "Dinov2ForImageClassification with image_size 518 (37x37 position grid) run at 224x224 (16x16 grid, 257 "
        "tokens) and 224x308 (16x22, 353 tokens; files *-224x308.npy): bicubic, align_corners=False, NO antialias, "
        "explicit size. pos_embed*.npy = the [1+N', D] table HF added.", antialias=False)

    # 7. dinov2-swiglu: Dinov2Model, use_swiglu_ffn, layerscale_value not 1
    cfg = dinov2_config(image=56, patch=14, hidden=40, heads=2, mlp_ratio=2.5, use_swiglu_ffn=True,
                        layerscale_value=0.37)
    px, _ = make_pixels(701, 56, 56, IMAGENET_MEAN, IMAGENET_STD)
    case_classifier(
        w, "dinov2-swiglu", "dinov2", Dinov2Model, cfg, bit_processor(56), 700, [("", px)], "none",
        "Dinov2Model, use_swiglu_ffn=True, hidden 40, mlp_ratio 2.5: hidden_features = int(40*2.5) = 100 -> "
        "(int(100*2/3)+7)//8*8 = 72; mlp.weights_in [144, 40] (rows 0..71 = x1 (silu'd), 72..143 = x2), "
        "mlp.weights_out [40, 72]; out = weights_out(silu(x1) * x2). layerscale_value 0.37 in config but lambda1 "
        "params are perturbed (random). 2 heads of width 20. 4x4 grid, 17 tokens, no interpolation.",
        want_logits=False)

    # 8. dinov2-registers
    if Dinov2WithRegistersConfig is not None:
        labels3b = labels_for(3, ["left", "right", "center"])
        cfg = dinov2_config(Dinov2WithRegistersConfig, image=112, patch=14, hidden=32, heads=2, mlp_ratio=2.0,
                            labels=labels3b, num_register_tokens=4)
        px, _ = make_pixels(801, 70, 98, IMAGENET_MEAN, IMAGENET_STD)
        px2, _ = make_pixels(802, 154, 182, IMAGENET_MEAN, IMAGENET_STD)
        case_classifier(
            w, "dinov2-registers", "dinov2", Dinov2WithRegistersForImageClassification, cfg, bit_processor(112),
            800, [("", px), ("-154x182", px2)], "cls+patchmean",
            "Dinov2WithRegistersForImageClassification, 4 registers, image_size 112 (8x8 grid). pixels.npy is "
            "70x98 (5x7 grid: antialiased DOWNsampling, 1+4+35 = 40 tokens), pixels-154x182.npy is 11x13 "
            "(upsampling, 1+4+143 = 148 tokens). Interpolation here is bicubic with antialias=True (unlike plain "
            "Dinov2). Token order [CLS, reg0..reg3, patches]; registers get no position row. HF's classifier "
            "averages hs[1:], i.e. INCLUDING the 4 register tokens (see README).", antialias=True)

    # 9. head: Dinov2Model + vitrine head (cls+mean, linear-gelu-linear-relu-linear, softmax, 3 labels)
    cfg = dinov2_config(image=56, patch=14, hidden=32, heads=2, mlp_ratio=2.0)
    px, _ = make_pixels(901, 56, 56, IMAGENET_MEAN, IMAGENET_STD)
    D = cfg.hidden_size
    head_case(
        w, "head", Dinov2Model, cfg, bit_processor(56), "dinov2", 900, px,
        {"pooling": "cls+mean",
         "layers": [{"type": "linear", "in": 2 * D, "out": 24}, {"type": "gelu"},
                    {"type": "linear", "in": 24, "out": 16}, {"type": "relu"},
                    {"type": "linear", "in": 16, "out": 3}],
         "output": "softmax"},
        ["apple", "banana", "cherry"],
        "Dinov2Model base (4x4 grid, 17 tokens) + a vitrine head in hf/vitrine_head.json + "
        "hf/vitrine_head.safetensors (head.0/.2/.4 weight+bias). pooled.npy = concat(hs[0], mean(hs[1:])) (64), "
        "logits.npy = head(pooled), scores.npy = softmax(logits). Computed in float64 torch from HF's "
        "last_hidden_state.")

    # 10. head-sigmoid: ViTModel base + mean pooling + one sigmoid output
    cfg = vit_config(32, 8, hidden=32, heads=2, inter=64)
    px, _ = make_pixels(1001, 32, 32, HALF, HALF)
    head_case(
        w, "head-sigmoid", ViTModel, cfg, vit_processor(32), "vit", 1000, px,
        {"pooling": "mean",
         "layers": [{"type": "linear", "in": 32, "out": 12}, {"type": "relu"},
                    {"type": "linear", "in": 12, "out": 1}],
         "output": "sigmoid"},
        ["is_cat"],
        "ViTModel base WITH pooler (drop pooler.*) (4x4 grid, 17 tokens) + vitrine head: mean of patch tokens "
        "hs[1:] (CLS excluded) -> linear(32,12) -> relu -> linear(12,1); scores.npy = sigmoid(logits).")

    # 14./15. eps: make layer 0's LayerNorm input tiny (token std ~1e-4, variance ~1e-8) so that eps is visible:
    #     with ViT's 1e-12 vs a wrong 1e-6 (or DINOv2's 1e-6 vs a wrong 1e-12) LN1's output changes ~10x.
    def shrink_embeddings(m):
        base = getattr(m, m.base_model_prefix, m)
        e = base.embeddings
        for p in (e.patch_embeddings.projection.weight, e.patch_embeddings.projection.bias, e.cls_token,
                  e.position_embeddings):
            p.mul_(1e-4)

    cfg = vit_config(32, 8, hidden=32, heads=2, inter=64)
    px, _ = make_pixels(1101, 32, 32, HALF, HALF)
    case_classifier(
        w, "vit-eps", "vit", ViTModel, cfg, vit_processor(32), 1100, [("", px)], "none",
        "ViTModel WITHOUT pooler (add_pooling_layer=False), embeddings (patch conv, cls, positions) scaled by 1e-4 so "
        "layer 0's first LayerNorm sees variance ~1e-8: layer_norm_eps (1e-12) must be taken from the config; "
        "1e-6 or 1e-5 moves the outputs by O(1).", want_logits=False, tweak=shrink_embeddings,
        model_kw={"add_pooling_layer": False})

    cfg = dinov2_config(image=56, patch=14, hidden=32, heads=2, mlp_ratio=2.0)
    px, _ = make_pixels(1201, 56, 56, IMAGENET_MEAN, IMAGENET_STD)
    case_classifier(
        w, "dinov2-eps", "dinov2", Dinov2Model, cfg, bit_processor(56), 1200, [("", px)], "none",
        "Dinov2Model, embeddings scaled by 1e-4 so layer 0's norm1 sees variance ~1e-8: eps 1e-6 (config) must be "
        "used; 1e-12 moves the outputs by O(1).", want_logits=False, tweak=shrink_embeddings)

    # hidden_act other than "gelu": each maps to its own code path in the engine (FORMAT.md §4 hidden_act).
    for act, seed in (("gelu_new", 1300), ("gelu_pytorch_tanh", 1400), ("relu", 1500), ("silu", 1600)):
        cfg = vit_config(32, 8, hidden=32, heads=2, inter=64, labels=labels_for(3))
        cfg.hidden_act = act
        px, _ = make_pixels(seed + 1, 32, 32, HALF, HALF)
        case_classifier(
            w, "vit-act-" + act.replace("_", "-"), "vit", ViTForImageClassification, cfg, vit_processor(32), seed,
            [("", px)], "cls",
            f"ViTForImageClassification with hidden_act={act!r} in the MLP (not the default erf GELU); "
            "golden for that activation's code path.")

    tower_cases(w)
    write_bad(root)
    return w.summary


def verify(root):
    """Reload every case from its files on disk, the way a user would (from_pretrained on the hf/ folder, or the npz
    into a fresh model; the head from vitrine_head.safetensors), run in float32 with the default attention
    implementation (sdpa) and compare with the stored goldens. Guards against a fixture that does not describe its
    own files."""
    from safetensors.torch import load_file

    worst = 0.0
    for name in sorted(os.listdir(root)):
        cj = os.path.join(root, name, "case.json")
        if not os.path.exists(cj):
            continue
        info = json.load(open(cj))
        cls = getattr(transformers, info["hf_class"])
        hf = os.path.join(root, name, "hf")
        if os.path.exists(os.path.join(hf, "model.npz")):
            cfg = transformers.AutoConfig.from_pretrained(hf)
            model = cls(cfg)
            npz = np.load(os.path.join(hf, "model.npz"))
            sd = {k: torch.from_numpy(npz[k]) for k in npz.files}
            model.load_state_dict(sd, strict=True)
        else:
            model = cls.from_pretrained(hf)
        model.eval()
        for item in info["inputs"]:
            sfx = item["suffix"]
            px = np.load(os.path.join(root, name, f"pixels{sfx}.npy"))
            if info["family"] in ("clip", "siglip"):
                err = 0.0
                for k, v in tower_outputs(model, torch.from_numpy(px)).items():
                    err = max(err, float(np.abs(v.numpy() - np.load(os.path.join(root, name, f"{k}{sfx}.npy"))).max()))
                worst = max(worst, err)
                assert err < TOLERANCE / 5, f"{name}{sfx}: reloaded model differs from golden by {err}"
                continue
            with torch.no_grad():
                o = model(torch.from_numpy(px), output_hidden_states=True)
                base = getattr(model, model.base_model_prefix, model)
                hs = o.last_hidden_state if base is model else base.layernorm(o.hidden_states[-1])
            gold = np.load(os.path.join(root, name, f"last_hidden_state{sfx}.npy"))
            assert hs[0].shape == gold.shape, (name, hs.shape, gold.shape)
            err = float(np.abs(hs[0].numpy() - gold).max())
            logits = getattr(o, "logits", None)
            if os.path.exists(os.path.join(hf, "vitrine_head.json")):
                spec = json.load(open(os.path.join(hf, "vitrine_head.json")))
                t = load_file(os.path.join(hf, "vitrine_head.safetensors"))
                h = hs[0]
                x = {"cls": h[0], "mean": h[1:].mean(0), "cls+mean": torch.cat([h[0], h[1:].mean(0)])}[spec["pooling"]]
                for k, layer in enumerate(spec["layers"]):
                    if layer["type"] == "linear":
                        x = t[f"head.{k}.weight"] @ x + t[f"head.{k}.bias"]
                    elif layer["type"] == "relu":
                        x = torch.relu(x)
                    else:
                        x = torch.nn.functional.gelu(x)
                logits = x[None]
            if logits is not None:
                lg = np.load(os.path.join(root, name, f"logits{sfx}.npy"))
                err = max(err, float(np.abs(logits[0].numpy() - lg).max()))
            worst = max(worst, err)
            assert err < TOLERANCE / 5, f"{name}{sfx}: reloaded model differs from golden by {err}"
    return worst


# ---------------------------------------------------------------------------------------------------------------
# an independent numpy (float64) forward written from the README's description, on vitrine's tensor names.
# It proves the README + the name mapping are complete: it must reproduce HF's goldens on every case.


def tower_to_vitrine(sd, family):
    """CLIP / SigLIP state_dict (vision-only or the full two-tower model) -> vitrine names. The text tower and the
    text-image logit scale/bias are dropped; CLIP's class_embedding [D] and both position tables [T, D] become
    [1,1,D] / [1,T,D] (same bytes)."""
    out, dropped, q = {}, [], {}
    top = {
        "embeddings.class_embedding": "embeddings.cls_token",
        "embeddings.position_embedding.weight": "embeddings.position_embeddings",
        "embeddings.patch_embedding.weight": "embeddings.patch.weight",
        "embeddings.patch_embedding.bias": "embeddings.patch.bias",
        "pre_layrnorm.weight": "pre_norm.weight", "pre_layrnorm.bias": "pre_norm.bias",
        "post_layernorm.weight": "norm.weight", "post_layernorm.bias": "norm.bias",
        "head.probe": "pool.probe",
        "head.attention.in_proj_weight": "pool.attn.qkv.weight", "head.attention.in_proj_bias": "pool.attn.qkv.bias",
        "head.attention.out_proj.weight": "pool.attn.out.weight", "head.attention.out_proj.bias": "pool.attn.out.bias",
        "head.layernorm.weight": "pool.norm.weight", "head.layernorm.bias": "pool.norm.bias",
        "head.mlp.fc1.weight": "pool.mlp.fc1.weight", "head.mlp.fc1.bias": "pool.mlp.fc1.bias",
        "head.mlp.fc2.weight": "pool.mlp.fc2.weight", "head.mlp.fc2.bias": "pool.mlp.fc2.bias",
    }
    layer = {"layer_norm1": "norm1", "layer_norm2": "norm2", "self_attn.out_proj": "attn.out", "mlp.fc1": "mlp.fc1",
             "mlp.fc2": "mlp.fc2"}
    for k0, v in sd.items():
        if k0 == "visual_projection.weight":
            out["projection.weight"] = v
            continue
        if not k0.startswith("vision_model."):
            dropped.append(k0)  # text_model.*, text_projection, logit_scale, logit_bias
            continue
        k = k0[len("vision_model."):]
        parts = k.split(".")
        if k in top:
            name = top[k]
            if name == "embeddings.cls_token":
                v = v.reshape(1, 1, -1)
            elif name == "embeddings.position_embeddings":
                v = v.reshape(1, *v.shape)
            out[name] = v
        elif k.startswith("encoder.layers."):
            l, mod, leaf = parts[2], ".".join(parts[3:-1]), parts[-1]
            if mod in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                q.setdefault((l, leaf), {})[mod[len("self_attn.")]] = v
            elif mod in layer:
                out[f"layers.{l}.{layer[mod]}.{leaf}"] = v
            else:
                raise KeyError(k0)
        else:
            raise KeyError(k0)
    for (l, leaf), d in q.items():
        out[f"layers.{l}.attn.qkv.{leaf}"] = np.concatenate([d["q"], d["k"], d["v"]], 0)
    return out, dropped


def hf_to_vitrine(sd, family):
    """HF state_dict (numpy arrays) -> vitrine canonical names (docs/FORMAT.md §6). Returns (tensors, dropped)."""
    if family in ("clip", "siglip"):
        return tower_to_vitrine(sd, family)
    out, dropped = {}, []
    prefixes = ("vit.", "deit.", "dinov2.", "dinov2_with_registers.")
    q = {}
    for k, v in sd.items():
        k0 = k
        for p in prefixes:
            if k.startswith(p):
                k = k[len(p):]
                break
        parts = k.split(".")
        if k.startswith("pooler.") or k == "embeddings.mask_token":
            dropped.append(k0)
            continue
        if k in ("embeddings.cls_token", "embeddings.distillation_token", "embeddings.register_tokens",
                 "embeddings.position_embeddings"):
            out[k] = v
        elif k.startswith("embeddings.patch_embeddings.projection."):
            out["embeddings.patch." + parts[-1]] = v
        elif k.startswith("layernorm."):
            out["norm." + parts[-1]] = v
        elif k.startswith("classifier.") or k.startswith("cls_classifier."):
            out["classifier." + parts[-1]] = v
        elif k.startswith("distillation_classifier."):
            out[k] = v
        elif k.startswith("encoder.layer."):
            l, rest = parts[2], ".".join(parts[3:])
            leaf = parts[-1]
            m = {
                "layernorm_before": "norm1", "norm1": "norm1", "layernorm_after": "norm2", "norm2": "norm2",
                "attention.output.dense": "attn.out", "intermediate.dense": "mlp.fc1", "output.dense": "mlp.fc2",
                "mlp.fc1": "mlp.fc1", "mlp.fc2": "mlp.fc2", "mlp.weights_in": "mlp.fc1", "mlp.weights_out": "mlp.fc2",
            }
            mod = rest.rsplit(".", 1)[0]
            if mod in ("attention.attention.query", "attention.attention.key", "attention.attention.value"):
                q.setdefault((l, leaf), {})[mod.rsplit(".", 1)[1]] = v
            elif mod == "layer_scale1":
                out[f"layers.{l}.ls1"] = v
            elif mod == "layer_scale2":
                out[f"layers.{l}.ls2"] = v
            elif mod in m:
                out[f"layers.{l}.{m[mod]}.{leaf}"] = v
            else:
                raise KeyError(k0)
        else:
            raise KeyError(k0)
    for (l, leaf), d in q.items():
        out[f"layers.{l}.attn.qkv.{leaf}"] = np.concatenate([d["query"], d["key"], d["value"]], 0)
    return out, dropped


def np_forward(t, arch, pixels, head=None, swap_gelu=False, eps=None, antialias=None, registers_in_mean=True):
    """t: vitrine tensors (float64 numpy); arch: FORMAT.md §4 object (+ hf_antialias for registers). Returns
    (last_hidden_state [T,D], logits or None) — for the vision towers (clip, siglip) (last_hidden_state, {output
    name: vector}). Keyword knobs re-create common mistakes (for the sensitivity table)."""
    from math import erf

    family = arch["family"]
    tower = family in ("clip", "siglip")
    D, P, L, Hh = arch["hidden_size"], arch["patch_size"], arch["num_hidden_layers"], arch["num_attention_heads"]
    eps = arch["layer_norm_eps"] if eps is None else eps
    x = pixels[0].astype(np.float64)
    C, H, W = x.shape
    gh, gw = H // P, W // P
    # patch embedding = Conv2d(k=P, stride=P): patch (i,j) flattened as [C, P, P]
    patches = x.reshape(C, gh, P, gw, P).transpose(1, 3, 0, 2, 4).reshape(gh * gw, C * P * P)
    emb = patches @ t["embeddings.patch.weight"].reshape(D, -1).T
    if "embeddings.patch.bias" in t:  # CLIP's patch conv has no bias
        emb = emb + t["embeddings.patch.bias"]
    X = 0 if family == "siglip" else 2 if arch.get("use_distillation_token") else 1
    pre = [t["embeddings.cls_token"].reshape(1, D)] if X else []
    if X == 2:
        pre.append(t["embeddings.distillation_token"].reshape(1, D))
    pos = t["embeddings.position_embeddings"].reshape(-1, D)
    g0 = int(round(math.sqrt(pos.shape[0] - X)))
    if (gh, gw) != (g0, g0) or (family == "dinov2" and H != W):
        assert arch.get("interpolate_pos_encoding"), "ViT/DeiT/CLIP/SigLIP need image_size input"
        aa = arch.get("hf_antialias", False) if antialias is None else antialias
        fn = bicubic_aa_weights if aa else bicubic_weights
        grid = pos[X:].reshape(g0, g0, D)
        pos = np.concatenate([pos[:X], np.einsum("hi,ijd,wj->hwd", fn(g0, gh), grid, fn(g0, gw)).reshape(-1, D)])
    h = np.concatenate(pre + [emb]) + pos
    R = arch.get("num_register_tokens", 0)
    if R:
        h = np.concatenate([h[:1], t["embeddings.register_tokens"].reshape(R, D), h[1:]])

    def ln(v, name):
        mu = v.mean(-1, keepdims=True)
        var = ((v - mu) ** 2).mean(-1, keepdims=True)
        return (v - mu) / np.sqrt(var + eps) * t[name + ".weight"] + t[name + ".bias"]

    def act(v, name):
        if name == "relu":
            return np.maximum(v, 0.0)
        if name in ("silu", "swish"):
            return v / (1.0 + np.exp(-v))
        if name == "quick_gelu" and not swap_gelu:
            return v / (1.0 + np.exp(-1.702 * v))
        if name == "quick_gelu":  # the mistake to re-create: erf GELU in place of x·sigmoid(1.702x)
            return v * 0.5 * (1.0 + np.vectorize(erf)(v / math.sqrt(2.0)))
        tanh = name in ("gelu_new", "gelu_pytorch_tanh")
        if tanh != swap_gelu:
            return 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))
        return v * 0.5 * (1.0 + np.vectorize(erf)(v / math.sqrt(2.0)))

    def lin(v, name):
        out = v @ t[name + ".weight"].T
        return out + t[name + ".bias"] if name + ".bias" in t else out

    hd = D // Hh

    def attend(xq, xkv, name):
        """Multi-head attention of the rows of xq over the rows of xkv with stacked [q; k; v] projections."""
        w, b = t[name + ".qkv.weight"], t.get(name + ".qkv.bias")
        proj = [xs @ w[i * D:(i + 1) * D].T + (b[i * D:(i + 1) * D] if b is not None else 0)
                for i, xs in ((0, xq), (1, xkv), (2, xkv))]
        qh, kh, vh = (m.reshape(m.shape[0], Hh, hd).transpose(1, 0, 2) for m in proj)
        s = qh @ kh.transpose(0, 2, 1) / math.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        return lin((s @ vh).transpose(1, 0, 2).reshape(xq.shape[0], D), name + ".out")

    def mlp(v, p):
        f = lin(v, p + "mlp.fc1")
        if arch.get("use_swiglu_ffn"):
            I = arch["intermediate_size"]
            f = f[:, :I] / (1 + np.exp(-f[:, :I])) * f[:, I:]
        else:
            f = act(f, arch["hidden_act"])
        return lin(f, p + "mlp.fc2")

    if family == "clip":
        h = ln(h, "pre_norm")
    for l in range(L):
        p = f"layers.{l}."
        xn = ln(h, p + "norm1")
        a = attend(xn, xn, p + "attn")
        h = h + (a * t[p + "ls1"] if arch.get("use_layer_scale") else a)
        f = mlp(ln(h, p + "norm2"), p)
        h = h + (f * t[p + "ls2"] if arch.get("use_layer_scale") else f)
    if family == "clip":
        # last_hidden_state is the encoder output; only the CLS row goes through post_layernorm
        out = {"pooler_output": ln(h[0], "norm")}
        if arch["projection_dim"]:
            out["image_embeds"] = lin(out["pooler_output"], "projection")
        return h, out
    h = ln(h, "norm")
    if family == "siglip":
        # SiglipMultiheadAttentionPoolingHead: the probe attends over all tokens, then residual + MLP(LN(x))
        a = attend(t["pool.probe"].reshape(1, D), h, "pool.attn")
        return h, {"pooler_output": (a + mlp(ln(a, "pool.norm"), "pool."))[0]}
    c = arch["classifier"]
    first_patch = X + R
    if c == "none":
        return h, None
    if c == "cls":
        return h, lin(h[0], "classifier")
    if c == "cls+dist":
        return h, (lin(h[0], "classifier") + lin(h[1], "distillation_classifier")) / 2
    if c == "cls+patchmean":
        return h, lin(np.concatenate([h[0], h[1 if registers_in_mean else first_patch:].mean(0)]), "classifier")
    if c == "head":
        pooled = {"cls": lambda: h[0], "mean": lambda: h[first_patch:].mean(0),
                  "cls+mean": lambda: np.concatenate([h[0], h[first_patch:].mean(0)])}[head["pooling"]]()
        v = pooled
        for k, layer in enumerate(head["layers"]):
            v = lin(v, f"head.{k}") if layer["type"] == "linear" else (np.maximum(v, 0) if layer["type"] == "relu"
                                                                       else act(v, "gelu"))
        return h, v
    raise ValueError(c)


def reference_check(root):
    """Run np_forward on every case from its files; returns {case: max abs diff} and a mistake-sensitivity table."""
    from safetensors.numpy import load_file

    res, sens = {}, {}
    for name in sorted(os.listdir(root)):
        cj = os.path.join(root, name, "case.json")
        if not os.path.exists(cj):
            continue
        info = json.load(open(cj))
        hf = os.path.join(root, name, "hf")
        if os.path.exists(os.path.join(hf, "model.npz")):
            sd = dict(np.load(os.path.join(hf, "model.npz")))
        elif os.path.exists(os.path.join(hf, "model.safetensors.index.json")):
            sd = {}
            for f in sorted(set(json.load(open(os.path.join(hf, "model.safetensors.index.json")))["weight_map"].values())):
                sd.update(load_file(os.path.join(hf, f)))
        else:
            sd = load_file(os.path.join(hf, "model.safetensors"))
        t, dropped = hf_to_vitrine({k: v.astype(np.float64) for k, v in sd.items()}, info["family"])
        head = None
        if os.path.exists(os.path.join(hf, "vitrine_head.json")):
            head = json.load(open(os.path.join(hf, "vitrine_head.json")))
            t.update({k: v.astype(np.float64) for k, v in load_file(os.path.join(hf, "vitrine_head.safetensors")).items()})
        arch = dict(info["architecture"])
        arch["hf_antialias"] = info["hf_class"].startswith("Dinov2WithRegisters")
        worst = 0.0
        for item in info["inputs"]:
            sfx = item["suffix"]
            px = np.load(os.path.join(root, name, f"pixels{sfx}.npy"))
            gold_h = np.load(os.path.join(root, name, f"last_hidden_state{sfx}.npy"))
            lg_path = os.path.join(root, name, f"logits{sfx}.npy")
            gold_l = np.load(lg_path) if os.path.exists(lg_path) else None

            def diff(**kw):
                h, lg = np_forward(t, arch, px, head=head, **kw)
                e = float(np.abs(h - gold_h).max())
                if isinstance(lg, dict):  # vision towers: every pooled output has its golden
                    for k, v in lg.items():
                        e = max(e, float(np.abs(v - np.load(os.path.join(root, name, f"{k}{sfx}.npy"))).max()))
                elif gold_l is not None:
                    e = max(e, float(np.abs(lg - gold_l).max()))
                return e

            worst = max(worst, diff())
            if sfx == "" or name == "dinov2-interp":
                key = name + sfx
                sens[key] = {"gelu_swapped": diff(swap_gelu=True), "eps_1e-5": diff(eps=1e-5),
                             "eps_swapped": diff(eps=1e-6 if arch["layer_norm_eps"] < 1e-9 else 1e-12)}
                if arch.get("interpolate_pos_encoding") and "pos_interpolation" in item:
                    sens[key]["antialias_flipped"] = diff(antialias=not arch["hf_antialias"])
                if arch.get("num_register_tokens"):
                    sens[key]["registers_excluded_from_mean"] = diff(registers_in_mean=False)
        res[name] = {"max_abs": worst, "dropped": dropped}
        assert worst < TOLERANCE / 5, f"numpy reference differs from HF golden on {name}: {worst}"
    return res, sens


def tree_size(root):
    total = 0
    for dp, _, fs in os.walk(root):
        for f in fs:
            total += os.path.getsize(os.path.join(dp, f))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "wasm-tests", "fixtures", "models"))
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and diff with --out")
    args = ap.parse_args()
    if transformers.__version__ != EXPECTED_TRANSFORMERS:
        print(f"warning: transformers {transformers.__version__}, fixtures were made with {EXPECTED_TRANSFORMERS}",
              file=sys.stderr)
    out = os.path.abspath(args.out)
    if args.check:
        tmp = tempfile.mkdtemp()
        generate(tmp)
        bad = []
        for dp, _, fs in os.walk(tmp):
            for f in fs:
                a = os.path.join(dp, f)
                b = os.path.join(out, os.path.relpath(a, tmp))
                if not os.path.exists(b) or not filecmp.cmp(a, b, shallow=False):
                    bad.append(os.path.relpath(a, tmp))
        shutil.rmtree(tmp)
        if bad:
            print("differs:", *bad, sep="\n  ")
            sys.exit(1)
        print("fixtures up to date")
        return
    # keep the hand-written README
    summary = generate(out)
    worst = verify(out)
    ref, sens = reference_check(out)
    for name, cls, shapes in summary:
        print(f"{name:18s} {cls:48s} " + "; ".join(
            f"{h}x{w} -> [{t},{dd}]" + (f" logits[{nl}]" if nl else "") for h, w, t, dd, nl in shapes))
    print(f"reloaded from disk (from_pretrained, sdpa, float32): worst max-abs vs golden {worst:.2e}")
    print("numpy reference forward (vitrine names, README facts) vs golden, max abs:")
    for k, v in ref.items():
        print(f"  {k:18s} {v['max_abs']:.2e}  dropped: {v['dropped']}")
    print("sensitivity: max abs change of outputs when re-creating a mistake (tolerance %g):" % TOLERANCE)
    for k, v in sens.items():
        print(f"  {k:24s} " + "  ".join(f"{m}={e:.1e}" for m, e in v.items()))
    print(f"total {tree_size(out) / 1e6:.2f} MB in {out}")


if __name__ == "__main__":
    main()
