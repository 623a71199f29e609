#!/usr/bin/env node
// Time per photo of the page's Teach-mode classify (a taught head attached, the model's own top-3 beside its
// labels), two ways on one loaded model, interleaved round by round (the order flips every round):
//   one-forward  classify(photo, { topK, own: true })                        (what web/worker.js runs)
//   detach       classify(photo) → setHead(null) → classify(photo) → setHead(taught)   (two forwards + head upload)
// The head is trained on the photos' embeddings (trainHead, as the page does). Both ways must give the same labels
// and scores; the run stops otherwise.
//   node tools/bench/bench_teach.mjs [--model default|<dir>] [--folder ../shared/photos] [--rounds 5] [--build mt|st] [--threads N]
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { listImages } from '../../src/js/bulk.js';
import { load, encodeHead, trainHead } from '../../src/js/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({ options: { model: { type: 'string', default: 'default' }, folder: { type: 'string', default: path.join(ROOT, '../shared/photos') },
  rounds: { type: 'string', default: '5' }, build: { type: 'string' }, threads: { type: 'string' } } });
const source = values.model === 'default' ? undefined : values.model;
const model = await load(source, { ...(values.build ? { build: values.build } : {}), ...(values.threads ? { threads: Number(values.threads) } : {}) });
const topK = 5;

// The folder's decodable images, and a head trained on their embeddings (label = index mod 3).
const files = [], rows = [];
for (const { path: f } of listImages([values.folder])) {
  try { rows.push(await model.embed(f)); files.push(f); } catch (e) { if (!e.code) throw e; }
}
const dim = rows[0].length;
const features = new Float32Array(rows.length * dim);
rows.forEach((r, i) => features.set(r, i * dim));
const res = trainHead(features, rows.map((_, i) => i % 3), { dim, numClasses: 3, epochs: 20, valFraction: 0, seed: 0 });
const taught = encodeHead({ pooling: model.info.poolings[0], layers: res.layers, output: res.output, tensors: res.tensors,
  labels: ['a', 'b', 'c'], backbone: model.headBackbone(model.info.poolings[0]) });
await model.setHead(taught);

const ways = {
  'one-forward': async (f) => {
    const r = await model.classify(f, { topK, own: true });
    return { top: r.top, own: r.own.slice(0, 3) };
  },
  detach: async (f) => {
    const top = await model.classify(f, { topK });
    await model.setHead(null);
    try {
      return { top, own: await model.classify(f, { topK: 3 }) };
    } finally {
      await model.setHead(taught);
    }
  },
};
const names = Object.keys(ways);
const ms = Object.fromEntries(names.map((n) => [n, []]));
for (let round = -1; round < Number(values.rounds); round++) {   // round -1: warm-up, and the check
  const order = round % 2 ? names : [...names].reverse();
  const got = {};
  for (const name of order) {
    const t0 = performance.now();
    got[name] = [];
    for (const f of files) got[name].push(await ways[name](f));
    if (round >= 0) ms[name].push((performance.now() - t0) / files.length);
  }
  assert.deepEqual(got['one-forward'], got.detach, 'both ways give the same labels and scores');
}
await model.dispose();
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const [load1] = os.loadavg();
console.log(`${new Date().toISOString()} ${os.cpus()[0].model}, ${os.cpus().length} CPUs, load average ${load1.toFixed(2)}; ` +
  `model ${values.model} (${model.info.build}, ${model.info.threads} threads), ${files.length} photos × ${values.rounds} rounds, topK ${topK}`);
for (const n of names) console.log(`${n.padEnd(12)} median ${median(ms[n]).toFixed(1)} ms/photo  (rounds: ${ms[n].map((v) => v.toFixed(1)).join(', ')})`);
console.log(`ratio detach / one-forward: ${(median(ms.detach) / median(ms['one-forward'])).toFixed(2)}×`);
