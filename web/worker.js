// The page's engine worker: loads one model through the public vitrine API and runs photos through it one at a
// time, so the page never blocks. Everything about loading (build choice, chunk cache, resumed downloads,
// hash checks) and about heads (checks, attaching in the engine, the head file) is the API's own; this file
// only relays. A tiny message protocol (all messages are plain objects):
//
//   page → worker  { type: 'load', source: { kind: 'url', url } | { kind: 'files', files: File[] }, trace?: { pageOrigin } }
//                  { type: 'classify', id, file: Blob, topK }
//                  { type: 'clear' }                                     (forget queued photos)
//                  { type: 'call', rid, op, ... }                        (answered by one 'reply'):
//                      op 'embed'       { file, pooling }  → Float32Array (the photo's embedding)
//                      op 'set-head'    { head | bytes }   → { labels, pooling, output, layers, training, backbone }
//                      op 'clear-head'                     → null (the model's own classifier again)
//                      op 'export-head'                    → Uint8Array (the attached head as a head file)
//   worker → page  { type: 'progress', loaded, total, cachedBytes, downloadedBytes, local }
//                  { type: 'note', code, message }                      (non-fatal: storage full, …)
//                  { type: 'ready', info, mode, loadMs, phases, trace?, cachedBytes, downloadedBytes, local }
//                  { type: 'load-error', code, message, status? }
//                  { type: 'result', id, top, own?, ms } | { type: 'result', id, embedding, ms }
//                  | { type: 'result', id, error: { code, message } }
//                  { type: 'reply', rid, value } | { type: 'reply', rid, error: { code, message } }
//
// With a taught head attached, a photo's `top` are the taught classes and `own` the model's own classifier's
// labels (when it has one); a model without any classifier answers with the photo's embedding instead, for the
// page's similarity view. Photos are read from the File objects the page passes over (structured clone, no copy
// through the network) and decoded inside the WASM engine. One model per worker: the page starts a fresh worker
// to switch models.

// Both entry points are imported at once, not one after the other (a static import would hold this file back until
// its whole module tree had arrived): the small `vitrine/preload` starts the engine module (fetch and compile the
// .wasm, start its threads) while the rest of the API is still arriving, and load() below, with the same (default)
// build options, uses that module. A preload that fails is left to load(), which tries again and reports it.
const phases = {};           // ms since the worker started, for the status tooltip
import('../src/js/preload.js').then(({ preload }) => preload())
  .then(() => { phases.engine = Math.round(performance.now()); }, () => {});
let load, encodeHead, decodeHead;
const api = import('../src/js/index.js').then((m) => {
  ({ load, encodeHead, decodeHead } = m);
  phases.api = Math.round(performance.now());
});
let model = null;
let source = null;           // what was loaded, to load it again after an engine trap
let tracing = null;          // the page's ?trace: its time origin; load()'s phase timings go with 'ready'
let loadFailed = false;      // then requests get an answer at once instead of waiting forever
let ownLabels = [];          // the model's own classifier's labels (empty: it has none)
let taught = null;           // the head attached with 'set-head', as a head file's bytes, or null
const queue = [];            // jobs waiting for the model / for the previous one
let busy = false;

const post = (m, transfer) => self.postMessage(m, transfer ?? []);
const errInfo = (e) => ({
  code: e?.code ?? (e?.name === 'AbortError' ? 'E_ABORTED' : 'E_INTERNAL'),
  message: String(e?.message ?? e),
  ...(e?.status ? { status: e.status } : {}),
});
const NO_MODEL = { code: 'E_NO_MODEL', message: 'The model did not load (see above).' };

self.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === 'load') {
    source = m.source;
    tracing = m.trace ? m.trace.pageOrigin : null;
    loadModel(m.source).then((mdl) => { model = mdl; pump(); return mdl; }, (e) => {
      loadFailed = true;
      post({ type: 'load-error', ...errInfo(e) });
      // Requests waiting for this model cannot run; tell the page so each photo can say why.
      for (const r of queue.splice(0)) r.fail(NO_MODEL);
      return null;
    });
    return;
  }
  let job;
  if (m.type === 'classify') {
    job = { kind: 'photo', run: () => classify(m), fail: (error) => post({ type: 'result', id: m.id, error }) };
  } else if (m.type === 'call') {
    job = { kind: 'call', run: () => call(m), fail: (error) => post({ type: 'reply', rid: m.rid, error }) };
  } else if (m.type === 'clear') {
    // The page removed its photos: drop those that have not started (teaching requests stay).
    for (let i = queue.length - 1; i >= 0; i--) if (queue[i].kind === 'photo') queue.splice(i, 1);
    return;
  } else return;
  if (loadFailed) { job.fail(NO_MODEL); return; }
  queue.push(job);
  pump();
};

async function pump() {
  if (busy || !model) return;
  busy = true;
  try {
    while (queue.length) {
      const job = queue.shift();
      try {
        await job.run();
      } catch (e) {
        job.fail(errInfo(e));
        // A trap leaves the WASM instance unusable (the API drops it): load the model again (from the cache
        // or the picked files, so it is quick), attach the taught head again, and go on with the other photos.
        if (e?.code === 'E_WASM') {
          try {
            model = await loadModel(source);
            if (taught) await model.setHead(taught);
            post({ type: 'note', code: 'E_RESTARTED', message: 'The engine failed on one photo (see its tile) and was started again; the other photos go on.' });
          } catch (e2) {
            model = null;
            loadFailed = true;
            post({ type: 'load-error', ...errInfo(e2) });
            for (const q of queue.splice(0)) q.fail(NO_MODEL);
          }
        }
      }
    }
  } finally {
    busy = false;
  }
}

const topOf = (list) => list.map(({ index, label, score }) => ({ index, label, score }));

async function classify(r) {
  const bytes = new Uint8Array(await r.file.arrayBuffer());
  const topK = r.topK ?? 5;
  const t0 = performance.now();
  if (!taught && !ownLabels.length) {
    // No classifier at all: what the backbone gives is an embedding; the page compares them.
    const embedding = await model.embed(bytes);
    post({ type: 'result', id: r.id, ms: performance.now() - t0, embedding }, [embedding.buffer]);
    return;
  }
  // With a taught head, the model's own labels come from the same forward pass (classify's `own`).
  const withOwn = !!taught && ownLabels.length > 0;
  const res = await model.classify(bytes, { topK, own: withOwn });
  const top = topOf(withOwn ? res.top : res);
  const own = withOwn ? topOf(res.own.slice(0, 3)) : undefined;
  post({ type: 'result', id: r.id, ms: performance.now() - t0, top, ...(own ? { own } : {}) });
}

async function call(m) {
  let value = null, transfer = [];
  if (m.op === 'embed') {
    value = await model.embed(new Uint8Array(await m.file.arrayBuffer()), { pooling: m.pooling });
    transfer = [value.buffer];
  } else if (m.op === 'set-head') {
    // A head file's bytes or a freshly trained head (its backbone identity comes from this very model). Kept as
    // a head file: that is what export hands out and what is attached again after an engine restart.
    const bytes = m.bytes ?? encodeHead({ ...m.head, backbone: m.head.backbone ?? model.headBackbone(m.head.pooling) });
    await model.setHead(bytes, { anyBackbone: !!m.anyBackbone });   // E_HEAD when refused; the model is unchanged
    const head = decodeHead(bytes);
    taught = bytes;
    value = { labels: head.labels, pooling: head.pooling, output: head.output, layers: head.layers,
      training: head.training ?? null, backbone: head.backbone ?? null };
  } else if (m.op === 'clear-head') {
    await model.setHead(null);
    taught = null;
  } else if (m.op === 'export-head') {
    if (!taught) throw Object.assign(new Error('no taught head is attached'), { code: 'E_INPUT' });
    value = taught.slice();
    transfer = [value.buffer];
  } else {
    throw Object.assign(new Error(`unknown call ${m.op}`), { code: 'E_INPUT' });
  }
  post({ type: 'reply', rid: m.rid, value }, transfer);
}

// A URL (the bundled default, or one the person typed) or the File objects of a picked model folder.
async function loadModel(src) {
  const t0 = performance.now();
  await api;
  const local = src.kind === 'files';
  let last = { cachedBytes: 0, downloadedBytes: 0 };
  const trace = tracing !== null ? {} : undefined;
  const mdl = await load(local ? src.files : src.url, {
    trace,
    onProgress: (p) => {
      phases.manifest ??= Math.round(performance.now());
      last = p;
      post({ type: 'progress', ...p, local });
    },
    onNote: (n) => post({ type: 'note', code: n.code, message: n.message }),
  });
  const info = mdl.info;
  ownLabels = [...info.labels];
  post({
    type: 'ready',
    info: { name: info.name, family: info.family, labels: info.labels, imageSize: info.imageSize,
      hiddenSize: info.hiddenSize, poolings: [...info.poolings], classifier: info.classifier,
      evaluation: info.metadata?.evaluation ?? null },
    mode: { build: info.build, threads: info.threads, simd: info.simd, reason: info.build === 'st' ? info.buildReason : null },
    loadMs: performance.now() - t0,
    phases: { ...phases, ready: Math.round(performance.now()) },
    ...(trace ? { trace: pageTimes(trace) } : {}),
    cachedBytes: last.cachedBytes,
    downloadedBytes: last.downloadedBytes,
    local,
  });
  return mdl;
}

// load()'s trace on the page's clock (ms since the page's navigation start), with this worker's own requests
// (the engine's .wasm, its glue and thread worker script) from the resource timeline.
function pageTimes(trace) {
  const shift = performance.timeOrigin - tracing;
  const at = (t) => Math.round((t + shift) * 10) / 10;
  const marks = Object.fromEntries(Object.entries(trace.marks).map(([k, v]) => [k, at(v)]));
  const spans = Object.fromEntries(Object.entries(trace.spans).map(([k, s]) => [k, { ms: Math.round(s.ms * 10) / 10, count: s.count, first: at(s.first), last: at(s.last) }]));
  const files = performance.getEntriesByType('resource').filter((r) => /\.(wasm|mjs)$|worker\.js$/.test(new URL(r.name).pathname))
    .map((r) => ({ file: new URL(r.name).pathname.split('/').pop(), start: at(r.startTime), end: at(r.responseEnd), bytes: r.transferSize }));
  const modules = performance.getEntriesByType('resource').filter((r) => /\.js$/.test(new URL(r.name).pathname));
  return { marks, spans, files, workerStart: at(0), api: at(phases.api), engine: phases.engine === undefined ? undefined : at(phases.engine),
    modules: { count: modules.length, last: at(Math.max(0, ...modules.map((r) => r.responseEnd))) } };
}
