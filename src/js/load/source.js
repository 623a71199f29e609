// What load(source, options) reads: the manifest, and where each chunk comes from.
//
// The manifest, by the type of `source`:
//   undefined, null, 'default'        the bundled model weights/cifar10-vit/manifest.json, next to the package
//   an array / FileList of File       (a picked folder) the one named manifest.json, chunks by name beside it
//   a string starting with '{'        the manifest's JSON text
//   a string with http(s):, blob:, data:   a URL
//   any other string                  Node: a folder or a manifest path (file: URLs too); browsers: a URL
//                                     relative to the page
//   a URL object                      file: in Node = a path; otherwise fetched
//   any other object                  the manifest itself (as JSON.parse would give it)
// The chunks: options.fetchChunk when given; else options.base (a URL, or a folder in Node) when given; else
// next to the manifest (its folder, its URL, or the picked files). A manifest given as text or object, or
// from a blob:/data: URL, has no "next to": it needs base or fetchChunk.
import { VitrineError } from '../errors.js';
import { isNode } from '../runtime.js';
import { locateManifest, readManifestFile, toPath, folderSource, nodeModules } from './fs.js';
import { fetchManifestText, networkSource } from './fetch.js';
import { openChunkStore } from './cache.js';

const DEFAULT_MODEL = new URL('../../../weights/cifar10-vit/manifest.json', import.meta.url);
const URL_SCHEME = /^(https?|blob|data):/i;

const inputError = (message) => new VitrineError('E_INPUT', message);

// Arrays, FileLists and other iterables (a plain manifest object is not iterable).
function isFileList(x) {
  return typeof x === 'object' && x !== null && typeof x[Symbol.iterator] === 'function' && !ArrayBuffer.isView(x);
}

/** A location (string or URL) as { url } or, in Node, { dir/path }; relative strings: Node paths, browser URLs. */
async function place(x, what) {
  if (x instanceof URL) {
    if (isNode && x.protocol === 'file:') return { path: await toPath(x) };
    return { url: x };
  }
  if (typeof x !== 'string' || x === '') throw inputError(`${what} must be a URL or a path, got ${x === '' ? 'an empty string' : typeof x}`);
  if (URL_SCHEME.test(x)) return { url: new URL(x) };
  if (isNode) return { path: await toPath(x) };
  try { return { url: new URL(x, globalThis.location?.href) }; } catch { throw inputError(`${what}: ${JSON.stringify(x)} is not a URL`); }
}

/** → { kind: 'file'|'url'|'text'|'object'|'files', … } without reading anything (Node: one stat). */
export async function resolveSource(source) {
  if (source === undefined || source === null || source === 'default') source = DEFAULT_MODEL;
  if (isFileList(source)) return filesSource([...source]);
  if (typeof source === 'string' && /^\s*\{/.test(source)) return { kind: 'text', text: source, where: 'the manifest text' };
  if (typeof source === 'string' || source instanceof URL) {
    const p = await place(source, 'load(source)');
    if (p.url) return { kind: 'url', url: p.url, where: p.url.protocol === 'data:' ? 'the data: manifest' : p.url.href };
    const m = await locateManifest(p.path);
    return { kind: 'file', path: m.path, dir: m.dir, where: m.path };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    throw inputError('load(source): one file is not a model: pass all the files of its folder (manifest.json and its chunks) as an array');
  }
  if (source && typeof source === 'object' && !ArrayBuffer.isView(source) && !(source instanceof ArrayBuffer)) {
    return { kind: 'object', manifest: source, where: 'the manifest object' };
  }
  throw inputError('load(source): source must be a folder or manifest path, a URL, manifest JSON text, a manifest object, or picked files');
}

function filesSource(list) {
  if (!list.every((f) => typeof f?.name === 'string' && typeof f.arrayBuffer === 'function')) {
    throw inputError('load(files): every entry must be a File (a name and its bytes)');
  }
  const rel = (f) => f.webkitRelativePath || f.name;
  const dirOf = (f) => rel(f).slice(0, Math.max(0, rel(f).lastIndexOf('/')));
  const manifests = list.filter((f) => f.name === 'manifest.json');
  if (manifests.length === 0) throw new VitrineError('E_MANIFEST', `none of the ${list.length} files given is a manifest.json: pick the folder of a converted model`);
  if (manifests.length > 1) throw inputError(`${manifests.length} files named manifest.json (${manifests.map(rel).join(', ')}): pick the folder of one model`);
  const mf = manifests[0];
  const byName = new Map(list.filter((f) => dirOf(f) === dirOf(mf)).map((f) => [f.name, f]));
  return { kind: 'files', manifestFile: mf, byName, where: rel(mf) };
}

/** The manifest's text and parsed object. */
export async function readManifest(src, signal) {
  let text;
  if (src.kind === 'object') {
    try { text = JSON.stringify(src.manifest); } catch (e) { throw new VitrineError('E_MANIFEST', `the manifest object cannot be written as JSON (${e.message})`, { cause: e }); }
    return { text, manifest: src.manifest };
  }
  if (src.kind === 'text') text = src.text;
  else if (src.kind === 'file') text = await readManifestFile(src.path);
  else if (src.kind === 'files') text = await src.manifestFile.text();
  else text = await fetchManifestText(src.url, signal);
  let manifest;
  try { manifest = JSON.parse(text); } catch (e) {
    const html = /^\s*</.test(text);
    throw new VitrineError('E_MANIFEST', `${src.where} is not a vitrine manifest: ${html ? 'it is an HTML page (is the URL right?)' : `not valid JSON (${e.message})`}`, { cause: e });
  }
  if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) throw new VitrineError('E_MANIFEST', `${src.where} is not a vitrine manifest: not a JSON object`);
  return { text, manifest };
}

/** Where chunk files are: { dir } (Node), { url } (fetched), { files }, or null (nowhere known). */
async function chunkPlace(src, base) {
  if (base !== undefined && base !== null) {
    const p = await place(base instanceof URL ? base : String(base), 'options.base');
    return p.path ? { dir: p.path } : usableBase(p.url);
  }
  if (src.kind === 'file') return { dir: src.dir };
  if (src.kind === 'url') return usableBase(src.url);
  if (src.kind === 'files') return { files: src.byName };
  return null;
}

// Chunk files are named relative to the base; blob: and data: URLs have no relative URLs.
const usableBase = (url) => (/^(https?|file):$/.test(url.protocol) ? { url } : null);

/**
 * The chunk reader for a load: { kind: 'fs', readInto } or { kind: 'bytes', get(c) → { bytes, sha256 }, warm?(chunks),
 * allowNetwork?() }; sha256 is the hex digest of bytes when the reader checked it, else null. Checks up front that
 * the chunks can be found at all.
 */
export async function chunkReader(src, options, { signal, progress, note, trace }) {
  const at = await chunkPlace(src, options.base);
  if (options.fetchChunk) return hookReader(options.fetchChunk, at, signal);
  if (!at) {
    throw inputError(`${src.where} does not say where its chunk files are: pass options.base (their URL or folder) or options.fetchChunk`);
  }
  if (at.dir) return { kind: 'fs', ...(await folderSource(at.dir)) };
  if (at.files) return { kind: 'bytes', get: (c) => fileBytes(at.files, c) };
  const store = await openChunkStore(options.cache, note);
  const net = networkSource({ store, signal, progress, trace });
  const withUrl = (c) => ({ ...c, url: new URL(c.file, at.url).href });
  return { kind: 'bytes', get: (c) => net.get(withUrl(c)), warm: (cs) => net.warm(cs.map(withUrl)), allowNetwork: net.allowNetwork };
}

async function fileBytes(byName, c) {
  const f = byName.get(c.file);
  if (!f) throw new VitrineError('E_CHUNK_MISSING', `chunk ${c.index} (${c.file}) is not among the files given`);
  return { bytes: new Uint8Array(await f.arrayBuffer()), sha256: null };
}

function hookReader(fetchChunk, at, signal) {
  return {
    kind: 'bytes',
    async get(c) {
      const request = { index: c.index, file: c.file, size: c.size, sha256: c.sha256,
        url: at?.url ? new URL(c.file, at.url).href : undefined,
        path: at?.dir ? (await nodeModules()).path.join(at.dir, c.file) : undefined };
      let data;
      try { data = await fetchChunk(request); } catch (e) {
        if (signal?.aborted) throw signal.reason;
        // Keep the hook's own code (e.g. a cache layer's E_CHUNK_HASH); anything else is a missing chunk.
        const code = typeof e?.code === 'string' && /^E_[A-Z_]+$/.test(e.code) ? e.code : 'E_CHUNK_MISSING';
        const msg = String(e?.message ?? e);
        throw new VitrineError(code, msg.includes(`chunk ${c.index}`) ? msg : `chunk ${c.index} (${c.file}): ${msg}`, { cause: e });
      }
      if (data instanceof ArrayBuffer) data = new Uint8Array(data);
      else if (ArrayBuffer.isView(data) && !(data instanceof Uint8Array)) data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (!(data instanceof Uint8Array)) throw new VitrineError('E_LOAD', `fetchChunk for chunk ${c.index} must return a Uint8Array or an ArrayBuffer`);
      return { bytes: data, sha256: null };
    },
  };
}
