#!/usr/bin/env node
// The page's own numbers, in headless Chromium: time from opening the page to the first result, cold (fresh
// browser profile: empty Cache API) and cached (reload of the same profile: the model comes from the Cache API),
// and for bigger models the time until the page says the model is ready, cold and from the cache.
//
//   node tools/bench/bench_page.mjs [--models default,vit-b16,vit-b16-int8] [--opens 3] [--photo FILE] [--json]
//                                   [--phases] [--root DIR]
//
// Models: `default` (the bundled weights/cifar10-vit, what web/ opens with no configuration) or a benchmark model
// folder under build/bench-models/ named <model>[-f16|-int8] (e.g. vit-b16 → build/bench-models/vit-b16/vitrine/,
// vit-b16-int8 → build/bench-models/vit-b16/vitrine-int8/; see tools/bench/README.md), opened as web/?model=….
// The project root is served by tools/build/serve.mjs (127.0.0.1, COOP/COEP on: the page runs its mt build with
// as many threads as the machine has cores); Debian's Chromium driven by playwright-core (wasm-tests/browser/
// harness.js). Each open uses a fresh profile: one cold open, then `opens` reloads (cached). Times are the page's
// performance marks, from navigation start: `vitrine:model-ready` and `vitrine:first-result` (one photo chosen as
// soon as the page is loaded); "ready after load start" is model-ready − `vitrine:load-start` (the model's own
// part: reading the cache or the network, SHA-256 checks, engine start). Medians over `opens`. --phases opens the
// page with ?trace and prints where each open's time went (load()'s trace option, web/worker.js): moments from
// navigation start, and per-chunk steps as summed ms (they overlap, so sums can exceed the wall time). --root
// measures the page of another checkout (e.g. /work/main, for a before/after pair run back to back).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs as parseCli } from 'node:util';
import { startServer } from '../build/serve.mjs';
import * as h from '../../wasm-tests/browser/harness.js';

// The checkout whose page is measured (--root: another one, e.g. /work/main for a before/after pair).
let ROOT = h.ROOT;

function parseArgs(argv) {
  const { values: v } = parseCli({ args: argv, strict: true, options: {
    models: { type: 'string' }, opens: { type: 'string' }, photo: { type: 'string' }, json: { type: 'boolean' },
    phases: { type: 'boolean' }, root: { type: 'string' },
    help: { type: 'boolean', short: 'h' } } });
  if (v.help) {
    console.log(fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1, 16).join('\n'));
    process.exit(0);
  }
  const o = { models: v.models ? v.models.split(',').filter(Boolean) : ['default', 'vit-b16'],
              opens: v.opens === undefined ? 3 : Number(v.opens),
              photo: v.photo ? path.resolve(v.photo) : path.join(h.PHOTOS, 'cat_chelsea.png'), json: Boolean(v.json),
              phases: Boolean(v.phases), root: v.root ? path.resolve(v.root) : h.ROOT };
  if (!(Number.isInteger(o.opens) && o.opens >= 1)) throw new Error('--opens must be >= 1');
  return o;
}

/** → { dir, query } for a --models entry. */
function modelFolder(name) {
  if (name === 'default') return { dir: path.join(ROOT, 'weights', 'cifar10-vit'), query: '' };
  const m = /^(.*?)(?:-(f16|int8))?$/.exec(name);
  const dir = path.join(ROOT, 'build', 'bench-models', m[1], m[2] ? `vitrine-${m[2]}` : 'vitrine');
  const rel = path.relative(path.join(ROOT, 'web'), path.join(dir, 'manifest.json')).split(path.sep).join('/');
  return { dir, query: `?model=${encodeURIComponent(rel)}` };
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function openOnce(page, url, photo) {
  if (url) await page.goto(url);
  else await page.reload();
  await h.choosePhotos(page, [photo]);
  const state = await h.waitForModel(page, 600_000);
  if (state !== 'ready') throw new Error(`model did not load: ${JSON.stringify(await h.readStatus(page))}`);
  await h.waitForTiles(page, 1, 600_000);
  const [tile] = await h.readTiles(page);
  if (tile.state !== 'done') throw new Error(`photo failed: ${tile.error}`);
  const marks = await h.readMarks(page);
  const st = await h.readStatus(page);
  const trace = await page.evaluate(() => {
    const t = document.documentElement.dataset.trace;
    const nav = performance.getEntriesByType('navigation')[0];
    return t ? { ...JSON.parse(t), html: nav?.responseEnd, domReady: nav?.domContentLoadedEventEnd } : null;
  });
  return { trace, firstResult: marks['first-result'], ready: marks['model-ready'],
           readyAfterLoadStart: marks['model-ready'] - marks['load-start'], forwardMs: tile.ms,
           mode: st.mode, threads: st.threads, status: st.status };
}

async function benchModel(srv, name, opts) {
  const { dir, query: q } = modelFolder(name);
  const query = opts.phases ? (q ? `${q}&trace` : '?trace') : q;
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) throw new Error(`${dir}/manifest.json is missing (tools/bench/README.md)`);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const b = await h.launch();
  try {
    const cold = await openOnce(b.page, `${srv.url}web/${query}`, opts.photo);
    const cached = [];
    for (let i = 0; i < opts.opens; i++) cached.push(await openOnce(b.page, null, opts.photo));
    if (!cached.every((c) => /nothing downloaded/.test(c.status))) {
      throw new Error(`a reload downloaded the model again: ${cached.map((c) => c.status).join(' | ')}`);
    }
    return { model: name, dir: path.relative(ROOT, dir), bytes: manifest.stream_size, mode: cold.mode, threads: cold.threads,
             cold, cached, cachedFirstResult: median(cached.map((c) => c.firstResult)),
             cachedReady: median(cached.map((c) => c.ready)), cachedReadyAfterLoadStart: median(cached.map((c) => c.readyAfterLoadStart)) };
  } catch (e) {
    throw await h.explain(b, e, os.tmpdir());
  } finally {
    await b.close();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const why = await h.skipReason();
  if (why) throw new Error(why);
  ROOT = opts.root;
  const srv = await startServer({ root: ROOT, isolation: true, quiet: true });
  const results = [];
  const load1 = [os.loadavg()[0]];
  try {
    for (const name of opts.models) {
      if (!opts.json) process.stderr.write(`page ${name} ...\n`);
      results.push(await benchModel(srv, name, opts));
    }
  } finally {
    await srv.close();
  }
  load1.push(os.loadavg()[0]);
  if (opts.json) return console.log(JSON.stringify({ cpu: os.cpus()[0]?.model, cpus: os.cpus().length, load1, results }, null, 2));
  const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');
  console.log('| model | MB | build | cold: ready ms | cold: first result ms | cached: ready ms (after load start) | cached: first result ms | forward ms (page) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.model} | ${(r.bytes / 1e6).toFixed(1)} | ${r.mode} ×${r.threads} | ${f(r.cold.ready)} | ${f(r.cold.firstResult)} | ` +
      `${f(r.cachedReady)} (${f(r.cachedReadyAfterLoadStart)}) | ${f(r.cachedFirstResult)} | ${f(median(r.cached.map((c) => c.forwardMs)))} |`);
  }
  if (opts.phases) for (const r of results) printPhases(r);
  const out = [];
  const mark = (ok) => (ok ? 'ok  ' : 'MISS');
  const def = results.find((r) => r.model === 'default');
  if (def) {
    out.push(`${mark(def.cold.firstResult < 500)} default model: first result ${f(def.cold.firstResult)} ms from a cold open (< 500 ms)`);
    out.push(`${mark(def.cachedFirstResult < 200)} default model: first result ${f(def.cachedFirstResult)} ms cached (< 200 ms)`);
  }
  for (const r of results.filter((q) => /^vit-b16/.test(q.model))) {
    out.push(`${mark(r.cachedReady < 1000)} ${r.model}: ready ${f(r.cachedReady)} ms after opening, from the browser's cache (< 1000 ms)`);
  }
  console.log(`\ntargets:\n${out.join('\n')}`);
  console.log(`\nmedian of ${opts.opens} cached opens after one cold open per model (fresh Chromium profile); ` +
    `${os.cpus()[0]?.model}, ${os.cpus().length} CPUs, load average (1 min) ${load1.map((x) => x.toFixed(1)).join(' → ')}`);
}

// Where the time of the cold open and of each cached open went (ms from navigation start; spans: summed ms × count).
function printPhases(r) {
  const opens = [['cold', r.cold], ...r.cached.map((c, i) => [`cached ${i + 1}`, c])].filter(([, o]) => o.trace);
  if (!opens.length) return;
  const moment = (o, k) => {
    const t = o.trace;
    const file = (re) => t.files.find((f) => re.test(f.file));
    const v = { html: t.html, 'dom ready': t.domReady, 'worker start': t.workerStart, 'api imported': t.api,
      'modules fetched': t.modules?.last, 'engine started (preload)': t.engine, 'glue fetched': file(/\.mjs$/)?.end, 'wasm fetched': file(/\.wasm$/)?.end,
      'thread script fetched': file(/worker\.js$/)?.end, 'first result': o.firstResult, 'model ready (page)': o.ready }[k];
    return v ?? t.marks[k];
  };
  const rows = ['html', 'dom ready', 'worker start', 'modules fetched', 'api imported', 'start', 'manifest', 'glue fetched',
    'wasm fetched', 'thread script fetched', 'engine started (preload)', 'runtime', 'begin-load', 'chunks', 'finish', 'model ready (page)', 'first result'];
  const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');
  console.log(`\n${r.model}: moments (ms from navigation start)`);
  console.log(`| moment | ${opens.map(([n]) => n).join(' | ')} |`);
  console.log(`|---|${opens.map(() => '---').join('|')}|`);
  for (const k of rows) console.log(`| ${k} | ${opens.map(([, o]) => f(moment(o, k))).join(' | ')} |`);
  const spans = [...new Set(opens.flatMap(([, o]) => Object.keys(o.trace.spans)))];
  console.log(`\n${r.model}: per-chunk steps (summed ms × count; first start → last end)`);
  console.log(`| step | ${opens.map(([n]) => n).join(' | ')} |`);
  console.log(`|---|${opens.map(() => '---').join('|')}|`);
  for (const k of spans) {
    console.log(`| ${k} | ${opens.map(([, o]) => {
      const s = o.trace.spans[k];
      return s ? `${f(s.ms)} ×${s.count} (${f(s.first)}→${f(s.last)})` : '-';
    }).join(' | ')} |`);
  }
}

main().catch((err) => {
  console.error(err?.stack ?? String(err));
  process.exit(1);
});
