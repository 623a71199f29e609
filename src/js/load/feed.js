// Feeding a model's chunks into the engine: each chunk goes into the engine's weight buffer, and the engine
// checks (length + SHA-256) and commits them a batch at a time.
import { checkEngine } from '../errors.js';
import { heapU8 } from '../runtime.js';

const IN_FLIGHT = 3;   // chunks a byte source works on ahead of the engine

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
export async function feedEngine({ engine, Module, lock, chunks, reader, batch, checkAbort, progress }) {
  if (reader.kind === 'fs') return feedFromFiles(engine, Module, lock, chunks, reader, batch, checkAbort, progress);
  // A window of chunks in flight; each is copied into the engine's memory in order as it arrives, and committed
  // (hashed) a batch at a time.
  const inflight = [];
  let next = 0;
  const launch = () => {
    while (next < chunks.length && inflight.length < IN_FLIGHT) {
      const p = reader.get(chunks[next++]);
      p.catch(() => {});   // handled when awaited in order
      inflight.push(p);
    }
  };
  launch();
  let first = 0;
  const sizes = [];
  for (const c of chunks) {
    checkAbort();
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
    progress.complete(c.index);
  }
}

// Node folders: each chunk file is read straight into the engine's weight buffer (no copy of the model in JS),
// the next batch while the engine hashes the current one. The module lock is held for the whole load: no other
// engine call (which could grow memory under an in-flight read) runs meanwhile.
function feedFromFiles(engine, Module, lock, chunks, reader, batch, checkAbort, progress) {
  const heap = () => heapU8(Module);
  const readBatch = (k) => Promise.all(chunks.slice(k, k + batch).map((c) => reader.readInto({ ...c, target: engine.chunkTarget(c.index) }, heap)));
  return lock.run(async () => {
    let pending = readBatch(0);
    try {
      for (let k = 0; k < chunks.length; k += batch) {
        const sizes = await pending;
        pending = null;
        checkAbort();
        if (k + batch < chunks.length) { pending = readBatch(k + batch); pending.catch(() => {}); }
        checkEngine(engine.commitChunks(k, sizes));
        for (const c of chunks.slice(k, k + batch)) progress.complete(c.index);
      }
    } finally {
      if (pending) await pending.catch(() => {});
    }
  });
}
