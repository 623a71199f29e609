// Synthetic Hugging Face checkpoints for the converter tests and the benchmark: config.json + model.safetensors
// (+ preprocessor_config.json) with seeded random weights and exactly the tensor names transformers writes.
// Data is generated and written one tensor at a time, so a ViT-B-sized (350 MB) file costs little memory.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

// The seeded PRNG (mulberry32) of the head trainer.
import { rng } from '../../src/js/head/train.js';

export { rng };

const prod = (s) => s.reduce((a, b) => a * b, 1);

/** HF tensor names + shapes for a config (the names transformers 4.4x saves). */
export function hfTensors(cfg) {
  const mt = cfg.model_type;
  const dino = mt === 'dinov2' || mt === 'dinov2_with_registers';
  const D = cfg.hidden_size, P = cfg.patch_size, C = cfg.num_channels ?? 3;
  const N = (cfg.image_size / P) ** 2;
  const head = cfg.head ?? 'none'; // 'none' | 'cls' | 'dist'
  const prefix = head === 'none' ? '' : { vit: 'vit.', deit: 'deit.', dinov2: 'dinov2.', dinov2_with_registers: 'dinov2_with_registers.' }[mt];
  const t = [];
  const add = (n, s, init) => t.push({ name: n, shape: s, init });
  const e = prefix + 'embeddings.';
  add(e + 'cls_token', [1, 1, D]);
  if (mt === 'deit') add(e + 'distillation_token', [1, 1, D]);
  if (dino) add(e + 'mask_token', [1, D], 'zero');
  if (mt === 'dinov2_with_registers') add(e + 'register_tokens', [1, cfg.num_register_tokens, D]);
  add(e + 'position_embeddings', [1, N + (mt === 'deit' ? 2 : 1), D]);
  add(e + 'patch_embeddings.projection.weight', [D, C, P, P]);
  add(e + 'patch_embeddings.projection.bias', [D]);
  let I = cfg.intermediate_size;
  if (dino) {
    const h = Math.trunc(D * (cfg.mlp_ratio ?? 4));
    I = cfg.use_swiglu_ffn ? Math.floor((Math.trunc((h * 2) / 3) + 7) / 8) * 8 : h;
  }
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `${prefix}encoder.layer.${l}.`;
    add(p + (dino ? 'norm1' : 'layernorm_before') + '.weight', [D], 'one');
    add(p + (dino ? 'norm1' : 'layernorm_before') + '.bias', [D]);
    for (const q of ['query', 'key', 'value']) {
      add(`${p}attention.attention.${q}.weight`, [D, D]);
      if (cfg.qkv_bias !== false) add(`${p}attention.attention.${q}.bias`, [D]);
    }
    add(p + 'attention.output.dense.weight', [D, D]);
    add(p + 'attention.output.dense.bias', [D]);
    if (dino) add(p + 'layer_scale1.lambda1', [D], 'one');
    add(p + (dino ? 'norm2' : 'layernorm_after') + '.weight', [D], 'one');
    add(p + (dino ? 'norm2' : 'layernorm_after') + '.bias', [D]);
    if (dino && cfg.use_swiglu_ffn) {
      add(p + 'mlp.weights_in.weight', [2 * I, D]); add(p + 'mlp.weights_in.bias', [2 * I]);
      add(p + 'mlp.weights_out.weight', [D, I]); add(p + 'mlp.weights_out.bias', [D]);
    } else if (dino) {
      add(p + 'mlp.fc1.weight', [I, D]); add(p + 'mlp.fc1.bias', [I]);
      add(p + 'mlp.fc2.weight', [D, I]); add(p + 'mlp.fc2.bias', [D]);
    } else {
      add(p + 'intermediate.dense.weight', [I, D]); add(p + 'intermediate.dense.bias', [I]);
      add(p + 'output.dense.weight', [D, I]); add(p + 'output.dense.bias', [D]);
    }
    if (dino) add(p + 'layer_scale2.lambda1', [D], 'one');
  }
  add(prefix + 'layernorm.weight', [D], 'one');
  add(prefix + 'layernorm.bias', [D]);
  const L = cfg.num_labels ?? 0;
  if (head === 'cls') {
    add('classifier.weight', [L, dino ? 2 * D : D]); add('classifier.bias', [L]);
  } else if (head === 'dist') {
    add('cls_classifier.weight', [L, D]); add('cls_classifier.bias', [L]);
    add('distillation_classifier.weight', [L, D]); add('distillation_classifier.bias', [L]);
  }
  if (cfg.pooler) { add(prefix + 'pooler.dense.weight', [D, D]); add(prefix + 'pooler.dense.bias', [D]); }
  return t;
}

export function fillTensor(t, rand, scale = 0.05) {
  const a = new Float32Array(prod(t.shape));
  if (t.init === 'one') for (let i = 0; i < a.length; i++) a[i] = 1 + (rand() - 0.5) * 0.1;
  else if (t.init !== 'zero') for (let i = 0; i < a.length; i++) a[i] = (rand() - 0.5) * 2 * scale;
  return a;
}

/**
 * Write a safetensors file. tensors: [{ name, shape, data?: Float32Array }] — missing data is generated with
 * `rand`. `dtype` 'F32' (default) or 'F16'/'F64' (data converted). Returns the per-tensor data written.
 */
export function writeSafetensors(file, tensors, { rand = rng(1), dtype = 'F32', keep = false, metadata } = {}) {
  const size = { F32: 4, F16: 2, BF16: 2, F64: 8 }[dtype];
  const header = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    const n = prod(t.shape) * size;
    header[t.name] = { dtype, shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = fs.openSync(file, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeSync(fd, len);
  fs.writeSync(fd, Buffer.from(json));
  const kept = new Map();
  for (const t of tensors) {
    const data = t.data ?? fillTensor(t, rand);
    if (keep) kept.set(t.name, data);
    let bytes;
    if (dtype === 'F32') bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    else if (dtype === 'F64') { const d = Float64Array.from(data); bytes = Buffer.from(d.buffer); }
    else if (dtype === 'BF16') { const u = new Uint32Array(Float32Array.from(data).buffer); bytes = Buffer.from(Uint16Array.from(u, (x) => x >>> 16).buffer); }
    else { const h = new Uint16Array(data.length); for (let i = 0; i < data.length; i++) h[i] = toF16(data[i]); bytes = Buffer.from(h.buffer); }
    fs.writeSync(fd, bytes);
  }
  fs.closeSync(fd);
  return kept;
}

function toF16(v) {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  let e = ((x >>> 23) & 0xff) - 127 + 15;
  const m = x & 0x7fffff;
  if (e <= 0) { if (e < -10) return sign; return sign | ((m | 0x800000) >> (1 - e + 13)); }
  if (e >= 31) return sign | 0x7c00;
  return sign | (e << 10) | (m >> 13);
}

export const TINY = {
  vit: { model_type: 'vit', hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, patch_size: 8, image_size: 32, num_channels: 3, layer_norm_eps: 1e-12, hidden_act: 'gelu', qkv_bias: true },
  deit: { model_type: 'deit', hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, patch_size: 8, image_size: 32, num_channels: 3, layer_norm_eps: 1e-12, hidden_act: 'gelu', qkv_bias: true },
  dinov2: { model_type: 'dinov2', hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, mlp_ratio: 4, patch_size: 8, image_size: 32, num_channels: 3, layer_norm_eps: 1e-6, hidden_act: 'gelu', qkv_bias: true, use_swiglu_ffn: false, layerscale_value: 1.0 },
  dinov2_with_registers: { model_type: 'dinov2_with_registers', hidden_size: 48, num_hidden_layers: 1, num_attention_heads: 4, mlp_ratio: 4, patch_size: 8, image_size: 32, num_channels: 3, layer_norm_eps: 1e-6, hidden_act: 'gelu', qkv_bias: true, use_swiglu_ffn: true, num_register_tokens: 4 },
};

const ARCH_NAME = {
  vit: ['ViTModel', 'ViTForImageClassification', 'ViTForImageClassification'],
  deit: ['DeiTModel', 'DeiTForImageClassification', 'DeiTForImageClassificationWithTeacher'],
  dinov2: ['Dinov2Model', 'Dinov2ForImageClassification'],
  dinov2_with_registers: ['Dinov2WithRegistersModel', 'Dinov2WithRegistersForImageClassification'],
};

/**
 * A Hugging Face model folder. opts: { head: 'none'|'cls'|'dist', num_labels, preprocessor: object|false,
 * dtype, seed, pooler, overrides }. Returns { dir, config, tensors }.
 */
export function makeHfModel(dir, family, opts = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const head = opts.head ?? 'none';
  const cfg = { ...TINY[family], ...(opts.overrides ?? {}) };
  const L = head === 'none' ? 0 : opts.num_labels ?? 3;
  const archName = ARCH_NAME[cfg.model_type][head === 'none' ? 0 : head === 'cls' ? 1 : 2];
  const config = { ...cfg, architectures: [archName], transformers_version: '4.48.3' };
  if (L) {
    config.id2label = Object.fromEntries(Array.from({ length: L }, (_, i) => [String(i), `class_${i}`]));
    config.label2id = Object.fromEntries(Array.from({ length: L }, (_, i) => [`class_${i}`, i]));
  }
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const tensors = hfTensors({ ...cfg, head, num_labels: L, pooler: opts.pooler });
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { rand: rng(opts.seed ?? 7), dtype: opts.dtype ?? 'F32', keep: false });
  if (opts.preprocessor !== false) {
    const pp = opts.preprocessor ?? {
      image_processor_type: 'ViTImageProcessor', do_resize: true, size: { height: cfg.image_size, width: cfg.image_size },
      resample: 2, do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
    };
    fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify(pp, null, 2));
  }
  return { dir, config, tensors };
}

// ---- .npz writer (stored zip, like numpy.savez) ----

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; t[n] = c >>> 0; }
  return t;
})();
function crc32(buf) { let c = 0xffffffff; for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; }

/** arrays: [{ name, bytes: Uint8Array (a whole .npy), deflate? }] (like numpy.savez / savez_compressed). */
export function writeNpz(file, arrays) {
  const parts = [], central = [];
  let offset = 0;
  for (const { name, bytes: raw, deflate } of arrays) {
    const fname = Buffer.from(name + '.npy');
    const crc = crc32(raw);
    const bytes = deflate ? zlib.deflateRawSync(raw) : raw;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt16LE(deflate ? 8 : 0, 8); lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(bytes.length, 18); lh.writeUInt32LE(raw.length, 22); lh.writeUInt16LE(fname.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt16LE(deflate ? 8 : 0, 10); ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(bytes.length, 20); ch.writeUInt32LE(raw.length, 24); ch.writeUInt16LE(fname.length, 28); ch.writeUInt32LE(offset, 42);
    parts.push(lh, fname, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    central.push(ch, fname);
    offset += 30 + fname.length + bytes.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(arrays.length, 8); end.writeUInt16LE(arrays.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  fs.writeFileSync(file, Buffer.concat([...parts, cd, end]));
}
