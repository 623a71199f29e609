#!/usr/bin/env node
// Accuracy of the bundled default model (weights/cifar10-vit) on the 10,000 CIFAR-10 test images, through the
// WASM engine via the JS API: every test.zip entry's JPEG bytes go through model.preprocess (the engine's
// PIL-equal decode + resize + normalise) and model.forward. Prints top-1, per-class accuracy and the confusion
// matrix, and compares with PyTorch's logits for the same images (tools/default-model/export_default.py writes them to
// tools/runs/default/hf/test_logits.npy): the two accuracies must agree within 0.1 points (exit code 1 if not).
//
// With --record (full test set only, and only when the reference agrees) the result is written into the model's
// manifest.json as metadata.evaluation: the number the page shows and wasm-tests/model/default-model.test.js re-checks.
//
//   node tools/default-model/eval_default.mjs [--model weights/cifar10-vit] [--data <dir with test.zip>] [--reference x.npy]
//                               [--build mt|st] [--threads N] [--limit N] [--json out.json] [--record]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { load } from '../../src/js/index.js';
import { readNpy } from '../../src/js/npy.js';
import { readZip, evaluate, argmax } from './cifar10.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(ROOT, 'weights/cifar10-vit') },
    data: { type: 'string', default: process.env.CIFAR10_DIR ?? path.resolve(ROOT, '../shared/data/cifar10') },
    reference: { type: 'string', default: path.join(ROOT, 'tools/runs/default/hf/test_logits.npy') },
    build: { type: 'string' },
    threads: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'string' },
    tolerance: { type: 'string', default: '0.1' },
    record: { type: 'boolean', default: false },
  },
});

const pad = (s, n) => String(s).padStart(n);
const round2 = (x) => Math.round(x * 100) / 100;

async function main() {
  if (a.record && (a.limit || !fs.existsSync(a.reference))) {
    console.error(`--record needs the whole test set (no --limit) and the PyTorch reference ${a.reference} to compare with`);
    return 2;
  }
  const opts = {};
  if (a.build) opts.build = a.build;
  if (a.threads) opts.threads = Number(a.threads);
  const model = await load(a.model, opts);
  const { labels } = model.info;
  const entries = readZip(path.join(a.data, 'test.zip'));
  const n = a.limit ? Math.min(Number(a.limit), entries.length) : entries.length;
  // --limit takes every k-th entry so all classes are represented
  const step = entries.length / n;
  const picked = Array.from({ length: n }, (_, i) => Math.floor(i * step));
  const K = labels.length;
  const ev = await evaluate(model, entries, {
    picked, onProgress: (done, total, sec) => process.stderr.write(`  ${done}/${total} (${sec.toFixed(0)} s)\n`),
  });
  const { logits, truth, pred, conf, correct, top1, perClass, seconds } = ev;
  const info = model.info;
  console.log(`${info.name}: ${info.family} D=${info.hiddenSize} L=${info.numLayers} patch ${info.patchSize}, ${info.build} build, ${info.threads} thread(s)`);
  console.log(`WASM engine top-1 on ${n} CIFAR-10 test images: ${top1.toFixed(2)}% (${correct}/${n}), ${(seconds * 1000 / n).toFixed(1)} ms/image`);
  const w = Math.max(...labels.map((l) => l.length));
  console.log(`\nconfusion matrix (rows: true class, columns: predicted)\n${' '.repeat(w)} ${labels.map((l) => pad(l.slice(0, 5), 6)).join('')}   acc%`);
  for (let i = 0; i < K; i++) {
    const acc = perClass[labels[i]];
    console.log(`${labels[i].padEnd(w)} ${conf[i].map((c) => pad(c, 6)).join('')}  ${pad(acc === null ? '-' : acc.toFixed(1), 5)}`);
  }

  const result = { model: info.name, build: info.build, threads: info.threads, images: n, top1, correct, per_class_top1: perClass,
    confusion_rows_true_cols_pred: conf, ms_per_image: (seconds * 1000) / n };
  let ok = true;
  if (fs.existsSync(a.reference)) {
    const ref = readNpy(fs.readFileSync(a.reference), path.basename(a.reference));
    if (ref.shape[0] !== entries.length || ref.shape[1] !== K) throw new Error(`${a.reference}: shape [${ref.shape}], expected [${entries.length},${K}]`);
    let refCorrect = 0, agree = 0, maxDiff = 0;
    for (const [j, idx] of picked.entries()) {
      const p = argmax(ref.data, idx, K);
      if (p === truth[j]) refCorrect++;
      if (p === pred[j]) agree++;
      for (let k = 0; k < K; k++) maxDiff = Math.max(maxDiff, Math.abs(ref.data[idx * K + k] - logits[j * K + k]));
    }
    const refTop1 = (100 * refCorrect) / n;
    const delta = top1 - refTop1;
    ok = Math.abs(delta) <= Number(a.tolerance) + 1e-9;
    console.log(`\nPyTorch (float32, ${path.relative(ROOT, a.reference)}) top-1 on the same images: ${refTop1.toFixed(2)}%`);
    console.log(`engine − PyTorch: ${delta >= 0 ? '+' : ''}${delta.toFixed(2)} points (tolerance ±${a.tolerance}): ${ok ? 'OK' : 'FAIL'}; ` +
      `same top-1 class on ${agree}/${n} images; max |logit difference| ${maxDiff.toExponential(2)}`);
    Object.assign(result, { pytorch_top1: refTop1, delta_points: delta, agree, max_abs_logit_diff: maxDiff, within_tolerance: ok });
  } else {
    console.log(`\n(no PyTorch reference at ${a.reference}: run tools/default-model/export_default.py to compare)`);
  }
  const trained = info.metadata?.training;
  if (trained) console.log(`manifest metadata.training: epoch ${trained.epoch}/${trained.epochs_planned}, PyTorch top-1 ${trained.test_top1_pytorch_fp32}%`);
  if (a.json) fs.writeFileSync(a.json, JSON.stringify(result, null, 1) + '\n');
  await model.dispose();
  if (a.record) {
    if (!ok) {
      console.error('not recorded: the engine and PyTorch disagree beyond the tolerance');
      return 1;
    }
    const manPath = path.join(a.model, 'manifest.json');
    const man = JSON.parse(fs.readFileSync(manPath, 'utf8'));
    man.metadata.evaluation = {
      tool: 'tools/default-model/eval_default.mjs', dataset: 'CIFAR-10 test images', data: 'test.zip of ../shared/data/cifar10 (JPEG q75 copy)', images: n, correct, top1: round2(top1),
      engine: `vitrine WASM ${info.build}, ${info.threads} thread(s)`, pytorch_top1: round2(result.pytorch_top1),
      same_top1_class: result.agree, max_abs_logit_diff: Number(result.max_abs_logit_diff.toPrecision(2)),
      per_class_top1: Object.fromEntries(Object.entries(perClass).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      date: new Date().toISOString().slice(0, 10),
    };
    fs.writeFileSync(manPath, JSON.stringify(man, null, 1) + '\n');
    console.log(`recorded as metadata.evaluation in ${path.relative(ROOT, manPath)}`);
  }
  return ok ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (e) => { console.error(e.stack ?? String(e)); process.exitCode = 2; });
