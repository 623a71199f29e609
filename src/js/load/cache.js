// The chunk store for URL loads: the Cache API (or any object with the same match/put/delete methods), keyed
// by each chunk's SHA-256 alone. Chunks are content-addressed (FORMAT.md §1), so a reload, a second tab or a new
// version of a model that shares chunks reads what it already has, and two models sharing chunks store them
// once. Only chunks whose hash was checked are stored; a stored chunk is checked again when read, and a damaged
// entry is deleted (the caller downloads it again).
import { isNode, nodeModule } from '../runtime.js';

export const CACHE_NAME = 'vitrine-chunks-v1';
const KEY_PATH = '/__vitrine-chunk/';   // synthetic request URLs: only cache keys, never fetched

let nodeCrypto = null;

/** Whether sha256Hex can hash here: browsers give crypto.subtle to secure contexts only. */
export const canHash = () => isNode || typeof globalThis.crypto?.subtle?.digest === 'function';

/** Lowercase hex SHA-256 with the platform's implementation (node:crypto in Node, crypto.subtle elsewhere). */
export async function sha256Hex(bytes) {
  if (isNode) {
    nodeCrypto ??= await nodeModule('crypto');
    return nodeCrypto.createHash('sha256').update(bytes).digest('hex');
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let s = '';
  for (const b of digest) s += b.toString(16).padStart(2, '0');
  return s;
}

export function chunkKey(sha256) {
  const origin = globalThis.location?.origin;
  return new URL(KEY_PATH + sha256, origin && origin !== 'null' ? origin : 'http://vitrine.invalid').href;
}

export function isQuotaError(e) {
  return !!e && (e.name === 'QuotaExceededError' || e.code === 22 || /quota/i.test(String(e.message)));
}

/** Whether this context has a usable Cache API of its own (secure context: https, localhost, 127.0.0.1). */
function platformCaches() {
  return typeof globalThis.caches?.open === 'function' && globalThis.isSecureContext === true ? globalThis.caches : null;
}

/**
 * Open the store for one load.
 * @param {boolean|object|undefined} option  load()'s `cache` option: false = none; undefined/true = the
 *   platform's Cache API when there is one; an object with match/put/delete = that object.
 * @param {(note:{code:string,message:string})=>void} note  non-fatal problems
 * @returns {Promise<ChunkStore|null>}
 */
export async function openChunkStore(option, note) {
  // A chunk is only stored, and only read back, with its hash checked.
  if (option === false || !canHash()) return null;
  if (option && typeof option === 'object') return new ChunkStore(option, note);
  const caches = platformCaches();
  if (!caches) return null;
  try {
    return new ChunkStore(await caches.open(CACHE_NAME), note);
  } catch (e) {
    note({ code: 'E_CACHE', message: `the chunk cache could not be opened (${e?.message ?? e}): the model loads but is not kept for next time` });
    return null;
  }
}

/** Forget every chunk the platform's Cache API holds for vitrine. → whether there was anything. */
export async function clearCache() {
  const caches = platformCaches();
  return caches ? caches.delete(CACHE_NAME) : false;
}

class ChunkStore {
  #cache; #note; #broken = false;
  constructor(cache, note) { this.#cache = cache; this.#note = note; }

  /** The chunk's bytes if stored and intact (hashed here: the digest the engine compares), else null (a damaged
   * entry is deleted). @param {import('./trace.js').LoadTrace} trace */
  async get(c, trace) {
    if (this.#broken) return null;
    const key = chunkKey(c.sha256);
    let res;
    try { res = await trace.time('cache-match', () => this.#cache.match(key)); } catch { return null; }
    if (!res) return null;
    let bytes = null;
    try { bytes = new Uint8Array(await trace.time('cache-read', () => res.arrayBuffer())); } catch { /* unreadable entry: dropped below */ }
    if (bytes && bytes.length === c.size && await trace.time('hash', () => sha256Hex(bytes)) === c.sha256) return bytes;
    try { await this.#cache.delete(key); } catch { /* it is refetched either way */ }
    return null;
  }

  /** Store a chunk whose hash the caller checked. A full or failing store is turned off for the rest of the load. */
  async put(c, bytes) {
    if (this.#broken) return;
    try {
      await this.#cache.put(chunkKey(c.sha256), new Response(bytes, {
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
      }));
    } catch (e) {
      this.#broken = true;
      this.#note(isQuotaError(e)
        ? { code: 'E_QUOTA', message: 'no room left to keep the model for next time (storage quota exceeded): it loads now, but the next load downloads it again' }
        : { code: 'E_CACHE', message: `the model could not be kept for next time (${e?.message ?? e})` });
    }
  }
}
