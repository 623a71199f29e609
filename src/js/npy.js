// Minimal .npy reader/writer (NumPy format v1/v2/v3), little-endian float data only. Pure JS, no Node imports,
// so the browser bundle can use it too.
import { VitrineError } from './errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DTYPES = {
  '<f4': { size: 4, kind: 'f32' },
  '<f8': { size: 8, kind: 'f64' },
  '<f2': { size: 2, kind: 'f16' },
};

/** Parse an .npy header. `bytes` needs at least the header (first 64 KiB is plenty in practice). */
export function parseNpyHeader(bytes, what = 'npy') {
  const bad = (msg) => new VitrineError('E_INPUT', `${what}: ${msg}`);
  if (bytes.length < 10) throw bad('too short to be an .npy file');
  for (let i = 0; i < 6; i++) if (bytes[i] !== MAGIC[i]) throw bad('not an .npy file (bad magic)');
  const major = bytes[6];
  let headerLen, start;
  if (major === 1) { headerLen = bytes[8] | (bytes[9] << 8); start = 10; }
  else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('truncated header');
    headerLen = (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16)) + bytes[11] * 2 ** 24; start = 12;
  } else throw bad(`unsupported .npy version ${major}`);
  if (start + headerLen > bytes.length) throw bad('header runs past the end of the data');
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shapeM) throw bad(`unreadable header ${JSON.stringify(text.trim())}`);
  const shape = shapeM[1].split(',').map((s) => s.trim()).filter((s) => s.length).map((s) => {
    if (!/^\d+$/.test(s)) throw bad(`bad shape (${shapeM[1]})`);
    return Number(s);
  });
  return { descr: descr[1], fortranOrder: fortran[1] === 'True', shape, dataOffset: start + headerLen };
}

export function f16ToF32(u16) {
  const out = new Float32Array(u16.length);
  for (let i = 0; i < u16.length; i++) {
    const h = u16[i];
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    out[i] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

/**
 * Float32 data from raw little-endian bytes of dtype kind 'f32' | 'f64' | 'f16' | 'bf16'.
 * Always returns a fresh, aligned Float32Array.
 */
export function toFloat32(bytes, kind) {
  const copy = (n) => { const b = new Uint8Array(n); b.set(bytes.subarray(0, n)); return b.buffer; };
  if (kind === 'f32') return new Float32Array(copy(bytes.length));
  if (kind === 'f64') return Float32Array.from(new Float64Array(copy(bytes.length)));
  if (kind === 'f16') return f16ToF32(new Uint16Array(copy(bytes.length)));
  if (kind === 'bf16') {
    const u16 = new Uint16Array(copy(bytes.length));
    const u32 = new Uint32Array(u16.length);
    for (let i = 0; i < u16.length; i++) u32[i] = u16[i] << 16;
    return new Float32Array(u32.buffer);
  }
  throw new VitrineError('E_INPUT', `unsupported dtype ${kind}`);
}

/** Read a whole .npy held in memory → { shape, data: Float32Array, descr }. Only little-endian floats, C order. */
export function readNpy(bytes, what = 'npy') {
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  const h = parseNpyHeader(bytes, what);
  const dt = DTYPES[h.descr];
  if (!dt) throw new VitrineError('E_INPUT', `${what}: dtype '${h.descr}' is not supported (need '<f4', '<f8' or '<f2')`);
  if (h.fortranOrder) throw new VitrineError('E_INPUT', `${what}: fortran_order=True is not supported (save a C-contiguous array)`);
  const count = h.shape.reduce((a, b) => a * b, 1);
  const need = count * dt.size;
  if (h.dataOffset + need > bytes.length) {
    throw new VitrineError('E_INPUT', `${what}: shape [${h.shape}] needs ${need} bytes of data, the file has ${bytes.length - h.dataOffset}`);
  }
  return { shape: h.shape, descr: h.descr, data: toFloat32(bytes.subarray(h.dataOffset, h.dataOffset + need), dt.kind) };
}

/** Serialise a Float32Array as .npy v1 ('<f4', C order). Returns a Uint8Array. */
export function writeNpy(data, shape) {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new VitrineError('E_INPUT', `writeNpy: shape [${shape}] has ${count} elements, data has ${data.length}`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1; out[7] = 0;
  out[8] = header.length & 0xff; out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.length * 4), 10 + header.length);
  return out;
}
