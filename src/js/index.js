// vitrine's JavaScript API: load a converted model (docs/FORMAT.md) into the WebAssembly engine and run it.
// Works in Node ≥ 18 and in browsers; Node-only modules are imported dynamically behind `isNode`.
import { VitrineError, checkEngine } from './errors.js';
import { isNode, getRuntime, dropRuntime, chooseBuild, unrefWorkers, heapU8, heapF32 } from './runtime.js';

export { VitrineError } from './errors.js';

const DEFAULT_MODEL = '../../weights/cifar10-vit/manifest.json';
const PREFETCH = 3; // chunks in flight when fetching over the network

let nodeMods = null;
async function node() {
  if (!nodeMods) {
    const [fs, fsp, path, url] = await Promise.all([import('node:fs'), import('node:fs/promises'), import('node:path'), import('node:url')]);
    nodeMods = { fs, fsp, path, url };
  }
  return nodeMods;
}

const err = (code, message, cause) => new VitrineError(code, message, cause ? { cause } : undefined);

/** Where the manifest lives: { kind: 'file', path, dir } or { kind: 'url', url }. */
async function resolveSource(source) {
  if (source === undefined || source === null || source === 'default') source = new URL(DEFAULT_MODEL, import.meta.url);
  if (source instanceof URL && source.protocol !== 'file:') return { kind: 'url', url: source };
  if (typeof source === 'string' && /^(https?|blob|data):/i.test(source)) return { kind: 'url', url: new URL(source) };
  if (!isNode) {
    if (typeof source !== 'string' && !(source instanceof URL)) throw err('E_INPUT', 'load(source): source must be a URL or a string');
    const base = typeof location !== 'undefined' ? location.href : undefined;
    return { kind: 'url', url: new URL(String(source), base) };
  }
  const { fs, path, url } = await node();
  let p = source instanceof URL ? url.fileURLToPath(source) : typeof source === 'string' && source.startsWith('file:') ? url.fileURLToPath(source) : source;
  if (typeof p !== 'string') throw err('E_INPUT', 'load(source): source must be a folder, a manifest path or a URL');
  p = path.resolve(p);
  let st;
  try { st = fs.statSync(p); } catch { throw err('E_MANIFEST', `${p}: no such model folder or manifest`); }
  if (st.isDirectory()) p = path.join(p, 'manifest.json');
  return { kind: 'file', path: p, dir: path.dirname(p) };
}

async function readManifestText(src, signal) {
  if (src.kind === 'file') {
    const { fsp } = await node();
    try { return await fsp.readFile(src.path, 'utf8'); } catch (e) { throw err('E_MANIFEST', `${src.path}: cannot read manifest (${e.code ?? e.message})`, e); }
  }
  let res;
  try { res = await fetch(src.url, { signal }); } catch (e) {
    if (signal?.aborted) throw abortError(signal);
    throw err('E_MANIFEST', `${src.url}: cannot fetch manifest (${e.message})`, e);
  }
  if (!res.ok) throw err('E_MANIFEST', `${src.url}: HTTP ${res.status} fetching the manifest`);
  return res.text();
}

function abortError(signal) {
  const reason = signal?.reason;
  return err('E_ABORTED', `load aborted${reason?.message ? `: ${reason.message}` : ''}`, reason);
}

/**
 * Load a model. See index.d.ts for the options.
 */
export async function load(source, options = {}) {
  const { onProgress, signal, fetchChunk, maxPixels } = options;
  const { build, threads } = chooseBuild(options);
  if (signal?.aborted) throw abortError(signal);
  const src = await resolveSource(source);
  const text = await readManifestText(src, signal);
  let manifest;
  try { manifest = JSON.parse(text); } catch (e) { throw err('E_MANIFEST', `manifest.json is not valid JSON (${e.message})`, e); }
  if (!manifest || typeof manifest !== 'object') throw err('E_MANIFEST', 'manifest.json is not a JSON object');
  const rt = await getRuntime(build, threads);
  const { Module, lock } = rt;
  const engine = await lock.run(() => { const e = new Module.Engine(threads); unrefWorkers(Module); return e; });
  let ok = false;
  try {
    checkEngine(await lock.run(() => engine.beginLoad(text)));
    const count = engine.chunkCount();
    const chunks = Array.from({ length: count }, (_, i) => ({
      index: i, file: engine.chunkFile(i), size: engine.chunkExpectedSize(i), sha256: manifest.chunks[i].sha256,
    }));
    const total = chunks.reduce((a, c) => a + c.size, 0);
    // The engine hashes equal-size chunks four at a time per thread (kernels/sha256x4-*): commit that many.
    const batch = 4 * threads;
    let loaded = 0;
    const progress = (n) => { loaded += n; if (onProgress) onProgress({ loaded, total }); };
    if (onProgress) onProgress({ loaded: 0, total });
    if (src.kind === 'file' && !fetchChunk) {
      const { fsp, path } = await node();
      // Read each chunk file straight into the engine's stream buffer (no intermediate copy of the model),
      // the next batch while the engine hashes the current one. The module lock is held for the whole load:
      // no other engine call (which could grow memory under an in-flight read) runs meanwhile.
      const readInto = async (c) => {
        let fh;
        try { fh = await fsp.open(path.join(src.dir, c.file), 'r'); } catch (e) {
          throw err('E_CHUNK_MISSING', `chunk ${c.index} (${c.file}): cannot read (${e.code ?? e.message})`, e);
        }
        try {
          const actual = (await fh.stat()).size;
          const want = Math.min(actual, c.size);
          const target = engine.chunkTarget(c.index);
          const heap = heapU8(Module);
          let done = 0;
          while (done < want) {
            const { bytesRead } = await fh.read(heap, target + done, want - done, done);
            if (bytesRead === 0) break;
            done += bytesRead;
          }
          if (heapU8(Module).buffer !== heap.buffer) {
            // Memory grew while reading: read again into the current heap (rare; keeps this correct).
            done = 0;
            while (done < want) {
              const { bytesRead } = await fh.read(heapU8(Module), target + done, want - done, done);
              if (bytesRead === 0) break;
              done += bytesRead;
            }
          }
          return done < want ? done : actual;
        } finally { await fh.close(); }
      };
      await lock.run(async () => {
        const readBatch = (k) => Promise.all(chunks.slice(k, k + batch).map(readInto));
        let pending = readBatch(0);
        try {
          for (let k = 0; k < chunks.length; k += batch) {
            const sizes = await pending;
            pending = null;
            if (signal?.aborted) throw abortError(signal);
            if (k + batch < chunks.length) { pending = readBatch(k + batch); pending.catch(() => {}); }
            checkEngine(engine.commitChunks(k, sizes));
            for (const c of chunks.slice(k, k + batch)) progress(c.size);
          }
        } finally {
          if (pending) await pending.catch(() => {});
        }
      });
    } else {
      const get = fetchChunk
        ? async (c) => {
          const url = src.kind === 'url' ? chunkUrl(c.file, src.url) : undefined;
          let data;
          try { data = await fetchChunk({ index: c.index, file: c.file, size: c.size, sha256: c.sha256, url, path: src.kind === 'file' ? (await node()).path.join(src.dir, c.file) : undefined }); } catch (e) {
            if (signal?.aborted) throw abortError(signal);
            // Keep the hook's own code (e.g. a cache layer's E_CHUNK_HASH); anything else is a missing chunk.
            const code = typeof e?.code === 'string' && /^E_[A-Z_]+$/.test(e.code) ? e.code : 'E_CHUNK_MISSING';
            const msg = String(e?.message ?? e);
            throw err(code, msg.includes(`chunk ${c.index}`) ? msg : `chunk ${c.index} (${c.file}): ${msg}`, e);
          }
          if (data instanceof ArrayBuffer) data = new Uint8Array(data);
          if (!(data instanceof Uint8Array)) throw err('E_LOAD', `fetchChunk for chunk ${c.index} must return a Uint8Array`);
          return data;
        }
        : async (c) => {
          const url = chunkUrl(c.file, src.url);
          if (!url) throw err('E_CHUNK_MISSING', `chunk ${c.index} (${c.file}): no URL to fetch it from (the manifest came from ${src.url.protocol} URL; pass fetchChunk)`);
          return fetchUrlChunk(url, c, signal);
        };
      // A small window of chunks in flight; each one is copied into the heap in order.
      const inflight = [];
      let next = 0;
      const launch = () => {
        while (next < chunks.length && inflight.length < PREFETCH) {
          const p = get(chunks[next++]);
          p.catch(() => {}); // handled when awaited in order
          inflight.push(p);
        }
      };
      launch();
      // Chunks are copied into the heap as they arrive and committed (hashed) a batch at a time.
      let first = 0;
      const sizes = [];
      for (const c of chunks) {
        if (signal?.aborted) throw abortError(signal);
        const data = await inflight.shift();
        launch();
        await lock.run(() => {
          heapU8(Module).set(data.subarray(0, Math.min(data.length, c.size)), engine.chunkTarget(c.index));
          sizes.push(data.length);
          if (sizes.length < batch && c.index + 1 < chunks.length) return;
          checkEngine(engine.commitChunks(first, sizes));
          first += sizes.length;
          sizes.length = 0;
        });
        progress(c.size); // downloaded (the last batch is verified before load() resolves)
      }
    }
    if (signal?.aborted) throw abortError(signal);
    checkEngine(await lock.run(() => engine.finishLoad()));
    const facts = JSON.parse(await lock.run(() => engine.infoJson()));
    ok = true;
    return new Model(rt, engine, manifest, { build, threads, maxPixels, facts });
  } catch (e) {
    if (signal?.aborted && !(e instanceof VitrineError && e.code === 'E_ABORTED')) e = abortError(signal);
    throw wrapFatal(e, rt);
  } finally {
    if (!ok) await lock.run(() => { try { engine.abortLoad(); } catch { /* ignore */ } try { engine.delete(); } catch { /* ignore */ } });
  }
}

// Chunks are fetched relative to the manifest; a blob:/data: manifest URL has no relative URLs.
function chunkUrl(file, base) {
  try { return new URL(file, base).href; } catch { return undefined; }
}

async function fetchUrlChunk(url, c, signal) {
  let res;
  try { res = await fetch(url, { signal }); } catch (e) {
    if (signal?.aborted) throw abortError(signal);
    throw err('E_CHUNK_MISSING', `chunk ${c.index} (${c.file}): cannot fetch (${e.message})`, e);
  }
  if (!res.ok) throw err('E_CHUNK_MISSING', `chunk ${c.index} (${c.file}): HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
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

  constructor(rt, engine, manifest, { build, threads, maxPixels, facts }) {
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
      numRegisterTokens: a.num_register_tokens,
      classifier: a.classifier,
      numLabels: a.num_labels,
      poolings: Object.freeze(facts.poolings),
      labels: Object.freeze([...manifest.labels]),
      preprocess: manifest.preprocess,
      threads: engine.threads(),
      build,
      simd: true,
      name: manifest.name,
      metadata: manifest.metadata ?? {},
      streamSize: manifest.stream_size,
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

  embed(image, { pooling = 'cls', exif = true } = {}) {
    return this.#enqueue(async () => {
      this.#checkPooling(pooling);
      const bytes = await imageBytes(image);
      return this.#engineCall((engine, Module) => {
        this.#preprocessInEngine(engine, Module, bytes, exif);
        this.#forwardInEngine(engine, engine.pixelsAddress(), engine.pixelsHeight(), engine.pixelsWidth());
        return pooled(engine, pooling);
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
