// vitrine's JavaScript API: load a converted model (docs/FORMAT.md) into the WebAssembly engine and run it.
// Works in Node ≥ 18 and in browsers; Node-only modules are imported dynamically behind `isNode`.
import { VitrineError, checkEngine } from './errors.js';
import { isNode, dropRuntime, chooseBuild, startRuntime, unrefWorkers, heapU8, heapF32 } from './runtime.js';
import { resolveSource, readManifest, chunkReader } from './load/source.js';
import { feedEngine } from './load/feed.js';
import { checkMemory } from './load/memory.js';
import { LoadProgress } from './load/progress.js';
import { LoadTrace } from './load/trace.js';
import { nodeModules as node } from './load/fs.js';

import { decodeHead, encodeHead, headWeights } from './head/file.js';

export { VitrineError } from './errors.js';
export { clearCache, CACHE_NAME } from './load/cache.js';
export { encodeHead, decodeHead } from './head/file.js';
export { trainHead } from './head/train.js';

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
  const trace = new LoadTrace(options.trace);
  trace.mark('start');
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
    trace.mark('manifest');
    checkAbort();
    const ctx = { signal: stop.signal, note, progress: null, trace };
    let reader = null;
    const early = earlyChunkTable(manifest);
    if (early) {
      ctx.progress = new LoadProgress(early.map((c) => c.size), onProgress);
      reader = await chunkReader(src, options, ctx);
      // From the chunk store only: downloads wait for the memory check below.
      reader.warm?.(early.slice(0, EARLY_CHUNKS));
    }
    const { rt: runtime, choice } = await started;
    trace.mark('runtime');
    rt = runtime;
    checkAbort();
    const { Module, lock } = rt;
    // The engine's own figure, from the manifest alone: a model that cannot fit is refused before any download.
    checkMemory(Module, text, manifest, choice.threads, src.where);
    reader?.allowNetwork?.();
    engine = await lock.run(() => { const e = new Module.Engine(choice.threads); unrefWorkers(Module); return e; });
    checkEngine(await lock.run(() => engine.beginLoad(text)));
    trace.mark('begin-load');
    const chunks = Array.from({ length: engine.chunkCount() }, (_, i) => ({
      index: i, file: engine.chunkFile(i), size: engine.chunkExpectedSize(i), sha256: manifest.chunks[i].sha256,
    }));
    if (!reader) {
      ctx.progress = new LoadProgress(chunks.map((c) => c.size), onProgress);
      reader = await chunkReader(src, options, ctx);
      reader.allowNetwork?.();
    }
    // The engine hashes equal-size chunks four at a time per thread (kernels/sha256x4-*): commit that many.
    await feedEngine({ engine, Module, lock, chunks, reader, batch: 4 * choice.threads, checkAbort, progress: ctx.progress, trace });
    trace.mark('chunks');
    checkAbort();
    checkEngine(await lock.run(() => engine.finishLoad()));
    trace.mark('finish');
    const facts = JSON.parse(await lock.run(() => engine.infoJson()));
    const model = new Model(rt, engine, manifest, { build: choice.build, buildReason: choice.reason, threads: choice.threads, maxPixels, facts });
    ok = true;
    if (options.head !== undefined && options.head !== null) {
      try {
        await model.setHead(await headBytes(options.head), { anyBackbone: options.anyBackbone });
      } catch (e) {
        await model.dispose();
        throw e;
      }
    }
    return model;
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

// load()'s `head` option: bytes, a Blob/File, a URL, or (Node) a file path → the head file's bytes.
async function headBytes(head) {
  if (head instanceof Uint8Array) return head;
  if (head instanceof ArrayBuffer) return new Uint8Array(head);
  if (typeof Blob !== 'undefined' && head instanceof Blob) return new Uint8Array(await head.arrayBuffer());
  if (typeof head === 'string' || head instanceof URL) {
    const remote = /^(https?|blob|data):/i.test(String(head));
    if (!isNode || remote) {
      let res;
      try { res = await fetch(head); } catch (e) { throw err('E_HEAD', `head ${head}: cannot fetch (${e.message})`, e); }
      if (!res.ok) throw err('E_HEAD', `head ${head}: HTTP ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    }
    const { fsp, url } = await node();
    const p = head instanceof URL ? url.fileURLToPath(head) : head;
    try { return new Uint8Array(await fsp.readFile(p)); } catch (e) { throw err('E_HEAD', `head ${p}: cannot read (${e.code ?? e.message})`, e); }
  }
  throw err('E_HEAD', 'head must be a head object, bytes (Uint8Array/ArrayBuffer), a Blob/File, a URL or (in Node) a file path');
}

/** An engine result that is a Float32Array (an owned copy), or else the engine's { code, message }: thrown. */
function owned(r) {
  if (!(r instanceof Float32Array)) checkEngine(r);
  return r;
}
const pooled = (engine, pooling) => owned(engine.pooled(pooling));

/** The topK best of `scores` with their labels, best first (ties: lower index first). */
function ranked(scores, labels, topK) {
  // A one-output sigmoid head names two labels (negative, positive): both are ranked.
  const p = scores.length === 1 && labels.length === 2 ? Float32Array.of(1 - scores[0], scores[0]) : scores;
  const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
  return order.slice(0, topK).map((index) => ({ index, label: labels[index] ?? `LABEL_${index}`, score: p[index] }));
}

// The engine's input buffer, or E_MEMORY when the engine cannot grow its memory that far (address 0).
function inputBuffer(engine, bytes, what) {
  const addr = engine.inputBuffer(bytes);
  if (!addr) throw err('E_MEMORY', `out of memory: no room for ${what} (${bytes} bytes) in the engine's memory`);
  return addr;
}

class Model {
  #rt; #engine; #queue = Promise.resolve(); #disposed = false; #maxPixels; #ownInfo;

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
      head: a.classifier === 'head' ? a.head : null,
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
      // What a head file records about the backbone it was trained on (docs/FORMAT.md "Head files").
      backbone: Object.freeze({
        name: manifest.name, family: a.family, hidden_size: a.hidden_size,
        input_dim: Object.freeze({ ...facts.pooled_widths }), fingerprint: facts.backbone_fingerprint,
      }),
    });
    this.#ownInfo = this.info;
  }

  /** The `backbone` metadata of a head file for a head reading `pooling` of this model. */
  headBackbone(pooling = this.info.poolings[0]) {
    this.#checkPooling(pooling);
    const b = this.info.backbone;
    return { name: b.name, family: b.family, hidden_size: b.hidden_size, input_dim: b.input_dim[pooling], fingerprint: b.fingerprint };
  }

  /**
   * Attach a head (a head object, or a head file's bytes) in place of the model's classifier; null restores the
   * model's own. The head must read this backbone: same pooled width, same fingerprint unless anyBackbone.
   * E_HEAD for anything refused; the model is then as before.
   */
  setHead(head, { anyBackbone = false } = {}) {
    return this.#enqueue(() => {
      if (head === null) {
        return this.#engineCall((engine) => {
          engine.detachHead();
          this.info = this.#ownInfo;
        });
      }
      // A head object goes through the file format too: one validation for both.
      const h = decodeHead(head instanceof Uint8Array || head instanceof ArrayBuffer ? head : encodeHead(head));
      const b = this.info.backbone;
      const where = `head (trained on "${h.backbone.name}")`;
      if (!this.info.poolings.includes(h.pooling)) throw err('E_HEAD', `${where}: pooling "${h.pooling}" is not offered by this ${b.family} model (${this.info.poolings.join(', ')})`);
      if (h.backbone.input_dim !== b.input_dim[h.pooling]) {
        throw err('E_HEAD', `${where}: backbone.input_dim is ${h.backbone.input_dim} but this model's "${h.pooling}" pooling gives ${b.input_dim[h.pooling]}`);
      }
      if (!anyBackbone) {
        if (h.backbone.hidden_size !== b.hidden_size) throw err('E_HEAD', `${where}: backbone.hidden_size is ${h.backbone.hidden_size} but this model's is ${b.hidden_size}`);
        if (h.backbone.fingerprint !== b.fingerprint) {
          throw err('E_HEAD', `${where}: backbone.fingerprint is ${h.backbone.fingerprint} but this model's ("${b.name}") is ${b.fingerprint}; pass { anyBackbone: true } to attach it anyway`);
        }
      }
      const weights = headWeights(h);
      const spec = { pooling: h.pooling, layers: h.layers, output: h.output };
      const outputs = h.layers.at(-1).out;
      return this.#engineCall((engine, Module) => {
        const addr = inputBuffer(engine, weights.length * 4, `the head's ${weights.length} weights`);
        heapF32(Module).set(weights, addr >> 2);
        checkEngine(engine.attachHead(JSON.stringify(spec), outputs, addr, weights.length));
        this.info = Object.freeze({ ...this.#ownInfo, classifier: 'head', numLabels: outputs, labels: Object.freeze([...h.labels]), head: spec });
      });
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
    const addr = inputBuffer(engine, bytes.length, `a ${bytes.length}-byte image`);
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
        const addr = inputBuffer(engine, pixels.length * 4, `${C}×${height}×${width} pixels`);
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

  /**
   * Top-K labels, best first. With { own: true }, { top, own }: `top` as without it, and `own` the model's own
   * classifier's top-K from the same forward pass (it differs from `top` while a head is attached).
   */
  classify(image, { topK = 5, exif = true, own = false } = {}) {
    return this.#enqueue(async () => {
      if (!Number.isInteger(topK) || topK < 1) throw err('E_INPUT', `topK must be a positive integer, got ${JSON.stringify(topK)}`);
      if (typeof own !== 'boolean') throw err('E_INPUT', `own must be true or false, got ${JSON.stringify(own)}`);
      const bytes = await imageBytes(image);
      const { scores, ownScores } = await this.#engineCall((engine, Module) => {
        this.#preprocessInEngine(engine, Module, bytes, exif);
        this.#forwardInEngine(engine, engine.pixelsAddress(), engine.pixelsHeight(), engine.pixelsWidth());
        return { scores: owned(engine.scores()), ownScores: own ? owned(engine.ownScores()) : null };
      });
      const top = ranked(scores, this.info.labels, topK);
      return own ? { top, own: ranked(ownScores, this.#ownInfo.labels, topK) } : top;
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

  /**
   * The forward pass's stage profile (docs/KERNELS.md "Stage profile"). profile(true) switches it on with totals
   * from zero, profile(false) switches it off; profile() returns { stages: [{ name, ms, calls }], forwards }: wall
   * milliseconds per stage summed over the forwards that finished since it was switched on (await them first).
   * Synchronous: it reads or sets the engine's counters, and runs no forward.
   */
  profile(on) {
    if (this.#disposed) throw err('E_DISPOSED', 'the model was disposed');
    if (on === undefined) return this.#engine.profile();
    if (typeof on !== 'boolean') throw err('E_INPUT', `profile(on): on must be true, false or absent, got ${JSON.stringify(on)}`);
    this.#engine.setProfiling(on);
    return undefined;
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
