#!/usr/bin/env node
// Accuracy of the bundled default model (weights/cifar10-vit) on the 10,000 CIFAR-10 test images, through the
// WASM engine via the JS API: every test.zip entry's JPEG bytes go through model.preprocess (the engine's
// PIL-equal decode + resize + normalise) and model.forward. Prints top-1, per-class accuracy and the confusion
// matrix, and compares with PyTorch's logits for the same images (tools/export_default.py writes them to
// tools/runs/default/hf/test_logits.npy): the two accuracies must agree within 0.1 points (exit code 1 if not).
//
//   node tools/eval_default.mjs [--model weights/cifar10-vit] [--data <dir with test.zip>] [--reference x.npy]
//                               [--build mt|st] [--threads N] [--limit N] [--json out.json]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { load } from '../src/js/index.js';
import { readNpy } from '../src/js/npy.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
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
  },
});

/** Entries of a STORED-only PKZIP (the layout /work/shared/data/cifar10/README.md describes). */
function readZip(file) {
  const buf = fs.readFileSync(file);
  const eocd = buf.length - 22;
  if (buf.readUInt32LE(eocd) !== 0x06054b50) throw new Error(`${file}: no end-of-central-directory record in the last 22 bytes`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${i}`);
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28), extraLen = buf.readUInt16LE(p + 30), commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('latin1', p + 46, p + 46 + nameLen);
    if (method !== 0) throw new Error(`${file}: ${name} is not STORED`);
    const lNameLen = buf.readUInt16LE(local + 26), lExtraLen = buf.readUInt16LE(local + 28);
    const start = local + 30 + lNameLen + lExtraLen;
    out.push({ name, bytes: new Uint8Array(buf.buffer, buf.byteOffset + start, size) });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

const pad = (s, n) => String(s).padStart(n);

async function main() {
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
  const logits = new Float32Array(n * K);
  const truth = new Int32Array(n);
  const t0 = Date.now();
  for (const [j, idx] of picked.entries()) {
    const e = entries[idx];
    const cls = e.name.split('/')[0];
    truth[j] = labels.indexOf(cls);
    if (truth[j] < 0) throw new Error(`${e.name}: class "${cls}" is not one of the model's labels`);
    const px = await model.preprocess(e.bytes, { exif: false });
    const r = await model.forward(px.pixels, { height: px.height, width: px.width });
    logits.set(r.logits, j * K);
    if ((j + 1) % 1000 === 0) process.stderr.write(`  ${j + 1}/${n} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  const seconds = (Date.now() - t0) / 1000;
  const argmax = (arr, j) => { let b = 0; for (let k = 1; k < K; k++) if (arr[j * K + k] > arr[j * K + b]) b = k; return b; };
  const conf = Array.from({ length: K }, () => new Array(K).fill(0));
  let correct = 0;
  const pred = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    pred[j] = argmax(logits, j);
    conf[truth[j]][pred[j]]++;
    if (pred[j] === truth[j]) correct++;
  }
  const top1 = (100 * correct) / n;
  const info = model.info;
  console.log(`${info.name}: ${info.family} D=${info.hiddenSize} L=${info.numLayers} patch ${info.patchSize}, ${info.build} build, ${info.threads} thread(s)`);
  console.log(`WASM engine top-1 on ${n} CIFAR-10 test images: ${top1.toFixed(2)}% (${correct}/${n}), ${(seconds * 1000 / n).toFixed(1)} ms/image`);
  const w = Math.max(...labels.map((l) => l.length));
  console.log(`\nconfusion matrix (rows: true class, columns: predicted)\n${' '.repeat(w)} ${labels.map((l) => pad(l.slice(0, 5), 6)).join('')}   acc%`);
  const perClass = {};
  for (let i = 0; i < K; i++) {
    const tot = conf[i].reduce((x, y) => x + y, 0);
    perClass[labels[i]] = tot ? (100 * conf[i][i]) / tot : null;
    console.log(`${labels[i].padEnd(w)} ${conf[i].map((c) => pad(c, 6)).join('')}  ${pad(tot ? perClass[labels[i]].toFixed(1) : '-', 5)}`);
  }

  const result = { model: info.name, build: info.build, threads: info.threads, images: n, top1, correct, per_class_top1: perClass,
    confusion_rows_true_cols_pred: conf, ms_per_image: (seconds * 1000) / n };
  let ok = true;
  if (fs.existsSync(a.reference)) {
    const ref = readNpy(fs.readFileSync(a.reference), path.basename(a.reference));
    if (ref.shape[0] !== entries.length || ref.shape[1] !== K) throw new Error(`${a.reference}: shape [${ref.shape}], expected [${entries.length},${K}]`);
    let refCorrect = 0, agree = 0, maxDiff = 0;
    for (const [j, idx] of picked.entries()) {
      const p = argmax(ref.data, idx);
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
    console.log(`\n(no PyTorch reference at ${a.reference}: run tools/export_default.py to compare)`);
  }
  const trained = info.metadata?.training;
  if (trained) console.log(`manifest metadata.training: epoch ${trained.epoch}/${trained.epochs_planned}, PyTorch top-1 ${trained.test_top1_pytorch_fp32}%`);
  if (a.json) fs.writeFileSync(a.json, JSON.stringify(result, null, 1) + '\n');
  await model.dispose();
  return ok ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (e) => { console.error(e.stack ?? String(e)); process.exitCode = 2; });
