// Weight encodings of the tensor stream (docs/FORMAT.md §2) as the converter writes them: f32 → f16 (IEEE half,
// round to nearest even) and f32 → i8 (symmetric per output channel: scale = max|row| / 127, q = round-half-even
// (w · 127 / max|row|) clamped to ±127 — in float32 steps, so it gives the bytes the engine's own
// kernels::quantize_weights_i8 gives). Decoding for a re-encoded vitrine model: npy.js f16ToF32 and dequantizeI8.
import { VitrineError } from '../errors.js';

const F16_MAX = 65504;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function halfBits(x) {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf, NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit 1 in, then round the dropped bits to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift, rest = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1)) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13), rest = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to inf).
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0));
}

/** Float32Array → little-endian IEEE half bytes. A value beyond ±65504 is an E_CONVERT naming the tensor. */
export function encodeF16(values, name) {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if (Math.abs(values[i]) > F16_MAX) throw new VitrineError('E_CONVERT', `tensor "${name}": value ${values[i]} does not fit in f16 (|x| ≤ 65504); convert with --dtype f32`);
    out[i] = halfBits(values[i]);
  }
  return new Uint8Array(out.buffer);
}

const roundHalfEven = (v) => {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** Float32Array [rows, cols] → { q: Int8Array, scale: Float32Array [rows] }. */
export function quantizeI8(values, rows, cols) {
  const q = new Int8Array(rows * cols), scale = new Float32Array(rows);
  const fr = Math.fround;
  for (let r = 0; r < rows; r++) {
    const row = values.subarray(r * cols, (r + 1) * cols);
    let mx = 0;
    for (let k = 0; k < cols; k++) mx = Math.max(mx, Math.abs(row[k]));
    scale[r] = fr(mx / 127);
    const inv = mx > 0 ? fr(127 / mx) : 0;
    for (let k = 0; k < cols; k++) q[r * cols + k] = roundHalfEven(Math.min(Math.max(fr(row[k] * inv), -127), 127));
  }
  return { q, scale };
}

/** i8 [rows, cols] + scale [rows] → Float32Array (q · scale). */
export function dequantizeI8(q, scale, rows, cols) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[r * cols + k] = q[r * cols + k] * scale[r];
  return out;
}
