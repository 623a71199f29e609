// Bulk runs of classify/embed for the CLI (Node only): listing a folder's images, taking a deterministic shard of
// them, resuming into a JSONL output that a killed run left behind, and spreading the images over worker
// threads (each with its own engine) while writing results in input order. Scheduling across machines is left
// to existing tools (GNU parallel, Kubernetes Indexed Jobs: docs/BULK.md); each process only needs --shard.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { VitrineError } from './errors.js';

// What the engine decodes (src/engine/image/decode.cpp: JPEG, PNG, BMP, GIF); other files in a folder are left out.
export const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.bmp', '.gif']);

const slash = (p) => p.split(path.sep).join('/');
// Code-point order, not localeCompare: the listing must not depend on the machine's locale.
const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Files and folders (recursively, image extensions only) in a stable order → [{ path, rel }]. `rel` is the path
 * relative to the folder named on the command line (a file named directly: its path as written), with '/'
 * separators: what --shard hashes, so every machine shards alike wherever the data is mounted.
 */
export function listImages(inputs) {
  const out = [];
  const walk = (root, dir) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true }).sort(byName)) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(root, p);
      else if (IMAGE_EXT.has(path.extname(ent.name).toLowerCase())) out.push({ path: p, rel: slash(path.relative(root, p)) });
    }
  };
  for (const i of inputs) {
    let st;
    try { st = fs.statSync(i); } catch { st = null; } // a missing file is reported as a failure when it is read
    if (st?.isDirectory()) walk(i, i); else out.push({ path: i, rel: slash(path.normalize(i)) });
  }
  return out;
}

/** "i/n" (0 ≤ i < n, as Kubernetes' JOB_COMPLETION_INDEX counts) → { index, count }, or null for a bad spec. */
export function parseShard(spec) {
  const m = /^(\d+)\/(\d+)$/.exec(String(spec));
  if (!m) return null;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return count >= 1 && index < count ? { index, count } : null;
}

/** The shard (0 … count-1) a relative path belongs to: the first 32 bits of its SHA-256, mod count. */
export function shardOf(rel, count) {
  return createHash('sha256').update(rel).digest().readUInt32BE(0) % count;
}

/**
 * Prepare a JSONL output for --resume: a last line without its newline (the process was killed while writing it)
 * is truncated away, so its input is redone. → the set of `file` values already written. A missing file is an
 * empty set; a complete line that is not a JSON object with a `file` is an E_INPUT error (not our output), and so
 * is one that `mismatch(record)` describes (→ what is wrong with it, or null): output of another kind of run.
 */
export function resumeJsonl(file, mismatch = () => null) {
  let buf;
  try { buf = fs.readFileSync(file); } catch (e) {
    if (e.code === 'ENOENT') return new Set();
    throw new VitrineError('E_INPUT', `${file}: cannot read the output to resume (${e.code ?? e.message})`, { cause: e });
  }
  const end = buf.lastIndexOf(0x0a) + 1;
  const done = new Set();
  buf.subarray(0, end).toString('utf8').split('\n').forEach((line, n) => {
    if (!line) return;
    let rec;
    try { rec = JSON.parse(line); } catch { rec = null; }
    if (typeof rec?.file !== 'string') throw new VitrineError('E_INPUT', `${file}:${n + 1}: not a line of vitrine JSONL output (no "file"); refusing to resume into it`);
    const wrong = mismatch(rec);
    if (wrong) throw new VitrineError('E_INPUT', `${file}:${n + 1}: ${wrong}; refusing to resume into it`);
    done.add(rec.file);
  });
  if (end < buf.length) fs.truncateSync(file, end);
  return done;
}

/**
 * `taskOptions` as the loaded `model` runs them: embed's pooling resolved by the API (Model.resolvePooling: the
 * model's default when none is given), so the caller can name it and a pooling the model lacks fails once, at load.
 */
export function resolveTask(model, task, taskOptions) {
  return task === 'embed' ? { ...taskOptions, pooling: model.resolvePooling(taskOptions.pooling) } : taskOptions;
}

// Errors that every file of the run would give (a pooling the model lacks, classify without a classifier): the run
// stops at the first instead of reporting each file.
const RUN_ERRORS = new Set(['E_INPUT', 'E_NO_CLASSIFIER']);

/**
 * Run `task` ('classify' | 'embed') with `taskOptions` on every file, on `jobs` worker threads (each loads its own
 * engine with `loadOptions`), or in this thread with an already loaded `model` when jobs is 1. `onResult(i, value)`
 * is called in input order, once per file that succeeded; `onError(i, error)` for a file that failed with a
 * VitrineError (bad image). A failure to load the model, an error of the whole run (RUN_ERRORS), or any other
 * error rejects. → { taskOptions } as the engines resolved them (resolveTask).
 */
export async function runBulk({ files, task, taskOptions, jobs, source, loadOptions, loadModel, onResult, onError, onProgress }) {
  let emitted = 0;
  const pending = new Map();
  const settle = (i, outcome) => {
    pending.set(i, outcome);
    while (pending.has(emitted)) {
      const o = pending.get(emitted);
      pending.delete(emitted);
      if (o.error) onError(emitted, o.error); else onResult(emitted, o.value);
      emitted++;
      onProgress?.(emitted, files.length);
    }
  };

  if (jobs <= 1) {
    const model = await loadModel();
    try {
      const resolved = resolveTask(model, task, taskOptions);
      for (const [i, f] of files.entries()) {
        try {
          settle(i, { value: await model[task](f, resolved) });
        } catch (e) {
          if (!(e instanceof VitrineError) || RUN_ERRORS.has(e.code)) throw e; // a bug or a bad run, not a bad file
          settle(i, { error: e });
        }
      }
      return { taskOptions: resolved };
    } finally {
      await model.dispose();
    }
  }

  const workers = [];
  let resolved;
  try {
    await new Promise((resolve, reject) => {
      let next = 0;
      let running = 0;
      // Two images in flight per worker: it starts the next while this thread handles the last result.
      const feed = (w) => {
        while (w.inFlight < 2 && next < files.length) {
          w.inFlight++;
          w.postMessage({ i: next, file: files[next++] });
        }
        if (!w.inFlight && !w.finished) { w.finished = true; if (--running === 0) resolve(); }
      };
      for (let k = 0; k < jobs; k++) {
        const w = new Worker(new URL('./bulk-worker.js', import.meta.url), { workerData: { source, loadOptions, task, taskOptions } });
        w.inFlight = 0;
        running++;
        workers.push(w);
        w.on('message', (m) => {
          if (m.ready) { resolved ??= m.taskOptions; return feed(w); }
          if (m.loadError) return reject(new VitrineError(m.loadError.code, m.loadError.message));
          if (m.fatal) return reject(new Error(`vitrine worker: ${m.fatal}`));
          w.inFlight--;
          if (RUN_ERRORS.has(m.error?.code)) return reject(new VitrineError(m.error.code, m.error.message));
          settle(m.i, m.error ? { error: new VitrineError(m.error.code, m.error.message) } : { value: m.value });
          feed(w);
        });
        w.on('error', reject);
        w.on('exit', (code) => { if (w.inFlight || code) reject(new Error(`vitrine worker exited with code ${code}`)); });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => { w.removeAllListeners('exit'); return w.terminate(); }));
  }
  return { taskOptions: resolved };
}
