// The bundled default model (weights/cifar10-vit) still scores what its manifest and the README say, through the
// WASM engine and the project's own preprocessing, on all 10,000 CIFAR-10 test images of ../shared. This catches a
// change in decoding, resizing or the forward pass that moves real accuracy, which the small golden fixtures
// might not, and a committed model whose recorded evaluation is stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { load } from '../../src/js/index.js';
import { readZip, evaluate } from '../../tools/default-model/cifar10.mjs';
import { ROOT, SHARED, requireBuild } from '../helpers/env.js';

const MODEL = path.join(ROOT, 'weights/cifar10-vit');
const TEST_ZIP = path.join(SHARED, 'data/cifar10/test.zip');

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
    // The parity tolerance between the engine and PyTorch is 0.1 points; the engine is deterministic
    // (mt == st bit for bit), so a larger move means the code changed what the model computes.
    assert.ok(Math.abs(ev.top1 - rec.top1) <= 0.1 + 1e-9, `top-1 ${ev.top1} % vs recorded ${rec.top1} %`);
    assert.ok(Math.abs(rec.top1 - rec.pytorch_top1) <= 0.1 + 1e-9, 'the recorded evaluation disagrees with PyTorch');
    // The floor for the bundled model (its target is 85 %); a weaker model must not be committed.
    assert.ok(ev.top1 >= 80, `top-1 ${ev.top1} % is below the 80 % floor`);
    for (const [label, acc] of Object.entries(rec.per_class_top1)) {
      assert.ok(Math.abs(ev.perClass[label] - acc) <= 0.5 + 1e-9, `${label}: ${ev.perClass[label]} % vs recorded ${acc} %`);
    }
  } finally {
    await model.dispose();
  }
});
