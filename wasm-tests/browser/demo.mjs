#!/usr/bin/env node
// Screenshots of the page (empty, loading, results, error, phone) and the time from opening the page to the
// first result, cold (empty browser cache) and cached (reload). Not a test: run it by hand.
//
//   node wasm-tests/browser/demo.mjs [--out docs/screenshots] [--model DIR] [--runs 3]
//
// Uses the static site from tools/build/build-web.mjs (built into a temp folder), served by tools/build/serve.mjs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../../tools/build/serve.mjs';
import { buildWeb } from '../../tools/build/build-web.mjs';
import * as h from './harness.js';
import { testModel, rechunk } from './model.js';

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const out = path.resolve(opt('--out', path.join(h.ROOT, 'docs/screenshots')));
const runs = Number(opt('--runs', 3));
const why = await h.skipReason();
if (why) { console.error(`demo: ${why}`); process.exit(1); }

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrine-demo-'));
const model = opt('--model') ? { dir: path.resolve(opt('--model')), isDefault: false } : testModel(tmp);
const small = rechunk(model.dir, path.join(tmp, 'small-chunks'), 6);
const site = buildWeb({ out: path.join(tmp, 'site'), models: [...(model.isDefault ? [] : [model.dir]), small.dir], quiet: true }).out;
const q = (dir) => `?model=${encodeURIComponent(`../weights/${path.basename(dir)}/manifest.json`)}`;
const pageUrl = model.isDefault ? 'web/' : `web/${q(model.dir)}`;
fs.mkdirSync(out, { recursive: true });
const photo = (n) => path.join(h.PHOTOS, n);
// The truncated JPEG is 4th so the first row of the results shot shows an error tile beside good ones.
const SET = ['dog_beagle.jpg', 'automobile_sportscar.jpg', 'horse_jockey.jpg', 'elephants_truncated.jpg', 'cat_chelsea.png',
  'airplane_airliner.jpg', 'bird_eagle.jpg', 'person_cameraman_gray.png'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function firstResult(b, url, reload) {
  if (reload) await b.page.reload({ waitUntil: 'domcontentloaded' });
  else await b.page.goto(url, { waitUntil: 'domcontentloaded' });
  await h.choosePhotos(b.page, [photo('dog_beagle.jpg')]);
  await h.waitForTiles(b.page, 1);
  const marks = await h.readMarks(b.page);
  return { firstResult: marks['first-result'], modelReady: marks['model-ready'] };
}

const srv = await startServer({ root: site, isolation: true });
try {
  // Timing: fresh profile each run (cold), then a reload in the same profile (cached).
  const cold = [], cached = [];
  for (let i = 0; i < runs; i++) {
    const b = await h.launch();
    try {
      cold.push(await firstResult(b, srv.url + pageUrl, false));
      cached.push(await firstResult(b, srv.url + pageUrl, true));
    } finally { await b.close(); }
  }
  const med = (xs) => xs.map((x) => x).sort((a, b) => a - b)[xs.length >> 1];
  const fmt = (rs) => `first result ${med(rs.map((r) => r.firstResult)).toFixed(0)} ms (model ready ${med(rs.map((r) => r.modelReady)).toFixed(0)} ms)`;
  console.log(`model: ${path.relative(h.ROOT, model.dir)} (${fs.readdirSync(model.dir).filter((f) => f.endsWith('.bin')).length} chunks), median of ${runs}`);
  console.log(`  cold   (empty cache): ${fmt(cold)}`);
  console.log(`  cached (reload):      ${fmt(cached)}`);

  // Screenshots.
  const b = await h.launch({ viewport: { width: 1000, height: 720 } });
  try {
    await b.page.goto(srv.url + pageUrl);
    await h.waitForModel(b.page);
    await sleep(700);
    await b.page.screenshot({ path: path.join(out, 'empty.png') });
    await h.choosePhotos(b.page, SET.map(photo));
    await h.waitForTiles(b.page, SET.length);
    await sleep(900);
    await b.page.evaluate(() => window.scrollTo(0, 0));
    await b.page.screenshot({ path: path.join(out, 'results.png') });
  } finally { await b.close(); }

  // A phone: touch, no hover (the page says "Add photos" and drops the paste and folder hints).
  const p = await h.launch({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
  try {
    await p.page.goto(srv.url + pageUrl);
    await h.choosePhotos(p.page, SET.slice(0, 4).map(photo));
    await h.waitForTiles(p.page, 4);
    await sleep(900);                  // the progress bar fades out after the model is ready
    await p.page.screenshot({ path: path.join(out, 'phone.png') });
  } finally { await p.close(); }

  const slow = await startServer({ root: site, isolation: true, faults: { throttle: [{ match: '/small-chunks/chunk-', bytesPerSecond: Math.max(20_000, small.chunks[0].size / 2) }] } });
  const b2 = await h.launch({ viewport: { width: 1000, height: 640 } });
  try {
    await b2.page.goto(slow.url + `web/${q(small.dir)}`);
    await h.choosePhotos(b2.page, SET.slice(0, 3).map(photo));
    await b2.page.waitForFunction(() => Number(document.getElementById('progress').dataset.loaded) > 0.4 * Number(document.getElementById('progress').dataset.total), null, { timeout: 60_000 });
    await b2.page.screenshot({ path: path.join(out, 'loading.png') });
  } finally { await b2.close(); await slow.close(); }

  const bad = await startServer({ root: site, isolation: true, faults: { tamper: [{ match: '/small-chunks/chunk-00001.bin' }] } });
  const b3 = await h.launch({ viewport: { width: 1000, height: 560 } });
  try {
    await b3.page.goto(bad.url + `web/${q(small.dir)}`);
    await h.choosePhotos(b3.page, [photo('dog_beagle.jpg')]);
    await h.waitForModel(b3.page);
    await h.waitForTiles(b3.page, 1);
    await b3.page.screenshot({ path: path.join(out, 'error.png') });
  } finally { await b3.close(); await bad.close(); }
  console.log(`screenshots: ${fs.readdirSync(out).filter((f) => f.endsWith('.png')).map((f) => path.join(path.relative(h.ROOT, out), f)).join(', ')}`);
} finally {
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
