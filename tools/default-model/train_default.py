#!/usr/bin/env python3
"""Train vitrine's bundled default model: a compact ViT on CIFAR-10, on CPU.

The model is a Hugging Face `ViTForImageClassification` (so the normal `vitrine convert` path is exercised),
input 32x32, trained from scratch with random crop (pad 4) + horizontal flip, label smoothing, AdamW with linear
warmup + cosine decay. Everything is deterministic given --seed: the data order and the augmentation of every
batch are drawn from generators seeded by (seed, epoch, step), so a run interrupted at any time and resumed with
the same command continues exactly where the last checkpoint left it.

    tools/.venv/bin/python tools/default-model/train_default.py                 # full run -> tools/runs/default/
    nohup nice -n 19 tools/.venv/bin/python tools/default-model/train_default.py >> tools/runs/default.out 2>&1 &
    tools/.venv/bin/python tools/default-model/train_default.py --smoke --out /tmp/x   # CI: a few steps on a tiny subset
    tools/.venv/bin/python tools/default-model/train_default.py --bench 20 --width 192 --depth 6   # time a config

Run directory (--out):
    config.json        the arguments the run was started with (a resume refuses a different config)
    last.pt            model + optimizer + progress; written every epoch and every --save-minutes within one
    epoch-NNN.pt       model weights (+ progress) after epoch NNN, kept for export
    log.jsonl          one JSON line per epoch: train loss/acc, test loss/acc (subset or full), lr, seconds
    curve.png          loss/accuracy plot, redrawn every epoch
See docs/TRAINING.md for the chosen configuration and the measurements behind it.
"""
import argparse
import io
import json
import math
import os
import sys
import time
import zipfile

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# Channel mean/std of the decoded TRAIN set (JPEG q75 copy, see /work/shared/data/cifar10/README.md).
MEAN = [0.4913, 0.4821, 0.4465]
STD = [0.2452, 0.2428, 0.2606]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# Runs stay at tools/runs (git-ignored): checkpoints record their --init relative to ROOT.
RUNS = os.path.join(ROOT, "tools", "runs")
DEFAULT_DATA = "/work/shared/data/cifar10"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("CIFAR10_DIR", DEFAULT_DATA), help="folder with train.zip, test.zip")
    p.add_argument("--cache", default=os.path.join(RUNS, "cache"), help="uint8 numpy cache of the decoded zips")
    p.add_argument("--out", default=os.path.join(RUNS, "default"), help="run directory")
    # model
    p.add_argument("--patch", type=int, default=4)
    p.add_argument("--width", type=int, default=192)
    p.add_argument("--depth", type=int, default=6)
    p.add_argument("--heads", type=int, default=3)
    p.add_argument("--mlp", type=float, default=2.0, help="intermediate_size = mlp * width")
    # optimisation
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    p.add_argument("--min-lr", type=float, default=1e-5)
    p.add_argument("--wd", type=float, default=0.05)
    p.add_argument("--warmup", type=float, default=3.0, help="warmup epochs (linear from 0)")
    p.add_argument("--ra-n", type=int, default=2, help="RandAugment-lite: ops per image (0: off)")
    p.add_argument("--ra-m", type=float, default=5.0, help="RandAugment-lite magnitude, 0..10")
    p.add_argument("--smoothing", type=float, default=0.1)
    p.add_argument("--clip", type=float, default=1.0, help="gradient norm clip (0: off)")
    p.add_argument("--bf16", type=int, default=0, help="bf16 autocast for the forward/backward (AMX/AVX512-BF16)")
    p.add_argument("--compile", type=int, default=0, help="torch.compile the model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", help="start from this checkpoint's weights (epoch-NNN.pt or last.pt of an earlier run): a new "
                                  "run with a fresh optimiser and its own schedule, e.g. a second, shorter cosine cycle")
    p.add_argument("--threads", type=int, default=2, help="maximum intra-op threads")
    p.add_argument("--adaptive-threads", type=int, default=1,
                   help="on a shared, busy machine: every 60-240 steps (sooner when steps slow down) try the other thread count (1 vs --threads) "
                        "for 6 steps and keep whichever is faster in wall time")
    # evaluation / bookkeeping
    p.add_argument("--eval-every", type=int, default=2, help="full test-set evaluation every N epochs (and the last)")
    p.add_argument("--eval-subset", type=int, default=2000, help="test images evaluated on the other epochs (0: none)")
    p.add_argument("--save-minutes", type=float, default=5.0, help="also checkpoint within an epoch this often")
    p.add_argument("--keep-epochs", type=int, default=1, help="write epoch-NNN.pt files (weights only)")
    # modes
    p.add_argument("--smoke", action="store_true", help="CI: tiny subset, few steps, tiny model, < 60 s")
    p.add_argument("--bench", type=int, default=0, help="time N optimizer steps (after 3 warm-up steps) and exit")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps in this invocation (testing)")
    a = p.parse_args(argv)
    if a.smoke:
        a.width, a.depth, a.heads = 32, 2, 2  # --mlp stays settable: the widening test grows it
        a.epochs, a.batch, a.warmup = 2, 32, 0.5
        a.eval_every, a.eval_subset, a.compile = 1, 0, 0
    return a


# ----------------------------------------------------------------------------------------------------------- data

def load_split(args, split, limit=None):
    """Decoded [N,32,32,3] uint8 images + [N] uint8 labels; cached as .npz next to the runs."""
    cache = os.path.join(args.cache, f"cifar10_{split}.npz")
    if os.path.exists(cache) and not limit:
        d = np.load(cache)
        return d["x"], d["y"]
    from PIL import Image
    z = zipfile.ZipFile(os.path.join(args.data, f"{split}.zip"))
    names = z.namelist()
    if limit:  # a class-balanced subset: the first `limit // 10` files of each class
        per = max(1, limit // 10)
        names = [n for n in names if int(n.split("/")[1].split(".")[0]) < per]
    x = np.stack([np.asarray(Image.open(io.BytesIO(z.read(n))).convert("RGB")) for n in names])
    y = np.array([CLASSES.index(n.split("/")[0]) for n in names], dtype=np.uint8)
    if not limit:
        os.makedirs(args.cache, exist_ok=True)
        tmp = cache + ".tmp.npz"
        np.savez(tmp, x=x, y=y)
        os.replace(tmp, cache)
    return x, y


def augment(xb, rng):
    """Random crop 32x32 from the image zero-padded by 4, then a random horizontal flip. uint8 NHWC in and out."""
    n = xb.shape[0]
    padded = np.zeros((n, 40, 40, 3), np.uint8)
    padded[:, 4:36, 4:36] = xb
    dy = rng.integers(0, 9, n)
    dx = rng.integers(0, 9, n)
    flip = rng.random(n) < 0.5
    out = np.empty_like(xb)
    for i in range(n):
        c = padded[i, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32]
        out[i] = c[:, ::-1] if flip[i] else c
    return out


# RandAugment-lite (Cubuk et al. 2020): per image, `n` ops drawn uniformly from this list at magnitude m/10
# (sign of geometric/enhance ops random). Implemented with PIL so it is the same on any machine; the draws come
# from the batch generator, so it is deterministic and resumable. Fill colour of geometric ops: mid-grey.
RA_OPS = ["identity", "autocontrast", "equalize", "rotate", "solarize", "color", "posterize", "contrast",
          "brightness", "sharpness", "shear_x", "shear_y", "translate_x", "translate_y"]


def _ra_op(img, op, m, sign):
    from PIL import Image, ImageEnhance, ImageOps
    fill = (128, 128, 128)
    if op == "identity":
        return img
    if op == "autocontrast":
        return ImageOps.autocontrast(img)
    if op == "equalize":
        return ImageOps.equalize(img)
    if op == "rotate":
        return img.rotate(sign * 30.0 * m, resample=Image.BILINEAR, fillcolor=fill)
    if op == "solarize":
        return ImageOps.solarize(img, int(256 - 256 * m))
    if op == "posterize":
        return ImageOps.posterize(img, int(round(8 - 4 * m)))
    if op in ("color", "contrast", "brightness", "sharpness"):
        enh = {"color": ImageEnhance.Color, "contrast": ImageEnhance.Contrast,
               "brightness": ImageEnhance.Brightness, "sharpness": ImageEnhance.Sharpness}[op]
        return enh(img).enhance(1.0 + sign * 0.9 * m)
    if op == "shear_x":
        return img.transform(img.size, Image.AFFINE, (1, sign * 0.3 * m, 0, 0, 1, 0), Image.BILINEAR, fillcolor=fill)
    if op == "shear_y":
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, sign * 0.3 * m, 1, 0), Image.BILINEAR, fillcolor=fill)
    if op == "translate_x":
        return img.transform(img.size, Image.AFFINE, (1, 0, sign * 8 * m, 0, 1, 0), fillcolor=fill)
    if op == "translate_y":
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, 0, 1, sign * 8 * m), fillcolor=fill)
    raise ValueError(op)


def randaugment(xb, rng, n, magnitude):
    """Apply RandAugment-lite to a uint8 NHWC batch (in place on a copy)."""
    if n <= 0:
        return xb
    from PIL import Image
    k = len(xb)
    ops = rng.integers(0, len(RA_OPS), (k, n))
    signs = np.where(rng.random((k, n)) < 0.5, -1.0, 1.0)
    m = magnitude / 10.0
    out = np.empty_like(xb)
    for i in range(k):
        img = Image.fromarray(xb[i])
        for j in range(n):
            img = _ra_op(img, RA_OPS[ops[i, j]], m, signs[i, j])
        out[i] = np.asarray(img)
    return out


def to_tensor(xb, torch):
    t = torch.from_numpy(xb).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return ((t - mean) / std).contiguous()


# ----------------------------------------------------------------------------------------------------------- model

def make_config(args):
    from transformers import ViTConfig
    return ViTConfig(
        image_size=32, patch_size=args.patch, num_channels=3,
        hidden_size=args.width, num_hidden_layers=args.depth, num_attention_heads=args.heads,
        intermediate_size=int(round(args.mlp * args.width)), hidden_act="gelu",
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-6, qkv_bias=True,
        num_labels=10, id2label={i: c for i, c in enumerate(CLASSES)}, label2id={c: i for i, c in enumerate(CLASSES)},
    )


def make_model(args, torch):
    from transformers import ViTForImageClassification
    torch.manual_seed(args.seed)
    model = ViTForImageClassification(make_config(args), ).float()
    try:
        model.config._attn_implementation = "sdpa"
        model.vit.config._attn_implementation = "sdpa"
    except Exception:
        pass
    return model


def init_weights(model, state):
    """Load an earlier run's weights, widening the MLPs if this model's are wider.

    Widening keeps the function: the old hidden units are copied, the new ones keep their random
    input weights but get zero output weights, so the widened model starts with exactly the old
    model's logits and the new units learn from there (Net2Net-style growth instead of a
    from-scratch run for a bigger model)."""
    own = model.state_dict()
    grown = []
    for name, old in state.items():
        new = own.get(name)
        if new is None:
            sys.exit(f"--init: {name} is not a weight of this model")
        if new.shape == old.shape:
            new.copy_(old)
        elif name.endswith("intermediate.dense.weight") and old.shape[1] == new.shape[1] and old.shape[0] < new.shape[0]:
            new[: old.shape[0]].copy_(old)
            grown.append(name)
        elif name.endswith("intermediate.dense.bias") and old.shape[0] < new.shape[0]:
            new[: old.shape[0]].copy_(old)
        elif name.endswith("output.dense.weight") and "attention" not in name and old.shape[0] == new.shape[0] and old.shape[1] < new.shape[1]:
            new[:, : old.shape[1]].copy_(old)
            new[:, old.shape[1]:].zero_()
        else:
            sys.exit(f"--init: {name} has shape {tuple(old.shape)}, this model has {tuple(new.shape)}; "
                     "only a wider MLP can be grown from a checkpoint")
    missing = set(own) - set(state)
    if missing:
        sys.exit(f"--init: the checkpoint lacks {sorted(missing)[:3]}")
    if grown:
        print(f"--init: widened {len(grown)} MLPs from {state[grown[0]].shape[0]} to "
              f"{own[grown[0]].shape[0]} hidden units (new units start with zero output weights)", flush=True)


def lr_at(args, step, steps_per_epoch):
    total = args.epochs * steps_per_epoch
    warm = int(args.warmup * steps_per_epoch)
    if step < warm:
        return args.lr * (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * min(1.0, t)))


def param_groups(model, wd):
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "position_embeddings" in n or "cls_token" in n else decay).append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def evaluate(model, x, y, torch, bf16, batch=500):
    """(mean cross-entropy, top-1 accuracy %) of the model on uint8 images x."""
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(bf16)):
        for i in range(0, len(x), batch):
            logits = model(pixel_values=to_tensor(x[i:i + batch], torch)).logits.float()
            t = torch.from_numpy(y[i:i + batch].astype(np.int64))
            loss_sum += torch.nn.functional.cross_entropy(logits, t, reduction="sum").item()
            correct += (logits.argmax(1) == t).sum().item()
    model.train()
    return loss_sum / len(x), 100.0 * correct / len(x)


# ----------------------------------------------------------------------------------------------------------- run

class ThreadControl:
    """Pick 1 or N intra-op threads by measured wall time per step.

    With a niced process on a 2-core machine where other jobs run, a 2-thread step often waits at every
    OpenMP barrier for the thread that got no core, and 1 thread is faster; on an idle machine 2 threads are ~2x
    faster. So: run the current choice, every `period` steps run the other count for `window` steps, keep the
    faster (median step time of the latest window of each). A probe that loses doubles the period (up to
    `max_period`); a switch resets it, and so does a window 1.4x slower or faster than the previous one (the load changed)."""

    def __init__(self, torch, max_threads, enabled, period=60, window=6, max_period=240):
        self.torch, self.max, self.enabled = torch, max_threads, enabled and max_threads > 1
        self.period, self.window = period, window
        self.base_period, self.max_period = period, max_period
        self.current = max_threads
        self.times = {1: [], max_threads: []}
        self.latest = {}
        self.probing = False
        self.since_probe = period - window  # first probe after `window` steps
        self.steps = {1: 0, max_threads: 0}
        torch.set_num_threads(self.current)

    def _set(self, n):
        if n != self.current:
            self.current = n
            self.torch.set_num_threads(n)

    def record(self, seconds):
        self.steps[self.current] += 1
        if not self.enabled:
            return
        t = self.times[self.current]
        t.append(seconds)
        self.since_probe += 1
        if len(t) >= self.window:
            med = float(np.median(t[1:]))  # the first step after a switch warms up
            prev = self.latest.get(self.current)
            self.latest[self.current] = med
            t.clear()
            if not self.probing and prev is not None and not prev / 1.4 <= med <= 1.4 * prev:
                self.since_probe = self.period = self.base_period  # the load changed: probe now
            if self.probing:
                self.probing = False
                before = 1 if self.current == self.max else self.max  # the count used before the probe
                if before in self.latest and self.latest[before] <= self.latest[self.current]:
                    self._set(before)  # the probe lost: go back, probe less often (it costs `window` slow steps)
                    self.period = min(self.max_period, self.period * 2)
                else:  # the probe won: keep it
                    self.period = self.base_period
                self.times[self.current].clear()
        if not self.probing and self.since_probe >= self.period:
            self.since_probe = 0
            self.probing = True
            self.times[self.current].clear()
            self._set(1 if self.current == self.max else self.max)

    def summary(self):
        out = {"steps_by_threads": {str(k): v for k, v in self.steps.items()},
               "step_s_by_threads": {str(k): round(v, 3) for k, v in self.latest.items()}}
        self.steps = {k: 0 for k in self.steps}
        return out


CONFIG_KEYS = ["patch", "width", "depth", "heads", "mlp", "epochs", "batch", "lr", "min_lr", "wd", "warmup",
               "smoothing", "clip", "bf16", "seed", "ra_n", "ra_m"]


def save_atomic(obj, path, torch):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def plot(out, log):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return
    ep = [r["epoch"] for r in log]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    a1.plot(ep, [r["train_loss"] for r in log], label="train (augmented, smoothed)")
    te = [(r["epoch"], r["test_loss"]) for r in log if r.get("test_loss") is not None]
    if te:
        a1.plot(*zip(*te), "o-", label="test")
    a1.set_xlabel("epoch"); a1.set_ylabel("cross-entropy"); a1.legend(); a1.grid(alpha=.3)
    a2.plot(ep, [r["train_acc"] for r in log], label="train (augmented)")
    for key, lab in (("test_acc", "test (full 10k)"), ("test_subset_acc", "test (subset)")):
        pts = [(r["epoch"], r[key]) for r in log if r.get(key) is not None]
        if pts:
            a2.plot(*zip(*pts), "o-", label=lab)
    a2.set_xlabel("epoch"); a2.set_ylabel("top-1 accuracy %"); a2.legend(); a2.grid(alpha=.3)
    fig.suptitle("vitrine default model: ViT on CIFAR-10 (CPU)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "curve.png"), dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    import torch
    ctl = ThreadControl(torch, args.threads, bool(args.adaptive_threads) and not args.smoke and not args.bench)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    t_start = time.time()

    if args.smoke and not os.path.exists(os.path.join(args.data, "train.zip")):
        # CI without the dataset: class-dependent coloured noise, just to exercise the whole pipeline.
        g = np.random.default_rng(args.seed)
        def synth(n):
            y = (np.arange(n) % 10).astype(np.uint8)
            yi = y.astype(np.int64)
            base = np.stack([(yi * 25) % 256, (yi * 70) % 256, (255 - yi * 25) % 256], 1)[:, None, None, :]
            return np.clip(base + g.normal(0, 40, (n, 32, 32, 3)), 0, 255).astype(np.uint8), y
        (xtr, ytr), (xte, yte) = synth(256), synth(100)
        print(f"--smoke: no {args.data}/train.zip, using synthetic images", flush=True)
    elif args.smoke:
        xtr, ytr = load_split(args, "train", limit=256)
        xte, yte = load_split(args, "test", limit=100)
    else:
        xtr, ytr = load_split(args, "train")
        xte, yte = load_split(args, "test")
    steps_per_epoch = len(xtr) // args.batch  # drop the last partial batch
    print(f"data: train {xtr.shape} test {xte.shape}; {steps_per_epoch} steps/epoch", flush=True)

    model = make_model(args, torch)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"model: ViT patch {args.patch} width {args.width} depth {args.depth} heads {args.heads} "
          f"mlp {model.config.intermediate_size}: {nparams / 1e6:.3f} M parameters", flush=True)
    opt = torch.optim.AdamW(param_groups(model, args.wd), lr=args.lr, betas=(0.9, 0.999))
    fwd = torch.compile(model) if args.compile else model

    def train_step(xb_u8, yb):
        x = to_tensor(xb_u8, torch)
        t = torch.from_numpy(yb.astype(np.int64))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(args.bf16)):
            logits = fwd(pixel_values=x).logits
        logits = logits.float()
        loss = torch.nn.functional.cross_entropy(logits, t, label_smoothing=args.smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        return loss.item(), (logits.argmax(1) == t).sum().item()

    if args.bench:
        rng = np.random.default_rng(args.seed)
        times = []
        for s in range(args.bench + 3):
            idx = rng.integers(0, len(xtr), args.batch)
            t0 = time.perf_counter()
            train_step(randaugment(augment(xtr[idx], rng), rng, args.ra_n, args.ra_m), ytr[idx])
            times.append(time.perf_counter() - t0)
        t = np.array(times[3:])
        print(json.dumps({"bench": {k: getattr(args, k) for k in CONFIG_KEYS + ["compile"]},
                          "params_M": round(nparams / 1e6, 3), "step_s_median": round(float(np.median(t)), 4),
                          "step_s_mean": round(float(t.mean()), 4), "step_s_min": round(float(t.min()), 4),
                          "epoch_min_est": round(float(np.median(t)) * steps_per_epoch / 60, 2),
                          "first3_s": [round(v, 2) for v in times[:3]]}), flush=True)
        return 0

    os.makedirs(args.out, exist_ok=True)
    cfg = {k: getattr(args, k) for k in CONFIG_KEYS}
    if args.init:  # only when set, so runs from before --init existed still resume
        cfg["init"] = os.path.relpath(os.path.abspath(args.init), ROOT)
    cfg_path = os.path.join(args.out, "config.json")
    if os.path.exists(cfg_path):
        old = json.load(open(cfg_path))
        if old != cfg:
            sys.exit(f"{args.out} holds a run with a different config:\n  {old}\nvs\n  {cfg}\n"
                     "use another --out or the same arguments")
    else:
        json.dump(cfg, open(cfg_path, "w"), indent=1)

    last = os.path.join(args.out, "last.pt")
    log_path = os.path.join(args.out, "log.jsonl")
    epoch, step_in_epoch, acc_state = 0, 0, {"loss": 0.0, "correct": 0, "n": 0, "seconds": 0.0}
    if os.path.exists(last):
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        epoch, step_in_epoch, acc_state = ck["epoch"], ck["step_in_epoch"], ck["acc_state"]
        torch.set_rng_state(ck["torch_rng"])
        print(f"resumed from {last}: epoch {epoch}, step {step_in_epoch}", flush=True)
    elif args.init:
        ck = torch.load(args.init, map_location="cpu", weights_only=False)
        init_weights(model, ck["model"])
        print(f"initialised from {args.init} (epoch {ck.get('epoch')} of its run)", flush=True)
    log = [json.loads(l) for l in open(log_path)] if os.path.exists(log_path) else []
    log = [r for r in log if r["epoch"] <= epoch]  # a line for an epoch whose checkpoint was lost is redone

    def checkpoint(ep, st, state):
        save_atomic({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": ep, "step_in_epoch": st,
                     "acc_state": state, "torch_rng": torch.get_rng_state(), "config": cfg,
                     "hf_config": model.config.to_dict()}, last, torch)

    steps_this_run = 0
    last_save = time.time()
    model.train()
    while epoch < args.epochs:
        perm = np.random.default_rng([args.seed, epoch]).permutation(len(xtr))
        t_epoch = t_shown = time.time()
        for s in range(step_in_epoch, steps_per_epoch):
            rng = np.random.default_rng([args.seed, epoch, s])
            idx = perm[s * args.batch:(s + 1) * args.batch]
            lr = lr_at(args, epoch * steps_per_epoch + s, steps_per_epoch)
            for g in opt.param_groups:
                g["lr"] = lr
            t_step = time.perf_counter()
            loss, correct = train_step(randaugment(augment(xtr[idx], rng), rng, args.ra_n, args.ra_m), ytr[idx])
            ctl.record(time.perf_counter() - t_step)
            if not math.isfinite(loss):
                sys.exit(f"non-finite loss at epoch {epoch} step {s}")
            acc_state["loss"] += loss * len(idx)
            acc_state["correct"] += correct
            acc_state["n"] += len(idx)
            steps_this_run += 1
            if s % 50 == 0:
                print(f"  epoch {epoch + 1} step {s}/{steps_per_epoch} loss {loss:.4f} lr {lr:.2e} "
                      f"({time.time() - t_shown:.0f} s; {ctl.current} thread(s), last step/s by threads "
                      f"{ctl.latest})", flush=True)
            if args.max_steps and steps_this_run >= args.max_steps:
                acc_state["seconds"] += time.time() - t_epoch
                checkpoint(epoch, s + 1, acc_state)
                print(f"stopped after --max-steps {args.max_steps} (epoch {epoch}, step {s + 1})", flush=True)
                return 0
            if time.time() - last_save > args.save_minutes * 60 and s + 1 < steps_per_epoch:
                acc_state["seconds"] += time.time() - t_epoch
                t_epoch = time.time()
                checkpoint(epoch, s + 1, acc_state)
                last_save = time.time()
        acc_state["seconds"] += time.time() - t_epoch
        epoch += 1
        rec = {"epoch": epoch, "train_loss": acc_state["loss"] / max(1, acc_state["n"]),
               "train_acc": 100.0 * acc_state["correct"] / max(1, acc_state["n"]),
               "lr": lr_at(args, epoch * steps_per_epoch - 1, steps_per_epoch),
               "train_seconds": round(acc_state["seconds"], 1), **ctl.summary()}
        t_eval = time.time()
        if epoch % args.eval_every == 0 or epoch == args.epochs:
            rec["test_loss"], rec["test_acc"] = evaluate(model, xte, yte, torch, args.bf16)
        elif args.eval_subset:
            # a fixed class-balanced subset: every (10000 / eval_subset)-th test image
            sub = slice(0, None, max(1, len(xte) // args.eval_subset))
            _, rec["test_subset_acc"] = evaluate(model, xte[sub], yte[sub], torch, args.bf16)
        rec["eval_seconds"] = round(time.time() - t_eval, 1)
        rec["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        print(json.dumps(rec), flush=True)
        log.append(rec)
        with open(log_path + ".tmp", "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in log)
        os.replace(log_path + ".tmp", log_path)
        acc_state = {"loss": 0.0, "correct": 0, "n": 0, "seconds": 0.0}
        step_in_epoch = 0
        if args.keep_epochs:
            save_atomic({"model": model.state_dict(), "epoch": epoch, "config": cfg, "log": rec,
                         "hf_config": model.config.to_dict()}, os.path.join(args.out, f"epoch-{epoch:03d}.pt"), torch)
        checkpoint(epoch, 0, acc_state)
        last_save = time.time()
        plot(args.out, log)
    print(f"done: {epoch} epochs in {args.out} ({time.time() - t_start:.0f} s this invocation)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
