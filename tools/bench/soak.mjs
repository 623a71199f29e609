#!/usr/bin/env node
// Soak: many images through one model, watching memory. Node (default): N images through one process, reporting
// RSS, JS heap, external memory and the engine's WebAssembly memory at the start (after one warm-up image), every
// 10 %, and at the end, plus the open handles before and after. --page: the same in Chromium through the package
// API on a page served from 127.0.0.1, reporting the page's JS heap and WebAssembly memory at the start and end.
//
//   node tools/bench/soak.mjs [--images 2000] [--model weights/cifar10-vit] [--build mt|st] [--json]
//   node tools/bench/soak.mjs --page [--images 200] [--json]
//
// Images: CIFAR-10 test images from ../shared/data/cifar10/test.zip, and every tenth one a photo of
// ../shared/photos in turn (JPEG and PNG of several sizes, one truncated JPEG whose E_IMAGE exercises the error
// path).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED = path.resolve(ROOT, '../shared');
const MB = 1024 * 1024;

function parseArgs(argv) {
  const o = { images: undefined, model: path.join(ROOT, 'weights/cifar10-vit'), build: undefined, json: false, page: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--images') o.images = Number(argv[++i]);
    else if (a === '--model') o.model = path.resolve(argv[++i]);
    else if (a === '--build') o.build = argv[++i];
    else if (a === '--json') o.json = true;
    else if (a === '--page') o.page = true;
    else throw new Error(`unknown argument ${a} (see the top of ${path.relative(process.cwd(), fileURLToPath(import.meta.url))})`);
  }
  o.images ??= o.page ? 200 : 2000;
  if (!(Number.isInteger(o.images) && o.images >= 10)) throw new Error('--images must be an integer ≥ 10');
  return o;
}

/** The image list: photos and CIFAR-10 test JPEGs, alternating; { name, bytes }. */
export async function soakImages() {
  const photos = fs.readdirSync(path.join(SHARED, 'photos')).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort()
    .map((f) => ({ name: f, bytes: new Uint8Array(fs.readFileSync(path.join(SHARED, 'photos', f))) }));
  const { readZip } = await import('../default-model/cifar10.mjs');
  const cifar = readZip(path.join(SHARED, 'data/cifar10/test.zip')).slice(0, 500).map((e) => ({ name: e.name, bytes: e.bytes }));
  // One image in ten is a photo (0.1 to 12 megapixels: decoding them dominates the time), the rest CIFAR-10.
  return { photos, cifar, at: (i) => (i % 10 ? cifar[i % cifar.length] : photos[(i / 10) % photos.length]) };
}

const handles = () => process.getActiveResourcesInfo().filter((h) => h !== 'TTYWrap').sort();

async function soakNode(o) {
  const { load } = await import('../../src/js/index.js');
  const { getRuntime } = await import('../../src/js/runtime.js');
  const imgs = await soakImages();
  const handlesBefore = handles();
  const model = await load(o.model, o.build ? { build: o.build } : {});
  const { Module } = await getRuntime(model.info.build, model.info.requestedThreads);
  const sample = (done) => {
    const m = process.memoryUsage();
    return { images: done, rss: m.rss, heapUsed: m.heapUsed, external: m.external, wasm: Module.HEAPU8.buffer.byteLength };
  };
  let errors = 0;
  const run = async (i) => { try { await model.classify(imgs.at(i).bytes); } catch (e) { if (e.code !== 'E_IMAGE') throw e; errors++; } };
  // Warm-up: every photo once (each size), so the engine's buffers reach their working size.
  for (let i = 0; i < 10 * imgs.photos.length; i += 10) await run(i);
  errors = 0;
  globalThis.gc?.();
  const samples = [sample(0)];
  const handlesAtStart = handles();
  const t0 = Date.now();
  for (let i = 0; i < o.images; i++) {
    await run(i);
    if ((i + 1) % Math.round(o.images / 10) === 0 || i + 1 === o.images) {
      globalThis.gc?.();
      if (samples.at(-1).images !== i + 1) samples.push(sample(i + 1));
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  const handlesAtEnd = handles();
  await model.dispose();
  return { mode: 'node', build: model.info.build, threads: model.info.threads, model: model.info.name, images: o.images,
    errors, seconds, samples, handles: { beforeLoad: handlesBefore, start: handlesAtStart, end: handlesAtEnd, afterDispose: handles() } };
}

async function soakPage(o) {
  const { startServer } = await import('../build/serve.mjs');
  const h = await import('../../wasm-tests/browser/harness.js');
  const imgs = await soakImages();
  const srv = await startServer({ root: ROOT, isolation: true, quiet: true });
  const b = await h.launch();
  try {
    // Any same-origin document will do (served with COOP/COEP like every file): the soak uses the package API only,
    // not the demo page's UI.
    await b.page.goto(`${srv.url}package.json`);
    const cdp = await b.context.newCDPSession(b.page);
    const jsHeap = async () => { await cdp.send('HeapProfiler.collectGarbage'); return (await cdp.send('Runtime.getHeapUsage')).usedSize; };
    const rel = path.relative(ROOT, o.model).split(path.sep).join('/');
    const list = Array.from({ length: o.images }, (_, i) => imgs.at(i));
    const names = [...new Set(list.map((x) => x.name))];
    const bytes = Object.fromEntries(names.map((n) => [n, Buffer.from(list.find((x) => x.name === n).bytes).toString('base64')]));
    // Step 1: load and warm up (one pass over every distinct image); the page keeps the model on globalThis.
    const info = await b.page.evaluate(async ({ rel, bytes }) => {
      const { load } = await import('/src/js/index.js');
      const { getRuntime } = await import('/src/js/runtime.js');
      const decode = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
      const files = Object.fromEntries(Object.entries(bytes).map(([k, v]) => [k, decode(v)]));
      const model = await load(`/${rel}/manifest.json`);
      const { Module } = await getRuntime(model.info.build, model.info.requestedThreads);
      let errors = 0;
      const run = async (n) => { try { await model.classify(files[n]); } catch (e) { if (e.code !== 'E_IMAGE') throw e; errors++; } };
      globalThis.soak = { model, files, run, wasm: () => Module.HEAPU8.buffer.byteLength, errors: () => errors, reset: () => { errors = 0; } };
      for (const n of Object.keys(files)) await run(n);
      return { build: model.info.build, threads: model.info.threads };
    }, { rel, bytes });
    await b.page.evaluate(() => globalThis.soak.reset());
    const start = { jsHeap: await jsHeap(), wasm: await b.page.evaluate(() => globalThis.soak.wasm()) };
    const t0 = Date.now();
    const errors = await b.page.evaluate(async (order) => {
      for (const n of order) await globalThis.soak.run(n);
      return globalThis.soak.errors();
    }, list.map((x) => x.name));
    const seconds = (Date.now() - t0) / 1000;
    const end = { jsHeap: await jsHeap(), wasm: await b.page.evaluate(() => globalThis.soak.wasm()) };
    await b.page.evaluate(() => globalThis.soak.model.dispose());
    return { mode: 'page', images: o.images, info, start, end, errors, seconds };
  } finally {
    await b.close();
    await srv.close();
  }
}

function report(r) {
  const f = (n) => (n === null || n === undefined ? '—' : `${(n / MB).toFixed(1)} MB`);
  if (r.mode === 'node') {
    console.log(`soak: ${r.images} images through ${r.model} (${r.build}, ${r.threads} thread${r.threads > 1 ? 's' : ''}), ` +
      `${r.errors} refused (E_IMAGE), ${r.seconds.toFixed(1)} s`);
    console.log('images      RSS        JS heap    external   WASM memory');
    for (const s of r.samples) console.log(`${String(s.images).padStart(6)}  ${f(s.rss).padStart(10)} ${f(s.heapUsed).padStart(10)} ${f(s.external).padStart(10)} ${f(s.wasm).padStart(10)}`);
    const list = (a) => `[${a.join(', ')}]`;
    console.log(`open handles: before load ${list(r.handles.beforeLoad)}, after warm-up ${list(r.handles.start)}, ` +
      `at the end ${list(r.handles.end)}, after dispose ${list(r.handles.afterDispose)}`);
  } else {
    console.log(`page soak: ${r.images} images (${r.info.build}, ${r.info.threads} threads), ${r.errors} refused, ${r.seconds.toFixed(1)} s`);
    console.log(`JS heap: start ${f(r.start.jsHeap)}, end ${f(r.end.jsHeap)}; WASM memory: start ${f(r.start.wasm)}, end ${f(r.end.wasm)}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const o = parseArgs(process.argv.slice(2));
  const r = o.page ? await soakPage(o) : await soakNode(o);
  if (o.json) console.log(JSON.stringify(r));
  else report(r);
}
