#!/usr/bin/env node
// Load time, peak memory and ms/image of one model per build/thread count, each in a fresh process.
//   node wasm-tests/helpers/measure.js <model-dir> [--runs 10] [--image photo.jpg]
// Prints one JSON line per configuration: { build, threads, loadMs, rssPeakMB, heapMB, msPerImage, ... }.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);

if (args[0] === '--child') {
  const [, dir, build, threads, runs, image] = args;
  const { load } = await import('../../src/js/index.js');
  let peak = 0;
  const sample = () => { peak = Math.max(peak, process.memoryUsage().rss); };
  const timer = setInterval(sample, 5);
  const t0 = performance.now();
  const model = await load(dir, { build, threads: Number(threads), onProgress: sample });
  const loadMs = performance.now() - t0;
  sample();
  const rssAfterLoad = process.memoryUsage().rss;
  const bytes = fs.readFileSync(image);
  const px = await model.preprocess(bytes);
  await model.forward(px.pixels, { height: px.height, width: px.width }); // warm-up
  const times = [];
  const cpu0 = process.resourceUsage();
  for (let i = 0; i < Number(runs); i++) {
    const t = performance.now();
    await model.forward(px.pixels, { height: px.height, width: px.width });
    times.push(performance.now() - t);
  }
  const cpu1 = process.resourceUsage();
  // CPU time of all threads per forward: a load-independent figure when the machine is shared.
  const cpuMs = ((cpu1.userCPUTime - cpu0.userCPUTime) + (cpu1.systemCPUTime - cpu0.systemCPUTime)) / 1000 / Number(runs);
  const tc = performance.now();
  const n = Math.max(3, Math.floor(Number(runs) / 2));
  for (let i = 0; i < n; i++) await model.classify(bytes);
  const classifyMs = (performance.now() - tc) / n;
  clearInterval(timer);
  sample();
  times.sort((a, b) => a - b);
  const out = {
    build, threads: model.info.threads, streamMB: +(model.info.streamSize / 1048576).toFixed(1),
    loadMs: Math.round(loadMs), rssAfterLoadMB: Math.round(rssAfterLoad / 1048576), rssPeakMB: Math.round(peak / 1048576),
    forwardMsMedian: +times[times.length >> 1].toFixed(1), forwardMsMin: +times[0].toFixed(1), forwardCpuMs: +cpuMs.toFixed(1),
    classifyMsPerImage: +classifyMs.toFixed(1), loadavg: (await import('node:os')).loadavg()[0].toFixed(1),
  };
  console.log(JSON.stringify(out));
  await model.dispose();
  process.exit(0);
} else {
  const dir = args[0];
  if (!dir) { console.error('usage: measure.js <model-dir> [--runs N] [--image file]'); process.exit(2); }
  const runs = args.includes('--runs') ? args[args.indexOf('--runs') + 1] : '10';
  const image = args.includes('--image') ? args[args.indexOf('--image') + 1] : path.resolve(path.dirname(self), '../../../shared/photos/cat_chelsea.png');
  for (const [build, threads] of [['mt', 2], ['mt', 1], ['st', 1]]) {
    const r = spawnSync(process.execPath, [self, '--child', dir, build, String(threads), runs, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    process.stdout.write(r.stdout);
  }
}
