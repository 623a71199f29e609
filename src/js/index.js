// vitrine's JavaScript API: load a converted model (docs/FORMAT.md) into the WebAssembly engine and run it.
// Works in Node ≥ 18 and in browsers; Node-only modules are imported dynamically behind `isNode`.
import { VitrineError, checkEngine } from './errors.js';
import { isNode, dropRuntime, chooseBuild, startRuntime, unrefWorkers, heapU8, heapF32 } from './runtime.js';
import { resolveSource, readManifest, chunkReader } from './load/source.js';
import { feedEngine } from './load/feed.js';
import { LoadProgress } from './load/progress.js';
import { nodeModules as node } from './load/fs.js';

export { VitrineError } from './errors.js';
export { clearCache, CACHE_NAME } from './load/cache.js';

const EARLY_CHUNKS = 3;   // chunks read or downloaded while the engine module starts

const err = (code, message, cause) => new VitrineError(code, message, cause ? { cause } : undefined);

function abortError(signal) {
  const reason = signal?.reason;
  return err('E_ABORTED', `load aborted${reason?.message ? `: ${reason.message}` : ''}`, reason);
}

// The manifest's own chunk table when it looks usable, to start on chunks before the engine has read the
// manifest. Only a gate for that early start: the engine's check of the manifest is the one that counts.
function earlyChunkTable(manifest) {
  const cs = manifest.chunks;
  const plain = (f) => typeof f === 'string' && f !== '' && f !== '.' && f !== '..' && !/[/\\]/.test(f);
  if (!Array.isArray(cs) || !cs.length) return null;
  if (!cs.every((c) => plain(c?.file) && Number.isSafeInteger(c.size) && c.size > 0 && /^[0-9a-f]{64}$/.test(c.sha256 ?? ''))) return null;
  return cs.map((c, index) => ({ index, file: c.file, size: c.size, sha256: c.sha256 }));
}

/**
 * Load a model. Sources, options and their precedence: index.d.ts, docs/API.md.
 */
export async function load(source, options = {}) {
  const { onProgress, onNote, signal, maxPixels } = options;
  const checkAbort = () => { if (signal?.aborted) throw abortError(signal); };
  const initial = chooseBuild(options);
  checkAbort();
  const src = await resolveSource(source);
  // Stops this load's downloads when it fails or is aborted.
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const note = (n) => { try { onNote?.(n); } catch { /* a failing callback does not stop the load */ } };
  // The engine module (compile, start its threads) starts while the manifest and the first chunks are read.
  const started = startRuntime(initial, options.wasmBaseUrl);
  started.catch(() => {});
  let rt = null, engine = null, ok = false;
  try {
    const { text, manifest } = await readManifest(src, stop.signal);
    checkAbort();
    const ctx = { signal: stop.signal, note, progress: null };
    let reader = null;
    const early = earlyChunkTable(manifest);
    if (early) {
      ctx.progress = new LoadProgress(early.map((c) => c.size), onProgress);
      reader = await chunkReader(src, options, ctx);
      reader.warm?.(early.slice(0, EARLY_CHUNKS));
    }
    const { rt: runtime, choice } = await started;
    rt = runtime;
    checkAbort();
    const { Module, lock } = rt;
    engine = await lock.run(() => { const e = new Module.Engine(choice.threads); unrefWorkers(Module); return e; });
    checkEngine(await lock.run(() => engine.beginLoad(text)));
    const chunks = Array.from({ length: engine.chunkCount() }, (_, i) => ({
      index: i, file: engine.chunkFile(i), size: engine.chunkExpectedSize(i), sha256: manifest.chunks[i].sha256,
    }));
    if (!reader) {
      ctx.progress = new LoadProgress(chunks.map((c) => c.size), onProgress);
      reader = await chunkReader(src, options, ctx);
    }
    // The engine hashes equal-size chunks four at a time per thread (kernels/sha256x4-*): commit that many.
    await feedEngine({ engine, Module, lock, chunks, reader, batch: 4 * choice.threads, checkAbort, progress: ctx.progress });
    checkAbort();
    checkEngine(await lock.run(() => engine.finishLoad()));
    const facts = JSON.parse(await lock.run(() => engine.infoJson()));
    ok = true;
    return new Model(rt, engine, manifest, { build: choice.build, buildReason: choice.reason, threads: choice.threads, maxPixels, facts });
  } catch (e) {
    if (signal?.aborted && !(e instanceof VitrineError && e.code === 'E_ABORTED')) e = abortError(signal);
    throw rt ? wrapFatal(e, rt) : e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!ok) {
      stop.abort();
      if (engine) await rt.lock.run(() => { try { engine.abortLoad(); } catch { /* ignore */ } try { engine.delete(); } catch { /* ignore */ } });
    }
  }
}

// A trap (RuntimeError) leaves the module's memory in an unknown state: never reuse that instance.
function wrapFatal(e, rt) {
  if (e instanceof VitrineError) return e;
  if (e instanceof WebAssembly.RuntimeError || /abort|unreachable|out of bounds/i.test(String(e?.message))) {
    dropRuntime(rt.key);
    return err('E_WASM', `the WebAssembly engine failed: ${e.message}`, e);
  }
  return e;
}

async function imageBytes(image) {
  let bytes;
  if (typeof image === 'string' || image instanceof URL) {
    if (!isNode) {
      const res = await fetch(image);
      if (!res.ok) throw err('E_IMAGE', `${image}: HTTP ${res.status}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } else {
      const { fsp, url } = await node();
      const p = image instanceof URL ? url.fileURLToPath(image) : image;
      try { bytes = new Uint8Array(await fsp.readFile(p)); } catch (e) { throw err('E_IMAGE', `${p}: cannot read (${e.code ?? e.message})`, e); }
    }
  } else if (image instanceof Uint8Array) bytes = image;
  else if (image instanceof ArrayBuffer) bytes = new Uint8Array(image);
  else if (ArrayBuffer.isView(image)) bytes = new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
  else if (typeof Blob !== 'undefined' && image instanceof Blob) bytes = new Uint8Array(await image.arrayBuffer());
  else throw err('E_IMAGE', 'image must be a Uint8Array, ArrayBuffer, Blob/File or (in Node) a file path');
  if (bytes.length === 0) throw err('E_IMAGE', 'the image is empty (0 bytes)');
  return bytes;
}

/** An engine result that is a Float32Array (an owned copy), or else the engine's { code, message }: thrown. */
function owned(r) {
  if (!(r instanceof Float32Array)) checkEngine(r);
  return r;
}
const pooled = (engine, pooling) => owned(engine.pooled(pooling));

class Model {
  #rt; #engine; #queue = Promise.resolve(); #disposed = false; #maxPixels;

  constructor(rt, engine, manifest, { build, buildReason, threads, maxPixels, facts }) {
    this.#rt = rt;
    this.#engine = engine;
    this.#maxPixels = maxPixels ?? 50_000_000;
    const a = manifest.architecture;
    this.info = Object.freeze({
      family: a.family,
      hiddenSize: a.hidden_size,
      numLayers: a.num_hidden_layers,
      numHeads: a.num_attention_heads,
      intermediateSize: a.intermediate_size,
      patchSize: a.patch_size,
      imageSize: a.image_size,
      numChannels: a.num_channels,
      numRegisterTokens: a.num_register_tokens ?? 0,
      classifier: a.classifier,
      numLabels: a.num_labels,
      projectionDim: a.projection_dim ?? 0,
      poolings: Object.freeze(facts.poolings),
      labels: Object.freeze([...manifest.labels]),
      preprocess: manifest.preprocess,
      threads: engine.threads(),
      build,
      buildReason,
      simd: true,
      name: manifest.name,
      metadata: manifest.metadata ?? {},
      streamSize: manifest.stream_size,
      weightBytes: facts.weight_bytes,
      requestedThreads: threads,
    });
  }

  // Calls on one model run one at a time, in order; an error does not stop the queue.
  #enqueue(fn) {
    const run = this.#queue.then(() => {
      if (this.#disposed) throw err('E_DISPOSED', 'the model was disposed');
      return fn();
    });
    this.#queue = run.then(() => undefined, () => undefined);
    return run.catch((e) => { throw wrapFatal(e, this.#rt); });
  }

  // The engine lists the poolings this model offers (info.poolings); it also refuses any other itself.
  #checkPooling(pooling) {
    if (!this.info.poolings.includes(pooling)) throw err('E_INPUT', `pooling must be one of ${this.info.poolings.join(', ')} for this ${this.info.family} model, got ${JSON.stringify(pooling)}`);
  }

  #engineCall(fn) {
    return this.#rt.lock.run(() => fn(this.#engine, this.#rt.Module));
  }

  #preprocessInEngine(engine, Module, bytes, exif) {
    const addr = engine.inputBuffer(bytes.length);
    heapU8(Module).set(bytes, addr);
    checkEngine(engine.preprocess(bytes.length, exif !== false, this.#maxPixels));
  }

  #forwardInEngine(engine, address, height, width) {
    checkEngine(engine.forward(address, height, width));
  }

  preprocess(image, { exif = true } = {}) {
    return this.#enqueue(async () => {
      const bytes = await imageBytes(image);
      return this.#engineCall((engine, Module) => {
        this.#preprocessInEngine(engine, Module, bytes, exif);
        return { pixels: engine.pixels().slice(), height: engine.pixelsHeight(), width: engine.pixelsWidth() };
      });
    });
  }

  forward(pixels, { height, width, pooling } = {}) {
    return this.#enqueue(() => {
      if (pooling !== undefined) this.#checkPooling(pooling);
      const C = this.info.numChannels;
      if (!(pixels instanceof Float32Array)) throw err('E_INPUT', 'forward(pixels): pixels must be a Float32Array (CHW)');
      if (height === undefined && width === undefined) height = width = Math.round(Math.sqrt(pixels.length / C));
      if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) throw err('E_INPUT', `forward: height and width must be positive integers, got ${height}×${width}`);
      if (pixels.length !== C * height * width) throw err('E_INPUT', `forward: pixels has ${pixels.length} values but ${C}×${height}×${width} needs ${C * height * width}`);
      return this.#engineCall((engine, Module) => {
        const addr = engine.inputBuffer(pixels.length * 4);
        if (addr % 4) throw err('E_INPUT', 'internal: unaligned input buffer');
        heapF32(Module).set(pixels, addr >> 2);
        this.#forwardInEngine(engine, addr, height, width);
        const out = { lastHiddenState: engine.lastHiddenState().slice(), numTokens: engine.numTokens(), hiddenSize: engine.hiddenSize() };
        const logits = engine.logits();
        if (logits) {
          out.logits = logits.slice();
          out.scores = owned(engine.scores());
        }
        // HF's pooled outputs under HF's names, where the family has them (CLIP, SigLIP).
        if (this.info.poolings.includes('pooler')) out.poolerOutput = pooled(engine, 'pooler');
        if (this.info.poolings.includes('projection')) out.imageEmbeds = pooled(engine, 'projection');
        if (pooling) out.embedding = pooled(engine, pooling);
        return out;
      });
    });
  }

  classify(image, { topK = 5, exif = true } = {}) {
    return this.#enqueue(async () => {
      if (!Number.isInteger(topK) || topK < 1) throw err('E_INPUT', `topK must be a positive integer, got ${JSON.stringify(topK)}`);
      const bytes = await imageBytes(image);
      const scores = await this.#engineCall((engine, Module) => {
        this.#preprocessInEngine(engine, Module, bytes, exif);
        this.#forwardInEngine(engine, engine.pixelsAddress(), engine.pixelsHeight(), engine.pixelsWidth());
        return owned(engine.scores());
      });
      const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
      return order.slice(0, topK).map((index) => ({ index, label: this.info.labels[index] ?? `LABEL_${index}`, score: scores[index] }));
    });
  }

  /**
   * The pooling embed() uses for `pooling`: without one, the model's first (cls for ViT/DeiT/DINOv2, projection or
   * pooler for CLIP, pooler for SigLIP); E_INPUT for one the model does not offer. Public so that callers that
   * report or record the pooling (the CLI) name the one embed() runs.
   */
  resolvePooling(pooling) {
    pooling ??= this.info.poolings[0];
    this.#checkPooling(pooling);
    return pooling;
  }

  embed(image, { pooling, exif = true } = {}) {
    return this.#enqueue(async () => {
      const use = this.resolvePooling(pooling);
      const bytes = await imageBytes(image);
      return this.#engineCall((engine, Module) => {
        this.#preprocessInEngine(engine, Module, bytes, exif);
        this.#forwardInEngine(engine, engine.pixelsAddress(), engine.pixelsHeight(), engine.pixelsWidth());
        return pooled(engine, use);
      });
    });
  }

  /** Free the engine (weights, buffers). Pending calls finish first; later calls fail with E_DISPOSED. */
  dispose() {
    if (this.#disposed) return this.#queue;
    const done = this.#queue.then(() => this.#rt.lock.run(() => {
      if (!this.#disposed) { this.#disposed = true; this.#engine.delete(); }
    }));
    this.#queue = done.then(() => undefined, () => undefined);
    return done;
  }

  get disposed() { return this.#disposed; }
}

export { Model };
