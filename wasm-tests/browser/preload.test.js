// `vitrine/preload` in Chromium (a plain page importing the package's modules): preload() starts the module that
// load() then uses (the engine's .wasm and thread scripts are fetched once), mt when the page is cross-origin
// isolated and st when not; a bad wasmBaseUrl is E_INPUT, an unreachable one E_WASM, and load() without preload
// still works afterwards (still mt: a failure of both builds is not taken for a threads problem). Every model gives
// the Node API's labels and scores (±1e-5). The page's own worker preloads too (browser.test.js checks that it
// imports only the package's entry points).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as h from './harness.js';
import { testModel } from './model.js';

const missing = await h.skipReason();
const TOL = 1e-5;
const PHOTO = 'dog_beagle.jpg';
const SHOTS = path.join(os.tmpdir(), 'vitrine-browser-test-screenshots');

describe('vitrine/preload in Chromium', { concurrency: 1 }, () => {
  let tmp, site, manifestUrl, expected;

  before(async () => {
    assert.equal(missing, null, `the browser tests cannot run: ${missing}`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrine-preload-'));
    const model = testModel(tmp);
    // The package's files as a static folder serves them, plus the model and one photo.
    site = path.join(tmp, 'site');
    fs.mkdirSync(path.join(site, 'dist'), { recursive: true });
    fs.symlinkSync(path.join(h.ROOT, 'src'), path.join(site, 'src'), 'dir');
    fs.symlinkSync(path.join(h.ROOT, 'dist/wasm'), path.join(site, 'dist/wasm'), 'dir');
    fs.symlinkSync(model.dir, path.join(site, 'model'), 'dir');
    fs.copyFileSync(path.join(h.PHOTOS, PHOTO), path.join(site, PHOTO));
    fs.writeFileSync(path.join(site, 'index.html'), '<!doctype html><meta charset="utf-8"><title>preload</title>\n');
    manifestUrl = '/model/manifest.json';
    const { load } = await import('../../src/js/index.js');
    const m = await load(model.dir);
    expected = await m.classify(fs.readFileSync(path.join(h.PHOTOS, PHOTO)), { topK: 5 });
    await m.dispose();
  });
  after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

  const sameAsNode = (top) => {
    assert.deepEqual(top.map((p) => p.label), expected.map((p) => p.label));
    top.forEach((p, i) => assert.ok(Math.abs(p.score - expected[i].score) <= TOL, `${p.label}: ${p.score} vs ${expected[i].score}`));
  };

  // In the page: optionally preload(), then load() and classify the photo; errors come back as { code, name, message }.
  const run = (page, args) => page.evaluate(async ({ manifestUrl, photo, preloads }) => {
    const failure = (e) => ({ code: e?.code ?? null, name: e?.name ?? null, message: String(e?.message ?? e) });
    const { preload } = await import('/src/js/preload.js');
    const preloaded = [];
    for (const opts of preloads) {
      try { preloaded.push({ info: await preload(opts) }); } catch (e) { preloaded.push({ error: failure(e) }); }
    }
    const { load } = await import('/src/js/index.js');
    const m = await load(manifestUrl);
    const bytes = new Uint8Array(await (await fetch('/' + photo)).arrayBuffer());
    const top = await m.classify(bytes, { topK: 5 });
    return { preloaded, build: m.info.build, threads: m.info.threads, reason: m.info.buildReason, top: top.map(({ label, score }) => ({ label, score })) };
  }, { manifestUrl, photo: PHOTO, ...args });

  for (const isolation of [true, false]) {
    test(`${isolation ? 'cross-origin isolated' : 'not isolated'}: load() uses the module preload() started (its files fetched once)`, async () => {
      await h.withBrowser({ root: site, port: 0, isolation, quiet: true }, {}, SHOTS, async (srv, b) => {
        await b.page.goto(srv.url);
        const r = await run(b.page, { preloads: [{}] });
        const [{ info }] = r.preloaded;
        assert.ok(info, JSON.stringify(r.preloaded));
        assert.equal(info.build, isolation ? 'mt' : 'st');
        assert.deepEqual([r.build, r.threads, r.reason], [info.build, info.threads, info.reason]);
        if (!isolation) assert.match(info.reason, /not cross-origin isolated/);
        sameAsNode(r.top);
        const fetched = (re) => srv.requests.filter((q) => re.test(new URL(q.url, srv.url).pathname)).length;
        assert.equal(fetched(/\/vitrine-(mt|st)\.wasm$/), 1, 'the .wasm was fetched once');
        assert.equal(fetched(/\/vitrine-st\.wasm$/), isolation ? 0 : 1);
        // One thread script per pthread of the one module (the calling thread works too).
        assert.equal(fetched(/\/vitrine-mt\.worker\.js$/), isolation ? info.threads - 1 : 0);
      });
    });
  }

  test('a bad wasmBaseUrl is E_INPUT, an unreachable one E_WASM; load() without preload then works, mt', async () => {
    await h.withBrowser({ root: site, port: 0, isolation: true, quiet: true }, {}, SHOTS, async (srv, b) => {
      await b.page.goto(srv.url);
      const r = await run(b.page, { preloads: [{ wasmBaseUrl: 'http://[' }, { wasmBaseUrl: '/nowhere/' }, { build: 'gpu' }] });
      const [bad, unreachable, build] = r.preloaded.map((p) => p.error);
      assert.deepEqual([bad?.code, bad?.name], ['E_INPUT', 'VitrineError'], JSON.stringify(r.preloaded));
      assert.match(bad.message, /wasmBaseUrl must be a URL/);
      assert.deepEqual([unreachable?.code, unreachable?.name], ['E_WASM', 'VitrineError'], JSON.stringify(r.preloaded));
      assert.match(unreachable.message, /could not start the st WebAssembly module/);
      assert.equal(build?.code, 'E_INPUT');
      assert.equal(r.build, 'mt');
      sameAsNode(r.top);
    });
  });
});
