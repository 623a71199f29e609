// The page in a real browser: Debian's Chromium driven by playwright-core, against the static site that
// `npm run build:web` writes (built here into a temp folder), served by tools/build/serve.mjs on 127.0.0.1 with a
// random port, with and without COOP/COEP. Photos come from ../shared/photos; labels and scores are read off
// the page and compared with what the Node API gives for the same file.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../../tools/build/serve.mjs';
import { buildWeb, importsOf } from '../../tools/build/build-web.mjs';
import * as h from './harness.js';
import { testModel, rechunk } from './model.js';

const missing = await h.skipReason();
const TOL = 1e-5;
// Screenshots the tests take, to look at after a run (docs/screenshots/ is made by browser/demo.mjs).
const SHOTS = path.join(os.tmpdir(), 'vitrine-browser-test-screenshots');

// Every page test gets its own server and browser; a failure carries a screenshot, the page's status and its
// console (h.explain), and both are closed whatever happens.
async function withBrowser(serverOptions, launchOptions, fn) {
  const srv = await startServer(serverOptions);
  const b = await h.launch(launchOptions);
  try {
    return await fn(srv, b);
  } catch (e) {
    throw await h.explain(b, e, SHOTS);
  } finally {
    await b.close();
    await srv.close();
  }
}

fs.mkdirSync(SHOTS, { recursive: true });
const photo = (n) => path.join(h.PHOTOS, n);
const GOOD = ['dog_beagle.jpg', 'cat_chelsea.png', 'bird_eagle.jpg', 'horse_jockey.jpg', 'automobile_sportscar.jpg',
  'airplane_airliner.jpg', 'person_cameraman_gray.png', 'elephants_exif_orientation6.jpg'];
const NOT_AN_IMAGE = { name: 'notes-not-a-photo.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('these bytes are not a JPEG at all\n') };

describe('dev/static server (tools/build/serve.mjs)', () => {
  let tmp, srv, plain;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrine-serve-'));
    fs.mkdirSync(path.join(tmp, 'web'));
    for (const [f, body] of Object.entries({ 'web/index.html': '<!doctype html>', 'web/a.js': 'export {}', 'web/b.mjs': 'export {}',
      'm.wasm': Buffer.from([0, 97, 115, 109]), 'manifest.json': '{}', 'chunk-00000.bin': Buffer.alloc(1000, 7) })) {
      fs.writeFileSync(path.join(tmp, f), body);
    }
    srv = await startServer({ root: tmp, faults: { tamper: [{ match: 'chunk-00000.bin', times: 1 }] } });
    plain = await startServer({ root: tmp, isolation: false });
  });
  after(async () => {
    await srv?.close();
    await plain?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('binds 127.0.0.1 and sends the right MIME types', async () => {
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const types = { 'web/a.js': 'text/javascript', 'web/b.mjs': 'text/javascript', 'm.wasm': 'application/wasm',
      'manifest.json': 'application/json', 'web/index.html': 'text/html', 'chunk-00000.bin': 'application/octet-stream' };
    for (const [f, type] of Object.entries(types)) {
      const r = await fetch(srv.url + f);
      assert.equal(r.status, 200, f);
      assert.equal(r.headers.get('content-type').split(';')[0], type, f);
      await r.arrayBuffer();
    }
    const r = await fetch(srv.url, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/web/');
  });

  test('COOP/COEP only when isolation is on', async () => {
    const a = await fetch(srv.url + 'web/a.js');
    assert.equal(a.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(a.headers.get('cross-origin-embedder-policy'), 'require-corp');
    const b = await fetch(plain.url + 'web/a.js');
    assert.equal(b.headers.get('cross-origin-opener-policy'), null);
    assert.equal(b.headers.get('cross-origin-embedder-policy'), null);
  });

  test('a source tree\'s bundled worker (dist/page/worker.js): made from the current sources, 304 while they are unchanged', async () => {
    fs.mkdirSync(path.join(tmp, 'src'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'web/worker.js'), "import('../src/dep.js').then((m) => self.postMessage(m.word));\n");
    fs.writeFileSync(path.join(tmp, 'src/dep.js'), "export const word = 'first';\n");
    const url = srv.url + 'dist/page/worker.js';
    const r1 = await fetch(url);
    assert.equal(r1.status, 200);
    assert.equal(r1.headers.get('content-type'), 'text/javascript; charset=utf-8');
    const body1 = await r1.text();
    assert.match(body1, /'first'|"first"/);
    assert.doesNotMatch(body1, /import\(['"]\.\.\/src/, 'the import is bundled, not left to the browser');
    assert.equal((await fetch(url, { headers: { 'If-None-Match': r1.headers.get('etag') } })).status, 304);
    // A changed source (a newer mtime) makes a new bundle with a new ETag.
    fs.writeFileSync(path.join(tmp, 'src/dep.js'), "export const word = 'second';\n");
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(tmp, 'src/dep.js'), later, later);
    const r2 = await fetch(url, { headers: { 'If-None-Match': r1.headers.get('etag') } });
    assert.equal(r2.status, 200);
    assert.match(await r2.text(), /'second'|"second"/);
    assert.notEqual(r2.headers.get('etag'), r1.headers.get('etag'));
  });

  test('GET/HEAD only, nothing outside the root, byte ranges, and a fault that fires once', async () => {
    assert.equal((await fetch(srv.url + 'manifest.json', { method: 'POST', body: 'x' })).status, 405);
    assert.equal((await fetch(srv.url + '%2e%2e/%2e%2e/etc/passwd')).status, 404);
    assert.equal((await fetch(srv.url + 'nope')).status, 404);
    fs.mkdirSync(path.join(tmp, '.git'), { recursive: true });
    fs.writeFileSync(path.join(tmp, '.git/config'), 'secret');
    assert.equal((await fetch(srv.url + '.git/config')).status, 404, 'hidden folders are not served');
    const part = await fetch(srv.url + 'chunk-00000.bin', { headers: { Range: 'bytes=990-' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 990-999/1000');
    assert.equal((await part.arrayBuffer()).byteLength, 10);
    // The range request above used the tamper fault up: it was flipped; the next one is clean.
    const clean = Buffer.from(await (await fetch(srv.url + 'chunk-00000.bin')).arrayBuffer());
    assert.ok(clean.equals(Buffer.alloc(1000, 7)));
    assert.ok(srv.requests.some((r) => r.method === 'POST' && r.bodyBytes === 1));
  });
});

describe('web page (Chromium)', { concurrency: 1 }, () => {
  let tmp, site, model, small, pageUrl, smallUrl, expected;

  before(async () => {
    // No Chromium, no playwright-core or no web build is a failure that says what is missing, never a skip.
    assert.equal(missing, null, `the browser tests cannot run: ${missing}`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrine-web-'));
    model = testModel(tmp);
    small = rechunk(model.dir, path.join(tmp, 'small-chunks'), 6);
    site = buildWeb({ out: path.join(tmp, 'site'), models: [...(model.isDefault ? [] : [model.dir]), small.dir], quiet: true }).out;
    // The bundled default model opens with no configuration; a fixture model is named in the URL.
    pageUrl = model.isDefault ? 'web/' : `web/?model=${encodeURIComponent(`../weights/${path.basename(model.dir)}/manifest.json`)}`;
    smallUrl = `web/?model=${encodeURIComponent(`../weights/${path.basename(small.dir)}/manifest.json`)}`;

    // What the Node API says for each photo (the page must show the same).
    const { load } = await import('../../src/js/index.js');
    const m = await load(model.dir);
    expected = new Map();
    for (const f of [...GOOD, 'elephants_truncated.jpg']) {
      try {
        expected.set(f, { top: await m.classify(fs.readFileSync(photo(f)), { topK: 5 }) });
      } catch (e) {
        expected.set(f, { error: e.code ?? 'error' });
      }
    }
    try {
      await m.classify(NOT_AN_IMAGE.buffer, { topK: 5 });
      expected.set(NOT_AN_IMAGE.name, { top: 'unexpected success' });
    } catch (e) {
      expected.set(NOT_AN_IMAGE.name, { error: e.code });
    }
    m.dispose?.();
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  function assertSameAsNode(tiles, names) {
    for (const name of names) {
      const tile = tiles.find((t) => t.name === name);
      assert.ok(tile, `no tile for ${name}`);
      const want = expected.get(name);
      if (want.error) {
        assert.equal(tile.state, 'error', `${name}: Node refused it (${want.error}) but the page shows ${JSON.stringify(tile.labels)}`);
        assert.equal(tile.code, want.error, `${name}: error code`);
        continue;
      }
      assert.equal(tile.state, 'done', `${name}: ${tile.error}`);
      assert.equal(tile.labels.length, want.top.length, `${name}: number of labels`);
      for (let k = 0; k < want.top.length; k++) {
        const w = want.top[k];
        const got = tile.labels.find((l) => l.index === w.index);
        assert.ok(got, `${name}: label ${w.label} (#${k + 1} in Node) missing on the page: ${JSON.stringify(tile.labels)}`);
        assert.equal(got.label, w.label);
        assert.ok(Math.abs(got.score - w.score) <= TOL, `${name}: ${w.label} ${got.score} on the page vs ${w.score} in Node`);
        // Same order, except between scores too close to tell apart.
        const next = want.top[k + 1];
        if (next && w.score - next.score > 2 * TOL) assert.equal(tile.labels[k].index, w.index, `${name}: order at #${k + 1}`);
      }
      assert.ok(tile.ms > 0, `${name}: shows the time it took`);
    }
  }

  const chunkRequests = (srv, from = 0) => srv.requests.slice(from).filter((r) => /\/chunk-\d+\.bin$/.test(r.url));

  test('cross-origin isolated: MT build with 2 threads, labels equal the Node API, one bad file fails alone, reload downloads nothing', async (t) => {
    await withBrowser({ root: site, isolation: true }, undefined, async (srv, b) => {
      const log = await h.recordRequests(b.context);
      const sockets = [];
      b.page.on('websocket', (ws) => sockets.push(ws.url()));
      await b.page.goto(srv.url + pageUrl);
      // Photos chosen before the model is ready wait in the queue.
      const files = [...GOOD.map(photo), NOT_AN_IMAGE, photo('elephants_truncated.jpg')];
      await h.choosePhotos(b.page, files);
      assert.equal(await h.waitForModel(b.page), 'ready', JSON.stringify(await h.readStatus(b.page)));
      const readyAt = Date.now();
      await h.waitForTiles(b.page, files.length);
      const st = await h.readStatus(b.page);
      assert.equal(st.isolated, true);
      assert.equal(st.mode, 'mt');
      assert.equal(st.threads, 2, 'this machine has 2 cores: 2 threads');
      assert.match(st.status, /multi-threaded · 2 threads · SIMD on/);
      // The page states the accuracy recorded in the manifest (the default model's), and nothing for a model without one.
      const ev = JSON.parse(fs.readFileSync(path.join(model.dir, 'manifest.json'), 'utf8')).metadata?.evaluation;
      if (ev) assert.ok(st.known.includes(`Top-1 accuracy ${ev.top1} % on 10,000 CIFAR-10 test images.`), st.known);
      else assert.ok(!/accuracy/.test(st.known), st.known);
      const tiles = await h.readTiles(b.page);
      assertSameAsNode(tiles, [...GOOD, NOT_AN_IMAGE.name, 'elephants_truncated.jpg']);
      const bad = tiles.find((x) => x.name === NOT_AN_IMAGE.name);
      assert.equal(bad.state, 'error');
      assert.match(bad.error, /\S/);
      assert.equal(tiles.filter((x) => x.state === 'error').length, [...expected.values()].filter((e) => e.error).length,
        'only the files Node refuses show an error');
      await b.page.screenshot({ path: path.join(SHOTS, 'results.png'), fullPage: true });
      const cold = (await h.readMarks(b.page))['first-result'];

      // Privacy: every request went to this server, was a GET without a body, and nothing was requested
      // after the model was ready while photos were being classified (only static assets would be allowed).
      const http = log.filter((r) => /^https?:/.test(r.url));
      assert.deepEqual(http.filter((r) => r.blocked).map((r) => r.url), [], 'no third-party requests');
      assert.deepEqual(http.filter((r) => r.method !== 'GET' || r.hasBody).map((r) => `${r.method} ${r.url}`), []);
      // No query string on anything but the page's own address (nothing about a photo can ride along in one), no
      // photo's name in any URL, and no WebSocket.
      const pageHref = new URL(srv.url + pageUrl).href;
      assert.deepEqual(http.filter((r) => new URL(r.url).search && r.url !== pageHref).map((r) => r.url), [], 'query strings on asset URLs');
      assert.deepEqual(http.filter((r) => files.some((f) => r.url.includes(encodeURIComponent(path.basename(typeof f === 'string' ? f : f.name))))).map((r) => r.url), []);
      assert.deepEqual(sockets, [], 'no WebSocket');
      // Before the model was ready (photos already chosen): only the page, the package, the engine and the model.
      const early = http.filter((r) => r.t <= readyAt).map((r) => new URL(r.url).pathname);
      assert.ok(early.some((p) => /\/chunk-\d+\.bin$/.test(p)), 'the model was downloaded before it was ready');
      // (coi-serviceworker.js sits at the site root: a service worker's scope is its own folder.)
      assert.deepEqual(early.filter((p) => !/^\/(web|src\/js|dist\/(wasm\/web|page)|weights)\/[^?]*$|^\/(favicon\.ico|coi-serviceworker\.js)$/.test(p)), [], 'requests before the model was ready');
      // The engine worker is the bundle build-web writes: one request, not the API's modules one by one.
      assert.ok(early.includes('/dist/page/worker.js'), `the bundled worker was not fetched: ${early.join(' ')}`);
      assert.deepEqual(early.filter((p) => p.startsWith('/src/js/') || p === '/web/worker.js'), [], 'unbundled worker modules fetched');
      const late = http.filter((r) => r.t > readyAt && !/\/(web|src\/js|dist\/wasm\/web)\/[^?]*\.(js|mjs|css|svg|wasm|html)$/.test(new URL(r.url).pathname));
      assert.deepEqual(late.map((r) => r.url), [], 'no requests but static assets after the model is ready');
      assert.deepEqual(srv.requests.filter((r) => r.bodyBytes > 0 || r.method !== 'GET'), []);
      assert.deepEqual(await b.context.cookies(), []);
      assert.equal(await b.page.evaluate(() => document.cookie), '');
      // More photos after load: still no request at all.
      const before = log.length;
      await h.choosePhotos(b.page, [photo('dog_beagle.jpg')]);
      await h.waitForTiles(b.page, files.length + 1);
      assert.deepEqual(log.slice(before).filter((r) => /^https?:/.test(r.url)).map((r) => r.url), []);

      // Reload: the model comes from the Cache API; not one chunk byte over the network.
      const mark = srv.requests.length;
      await b.page.reload();
      await h.choosePhotos(b.page, [photo('cat_chelsea.png')]);
      assert.equal(await h.waitForModel(b.page), 'ready');
      await h.waitForTiles(b.page, 1);
      assert.deepEqual(chunkRequests(srv, mark).map((r) => r.url), [], 'chunks fetched again after a reload');
      assert.match((await h.readStatus(b.page)).status, /nothing downloaded/);
      assertSameAsNode(await h.readTiles(b.page), ['cat_chelsea.png']);
      const cached = (await h.readMarks(b.page))['first-result'];
      // The worker is a user of the public API only (the package's entry points: `vitrine`, `vitrine/preload`):
      // loading, caching and build choice are the API's.
      const pkg = JSON.parse(fs.readFileSync(path.join(h.ROOT, 'package.json'), 'utf8'));
      const entry = (name) => '../' + path.posix.normalize(pkg.exports[name].default);
      assert.deepEqual(importsOf(fs.readFileSync(path.join(site, 'web/worker.js'), 'utf8')).sort(), [entry('.'), entry('./preload')].sort());
      assert.ok(!fs.existsSync(path.join(site, 'web/chunks.js')));
      t.diagnostic(`page open → first result: cold ${cold.toFixed(0)} ms, cached ${cached.toFixed(0)} ms (model ${path.basename(model.dir)})`);
    });
  });

  test('not cross-origin isolated: falls back to the ST build, says so, same labels; keyboard, drop and paste work', async () => {
    await withBrowser({ root: site, isolation: false }, { viewport: { width: 390, height: 844 } }, async (srv, b) => {
      await b.page.goto(srv.url + pageUrl + (pageUrl.includes('?') ? '&' : '?') + 'nocoi');
      await h.choosePhotos(b.page, GOOD.slice(0, 4).map(photo));
      assert.equal(await h.waitForModel(b.page), 'ready');
      await h.waitForTiles(b.page, 4);
      const st = await h.readStatus(b.page);
      assert.equal(st.isolated, false);
      assert.equal(st.mode, 'st');
      assert.equal(st.threads, 1);
      assert.match(st.status, /single-threaded/);
      assert.match(st.status, /not cross-origin isolated/);
      assertSameAsNode(await h.readTiles(b.page), GOOD.slice(0, 4));
      await b.page.screenshot({ path: path.join(SHOTS, 'phone-st.png') });

      // Keyboard only: Tab to "Choose photos…", Enter opens the file chooser.
      await b.page.evaluate(() => document.activeElement?.blur());
      let focused = '';
      for (let i = 0; i < 15 && focused !== 'pick'; i++) {
        await b.page.keyboard.press('Tab');
        focused = await b.page.evaluate(() => document.activeElement?.id ?? '');
      }
      assert.equal(focused, 'pick', 'Tab reaches "Choose photos…"');
      // (The picker's click is caught and cancelled: a real dialog cannot be driven headless.)
      await b.page.evaluate(() => document.getElementById('file-input').addEventListener('click', (e) => {
        e.preventDefault();
        window.pickerOpened = true;
      }, { once: true }));
      await b.page.keyboard.press('Enter');
      assert.equal(await b.page.evaluate(() => window.pickerOpened), true, 'Enter on "Choose photos…" opens the picker');
      await h.choosePhotos(b.page, [photo(GOOD[4])]);
      // Drop and paste deliver files the same way.
      const bytes = (n) => [...fs.readFileSync(photo(n))];
      await b.page.evaluate(([a, c]) => {
        const file = (name, data, type) => new File([new Uint8Array(data)], name, { type });
        const drop = new DataTransfer();
        drop.items.add(file('dropped.jpg', a, 'image/jpeg'));
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }));
        const clip = new DataTransfer();
        clip.items.add(file('pasted.png', c, 'image/png'));
        document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: clip, bubbles: true, cancelable: true }));
      }, [bytes(GOOD[5]), bytes('cat_chelsea.png')]);
      await h.waitForTiles(b.page, 7);
      const tiles = await h.readTiles(b.page);
      assertSameAsNode(tiles, [GOOD[4]]);
      expected.set('dropped.jpg', expected.get(GOOD[5]));
      expected.set('pasted.png', expected.get('cat_chelsea.png'));
      assertSameAsNode(tiles, ['dropped.jpg', 'pasted.png']);
      const label = await b.page.getAttribute('#tiles > li:first-child', 'aria-label');
      assert.match(label, /: .+ \d+(\.\d)?%/, 'a tile reads out its labels');
      await b.page.click('#clear');
      assert.equal(await b.page.locator('#tiles > li').count(), 0);
      assert.equal(await b.page.isHidden('#toolbar'), true);
    });
  });

  test('static host without COOP/COEP: coi-serviceworker makes the page isolated, MT runs', async () => {
    await withBrowser({ root: site, isolation: false }, undefined, async (srv, b) => {
      await b.page.goto(srv.url + pageUrl);
      // The service worker registers, then reloads the page once; poll across that navigation.
      const deadline = Date.now() + 60_000;
      let st = null;
      while (Date.now() < deadline) {
        st = await h.readStatus(b.page).catch(() => null);
        if (st?.isolated && st.model === 'ready') break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(st?.isolated, `page never became cross-origin isolated: ${JSON.stringify(st)}`);
      assert.equal(st.mode, 'mt');
      await h.choosePhotos(b.page, [photo('dog_beagle.jpg')]);
      await h.waitForTiles(b.page, 1);
      assertSameAsNode(await h.readTiles(b.page), ['dog_beagle.jpg']);
      assert.ok(srv.requests.every((r) => !r.headers['cross-origin-embedder-policy']));
    });
  });

  test('isolated, but the thread workers cannot start: falls back to ST and says why', async () => {
    await withBrowser({ root: site, isolation: true, faults: { status: [{ match: 'vitrine-mt.worker.js', code: 404, times: Infinity }] } }, undefined, async (srv, b) => {
      await b.page.goto(srv.url + pageUrl);
      await h.choosePhotos(b.page, [photo('bird_eagle.jpg')]);
      assert.equal(await h.waitForModel(b.page), 'ready', JSON.stringify(await h.readStatus(b.page)));
      const st = await h.readStatus(b.page);
      assert.equal(st.isolated, true);
      assert.equal(st.mode, 'st');
      assert.match(st.status, /single-threaded.*multi-threaded build could not start/);
      await h.waitForTiles(b.page, 1);
      assertSameAsNode(await h.readTiles(b.page), ['bird_eagle.jpg']);
    });
  });

  test('interrupted download: a chunk cut mid-way is resumed; a failed load, or a tab reloaded mid-download, continues from the chunks it has', async () => {
    await withBrowser({ root: site, isolation: true, faults: { drop: [{ match: '/small-chunks/chunk-00002.bin', times: 1 }] } }, undefined, async (srv, b) => {
      await b.page.goto(srv.url + smallUrl);
      assert.equal(await h.waitForModel(b.page), 'ready', JSON.stringify(await h.readStatus(b.page)));
      const reqs = chunkRequests(srv);
      const c2 = reqs.filter((r) => r.url.endsWith('chunk-00002.bin'));
      assert.equal(c2.length, 2, 'the cut chunk is asked for once more');
      assert.equal(c2[0].fault, 'drop');
      assert.match(c2[1].headers.range ?? '', /^bytes=\d+-$/, 'resumed with a Range request');
      assert.equal(c2[1].status, 206);
      for (const c of small.chunks.filter((x) => x.file !== 'chunk-00002.bin')) {
        assert.equal(reqs.filter((r) => r.url.endsWith(c.file)).length, 1, `${c.file} downloaded once`);
      }
      await h.choosePhotos(b.page, [photo('dog_beagle.jpg')]);
      await h.waitForTiles(b.page, 1);
      assert.equal((await h.readTiles(b.page))[0].state, 'done');
    });

    // A chunk that never arrives: the load fails with a named error; "Try again" only fetches what is missing.
    const srv2 = await startServer({ root: site, isolation: true, faults: { drop: [{ match: '/small-chunks/chunk-00003.bin', afterBytes: 100, times: Infinity }] } });
    const b2 = await h.launch();
    try {
      await b2.page.goto(srv2.url + smallUrl);
      assert.equal(await h.waitForModel(b2.page), 'error');
      const st = await h.readStatus(b2.page);
      assert.equal(st.errorCode, 'E_NETWORK');
      assert.match(st.error, /chunk 3 \(chunk-00003\.bin\)/);
      const have = new Set(chunkRequests(srv2).filter((r) => r.status === 200 && !r.fault).map((r) => r.url));
      assert.ok([...have].some((u) => u.endsWith('chunk-00000.bin')));
      srv2.faults.forEach((f) => { f.times = 0; });
      const mark = srv2.requests.length;
      await b2.page.click('#retry');
      assert.equal(await h.waitForModel(b2.page), 'ready');
      const again = chunkRequests(srv2, mark).map((r) => r.url);
      assert.ok(again.some((u) => u.endsWith('chunk-00003.bin')));
      assert.deepEqual(again.filter((u) => have.has(u)), [], 'chunks that had arrived were not downloaded again');
    } catch (e) {
      throw await h.explain(b2, e, SHOTS);
    } finally {
      await b2.close();
      await srv2.close();
    }

    // The tab is reloaded in the middle of a slow download: the new page asks only for the chunks that were
    // not yet in the cache.
    // Chunks are downloaded several at a time: the first three arrive at once, the others crawl (10 s each).
    const perChunk = small.chunks[0].size;
    const srv3 = await startServer({ root: site, isolation: true, faults: { throttle: [{ match: /\/small-chunks\/chunk-0000[3-9]\.bin$/, bytesPerSecond: perChunk / 10 }] } });
    const b3 = await h.launch();
    try {
      await b3.page.goto(srv3.url + smallUrl);
      // The cache's keys end in the chunk's SHA-256: map them back to file names.
      const cachedFiles = async () => {
        const keys = await b3.page.evaluate(async () => (await (await caches.open('vitrine-chunks-v1')).keys()).map((r) => r.url));
        return small.chunks.filter((c) => keys.some((k) => k.endsWith(c.sha256))).map((c) => c.file);
      };
      for (const end = Date.now() + 60_000; (await cachedFiles()).length < 2 && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
      await b3.page.goto(srv3.url + 'web/coi-setup.js');    // the tab leaves mid-download (same origin, to look)
      await new Promise((r) => setTimeout(r, 300));
      const kept = await cachedFiles();
      assert.ok(kept.length >= 2 && kept.length < small.chunks.length, `${kept.length} chunks cached when the tab went away`);
      srv3.faults.forEach((f) => { f.times = 0; });
      const mark = srv3.requests.length;
      await b3.page.goto(srv3.url + smallUrl);
      assert.equal(await h.waitForModel(b3.page), 'ready');
      const fetched = chunkRequests(srv3, mark).map((r) => path.basename(r.url));
      assert.deepEqual(fetched.filter((f) => kept.includes(f)), [], 'chunks in the cache are not downloaded again');
      assert.deepEqual([...new Set([...kept, ...fetched])].sort(), small.chunks.map((c) => c.file).sort(), 'the missing ones are');
    } catch (e) {
      throw await h.explain(b3, e, SHOTS);
    } finally {
      await b3.close();
      await srv3.close();
    }
  });

  test('tampered chunk: fetched once more, then a named E_CHUNK_HASH error (never a wrong model); a one-off bad copy heals', async () => {
    await withBrowser({ root: site, isolation: true, faults: { tamper: [{ match: '/small-chunks/chunk-00001.bin' }] } }, undefined, async (srv, b) => {
      await b.page.goto(srv.url + smallUrl);
      await h.choosePhotos(b.page, [photo('dog_beagle.jpg')]);
      assert.equal(await h.waitForModel(b.page), 'error');
      const st = await h.readStatus(b.page);
      assert.equal(st.errorCode, 'E_CHUNK_HASH');
      assert.match(st.error, /chunk 1 \(chunk-00001\.bin\): SHA-256 mismatch/);
      assert.equal(chunkRequests(srv).filter((r) => r.url.endsWith('chunk-00001.bin')).length, 2, 'refetched exactly once');
      await h.waitForTiles(b.page, 1);
      assert.equal((await h.readTiles(b.page))[0].state, 'error', 'the waiting photo says the model did not load');
      await b.page.screenshot({ path: path.join(SHOTS, 'error.png') });
      // The broken chunk was never cached: once the server has the right bytes, "Try again" loads the model.
      srv.faults.forEach((f) => { f.times = 1; });   // one more bad copy, then good ones
      await b.page.click('#retry');
      assert.equal(await h.waitForModel(b.page), 'ready');
      await h.waitForTiles(b.page, 1);
      assert.equal((await h.readTiles(b.page))[0].state, 'done');
    });
  });

  test('storage quota exceeded: the model still works and the page says what to do', async () => {
    await withBrowser({ root: site, isolation: true }, undefined, async (srv, b) => {
      const cdp = await b.context.newCDPSession(b.page);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: srv.url.replace(/\/$/, ''), quotaSize: 4096 });
      await b.page.goto(srv.url + smallUrl);
      assert.equal(await h.waitForModel(b.page), 'ready');
      const st = await h.readStatus(b.page);
      assert.match(st.note ?? '', /quota/i, JSON.stringify(st));
      assert.match(st.note, /free disk space|clear/i);
    });
  });

  test('a picked folder with a damaged chunk: E_CHUNK_HASH naming it (hashed by WebCrypto, compared by the engine)', async () => {
    const bad = path.join(tmp, 'small-damaged');
    fs.cpSync(small.dir, bad, { recursive: true });
    const m = JSON.parse(fs.readFileSync(path.join(bad, 'manifest.json'), 'utf8'));
    const f = path.join(bad, m.chunks[2].file);
    const bytes = fs.readFileSync(f);
    bytes[bytes.length >> 1] ^= 1;
    fs.writeFileSync(f, bytes);
    await withBrowser({ root: site, isolation: true }, undefined, async (srv, b) => {
      await b.page.goto(srv.url + pageUrl);
      assert.equal(await h.waitForModel(b.page), 'ready');
      await b.page.evaluate(() => { document.getElementById('other').open = true; });
      await b.page.setInputFiles('#model-dir-input', bad);
      await b.page.waitForFunction(() => document.documentElement.dataset.model === 'error', null, { timeout: 60_000 });
      const st = await h.readStatus(b.page);
      assert.equal(st.errorCode, 'E_CHUNK_HASH');
      assert.match(st.error, new RegExp(`chunk 2 \\(${m.chunks[2].file.replace('.', '\\.')}\\): SHA-256 mismatch`));
    });
  });

  test('another model: a local folder (read from the File objects, nothing uploaded) and a URL', async () => {
    await withBrowser({ root: site, isolation: true }, undefined, async (srv, b) => {
      const log = await h.recordRequests(b.context);
      await b.page.goto(srv.url + pageUrl);
      assert.equal(await h.waitForModel(b.page), 'ready');
      const mark = srv.requests.length;
      await b.page.evaluate(() => { document.getElementById('other').open = true; });
      await b.page.setInputFiles('#model-dir-input', small.dir);
      await b.page.waitForFunction(() => document.documentElement.dataset.model === 'ready' && /small chunks/.test(document.getElementById('model-name').textContent), null, { timeout: 60_000 });
      assert.deepEqual(chunkRequests(srv, mark), [], 'the folder is read locally');
      assert.deepEqual(log.filter((r) => r.hasBody || r.method !== 'GET'), []);
      await h.choosePhotos(b.page, [photo('horse_jockey.jpg')]);
      await h.waitForTiles(b.page, 1);
      assertSameAsNode(await h.readTiles(b.page), ['horse_jockey.jpg']);   // same weights, other chunking

      // …and by URL: typed into the form, remembered in the page URL, the photos are labelled again.
      await b.page.fill('#model-url', `../weights/${path.basename(small.dir)}/`);
      await b.page.press('#model-url', 'Enter');
      await b.page.waitForFunction(() => document.documentElement.dataset.model === 'loading' || /small/.test(location.search));
      assert.equal(await h.waitForModel(b.page), 'ready');
      assert.match(b.page.url(), /[?&]model=.*small-chunks.*manifest\.json/);
      await h.waitForTiles(b.page, 1);
      assertSameAsNode(await h.readTiles(b.page), ['horse_jockey.jpg']);
    });
  });

  test('the bundled worker (dist/page/worker.js) and web/worker.js with its modules give the same results, equal to the Node API', async () => {
    const names = ['dog_beagle.jpg', 'person_cameraman_gray.png', 'elephants_truncated.jpg'];
    await withBrowser({ root: site, isolation: true }, undefined, async (srv, b) => {
      await b.page.goto(srv.url + 'web/favicon.svg');   // a document of the site (cross-origin isolated), without the page's own worker
      const got = await b.page.evaluate(async ({ model, photos }) => {
        const run = (script) => new Promise((resolve, reject) => {
          const w = new Worker(script, { type: 'module' });
          const out = {};
          w.onerror = (e) => reject(new Error(`${script}: ${e.message}`));
          w.onmessage = ({ data: m }) => {
            if (m.type === 'load-error') reject(new Error(`${script}: ${m.code} ${m.message}`));
            if (m.type !== 'result') return;
            out[photos[m.id].name] = m.error ? { error: m.error.code } : { top: m.top };
            if (Object.keys(out).length === photos.length) { w.terminate(); resolve(out); }
          };
          w.postMessage({ type: 'load', source: { kind: 'url', url: model } });
          photos.forEach((p, id) => w.postMessage({ type: 'classify', id, topK: 5,
            file: new Blob([Uint8Array.from(atob(p.base64), (c) => c.charCodeAt(0))]) }));
        });
        return { bundled: await run('/dist/page/worker.js'), source: await run('/web/worker.js') };
      }, { model: `${srv.url}weights/${path.basename(model.dir)}/manifest.json`,
        photos: names.map((n) => ({ name: n, base64: fs.readFileSync(photo(n)).toString('base64') })) });
      // One engine, one API: the same bytes give bit-identical scores either way.
      assert.deepEqual(got.bundled, got.source);
      for (const n of names) {
        const want = expected.get(n);
        if (want.error) { assert.deepEqual(got.bundled[n], { error: want.error }, n); continue; }
        assert.deepEqual(got.bundled[n].top.map((r) => r.index), want.top.map((r) => r.index), n);
        got.bundled[n].top.forEach((r, k) => assert.ok(Math.abs(r.score - want.top[k].score) <= TOL, `${n}: ${r.label} ${r.score} vs ${want.top[k].score} in Node`));
      }
      const fetched = srv.requests.map((r) => new URL(r.url, srv.url).pathname);
      assert.ok(fetched.includes('/src/js/index.js') && fetched.includes('/dist/page/worker.js'), 'both workers ran from their own files');
    });
  });
});
