// The JS API over each build: info, preprocess, forward, classify, embed, progress, abort, fetchChunk, the
// call queue, several models per module, URL loading, dispose.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { load } from '../../src/js/index.js';
import { BUILDS, PHOTOS, FIXTURES, ROOT, convertedCase, caseInfo, caseInputs, requireBuild, maxAbsDiff, npy, tmpDir, copyDir } from '../helpers/env.js';

const IMAGE = path.join(FIXTURES, 'vit/image.png');
const rowsEqual = (a, b) => assert.equal(maxAbsDiff(a, b), 0);

function serve(dir) {
  return new Promise((resolve) => {
    const hits = [];
    const server = http.createServer((req, res) => {
      const file = path.join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/model\//, ''));
      hits.push(path.basename(file));
      if (!file.startsWith(dir) || !fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(fs.readFileSync(file));
    });
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}/model/manifest.json`, hits, close: () => new Promise((r) => server.close(r)) }));
  });
}

for (const build of BUILDS) {
  describe(`JS API, ${build} build`, () => {
    let vitDir, model;
    before(async () => {
      requireBuild(build);
      vitDir = await convertedCase('vit');
      model = await load(vitDir, { build });
    });

    test('info describes the model and the build', () => {
      const a = caseInfo('vit').architecture;
      const i = model.info;
      assert.equal(i.family, 'vit');
      assert.equal(i.hiddenSize, a.hidden_size);
      assert.equal(i.numLayers, a.num_hidden_layers);
      assert.equal(i.numHeads, a.num_attention_heads);
      assert.equal(i.patchSize, a.patch_size);
      assert.equal(i.imageSize, a.image_size);
      assert.equal(i.numLabels, 5);
      assert.deepEqual([...i.labels], caseInfo('vit').labels);
      assert.equal(i.preprocess.processor, 'ViTImageProcessor');
      assert.equal(i.build, build);
      assert.equal(i.simd, true);
      assert.equal(i.threads, build === 'mt' ? 2 : 1);
      assert.equal(i.name, JSON.parse(fs.readFileSync(path.join(vitDir, 'manifest.json'))).name);
      assert.ok(i.metadata.converter);
    });

    test('preprocess(image.png) reproduces the fixture pixels (HF ViTImageProcessor)', async (t) => {
      const p = await model.preprocess(fs.readFileSync(IMAGE));
      assert.equal(p.height, 224);
      assert.equal(p.width, 224);
      const ref = npy(path.join(FIXTURES, 'vit/pixels.npy')).data;
      const d = maxAbsDiff(p.pixels, ref);
      t.diagnostic(`max abs diff vs pixels.npy: ${d}`);
      assert.ok(d <= 1e-5, `max abs diff ${d}`);
    });

    test('classify: top-K sorted, labelled, consistent with forward', async () => {
      const top = await model.classify(IMAGE, { topK: 3 });
      assert.equal(top.length, 3);
      for (let k = 1; k < top.length; k++) assert.ok(top[k - 1].score >= top[k].score);
      const all = await model.classify(IMAGE, { topK: 50 });
      assert.equal(all.length, 5);
      assert.ok(Math.abs(all.reduce((s, p) => s + p.score, 0) - 1) < 1e-5, 'softmax sums to 1');
      for (const p of all) assert.equal(p.label, model.info.labels[p.index]);
      const px = await model.preprocess(IMAGE);
      const f = await model.forward(px.pixels, { height: px.height, width: px.width });
      const best = f.logits.indexOf(Math.max(...f.logits));
      assert.equal(top[0].index, best);
      assert.ok(Math.abs(f.scores[best] - top[0].score) < 1e-6);
      // Blob and ArrayBuffer inputs give the same answer as a path.
      const bytes = fs.readFileSync(IMAGE);
      const viaBlob = await model.classify(new Blob([bytes]), { topK: 3 });
      const viaAb = await model.classify(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), { topK: 3 });
      assert.deepEqual(viaBlob, top);
      assert.deepEqual(viaAb, top);
    });

    test('embed: cls / mean / cls+mean agree with forward', async () => {
      const px = await model.preprocess(IMAGE);
      const f = await model.forward(px.pixels, { height: px.height, width: px.width });
      const D = f.hiddenSize;
      const cls = await model.embed(IMAGE);
      const mean = await model.embed(IMAGE, { pooling: 'mean' });
      const both = await model.embed(IMAGE, { pooling: 'cls+mean' });
      assert.equal(cls.length, D);
      assert.equal(mean.length, D);
      assert.equal(both.length, 2 * D);
      rowsEqual(cls, f.lastHiddenState.subarray(0, D));
      const m = new Float64Array(D);
      for (let tkn = 1; tkn < f.numTokens; tkn++) for (let j = 0; j < D; j++) m[j] += f.lastHiddenState[tkn * D + j] / (f.numTokens - 1);
      assert.ok(maxAbsDiff(mean, m) < 1e-5);
      rowsEqual(both.subarray(0, D), cls);
      rowsEqual(both.subarray(D), mean);
      // resolvePooling names what embed() runs: the default (cls, what embed(IMAGE) returned above), a given one,
      // and E_INPUT for one a ViT lacks, after which the model still embeds.
      assert.equal(model.resolvePooling(), 'cls');
      assert.equal(model.resolvePooling('cls+mean'), 'cls+mean');
      assert.throws(() => model.resolvePooling('pooler'), (e) => e.code === 'E_INPUT' && /pooling must be one of cls, mean, cls\+mean/.test(e.message));
      rowsEqual(await model.embed(IMAGE, { pooling: model.resolvePooling() }), cls);
    });

    test('forward on the golden pixels matches HF', async (t) => {
      const [inp] = caseInputs('vit');
      const f = await model.forward(inp.pixels, { height: 224, width: 224 });
      const d = maxAbsDiff(f.lastHiddenState, inp.lastHiddenState.data);
      t.diagnostic(`last_hidden_state max abs diff ${d}`);
      assert.ok(d <= caseInfo('vit').tolerance);
      assert.equal(f.numTokens, 197);
    });

    test('calls on one model are queued: concurrent calls = sequential calls', async () => {
      const [inp] = caseInputs('vit');
      const seq = [await model.classify(IMAGE), await model.embed(IMAGE, { pooling: 'mean' }), (await model.forward(inp.pixels)).lastHiddenState];
      const par = await Promise.all([model.classify(IMAGE), model.embed(IMAGE, { pooling: 'mean' }), model.forward(inp.pixels).then((r) => r.lastHiddenState)]);
      assert.deepEqual(par[0], seq[0]);
      rowsEqual(par[1], seq[1]);
      rowsEqual(par[2], seq[2]);
    });

    test('progress is one monotone sequence from 0 to the stream size; fetchChunk is used per chunk', async () => {
      const dir = await convertedCase('deit', { chunkSize: 8192 });
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json')));
      const events = [];
      const asked = [];
      const m = await load(dir, {
        build,
        onProgress: (p) => events.push(p),
        fetchChunk: async (c) => { asked.push(c); return new Uint8Array(fs.readFileSync(c.path)); },
      });
      assert.ok(events.length >= manifest.chunks.length);
      assert.deepEqual(events[0], { loaded: 0, total: manifest.stream_size, cachedBytes: 0, downloadedBytes: 0 });
      assert.equal(events.at(-1).loaded, manifest.stream_size);
      for (let i = 1; i < events.length; i++) assert.ok(events[i].loaded >= events[i - 1].loaded && events[i].total === manifest.stream_size);
      assert.deepEqual(asked.map((c) => c.index), manifest.chunks.map((_, i) => i));
      assert.deepEqual(asked.map((c) => [c.file, c.size, c.sha256]), manifest.chunks.map((c) => [c.file, c.size, c.sha256]));
      const [inp] = caseInputs('deit');
      const f = await m.forward(inp.pixels);
      assert.ok(maxAbsDiff(f.lastHiddenState, inp.lastHiddenState.data) <= caseInfo('deit').tolerance);
      await m.dispose();
      // A hook that fails: its own E_ code is kept, any other failure is E_CHUNK_MISSING naming the chunk.
      const failing = (code) => async (c) => {
        if (c.index === 2) throw Object.assign(new Error('cache said no'), code ? { code } : {});
        return new Uint8Array(fs.readFileSync(c.path));
      };
      await assert.rejects(load(dir, { build, fetchChunk: failing() }), (e) => e.code === 'E_CHUNK_MISSING' && /chunk 2 \(chunk-00002\.bin\): cache said no/.test(e.message));
      await assert.rejects(load(dir, { build, fetchChunk: failing('E_CHUNK_HASH') }), (e) => e.code === 'E_CHUNK_HASH');
      await assert.rejects(load(dir, { build, fetchChunk: async (c) => new Uint8Array(c.size) }), (e) => e.code === 'E_CHUNK_HASH' && /chunk 0 /.test(e.message));
    });

    test('abort: before the start and in the middle of a load', async () => {
      const dir = await convertedCase('deit', { chunkSize: 8192 });
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(load(dir, { build, signal: ac.signal }), (e) => e.code === 'E_ABORTED' && e.name === 'AbortError');
      const ac2 = new AbortController();
      let seen = 0;
      await assert.rejects(load(dir, { build, signal: ac2.signal, onProgress: () => { if (++seen === 3) ac2.abort(new Error('user left')); } }),
        (e) => e.code === 'E_ABORTED' && /user left/.test(e.message));
      assert.ok(seen >= 3);
      // The module is still fine: a fresh load works.
      const m = await load(dir, { build });
      await m.dispose();
    });

    test('two models in one module, interleaved calls', async () => {
      const deit = await load(await convertedCase('deit'), { build });
      const [vi] = caseInputs('vit');
      const [di] = caseInputs('deit');
      const [a, b, c, d] = await Promise.all([model.forward(vi.pixels), deit.forward(di.pixels), model.forward(vi.pixels), deit.forward(di.pixels)]);
      for (const [r, inp, name] of [[a, vi, 'vit'], [b, di, 'deit'], [c, vi, 'vit'], [d, di, 'deit']]) {
        assert.ok(maxAbsDiff(r.lastHiddenState, inp.lastHiddenState.data) <= caseInfo(name).tolerance, name);
      }
      await deit.dispose();
      assert.ok((await model.classify(IMAGE)).length > 0, 'the other model is unaffected');
    });

    test('loading from a URL (fetch) gives the same model', async () => {
      const srv = await serve(vitDir);
      try {
        const events = [];
        const m = await load(srv.url, { build, onProgress: (p) => events.push(p.loaded) });
        const [inp] = caseInputs('vit');
        rowsEqual((await m.forward(inp.pixels)).lastHiddenState, (await model.forward(inp.pixels)).lastHiddenState);
        assert.ok(srv.hits.includes('manifest.json') && srv.hits.includes('chunk-00000.bin'));
        assert.equal(events.at(-1), m.info.streamSize);
        await m.dispose();
        await assert.rejects(load(srv.url.replace('manifest.json', 'nope.json'), { build }), (e) => e.code === 'E_MANIFEST' && /HTTP 404/.test(e.message));
      } finally { await srv.close(); }
      // Over HTTP too: a missing chunk is named, and an abort mid-way stops the download.
      const small = await convertedCase('deit', { chunkSize: 8192 });
      const broken = copyDir(small, tmpDir('http-broken'));
      fs.rmSync(path.join(broken, 'chunk-00004.bin'));
      const srv2 = await serve(broken);
      try {
        await assert.rejects(load(srv2.url, { build }), (e) => e.code === 'E_CHUNK_MISSING' && /chunk 4 \(chunk-00004\.bin\): HTTP 404/.test(e.message));
        const ac = new AbortController();
        await assert.rejects(load(srv2.url, { build, signal: ac.signal, onProgress: (p) => { if (p.loaded > 0) ac.abort(); } }), (e) => e.code === 'E_ABORTED');
      } finally { await srv2.close(); }
    });

    test('DINOv2 with registers: mean pooling skips CLS and the register tokens', async () => {
      const m = await load(await convertedCase('dinov2-registers'), { build });
      try {
        const [inp] = caseInputs('dinov2-registers');
        const f = await m.forward(inp.pixels, { height: inp.height, width: inp.width, pooling: 'mean' });
        const D = f.hiddenSize, R = m.info.numRegisterTokens;
        assert.ok(R > 0);
        const want = new Float64Array(D);
        const n = f.numTokens - 1 - R;
        for (let tkn = 1 + R; tkn < f.numTokens; tkn++) for (let j = 0; j < D; j++) want[j] += f.lastHiddenState[tkn * D + j] / n;
        assert.ok(maxAbsDiff(f.embedding, want) < 1e-5);
      } finally { await m.dispose(); }
    });

    test('real photos: every decodable photo classifies; EXIF orientation is applied unless exif:false', async () => {
      const dino = await load(await convertedCase('dinov2-interp'), { build });
      try {
        for (const f of fs.readdirSync(PHOTOS).filter((x) => /\.(jpe?g|png)$/.test(x))) {
          if (f === 'elephants_truncated.jpg') continue; // bad-inputs.test.js
          const r = await dino.classify(path.join(PHOTOS, f), { topK: 2 });
          assert.equal(r.length, 2, f);
          assert.ok(r.every((p) => Number.isFinite(p.score)), f);
        }
        // The EXIF-rotated copy, once rotated, is close to the original; unrotated it is not.
        const orig = (await dino.preprocess(path.join(PHOTOS, 'elephants.jpg'))).pixels;
        const rot = (await dino.preprocess(path.join(PHOTOS, 'elephants_exif_orientation6.jpg'))).pixels;
        const raw = (await dino.preprocess(path.join(PHOTOS, 'elephants_exif_orientation6.jpg'), { exif: false })).pixels;
        const mad = (a, b) => a.reduce((s, x, i) => s + Math.abs(x - b[i]), 0) / a.length;
        assert.ok(mad(orig, rot) < 0.1, `rotated vs original: ${mad(orig, rot)}`);
        assert.ok(mad(orig, raw) > 3 * mad(orig, rot), 'without EXIF the image is not rotated');
      } finally { await dino.dispose(); }
    });

    if (build === 'mt') test('threads: the mt build honours threads 1 and 3; results agree', async () => {
      const [inp] = caseInputs('vit');
      const ref = (await model.forward(inp.pixels)).lastHiddenState;
      for (const threads of [1, 3]) {
        const m = await load(vitDir, { build, threads });
        assert.equal(m.info.threads, threads);
        assert.ok(maxAbsDiff((await m.forward(inp.pixels)).lastHiddenState, ref) < 1e-5);
        await m.dispose();
      }
    });

    test('loading streams into the engine: peak memory ≈ the weights once, not twice', async (t) => {
      const { makeHfModel } = await import('../helpers/synth.js');
      const { convert } = await import('../../src/js/convert/index.js');
      const { spawnSync } = await import('node:child_process');
      const hf = makeHfModel(tmpDir('big'), 'vit', { head: 'cls', num_labels: 10, overrides: { hidden_size: 512, num_hidden_layers: 8, num_attention_heads: 8, intermediate_size: 2048, image_size: 224, patch_size: 16 } }).dir;
      const dir = tmpDir('big-model');
      const m = await convert(hf, dir);
      const code = `
        const { load } = await import(${JSON.stringify(path.join(ROOT, 'src/js/index.js'))});
        const before = process.memoryUsage().rss;
        const m = await load(${JSON.stringify(dir)}, { build: '${build}' });
        console.log(JSON.stringify({ before, peak: process.resourceUsage().maxRSS * 1024 }));
        await m.dispose();`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const { before, peak } = JSON.parse(r.stdout);
      const extra = peak - before;
      t.diagnostic(`weights ${(m.stream_size / 1e6).toFixed(0)} MB: peak RSS ${(peak / 1e6).toFixed(0)} MB, +${(extra / 1e6).toFixed(0)} MB over the start`);
      // The engine's copy of the weights plus the module and its workers; a second JS-side copy would add
      // another stream_size on top.
      assert.ok(extra < m.stream_size + 80 * 1048576, `+${extra} bytes to load ${m.stream_size} bytes of weights`);
    });

    test('dispose: later calls fail with E_DISPOSED; dispose twice is fine', async () => {
      const m = await load(vitDir, { build });
      const pending = m.classify(IMAGE);
      await m.dispose();
      assert.ok((await pending).length > 0, 'a call queued before dispose completes');
      await m.dispose();
      assert.equal(m.disposed, true);
      await assert.rejects(m.classify(IMAGE), (e) => e.code === 'E_DISPOSED');
    });
  });
}

test('load() with no source means the bundled weights/cifar10-vit, resolved from the package', async (t) => {
  requireBuild('mt');
  const manifest = path.join(ROOT, 'weights/cifar10-vit/manifest.json');
  if (!fs.existsSync(manifest)) {
    // Not bundled in this checkout: the error must name exactly the default location.
    t.diagnostic(`${manifest} is not there: checking the resolution only`);
    await assert.rejects(load(), (e) => e.code === 'E_MANIFEST' && e.message.includes(path.join(ROOT, 'weights/cifar10-vit')));
    await assert.rejects(load('default'), (e) => e.code === 'E_MANIFEST' && e.message.includes(path.join(ROOT, 'weights/cifar10-vit')));
    return;
  }
  const m = await load();
  try {
    assert.equal(m.info.numLabels, 10);
    const top = await m.classify(path.join(PHOTOS, 'airplane_airliner.jpg'), { topK: 3 });
    assert.equal(top.length, 3);
    assert.ok(m.info.labels.includes('airplane'));
  } finally { await m.dispose(); }
});

// The same API in a browser: Chromium imports src/js/index.js as an ES module, which picks the web build
// (mt when the page is cross-origin isolated, else st) and fetches the chunks itself (no fetchChunk hook).
describe('JS API in Chromium', () => {
  let h, startServer, site, vitDir;
  before(async () => {
    requireBuild('mt');
    h = await import('../browser/harness.js');
    ({ startServer } = await import('../../tools/build/serve.mjs'));
    assert.ok(fs.existsSync(h.CHROMIUM), `no Chromium at ${h.CHROMIUM} (tools/build/setup.sh installs it)`);
    assert.ok(await h.loadPlaywright(), 'playwright-core is not installed (npm ci)');
    for (const f of ['vitrine-mt.mjs', 'vitrine-st.mjs']) assert.ok(fs.existsSync(path.join(ROOT, 'dist/wasm/web', f)), `dist/wasm/web/${f} missing: npm run build`);
    vitDir = await convertedCase('vit');
    site = tmpDir('site');
    fs.symlinkSync(path.join(ROOT, 'src'), path.join(site, 'src'));
    fs.symlinkSync(path.join(ROOT, 'dist'), path.join(site, 'dist'));
    fs.symlinkSync(vitDir, path.join(site, 'model'));
    fs.copyFileSync(IMAGE, path.join(site, 'image.png'));
    const px = caseInputs('vit')[0].pixels;
    fs.writeFileSync(path.join(site, 'pixels.f32'), Buffer.from(px.buffer, px.byteOffset, px.byteLength));
    fs.writeFileSync(path.join(site, 'index.html'), `<!doctype html><meta charset="utf-8"><title>api</title>
<script type="module">
import { load } from '/src/js/index.js';
const out = {};
try {
  const events = [];
  const m = await load('/model/manifest.json', { onProgress: (p) => events.push(p) });
  out.info = { build: m.info.build, threads: m.info.threads, family: m.info.family, labels: [...m.info.labels] };
  out.progress = events;
  const bytes = new Uint8Array(await (await fetch('/image.png')).arrayBuffer());
  out.top = await m.classify(bytes, { topK: 5 });
  out.topBlob = await m.classify(new Blob([bytes]), { topK: 5 });
  const px = new Float32Array(await (await fetch('/pixels.f32')).arrayBuffer());
  const f = await m.forward(px, { height: 224, width: 224 });
  out.lhs = Array.from(f.lastHiddenState);
  out.logits = Array.from(f.logits);
  try { await m.classify(new Uint8Array([1, 2, 3, 4])); out.bad = 'accepted'; } catch (e) { out.bad = e.code; }
  out.after = (await m.classify(bytes, { topK: 1 }))[0].index;
  try { await load('/model/missing.json'); } catch (e) { out.missing = e.code; }
  await m.dispose();
} catch (e) { out.error = String(e?.stack ?? e); out.code = e?.code; }
window.result = out;
</script>`);
  });

  for (const isolation of [true, false]) {
    test(isolation ? 'cross-origin isolated page → mt build' : 'plain page → st build, one thread', async (t) => {
      const srv = await startServer({ root: site, isolation });
      const b = await h.launch();
      try {
        await b.page.goto(srv.url + '/index.html');
        await b.page.waitForFunction(() => window.result, null, { timeout: 120_000 });
        const r = await b.page.evaluate(() => window.result);
        assert.equal(r.error, undefined, `${r.error} [${r.code}]`);
        assert.equal(r.info.build, isolation ? 'mt' : 'st');
        if (!isolation) assert.equal(r.info.threads, 1);
        assert.deepEqual(r.info.labels, caseInfo('vit').labels);
        const total = JSON.parse(fs.readFileSync(path.join(vitDir, 'manifest.json'))).stream_size;
        assert.deepEqual(r.progress[0], { loaded: 0, total, cachedBytes: 0, downloadedBytes: 0 });
        assert.equal(r.progress.at(-1).loaded, total);
        // 127.0.0.1 is a secure context: the page's own Cache API keeps the chunks; a fresh profile has none.
        assert.equal(r.progress.at(-1).downloadedBytes, total);
        // The same answers as Node.
        const node = await load(vitDir, { build: 'st' });
        const want = await node.classify(IMAGE, { topK: 5 });
        await node.dispose();
        assert.deepEqual(r.top.map((p) => p.index), want.map((p) => p.index));
        assert.ok(maxAbsDiff(r.top.map((p) => p.score), want.map((p) => p.score)) < 1e-5);
        assert.deepEqual(r.topBlob, r.top);
        const [inp] = caseInputs('vit');
        const d = maxAbsDiff(Float32Array.from(r.lhs), inp.lastHiddenState.data);
        t.diagnostic(`browser ${r.info.build}: last_hidden_state max abs diff ${d}`);
        assert.ok(d <= caseInfo('vit').tolerance);
        assert.ok(maxAbsDiff(Float32Array.from(r.logits), inp.logits.data) <= caseInfo('vit').tolerance);
        assert.equal(r.bad, 'E_IMAGE');
        assert.equal(r.after, want[0].index, 'the model works after a bad image');
        assert.equal(r.missing, 'E_MANIFEST');
        assert.ok(srv.requests.some((q) => q.url.endsWith('/model/chunk-00000.bin')), 'chunks fetched by load() itself');
      } finally {
        await b.close();
        await srv.close();
      }
    });
  }
});
