#!/usr/bin/env bash
# Re-train the bundled default model (weights/cifar10-vit) from scratch, exactly as it was made, then export,
# evaluate through the WASM engine and record the result in its manifest. docs/TRAINING.md explains each stage.
#
#   nohup nice -n 19 bash tools/default-model/retrain_default.sh >> tools/runs/retrain.out 2>&1 &
#
# Every stage is resumable and a finished stage returns at once, so after any interruption the same command
# picks up where it stopped. Needs tools/.venv (tools/reference/README.md) and ../shared/data/cifar10. ~9 h on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=tools/.venv/bin/python
T=tools/default-model/train_default.py

# 1. 50 epochs from scratch: RandAugment 2 ops, peak LR 1e-3 (the script's defaults), MLP 2x.
$PY $T --out tools/runs/default
# 2. A second cosine cycle from epoch 50: lighter augmentation (1 op), peak LR 5e-4, new data order.
$PY $T --out tools/runs/default-c2 --init tools/runs/default/epoch-050.pt --epochs 40 --lr 5e-4 --warmup 1 --ra-n 1 --seed 1
# 3. Grow the MLPs to 4x width (function-preserving) and run a third cycle with the second's recipe.
$PY $T --out tools/runs/wide-c3 --init tools/runs/default-c2/epoch-040.pt --mlp 4 --epochs 24 --lr 5e-4 --warmup 1 --ra-n 1 --seed 2
# Export the mean of the last 5 epochs' weights, convert into weights/cifar10-vit, measure through WASM, record.
$PY tools/default-model/export_default.py --run tools/runs/wide-c3 --average 5
node tools/default-model/eval_default.mjs --reference tools/runs/wide-c3/hf/test_logits.npy --record
