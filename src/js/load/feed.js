// Feeding a model's chunks into the engine: each chunk goes into the engine's weight buffer, and the engine
// checks (length + SHA-256) and commits them a batch at a time.
//
// Each chunk is hashed once. A chunk that arrives as bytes in JavaScript is hashed there by the platform (the
// browser's WebCrypto, off this thread while the next chunks are read; node:crypto for downloads in Node) and the
// engine compares that digest with its manifest (commitChunksHashed); chunks read straight into the engine's
// memory (Node folders) are hashed by the engine's SIMD SHA-256 on its threads. Either way a wrong chunk is
// E_CHUNK_HASH from the engine.
import { checkEngine } from '../errors.js';
import { heapU8, isNode } from '../runtime.js';
import { sha256Hex, canHash } from './cache.js';

// Chunks a byte source works on ahead of the engine: Chromium's Cache API reads 4 MB chunks ~30 % faster six at a
// time than three (docs/WEB.md, "Load speed").
const IN_FLIGHT = 6;

/**
 * @param {object} o
 * @param {object} o.engine     the embind Engine, after beginLoad
 * @param {object} o.Module     its module
 * @param {{run(fn):Promise}} o.lock
 * @param {{index:number,file:string,size:number,sha256:string}[]} o.chunks
 * @param {object} o.reader     from source.js chunkReader
 * @param {number} o.batch      chunks per commit
 * @param {() => void} o.checkAbort  throws when the load was aborted
 * @param {import('./progress.js').LoadProgress} o.progress
 */
export async function feedEngine({ engine, Module, lock, chunks, reader, batch, checkAbort, progress, trace }) {
  if (reader.kind === 'fs') return feedFromFiles(engine, Module, lock, chunks, reader, batch, checkAbort, progress, trace);
  // In a browser WebCrypto hashes off this thread; in Node a chunk without a digest is left to the engine's
  // threads (node:crypto would hash on this one).
  const hashHere = !isNode && canHash();
  const withDigest = (r) => (r.sha256 || !hashHere ? r
    : trace.time('hash', () => sha256Hex(r.bytes)).then((sha256) => ({ bytes: r.bytes, sha256 })));
  // A window of chunks in flight; each is copied into the engine's memory in order as it arrives, and committed a
  // batch at a time.
  const inflight = [];
  let next = 0;
  const launch = () => {
    while (next < chunks.length && inflight.length < IN_FLIGHT) {
      const p = reader.get(chunks[next++]).then(withDigest);
      p.catch(() => {});   // handled when awaited in order
      inflight.push(p);
    }
  };
  launch();
  let first = 0;
  const sizes = [];
  const digests = [];
  for (const c of chunks) {
    checkAbort();
    const { bytes, sha256 } = await trace.time('wait', () => inflight.shift());
    launch();
    await lock.run(() => {
      trace.time('copy', () => heapU8(Module).set(bytes.subarray(0, Math.min(bytes.length, c.size)), engine.chunkTarget(c.index)));
      sizes.push(bytes.length);
      digests.push(sha256);
      if (sizes.length < batch && c.index + 1 < chunks.length) return;
      checkEngine(trace.time('commit', () => (digests.every(Boolean)
        ? engine.commitChunksHashed(first, sizes, digests.join(''))
        : engine.commitChunks(first, sizes))));
      first += sizes.length;
      sizes.length = 0;
      digests.length = 0;
    });
    progress.complete(c.index);
  }
}

// Node folders: each chunk file is read straight into the engine's weight buffer (no copy of the model in JS),
// the next batch while the engine hashes the current one. The module lock is held for the whole load: no other
// engine call (which could grow memory under an in-flight read) runs meanwhile.
function feedFromFiles(engine, Module, lock, chunks, reader, batch, checkAbort, progress, trace) {
  const heap = () => heapU8(Module);
  // A batch settles only when every read of it has: one missing file must not fail the load while its
  // neighbours still write into the weight buffer the failed load frees.
  const readBatch = async (k) => {
    const reads = await Promise.allSettled(chunks.slice(k, k + batch).map((c) => trace.time('read', () => reader.readInto({ ...c, target: engine.chunkTarget(c.index) }, heap))));
    const failed = reads.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return reads.map((r) => r.value);
  };
  return lock.run(async () => {
    let pending = readBatch(0);
    try {
      for (let k = 0; k < chunks.length; k += batch) {
        const sizes = await trace.time('wait', () => pending);
        pending = null;
        checkAbort();
        if (k + batch < chunks.length) { pending = readBatch(k + batch); pending.catch(() => {}); }
        checkEngine(trace.time('commit', () => engine.commitChunks(k, sizes)));
        for (const c of chunks.slice(k, k + batch)) progress.complete(c.index);
      }
    } finally {
      if (pending) await pending.catch(() => {});
    }
  });
}
