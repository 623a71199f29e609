// load(): every kind of source (folder, manifest object, JSON text, picked files, URL), and URL loading over a
// real HTTP server on 127.0.0.1 (tools/serve.mjs with injected faults): Range resume, refetch on a bad hash,
// missing chunks, a page that is not a manifest, and the content-addressed chunk store (a Cache-like object).
// Each loaded model is checked against the same model loaded from its folder: identical outputs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { load, VitrineError, clearCache, CACHE_NAME } from '../../src/js/index.js';
import { startServer } from '../../tools/build/serve.mjs';
import { getRuntime } from '../../src/js/runtime.js';
import { convertedCase, caseInputs, requireBuild, maxAbsDiff, tmpDir, copyDir } from '../helpers/env.js';

const CASE = 'deit';
const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

/** A Cache-like object (match/put/delete over Response) kept in a Map, with hooks to damage or fill it. */
class MemoryCache {
  entries = new Map();
  puts = 0;
  failPut = null;   // () => Error to throw from put
  async match(key) {
    const b = this.entries.get(String(key));
    return b ? new Response(b.slice()) : undefined;
  }
  async put(key, res) {
    if (this.failPut) throw this.failPut();
    this.puts++;
    this.entries.set(String(key), new Uint8Array(await res.arrayBuffer()));
  }
  async delete(key) { return this.entries.delete(String(key)); }
  keyFor(sha) { return [...this.entries.keys()].find((k) => k.endsWith('/' + sha)); }
}

describe('load() sources and URL loading', () => {
  let dir, manifest, ref, pixels, srv, site;
  const outputOf = async (m) => {
    try { return (await m.forward(pixels)).lastHiddenState; } finally { await m.dispose(); }
  };
  const sameModel = async (m) => assert.equal(maxAbsDiff(await outputOf(m), ref), 0, 'same output as the folder load');
  const chunkHits = (from = 0) => srv.requests.slice(from).filter((r) => /chunk-\d+\.bin$/.test(r.url));
  const urlOf = (name) => `${srv.url}${name}/manifest.json`;

  before(async () => {
    requireBuild('mt');
    requireBuild('st');
    dir = await convertedCase(CASE, { chunkSize: 8192 });
    manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    assert.ok(manifest.chunks.length >= 6, `the test model has ${manifest.chunks.length} chunks`);
    [{ pixels }] = caseInputs(CASE);
    ref = await outputOf(await load(dir));
    // One site, several copies of the model: each test's faults match only its own folder.
    site = tmpDir('load-site');
    for (const name of ['m', 'drop', 'tamper1', 'tamper2', 'cache', 'quota', 'gone']) copyDir(dir, path.join(site, name));
    fs.rmSync(path.join(site, 'gone/chunk-00003.bin'));
    fs.writeFileSync(path.join(site, 'page.html'), '<!doctype html><html><body>Not here</body></html>\n');
    srv = await startServer({
      root: site, isolation: false,
      faults: {
        drop: [{ match: '/drop/chunk-00002.bin', times: 1 }],
        tamper: [{ match: '/tamper1/chunk-00001.bin', times: 1 }, { match: '/tamper2/chunk-00004.bin', times: Infinity }],
      },
    });
  });
  after(async () => { await srv?.close(); });

  test('manifest object and JSON text, with the chunks in a folder (options.base: path or file: URL)', async () => {
    await sameModel(await load(manifest, { base: dir }));
    await sameModel(await load(JSON.stringify(manifest), { base: pathToFileURL(dir + '/') }));
    await sameModel(await load(JSON.stringify(manifest), { base: dir, build: 'st' }));
    // Nowhere to find the chunks: a clear E_INPUT before anything is read.
    await assert.rejects(load(manifest), (e) => e.code === 'E_INPUT' && /options\.base/.test(e.message));
    await assert.rejects(load('{ not json'), (e) => e.code === 'E_MANIFEST' && /not valid JSON/.test(e.message));
    await assert.rejects(load(42), (e) => e.code === 'E_INPUT');
  });

  test('manifest object and JSON text with the chunks at a URL (options.base), and a fetchChunk hook', async () => {
    await sameModel(await load(manifest, { base: `${srv.url}m/` }));
    await sameModel(await load(JSON.stringify(manifest), { base: new URL(`${srv.url}m/`) }));
    // fetchChunk wins over base; it gets the chunk's URL relative to base.
    const asked = [];
    await sameModel(await load(manifest, {
      base: `${srv.url}m/`,
      fetchChunk: async (c) => { asked.push(c.url); return fs.readFileSync(path.join(dir, c.file)); },
    }));
    assert.deepEqual(asked, manifest.chunks.map((c) => `${srv.url}m/${c.file}`));
  });

  test('picked files (File objects, as a browser folder picker gives them)', async () => {
    const files = fs.readdirSync(dir).map((f) => new File([fs.readFileSync(path.join(dir, f))], f));
    await sameModel(await load(files));
    await assert.rejects(load(files[0]), (e) => e.code === 'E_INPUT' && /all the files/.test(e.message));
    await assert.rejects(load(files.filter((f) => f.name !== 'manifest.json')), (e) => e.code === 'E_MANIFEST' && /manifest\.json/.test(e.message));
    await assert.rejects(load(files.filter((f) => f.name !== 'chunk-00002.bin')),
      (e) => e.code === 'E_CHUNK_MISSING' && /chunk 2 \(chunk-00002\.bin\)/.test(e.message));
  });

  test('over HTTP: progress in bytes, all downloaded, nothing cached without a cache', async () => {
    const events = [];
    const mark = srv.requests.length;
    await sameModel(await load(urlOf('m'), { onProgress: (p) => events.push(p) }));
    const total = manifest.stream_size;
    assert.deepEqual(events[0], { loaded: 0, total, cachedBytes: 0, downloadedBytes: 0 });
    assert.deepEqual(events.at(-1), { loaded: total, total, cachedBytes: 0, downloadedBytes: total });
    for (let i = 1; i < events.length; i++) assert.ok(events[i].loaded >= events[i - 1].loaded, 'monotone');
    assert.equal(chunkHits(mark).length, manifest.chunks.length, 'each chunk once');
  });

  test('a connection dropped mid-chunk is resumed with a Range request; same model', async () => {
    const mark = srv.requests.length;
    await sameModel(await load(urlOf('drop')));
    const c2 = chunkHits(mark).filter((r) => r.url.endsWith('/drop/chunk-00002.bin'));
    assert.equal(c2.length, 2, 'the cut chunk is asked for once more');
    assert.equal(c2[0].fault, 'drop');
    assert.equal(c2[1].headers.range, `bytes=${c2[0].sentBytes}-`, 'resumed from the byte it reached');
    assert.equal(c2[1].status, 206);
    assert.equal(chunkHits(mark).length, manifest.chunks.length + 1, 'nothing else twice');
  });

  test('a chunk with a wrong byte is fetched once more and loads; wrong twice is E_CHUNK_HASH naming it', async () => {
    let mark = srv.requests.length;
    const events = [];
    await sameModel(await load(urlOf('tamper1'), { onProgress: (p) => events.push(p) }));
    const c1 = chunkHits(mark).filter((r) => r.url.endsWith('/tamper1/chunk-00001.bin'));
    assert.deepEqual(c1.map((r) => r.fault ?? null), ['tamper', null]);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].loaded >= events[i - 1].loaded, 'monotone across the refetch');
    assert.equal(events.at(-1).downloadedBytes, manifest.stream_size, 'the bad copy is not counted');

    mark = srv.requests.length;
    const cache = new MemoryCache();
    await assert.rejects(load(urlOf('tamper2'), { cache }), (e) => e instanceof VitrineError && e.code === 'E_CHUNK_HASH' &&
      /chunk 4 \(chunk-00004\.bin\): SHA-256 mismatch/.test(e.message) && e.index === 4);
    assert.equal(chunkHits(mark).filter((r) => r.url.endsWith('/tamper2/chunk-00004.bin')).length, 2, 'fetched exactly twice');
    assert.equal(cache.keyFor(manifest.chunks[4].sha256), undefined, 'a chunk is never stored before its hash matched');
    for (const [key, bytes] of cache.entries) assert.ok(key.endsWith('/' + sha256(bytes)), 'every stored chunk is what its key says');
  });

  test('a missing chunk is E_CHUNK_MISSING (HTTP 404); an HTML page for the manifest is E_MANIFEST', async () => {
    await assert.rejects(load(urlOf('gone')), (e) => e.code === 'E_CHUNK_MISSING' && /chunk 3 \(chunk-00003\.bin\): HTTP 404/.test(e.message) && e.status === 404);
    await assert.rejects(load(`${srv.url}page.html`), (e) => e.code === 'E_MANIFEST' && /HTML page/.test(e.message));
    await assert.rejects(load(`${srv.url}nope/manifest.json`), (e) => e.code === 'E_MANIFEST' && /HTTP 404/.test(e.message) && e.status === 404);
    const closed = await startServer({ root: site });
    const url = `${closed.url}m/manifest.json`;
    await closed.close();
    await assert.rejects(load(url), (e) => e.code === 'E_NETWORK');
  });

  test('chunk store: the second load is served from it (no chunk request); a damaged entry is dropped and refetched', async () => {
    const cache = new MemoryCache();
    let mark = srv.requests.length;
    await sameModel(await load(urlOf('cache'), { cache }));
    assert.equal(chunkHits(mark).length, manifest.chunks.length);
    assert.equal(cache.entries.size, new Set(manifest.chunks.map((c) => c.sha256)).size, 'one entry per distinct chunk');
    for (const c of manifest.chunks) assert.ok(cache.keyFor(c.sha256), `chunk ${c.file} stored under its SHA-256`);

    mark = srv.requests.length;
    const events = [];
    await sameModel(await load(urlOf('cache'), { cache, onProgress: (p) => events.push(p) }));
    assert.deepEqual(chunkHits(mark), [], 'no chunk request');
    assert.deepEqual(events.at(-1), { loaded: manifest.stream_size, total: manifest.stream_size, cachedBytes: manifest.stream_size, downloadedBytes: 0 });

    // The same chunks under another URL (a copy of the model): content-addressed, so still nothing downloaded.
    mark = srv.requests.length;
    await sameModel(await load(urlOf('m'), { cache }));
    assert.deepEqual(chunkHits(mark), []);

    // One entry damaged on disk: dropped, downloaded again, stored again; the others come from the store.
    const victim = manifest.chunks[2];
    const key = cache.keyFor(victim.sha256);
    cache.entries.get(key)[100] ^= 1;
    mark = srv.requests.length;
    await sameModel(await load(urlOf('cache'), { cache }));
    assert.deepEqual(chunkHits(mark).map((r) => path.basename(r.url)), [victim.file]);
    assert.equal(sha256(cache.entries.get(cache.keyFor(victim.sha256))), victim.sha256, 'the good copy replaced it');

    // cache: false: nothing read from or written to a store.
    mark = srv.requests.length;
    await sameModel(await load(urlOf('cache'), { cache: false }));
    assert.equal(chunkHits(mark).length, manifest.chunks.length);
  });

  test('the platform Cache API is used by default in a secure context, and clearCache() empties it', async () => {
    // What a browser worker has: globalThis.caches and isSecureContext (Node has neither).
    const opened = new Map();
    const storage = {
      open: async (name) => { if (!opened.has(name)) opened.set(name, new MemoryCache()); return opened.get(name); },
      delete: async (name) => opened.delete(name),
    };
    const saved = { caches: globalThis.caches, isSecureContext: globalThis.isSecureContext };
    Object.assign(globalThis, { caches: storage, isSecureContext: true });
    try {
      await sameModel(await load(urlOf('m')));
      assert.deepEqual([...opened.keys()], [CACHE_NAME]);
      assert.equal(opened.get(CACHE_NAME).entries.size, new Set(manifest.chunks.map((c) => c.sha256)).size);
      let mark = srv.requests.length;
      await sameModel(await load(urlOf('m')));
      assert.deepEqual(chunkHits(mark), [], 'second load from the Cache API');
      mark = srv.requests.length;
      await sameModel(await load(urlOf('m'), { cache: false }));
      assert.equal(chunkHits(mark).length, manifest.chunks.length, 'cache: false downloads');
      assert.equal(await clearCache(), true);
      assert.equal(opened.size, 0);
      // Not a secure context: no store, even with caches present.
      globalThis.isSecureContext = false;
      await sameModel(await load(urlOf('m')));
      assert.equal(opened.size, 0);
    } finally {
      for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete globalThis[k]; else globalThis[k] = v; }
    }
  });

  test('a full store: the model loads, one E_QUOTA note, no more writes', async () => {
    const cache = new MemoryCache();
    let attempts = 0;
    cache.failPut = () => { attempts++; return new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };
    const notes = [];
    await sameModel(await load(urlOf('quota'), { cache, onNote: (n) => notes.push(n) }));
    assert.equal(notes.length, 1);
    assert.equal(notes[0].code, 'E_QUOTA');
    assert.match(notes[0].message, /quota/);
    assert.equal(attempts, 1, 'the store is left alone after the first failure');
  });

  test('a connection that keeps dropping is E_NETWORK naming the chunk, after a few resumed attempts', async () => {
    const flaky = await startServer({ root: site, isolation: false, faults: { drop: [{ match: '/m/chunk-00001.bin', afterBytes: 100, times: Infinity }] } });
    try {
      await assert.rejects(load(`${flaky.url}m/manifest.json`), (e) => e.code === 'E_NETWORK' && /chunk 1 \(chunk-00001\.bin\)/.test(e.message));
      const tries = flaky.requests.filter((r) => r.url.endsWith('/m/chunk-00001.bin'));
      assert.ok(tries.length >= 2 && tries.slice(1).every((r) => /^bytes=\d+-$/.test(r.headers.range ?? '')), 'each retry resumes');
    } finally { await flaky.close(); }
  });
});

// A chunk that arrives as bytes in JavaScript is hashed there once (crypto.subtle / node:crypto); the engine
// compares that digest with its manifest instead of hashing again. The comparison is the engine's: a wrong
// digest is E_CHUNK_HASH naming the chunk, as a wrong chunk is when the engine hashes it itself.
describe('commitChunksHashed: digests taken outside the engine, compared by it', () => {
  for (const build of ['mt', 'st']) {
    test(`wrong digest → E_CHUNK_HASH naming the chunk, bad digests E_LOAD, wrong size E_CHUNK_SIZE; right ones commit and the load finishes (${build})`, async () => {
      requireBuild(build);
      const dir = await convertedCase(CASE, { chunkSize: 8192 });
      const text = fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8');
      const m = JSON.parse(text);
      const chunks = m.chunks.map((c) => fs.readFileSync(path.join(dir, c.file)));
      const { Module, lock } = await getRuntime(build, build === 'mt' ? 2 : 1);
      await lock.run(() => {
        const engine = new Module.Engine(1);
        try {
          const heap = () => new Uint8Array(Module.wasmMemory?.buffer ?? Module.HEAPU8.buffer);
          assert.equal(engine.beginLoad(text), null);
          for (let i = 0; i < chunks.length; i++) heap().set(chunks[i], engine.chunkTarget(i));
          const sizes = chunks.map((b) => b.length);
          const digests = chunks.map((b) => sha256(b));
          // The engine's own hash of chunk 1 would pass; the digest given for it is another chunk's.
          const wrong = engine.commitChunksHashed(0, sizes.slice(0, 3), [digests[0], digests[2], digests[2]].join(''));
          assert.equal(wrong.code, 'E_CHUNK_HASH');
          assert.match(wrong.message, /chunk 1 \(chunk-00001\.bin\): SHA-256 mismatch/);
          assert.equal(engine.commitChunksHashed(0, sizes.slice(0, 2), digests[0]).code, 'E_LOAD');   // one digest for two chunks
          assert.equal(engine.commitChunksHashed(0, sizes.slice(0, 1), digests[0].toUpperCase()).code, 'E_LOAD');
          assert.equal(engine.commitChunksHashed(0, [sizes[0] - 1], digests[0]).code, 'E_CHUNK_SIZE');
          assert.equal(engine.finishLoad().code, 'E_LOAD');   // chunk 1 was never committed
          assert.equal(engine.beginLoad(text), null);
          for (let i = 0; i < chunks.length; i++) heap().set(chunks[i], engine.chunkTarget(i));
          assert.equal(engine.commitChunksHashed(0, sizes, digests.join('')), null);
          assert.equal(engine.finishLoad(), null);
        } finally { engine.delete(); }
      });
    });
  }
});

describe('build choice', () => {
  test('model.info.build says which build runs and why', async () => {
    const dir = await convertedCase(CASE, { chunkSize: 8192 });
    const mt = await load(dir);
    assert.equal(mt.info.build, 'mt');
    assert.match(mt.info.buildReason, /threads/);
    await mt.dispose();
    const one = await load(dir, { threads: 1 });
    assert.equal(one.info.build, 'st');
    assert.match(one.info.buildReason, /threads: 1/);
    await one.dispose();
  });

  test('no WebAssembly SIMD: E_WASM saying what is needed', async () => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = () => false;
    try {
      await assert.rejects(load(await convertedCase(CASE, { chunkSize: 8192 })), (e) => e.code === 'E_WASM' && /SIMD/.test(e.message));
    } finally { WebAssembly.validate = validate; }
  });
});

describe('folder reads and a failing chunk', () => {
  // A load that fails on one chunk file frees its weight buffer; reads of the same batch still in flight would
  // then write into freed engine memory. The failure is reported only once every read of the batch has settled.
  test('a missing chunk fails the load only after the other reads of its batch have finished', async () => {
    const { feedEngine } = await import('../../src/js/load/feed.js');
    const { LoadTrace } = await import('../../src/js/load/trace.js');
    const chunks = [0, 1, 2, 3].map((index) => ({ index, file: `c${index}`, size: 4, sha256: '' }));
    const finished = new Set();
    const reader = {
      kind: 'fs',
      async readInto(c) {
        if (c.index === 1) throw new VitrineError('E_CHUNK_MISSING', `chunk 1 (c1): cannot read (ENOENT)`);
        await new Promise((r) => setTimeout(r, 30 * c.index));
        finished.add(c.index);
        return c.size;
      },
    };
    const engine = { chunkTarget: (i) => 8 * i, commitChunks: () => null };
    const lock = { run: (fn) => fn() };
    const progress = { complete() {} };
    await assert.rejects(
      feedEngine({ engine, Module: { HEAPU8: new Uint8Array(64) }, lock, chunks, reader, batch: 4,
        checkAbort() {}, progress, trace: new LoadTrace() }),
      (e) => e.code === 'E_CHUNK_MISSING' && /chunk 1/.test(e.message));
    assert.deepEqual([...finished].sort(), [0, 2, 3], 'every other read of the batch finished before the load failed');
  });
});
