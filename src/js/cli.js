#!/usr/bin/env node
// vitrine command line: convert, inspect, classify, embed, train-head, forward.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ProgressBar } from './progress.js';
import { IMAGE_EXT, listImages, parseShard, shardOf, resumeJsonl, runBulk } from './bulk.js';
import { VitrineError } from './errors.js';

const USAGE = `usage:
  vitrine convert <hf-folder|model.npz|model-dir> -o <out-dir> [--dtype f32|f16|int8] [--config config.json]
          [--chunk-size 4M] [--name NAME]
  vitrine inspect <model-dir> [--json] [--verify]
  vitrine classify <model> <files or folders…> [--top 5] [--format csv|json|jsonl] [-o out] [--no-exif] [bulk]
          [--head file.head.safetensors [--any-backbone] [--own]]   (classify with that head in place of the model's
          classifier; --any-backbone: even if it was trained on another backbone of the same widths; --own: the
          model's own classifier's top-k beside the head's, from the same forward: CSV columns own_index,
          own_label, own_score, JSON/JSONL field "own")
  vitrine embed <model> <files or folders…> -o <out.npy|out.jsonl> [--pooling cls|mean|cls+mean|pooler|projection]
          [--no-exif] [bulk] [--head file.head.safetensors [--any-backbone]]   (default pooling: the one the --head reads, else the
          model's first, see inspect; the head is checked against the model)
  vitrine train-head <model> <folder with one sub-folder per label> -o <out-dir> [--hidden 0] [--epochs 100]
          [--lr 0.001] [--weight-decay 0.0001] [--batch 64] [--val 0.2] [--pooling cls|mean|cls+mean] [--seed 0]
          [--name NAME] [--no-exif] [--loss softmax|bce] [--cache <dir>] [-v]
          (writes <out-dir>: a model folder + head.head.safetensors, curve.svg, predictions.csv; embeddings are
          cached in --cache, default <out-dir>/embeddings-cache)
  vitrine forward <model> --pixels x.npy -o out.json
common: --threads N  --build mt|st   (<model> = a model folder, manifest path or URL, or "default")
bulk:   --jobs N (worker threads, each with its own engine; default: all cores)  --shard i/n (0 ≤ i < n)
        --resume (with -o out.jsonl: skip the files already in it)`;


class UsageError extends Error {}

/** <model> as a local folder: "default" is the bundled model. */
const modelDir = (p) => (p === 'default' ? fileURLToPath(new URL('../../weights/cifar10-vit', import.meta.url)) : p);

function opts(args, spec) {
  const common = {
    threads: { type: 'string' }, build: { type: 'string' }, output: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' }, quiet: { type: 'boolean', short: 'q' },
  };
  try {
    return parseArgs({ args, options: { ...common, ...spec }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e.message);
  }
}

function intOpt(v, name, min = 1) {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

function numOpt(v, name, min, max) {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

function loadOptions(values) {
  const o = {};
  if (values.threads !== undefined) o.threads = intOpt(values.threads, 'threads');
  if (values.build !== undefined) {
    if (!['mt', 'st'].includes(values.build)) throw new UsageError(`--build must be mt or st, got ${values.build}`);
    o.build = values.build;
  }
  // --head: attached at load, in this thread and in every bulk worker (an absolute path: workers may run elsewhere).
  if (values.head !== undefined) o.head = path.resolve(values.head);
  if (values['any-backbone']) o.anyBackbone = true;
  return o;
}

async function loadModel(source, values) {
  const { load } = await import('./index.js');
  const bar = new ProgressBar({ label: 'loading', unit: 'B' });
  const model = await load(source === 'default' ? undefined : source, {
    ...loadOptions(values),
    onProgress: values.quiet ? undefined : ({ loaded, total }) => bar.update(loaded, total),
  });
  bar.done();
  return model;
}

const csvCell = (s) => (/[",\n]/.test(String(s)) ? `"${String(s).replace(/"/g, '""')}"` : String(s));

async function cmdConvert(args) {
  const { values, positionals } = opts(args, { config: { type: 'string' }, 'chunk-size': { type: 'string' }, name: { type: 'string' }, dtype: { type: 'string' } });
  if (values.help) return console.log(USAGE);
  if (positionals.length !== 1 || !values.output) throw new UsageError('convert needs <src> and -o <out-dir>');
  const { convert } = await import('./convert/index.js');
  const bar = new ProgressBar({ label: 'converting', unit: 'B' });
  const m = await convert(positionals[0], values.output, {
    config: values.config, chunkSize: values['chunk-size'], name: values.name, dtype: values.dtype,
    onProgress: ({ written, total }) => bar.update(written, total),
  });
  bar.done();
  const a = m.architecture;
  if (!values.quiet) {
    console.log(`${values.output}: ${m.name} — ${a.family} D=${a.hidden_size} L=${a.num_hidden_layers} classifier=${a.classifier} (${a.num_labels} labels), ` +
      `${m.stream_size} bytes in ${m.chunks.length} chunks`);
    for (const n of m.metadata.notes ?? []) console.log(`  note: ${n}`);
    if (m.metadata.reencoded?.note) console.log(`  note: ${m.metadata.reencoded.note}`);
    if (m.metadata.dropped?.length) console.log(`  dropped: ${m.metadata.dropped.join(', ')}`);
  }
  return 0;
}

async function cmdInspect(args) {
  const { values, positionals } = opts(args, { json: { type: 'boolean' }, verify: { type: 'boolean' } });
  if (values.help) return console.log(USAGE);
  if (positionals.length !== 1) throw new UsageError('inspect needs <model-dir>');
  const { describe, formatDescription } = await import('./inspect.js');
  const d = describe(modelDir(positionals[0]), { verify: values.verify });
  console.log(values.json ? JSON.stringify(d, null, 2) : formatDescription(d));
  return d.problems.length ? 1 : 0;
}

function reportFailure(bar, file, e) {
  if (bar.enabled) process.stderr.write('\r\x1b[K');
  process.stderr.write(`vitrine: ${file}: ${e.message} [${e.code}]\n`);
}

async function forEachImage(model, inputs, values, fn) {
  const files = listImages(inputs).map((e) => e.path);
  if (!files.length) throw new UsageError('no image files found');
  const bar = new ProgressBar({ label: 'images', force: false });
  if (files.length < 4 || values.quiet) bar.enabled = false;
  let failed = 0;
  for (const [i, f] of files.entries()) {
    try {
      await fn(f);
    } catch (e) {
      if (!e.code) throw e; // a bug, not a bad file
      failed++;
      reportFailure(bar, f, e);
    }
    bar.update(i + 1, files.length);
  }
  bar.done();
  return { files, failed };
}

function writeOut(values, text) {
  if (values.output) fs.writeFileSync(values.output, text);
  else process.stdout.write(text);
}

const BULK_OPTIONS = { jobs: { type: 'string' }, shard: { type: 'string' }, resume: { type: 'boolean' } };
const HEAD_OPTION = { head: { type: 'string' }, 'any-backbone': { type: 'boolean' } };

/** --head's file, read and checked before any worker starts (E_HEAD names what is wrong with it). */
async function readHeadOption(values) {
  if (values.head === undefined) return null;
  const { decodeHead } = await import('./head/file.js');
  let bytes;
  try { bytes = fs.readFileSync(values.head); } catch (e) { throw new UsageError(`--head ${values.head}: cannot read (${e.code ?? e.message})`); }
  return decodeHead(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
}

/**
 * How many workers' copies of a local model fit in 70 % of the free memory (each: its weights plus ~100 MB of
 * module, heap and thread); a model given by URL is not measured (Infinity).
 */
function workersThatFit(source) {
  let bytes;
  try {
    const p = modelDir(source);
    const manifest = fs.statSync(p).isDirectory() ? path.join(p, 'manifest.json') : p;
    bytes = JSON.parse(fs.readFileSync(manifest, 'utf8')).stream_size;
  } catch {
    return Infinity; // a URL, or a model that load() will report on
  }
  return Number.isFinite(bytes) ? Math.max(1, Math.floor((0.7 * os.freemem()) / (bytes + 100 * 2 ** 20))) : Infinity;
}

/**
 * classify/embed inputs after --shard and --resume, and how many worker threads run them. Without --jobs: one per
 * core, each with a single-thread engine (docs/BULK.md has the measurement behind this default), as many as fit
 * in memory, unless --threads or --build mt ask for one multi-threaded engine in this thread.
 */
function bulkPlan(values, source, inputs, { resumable, mismatch }) {
  let entries = listImages(inputs);
  if (!entries.length) throw new UsageError('no image files found');
  if (values.shard !== undefined) {
    const s = parseShard(values.shard);
    if (!s) throw new UsageError(`--shard must be i/n with 0 ≤ i < n, got ${JSON.stringify(values.shard)}`);
    entries = entries.filter((e) => shardOf(e.rel, s.count) === s.index);
  }
  let skipped = 0;
  if (values.resume) {
    if (!resumable) throw new UsageError('--resume needs -o <out>.jsonl (one line per file, written as each is done)');
    const done = resumeJsonl(values.output, mismatch);
    const before = entries.length;
    entries = entries.filter((e) => !done.has(e.path));
    skipped = before - entries.length;
  }
  const oneEngine = values.threads !== undefined || values.build === 'mt';
  const jobs = intOpt(values.jobs, 'jobs') ?? (oneEngine ? 1 : Math.min(os.availableParallelism?.() ?? os.cpus().length, workersThatFit(source)));
  return { files: entries.map((e) => e.path), skipped, jobs: Math.max(1, Math.min(jobs, entries.length)) };
}

/** Where streamed output lines go: -o (appended to with --resume) or stdout. */
function lineSink(values) {
  if (!values.output) return { write: (t) => process.stdout.write(t), close() {} };
  const fd = fs.openSync(values.output, values.resume ? 'a' : 'w');
  // One write per line: a kill leaves at most a partial last line, which --resume truncates away.
  return { write: (t) => fs.writeSync(fd, t), close: () => fs.closeSync(fd) };
}

/**
 * Run a bulk plan; onResult(file, value) in input order. → { failed: number of files that failed, taskOptions as the
 * engine resolved them (undefined when there was nothing to do) }.
 */
async function runPlan(values, source, task, taskOptions, plan, onResult) {
  const { files, jobs, skipped } = plan;
  if (skipped && !values.quiet) process.stderr.write(`vitrine: ${skipped} file(s) already in ${values.output}, ${files.length} to go\n`);
  if (!files.length) return { failed: 0 };
  const bar = new ProgressBar({ label: 'images' });
  if (files.length < 4 || values.quiet) bar.enabled = false;
  let failed = 0;
  const explicit = values.threads !== undefined || values.build !== undefined;
  const run = await runBulk({
    files, task, taskOptions, jobs,
    source: source === 'default' ? undefined : source,
    loadOptions: explicit ? loadOptions(values) : { ...loadOptions(values), build: 'st' },
    loadModel: () => loadModel(source, values),
    onResult: (i, value) => onResult(files[i], value),
    onError: (i, e) => { failed++; reportFailure(bar, files[i], e); },
    onProgress: (n, total) => bar.update(n, total),
  });
  bar.done();
  return { failed, taskOptions: run.taskOptions };
}

const CSV_COLUMNS = ['file', 'rank', 'index', 'label', 'score'];
const OWN_CSV_COLUMNS = ['own_index', 'own_label', 'own_score'];

/**
 * A file's CSV lines, one per rank: the head's (or the model's) prediction of that rank and, with --own, the
 * model's own classifier's beside it. The two may rank different numbers of labels (a head of 2 labels under
 * --top 5): the shorter side's cells are left empty.
 */
function csvLines(file, top, own) {
  const cells = (p) => (p ? [p.index, p.label, p.score.toFixed(6)] : ['', '', '']);
  const ranks = Math.max(top.length, own?.length ?? 0);
  return Array.from({ length: ranks }, (_, k) => [file, k + 1, ...cells(top[k]), ...(own ? cells(own[k]) : [])].map(csvCell).join(',') + '\n').join('');
}

async function cmdClassify(args) {
  const { values, positionals } = opts(args, { top: { type: 'string' }, format: { type: 'string' }, 'no-exif': { type: 'boolean' }, own: { type: 'boolean' }, ...BULK_OPTIONS, ...HEAD_OPTION });
  if (values.help) return console.log(USAGE);
  if (positionals.length < 2) throw new UsageError('classify needs <model> and at least one file or folder');
  // Without a head the model's own classifier is the one classify runs: --own would repeat every prediction, and
  // most likely a --head was forgotten.
  const own = !!values.own;
  if (own && values.head === undefined) throw new UsageError("--own needs --head: it adds the model's own classifier beside the head's, and without a head classify already gives the model's own");
  await readHeadOption(values);
  const topK = intOpt(values.top, 'top') ?? 5;
  const format = values.format ?? (values.output?.endsWith('.json') ? 'json' : values.output?.endsWith('.jsonl') ? 'jsonl' : 'csv');
  if (!['csv', 'json', 'jsonl'].includes(format)) throw new UsageError(`--format must be csv, json or jsonl, got ${format}`);
  // A resumed file keeps one kind of line: all with the model's own predictions or none.
  const mismatch = (rec) => (own === ('own' in rec) ? null : own ? 'a line without "own" (written without --own)' : 'a line with "own" (written with --own)');
  const plan = bulkPlan(values, positionals[0], positionals.slice(1), { resumable: format === 'jsonl' && !!values.output, mismatch });
  const results = [];
  const sink = format === 'json' ? null : lineSink(values);
  // The CSV header goes out with the first result (or at the end of a run where every file failed): a run that
  // stops at once (a model that cannot load, E_NO_CLASSIFIER) leaves no output behind.
  let header = format === 'csv' ? [...CSV_COLUMNS, ...(own ? OWN_CSV_COLUMNS : [])].join(',') + '\n' : '';
  const write = (text) => { sink.write(header + text); header = ''; };
  let failed;
  try {
    // With own: true the API gives { top, own } from one forward pass per file, in every worker.
    ({ failed } = await runPlan(values, positionals[0], 'classify', { topK, exif: !values['no-exif'], own }, plan, (file, value) => {
      const record = own ? { file, predictions: value.top, own: value.own } : { file, predictions: value };
      if (format === 'json') results.push(record);
      else if (format === 'jsonl') write(JSON.stringify(record) + '\n');
      else write(csvLines(file, record.predictions, record.own));
    }));
    if (header) write('');
  } catch (e) {
    if (own && e.code === 'E_NO_CLASSIFIER') throw new VitrineError(e.code, `--own: ${e.message}`, { cause: e });
    throw e;
  } finally {
    sink?.close();
  }
  if (format === 'json') writeOut(values, JSON.stringify(results, null, 2) + '\n');
  return failed ? 1 : 0;
}

async function cmdEmbed(args) {
  const { values, positionals } = opts(args, { pooling: { type: 'string' }, 'no-exif': { type: 'boolean' }, ...BULK_OPTIONS, ...HEAD_OPTION });
  if (values.help) return console.log(USAGE);
  if (positionals.length < 2) throw new UsageError('embed needs <model> and at least one file or folder');
  if (!values.output || !/\.(npy|jsonl)$/.test(values.output)) throw new UsageError('embed needs -o <out.npy> or -o <out.jsonl>');
  // Resolved by the loaded engine (Model.resolvePooling, in each worker): no --pooling is the pooling a --head
  // reads, else the model's default; one the model lacks is an E_INPUT that stops the run.
  const headPooling = (await readHeadOption(values))?.pooling;
  const jsonl = values.output.endsWith('.jsonl');
  const plan = bulkPlan(values, positionals[0], positionals.slice(1), { resumable: jsonl });
  const rows = [];
  const sink = jsonl ? lineSink(values) : null;
  let failed, pooling;
  try {
    ({ failed, taskOptions: { pooling } = {} } = await runPlan(values, positionals[0], 'embed', { pooling: values.pooling ?? headPooling, exif: !values['no-exif'] }, plan, (file, embedding) => {
      if (jsonl) sink.write(JSON.stringify({ file, embedding: Array.from(embedding) }) + '\n');
      else rows.push({ file, embedding });
    }));
  } finally {
    sink?.close();
  }
  if (!jsonl) {
    const { writeNpy } = await import('./npy.js');
    const dim = rows.length ? rows[0].embedding.length : 0;
    const all = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => all.set(r.embedding, i * dim));
    fs.writeFileSync(values.output, writeNpy(all, [rows.length, dim]));
    // Row i of the array is the i-th file listed here.
    fs.writeFileSync(values.output.replace(/\.npy$/, '.files.txt'), rows.map((r) => r.file).join('\n') + (rows.length ? '\n' : ''));
  }
  // No pooling when there was nothing left to embed (--resume of a finished run): no model was loaded.
  if (!values.quiet) process.stderr.write(`${plan.files.length - failed} embeddings${pooling ? ` (${pooling})` : ''} → ${values.output}${failed ? `, ${failed} failed` : ''}\n`);
  return failed ? 1 : 0;
}

// The student's recipe made instant: embed a folder of labelled photos with a model's backbone, train a small
// head on the embeddings (src/js/head/train.js), and write a new model = backbone + head that classifies with
// those labels everywhere a model loads (page, API, CLI), plus the head alone as a head file, the training curve
// and the validation predictions. Embeddings are cached on disk (src/js/head/cache.js): a second run with other
// hyper-parameters does not run the backbone.
async function cmdTrainHead(args) {
  const { values, positionals } = opts(args, {
    hidden: { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' }, 'weight-decay': { type: 'string' },
    batch: { type: 'string' }, val: { type: 'string' }, pooling: { type: 'string' }, seed: { type: 'string' },
    name: { type: 'string' }, 'no-exif': { type: 'boolean' }, loss: { type: 'string' }, cache: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
  });
  if (values.help) return console.log(USAGE);
  if (positionals.length !== 2 || !values.output) throw new UsageError('train-head needs <model> <labelled-folder> -o <out-dir>');
  const loss = values.loss ?? 'softmax';
  if (!['softmax', 'bce'].includes(loss)) throw new UsageError(`--loss must be softmax or bce, got ${loss}`);
  const o = {
    hidden: intOpt(values.hidden, 'hidden', 0) ?? 0, epochs: intOpt(values.epochs, 'epochs') ?? 100,
    lr: numOpt(values.lr, 'lr', 1e-6, 1) ?? 1e-3, weightDecay: numOpt(values['weight-decay'], 'weight-decay', 0, 1) ?? 1e-4,
    batch: intOpt(values.batch, 'batch') ?? 64, valFraction: numOpt(values.val, 'val', 0, 0.9) ?? 0.2,
    seed: intOpt(values.seed, 'seed', 0) ?? 0, loss,
  };
  const base = modelDir(positionals[0]);
  if (/^[a-z]+:/i.test(base) && !fs.existsSync(base)) throw new UsageError('train-head needs the base model as a local folder');
  const root = positionals[1];
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new UsageError(`${root}: not a folder`);
  const classes = fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)
    .sort((a, b) => a.localeCompare(b));
  if (classes.length < 2) throw new UsageError(`${root}: needs one sub-folder of images per label, at least 2 (found ${classes.length})`);
  if (loss === 'bce' && classes.length !== 2) throw new UsageError(`--loss bce needs exactly two labels (sub-folders), found ${classes.length}`);
  const labelOf = new Map();
  for (const [i, c] of classes.entries()) {
    const files = listImages([path.join(root, c)]).map((e) => e.path);
    if (!files.length) throw new UsageError(`${path.join(root, c)}: no image files (${[...IMAGE_EXT].join(' ')})`);
    for (const f of files) labelOf.set(f, i);
  }
  const say = values.quiet ? () => {} : (line) => process.stderr.write(`${line}\n`);
  const exif = !values['no-exif'];
  const cacheDir = values.cache ?? path.join(values.output, 'embeddings-cache');

  const { EmbeddingCache, sha256 } = await import('./head/cache.js');
  const { readManifest } = await import('./inspect.js');
  const manifestFile = readManifest(base).path;
  // Checked before anything is written (the default cache lives in the output folder).
  if (path.resolve(values.output) === path.resolve(path.dirname(manifestFile))) {
    throw new UsageError(`the output folder must not be the base model's folder (${path.dirname(manifestFile)})`);
  }
  const baseManifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  const cache = new EmbeddingCache(cacheDir, fs.readFileSync(manifestFile));
  const shaOf = new Map([...labelOf.keys()].map((f) => [f, sha256(fs.readFileSync(f))]));
  let facts = cache.modelFacts();
  let pooling = values.pooling ?? facts?.poolings[0];
  if (facts && !facts.poolings.includes(pooling)) {
    throw new UsageError(`--pooling must be one of ${facts.poolings.join(', ')} for this ${baseManifest.architecture.family} model, got ${pooling}`);
  }
  const embeddings = new Map();
  if (facts) for (const f of labelOf.keys()) { const e = cache.get(facts, pooling, exif, shaOf.get(f)); if (e) embeddings.set(f, e); }
  const fromCache = embeddings.size;
  let failed = 0;
  const missing = [...labelOf.keys()].filter((f) => !embeddings.has(f));
  if (missing.length) {
    const model = await loadModel(base, values);
    try {
      const b = model.info.backbone;
      facts = { fingerprint: b.fingerprint, encoding: [...new Set(baseManifest.tensors.map((t) => t.dtype))].sort().join('+'),
        poolings: [...model.info.poolings], pooledWidths: { ...b.input_dim } };
      cache.saveModelFacts(facts);
      pooling = model.resolvePooling(values.pooling);
      ({ failed } = await forEachImage(model, missing, values, async (file) => {
        const e = await model.embed(file, { pooling, exif });
        cache.put(facts, pooling, exif, shaOf.get(file), e);
        embeddings.set(file, e);
      }));
    } finally {
      await model.dispose();
    }
  }
  const computed = missing.length - failed;
  const cacheLine = `train-head: embeddings: ${computed} computed by the engine, ${fromCache} from the cache (${cacheDir})`;
  if (values.verbose) say(cacheLine);
  const rows = [...labelOf.keys()].filter((f) => embeddings.has(f)).map((file) => ({ file, label: labelOf.get(file), embedding: embeddings.get(file) }));
  const counts = classes.map((_, i) => rows.filter((r) => r.label === i).length);
  const empty = classes.filter((_, i) => !counts[i]);
  if (empty.length) throw new UsageError(`no usable image for label(s) ${empty.join(', ')}`);
  const dim = rows[0].embedding.length;
  const features = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => features.set(r.embedding, i * dim));
  const labels = rows.map((r) => r.label);

  say(`train-head: ${classes.length} labels (${classes.map((c, i) => `${c} ${counts[i]}`).join(', ')}), ${rows.length} images` +
    `${failed ? ` (${failed} unreadable, left out)` : ''}, ${pooling} embeddings of ${dim}`);
  const pct = (x) => (x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
  const { trainHead } = await import('./head/train.js');
  const every = Math.max(1, Math.round(o.epochs / 10));
  const res = trainHead(features, labels, { dim, numClasses: classes.length, ...o,
    onEpoch: (r) => { if (r.epoch % every === 0 || r.epoch === o.epochs) say(`  epoch ${r.epoch}: loss ${r.trainLoss.toFixed(4)}, train ${pct(r.trainAcc)}` +
      `${r.valAcc === undefined ? '' : `, validation loss ${r.valLoss.toFixed(4)}, ${pct(r.valAcc)}`}`); } });
  const report = {
    base: path.resolve(base), folder: path.resolve(root), labels: classes, counts, pooling, exif, ...o,
    images: rows.length, unreadable: failed, train: res.split.train.length, validation: res.split.val.length,
    trainAccuracy: res.trainAccuracy, valAccuracy: res.valAccuracy, confusion: res.confusion, history: res.history,
  };
  // The model folder: a one-output sigmoid head names its positive class (FORMAT: one label per output).
  const modelLabels = res.output === 'sigmoid' ? [classes[1]] : classes;
  const { writeHeadModel } = await import('./head/model.js');
  const training = { ...report, base: path.basename(path.resolve(base)), folder: path.basename(path.resolve(root)), history: undefined };
  const m = await writeHeadModel(base, values.output, { pooling, layers: res.layers, output: res.output, tensors: res.tensors, labels: modelLabels },
    { name: values.name, metadata: training });
  // The head alone, to attach to the base model or any encoding of it (model.setHead, --head).
  const { encodeHead } = await import('./head/file.js');
  const backbone = { name: baseManifest.name, family: baseManifest.architecture.family, hidden_size: baseManifest.architecture.hidden_size,
    input_dim: dim, fingerprint: facts.fingerprint };
  fs.writeFileSync(path.join(values.output, 'head.head.safetensors'),
    encodeHead({ pooling, layers: res.layers, output: res.output, labels: classes, tensors: res.tensors, backbone, training: JSON.parse(JSON.stringify(training)) }));
  const { curveSvg } = await import('./head/curve.js');
  fs.writeFileSync(path.join(values.output, 'curve.svg'), curveSvg(res.history, { title: `${classes.join(' / ')}: head on ${baseManifest.name}` }));
  fs.writeFileSync(path.join(values.output, 'predictions.csv'), 'file,true,predicted,probability\n' +
    res.valPredictions.map((p) => [rows[p.row].file, classes[p.label], classes[p.predicted], p.probability.toFixed(6)].map(csvCell).join(',') + '\n').join(''));
  // The full report, with each validation image's probabilities (what the new model must give for it).
  report.validationImages = res.split.val.map((row, r) => ({ file: rows[row].file, label: classes[labels[row]],
    probabilities: Array.from(res.valProbabilities.subarray(r * classes.length, (r + 1) * classes.length)) }));
  fs.writeFileSync(path.join(values.output, 'head-training.json'), JSON.stringify(report, null, 1) + '\n');
  if (res.split.val.length) {
    const w = Math.max(...classes.map((c) => c.length), 5);
    say(`validation accuracy ${pct(res.valAccuracy)} on ${res.split.val.length} images (training ${pct(res.trainAccuracy)}); rows = true label, columns = predicted:`);
    say(`  ${''.padEnd(w)} ${classes.map((c) => c.padStart(w)).join(' ')}`);
    res.confusion.forEach((row, i) => say(`  ${classes[i].padEnd(w)} ${row.map((v) => String(v).padStart(w)).join(' ')}`));
  } else {
    say(`training accuracy ${pct(res.trainAccuracy)}; no validation images (--val ${o.valFraction}: ` +
      `${o.valFraction ? 'too few images per label to hold some out' : 'none held out'})`);
  }
  const outs = res.layers.at(-1).out;
  say(`${values.output}: ${m.name} — ${o.hidden ? `MLP head (${dim} → ${o.hidden} → ${outs})` : `linear head (${dim} → ${outs})`} ` +
    `on ${pooling}${res.output === 'sigmoid' ? ', sigmoid output' : ''}; head.head.safetensors, curve.svg, predictions.csv, head-training.json`);
  return failed ? 1 : 0;
}

async function cmdForward(args) {
  const { values, positionals } = opts(args, { pixels: { type: 'string' } });
  if (values.help) return console.log(USAGE);
  if (positionals.length !== 1 || !values.pixels) throw new UsageError('forward needs <model> --pixels x.npy [-o out.json]');
  const { readNpy } = await import('./npy.js');
  const { shape, data } = readNpy(fs.readFileSync(values.pixels), path.basename(values.pixels));
  const s = shape.length === 4 && shape[0] === 1 ? shape.slice(1) : shape;
  if (s.length !== 3) throw new UsageError(`--pixels must be [1,C,H,W] or [C,H,W], got [${shape}]`);
  const model = await loadModel(positionals[0], { ...values, quiet: true });
  try {
    const out = await model.forward(data, { height: s[1], width: s[2] });
    const json = { numTokens: out.numTokens, hiddenSize: out.hiddenSize, lastHiddenState: Array.from(out.lastHiddenState) };
    if (out.logits) json.logits = Array.from(out.logits);
    if (out.poolerOutput) json.poolerOutput = Array.from(out.poolerOutput);
    if (out.imageEmbeds) json.imageEmbeds = Array.from(out.imageEmbeds);
    json.build = model.info.build; json.threads = model.info.threads;
    writeOut(values, JSON.stringify(json) + '\n');
  } finally {
    await model.dispose();
  }
  return 0;
}

const COMMANDS = { convert: cmdConvert, inspect: cmdInspect, classify: cmdClassify, embed: cmdEmbed, 'train-head': cmdTrainHead, forward: cmdForward };

export async function main(argv) {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') { console.log(USAGE); return cmd ? 0 : 2; }
  if (cmd === '--version' || cmd === '-v') {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    console.log(`vitrine ${pkg.version}`);
    return 0;
  }
  const fn = COMMANDS[cmd];
  if (!fn) { console.error(`vitrine: unknown command "${cmd}"\n${USAGE}`); return 2; }
  try {
    return (await fn(rest)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) { console.error(`vitrine ${cmd}: ${e.message}\n${USAGE}`); return 2; }
    if (e.code && typeof e.code === 'string' && e.code.startsWith('E_')) { console.error(`vitrine ${cmd}: ${e.message} [${e.code}]`); return 1; }
    throw e;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Pthread workers of the mt build would keep the process alive.
  setTimeout(() => process.exit(code), 0).unref?.();
}, (e) => { console.error(e); process.exit(70); });
