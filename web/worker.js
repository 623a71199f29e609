// The page's engine worker: loads one model through the public vitrine API and classifies photos one at a
// time, so the page never blocks. Everything about loading (build choice, chunk cache, resumed downloads,
// hash checks) is the API's own; this file only relays. A tiny message protocol (all messages are plain objects):
//
//   page → worker  { type: 'load', source: { kind: 'url', url } | { kind: 'files', files: File[] } }
//                  { type: 'classify', id, file: Blob, topK }
//                  { type: 'clear' }                                     (forget queued photos)
//   worker → page  { type: 'progress', loaded, total, cachedBytes, downloadedBytes, local }
//                  { type: 'note', code, message }                      (non-fatal: storage full, …)
//                  { type: 'ready', info, mode, loadMs, phases, cachedBytes, downloadedBytes, local }
//                  { type: 'load-error', code, message, status? }
//                  { type: 'result', id, top, ms } | { type: 'result', id, error: { code, message } }
//
// Photos are read from the File objects the page passes over (structured clone, no copy through the network)
// and decoded inside the WASM engine. One model per worker: the page starts a fresh worker to switch models.
import { load } from '../src/js/index.js';

const phases = { api: Math.round(performance.now()) };   // ms since the worker started, for the status tooltip
let model = null;
let source = null;           // what was loaded, to load it again after an engine trap
let loadFailed = false;      // then photos get an answer at once instead of waiting forever
const queue = [];            // classify requests waiting for the model / for the previous one
let busy = false;

const post = (m) => self.postMessage(m);
const errInfo = (e) => ({
  code: e?.code ?? (e?.name === 'AbortError' ? 'E_ABORTED' : 'E_INTERNAL'),
  message: String(e?.message ?? e),
  ...(e?.status ? { status: e.status } : {}),
});
const noModel = (id) => post({ type: 'result', id, error: { code: 'E_NO_MODEL', message: 'The model did not load (see above).' } });

self.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === 'load') {
    source = m.source;
    loadModel(m.source).then((mdl) => { model = mdl; pump(); return mdl; }, (e) => {
      loadFailed = true;
      post({ type: 'load-error', ...errInfo(e) });
      // Requests waiting for this model cannot run; tell the page so each photo can say why.
      for (const r of queue.splice(0)) noModel(r.id);
      return null;
    });
  } else if (m.type === 'classify') {
    if (loadFailed) { noModel(m.id); return; }
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
            for (const q of queue.splice(0)) noModel(q.id);
          }
        }
      }
    }
  } finally {
    busy = false;
  }
}

// A URL (the bundled default, or one the person typed) or the File objects of a picked model folder.
async function loadModel(src) {
  const t0 = performance.now();
  const local = src.kind === 'files';
  let last = { cachedBytes: 0, downloadedBytes: 0 };
  const mdl = await load(local ? src.files : src.url, {
    onProgress: (p) => {
      phases.manifest ??= Math.round(performance.now());
      last = p;
      post({ type: 'progress', ...p, local });
    },
    onNote: (n) => post({ type: 'note', code: n.code, message: n.message }),
  });
  const info = mdl.info;
  post({
    type: 'ready',
    info: { name: info.name, family: info.family, labels: info.labels, imageSize: info.imageSize,
      evaluation: info.metadata?.evaluation ?? null },
    mode: { build: info.build, threads: info.threads, simd: info.simd, reason: info.build === 'st' ? info.buildReason : null },
    loadMs: performance.now() - t0,
    phases: { ...phases, ready: Math.round(performance.now()) },
    cachedBytes: last.cachedBytes,
    downloadedBytes: last.downloadedBytes,
    local,
  });
  return mdl;
}
