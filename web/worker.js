// The page's engine worker: loads one model through the vitrine JS API and classifies photos one at a
// time, so the page never blocks. A tiny message protocol (all messages are plain objects):
//
//   page → worker  { type: 'load', source: { kind: 'url', url } | { kind: 'files', files: File[] } }
//                  { type: 'classify', id, file: Blob, topK }
//                  { type: 'clear' }                                     (forget queued photos)
//   worker → page  { type: 'progress', loaded, total, cachedBytes, downloadedBytes, done, count }
//                  { type: 'note', code, message }                      (non-fatal: storage full, …)
//                  { type: 'ready', info, mode, loadMs, phases, cachedBytes, downloadedBytes }
//                  { type: 'load-error', code, message }
//                  { type: 'result', id, top, ms } | { type: 'result', id, error: { code, message } }
//
// Photos are read from the File objects the page passes over (structured clone, no copy through the network)
// and decoded inside the WASM engine. One model per worker: the page starts a fresh worker to switch models.
import { createChunkSource, openChunkCache, ChunkError } from './chunks.js';

let model = null;
let source = null;           // what was loaded, to load it again after an engine trap
let loadFailed = false;      // then photos get an answer at once instead of waiting forever
const queue = [];            // classify requests waiting for the model / for the previous one
let busy = false;

const post = (m) => self.postMessage(m);
// An error thrown by our fetchChunk comes back from load() wrapped (`cause`); the chunk source's own error
// is the precise one (E_CHUNK_HASH, E_NETWORK, …, with the chunk named), so report that.
const errInfo = (e) => {
  if (e?.cause instanceof ChunkError) e = e.cause;
  return { code: e?.code ?? (e?.name === 'AbortError' ? 'E_ABORTED' : 'E_INTERNAL'), message: String(e?.message ?? e) };
};

self.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === 'load') {
    source = m.source;
    loadModel(m.source).then((mdl) => { model = mdl; pump(); return mdl; }, (e) => {
      loadFailed = true;
      post({ type: 'load-error', ...errInfo(e) });
      // Requests waiting for this model cannot run; tell the page so each photo can say why.
      for (const r of queue.splice(0)) {
        post({ type: 'result', id: r.id, error: { code: 'E_NO_MODEL', message: 'The model did not load (see above).' } });
      }
      return null;
    });
  } else if (m.type === 'classify') {
    if (loadFailed) {
      post({ type: 'result', id: m.id, error: { code: 'E_NO_MODEL', message: 'The model did not load (see above).' } });
      return;
    }
    queue.push(m);
    pump();
  } else if (m.type === 'clear') {
    queue.length = 0;         // the page removed its photos: drop what has not started
  }
};

async function pump() {
  if (busy || !model) return;
  busy = true;
  try {
    while (queue.length) {
      const r = queue.shift();
      try {
        const bytes = new Uint8Array(await r.file.arrayBuffer());
        const t0 = performance.now();
        const top = await model.classify(bytes, { topK: r.topK ?? 5 });
        const ms = performance.now() - t0;
        post({ type: 'result', id: r.id, ms, top: top.map(({ index, label, score }) => ({ index, label, score })) });
      } catch (e) {
        post({ type: 'result', id: r.id, error: errInfo(e) });
        // A trap leaves the WASM instance unusable (the API drops it): load the model again (from the cache
        // or the picked files, so it is quick) and go on with the other photos.
        if (e?.code === 'E_WASM') {
          try {
            model = await loadModel(source);
            post({ type: 'note', code: 'E_RESTARTED', message: 'The engine failed on one photo (see its tile) and was started again; the other photos go on.' });
          } catch (e2) {
            model = null;
            loadFailed = true;
            post({ type: 'load-error', ...errInfo(e2) });
            for (const q of queue.splice(0)) post({ type: 'result', id: q.id, error: { code: 'E_NO_MODEL', message: 'The model did not load (see above).' } });
          }
        }
      }
    }
  } finally {
    busy = false;
  }
}

async function loadModel(source) {
  const t0 = performance.now();
  const phases = {};                                   // ms since the worker started, for the status tooltip
  const phase = (name) => { phases[name] = Math.round(performance.now()); };

  // Three things start at once: the API's modules, the WASM engine with its threads, and the model's
  // manifest + first chunks (from the cache or the network). load() then finds all of them under way.
  const apiP = import('../src/js/index.js').then((m) => { phase('api'); return m; }, (e) => {
    throw Object.assign(new Error(`The vitrine engine's JavaScript could not be loaded (${e?.message ?? e}). ` +
      'Was `npm run build` run?'), { code: 'E_ENGINE_MISSING' });
  });
  apiP.catch(() => {});

  // Both builds use WebAssembly SIMD (every current browser has it; Safari since 16.4).
  if (!hasSimd()) {
    throw Object.assign(new Error('This browser does not support WebAssembly SIMD, which the vitrine engine needs. ' +
      'Use a current Chrome, Edge, Firefox or Safari (16.4 or later).'), { code: 'E_NO_SIMD' });
  }

  // Threads need SharedArrayBuffer, i.e. a cross-origin isolated page.
  const isolated = self.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  const cores = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
  let mode = isolated
    ? { build: 'mt', threads: cores, isolated: true, reason: null }
    : { build: 'st', threads: 1, isolated: false, reason: 'this page is not cross-origin isolated (no COOP/COEP headers), so WebAssembly threads are unavailable' };

  // A thread worker of the MT build that cannot start (e.g. blocked by the browser) surfaces as an uncaught
  // error event in this worker, not as a rejection: turn it into one so the ST fallback below runs.
  let onThreadError;
  const threadFailure = new Promise((_, reject) => {
    onThreadError = (ev) => {
      ev.preventDefault();
      reject(Object.assign(new Error('a thread worker could not be created'), { code: 'E_WASM' }));
    };
  });
  threadFailure.catch(() => {});
  let threadsP = null;
  if (mode.build === 'mt') {
    self.addEventListener('error', onThreadError);
    threadsP = startThreads(mode.threads, threadFailure).then(() => phase('engine'));
    threadsP.catch(() => {});
  }

  // Where the model comes from: a URL (bundled default, or one the person typed) or a local folder.
  let manifestUrl, loadUrl, manifest, fetchChunk, revoke = null, cachedBytes = 0, downloadedBytes = 0;
  let mdl;
  try {
    if (source.kind === 'files') {
      const byName = new Map();
      for (const f of source.files) byName.set(f.name, f);
      const mf = byName.get('manifest.json');
      if (!mf) throw Object.assign(new Error('That folder has no manifest.json: pick the folder of a model converted with `vitrine convert`.'), { code: 'E_NO_MANIFEST' });
      manifest = parseManifest(await mf.text(), 'manifest.json');
      manifestUrl = loadUrl = revoke = URL.createObjectURL(mf);
      const total = manifest.chunks.reduce((s, c) => s + c.size, 0);
      let loaded = 0;
      fetchChunk = async ({ index, file }) => {
        const f = byName.get(file ?? manifest.chunks[index].file);
        if (!f) throw Object.assign(new Error(`chunk ${index} (${file}) is not in the picked folder`), { code: 'E_CHUNK_MISSING' });
        const bytes = new Uint8Array(await f.arrayBuffer());
        loaded += bytes.length;
        post({ type: 'progress', loaded, total, cachedBytes: loaded, downloadedBytes: 0, done: index + 1, count: manifest.chunks.length, local: true });
        return bytes;
      };
    } else {
      manifestUrl = new URL(source.url, self.location.href).href;
      let res;
      try {
        res = await fetch(manifestUrl, { cache: 'no-cache', credentials: 'omit' });
      } catch (e) {
        throw Object.assign(new Error(`Could not fetch the model manifest ${manifestUrl} (${e?.message ?? e}).`), { code: 'E_NETWORK' });
      }
      if (!res.ok) {
        throw Object.assign(new Error(`Could not fetch the model manifest ${manifestUrl}: the server answered ${res.status}` +
          (res.status === 404 ? ' (no model there: is the URL right, or was the default model not built yet?)' : '')), { code: 'E_MANIFEST_HTTP' });
      }
      const text = await res.text();
      manifest = parseManifest(text, manifestUrl);
      phase('manifest');
      // load() reads this very text (a blob: URL, no second request), so the engine checks the chunks
      // against the same SHA-256 list as the cache does, even if the server's copy changes meanwhile.
      loadUrl = revoke = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
      const cache = await openChunkCache();
      const src = createChunkSource({
        chunks: manifest.chunks,
        baseUrl: manifestUrl,
        cache,
        onProgress: (p) => { cachedBytes = p.cachedBytes; downloadedBytes = p.downloadedBytes; post({ type: 'progress', ...p }); },
        onNote: (n) => post({ type: 'note', ...n }),
        prefetch: 0,              // load() itself keeps a few chunks in flight
      });
      fetchChunk = src.fetchChunk;
      post({ type: 'progress', loaded: 0, total: src.total, cachedBytes: 0, downloadedBytes: 0, done: 0, count: manifest.chunks.length, cacheAvailable: !!cache });
      src.warm(3);                // while the engine starts
    }

    const api = await apiP;
    if (threadsP) {
      try {
        await threadsP;
      } catch (e) {
        // The threaded build failed to start (a browser refusing nested workers, a blocked worker script):
        // use the single-threaded one and say so.
        mode = { build: 'st', threads: 1, isolated: true, reason: `the multi-threaded build could not start (${e?.message ?? e}), so this runs on one thread` };
      }
    }
    mdl = await Promise.race([api.load(loadUrl, { build: mode.build, threads: mode.threads, fetchChunk }),
      ...(mode.build === 'mt' ? [threadFailure] : [])]);
  } finally {
    self.removeEventListener('error', onThreadError);
    if (revoke) URL.revokeObjectURL(revoke);
  }
  const info = { ...mdl.info };
  mode = { ...mode, build: info.build ?? mode.build, threads: info.threads ?? mode.threads, simd: hasSimd() };
  post({
    type: 'ready',
    info: { name: info.name ?? manifest.name, family: info.family, labels: info.labels, imageSize: info.imageSize,
      evaluation: info.metadata?.evaluation ?? null },
    mode,
    loadMs: performance.now() - t0,
    phases: { ...phases, ready: Math.round(performance.now()) },
    cachedBytes,
    downloadedBytes,
    local: source.kind === 'files',
  });
  return mdl;
}

// Start the MT module (and its thread workers) on its own first, with a deadline: a thread worker whose
// script cannot load (blocked, 404) makes Emscripten wait forever for it, with no error anywhere. load()
// reuses the started module (the API keeps one instance per build and pool size).
const MT_START_DEADLINE_MS = 15_000;
async function startThreads(threads, threadFailure) {
  let runtime;
  try { runtime = await import('../src/js/runtime.js'); } catch { return; }   // API internals moved: skip the check
  if (typeof runtime.getRuntime !== 'function') return;
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`its threads did not start within ${MT_START_DEADLINE_MS / 1000} s`), { code: 'E_WASM' })), MT_START_DEADLINE_MS);
  });
  try {
    await Promise.race([runtime.getRuntime('mt', threads), threadFailure, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// A tiny module using one SIMD instruction (i8x16.splat / i8x16.popcnt): validates only where SIMD exists.
function hasSimd() {
  try {
    return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]));
  } catch {
    return false;
  }
}

function parseManifest(text, where) {
  let m;
  try { m = JSON.parse(text); } catch (e) {
    throw Object.assign(new Error(`${where} is not valid JSON (${e.message})`), { code: 'E_MANIFEST' });
  }
  if (m?.format !== 'vitrine' || !Array.isArray(m.chunks)) {
    throw Object.assign(new Error(`${where} is not a vitrine model manifest (docs/FORMAT.md)`), { code: 'E_MANIFEST' });
  }
  for (const c of m.chunks) {
    if (typeof c?.file !== 'string' || /[\\/]|\.\./.test(c.file) || !(c.size > 0) || !/^[0-9a-f]{64}$/.test(c.sha256 ?? '')) {
      throw Object.assign(new Error(`${where}: bad chunk entry ${JSON.stringify(c)}`), { code: 'E_MANIFEST' });
    }
  }
  return m;
}
