// Teach mode: name classes, give each some photos, train a small head on the model's embeddings, use it in the
// classify view, export it as a head file or import one. Embeddings come from the engine worker (worker.js,
// through `engine.call`) and are kept per File, so training again with other settings does not touch the
// engine; the head trains in its own worker (train-worker.js) with the trainer the CLI uses. Photos stay File
// objects in this tab: nothing is uploaded.

const IMAGE_EXT = /\.(jpe?g|jfif|png|bmp|gif|tga|pnm|ppm|pgm|psd|hdr)$/i;
const THUMBS = 12;            // thumbnails shown per class (the count says how many there are)
const SVG = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);

/** A named, coded error the page shows (the API's VitrineError codes, or the page's E_INPUT checks). */
const inputError = (message) => Object.assign(new Error(message), { code: 'E_INPUT' });

export function initTeach(engine) {
  const ui = {
    section: $('teach'), classes: $('classes'), addClass: $('add-class'), train: $('train'), stop: $('stop-train'),
    epochs: $('t-epochs'), hidden: $('t-hidden'), lr: $('t-lr'), loss: $('t-loss'),
    progress: $('teach-progress'), bar: $('teach-bar'), progressText: $('teach-progress-text'),
    error: $('teach-error'), note: $('teach-note'), result: $('train-result'), curve: $('curve'),
    confusion: $('confusion'), summary: $('train-summary'), headStatus: $('head-status'),
    exportHead: $('export-head'), importHead: $('import-head'), headInput: $('head-input'), dropHead: $('drop-head'),
  };
  let nextKey = 1;
  const classes = [];                 // { key, name, files: File[], el }
  let info = null;                    // the loaded model's info (worker 'ready')
  let embeddings = new WeakMap();     // File → Float32Array, for the current model only
  let run = 0;                        // bumps to abandon a running embed/train
  let trainer = null;                 // the training worker while one runs: { worker, reject }
  let applied = null;                 // the head attached in the engine: { labels, source: 'trained'|'file', … }

  // ------------------------------------------------------------ classes

  function addClass(name = '') {
    const c = { key: nextKey++, name, files: [] };
    classes.push(c);
    const li = document.createElement('li');
    li.className = 'class-card';
    li.dataset.key = c.key;
    const head = document.createElement('div');
    head.className = 'class-head';
    const input = document.createElement('input');
    input.type = 'text';
    input.className = 'class-name';
    input.value = name;
    input.placeholder = 'Class name';
    input.spellcheck = false;
    input.addEventListener('input', () => { c.name = input.value; });
    const count = document.createElement('span');
    count.className = 'class-count';
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'remove';
    remove.textContent = 'Remove';
    remove.addEventListener('click', () => removeClass(c));
    head.append(input, count, remove);
    const actions = document.createElement('div');
    actions.className = 'class-actions';
    const hint = document.createElement('span');
    hint.className = 'fine';
    hint.textContent = 'Drop photos or a folder here, or ';
    const files = Object.assign(document.createElement('input'), { type: 'file', multiple: true, hidden: true, className: 'class-files', accept: 'image/*,.jpg,.jpeg,.png,.bmp,.gif' });
    const dir = Object.assign(document.createElement('input'), { type: 'file', multiple: true, hidden: true, className: 'class-dir', webkitdirectory: true });
    const pick = button('Add photos…', () => files.click());
    const pickDir = button('Add a folder…', () => dir.click());
    pickDir.classList.add('fine');
    const clear = button('Clear', () => { c.files = []; updateClass(c); });
    clear.className = 'link';
    files.addEventListener('change', () => { addPhotos(c, [...files.files]); files.value = ''; });
    dir.addEventListener('change', () => { addPhotos(c, [...dir.files].filter((f) => IMAGE_EXT.test(f.name))); dir.value = ''; });
    actions.append(hint, pick, pickDir, clear, files, dir);
    const thumbs = document.createElement('div');
    thumbs.className = 'class-thumbs';
    li.append(head, actions, thumbs);
    c.el = li;
    ui.classes.append(li);
    updateClass(c);
    renumber();
    return c;
  }

  function button(text, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.addEventListener('click', onClick);
    return b;
  }

  function removeClass(c) {
    const i = classes.indexOf(c);
    if (i < 0) return;
    classes.splice(i, 1);
    for (const img of c.el.querySelectorAll('img')) URL.revokeObjectURL(img.src);
    c.el.remove();
    renumber();
    ui.addClass.focus();
  }

  function renumber() {
    classes.forEach((c, i) => {
      c.el.querySelector('.class-name').setAttribute('aria-label', `Name of class ${i + 1}`);
      c.el.querySelector('.remove').setAttribute('aria-label', `Remove class ${i + 1}`);
    });
  }

  function addPhotos(c, files) {
    if (!files.length) return;
    c.files.push(...files);
    updateClass(c);
  }

  function updateClass(c) {
    const n = c.files.length;
    c.el.dataset.count = n;
    c.el.querySelector('.class-count').textContent = `${n} photo${n === 1 ? '' : 's'}`;
    const box = c.el.querySelector('.class-thumbs');
    for (const img of box.querySelectorAll('img')) URL.revokeObjectURL(img.src);
    box.replaceChildren(...c.files.slice(0, THUMBS).map((f) => {
      const img = document.createElement('img');
      img.alt = '';
      img.title = f.webkitRelativePath || f.name;
      img.src = URL.createObjectURL(f);
      img.onerror = () => img.classList.add('broken');
      return img;
    }));
    if (n > THUMBS) {
      const more = document.createElement('span');
      more.className = 'more';
      more.textContent = `+${n - THUMBS}`;
      box.append(more);
    }
  }

  /**
   * A drop on the page while Teach mode shows: onto a class card it goes to that class, elsewhere a note says
   * where to drop. Returns false in the Classify view (the photos are to be classified).
   */
  function drop(target, files) {
    if (ui.section.hidden) return false;
    const card = target?.closest?.('.class-card');
    const c = card && classes.find((x) => String(x.key) === card.dataset.key);
    if (c) addPhotos(c, files);
    else if (files.length) showNote('Drop photos onto one of the classes (or use its “Add photos…” button).');
    return true;
  }

  // ------------------------------------------------------------ messages

  function showError(e) {
    ui.error.replaceChildren();
    const code = document.createElement('code');
    code.textContent = e.code ?? 'E_INTERNAL';
    ui.error.append(code, ' ', String(e.message ?? e));
    ui.error.dataset.code = e.code ?? 'E_INTERNAL';
    ui.error.hidden = false;
  }
  function clearMessages() {
    ui.error.hidden = true;
    ui.error.dataset.code = '';
    ui.note.hidden = true;
  }
  function showNote(text) {
    ui.note.textContent = text;
    ui.note.hidden = false;
  }
  function setProgress(done, total, text) {
    ui.progress.hidden = false;
    ui.bar.max = 1;
    ui.bar.value = total ? done / total : 0;
    ui.progressText.textContent = text;
    ui.progress.dataset.done = done;
    ui.progress.dataset.total = total;
  }

  // ------------------------------------------------------------ training

  function settings() {
    const num = (el, name, min, max, integer) => {
      const v = Number(el.value);
      if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
        throw inputError(`${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got "${el.value}"`);
      }
      return v;
    };
    return {
      epochs: num(ui.epochs, 'Epochs', 1, 5000, true),
      hidden: num(ui.hidden, 'Hidden units', 0, 4096, true),
      lr: num(ui.lr, 'Learning rate', 1e-6, 1, false),
      loss: ui.loss.value,
    };
  }

  function checkClasses() {
    const named = classes.map((c, i) => ({ c, name: c.name.trim() || `class ${i + 1}` }));
    if (named.length < 2) throw inputError(`need at least two classes to teach (there ${named.length === 1 ? 'is one' : 'are none'}): add a class`);
    const seen = new Set();
    for (const { name } of named) {
      if (seen.has(name)) throw inputError(`two classes are both named "${name}": give each class its own name`);
      seen.add(name);
    }
    for (const { c, name } of named) if (!c.files.length) throw inputError(`class "${name}" has no photos: add some, or remove the class`);
    return named;
  }

  async function train() {
    clearMessages();
    if (!info) { showError({ code: 'E_NO_MODEL', message: 'The model is not ready yet.' }); return; }
    let named, opts;
    try {
      named = checkClasses();
      opts = settings();
      if (opts.loss === 'bce' && named.length !== 2) throw inputError(`the binary (sigmoid) loss needs exactly two classes, there are ${named.length}`);
    } catch (e) { showError(e); return; }
    const my = ++run;
    ui.train.disabled = true;
    ui.stop.hidden = false;
    root().dataset.teach = 'embedding';
    try {
      const t0 = performance.now();
      const rows = await embedAll(named, my);
      if (my !== run) return;
      const embedMs = performance.now() - t0;
      root().dataset.embedMs = embedMs.toFixed(0);
      root().dataset.teach = 'training';
      const t1 = performance.now();
      const res = await trainInWorker(rows, named, opts, my);
      if (my !== run) return;
      const trainMs = performance.now() - t1;
      root().dataset.trainMs = trainMs.toFixed(0);
      showResult(res, named.map((x) => x.name), rows, { embedMs, trainMs });
      const head = {
        pooling: info.poolings[0],
        layers: res.layers,
        output: res.output,
        labels: named.map((x) => x.name),
        tensors: res.tensors,
        // The keys `vitrine train-head` records, where the page has them.
        training: { source: 'vitrine page', labels: named.map((x) => x.name), counts: rows.counts, pooling: info.poolings[0],
          exif: true, ...opts, valFraction: 0.2, seed: 0, images: rows.files.length, unreadable: rows.unreadable,
          train: res.split.train.length, validation: res.split.val.length, trainAccuracy: res.trainAccuracy,
          valAccuracy: res.valAccuracy ?? null, confusion: res.confusion },
      };
      await apply(await engine.call('set-head', { head }), 'trained');
      root().dataset.teach = 'done';
    } catch (e) {
      if (my !== run) return;
      root().dataset.teach = 'error';
      showError(e);
    } finally {
      if (my === run) {
        ui.train.disabled = false;
        ui.stop.hidden = true;
        endTrainer();
      }
    }
  }

  function endTrainer(reason) {
    trainer?.worker.terminate();
    if (reason) trainer?.reject(reason);
    trainer = null;
  }

  function stop() {
    run++;
    endTrainer(Object.assign(new Error('stopped'), { code: 'E_ABORTED' }));
    ui.train.disabled = false;
    ui.stop.hidden = true;
    root().dataset.teach = 'stopped';
    showNote('Stopped. The embeddings computed so far are kept: training again starts from there.');
  }

  /** Embeddings of every photo of every class (from the cache when computed before); unreadable ones left out. */
  async function embedAll(named, my) {
    const all = named.flatMap(({ c }, label) => c.files.map((file) => ({ file, label })));
    const todo = all.filter((r) => !embeddings.has(r.file));
    root().dataset.embedded = todo.length;   // photos that go to the engine in this run
    let done = all.length - todo.length;
    const failed = [];
    const say = () => setProgress(done, all.length, `Embedding photos: ${done} of ${all.length}` +
      (all.length - todo.length ? ` (${all.length - todo.length} kept from before)` : ''));
    say();
    await Promise.all(todo.map((r) => engine.call('embed', { file: r.file, pooling: info.poolings[0] }).then((emb) => {
      embeddings.set(r.file, emb);
    }, (e) => {
      if (e.code === 'E_NO_MODEL' || e.code === 'E_RESTARTED') throw e;
      failed.push({ name: r.file.webkitRelativePath || r.file.name, error: e });
    }).finally(() => {
      done++;
      if (my === run) say();
    })));
    const usable = all.filter((r) => embeddings.has(r.file));
    if (failed.length) {
      showNote(`${failed.length} photo${failed.length === 1 ? '' : 's'} could not be read and ${failed.length === 1 ? 'was' : 'were'} left out: ` +
        failed.slice(0, 5).map((f) => `${f.name} (${f.error.code}: ${f.error.message})`).join('; ') + (failed.length > 5 ? '; …' : ''));
      ui.note.dataset.code = failed[0].error.code;
    }
    const counts = named.map((_, label) => usable.filter((r) => r.label === label).length);
    named.forEach(({ name }, label) => {
      if (!counts[label]) throw inputError(`class "${name}" has no readable photos (${named[label].c.files.length} could not be read)`);
    });
    const dim = embeddings.get(usable[0].file).length;
    const features = new Float32Array(usable.length * dim);
    usable.forEach((r, i) => features.set(embeddings.get(r.file), i * dim));
    return { features, labels: Int32Array.from(usable, (r) => r.label), dim, counts, files: usable.map((r) => r.file), unreadable: failed.length };
  }

  function trainInWorker(rows, named, opts, my) {
    return new Promise((resolve, reject) => {
      const w = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module', name: 'vitrine-train' });
      trainer = { worker: w, reject };
      const history = [];
      setProgress(0, opts.epochs, `Training: epoch 0 of ${opts.epochs}`);
      ui.result.hidden = false;
      ui.confusion.replaceChildren();
      ui.summary.textContent = '';
      drawCurve(history, opts.epochs);
      let frame = 0;
      w.onmessage = ({ data: m }) => {
        if (my !== run) return;
        if (m.type === 'epoch') {
          history.push(m.record);
          // One redraw per animation frame, however fast the epochs come.
          if (!frame) {
            frame = requestAnimationFrame(() => {
              frame = 0;
              drawCurve(history, opts.epochs);
              setProgress(history.length, opts.epochs, `Training: epoch ${history.length} of ${opts.epochs}`);
            });
          }
        } else if (m.type === 'done') {
          cancelAnimationFrame(frame);
          drawCurve(history, opts.epochs);
          setProgress(opts.epochs, opts.epochs, `Trained ${opts.epochs} epochs`);
          resolve(m.result);
        } else if (m.type === 'error') {
          reject(Object.assign(new Error(m.message), { code: m.code }));
        }
      };
      w.onerror = (ev) => { ev.preventDefault?.(); reject(Object.assign(new Error(`the training worker failed${ev.message ? `: ${ev.message}` : ''}`), { code: 'E_WORKER' })); };
      w.postMessage({
        features: rows.features, labels: rows.labels,
        options: { dim: rows.dim, numClasses: named.length, epochs: opts.epochs, hidden: opts.hidden, lr: opts.lr,
          loss: opts.loss, seed: 0, valFraction: 0.2 },
      }, [rows.features.buffer]);
    });
  }

  // ------------------------------------------------------------ curve + confusion matrix

  function drawCurve(history, epochs) {
    const W = 300, H = 190, L = 40, R = 10, T = 22, B = 28;
    const svg = ui.curve;
    svg.setAttribute('viewBox', `0 0 ${2 * W} ${H}`);
    svg.dataset.points = history.length;
    svg.replaceChildren();
    const el = (name, attrs, text) => {
      const e = document.createElementNS(SVG, name);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      if (text != null) e.textContent = text;
      return e;
    };
    const maxLoss = Math.max(1e-9, ...history.flatMap((r) => [r.trainLoss, r.valLoss]).filter(Number.isFinite));
    const panels = [
      { x0: 0, title: 'loss', max: maxLoss, keys: ['trainLoss', 'valLoss'], fmt: (v) => v.toFixed(v < 1 ? 2 : 1) },
      { x0: W, title: 'accuracy', max: 1, keys: ['trainAcc', 'valAcc'], fmt: (v) => `${Math.round(v * 100)}%` },
    ];
    for (const p of panels) {
      const g = el('g', { transform: `translate(${p.x0},0)` });
      const x = (e) => L + (W - L - R) * (epochs > 1 ? (e - 1) / (epochs - 1) : 0);
      const y = (v) => T + (H - T - B) * (1 - v / p.max);
      g.append(el('text', { x: L, y: 14, class: 'title' }, p.title));
      g.append(el('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }));
      g.append(el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }));
      g.append(el('text', { x: L - 4, y: T + 4, class: 'tick end' }, p.fmt(p.max)));
      g.append(el('text', { x: L - 4, y: H - B, class: 'tick end' }, p.fmt(0)));
      g.append(el('text', { x: L, y: H - B + 14, class: 'tick' }, '1'));
      g.append(el('text', { x: W - R, y: H - B + 14, class: 'tick end' }, `${epochs} epochs`));
      p.keys.forEach((k, i) => {
        const pts = history.filter((r) => Number.isFinite(r[k])).map((r) => `${x(r.epoch).toFixed(1)},${y(r[k]).toFixed(1)}`);
        if (pts.length) g.append(el('polyline', { points: pts.join(' '), class: i ? 'val' : 'train', 'data-key': k, 'data-points': pts.length }));
      });
      svg.append(g);
    }
    const legend = el('g', { transform: `translate(${2 * W - 160},12)` });
    legend.append(el('line', { x1: 0, y1: -4, x2: 16, y2: -4, class: 'train' }), el('text', { x: 20, y: 0, class: 'tick' }, 'training'));
    legend.append(el('line', { x1: 80, y1: -4, x2: 96, y2: -4, class: 'val' }), el('text', { x: 100, y: 0, class: 'tick' }, 'validation'));
    svg.append(legend);
    const last = history.at(-1);
    svg.setAttribute('aria-label', last ? `Training curve, epoch ${last.epoch}: training loss ${last.trainLoss?.toFixed(3)}, training accuracy ${pct(last.trainAcc)}` +
      (Number.isFinite(last.valAcc) ? `, validation accuracy ${pct(last.valAcc)}` : '') : 'Training curve (no epochs yet)');
  }

  function showResult(res, names, rows, { embedMs, trainMs }) {
    const m = res.confusion ?? [];
    const table = document.createElement('table');
    table.className = 'confusion';
    const cap = document.createElement('caption');
    cap.textContent = 'Validation photos: true class (rows) × predicted class (columns)';
    const head = table.createTHead().insertRow();
    head.append(Object.assign(document.createElement('th'), { textContent: '' }));
    for (const n of names) head.append(Object.assign(document.createElement('th'), { textContent: n, scope: 'col' }));
    const body = table.createTBody();
    m.forEach((row, i) => {
      const tr = body.insertRow();
      tr.append(Object.assign(document.createElement('th'), { textContent: names[i], scope: 'row' }));
      const total = row.reduce((a, b) => a + b, 0) || 1;
      row.forEach((v, j) => {
        const td = tr.insertCell();
        td.textContent = v;
        td.className = i === j ? 'diag' : v ? 'off' : '';
        td.style.setProperty('--share', (v / total).toFixed(3));
      });
    });
    table.prepend(cap);
    ui.confusion.replaceChildren(table);
    const nVal = res.split?.val?.length ?? 0;
    const va = res.valAccuracy;
    ui.summary.textContent = `${rows.files.length} photos (${names.map((n, i) => `${n} ${rows.counts[i]}`).join(', ')}), ` +
      `${rows.dim}-value embeddings. ` +
      (Number.isFinite(va) ? `Validation accuracy ${pct(va)} on ${nVal} held-out photos; ` : 'No validation photos (too few per class); ') +
      `training accuracy ${pct(res.trainAccuracy)}. Embedding took ${(embedMs / 1000).toFixed(1)} s, training ${(trainMs / 1000).toFixed(1)} s.`;
    ui.summary.dataset.valAccuracy = Number.isFinite(va) ? va : '';
  }

  // ------------------------------------------------------------ the head in use, export, import

  async function apply(head, how) {
    applied = { ...head, how };
    ui.exportHead.disabled = false;
    ui.dropHead.hidden = false;
    ui.headStatus.textContent = `In use: ${how === 'file' ? 'an imported head' : 'the head trained here'} with ${head.labels.length === 2 && head.output === 'sigmoid' ? 'two classes (binary)' : `${head.labels.length} classes`}: ${head.labels.join(', ')}. ` +
      'Photos in the Classify view get these labels' + (info?.labels?.length ? ', beside the model\u2019s own.' : '.');
    ui.headStatus.dataset.labels = JSON.stringify(head.labels);
    root().dataset.head = how;
    engine.reclassify();
  }

  async function exportHead() {
    clearMessages();
    try {
      const bytes = await engine.call('export-head', {});
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      const slug = (s) => s.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'head';
      a.download = `${slug(info?.name ?? 'model')}-${slug(applied.labels.join('-'))}.head.safetensors`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    } catch (e) { showError(e); }
  }

  async function importHead(file) {
    clearMessages();
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      await apply(await engine.call('set-head', { bytes }, [bytes.buffer]), 'file');
    } catch (e) {
      showError(e);
    }
  }

  async function dropHead() {
    clearMessages();
    try {
      await engine.call('clear-head', {});
      applied = null;
      ui.exportHead.disabled = true;
      ui.dropHead.hidden = true;
      ui.headStatus.textContent = 'No taught head in use: the Classify view shows the model\u2019s own labels.';
      delete root().dataset.head;
      engine.reclassify();
    } catch (e) { showError(e); }
  }

  // ------------------------------------------------------------ wiring

  const root = () => document.documentElement;
  const pct = (v) => (Number.isFinite(v) ? `${Math.round(v * 100)}%` : '–');
  ui.addClass.addEventListener('click', () => addClass('').el.querySelector('.class-name').focus());
  ui.train.addEventListener('click', train);
  ui.stop.addEventListener('click', stop);
  ui.exportHead.addEventListener('click', exportHead);
  ui.importHead.addEventListener('click', () => ui.headInput.click());
  ui.headInput.addEventListener('change', () => { const f = ui.headInput.files[0]; ui.headInput.value = ''; if (f) importHead(f); });
  ui.dropHead.addEventListener('click', dropHead);
  addClass('');
  addClass('');

  return {
    drop,
    /** A (new) model is ready: embeddings of another model are useless, and its worker has no taught head. */
    modelReady(i) {
      info = i;
      embeddings = new WeakMap();
      if (applied) {
        applied = null;
        ui.exportHead.disabled = true;
        ui.dropHead.hidden = true;
        ui.headStatus.textContent = 'A new model is loaded: train again, or import a head file made for it.';
        delete root().dataset.head;
      }
    },
    modelGone() {
      if (run && root().dataset.teach === 'embedding') stop();
    },
    get applied() { return applied; },
  };
}
