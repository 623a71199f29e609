// Model chunk download + cache for the page's worker.
//
// Every chunk of a model (docs/FORMAT.md §1, §7) is content-addressed by its SHA-256, so the cache is keyed
// by that hash alone: a reload, a second tab or a new version of the model that shares chunks downloads
// nothing it already has. A chunk is only ever cached after its hash was checked here (crypto.subtle), and a
// cached chunk is checked again when read, so a damaged cache entry is dropped and refetched instead of being
// handed to the engine (which checks the hash a third time while loading).
//
// Downloads stream into one buffer of the chunk's size and report progress as bytes arrive. A connection that
// drops mid-chunk is resumed with a Range request from the byte it reached (or restarted if the server does
// not do ranges), a few times with a short back-off. A chunk whose hash is wrong is fetched once more,
// bypassing every HTTP cache; wrong twice is an E_CHUNK_HASH error that names the chunk.

export const CACHE_NAME = 'vitrine-chunks-v1';
const KEY_PATH = '/__vitrine-chunk/';          // synthetic request URLs: never fetched, only cache keys
const MAX_NETWORK_ATTEMPTS = 4;

export class ChunkError extends Error {
  constructor(code, message, extra = {}) {
    super(message);
    this.name = 'ChunkError';
    this.code = code;
    Object.assign(this, extra);
  }
}

export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let s = '';
  for (const b of digest) s += b.toString(16).padStart(2, '0');
  return s;
}

export function chunkKey(sha256) {
  return new URL(KEY_PATH + sha256, self.location.origin).href;
}

/** The chunk cache, or null when this context has none (no Cache API, not a secure context, blocked). */
export async function openChunkCache() {
  try {
    if (!self.caches || !self.isSecureContext) return null;
    return await self.caches.open(CACHE_NAME);
  } catch {
    return null;
  }
}

export function isQuotaError(e) {
  return e && (e.name === 'QuotaExceededError' || e.code === 22 || /quota/i.test(String(e.message)));
}

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason ?? new DOMException('aborted', 'AbortError')); }, { once: true });
});

/**
 * Make the `fetchChunk` callback for load(): serves each chunk from the cache or the network.
 * @param {object} o
 * @param {{file:string,size:number,sha256:string}[]} o.chunks   the manifest's chunk table
 * @param {string} o.baseUrl       chunks are fetched relative to this (the manifest URL)
 * @param {Cache|null} o.cache     from openChunkCache(); null = no caching
 * @param {(p:{loaded:number,total:number,cachedBytes:number,downloadedBytes:number,done:number,count:number})=>void} [o.onProgress]
 * @param {(note:{code:string,message:string})=>void} [o.onNote]   non-fatal problems (storage full, …)
 * @param {AbortSignal} [o.signal]
 * @param {typeof fetch} [o.fetch]
 * @param {number} [o.prefetch]    chunks to download ahead of the one asked for (default 1)
 */
export function createChunkSource(o) {
  const chunks = o.chunks;
  const total = chunks.reduce((s, c) => s + c.size, 0);
  const got = new Float64Array(chunks.length);      // bytes of each chunk we have (downloaded or cached)
  let cachedBytes = 0, downloadedBytes = 0, done = 0;
  let cache = o.cache;
  const doFetch = o.fetch ?? self.fetch.bind(self);
  const inflight = new Map();
  const prefetch = o.prefetch ?? 1;
  let lastReport = 0;

  const report = (force = false) => {
    const now = Date.now();
    if (!force && now - lastReport < 50) return;
    lastReport = now;
    let loaded = 0;
    for (const g of got) loaded += g;
    o.onProgress?.({ loaded, total, cachedBytes, downloadedBytes, done, count: chunks.length });
  };

  const label = (i) => `chunk ${i} (${chunks[i].file})`;

  async function fromCache(i) {
    if (!cache) return null;
    const c = chunks[i];
    let res;
    try { res = await cache.match(chunkKey(c.sha256)); } catch { return null; }
    if (!res) return null;
    let bytes;
    try { bytes = new Uint8Array(await res.arrayBuffer()); } catch { bytes = null; }
    if (bytes && bytes.length === c.size && await sha256Hex(bytes) === c.sha256) return bytes;
    // A damaged or truncated entry: forget it and download the chunk again.
    try { await cache.delete(chunkKey(c.sha256)); } catch { /* ignore */ }
    return null;
  }

  async function toCache(i, bytes) {
    if (!cache) return;
    const c = chunks[i];
    try {
      await cache.put(chunkKey(c.sha256), new Response(bytes, {
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
      }));
    } catch (e) {
      cache = null;   // stop trying for this load; the model still loads from the network
      if (isQuotaError(e)) {
        o.onNote?.({
          code: 'E_QUOTA',
          message: 'This browser has no room left to keep the model for next time (storage quota exceeded). ' +
            'It works now, but a reload will download it again. To fix it: free disk space, or clear this ' +
            "site's data / other sites' data in the browser settings, or use “Forget downloaded models” below.",
        });
      } else {
        o.onNote?.({ code: 'E_CACHE', message: `Could not save the model for next time: ${e?.message ?? e}` });
      }
    }
  }

  // Download chunk i into one buffer of its declared size, resuming with Range after a dropped connection.
  async function download(i, reload) {
    const c = chunks[i];
    const url = new URL(c.file, o.baseUrl).href;
    const buf = new Uint8Array(c.size);
    let have = 0;
    let lastError = null;
    for (let attempt = 1; attempt <= MAX_NETWORK_ATTEMPTS; attempt++) {
      if (o.signal?.aborted) throw o.signal.reason ?? new DOMException('aborted', 'AbortError');
      const headers = {};
      if (have > 0) headers.Range = `bytes=${have}-`;
      let res;
      try {
        res = await doFetch(url, { cache: reload ? 'reload' : 'no-store', credentials: 'omit', headers, signal: o.signal });
      } catch (e) {
        if (o.signal?.aborted) throw e;
        lastError = e;
        await sleep(250 * attempt, o.signal);
        continue;
      }
      const resumed = res.status === 206 && have > 0 && Number(/^bytes (\d+)-/.exec(res.headers.get('Content-Range') ?? '')?.[1]) === have;
      if (resumed) {
        // continue filling from `have`
      } else if (res.ok && res.status !== 206) {
        if (have > 0) { downloadedBytes -= have; got[i] -= have; }
        have = 0;              // the server sent the whole chunk again
      } else if (res.status === 206) {
        // A range we did not ask for: start the chunk over without ranges.
        downloadedBytes -= have; got[i] -= have; have = 0;
        lastError = new Error('unexpected partial response');
        continue;
      } else {
        const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
        lastError = new ChunkError('E_CHUNK_HTTP', `${label(i)}: the server answered ${res.status} ${res.statusText}`.trim() + ` for ${url}`, { status: res.status, url });
        if (!retryable) throw lastError;
        await sleep(250 * attempt, o.signal);
        continue;
      }
      try {
        const reader = res.body.getReader();
        for (;;) {
          const { done: end, value } = await reader.read();
          if (end) break;
          if (have + value.length > c.size) {
            throw new ChunkError('E_CHUNK_SIZE', `${label(i)}: expected ${c.size} bytes, got more`);
          }
          buf.set(value, have);
          have += value.length;
          got[i] += value.length;
          downloadedBytes += value.length;
          report();
        }
      } catch (e) {
        if (e instanceof ChunkError || o.signal?.aborted) throw e;
        lastError = e;       // connection dropped mid-chunk: resume from `have`
        await sleep(250 * attempt, o.signal);
        continue;
      }
      if (have === c.size) return buf;
      lastError = new ChunkError('E_CHUNK_SIZE', `${label(i)}: expected ${c.size} bytes, got ${have}`);
      if (attempt >= 2) throw lastError;
      downloadedBytes -= have; got[i] -= have; have = 0;
    }
    throw new ChunkError('E_NETWORK',
      `${label(i)}: the download keeps failing (${lastError?.message ?? lastError}). ` +
      'The chunks already received are kept: try again to continue from where it stopped.', { cause: lastError });
  }

  async function obtain(i) {
    const c = chunks[i];
    const cached = await fromCache(i);
    if (cached) {
      got[i] = c.size;
      cachedBytes += c.size;
      done++;
      report(true);
      return cached;
    }
    let bytes = await download(i, false);
    if (await sha256Hex(bytes) !== c.sha256) {
      // Wrong once: maybe a proxy or disk glitch. Fetch it once more past every HTTP cache.
      got[i] = 0;
      downloadedBytes -= bytes.length;
      report(true);
      bytes = await download(i, true);
      if (await sha256Hex(bytes) !== c.sha256) {
        throw new ChunkError('E_CHUNK_HASH',
          `${label(i)}: SHA-256 mismatch (file is corrupt or was tampered with). It was downloaded twice and ` +
          'was wrong both times, so the model was not loaded.', { index: i, file: c.file });
      }
    }
    await toCache(i, bytes);
    done++;
    report(true);
    return bytes;
  }

  function get(i) {
    let p = inflight.get(i);
    if (!p) { p = obtain(i); inflight.set(i, p); }
    return p;
  }

  async function fetchChunk(arg) {
    const i = typeof arg === 'number' ? arg : arg.index;
    if (!(i >= 0 && i < chunks.length)) throw new ChunkError('E_CHUNK_INDEX', `no chunk ${i}`);
    const p = get(i);
    for (let k = 1; k <= prefetch && i + k < chunks.length; k++) get(i + k).catch(() => {});
    try {
      return await p;
    } finally {
      inflight.delete(i);   // the engine has its own copy now
    }
  }

  /** Start getting the first `n` chunks now (e.g. while the engine starts); fetchChunk picks them up. */
  function warm(n) {
    for (let i = 0; i < Math.min(n, chunks.length); i++) get(i).catch(() => {});
  }

  return { fetchChunk, warm, total, report: () => report(true) };
}

/** How many of the listed chunks the cache already holds (for "cached: 12 of 12 chunks"). */
export async function countCached(cache, chunks) {
  if (!cache) return { count: 0, bytes: 0 };
  let count = 0, bytes = 0;
  for (const c of chunks) {
    try {
      if (await cache.match(chunkKey(c.sha256))) { count++; bytes += c.size; }
    } catch { /* ignore */ }
  }
  return { count, bytes };
}
