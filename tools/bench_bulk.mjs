#!/usr/bin/env node
// Throughput of `vitrine classify` on a folder with all cores: N worker threads each with a single-thread (st)
// engine (--jobs N) against one multi-threaded (mt) engine with N threads (--jobs 1 --threads N). Each run is
// timed end to end and again on a single image, so images/s excludes start-up (module + model load).
//   node tools/bench_bulk.mjs [--model default|<dir>] [--folder ../shared/photos] [--copies 3] [--repeat 2]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { listImages } from '../src/js/bulk.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { model: { type: 'string', default: 'default' }, folder: { type: 'string', default: path.join(ROOT, '../shared/photos') },
  copies: { type: 'string', default: '3' }, repeat: { type: 'string', default: '2' }, jobs: { type: 'string' } } });
const cores = Number(values.jobs ?? (os.availableParallelism?.() ?? os.cpus().length));

// The folder's decodable images, copied `copies` times (bad files left out so every run does the same work).
const probe = spawnSync(process.execPath, [path.join(ROOT, 'src/js/cli.js'), 'classify', values.model, values.folder, '--format', 'jsonl', '-q', '--jobs', '1'], { encoding: 'utf8', maxBuffer: 1 << 26 });
const good = probe.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l).file);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrine-bench-bulk-'));
for (let c = 0; c < Number(values.copies); c++) {
  fs.mkdirSync(path.join(dir, String(c)));
  for (const f of good) fs.copyFileSync(f, path.join(dir, String(c), path.basename(f)));
}
const n = listImages([dir]).length;
const one = listImages([dir])[0].path;

function time(inputs, extra) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'src/js/cli.js'), 'classify', values.model, ...inputs, '-o', path.join(dir, 'out.jsonl'), '-q', ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}
const configs = [
  [`${cores} worker threads × st engine (--jobs ${cores})`, ['--jobs', String(cores)]],
  [`1 mt engine × ${cores} threads (--jobs 1 --threads ${cores})`, ['--jobs', '1', '--threads', String(cores)]],
  ['1 st engine (--jobs 1 --build st)', ['--jobs', '1', '--build', 'st']],
];
console.log(`${n} images (${good.length} × ${values.copies}), model ${values.model}, ${os.cpus()[0].model}, ${os.cpus().length} CPUs, node ${process.version}`);
for (const [name, extra] of configs) {
  const rates = [];
  for (let k = 0; k < Number(values.repeat); k++) {
    const start = time([one], extra);
    const all = time([dir], extra);
    rates.push((n - 1) / (all - start));
  }
  console.log(`${name.padEnd(52)} ${rates.map((r) => r.toFixed(2)).join(' / ')} images/s`);
}
fs.rmSync(dir, { recursive: true, force: true });
