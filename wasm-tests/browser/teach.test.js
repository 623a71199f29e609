// Teach mode in a real browser (Debian's Chromium via playwright-core, like browser.test.js): classes with
// photos, embeddings in the engine worker, a head trained in the page with a live curve, used in the Classify
// view, exported as a head file, imported again after a reload; bad input gets named messages; a model without
// a classifier compares photos by their embeddings. Photos: CIFAR-10 test images (../shared/data/cifar10, read
// with tools/default-model/cifar10.mjs) passed to the page's file inputs as the JPEG files they are, plus
// ../shared/photos. Unlike browser.test.js this file fails, not skips, when Chromium or the build is missing.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildWeb } from '../../tools/build/build-web.mjs';
import { execFileSync } from 'node:child_process';
import { readZip } from '../../tools/default-model/cifar10.mjs';
import * as h from './harness.js';

const reason = await h.skipReason();
const DEFAULT_MODEL = path.join(h.ROOT, 'weights/cifar10-vit');
const CIFAR_TEST = path.resolve(h.ROOT, '../shared/data/cifar10/test.zip');
const SHOTS = path.join(os.tmpdir(), 'vitrine-teach-test-screenshots');
const TOL = 1e-5;
// Held-out accuracy floor for airplane vs frog, 24 training photos per class (6 more for validation), 40
// held-out photos (20 per class). Measured 2026-12-03 in this test: 40/40 (100 %). A trainer that learns
// nothing (e.g. shuffled labels) is a coin flip here: P(≥ 36 of 40 right | p = 0.5) ≈ 1e-7.
const HELD_OUT_FLOOR = 0.9;
const CLASSES = ['airplane', 'frog'];

fs.mkdirSync(SHOTS, { recursive: true });

test('prerequisites: Chromium, playwright-core, the WASM build, the bundled model and CIFAR-10 are here', () => {
  assert.equal(reason, null, reason ?? '');
  assert.ok(fs.existsSync(path.join(DEFAULT_MODEL, 'manifest.json')), `${DEFAULT_MODEL} is missing (tools/default-model)`);
  assert.ok(fs.existsSync(CIFAR_TEST), `${CIFAR_TEST} is missing`);
});

/** CIFAR-10 test photos of one class, entries [from, from + n), as file-input payloads. */
function cifar(entries, cls, from, n) {
  return entries.filter((e) => e.name.startsWith(`${cls}/`)).slice(from, from + n)
    .map((e) => ({ name: `${cls}-${path.basename(e.name)}`, mimeType: 'image/jpeg', buffer: Buffer.from(e.bytes) }));
}

/** A copy of a model folder with its classifier left out (FORMAT: classifier "none"): a backbone alone. */
function backboneOnly(srcDir, outDir, name) {
  const m = JSON.parse(fs.readFileSync(path.join(srcDir, 'manifest.json'), 'utf8'));
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  for (const c of m.chunks) fs.copyFileSync(path.join(srcDir, c.file), path.join(outDir, c.file));
  Object.assign(m.architecture, { classifier: 'none', num_labels: 0 });
  m.labels = [];
  m.tensors = m.tensors.filter((t) => !t.name.startsWith('classifier.'));
  m.name = name;
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(m, null, 1));
  return outDir;
}

/**
 * A copy of a model whose first one-dimensional backbone tensor (a bias: the backbone fingerprint covers those,
 * docs/FORMAT.md) differs in the lowest mantissa bit of its first value: the same shapes, another checkpoint.
 */
function otherCheckpoint(srcDir, outDir, name) {
  const m = JSON.parse(fs.readFileSync(path.join(srcDir, 'manifest.json'), 'utf8'));
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const t = m.tensors.find((x) => x.shape.length === 1 && x.dtype === 'f32' && !/^(classifier|head)\./.test(x.name));
  const ci = Math.floor(t.offset / m.chunk_size);
  m.chunks.forEach((c, i) => {
    const bytes = fs.readFileSync(path.join(srcDir, c.file));
    if (i === ci) {
      bytes[t.offset - ci * m.chunk_size] ^= 1;
      c.sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    }
    fs.writeFileSync(path.join(outDir, c.file), bytes);
  });
  m.name = name;
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(m, null, 1));
  return outDir;
}

const withBrowser = (serverOptions, fn) => h.withBrowser(serverOptions, undefined, SHOTS, fn);

const readTeach = (page) => page.evaluate(() => {
  const $ = (id) => document.getElementById(id);
  return {
    state: document.documentElement.dataset.teach ?? null,
    head: document.documentElement.dataset.head ?? null,
    error: $('teach-error').hidden ? null : $('teach-error').textContent,
    errorCode: $('teach-error').hidden ? null : $('teach-error').dataset.code,
    note: $('teach-note').hidden ? null : $('teach-note').textContent,
    points: Number($('curve').dataset.points ?? 0),
    summary: $('train-summary').textContent,
    headStatus: $('head-status').textContent,
    confusion: [...document.querySelectorAll('#confusion tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent))),
  };
});

async function nameClasses(page, names) {
  // The page starts with two empty classes; add or remove to match.
  for (let n = await page.locator('#classes > li').count(); n < names.length; n++) await page.click('#add-class');
  for (let n = await page.locator('#classes > li').count(); n > names.length; n--) await page.click('#classes > li:last-child .remove');
  for (const [i, name] of names.entries()) await page.fill(`#classes > li:nth-child(${i + 1}) .class-name`, name);
}

const classFiles = (page, i, files) => page.setInputFiles(`#classes > li:nth-child(${i + 1}) input.class-files`, files);

/** Press Train and wait for the end: 'done' or 'error'. */
async function train(page) {
  await page.click('#train');
  await page.waitForFunction(() => ['done', 'error'].includes(document.documentElement.dataset.teach), null, { timeout: 180_000 });
  return readTeach(page);
}

/** Press Train expecting it to refuse at once (or after embedding): the error shown. */
async function trainError(page) {
  await page.evaluate(() => { delete document.documentElement.dataset.teach; });
  await page.click('#train');
  await page.waitForFunction(() => !document.getElementById('teach-error').hidden || document.documentElement.dataset.teach === 'done', null, { timeout: 120_000 });
  return readTeach(page);
}

/** Classify `files` in the Classify view (cleared first) and return the tiles. */
async function classifyPhotos(page, files) {
  await page.click('#mode-classify');
  if (await page.locator('#tiles > li').count()) await page.click('#clear');
  await h.choosePhotos(page, files);
  await h.waitForTiles(page, files.length);
  return readTilesWithOwn(page);
}

const readTilesWithOwn = (page) => page.$$eval('#tiles > li', (els) => els.map((el) => ({
  name: el.dataset.name,
  state: el.dataset.state,
  code: el.dataset.code ?? null,
  error: el.querySelector('.err')?.textContent ?? null,
  labels: [...el.querySelectorAll('.labels > li')].map((li) => ({ label: li.dataset.label, score: Number(li.dataset.score) })),
  own: [...el.querySelectorAll('.own-labels > li')].map((li) => ({ label: li.dataset.label, score: Number(li.dataset.score) })),
  nearest: el.querySelector('.nearest')?.dataset.nearest ?? null,
})));

/** safetensors: 8-byte little-endian header length, then the JSON header. */
function safetensorsHeader(bytes) {
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  return JSON.parse(Buffer.from(bytes).subarray(8, 8 + n).toString('utf8'));
}

describe('Teach mode (Chromium)', { skip: reason ?? false, concurrency: 1 }, () => {
  let tmp, site, entries, trainSet, heldOut, backboneUrl, otherUrl, narrowUrl;
  const modelUrl = (dir) => `web/?model=${encodeURIComponent(`../weights/${path.basename(dir)}/manifest.json`)}`;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrine-teach-'));
    const backbone = backboneOnly(DEFAULT_MODEL, path.join(tmp, 'cifar10-backbone'), 'cifar10-vit backbone (no classifier)');
    const other = otherCheckpoint(DEFAULT_MODEL, path.join(tmp, 'cifar10-other'), 'cifar10-vit, another checkpoint');
    // A converted DINOv2 backbone (HF fixture, random weights, hidden size 40): a head for 192 values cannot fit.
    const narrow = path.join(tmp, 'dinov2-backbone');
    execFileSync(process.execPath, [path.join(h.ROOT, 'src/js/cli.js'), 'convert', path.join(h.ROOT, 'wasm-tests/fixtures/models/dinov2-swiglu/hf'),
      '-o', narrow, '--name', 'DINOv2 test backbone', '-q'], { stdio: 'pipe' });
    site = buildWeb({ out: path.join(tmp, 'site'), models: [backbone, other, narrow], quiet: true }).out;
    narrowUrl = modelUrl(narrow);
    backboneUrl = modelUrl(backbone);
    otherUrl = modelUrl(other);
    entries = readZip(CIFAR_TEST);
    trainSet = CLASSES.map((c) => cifar(entries, c, 0, 30));
    heldOut = CLASSES.flatMap((c) => cifar(entries, c, 500, 20));
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  let exported = null;   // the head file of the first test, and the predictions it gave
  let predictions = null;

  test('teach two classes: live curve, confusion matrix, held-out photos get the new labels beside the model\u2019s own; export; nothing sent', async (t) => {
    await withBrowser({ root: site, isolation: true }, async (srv, b) => {
      const log = await h.recordRequests(b.context);
      await b.page.goto(srv.url + 'web/');
      assert.equal(await h.waitForModel(b.page), 'ready');
      const readyAt = log.length;
      await b.page.click('#mode-teach');
      await nameClasses(b.page, CLASSES);
      for (const [i, files] of trainSet.entries()) await classFiles(b.page, i, files);
      assert.equal(await b.page.getAttribute('#classes > li:nth-child(1)', 'data-count'), '30');
      // Every redraw of the curve, to see it grow while training runs. The page redraws once per animation frame;
      // this small job's 100 epochs can all arrive within one or two frames on a fast core (seen: redraws at 0,
      // 16, 100 points), so the training worker's messages are handed to the page 5 ms apart, in order, as on a
      // slower machine: what is checked is the page's drawing, not the machine's speed.
      await b.page.evaluate(() => {
        const Base = window.Worker;
        window.Worker = class extends Base {
          constructor(url, opts) { super(url, opts); this.spaced = opts?.name === 'vitrine-train'; }
          get onmessage() { return super.onmessage; }
          set onmessage(fn) {
            if (!this.spaced || !fn) { super.onmessage = fn; return; }
            let last = 0;
            super.onmessage = (ev) => {
              last = Math.max(performance.now(), last + 5);
              setTimeout(() => fn.call(this, ev), last - performance.now());
            };
          }
        };
        window.curvePoints = [];
        new MutationObserver(() => window.curvePoints.push(Number(document.getElementById('curve').dataset.points)))
          .observe(document.getElementById('curve'), { attributes: true, attributeFilter: ['data-points'] });
      });
      const st = await train(b.page);
      assert.equal(st.state, 'done', JSON.stringify(st));
      assert.equal(st.error, null);
      assert.equal(st.points, 100, 'one point per epoch (100 epochs)');
      const seen = await b.page.evaluate(() => window.curvePoints);
      assert.ok(new Set(seen.filter((p) => p > 0 && p < 100)).size >= 2, `the curve was drawn while training ran: ${seen.join(',')}`);
      assert.ok(Number(await b.page.getAttribute('#curve polyline.train[data-key="trainLoss"]', 'data-points')) === 100);
      assert.ok(await b.page.locator('#curve polyline.val').count() >= 1, 'a validation curve');
      // The confusion matrix counts the validation photos: 6 per class (20 % of 30).
      assert.equal(st.confusion.length, 2);
      assert.deepEqual(st.confusion.map((r) => r.reduce((x, y) => x + y, 0)), [6, 6]);
      assert.equal(st.head, 'trained');
      assert.match(st.headStatus, /airplane, frog/);
      await b.page.screenshot({ path: path.join(SHOTS, 'teach.png'), fullPage: true });

      // Retraining with other settings uses the kept embeddings: no photo goes to the engine again. The binary
      // loss: one sigmoid output, both classes named.
      await b.page.selectOption('#t-loss', 'bce');
      const bce = await train(b.page);
      assert.equal(bce.state, 'done', JSON.stringify(bce));
      assert.equal(await b.page.evaluate(() => document.documentElement.dataset.embedded), '0', 'no photo embedded again');
      assert.match(bce.headStatus, /two classes \(binary\): airplane, frog/);
      assert.match(await b.page.textContent('#teach-progress-text'), /Embedding photos: 60 of 60 \(60 kept from before\)|Trained 100 epochs/);
      await b.page.selectOption('#t-loss', 'softmax');
      await b.page.fill('#t-hidden', '16');
      await b.page.fill('#t-epochs', '40');
      const again = await train(b.page);
      assert.equal(again.state, 'done');
      assert.match(await b.page.textContent('#teach-progress-text'), /Trained 40 epochs/);
      assert.equal(again.points, 40);

      const tiles = await classifyPhotos(b.page, heldOut);
      let right = 0;
      for (const tile of tiles) {
        assert.equal(tile.state, 'done', `${tile.name}: ${tile.error}`);
        assert.deepEqual(tile.labels.map((l) => l.label).sort(), [...CLASSES].sort(), `${tile.name}: the taught labels`);
        assert.ok(tile.own.length > 0, `${tile.name}: the model\u2019s own labels beside`);
        if (tile.name.startsWith(tile.labels[0].label)) right++;
      }
      t.diagnostic(`held-out accuracy ${right}/${tiles.length}`);
      assert.ok(right / tiles.length >= HELD_OUT_FLOOR, `held-out accuracy ${right}/${tiles.length} is below ${HELD_OUT_FLOOR}`);
      predictions = new Map(tiles.map((x) => [x.name, x.labels]));
      const ownPredictions = new Map(tiles.map((x) => [x.name, x.own]));

      // The same head in Node: the page's trainer is the CLI's (src/js/head/train.js), so the same photos,
      // settings and seed give the same labels and scores.
      const { load, trainHead } = await import('../../src/js/index.js');
      const m = await load(DEFAULT_MODEL);
      try {
        const rows = trainSet.flatMap((files, label) => files.map((f) => ({ f, label })));
        const features = new Float32Array(rows.length * 192);
        for (const [i, r] of rows.entries()) features.set(await m.embed(r.f.buffer), i * 192);
        const res = trainHead(features, rows.map((r) => r.label), { dim: 192, numClasses: 2, hidden: 16, epochs: 40, lr: 0.001, seed: 0, valFraction: 0.2 });
        await m.setHead({ pooling: 'cls', layers: res.layers, output: res.output, labels: CLASSES, tensors: res.tensors, backbone: m.headBackbone('cls'), training: {} });
        for (const f of heldOut) {
          const want = await m.classify(f.buffer, { topK: 2 });
          const got = predictions.get(f.name);
          for (const w of want) {
            const g = got.find((x) => x.label === w.label);
            assert.ok(Math.abs(g.score - w.score) <= TOL, `${f.name}: ${w.label} ${g.score} in the page vs ${w.score} in Node`);
          }
        }
        // The model's own labels beside the taught ones are its classifier's top 3, as without the head.
        await m.setHead(null);
        for (const f of heldOut) {
          const want = await m.classify(f.buffer, { topK: 3 });
          const got = ownPredictions.get(f.name);
          assert.deepEqual(got.map((x) => x.label), want.map((w) => w.label), `${f.name}: the model\u2019s own labels`);
          for (const [k, w] of want.entries()) assert.ok(Math.abs(got[k].score - w.score) <= TOL, `${f.name}: own ${w.label} ${got[k].score} in the page vs ${w.score} in Node`);
        }
      } finally {
        await m.dispose();
      }

      // Export: one .head.safetensors file, downloaded from a blob: URL.
      await b.page.click('#mode-teach');
      const [download] = await Promise.all([b.page.waitForEvent('download'), b.page.click('#export-head')]);
      assert.match(download.suggestedFilename(), /\.head\.safetensors$/);
      exported = { name: download.suggestedFilename(), buffer: fs.readFileSync(await download.path()) };
      const meta = safetensorsHeader(exported.buffer).__metadata__;
      assert.equal(meta.format, 'vitrine-head');
      assert.deepEqual(JSON.parse(meta.labels), CLASSES);
      assert.equal(JSON.parse(meta.backbone).input_dim, 192);
      assert.equal(JSON.parse(meta.training).epochs, 40);

      // Privacy: after the model was ready, only GETs of the site's own files (the training worker and the
      // trainer's module), no request with a body, nothing to another host: no photo bytes left the page.
      const after = log.slice(readyAt).filter((r) => /^https?:/.test(r.url));
      assert.deepEqual(log.filter((r) => r.blocked || r.hasBody || r.method !== 'GET'), []);
      for (const r of after) {
        const p = decodeURIComponent(new URL(r.url).pathname);
        assert.ok(fs.existsSync(path.join(site, p)) && fs.statSync(path.join(site, p)).isFile(), `request for something that is not a file of the site: ${r.url}`);
        assert.match(p, /\.(m?js|wasm)$/, `unexpected request after the model was ready: ${r.url}`);
      }
    });
  });

  test('the exported head, imported after a reload, gives the same predictions', async () => {
    assert.ok(exported, 'the previous test exported a head');
    await withBrowser({ root: site, isolation: true }, async (srv, b) => {
      await b.page.goto(srv.url + 'web/');
      assert.equal(await h.waitForModel(b.page), 'ready');
      await b.page.click('#mode-teach');
      await b.page.setInputFiles('#head-input', { name: exported.name, mimeType: 'application/octet-stream', buffer: exported.buffer });
      await b.page.waitForFunction(() => document.documentElement.dataset.head === 'file' || !document.getElementById('teach-error').hidden);
      const st = await readTeach(b.page);
      assert.equal(st.error, null);
      assert.match(st.headStatus, /imported head.*airplane, frog/);
      const tiles = await classifyPhotos(b.page, heldOut);
      for (const tile of tiles) {
        const want = predictions.get(tile.name);
        assert.equal(tile.labels[0].label, want[0].label, tile.name);
        for (const l of tile.labels) {
          const w = want.find((x) => x.label === l.label);
          assert.ok(Math.abs(l.score - w.score) <= TOL, `${tile.name}: ${l.label} ${l.score} vs ${w.score} before the export`);
        }
      }
      // "Stop using it": the model's own labels again.
      await b.page.click('#mode-teach');
      await b.page.click('#drop-head');
      const own = await classifyPhotos(b.page, heldOut.slice(0, 2));
      assert.ok(own.every((x) => x.state === 'done' && x.own.length === 0 && x.labels.length === 5), JSON.stringify(own));
    });
  });

  test('bad input: named messages, and the page keeps classifying', async () => {
    await withBrowser({ root: site, isolation: true }, async (srv, b) => {
      await b.page.goto(srv.url + 'web/');
      assert.equal(await h.waitForModel(b.page), 'ready');
      await b.page.click('#mode-teach');
      const stillClassifies = async () => {
        const tiles = await classifyPhotos(b.page, [path.join(h.PHOTOS, 'dog_beagle.jpg')]);
        assert.equal(tiles[0].state, 'done', JSON.stringify(tiles[0]));
        await b.page.click('#mode-teach');
      };

      // Only one class.
      await nameClasses(b.page, ['airplane']);
      await classFiles(b.page, 0, trainSet[0].slice(0, 5));
      let st = await trainError(b.page);
      assert.equal(st.errorCode, 'E_INPUT');
      assert.match(st.error, /at least two classes/);
      // A class with no photos; a drop goes onto the card it lands on, elsewhere it is not taken.
      await nameClasses(b.page, ['airplane', 'frog']);
      const dropOn = (selector, files) => b.page.evaluate(([sel, list]) => {
        const dt = new DataTransfer();
        for (const f of list) dt.items.add(new File([new Uint8Array(f.data)], f.name, { type: 'image/jpeg' }));
        document.querySelector(sel).dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, [selector, files.map((f) => ({ name: f.name, data: [...f.buffer] }))]);
      await dropOn('#classes > li:nth-child(1) .class-thumbs', trainSet[0].slice(5, 7));
      await b.page.waitForFunction(() => document.querySelector('#classes > li:nth-child(1)').dataset.count === '7');
      await dropOn('#teach-h', trainSet[0].slice(7, 8));
      await b.page.waitForFunction(() => /Drop photos onto one of the classes/.test(document.getElementById('teach-note').textContent));
      assert.equal(await b.page.getAttribute('#classes > li:nth-child(1)', 'data-count'), '7');
      st = await trainError(b.page);
      assert.equal(st.errorCode, 'E_INPUT');
      assert.match(st.error, /class "frog" has no photos/);
      // Two classes with one name.
      await classFiles(b.page, 1, trainSet[1].slice(0, 5));
      await nameClasses(b.page, ['same', 'same']);
      st = await trainError(b.page);
      assert.match(st.error, /two classes are both named "same"/);
      // The binary loss with three classes; a bad setting.
      await nameClasses(b.page, ['airplane', 'frog', 'bird']);
      await classFiles(b.page, 2, cifar(entries, 'bird', 0, 5));
      await b.page.selectOption('#t-loss', 'bce');
      st = await trainError(b.page);
      assert.equal(st.errorCode, 'E_INPUT');
      assert.match(st.error, /exactly two classes/);
      await b.page.selectOption('#t-loss', 'softmax');
      await b.page.fill('#t-epochs', '0');
      st = await trainError(b.page);
      assert.match(st.error, /Epochs must be a whole number from 1/);
      await b.page.fill('#t-epochs', '30');
      await stillClassifies();

      // A class whose photos cannot be read; then one unreadable photo among good ones (left out, named).
      const junk = (n) => ({ name: `broken-${n}.jpg`, mimeType: 'image/jpeg', buffer: Buffer.from(`not a photo ${n}\n`) });
      await b.page.click('#classes > li:nth-child(3) .class-actions .link');   // "Clear" the bird class
      await classFiles(b.page, 2, [junk(1), junk(2)]);
      st = await trainError(b.page);
      assert.equal(st.errorCode, 'E_INPUT');
      assert.match(st.error, /class "bird" has no readable photos/);
      assert.match(st.note, /broken-1\.jpg \(E_IMAGE/);
      await b.page.click('#classes > li:nth-child(3) .remove');
      await classFiles(b.page, 0, [junk(3)]);
      st = await train(b.page);
      assert.equal(st.state, 'done', JSON.stringify(st));
      assert.match(st.note, /1 photo could not be read and was left out: broken-3\.jpg \(E_IMAGE/);
      await stillClassifies();

      // Head files: damaged, truncated, not a head, for another backbone (other width), for another checkpoint.
      const importHead = async (file) => {
        await b.page.evaluate(() => { document.getElementById('teach-error').hidden = true; });
        await b.page.setInputFiles('#head-input', file);
        await b.page.waitForFunction(() => !document.getElementById('teach-error').hidden, null, { timeout: 30_000 });
        return readTeach(b.page);
      };
      assert.ok(exported, 'the first test exported a head');
      const good = exported.buffer;
      for (const [name, buffer, re] of [
        ['random.head.safetensors', crypto.randomBytes(300), /./],
        ['cut.head.safetensors', good.subarray(0, good.length - 10), /./],
        ['empty.head.safetensors', Buffer.alloc(0), /./],
      ]) {
        st = await importHead({ name, mimeType: 'application/octet-stream', buffer });
        assert.equal(st.errorCode, 'E_HEAD', `${name}: ${st.error}`);
        assert.match(st.error, re);
      }
      await stillClassifies();
    });
  });

  test('heads for another backbone are refused by name; a model without a classifier compares photos and can be taught', async () => {
    assert.ok(exported, 'the first test exported a head');
    await withBrowser({ root: site, isolation: true }, async (srv, b) => {
      // A backbone of another width: refused, naming both widths.
      await b.page.goto(srv.url + narrowUrl);
      assert.equal(await h.waitForModel(b.page), 'ready');
      await b.page.click('#mode-teach');
      await b.page.setInputFiles('#head-input', { name: exported.name, mimeType: 'application/octet-stream', buffer: exported.buffer });
      await b.page.waitForFunction(() => !document.getElementById('teach-error').hidden);
      let st = await readTeach(b.page);
      assert.equal(st.errorCode, 'E_HEAD');
      assert.match(st.error, /192/);
      assert.match(st.error, /40/);
      // Photos dropped on this backbone get their embedding, not an error.
      const dino = await classifyPhotos(b.page, ['dog_beagle.jpg', 'cat_chelsea.png'].map((f) => path.join(h.PHOTOS, f)));
      assert.ok(dino.every((x) => x.state === 'done' && x.labels.length === 0), JSON.stringify(dino));
      assert.match(await b.page.textContent('#tiles > li .emb'), /Embedding of 40 values/);
      await b.page.waitForFunction(() => [...document.querySelectorAll('#tiles .nearest')].every((p) => p.dataset.nearest));

      // Another checkpoint with the same shapes: the fingerprint differs.
      await b.page.goto(srv.url + otherUrl);
      assert.equal(await h.waitForModel(b.page), 'ready');
      await b.page.click('#mode-teach');
      await b.page.setInputFiles('#head-input', { name: exported.name, mimeType: 'application/octet-stream', buffer: exported.buffer });
      await b.page.waitForFunction(() => !document.getElementById('teach-error').hidden);
      st = await readTeach(b.page);
      assert.equal(st.errorCode, 'E_HEAD');
      assert.match(st.error, /fingerprint/);
      const tiles = await classifyPhotos(b.page, [path.join(h.PHOTOS, 'dog_beagle.jpg')]);
      assert.equal(tiles[0].state, 'done');
      assert.equal(tiles[0].labels.length, 5, 'still the model\u2019s own labels');

      // The backbone without its classifier: tiles show embeddings, the near-duplicates are grouped.
      await b.page.goto(srv.url + backboneUrl);
      assert.equal(await h.waitForModel(b.page), 'ready');
      assert.match(await b.page.textContent('#known'), /no classifier/);
      const photos = ['elephants.jpg', 'elephants_cmyk.jpg', 'elephants_exif_orientation6.jpg', 'dog_beagle.jpg', 'cat_chelsea.png',
        'airplane_airliner.jpg', 'horse_jockey.jpg'].map((f) => path.join(h.PHOTOS, f));
      const emb = await classifyPhotos(b.page, photos);
      assert.ok(emb.every((x) => x.state === 'done' && x.labels.length === 0), JSON.stringify(emb));
      // The panel is redrawn once per burst of results: wait for the drawing that saw all seven photos.
      await b.page.waitForFunction((n) => document.getElementById('duplicates')?.dataset.photos === String(n), photos.length);
      const groups = JSON.parse(await b.page.getAttribute('#duplicates', 'data-groups'));
      assert.deepEqual(groups.map((g) => g.sort()), [['elephants.jpg', 'elephants_cmyk.jpg', 'elephants_exif_orientation6.jpg']]);
      assert.equal(emb.find((x) => x.name === 'elephants.jpg').nearest.startsWith('elephants'), true);
      await b.page.screenshot({ path: path.join(SHOTS, 'similar.png'), fullPage: true });

      // Teach it: the taught labels are the only labels.
      await b.page.click('#mode-teach');
      await nameClasses(b.page, CLASSES);
      for (const [i, files] of trainSet.entries()) await classFiles(b.page, i, files.slice(0, 12));
      st = await train(b.page);
      assert.equal(st.state, 'done', JSON.stringify(st));
      const taught = await classifyPhotos(b.page, heldOut.slice(0, 4));
      assert.ok(taught.every((x) => x.state === 'done' && x.labels.length === 2 && x.own.length === 0), JSON.stringify(taught));
    });
  });
});
