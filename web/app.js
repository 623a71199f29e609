// vitrine page: UI only. The model lives in a Web Worker (worker.js); this file turns dropped, picked or
// pasted photos into tiles, sends each File to the worker and draws the labels it sends back. Teach mode
// (teach.js) reaches the same worker through `call`. Nothing here reads photo bytes or sends them anywhere:
// the worker gets the File handle itself.
import { modelSourceFromLocation, startEngineWorker, takeEarlyWorker } from './boot.js';
import { initTeach } from './teach.js';
import { similarity } from './similar.js';

const IMAGE_EXT = /\.(jpe?g|jfif|png|bmp|gif|tga|pnm|ppm|pgm|psd|hdr)$/i;
const TOP_K = 5;

const $ = (id) => document.getElementById(id);
const ui = {
  modelName: $('model-name'), status: $('status'), progress: $('progress'), bar: $('progress-bar'),
  progressText: $('progress-text'), modelError: $('model-error'), modelErrorText: $('model-error-text'),
  retry: $('retry'), note: $('note'), drop: $('drop'), pick: $('pick'), pickDir: $('pick-dir'),
  fileInput: $('file-input'), dirInput: $('dir-input'), tiles: $('tiles'), toolbar: $('toolbar'),
  counts: $('counts'), clear: $('clear'), other: $('other'), urlForm: $('url-form'), modelUrl: $('model-url'),
  pickModel: $('pick-model'), modelDirInput: $('model-dir-input'), useDefault: $('use-default'),
  forget: $('forget'), storage: $('storage'), known: $('known'), modeClassify: $('mode-classify'),
  modeTeach: $('mode-teach'), classifyView: $('classify-view'), teach: $('teach'), similar: $('similar'),
};
const root = document.documentElement;

/** @type {Map<number, {id:number, file:File, el:HTMLElement, state:'waiting'|'done'|'error'}>} */
const tiles = new Map();
let nextId = 1;
let worker = null;
let source = null;           // what the current worker loads
let ready = false;
let firstResultMarked = false;
let nextRid = 1;
const pending = new Map();   // rid → { resolve, reject } of calls to the worker

// ---------------------------------------------------------------- model / worker

function startWorker(src) {
  worker?.terminate();
  source = src;
  ready = false;
  root.dataset.model = 'loading';
  delete root.dataset.mode;
  ui.modelError.hidden = true;
  ui.note.hidden = true;
  ui.modelName.textContent = src.kind === 'files' ? 'Reading the model folder…' : 'Loading model…';
  ui.status.textContent = '';
  ui.known.hidden = true;
  showProgress({ loaded: 0, total: 0 });

  // The first model's worker was started by boot.js with the page; any other gets a new one.
  const early = takeEarlyWorker(src);
  const w = early?.worker ?? startEngineWorker(src);
  worker = w;
  w.onmessage = (ev) => { if (worker === w) onWorkerMessage(ev.data); };
  w.onerror = (ev) => {
    if (worker !== w) return;
    ev.preventDefault?.();
    modelFailed({ code: 'E_WORKER', message: `The engine worker failed to start${ev.message ? `: ${ev.message}` : ''}.` });
  };
  for (const p of pending.values()) p.reject(Object.assign(new Error('The model was switched or restarted.'), { code: 'E_RESTARTED' }));
  pending.clear();
  teach.modelGone();
  // Every photo on the page goes to the new worker: a model switch (or "Try again") re-labels them all.
  for (const t of tiles.values()) send(t);
  if (early) {
    for (const m of early.messages) onWorkerMessage(m);
    if (early.error) w.onerror(early.error);
  }
}

function send(t) {
  setWaiting(t);
  worker.postMessage({ type: 'classify', id: t.id, file: t.file, topK: TOP_K });
}

/** One request to the engine worker (embed, set-head, …): resolves with its value, rejects with a coded Error. */
function call(op, payload, transfer) {
  if (!worker) return Promise.reject(Object.assign(new Error('No model is loaded.'), { code: 'E_NO_MODEL' }));
  const rid = nextRid++;
  return new Promise((resolve, reject) => {
    pending.set(rid, { resolve, reject });
    worker.postMessage({ type: 'call', rid, op, ...payload }, transfer ?? []);
  });
}

function onReply(m) {
  const p = pending.get(m.rid);
  if (!p) return;
  pending.delete(m.rid);
  if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
  else p.resolve(m.value);
}

// Every photo again (a taught head was attached or detached).
function reclassify() {
  for (const t of tiles.values()) send(t);
}

function onWorkerMessage(m) {
  switch (m.type) {
    case 'progress': showProgress(m); break;
    case 'note': showNote(m); break;
    case 'ready': modelReady(m); break;
    case 'load-error': modelFailed(m); break;
    case 'result': showResult(m); break;
    case 'reply': onReply(m); break;
  }
}

const MB = (n) => (n / 1e6).toFixed(n >= 1e8 ? 0 : 1);

function showProgress(p) {
  if (root.dataset.model !== 'loading') return;   // late reports of chunks still in flight after ready/error
  ui.progress.hidden = false;
  const frac = p.total ? p.loaded / p.total : 0;
  ui.bar.value = frac;
  ui.bar.max = 1;
  ui.progress.dataset.loaded = p.loaded;
  ui.progress.dataset.total = p.total;
  if (!p.total) { ui.progressText.textContent = 'Starting…'; return; }
  if (!ready) {
    ui.modelName.textContent = p.local ? 'Reading the model folder…'
      : p.downloadedBytes > 0 ? 'Downloading the model (only once: this browser keeps it)…'
        : p.cachedBytes > 0 ? 'Loading the model from this device…' : 'Loading the model…';
  }
  const pct = Math.floor(frac * 100);
  let how = '';
  if (p.local) how = ' read from the folder';
  else if (p.cachedBytes && !p.downloadedBytes) how = ' from this device';
  else if (p.cachedBytes) how = ` (${MB(p.cachedBytes)} MB were already on this device)`;
  ui.progressText.textContent = `${MB(p.loaded)} of ${MB(p.total)} MB · ${pct}%${how}`;
  ui.bar.setAttribute('aria-valuetext', `${pct} percent`);
}

function modelReady(m) {
  ready = true;
  root.dataset.model = 'ready';
  root.dataset.mode = m.mode.build;
  root.dataset.threads = m.mode.threads;
  performance.mark('vitrine:model-ready');
  const info = m.info;
  ui.modelName.textContent = info.name || 'Model';
  ui.modelName.title = `${info.family ?? ''} · ${info.imageSize ?? '?'} px input · ${info.labels?.length ?? 0} labels`;
  ui.status.replaceChildren();
  const mode = document.createElement('span');
  mode.id = 'mode';
  if (m.mode.build === 'mt') {
    mode.className = 'mode-mt';
    mode.textContent = `multi-threaded · ${m.mode.threads} threads`;
  } else {
    mode.className = 'mode-st';
    mode.textContent = 'single-threaded';
  }
  ui.status.append(mode, ` · SIMD ${m.mode.simd === false ? 'off' : 'on'}`);
  if (m.mode.reason) ui.status.append(` · ${m.mode.reason}`);
  const sizeNote = m.local ? 'read from your folder'
    : m.downloadedBytes ? `downloaded ${MB(m.downloadedBytes)} MB` + (m.cachedBytes ? `, ${MB(m.cachedBytes)} MB from cache` : '')
      : 'from this device\u2019s cache, nothing downloaded';
  ui.status.append(` · loaded in ${(m.loadMs / 1000).toFixed(1)} s (${sizeNote})`);
  if (m.phases) {
    ui.status.title = `worker timeline (ms since it started): ${Object.entries(m.phases).map(([k, v]) => `${k} ${v}`).join(', ')}`;
    root.dataset.phases = JSON.stringify(m.phases);
  }
  if (m.trace) root.dataset.trace = JSON.stringify(m.trace);
  teach.modelReady(info);
  const labels = info.labels ?? [];
  ui.known.textContent = labels.length === 0
    ? 'This model has no classifier: it gives embeddings. Photos dropped here are compared with each other (most ' +
      'similar, near-duplicates); use Teach to give it classes of your own.'
    : labels.length <= 30 ? `Knows ${labels.length} classes: ${labels.join(', ')}.`
      : `Knows ${labels.length} classes.`;
  // A measured accuracy (tools/default-model/eval_default.mjs --record) sets expectations before the first photo.
  const ev = info.evaluation;
  // metadata is free-form (FORMAT.md), so a model from elsewhere may have anything there: use it only when well-typed.
  if (labels.length && typeof ev?.top1 === 'number' && Number.isInteger(ev.images) && typeof ev.dataset === 'string') {
    ui.known.textContent += ` Top-1 accuracy ${ev.top1} % on ${ev.images.toLocaleString('en')} ${ev.dataset}.`;
  }
  ui.known.hidden = false;
  ui.progress.dataset.done = '1';
  setTimeout(() => { if (ready) ui.progress.hidden = true; }, 600);
  updateStorage();
}

function modelFailed(e) {
  if (source?.isDefault && e.code === 'E_MANIFEST' && e.status === 404) {
    e = { code: e.code, message: 'The bundled model (weights/cifar10-vit/) is not on this server. Use another model below: ' +
      'the URL of a converted model, or a model folder on this device.' };
    ui.other.open = true;
  }
  ready = false;
  root.dataset.model = 'error';
  ui.progress.hidden = true;
  ui.modelName.textContent = 'The model did not load';
  ui.modelErrorText.replaceChildren();
  if (e.code) {
    const c = document.createElement('code');
    c.textContent = e.code;
    ui.modelErrorText.append(c, ' ');
  }
  ui.modelErrorText.append(e.message);
  ui.modelError.dataset.code = e.code ?? '';
  ui.modelError.hidden = false;
}

// The API's notes are generic; the storage one gets what to do on this page.
const NOTE_TEXT = {
  E_QUOTA: 'This browser has no room left to keep the model for next time (storage quota exceeded). ' +
    'It works now, but a reload will download it again. To fix it: free disk space, or clear this ' +
    "site's data / other sites' data in the browser settings, or use “Forget downloaded models” below.",
};

function showNote(n) {
  ui.note.textContent = NOTE_TEXT[n.code] ?? n.message;
  ui.note.dataset.code = n.code;
  ui.note.hidden = false;
}

ui.retry.addEventListener('click', () => startWorker(source));

// ---------------------------------------------------------------- tiles

function addFiles(files) {
  const list = [...files];
  if (!list.length) return;
  for (const file of list) {
    const id = nextId++;
    const el = document.createElement('li');
    el.className = 'tile';
    el.tabIndex = 0;
    el.dataset.id = id;
    el.dataset.name = file.name;
    const fig = document.createElement('figure');
    const img = document.createElement('img');
    img.className = 'thumb';
    img.alt = '';
    img.decoding = 'async';
    img.loading = 'lazy';
    const url = URL.createObjectURL(file);
    img.src = url;
    img.onerror = () => { img.classList.add('broken'); fig.classList.add('broken'); };
    const cap = document.createElement('figcaption');
    cap.textContent = file.webkitRelativePath || file.name || 'pasted image';
    cap.title = cap.textContent;
    fig.append(img, cap);
    const body = document.createElement('div');
    body.className = 'body';
    el.append(fig, body);
    const t = { id, file, el, url, state: 'waiting' };
    tiles.set(id, t);
    ui.tiles.append(el);
    send(t);
  }
  updateCounts();
}

function setWaiting(t) {
  t.state = 'waiting';
  t.el.dataset.state = 'waiting';
  t.el.classList.remove('error');
  const body = t.el.querySelector('.body');
  const p = document.createElement('p');
  p.className = 'wait';
  const s = document.createElement('span');
  s.className = 'spinner';
  s.setAttribute('aria-hidden', 'true');
  p.append(s, ready ? 'Classifying…' : 'Waiting for the model…');
  body.replaceChildren(p);
  t.el.setAttribute('aria-label', `${t.file.name}: waiting`);
  t.el.setAttribute('aria-busy', 'true');
}

function showResult(m) {
  const t = tiles.get(m.id);
  if (!t) return;
  const body = t.el.querySelector('.body');
  t.el.removeAttribute('aria-busy');
  if (m.error) {
    t.state = 'error';
    t.el.dataset.state = 'error';
    t.el.dataset.code = m.error.code;
    t.el.classList.add('error');
    const p = document.createElement('p');
    p.className = 'err';
    p.setAttribute('role', 'alert');
    p.append(m.error.code === 'E_NO_MODEL' ? '' : 'Could not classify this file: ', m.error.message);
    body.replaceChildren(p);
    t.el.setAttribute('aria-label', `${t.file.name}: error, ${m.error.message}`);
  } else if (m.embedding) {
    // A model without a classifier: the tile says so; the similarity panel compares the photos.
    t.state = 'done';
    t.el.dataset.state = 'done';
    t.el.dataset.ms = m.ms.toFixed(1);
    t.embedding = m.embedding;
    const p = document.createElement('p');
    p.className = 'emb';
    p.textContent = `Embedding of ${m.embedding.length} values (no classifier in this model).`;
    const near = document.createElement('p');
    near.className = 'nearest';
    const meta = document.createElement('p');
    meta.className = 'meta';
    meta.textContent = `${Math.round(m.ms)} ms`;
    body.replaceChildren(p, near, meta);
    t.el.setAttribute('aria-label', `${t.file.name}: embedding of ${m.embedding.length} values`);
    updateSimilar();
  } else {
    t.state = 'done';
    t.el.dataset.state = 'done';
    t.el.dataset.ms = m.ms.toFixed(1);
    if (t.embedding) { delete t.embedding; updateSimilar(); }
    const ol = labelList(m.top, 'labels');
    const parts = [ol];
    if (m.own) {
      // A taught head is in use: its labels first, the model's own classifier's below them.
      const h = document.createElement('p');
      h.className = 'own-title';
      h.textContent = 'The model\u2019s own labels';
      parts.push(h, labelList(m.own, 'own-labels'));
    }
    const meta = document.createElement('p');
    meta.className = 'meta';
    meta.textContent = `${Math.round(m.ms)} ms`;
    meta.title = 'decode + preprocess + forward, in the engine worker';
    body.replaceChildren(...parts, meta);
    t.el.dataset.taught = teach.applied ? '1' : '';
    t.el.setAttribute('aria-label',
      `${t.file.name}: ${m.top.map((r) => `${r.label} ${fmtPct(r.score)}`).join(', ')}` +
      (m.own ? `; the model\u2019s own: ${m.own.map((r) => `${r.label} ${fmtPct(r.score)}`).join(', ')}` : '') +
      `; ${Math.round(m.ms)} milliseconds`);
    if (!firstResultMarked) {
      firstResultMarked = true;
      performance.mark('vitrine:first-result');
    }
  }
  updateCounts();
}

function labelList(top, className) {
  const ol = document.createElement('ol');
  ol.className = className;
  for (const r of top) {
    const li = document.createElement('li');
    li.dataset.label = r.label;
    li.dataset.index = r.index;
    li.dataset.score = String(r.score);
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = r.label;
    name.title = r.label;
    const pct = document.createElement('span');
    pct.className = 'pct';
    pct.textContent = fmtPct(r.score);
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.style.width = `${Math.max(0, Math.min(1, r.score)) * 100}%`;
    bar.append(fill);
    li.append(name, pct, bar);
    ol.append(li);
  }
  return ol;
}

function fmtPct(s) {
  const p = s * 100;
  return p >= 10 ? `${p.toFixed(0)}%` : p >= 0.1 ? `${p.toFixed(1)}%` : '<0.1%';
}

function updateCounts() {
  let waiting = 0, errors = 0;
  for (const t of tiles.values()) {
    if (t.state === 'waiting') waiting++;
    else if (t.state === 'error') errors++;
  }
  ui.toolbar.hidden = tiles.size === 0;
  const parts = [`${tiles.size} photo${tiles.size === 1 ? '' : 's'}`];
  if (waiting) parts.push(`${waiting} waiting`);
  if (errors) parts.push(`${errors} with errors`);
  ui.counts.textContent = parts.join(' · ');
}

ui.clear.addEventListener('click', () => {
  for (const t of tiles.values()) URL.revokeObjectURL(t.url);
  tiles.clear();
  ui.tiles.replaceChildren();
  worker?.postMessage({ type: 'clear' });   // a photo being classified right now still answers; its tile is gone
  updateCounts();
  updateSimilar();
  ui.pick.focus();
});

// ---------------------------------------------------------------- input: pick, drop, paste

ui.pick.addEventListener('click', () => ui.fileInput.click());
ui.pickDir.addEventListener('click', () => ui.dirInput.click());
ui.fileInput.addEventListener('change', () => { addFiles(ui.fileInput.files); ui.fileInput.value = ''; });
ui.dirInput.addEventListener('change', () => {
  addFiles([...ui.dirInput.files].filter((f) => IMAGE_EXT.test(f.name)));
  ui.dirInput.value = '';
});

let dragDepth = 0;
const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
document.addEventListener('dragenter', (e) => { if (!hasFiles(e)) return; dragDepth++; document.body.classList.add('dragging'); });
document.addEventListener('dragleave', () => { if (--dragDepth <= 0) { dragDepth = 0; document.body.classList.remove('dragging'); } });
document.addEventListener('dragover', (e) => { if (hasFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; } });
document.addEventListener('drop', async (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth = 0;
  document.body.classList.remove('dragging');
  const target = e.target;
  const files = await filesFromDataTransfer(e.dataTransfer);
  // Onto a class card in Teach mode: that class's photos. Anywhere else: photos to classify.
  if (!teach.drop(target, files)) addFiles(files);
});

async function filesFromDataTransfer(dt) {
  const entries = [];
  for (const item of dt.items ?? []) {
    const entry = item.kind === 'file' && item.webkitGetAsEntry?.();
    if (entry) entries.push(entry);
  }
  if (!entries.length) return [...dt.files];
  const out = [];
  // Entries must be taken synchronously above; reading them may be async.
  for (const entry of entries) {
    if (entry.isFile) out.push(await entryFile(entry));
    else if (entry.isDirectory) out.push(...(await walkDirectory(entry)).filter((f) => IMAGE_EXT.test(f.name)));
  }
  return out;
}

const entryFile = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject));

async function walkDirectory(dir) {
  const out = [];
  const reader = dir.createReader();
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) break;
    for (const e of batch) {
      if (e.isFile) out.push(await entryFile(e));
      else if (e.isDirectory) out.push(...await walkDirectory(e));
    }
  }
  out.sort((a, b) => a.name.localeCompare(b.name));
  return out;
}

document.addEventListener('paste', (e) => {
  const files = [...(e.clipboardData?.files ?? [])];
  if (!files.length) return;            // plain text paste (e.g. into the URL box) is left alone
  e.preventDefault();
  addFiles(files.map((f, i) => (f.name && f.name !== 'image.png') ? f
    : new File([f], `pasted-${new Date().toISOString().slice(11, 19).replace(/:/g, '')}${files.length > 1 ? `-${i + 1}` : ''}.${(f.type.split('/')[1] || 'png')}`, { type: f.type })));
});

// ---------------------------------------------------------------- another model

ui.urlForm.addEventListener('submit', (e) => {
  e.preventDefault();
  let url = ui.modelUrl.value.trim();
  if (!url) return;
  if (!/manifest\.json$/i.test(new URL(url, location.href).pathname)) url = url.replace(/\/?$/, '/manifest.json');
  const u = new URL(location.href);
  u.searchParams.set('model', url);
  history.replaceState(null, '', u);
  startWorker({ kind: 'url', url: new URL(url, location.href).href });
});
ui.pickModel.addEventListener('click', () => ui.modelDirInput.click());
ui.modelDirInput.addEventListener('change', () => {
  const files = [...ui.modelDirInput.files];
  ui.modelDirInput.value = '';
  if (!files.length) return;
  const u = new URL(location.href);
  u.searchParams.delete('model');
  history.replaceState(null, '', u);
  startWorker({ kind: 'files', files });
});
ui.useDefault.addEventListener('click', () => {
  const u = new URL(location.href);
  u.searchParams.delete('model');
  history.replaceState(null, '', u);
  ui.modelUrl.value = '';
  startWorker(modelSourceFromLocation());
});
ui.forget.addEventListener('click', async () => {
  try { await (await import('../src/js/index.js')).clearCache(); } catch { /* no Cache API */ }
  ui.storage.textContent = ' · forgotten: the next load downloads the model again.';
});

async function updateStorage() {
  try {
    const { usage } = await navigator.storage.estimate();
    if (usage != null) ui.storage.textContent = ` · this site keeps ${MB(usage)} MB in this browser`;
  } catch { /* not available */ }
}

// ---------------------------------------------------------------- similar photos (models without a classifier)

// The panel lists, for the embedded photos on the page, the most similar pairs and the near-duplicate groups
// (similar.js: cosine of the embeddings; the threshold is documented there and in docs/WEB.md).
let similarTimer = 0;
function updateSimilar() {
  clearTimeout(similarTimer);
  similarTimer = setTimeout(drawSimilar, 50);   // once per burst of results, not once per photo
}

function drawSimilar() {
  const items = [...tiles.values()].filter((t) => t.embedding);
  for (const t of tiles.values()) if (t.embedding) t.el.querySelector('.nearest').textContent = '';
  if (items.length < 2) { ui.similar.hidden = true; ui.similar.replaceChildren(); return; }
  const { nearest, pairs, groups, threshold } = similarity(items.map((t) => t.embedding));
  items.forEach((t, i) => {
    const n = nearest[i];
    const p = t.el.querySelector('.nearest');
    p.textContent = `Most similar: ${items[n.j].file.name} (cosine ${n.cos.toFixed(3)})`;
    p.dataset.nearest = items[n.j].file.name;
    p.dataset.cos = String(n.cos);
  });
  const h = document.createElement('h2');
  h.textContent = 'Similar photos';
  const intro = document.createElement('p');
  intro.className = 'small';
  intro.textContent = `Compared by the cosine similarity of their embeddings (1 = same direction). Near-duplicates: ` +
    `cosine ≥ ${threshold}.`;
  const dup = document.createElement('div');
  dup.id = 'duplicates';
  dup.dataset.groups = JSON.stringify(groups.map((g) => g.map((i) => items[i].file.name)));
  dup.dataset.photos = String(items.length);   // how many embeddings these groups were computed from
  if (groups.length) {
    const ul = document.createElement('ul');
    ul.className = 'groups';
    for (const g of groups) ul.append(photoRow(g.map((i) => items[i]), `${g.length} near-duplicates`));
    dup.append(ul);
  } else {
    dup.textContent = 'No near-duplicates among these photos.';
  }
  const top = document.createElement('ul');
  top.className = 'pairs';
  top.id = 'pairs';
  for (const pr of pairs.slice(0, 5)) top.append(photoRow([items[pr.i], items[pr.j]], `cosine ${pr.cos.toFixed(3)}`));
  const h3 = document.createElement('h3');
  h3.textContent = 'Most similar pairs';
  const h3b = document.createElement('h3');
  h3b.textContent = 'Near-duplicate groups';
  ui.similar.replaceChildren(h, intro, h3b, dup, h3, top);
  ui.similar.hidden = false;
}

function photoRow(list, text) {
  const li = document.createElement('li');
  for (const t of list) {
    const img = document.createElement('img');
    img.src = t.url;
    img.alt = t.file.name;
    img.title = t.file.name;
    li.append(img);
  }
  const s = document.createElement('span');
  s.textContent = `${text}: ${list.map((t) => t.file.name).join(', ')}`;
  li.append(s);
  return li;
}

// ---------------------------------------------------------------- modes: Classify / Teach

function setMode(mode) {
  const teachOn = mode === 'teach';
  ui.teach.hidden = !teachOn;
  ui.classifyView.hidden = teachOn;
  ui.modeTeach.setAttribute('aria-pressed', String(teachOn));
  ui.modeClassify.setAttribute('aria-pressed', String(!teachOn));
  root.dataset.view = mode;
}
ui.modeClassify.addEventListener('click', () => setMode('classify'));
ui.modeTeach.addEventListener('click', () => setMode('teach'));

// ---------------------------------------------------------------- start

const teach = initTeach({ call, reclassify });

if (/Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent)) {
  for (const k of document.querySelectorAll('.drop-hint kbd')) if (k.textContent === 'Ctrl') k.textContent = '⌘';
}

const initial = modelSourceFromLocation();
if (!initial.isDefault) { ui.modelUrl.value = initial.url; ui.other.open = true; }
startWorker(initial);
