// The bundled default model (weights/cifar10-vit) still scores what its manifest and the README say, through the
// WASM engine and the project's own preprocessing, on all 10,000 CIFAR-10 test images of ../shared. This catches a
// change in decoding, resizing or the forward pass that moves real accuracy, which the small golden fixtures
// might not, and a committed model whose recorded evaluation is stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { load } from '../../src/js/index.js';
import { readZip, evaluate, argmax } from '../../tools/default-model/cifar10.mjs';
import { ROOT, SHARED, requireBuild, npy } from '../helpers/env.js';

const MODEL = path.join(ROOT, 'weights/cifar10-vit');
const TEST_ZIP = path.join(SHARED, 'data/cifar10/test.zip');
// PyTorch's logits for the 10,000 test images in test.zip's order, float32 [10000, 10].
const REFERENCE = path.join(ROOT, 'wasm-tests/fixtures/cifar10-vit-test-logits.npy');
// Measured 2026-12-03 (st build; mt is bit-identical): max abs difference 1.6e-5 (ship/0629.jpg), mean 7.5e-7, on
// logits up to 5.5 in magnitude: float32 summation order (the engine's GEMM and attention kernels vs PyTorch's).
// 1e-4 leaves ~6× headroom for another order while staying 15× below the smallest top-1/top-2 margin among the
// 10,000 reference rows (1.6e-3), so no difference within it can change a top class.
const LOGIT_TOLERANCE = 1e-4;

test('the default model reproduces its recorded CIFAR-10 test accuracy through the WASM engine', async (t) => {
  requireBuild('mt');
  assert.ok(fs.existsSync(TEST_ZIP), `${TEST_ZIP} is missing (../shared/data/cifar10 is provided beside the project)`);
  const man = JSON.parse(fs.readFileSync(path.join(MODEL, 'manifest.json'), 'utf8'));
  const rec = man.metadata?.evaluation;
  assert.ok(rec, 'manifest.json has no metadata.evaluation: run node tools/default-model/eval_default.mjs --record');
  const entries = readZip(TEST_ZIP);
  assert.equal(entries.length, 10000);
  assert.equal(rec.images, entries.length);

  const model = await load(MODEL);
  try {
    const ev = await evaluate(model, entries);
    t.diagnostic(`top-1 ${ev.top1.toFixed(2)} % (${ev.correct}/${ev.n}); recorded ${rec.top1} % by ${rec.engine} on ${rec.date}; ` +
      `${(ev.seconds * 1000 / ev.n).toFixed(1)} ms/image`);
    // The issue's parity tolerance between the engine and PyTorch is 0.1 points; the engine is deterministic
    // (mt == st bit for bit), so a larger move means the code changed what the model computes.
    assert.ok(Math.abs(ev.top1 - rec.top1) <= 0.1 + 1e-9, `top-1 ${ev.top1} % vs recorded ${rec.top1} %`);
    assert.ok(Math.abs(rec.top1 - rec.pytorch_top1) <= 0.1 + 1e-9, 'the recorded evaluation disagrees with PyTorch');
    // The issue's floor for the bundled model (its target is 85 %); a weaker model must not be committed.
    assert.ok(ev.top1 >= 80, `top-1 ${ev.top1} % is below the 80 % floor`);
    for (const [label, acc] of Object.entries(rec.per_class_top1)) {
      assert.ok(Math.abs(ev.perClass[label] - acc) <= 0.5 + 1e-9, `${label}: ${ev.perClass[label]} % vs recorded ${acc} %`);
    }
    // Image by image against PyTorch (tools/default-model/reference_logits.py: the same weights in
    // ViTForImageClassification, float32, PIL decoding + ViTImageProcessor).
    assert.ok(fs.existsSync(REFERENCE), `${REFERENCE} is missing: run tools/default-model/reference_logits.py`);
    const ref = npy(REFERENCE);
    assert.deepEqual(ref.shape, [entries.length, man.labels.length]);
    const K = man.labels.length;
    let worst = 0, worstAt = -1;
    const differ = [];
    for (let i = 0; i < entries.length; i++) {
      for (let k = 0; k < K; k++) {
        const d = Math.abs(ev.logits[i * K + k] - ref.data[i * K + k]);
        if (!(d <= worst)) { worst = d; worstAt = i; }
      }
      if (argmax(ev.logits, i, K) !== argmax(ref.data, i, K)) differ.push(entries[i].name);
    }
    t.diagnostic(`logits vs PyTorch: max abs diff ${worst.toExponential(2)} (${entries[worstAt]?.name}); top class differs on ${differ.length} of ${entries.length}${differ.length ? `: ${differ.join(', ')}` : ''}`);
    assert.ok(worst <= LOGIT_TOLERANCE, `max abs logit difference ${worst} (${entries[worstAt].name}) > ${LOGIT_TOLERANCE}`);
    assert.deepEqual(differ, [], 'images whose top class differs from PyTorch\'s');
  } finally {
    await model.dispose();
  }
});
