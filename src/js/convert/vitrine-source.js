// A vitrine model folder as a source: for `vitrine convert <model> --dtype …` (re-encoding a converted model) and
// `vitrine train-head` (copying a base model's backbone). Each chunk's size and SHA-256 are checked as it is read;
// one chunk is held in memory at a time.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { VitrineError } from '../errors.js';
import { readManifest } from '../inspect.js';
import { f16ToF32 } from '../npy.js';
import { dequantizeI8 } from './dtype.js';

const ELEMENT_BYTES = { f32: 4, f16: 2, i8: 1 };

/** True when `dir` is a folder holding a vitrine manifest.json. */
export function isVitrineModel(dir) {
  const p = path.join(dir, 'manifest.json');
  if (!fs.existsSync(p)) return false;
  try { return JSON.parse(fs.readFileSync(p, 'utf8')).format === 'vitrine'; } catch { return false; }
}

/**
 * { manifest, dir, tensors: Map name → manifest entry, bytes(t), copy(t) → (sink) => …, readF32(name) }.
 * bytes(t): the stored bytes of tensor entry t; readF32(name): its values as f32 (f16 expanded, i8 dequantized
 * with "<name>.scale").
 */
export function openVitrineModel(dirOrFile) {
  const { manifest, path: manifestPath } = readManifest(dirOrFile);
  const dir = path.dirname(manifestPath);
  const tensors = new Map((manifest.tensors ?? []).map((t) => [t.name, t]));
  const chunkSize = manifest.chunk_size;
  let cached = { index: -1, bytes: null };
  const chunk = (i) => {
    if (cached.index === i) return cached.bytes;
    const c = manifest.chunks[i];
    if (!c) throw new VitrineError('E_MANIFEST', `chunk ${i} is not listed in ${manifestPath}`);
    let bytes;
    try { bytes = fs.readFileSync(path.join(dir, c.file)); } catch (e) { throw new VitrineError('E_CHUNK_MISSING', `chunk ${i} (${c.file}): cannot read (${e.code ?? e.message})`); }
    if (bytes.length !== c.size) throw new VitrineError('E_CHUNK_SIZE', `chunk ${i} (${c.file}): expected ${c.size} bytes, got ${bytes.length}`);
    if (createHash('sha256').update(bytes).digest('hex') !== c.sha256) throw new VitrineError('E_CHUNK_HASH', `chunk ${i} (${c.file}): SHA-256 mismatch (file is corrupt or was tampered with)`);
    cached = { index: i, bytes };
    return bytes;
  };
  const size = (t) => {
    const e = ELEMENT_BYTES[t.dtype];
    if (!e) throw new VitrineError('E_MANIFEST', `tensor "${t.name}": unknown dtype "${t.dtype}"`);
    return t.shape.reduce((a, b) => a * b, 1) * e;
  };
  // The tensor's bytes, chunk piece by chunk piece.
  const copy = (t) => (sink) => {
    const end = t.offset + size(t);
    for (let pos = t.offset; pos < end;) {
      const i = Math.floor(pos / chunkSize), at = pos - i * chunkSize;
      const take = Math.min(chunkSize - at, end - pos);
      sink(chunk(i).subarray(at, at + take));
      pos += take;
    }
  };
  const bytes = (t) => {
    const out = new Uint8Array(size(t));
    let at = 0;
    copy(t)((b) => { out.set(b, at); at += b.length; });
    return out;
  };
  const readF32 = (name) => {
    const t = tensors.get(name);
    if (!t) throw new VitrineError('E_MANIFEST', `missing tensor "${name}"`);
    const b = bytes(t);
    if (t.dtype === 'f32') return new Float32Array(b.buffer);
    if (t.dtype === 'f16') return f16ToF32(new Uint16Array(b.buffer));
    const rows = t.shape[0], cols = b.length / rows;
    return dequantizeI8(new Int8Array(b.buffer), readF32(`${name}.scale`), rows, cols);
  };
  return { manifest, dir, tensors, bytes, copy, readF32, size };
}
