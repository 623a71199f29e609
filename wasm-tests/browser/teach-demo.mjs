#!/usr/bin/env node
// Teach mode by hand: screenshots for docs/WEB.md and the time the page takes to embed N photos and train a head
// on them. Not a test (it has timings): run it by hand.
//
//   node wasm-tests/browser/teach-demo.mjs [--out docs/images] [--photos 1000] [--model DIR] [--no-shots]
//
// Photos: CIFAR-10 test images (../shared/data/cifar10/test.zip), half airplane, half frog, as the JPEG files
// they are. The model: the bundled default, or --model (added to the site under weights/). The site is the one
// tools/build/build-web.mjs writes, served by tools/build/serve.mjs with COOP/COEP (the MT build).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startServer } from '../../tools/build/serve.mjs';
import { buildWeb } from '../../tools/build/build-web.mjs';
import { readZip } from '../../tools/default-model/cifar10.mjs';
import * as h from './harness.js';

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const out = path.resolve(opt('--out', path.join(h.ROOT, 'docs/images')));
const n = Number(opt('--photos', 1000));
const shots = !args.includes('--no-shots');
const modelDir = opt('--model') ? path.resolve(opt('--model')) : null;
const why = await h.skipReason();
if (why) { console.error(`teach-demo: ${why}`); process.exit(1); }

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrine-teach-demo-'));
const site = buildWeb({ out: path.join(tmp, 'site'), models: modelDir ? [modelDir] : [], quiet: true }).out;
const pageUrl = modelDir ? `web/?model=${encodeURIComponent(`../weights/${path.basename(modelDir)}/manifest.json`)}` : 'web/';
const entries = readZip(path.resolve(h.ROOT, '../shared/data/cifar10/test.zip'));
const cifar = (cls, from, k) => entries.filter((e) => e.name.startsWith(`${cls}/`)).slice(from, from + k)
  .map((e) => ({ name: `${cls}-${path.basename(e.name)}`, mimeType: 'image/jpeg', buffer: Buffer.from(e.bytes) }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const srv = await startServer({ root: site, isolation: true });
const b = await h.launch({ viewport: { width: 1100, height: 900 } });
try {
  await b.page.goto(srv.url + pageUrl);
  if (await h.waitForModel(b.page, 600_000) !== 'ready') throw new Error(JSON.stringify(await h.readStatus(b.page)));
  await b.page.click('#mode-teach');
  for (const [i, cls] of ['airplane', 'frog'].entries()) {
    await b.page.fill(`#classes > li:nth-child(${i + 1}) .class-name`, cls);
    await b.page.setInputFiles(`#classes > li:nth-child(${i + 1}) input.class-files`, cifar(cls, 0, n / 2));
  }
  await b.page.click('#train');
  await b.page.waitForFunction(() => ['done', 'error'].includes(document.documentElement.dataset.teach), null, { timeout: 3_600_000 });
  const r = await b.page.evaluate(() => ({ ...document.documentElement.dataset, summary: document.getElementById('train-summary').textContent,
    error: document.getElementById('teach-error').hidden ? null : document.getElementById('teach-error').textContent }));
  const cpu = execFileSync('lscpu').toString().match(/Model name:\s*(.+)/)?.[1] ?? '?';
  console.log(`${new Date().toISOString().slice(0, 10)} · ${cpu} · ${r.mode} build, ${r.threads} threads · model ${modelDir ? path.basename(modelDir) : 'cifar10-vit'}`);
  console.log(`  embed ${n} photos: ${(r.embedMs / 1000).toFixed(1)} s (${(r.embedMs / n).toFixed(1)} ms/photo) · train 100 epochs: ${(r.trainMs / 1000).toFixed(2)} s`);
  console.log(`  ${r.summary}`);
  if (r.error) throw new Error(r.error);
  if (shots) {
    fs.mkdirSync(out, { recursive: true });
    await sleep(300);
    await b.page.locator('#teach').screenshot({ path: path.join(out, 'teach.png') });
    await b.page.click('#mode-classify');
    await h.choosePhotos(b.page, [...cifar('airplane', 900, 3), ...cifar('frog', 900, 3)]);
    await h.waitForTiles(b.page, 6);
    await sleep(300);
    await b.page.screenshot({ path: path.join(out, 'teach-classify.png') });
    console.log(`screenshots: ${['teach.png', 'teach-classify.png'].map((f) => path.join(path.relative(h.ROOT, out), f)).join(', ')}`);
  }
} finally {
  await b.close();
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
