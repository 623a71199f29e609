// Loading over HTTP (browsers, and Node ≥ 18 with its global fetch): the manifest, and each chunk from the chunk
// store (cache.js) or the network.
//
// A download streams into one buffer of the chunk's size, reporting bytes as they arrive. A connection that
// drops mid-chunk is resumed with a Range request from the byte it reached (restarted if the server ignores
// ranges), a few times with a short back-off. Every downloaded chunk is hashed here before anything else sees
// it: a wrong hash is fetched once more past every HTTP cache (a proxy or disk glitch heals), wrong twice is
// E_CHUNK_HASH naming the chunk. Only checked chunks are stored; the engine checks every hash again on commit.
import { VitrineError } from '../errors.js';
import { isNode } from '../runtime.js';
import { sha256Hex, canHash } from './cache.js';

const MAX_ATTEMPTS = 4;   // per download: the first request plus resumes/retries

// Errors carry the chunk (index, file) or HTTP status as fields, for callers that show them.
function err(code, message, { cause, ...fields } = {}) {
  return Object.assign(new VitrineError(code, message, cause ? { cause } : undefined), fields);
}
const label = (c) => `chunk ${c.index} (${c.file})`;

// Node's fetch has no HTTP cache, and older versions reject cache modes they do not implement.
const cacheMode = (mode) => (isNode ? {} : { cache: mode });

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
}

function requireFetch() {
  if (typeof fetch !== 'function') throw new VitrineError('E_INPUT', 'loading from a URL needs a global fetch (Node ≥ 18, or a browser)');
}

/** The manifest's text. A network failure is E_NETWORK, an HTTP error status E_MANIFEST (with `status`). */
export async function fetchManifestText(url, signal) {
  requireFetch();
  let res;
  try {
    // Revalidated every time (an ETag makes that a 304): the chunk list must be the server's current one.
    res = await fetch(url, { signal, ...cacheMode('no-cache') });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw err('E_NETWORK', `${url}: could not fetch the manifest (${e?.message ?? e})`, { cause: e });
  }
  if (!res.ok) {
    throw err('E_MANIFEST', `${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} fetching the manifest`, { status: res.status });
  }
  return res.text();
}

/**
 * Download one chunk into a buffer of its declared size.
 * @param {{index:number,file:string,size:number,url:string}} c
 * @param {{reload?:boolean, useHttpCache?:boolean, signal?:AbortSignal, onBytes:(n:number)=>void}} o
 *   onBytes(n): n bytes arrived (negative: bytes thrown away to start over)
 */
export async function downloadChunk(c, o) {
  const buf = new Uint8Array(c.size);
  let have = 0;
  let lastError = null;
  const restart = () => { if (have) o.onBytes(-have); have = 0; };
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (o.signal?.aborted) throw o.signal.reason;
    if (attempt > 1) await sleep(250 * (attempt - 1), o.signal);
    const headers = have > 0 ? { Range: `bytes=${have}-` } : {};
    // A chunk the store keeps needs no second copy in the HTTP cache; a refetch goes past every HTTP cache.
    const mode = o.reload ? 'reload' : o.useHttpCache ? 'default' : 'no-store';
    let res;
    try {
      res = await fetch(c.url, { headers, signal: o.signal, ...cacheMode(mode) });
    } catch (e) {
      if (o.signal?.aborted) throw e;
      lastError = e;
      continue;
    }
    if (res.status === 206) {
      const start = Number(/^bytes (\d+)-/.exec(res.headers.get('Content-Range') ?? '')?.[1]);
      if (have === 0 || start !== have) {
        // A range we did not ask for: start the chunk over.
        res.body?.cancel().catch(() => {});
        restart();
        lastError = new Error(`unexpected partial response (${res.headers.get('Content-Range')})`);
        continue;
      }
    } else if (res.ok) {
      restart();   // the whole chunk again (first request, or a server that ignores ranges)
    } else {
      res.body?.cancel().catch(() => {});
      const what = `${label(c)}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} for ${c.url}`;
      if (res.status >= 500 || res.status === 408 || res.status === 429) { lastError = new Error(what); continue; }
      throw err('E_CHUNK_MISSING', what, { status: res.status, index: c.index, file: c.file });
    }
    try {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (have + value.length > c.size) {
          reader.cancel().catch(() => {});
          throw err('E_CHUNK_SIZE', `${label(c)}: expected ${c.size} bytes, the server sent more`, { index: c.index, file: c.file });
        }
        buf.set(value, have);
        have += value.length;
        o.onBytes(value.length);
      }
    } catch (e) {
      if (e instanceof VitrineError || o.signal?.aborted) throw e;
      lastError = e;   // the connection dropped mid-chunk: the next attempt resumes from `have`
      continue;
    }
    if (have === c.size) return buf;
    throw err('E_CHUNK_SIZE', `${label(c)}: expected ${c.size} bytes, got ${have}`, { index: c.index, file: c.file });
  }
  throw err('E_NETWORK', `${label(c)}: the download keeps failing (${lastError?.message ?? lastError}) after ${MAX_ATTEMPTS} attempts`,
    { cause: lastError, index: c.index, file: c.file });
}

/**
 * The chunk source of a URL load: get(c) → { bytes, sha256 } (sha256: the hex digest the bytes were checked to have,
 * or null where nothing here can hash), from the store or the network. Downloads start once allowNetwork() was
 * called.
 * @param {{store: import('./cache.js').ChunkStore|null, signal?: AbortSignal, progress: import('./progress.js').LoadProgress}} o
 */
export function networkSource({ store, signal, progress, trace }) {
  requireFetch();
  const pending = new Map();   // index → promise, for chunks asked for ahead of the engine (warm)

  // Chunks that are not in the store wait here until the load allows downloads (after its memory check).
  let allowNetwork;
  const networkAllowed = new Promise((resolve, reject) => {
    allowNetwork = resolve;
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  networkAllowed.catch(() => {});

  async function obtain(c) {
    const cached = await store?.get(c, trace);
    if (cached) {
      progress.add(c.index, cached.length, 'cache');
      return { bytes: cached, sha256: c.sha256 };   // the store checked it
    }
    await networkAllowed;
    const onBytes = (n) => progress.add(c.index, n, 'network');
    let bytes = await trace.time('download', () => downloadChunk(c, { signal, onBytes, useHttpCache: !store }));
    // Without a platform hash (a browser page over plain http) the engine's own check on commit is the only one.
    if (!canHash()) return { bytes, sha256: null };
    if (await trace.time('hash', () => sha256Hex(bytes)) !== c.sha256) {
      progress.add(c.index, -bytes.length, 'network');
      bytes = await downloadChunk(c, { signal, onBytes, reload: true });
      if (await sha256Hex(bytes) !== c.sha256) {
        throw err('E_CHUNK_HASH', `${label(c)}: SHA-256 mismatch (file is corrupt or was tampered with); it was downloaded twice ` +
          'and was wrong both times, so the model was not loaded', { index: c.index, file: c.file });
      }
    }
    await trace.time('cache-put', () => store?.put(c, bytes));
    return { bytes, sha256: c.sha256 };
  }

  function start(c) {
    let p = pending.get(c.index);
    if (!p || p.chunk.file !== c.file || p.chunk.size !== c.size || p.chunk.sha256 !== c.sha256) {
      p = { chunk: c, promise: obtain(c) };
      p.promise.catch(() => {});   // awaited by get(), or dropped with the load
      pending.set(c.index, p);
    }
    return p.promise;
  }

  return {
    /** Start on chunks before the engine asks for them (while it starts): from the store at once, downloads
     * once allowNetwork() was called. */
    warm(chunks) { for (const c of chunks) start(c); },
    allowNetwork: () => allowNetwork(),
    get(c) {
      const p = start(c);
      pending.delete(c.index);   // the engine takes its own copy
      return p;
    },
  };
}
