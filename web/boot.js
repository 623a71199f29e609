// The page's first act: start the engine worker and its model load. index.html runs this file as an async module
// script, so the worker starts as soon as this small file arrives, while the rest of the page (app.js, teach.js,
// the service-worker set-up) is still being fetched and run; app.js imports the same module instance and adopts
// that worker (takeEarlyWorker). Starting a worker later (another model, "Try again") goes through here too.

// ?trace: the worker sends where the model load's time went (tools/bench/bench_page.mjs --phases).
export const TRACE = new URLSearchParams(location.search).has('trace');
export const DEFAULT_MODEL = new URL('../weights/cifar10-vit/manifest.json', import.meta.url).href;

/** The model the page's URL names (?model=…), else the bundled one. */
export function modelSourceFromLocation() {
  const m = new URLSearchParams(location.search).get('model');
  return m ? { kind: 'url', url: new URL(m, location.href).href } : { kind: 'url', url: DEFAULT_MODEL, isDefault: true };
}

/** A new engine worker, already asked to load `src` (the protocol: worker.js). */
export function startEngineWorker(src) {
  performance.mark('vitrine:load-start');
  // worker.js and the API it imports, bundled into one file (tools/build/build-web.mjs bundleWorker; the dev server
  // makes it from the current sources): one request to start the worker instead of one per module.
  const w = new Worker(new URL('../dist/page/worker.js', import.meta.url), { type: 'module', name: 'vitrine-engine' });
  w.postMessage({ type: 'load', source: src.kind === 'files' ? { kind: 'files', files: src.files } : { kind: 'url', url: src.url },
    ...(TRACE ? { trace: { pageOrigin: performance.timeOrigin } } : {}) });
  return w;
}

// The worker started with the page, and what it said before app.js took it over (a worker's messages and errors
// are dropped when nobody listens).
let early = null;
try {
  const src = modelSourceFromLocation();
  const worker = startEngineWorker(src);
  early = { src, worker, messages: [], error: null };
  worker.onmessage = (ev) => early?.messages.push(ev.data);
  worker.onerror = (ev) => { ev.preventDefault(); if (early) early.error ??= ev; };
} catch {
  // A ?model= that is no URL, or no module workers here: app.js starts (and reports) the worker itself.
}

/**
 * The worker started with the page if it loads `src` and was not taken yet: → { worker, messages, error }, with
 * its handlers removed (the caller sets its own, then handles `messages` and `error` in order); else null.
 */
export function takeEarlyWorker(src) {
  const e = early;
  early = null;
  if (!e) return null;
  if (src.kind !== 'url' || src.url !== e.src.url) { e.worker.terminate(); return null; }
  e.worker.onmessage = null;
  e.worker.onerror = null;
  return { worker: e.worker, messages: e.messages, error: e.error };
}
