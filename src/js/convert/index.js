// `vitrine convert`: a Hugging Face checkpoint (folder with config.json + safetensors, or an .npz of HF-named
// arrays) or a vitrine model folder → a vitrine model folder (docs/FORMAT.md), its weights stored as f32, f16 or
// int8 (--dtype). Streaming: one tensor (piece) in memory at a time.
import fs from 'node:fs';
import path from 'node:path';
import { VitrineError } from '../errors.js';
import { openSafetensors, openSafetensorsFolder, openNpz } from './sources.js';
import { tensorTable, normalisePreprocess } from './mapping.js';
import { familyForModelType } from './families/index.js';
import { chunkFileName, formatManifest, writeModelFolder } from './writer.js';
import { encodeF16, quantizeI8 } from './dtype.js';
import { isVitrineModel, openVitrineModel } from './vitrine-source.js';

export const CONVERTER_VERSION = '0.1.0';
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
const ALIGN = 64;
const convertError = (msg) => new VitrineError('E_CONVERT', msg);

function readJson(file, what = path.basename(file)) {
  let text;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { throw convertError(`${what}: cannot read (${e.code || e.message})`); }
  try { return JSON.parse(text); } catch (e) { throw convertError(`${what}: not valid JSON (${e.message})`); }
}

const shapeStr = (s) => `[${s.join(',')}]`;
const numel = (s) => s.reduce((a, b) => a * b, 1);
const sameShape = (a, b) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Parse "4194304", "4M", "4MiB", "512k". */
export function parseSize(v) {
  if (typeof v === 'number') return v;
  const m = /^(\d+)\s*(k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(String(v).trim());
  if (!m) throw convertError(`bad size ${JSON.stringify(v)}`);
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] || '').charAt(0).toLowerCase()] || 1;
  return Number(m[1]) * mult;
}

function locateSource(src, configPath) {
  if (!fs.existsSync(src)) throw convertError(`${src}: no such file or folder`);
  const st = fs.statSync(src);
  if (st.isFile()) {
    const dir = path.dirname(src);
    if (src.endsWith('.npz')) {
      const cfg = configPath ?? path.join(dir, 'config.json');
      if (!fs.existsSync(cfg)) throw convertError(`${path.basename(src)}: an .npz needs --config config.json (the Hugging Face config of the model)`);
      return { kind: 'npz', dir, file: src, configPath: cfg };
    }
    if (src.endsWith('.safetensors')) return { kind: 'safetensors-file', dir, file: src, configPath: configPath ?? path.join(dir, 'config.json') };
    if (src.endsWith('.bin') || src.endsWith('.pt') || src.endsWith('.pth')) throw pytorchOnly(path.basename(src));
    throw convertError(`${src}: not a model folder, .safetensors or .npz file`);
  }
  const cfg = configPath ?? path.join(src, 'config.json');
  return { kind: 'folder', dir: src, configPath: cfg };
}

function pytorchOnly(what) {
  return convertError(`${what}: PyTorch pickle checkpoints are not read by vitrine (unpickling runs arbitrary code). ` +
    `Save the model as safetensors first: in Python, model = AutoModel.from_pretrained(dir); ` +
    `model.save_pretrained(dir, safe_serialization=True)`);
}

/**
 * Plan a conversion (read headers + configs, map names, check shapes) without writing anything.
 * Returns { manifest (without chunks / stream_size), plan: [{ name, shape, offset, parts:[entry] }], close }.
 */
export async function planConversion(src, opts = {}) {
  const dtype = opts.dtype ?? 'f32';
  if (!DTYPES.includes(dtype)) throw convertError(`--dtype must be one of ${DTYPES.join(', ')} (got ${JSON.stringify(opts.dtype)})`);
  if (fs.existsSync(src) && fs.statSync(src).isDirectory() && isVitrineModel(src)) return planFromVitrine(src, { ...opts, dtype });
  const loc = locateSource(src, opts.config);
  let source;
  if (loc.kind === 'npz') source = openNpz(loc.file);
  else if (loc.kind === 'safetensors-file') { const f = openSafetensors(loc.file); source = { format: 'safetensors', files: [f.file], tensors: f.tensors, close: f.close }; }
  else {
    source = openSafetensorsFolder(loc.dir);
    if (!source) {
      const names = fs.readdirSync(loc.dir);
      const pt = names.find((n) => /^pytorch_model.*\.bin(\.index\.json)?$/.test(n) || /\.(pt|pth)$/.test(n));
      if (pt) throw pytorchOnly(`${path.basename(loc.dir)}/${pt}`);
      const other = names.find((n) => /^(tf_model\.h5|flax_model\.msgpack)$/.test(n));
      if (other) throw convertError(`${path.basename(loc.dir)}/${other}: TensorFlow/Flax checkpoints are not supported; save the model as safetensors (model.save_pretrained(dir, safe_serialization=True))`);
      throw convertError(`${loc.dir}: no model.safetensors or model.safetensors.index.json`);
    }
  }
  const closers = [source.close];
  const close = () => closers.forEach((c) => { try { c(); } catch { /* already closed */ } });
  try {
    if (!fs.existsSync(loc.configPath)) {
      throw convertError(`${path.join(path.basename(loc.dir), 'config.json')}: missing (a Hugging Face model folder has a config.json; pass --config for an .npz)`);
    }
    const config = readJson(loc.configPath, 'config.json');
    return await plan(loc, config, source, opts, closers, close);
  } catch (e) {
    close();
    throw e;
  }
}

async function plan(loc, config, source, opts, closers, close) {
  const notes = [];
  const family = await familyForModelType(config.model_type);
  const arch = family.architecture(config);
  const srcLabel = (t) => `"${t.name}" (${t.file})`;

  // 1. Map HF names → canonical targets (the family's name table; the model prefix, e.g. "vit.", removed).
  const names = family.names(arch);
  const prefix = family.prefixes.find((p) => source.tensors.some((t) => t.name.startsWith(p))) ?? '';
  const targets = new Map(); // canonical → { parts: [entry], fused }
  const dropped = [];
  const unknown = [];
  for (const t of source.tensors) {
    const p = family.prefixes.find((x) => t.name.startsWith(x));
    const n = p ? t.name.slice(p.length) : t.name;
    if (family.dropped.some((re) => re.test(n))) { dropped.push(t.name); continue; }
    const m = names.toCanonical(n);
    if (!m) { unknown.push(t); continue; }
    if (t.error) throw convertError(t.error);
    let tg = targets.get(m.target);
    if (!tg) targets.set(m.target, (tg = { parts: [], fused: m.part !== undefined }));
    const slot = m.part ?? 0;
    if (tg.parts[slot]) throw convertError(`tensors ${srcLabel(tg.parts[slot])} and ${srcLabel(t)} both map to "${m.target}"`);
    tg.parts[slot] = t;
  }
  if (unknown.length) {
    const list = unknown.slice(0, 5).map(srcLabel).join(', ') + (unknown.length > 5 ? `, … (${unknown.length} in all)` : '');
    throw convertError(`unexpected tensor ${list}: not part of a ${config.model_type} model vitrine knows`);
  }

  // 2. Classifier kind from the tensors present, checked against config.architectures.
  const archNames = Array.isArray(config.architectures) ? config.architectures : [];
  const headJson = path.join(loc.dir, 'vitrine_head.json');
  let headExtra = null, headLabels = null;
  const has = (n) => targets.has(n);
  if (fs.existsSync(headJson)) {
    const head = readJson(headJson, 'vitrine_head.json');
    const headSt = path.join(loc.dir, 'vitrine_head.safetensors');
    if (!fs.existsSync(headSt)) throw convertError('vitrine_head.json is present but vitrine_head.safetensors is missing');
    const hf = openSafetensors(headSt);
    closers.push(hf.close);
    if (has('classifier.weight') || has('distillation_classifier.weight')) {
      throw convertError(`the checkpoint has a classifier ("classifier.weight") and a custom head (vitrine_head.json); keep one`);
    }
    // The engine checks the pooling (one the family offers) and every layer's width (tensorTable below).
    const { pooling, layers, output, labels, ...rest } = head;
    if (!Array.isArray(layers) || !layers.length) throw convertError('vitrine_head.json: "layers" must be a non-empty array');
    let width = 0;
    let lastLinear = -1;
    const cleanLayers = layers.map((layer, k) => {
      if (layer?.type === 'linear') {
        if (!Number.isInteger(layer.in) || !Number.isInteger(layer.out) || layer.out < 1) throw convertError(`vitrine_head.json: layer ${k}: linear needs integer "in" and "out"`);
        width = layer.out; lastLinear = k;
        return { type: 'linear', in: layer.in, out: layer.out };
      }
      if (layer?.type === 'relu' || layer?.type === 'gelu') return { type: layer.type };
      throw convertError(`vitrine_head.json: layer ${k}: unknown type ${JSON.stringify(layer?.type)} (linear, relu, gelu)`);
    });
    if (lastLinear < 0) throw convertError('vitrine_head.json: the head has no linear layer');
    if (!Array.isArray(labels) || labels.length !== width || !labels.every((s) => typeof s === 'string')) {
      throw convertError(`vitrine_head.json: "labels" must be ${width} strings (the head's output width)`);
    }
    arch.classifier = 'head';
    arch.num_labels = width;
    arch.head = { pooling, layers: cleanLayers, output };
    headLabels = labels;
    headExtra = Object.keys(rest).length ? rest : null;
    for (const t of hf.tensors) {
      const name = t.name.startsWith('head.') ? t.name : `head.${t.name}`;
      if (!/^head\.\d+\.(weight|bias)$/.test(name)) throw convertError(`vitrine_head.safetensors: unexpected tensor "${t.name}" (expected head.<k>.weight / head.<k>.bias)`);
      if (targets.has(name)) throw convertError(`vitrine_head.safetensors: tensor "${t.name}" appears twice`);
      if (t.error) throw convertError(t.error);
      targets.set(name, { parts: [t], fused: false });
    }
  } else if (family.classifier(has) !== 'none') {
    arch.classifier = family.classifier(has);
  } else {
    const wantsHead = archNames.find((a) => /ForImageClassification/.test(a));
    if (wantsHead) throw convertError(`missing tensor "classifier.weight": config.json says ${wantsHead} but the checkpoint has no classifier`);
  }
  family.checkpointFacts?.({ arch, shapeOf: (name) => targets.get(name)?.parts[0]?.shape, dropped, notes });
  if (arch.classifier === 'cls' || arch.classifier === 'cls+patchmean' || arch.classifier === 'cls+dist') {
    const w = targets.get('classifier.weight').parts[0];
    arch.num_labels = w.shape[0];
    if (archNames.some((a) => /Model$/.test(a)) && !archNames.some((a) => /ForImageClassification/.test(a))) {
      notes.push(`config.json lists ${archNames.join(', ')} but the checkpoint has a classifier; it is kept`);
    }
  }

  // 3. Expected tensors (the engine's table), shapes, and the layout.
  const expected = await tensorTable(arch, (m) => convertError(arch.classifier === 'head' ? `vitrine_head.json: ${m}` : m));
  const hfName = (name) => hfNameFor(name, family.names(arch), prefix);
  const planned = [];
  let offset = 0;
  for (const e of expected) {
    const tg = targets.get(e.name);
    if (!tg) throw convertError(`missing tensor "${e.name}" (Hugging Face name "${hfName(e.name)}")`);
    targets.delete(e.name);
    if (tg.fused) {
      const D = arch.hidden_size;
      const partShape = e.shape.length === 2 ? [D, D] : [D];
      ['query', 'key', 'value'].forEach((qkv, i) => {
        const t = tg.parts[i];
        if (!t) throw convertError(`missing tensor "${prefix}${names.toHf(e.name)[i]}" (needed for "${e.name}")`);
        if (!sameShape(t.shape, partShape)) throw convertError(`tensor ${srcLabel(t)}: shape ${shapeStr(t.shape)} but the architecture needs ${shapeStr(partShape)}`);
      });
    } else {
      const t = tg.parts[0];
      // A family may list tensors whose HF shape differs from vitrine's only in layout (same elements in the same
      // order, e.g. a [1+N, D] position table for [1, 1+N, D]).
      const relaid = family.reshaped?.includes(e.name) && numel(t.shape) === numel(e.shape);
      if (!sameShape(t.shape, e.shape) && !relaid) {
        throw convertError(`tensor "${e.name}" (from ${srcLabel(t)}): shape ${shapeStr(t.shape)} but the architecture needs ${shapeStr(e.shape)}`);
      }
    }
    planned.push({ name: e.name, shape: e.shape, mayI8: e.may_i8 === true, parts: tg.parts });
  }
  offset = layOut(planned, opts.dtype ?? 'f32');
  if (targets.size) {
    const [name, tg] = targets.entries().next().value;
    throw convertError(`unexpected tensor ${srcLabel(tg.parts.find(Boolean))} (maps to "${name}", which a ${arch.family} model with classifier "${arch.classifier}" does not have)`);
  }
  const conversions = new Set(source.tensors.filter((t) => t.kind && t.kind !== 'f32').map((t) => t.kind));
  for (const k of conversions) notes.push(`${k} weights converted to f32`);

  // 4. Labels.
  let labels = [];
  if (arch.classifier === 'head') labels = headLabels;
  else if (arch.num_labels > 0) {
    const id2label = config.id2label;
    if (id2label && typeof id2label === 'object') {
      const ids = Object.keys(id2label).map(Number).sort((a, b) => a - b);
      if (ids.length === arch.num_labels && ids.every((id, i) => id === i)) labels = ids.map((id) => String(id2label[id]));
      else throw convertError(`config.json: id2label has ${ids.length} labels (ids ${ids.slice(0, 3).join(',')}…) but "classifier.weight" has ${arch.num_labels} rows`);
    } else {
      labels = Array.from({ length: arch.num_labels }, (_, i) => `LABEL_${i}`);
      notes.push('config.json has no id2label; labels are LABEL_<i>');
    }
  }

  // 5. Preprocess.
  const ppPath = path.join(loc.dir, 'preprocessor_config.json');
  let ppRaw, ppSource;
  if (fs.existsSync(ppPath)) { ppRaw = readJson(ppPath, 'preprocessor_config.json'); ppSource = 'preprocessor_config.json'; }
  else { ppRaw = family.defaultPreprocess(arch); ppSource = `no preprocessor_config.json: ${ppRaw.image_processor_type} defaults for ${arch.family} at image_size ${arch.image_size}`; notes.push(ppSource); }
  const { preprocess, notes: ppNotes } = normalisePreprocess(ppRaw, family.fallbackProcessor);
  notes.push(...ppNotes);

  // --name, else the checkpoint's hub id, else the folder name (the parent when the folder is called "hf").
  const generic = ['hf', 'model', 'models', 'weights', 'checkpoint', ''];
  const candidates = [loc.file ? path.basename(loc.file).replace(/\.(npz|safetensors)$/, '') : '', path.basename(path.resolve(loc.dir)), path.basename(path.resolve(loc.dir, '..'))];
  const folderName = candidates.find((c) => !generic.includes(c)) ?? 'model';
  const name = opts.name ?? (typeof config._name_or_path === 'string' && config._name_or_path ? path.basename(config._name_or_path) : folderName);
  const metadata = {
    converter: `vitrine-convert ${CONVERTER_VERSION}`,
    source: { format: source.format, files: source.files, model_type: config.model_type, architectures: archNames },
    preprocess_source: ppSource,
    dropped,
    notes,
  };
  if (config.transformers_version) metadata.source.transformers_version = config.transformers_version;
  if (headExtra) metadata.head = headExtra;
  const manifest = {
    format: 'vitrine', version: 1, name, architecture: arch, labels, preprocess, metadata,
    alignment: ALIGN, chunk_size: 0, stream_size: offset,
    tensors: manifestTensors(planned),
    chunks: [],
  };
  if ((opts.dtype ?? 'f32') !== 'f32') notes.push(dtypeNote(opts.dtype));
  return { manifest, plan: planned, close };
}

/** What --dtype writes: int8 for the rows the engine's table allows (the blocks' Linear weights), f16 for every
 * tensor of 2+ dimensions (1-D ones — biases, norms, layer scales — stay f32: < 1 % of the bytes, and layer
 * scales near 1e-5 would be f16 subnormals). */
export const DTYPES = ['f32', 'f16', 'int8'];
const storedDtype = (p, dtype) => (dtype === 'int8' && p.mayI8 ? 'i8' : dtype === 'f16' && p.shape.length > 1 ? 'f16' : 'f32');
const dtypeNote = (dtype) => (dtype === 'int8'
  ? 'Linear weights (blocks, patch projection, classifier) stored as int8 (per output channel scale), everything else f32'
  : 'tensors of 2+ dimensions stored as f16, 1-D tensors f32');

/** Sets each planned tensor's dtype and offset (an i8 weight is followed by its "<name>.scale"); returns the
 * stream size. */
function layOut(planned, dtype) {
  let offset = 0;
  for (const p of planned) {
    p.dtype = storedDtype(p, dtype);
    const n = numel(p.shape);
    offset = Math.ceil(offset / ALIGN) * ALIGN;
    p.offset = offset;
    offset += n * { f32: 4, f16: 2, i8: 1 }[p.dtype];
    if (p.dtype === 'i8') {
      offset = Math.ceil(offset / ALIGN) * ALIGN;
      p.scaleOffset = offset;
      offset += p.shape[0] * 4;
    }
  }
  return offset;
}

function manifestTensors(planned) {
  const out = [];
  for (const p of planned) {
    out.push({ name: p.name, dtype: p.dtype, shape: p.shape, offset: p.offset });
    if (p.dtype === 'i8') out.push({ name: `${p.name}.scale`, dtype: 'f32', shape: [p.shape[0]], offset: p.scaleOffset });
  }
  return out;
}

/** Stream items for writeModelFolder. f32 sources pass through piece by piece; f16/i8 hold one tensor. */
function streamItems(planned) {
  const items = [];
  const f32Of = (p) => {
    if (p.readF32) return p.readF32();
    const out = new Float32Array(numel(p.shape));
    const bytes = new Uint8Array(out.buffer);
    let at = 0;
    for (const part of p.parts) part.read((b) => { bytes.set(b, at); at += b.length; });
    return out;
  };
  for (const p of planned) {
    const n = numel(p.shape);
    if (p.dtype === 'f32') {
      items.push({ name: p.name, offset: p.offset, bytes: n * 4, write: p.parts ? (sink) => { for (const part of p.parts) part.read(sink); } : (sink) => { const f = f32Of(p); sink(new Uint8Array(f.buffer, f.byteOffset, f.byteLength)); } });
    } else if (p.dtype === 'f16') {
      items.push({ name: p.name, offset: p.offset, bytes: n * 2, write: (sink) => sink(encodeF16(f32Of(p), p.name)) });
    } else {
      let scale = null;  // the weight's item quantizes; its scale item (next) writes what it kept
      const rows = p.shape[0];
      items.push({ name: p.name, offset: p.offset, bytes: n, write: (sink) => {
        const r = quantizeI8(f32Of(p), rows, n / rows);
        scale = r.scale;
        sink(new Uint8Array(r.q.buffer));
      } });
      items.push({ name: `${p.name}.scale`, offset: p.scaleOffset, bytes: rows * 4, write: (sink) => sink(new Uint8Array(scale.buffer)) });
    }
  }
  return items;
}

/** A vitrine model folder re-encoded: same architecture, labels, preprocess; tensors decoded to f32 and stored
 * as `dtype`. metadata.evaluation is dropped when the stored values change (it measured the source's). */
async function planFromVitrine(dir, opts) {
  const src = openVitrineModel(dir);
  const m = src.manifest;
  const expected = await tensorTable(m.architecture, (msg) => convertError(`${path.join(dir, 'manifest.json')}: ${msg}`));
  const planned = expected.map((e) => {
    const t = src.tensors.get(e.name);
    if (!t) throw convertError(`${dir}: missing tensor "${e.name}"`);
    const asIs = t.dtype === 'f32' && storedDtype({ shape: e.shape, mayI8: e.may_i8 === true }, opts.dtype) === 'f32';
    return { name: e.name, shape: e.shape, mayI8: e.may_i8 === true, readF32: () => src.readF32(e.name),
      parts: asIs ? [{ read: src.copy(t) }] : null };
  });
  const streamSize = layOut(planned, opts.dtype);
  const sourceDtypes = new Set(m.tensors.map((t) => t.dtype));
  const changed = planned.some((p) => p.dtype !== src.tensors.get(p.name).dtype) || sourceDtypes.has('i8') !== planned.some((p) => p.dtype === 'i8');
  const metadata = structuredClone(m.metadata ?? {});
  if (changed) delete metadata.evaluation;
  metadata.reencoded = { converter: `vitrine-convert ${CONVERTER_VERSION}`, from: m.name, source_dtypes: [...sourceDtypes].sort(), dtype: opts.dtype };
  if (opts.dtype !== 'f32') metadata.reencoded.note = dtypeNote(opts.dtype);
  const manifest = {
    format: 'vitrine', version: 1, name: opts.name ?? m.name, architecture: m.architecture, labels: m.labels,
    preprocess: m.preprocess, metadata, alignment: ALIGN, chunk_size: 0, stream_size: streamSize,
    tensors: manifestTensors(planned), chunks: [],
  };
  return { manifest, plan: planned, close: () => {} };
}

/** The Hugging Face name a canonical tensor comes from (for error messages). */
function hfNameFor(name, names, prefix) {
  if (name.startsWith('head.')) return `${name} in vitrine_head.safetensors`;
  const hf = names.toHf(name);
  if (hf === undefined) return name;
  // A fused tensor (q, k, v) is shown as its three parts; classifiers and CLIP's projection carry no model prefix.
  const full = (h) => (/^(classifier|cls_classifier|distillation_classifier|visual_projection)\./.test(h) ? h : prefix + h);
  if (!Array.isArray(hf)) return full(hf);
  const parts = hf.map((h) => h.split('.'));
  const at = parts[0].findIndex((p, i) => parts.some((q) => q[i] !== p));
  return full([...parts[0].slice(0, at), `{${parts.map((q) => q[at]).join(',')}}`, ...parts[0].slice(at + 1)].join('.'));
}

/**
 * Convert `src` (a Hugging Face checkpoint or a vitrine model folder) into the folder `outDir`. Options: { config,
 * chunkSize, name, dtype: 'f32' (default) | 'f16' | 'int8', onProgress({ written, total }) }.
 * Returns the manifest written.
 */
export async function convert(src, outDir, opts = {}) {
  const chunkSize = parseSize(opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  if (!Number.isInteger(chunkSize) || chunkSize < 64 || chunkSize % 64) throw convertError(`--chunk-size must be a multiple of 64 bytes, ≥ 64 (got ${opts.chunkSize})`);
  const { manifest, plan: planned, close } = await planConversion(src, opts);
  try {
    manifest.chunk_size = chunkSize;
    return await writeModelFolder(outDir, manifest, streamItems(planned), opts);
  } finally {
    close();
  }
}

export { chunkFileName, formatManifest };
