#!/usr/bin/env node
// Throughput of a bulk classify run (src/js/bulk.js, what `vitrine classify --jobs` runs) with all cores: N worker
// threads each with a single-thread (st) engine, against one multi-threaded (mt) engine with N threads, and one st
// engine. Timed in process from the N-th result to the last, so module start-up and model loading are left out.
//   node tools/bench/bench_bulk.mjs [--model default|<dir>] [--folder ../shared/photos] [--copies 3] [--repeat 3] [--jobs N]
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { listImages, runBulk } from '../../src/js/bulk.js';
import { load } from '../../src/js/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({ options: { model: { type: 'string', default: 'default' }, folder: { type: 'string', default: path.join(ROOT, '../shared/photos') },
  copies: { type: 'string', default: '3' }, repeat: { type: 'string', default: '3' }, jobs: { type: 'string' } } });
const cores = Number(values.jobs ?? (os.availableParallelism?.() ?? os.cpus().length));
const source = values.model === 'default' ? undefined : values.model;

// The folder's decodable images (a bad file would make runs differ in work), `copies` times over.
const probe = await load(source, { build: 'st' });
const good = [];
for (const { path: f } of listImages([values.folder])) {
  try { await probe.classify(f); good.push(f); } catch (e) { if (!e.code) throw e; }
}
await probe.dispose();
const files = Array.from({ length: Number(values.copies) }, () => good).flat();

async function rate(jobs, loadOptions) {
  const stamps = [];
  await runBulk({ files, task: 'classify', taskOptions: { topK: 5 }, jobs, source, loadOptions, loadModel: () => load(source, loadOptions),
    onResult() {}, onError(i, e) { throw e; }, onProgress: () => stamps.push(performance.now()) });
  const from = Math.min(jobs, stamps.length - 1) - 1;
  return (stamps.length - 1 - from) / ((stamps.at(-1) - stamps[from]) / 1000);
}
const configs = [
  [`${cores} worker threads × st engine (--jobs ${cores})`, cores, { build: 'st' }],
  [`1 mt engine × ${cores} threads (--jobs 1 --threads ${cores})`, 1, { build: 'mt', threads: cores }],
  ['1 st engine (--jobs 1 --build st)', 1, { build: 'st' }],
];
console.log(`${files.length} images (${good.length} × ${values.copies}), model ${values.model}, ${os.cpus()[0].model}, ${os.cpus().length} CPUs, ` +
  `node ${process.version}, load average ${os.loadavg()[0].toFixed(1)}`);
const results = configs.map(() => []);
for (let k = 0; k < Number(values.repeat); k++) {
  // Interleaved, so a change in the machine's load hits every configuration alike.
  for (const [c, [, jobs, opts]] of configs.entries()) results[c].push(await rate(jobs, opts));
}
for (const [c, [name]] of configs.entries()) {
  const r = results[c].slice().sort((a, b) => a - b);
  console.log(`${name.padEnd(52)} median ${r[r.length >> 1].toFixed(2)} images/s  (${results[c].map((x) => x.toFixed(2)).join(', ')})`);
}
process.exit(0);
