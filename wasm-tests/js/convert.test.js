// The converter: HF checkpoints (safetensors, sharded, npz) → format v1 folders; the stream's layout and bytes;
// name mapping, q/k/v fusion, architecture/labels/preprocess; and every refusal names what is wrong.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { convert, planConversion } from '../../src/js/convert/index.js';
import { openSafetensors } from '../../src/js/convert/sources.js';
import { normalisePreprocess, architectureFromConfig } from '../../src/js/convert/mapping.js';
import { getRuntime } from '../../src/js/runtime.js';
import { readNpy, writeNpy, f16ToF32 } from '../../src/js/npy.js';
import { ROOT, FIXTURES, cases, caseInfo, caseSource, tmpDir, copyDir } from '../helpers/env.js';
import { makeHfModel, writeSafetensors, writeNpz, hfTensors, TINY } from '../helpers/synth.js';

function readStream(dir) {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const parts = m.chunks.map((c) => fs.readFileSync(path.join(dir, c.file)));
  return { m, stream: Buffer.concat(parts) };
}
function tensorData(dir, name, cache = readStream(dir)) {
  const t = cache.m.tensors.find((x) => x.name === name);
  assert.ok(t, `tensor ${name} in manifest`);
  const n = t.shape.reduce((a, b) => a * b, 1);
  return new Float32Array(cache.stream.buffer.slice(cache.stream.byteOffset + t.offset, cache.stream.byteOffset + t.offset + n * 4));
}
function sourceData(file, name) {
  const f = openSafetensors(file);
  try {
    const t = f.tensors.find((x) => x.name === name);
    assert.ok(t, `${name} in ${file}`);
    const chunks = [];
    t.read((b) => chunks.push(Buffer.from(b)));
    const b = Buffer.concat(chunks);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  } finally { f.close(); }
}

/** Every invariant of FORMAT.md §2, §3, §6, §7 that a writer controls. */
function checkLayout(dir) {
  const { m, stream } = readStream(dir);
  assert.equal(m.format, 'vitrine');
  assert.equal(m.version, 1);
  assert.equal(m.alignment, 64);
  assert.equal(stream.length, m.stream_size);
  assert.equal(m.chunks.length, Math.ceil(m.stream_size / m.chunk_size));
  m.chunks.forEach((c, i) => {
    assert.equal(c.file, `chunk-${String(i).padStart(5, '0')}.bin`);
    const bytes = fs.readFileSync(path.join(dir, c.file));
    assert.equal(c.size, bytes.length);
    assert.equal(c.size, i < m.chunks.length - 1 ? m.chunk_size : m.stream_size - (m.chunks.length - 1) * m.chunk_size);
    assert.equal(c.sha256, createHash('sha256').update(bytes).digest('hex'));
  });
  let end = 0;
  for (const t of m.tensors) {
    assert.equal(t.dtype, 'f32');
    assert.equal(t.offset % 64, 0, `${t.name} aligned`);
    assert.ok(t.offset >= end, `${t.name} after the previous tensor`);
    for (let i = end; i < t.offset; i++) assert.equal(stream[i], 0, `padding byte ${i} is zero`);
    end = t.offset + t.shape.reduce((a, b) => a * b, 1) * 4;
  }
  assert.equal(end, m.stream_size, 'no bytes after the last tensor');
  return m;
}

describe('fixtures convert to what case.json describes', () => {
  for (const name of cases()) {
    test(name, async () => {
      const info = caseInfo(name);
      const out = tmpDir(name);
      const m = await convert(caseSource(name), out);
      // interpolate_antialias is optional in FORMAT §4: written for dinov2_with_registers (HF resizes with antialias).
      const { interpolate_antialias: aa, ...arch } = m.architecture;
      assert.deepEqual(arch, info.architecture);
      assert.equal(aa ?? false, JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'hf/config.json'))).model_type === 'dinov2_with_registers');
      assert.deepEqual(m.labels, info.labels ?? []);
      checkLayout(out);
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')), m);
    });
  }
});

test('q/k/v are fused in that order, every other tensor is copied bit for bit', async () => {
  const src = path.join(FIXTURES, 'vit/hf/model.safetensors');
  const out = tmpDir('vit-bytes');
  await convert(path.join(FIXTURES, 'vit/hf'), out);
  const cache = readStream(out);
  for (const l of [0, 1]) {
    for (const kind of ['weight', 'bias']) {
      const fused = tensorData(out, `layers.${l}.attn.qkv.${kind}`, cache);
      const parts = ['query', 'key', 'value'].map((q) => sourceData(src, `vit.encoder.layer.${l}.attention.attention.${q}.${kind}`));
      assert.deepEqual(fused, Float32Array.from([...parts[0], ...parts[1], ...parts[2]]));
    }
    assert.deepEqual(tensorData(out, `layers.${l}.mlp.fc1.weight`, cache), sourceData(src, `vit.encoder.layer.${l}.intermediate.dense.weight`));
    assert.deepEqual(tensorData(out, `layers.${l}.norm2.bias`, cache), sourceData(src, `vit.encoder.layer.${l}.layernorm_after.bias`));
  }
  assert.deepEqual(tensorData(out, 'embeddings.patch.weight', cache), sourceData(src, 'vit.embeddings.patch_embeddings.projection.weight'));
  assert.deepEqual(tensorData(out, 'classifier.weight', cache), sourceData(src, 'classifier.weight'));
  assert.deepEqual(tensorData(out, 'norm.weight', cache), sourceData(src, 'vit.layernorm.weight'));
});

test('DINOv2 names: layer scale → ls1/ls2, SwiGLU weights_in/out → fc1/fc2, registers; mask_token and pooler dropped and said so', async () => {
  const out = tmpDir('swiglu');
  const m = await convert(path.join(FIXTURES, 'dinov2-swiglu/hf'), out);
  const src = path.join(FIXTURES, 'dinov2-swiglu/hf/model.safetensors');
  assert.equal(m.architecture.intermediate_size, 72); // int(40*2.5)=100 → (int(100*2/3)+7)//8*8
  assert.deepEqual(m.tensors.find((t) => t.name === 'layers.0.mlp.fc1.weight').shape, [144, 40]);
  assert.deepEqual(tensorData(out, 'layers.0.ls1'), sourceData(src, 'encoder.layer.0.layer_scale1.lambda1'));
  assert.deepEqual(tensorData(out, 'layers.0.mlp.fc2.weight'), sourceData(src, 'encoder.layer.0.mlp.weights_out.weight'));
  assert.deepEqual(m.metadata.dropped, ['embeddings.mask_token']);
  const r = await convert(path.join(FIXTURES, 'dinov2-registers/hf'), tmpDir('reg'));
  assert.equal(r.architecture.num_register_tokens, caseInfo('dinov2-registers').architecture.num_register_tokens);
  assert.ok(r.tensors.some((t) => t.name === 'embeddings.register_tokens'));
  const p = await convert(path.join(FIXTURES, 'vit-model/hf'), tmpDir('pooler'));
  assert.deepEqual(p.metadata.dropped.sort(), ['pooler.dense.bias', 'pooler.dense.weight']);
  assert.equal(p.architecture.classifier, 'none');
});

test('SwiGLU width formula matches transformers for several ratios', async () => {
  // (int(int(D*r)*2/3)+7)//8*8, computed by hand from transformers' Dinov2SwiGLUFFN
  for (const [D, r, want] of [[40, 2.5, 72], [1536, 4, 4096], [1024, 4, 2736], [768, 4, 2048], [384, 4, 1024]]) {
    const a = await architectureFromConfig({ ...TINY.dinov2, hidden_size: D, num_attention_heads: 4, mlp_ratio: r, use_swiglu_ffn: true });
    assert.equal(a.intermediate_size, want, `D=${D} ratio=${r}`);
  }
});

test('sharded checkpoint = the same tensors as one file', async () => {
  const m = await convert(path.join(FIXTURES, 'vit-sharded/hf'), tmpDir('sharded'));
  assert.equal(m.metadata.source.files.length, 3);
  assert.equal(m.metadata.source.format, 'safetensors (sharded)');
});

test('custom head (vitrine_head.json + .safetensors) → classifier "head" with its labels', async () => {
  const m = await convert(path.join(FIXTURES, 'head/hf'), tmpDir('head'));
  assert.equal(m.architecture.classifier, 'head');
  assert.equal(m.architecture.head.pooling, 'cls+mean');
  assert.deepEqual(m.labels, ['apple', 'banana', 'cherry']);
  assert.deepEqual(m.tensors.filter((t) => t.name.startsWith('head.')).map((t) => [t.name, t.shape]),
    Object.entries(caseInfo('head').head_tensors));
  const s = await convert(path.join(FIXTURES, 'head-sigmoid/hf'), tmpDir('head-s'));
  assert.equal(s.architecture.head.output, 'sigmoid');
  assert.equal(s.architecture.num_labels, 1);
});

test('npz (stored and deflated, f64 upcast) gives the same stream as safetensors', async () => {
  // Build an npz from the vit fixture's safetensors, one array per HF name.
  const src = path.join(FIXTURES, 'vit/hf');
  const f = openSafetensors(path.join(src, 'model.safetensors'));
  const arrays = f.tensors.map((t) => {
    const parts = []; t.read((b) => parts.push(Buffer.from(b)));
    const b = Buffer.concat(parts);
    return { name: t.name, data: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)), shape: t.shape };
  });
  f.close();
  const dir = tmpDir('npz');
  fs.copyFileSync(path.join(src, 'config.json'), path.join(dir, 'config.json'));
  fs.copyFileSync(path.join(src, 'preprocessor_config.json'), path.join(dir, 'preprocessor_config.json'));
  writeNpz(path.join(dir, 'model.npz'), arrays.map((a) => ({ name: a.name, bytes: writeNpy(a.data, a.shape) })));
  // deflated members + one f64 array (exactly representable values: f32 → f64 → f32 is lossless)
  const f64 = (a) => {
    const hdr = writeNpy(a.data, a.shape);
    const h = Buffer.from(hdr.subarray(0, hdr.length - a.data.length * 4)).toString('latin1').replace("'<f4'", "'<f8'");
    return Buffer.concat([Buffer.from(h, 'latin1'), Buffer.from(Float64Array.from(a.data).buffer)]);
  };
  writeNpz(path.join(dir, 'deflated.npz'), arrays.map((a, i) => ({ name: a.name, bytes: i === 3 ? f64(a) : writeNpy(a.data, a.shape), deflate: true })));
  const refDir = tmpDir('ref'), aDir = tmpDir('npz-a'), bDir = tmpDir('npz-b');
  await convert(src, refDir);
  const a = await convert(path.join(dir, 'model.npz'), aDir);
  const b = await convert(path.join(dir, 'deflated.npz'), bDir, { config: path.join(dir, 'config.json') });
  assert.equal(a.metadata.source.format, 'npz');
  assert.ok(b.metadata.notes.some((n) => /f64 weights converted to f32/.test(n)), JSON.stringify(b.metadata.notes));
  const ref = readStream(refDir).stream;
  assert.ok(ref.equals(readStream(aDir).stream), 'stored npz stream = safetensors stream');
  assert.ok(ref.equals(readStream(bDir).stream), 'deflated npz stream = safetensors stream');
});

test('f16 checkpoint is upcast to f32 (with a note), values exact', async () => {
  const dir = path.join(FIXTURES, 'bad/f16-checkpoint');
  const out = tmpDir('f16');
  const m = await convert(dir, out);
  assert.ok(m.metadata.notes.some((n) => /f16 weights converted to f32/.test(n)));
  checkLayout(out);
  const st = openSafetensors(path.join(dir, 'model.safetensors'));
  const t = st.tensors.find((x) => x.name === 'encoder.layer.0.attention.output.dense.weight');
  assert.equal(t.dtype, 'F16');
  const raw = fs.readFileSync(path.join(dir, 'model.safetensors'));
  const hl = Number(raw.readBigUInt64LE(0));
  const u16 = new Uint16Array(raw.buffer.slice(raw.byteOffset + 8 + hl + t.begin, raw.byteOffset + 8 + hl + t.end));
  st.close();
  assert.deepEqual(tensorData(out, 'layers.0.attn.out.weight'), f16ToF32(u16));
});

test('bf16 and f64 checkpoints are converted to f32 with a note', async () => {
  for (const [dtype, kind] of [['BF16', 'bf16'], ['F64', 'f64']]) {
    const { dir } = makeHfModel(tmpDir(`dt-${kind}`), 'deit', { head: 'dist', dtype, seed: 3 });
    const ref = makeHfModel(tmpDir(`dt-ref-${kind}`), 'deit', { head: 'dist', seed: 3 }).dir;
    const out = tmpDir(`dt-out-${kind}`);
    const m = await convert(dir, out);
    assert.ok(m.metadata.notes.includes(`${kind} weights converted to f32`), JSON.stringify(m.metadata.notes));
    checkLayout(out);
    const got = tensorData(out, 'layers.1.mlp.fc1.weight');
    const want = sourceData(path.join(ref, 'model.safetensors'), 'deit.encoder.layer.1.intermediate.dense.weight');
    if (kind === 'f64') assert.deepEqual(got, want);
    else {
      // bf16 keeps the top 16 bits of each f32
      const w = new Uint32Array(Float32Array.from(want).buffer).map((x) => x & 0xffff0000);
      assert.deepEqual(got, new Float32Array(w.buffer));
    }
  }
});

test('chunk size: many small chunks hold the same stream; sizes and hashes per FORMAT §7', async () => {
  const a = tmpDir('c-default'), b = tmpDir('c-small');
  await convert(path.join(FIXTURES, 'deit/hf'), a);
  const m = await convert(path.join(FIXTURES, 'deit/hf'), b, { chunkSize: '4k' });
  assert.equal(m.chunk_size, 4096);
  assert.ok(m.chunks.length > 10);
  checkLayout(b);
  assert.ok(readStream(a).stream.equals(readStream(b).stream));
  // Converting again into the same folder with bigger chunks removes the stale chunk files.
  await convert(path.join(FIXTURES, 'deit/hf'), b, { chunkSize: 1 << 20 });
  assert.deepEqual(fs.readdirSync(b).filter((f) => f.startsWith('chunk-')).length, readStream(b).m.chunks.length);
  await assert.rejects(convert(path.join(FIXTURES, 'deit/hf'), tmpDir('c-bad'), { chunkSize: 100 }), /multiple of 64/);
});

test('preprocess is normalised (FORMAT §5) and family defaults apply when preprocessor_config.json is absent', async () => {
  const vit = normalisePreprocess({ feature_extractor_type: 'ViTFeatureExtractor', size: 384, do_normalize: true }).preprocess;
  assert.deepEqual(vit.size, { height: 384, width: 384 });
  assert.equal(vit.processor, 'ViTImageProcessor');
  assert.equal(vit.resample, 2);
  assert.equal(vit.do_center_crop, false);
  assert.equal(vit.crop_size, undefined);
  const bit = normalisePreprocess({ image_processor_type: 'BitImageProcessor', size: { shortest_edge: 256 }, crop_size: 224, image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225] }).preprocess;
  assert.deepEqual(bit.size, { shortest_edge: 256 });
  assert.deepEqual(bit.crop_size, { height: 224, width: 224 });
  assert.equal(bit.resample, 3);
  assert.equal(bit.do_convert_rgb, true);
  const deit = normalisePreprocess({ image_processor_type: 'DeiTImageProcessor' }).preprocess;
  assert.deepEqual([deit.size, deit.crop_size, deit.image_mean], [{ height: 256, width: 256 }, { height: 224, width: 224 }, [0.485, 0.456, 0.406]]);
  assert.throws(() => normalisePreprocess({ image_processor_type: 'ViTImageProcessor', size: { longest_edge: 3 } }), /"size"/);
  const dir = copyDir(path.join(FIXTURES, 'vit/hf'), tmpDir('nopp'));
  fs.rmSync(path.join(dir, 'preprocessor_config.json'));
  const m = await convert(dir, tmpDir('nopp-out'));
  assert.deepEqual(m.preprocess.size, { height: 224, width: 224 });
  assert.match(m.metadata.preprocess_source, /no preprocessor_config.json/);
});

test('synthetic checkpoints of every family and classifier kind convert (names transformers writes)', async () => {
  const kinds = [['vit', 'none'], ['vit', 'cls'], ['deit', 'cls'], ['deit', 'dist'], ['dinov2', 'none'], ['dinov2', 'cls'], ['dinov2_with_registers', 'cls']];
  const want = { none: 'none', cls: null, dist: 'cls+dist' };
  for (const [family, head] of kinds) {
    const { dir } = makeHfModel(tmpDir(`syn-${family}-${head}`), family, { head, pooler: family === 'vit' && head === 'none' });
    const m = await convert(dir, tmpDir('syn-out'));
    const expected = want[head] ?? (family.startsWith('dinov2') ? 'cls+patchmean' : 'cls');
    assert.equal(m.architecture.classifier, expected, `${family}/${head}`);
    assert.equal(m.labels.length, head === 'none' ? 0 : 3);
  }
});

describe('refusals name the file and the tensor', () => {
  const bad = path.join(FIXTURES, 'bad');
  // A bad safetensors file inside an otherwise valid folder.
  const folderWith = (file) => {
    const d = copyDir(path.join(FIXTURES, 'vit/hf'), tmpDir('badst'));
    fs.copyFileSync(path.join(bad, file), path.join(d, 'model.safetensors'));
    return d;
  };
  test('safetensors header length past the end of the file', async () => {
    await assert.rejects(convert(path.join(bad, 'header-length-lies.safetensors'), tmpDir('o')), (e) => e.code === 'E_CONVERT' && /header-length-lies\.safetensors: header length 1099511627776 runs past the end of the file \(200 bytes\)/.test(e.message));
    await assert.rejects(convert(folderWith('header-length-lies.safetensors'), tmpDir('o')), /model\.safetensors: header length \d+ runs past the end/);
  });
  test('tensor data_offsets past the end / not matching shape × dtype', async () => {
    await assert.rejects(convert(folderWith('offsets-past-end.safetensors'), tmpDir('o')), /model\.safetensors: tensor "a\.weight": data_offsets \[8,4104\] span 4096 bytes but shape \[2,3\] × F32 needs 24/);
    const d = copyDir(path.join(FIXTURES, 'vit/hf'), tmpDir('past'));
    writeSafetensors(path.join(d, 'model.safetensors'), [{ name: 'x', shape: [4], data: new Float32Array(4) }]);
    const buf = fs.readFileSync(path.join(d, 'model.safetensors'));
    fs.writeFileSync(path.join(d, 'model.safetensors'), buf.subarray(0, buf.length - 4)); // cut the data short
    await assert.rejects(convert(d, tmpDir('o')), /tensor "x": data_offsets \[0,16\] run past the end of the file/);
  });
  test('overlapping tensors', async () => {
    const d = copyDir(path.join(FIXTURES, 'vit/hf'), tmpDir('overlap'));
    const header = JSON.stringify({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } });
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(header.length));
    fs.writeFileSync(path.join(d, 'model.safetensors'), Buffer.concat([len, Buffer.from(header), Buffer.alloc(24)]));
    await assert.rejects(convert(d, tmpDir('o')), /tensors "a" and "b" overlap/);
  });
  test('unknown dtype', async () => {
    await assert.rejects(convert(folderWith('unknown-dtype.safetensors'), tmpDir('o')), /tensor "a\.bias": unknown dtype "Q7"/);
  });
  test('header that is not JSON', async () => {
    const d = copyDir(path.join(FIXTURES, 'vit/hf'), tmpDir('nojson'));
    const len = Buffer.alloc(8); len.writeBigUInt64LE(5n);
    fs.writeFileSync(path.join(d, 'model.safetensors'), Buffer.concat([len, Buffer.from('{oops')]));
    await assert.rejects(convert(d, tmpDir('o')), /model\.safetensors: header is not valid JSON/);
  });
  test('pytorch_model.bin only: refused, never unpickled, with the save_pretrained hint', async () => {
    await assert.rejects(convert(path.join(bad, 'pytorch-bin-only'), tmpDir('o')), (e) => e.code === 'E_CONVERT' &&
      /pytorch_model\.bin/.test(e.message) && /save_pretrained\(dir, safe_serialization=True\)/.test(e.message));
  });
  test('missing tensor names the vitrine and the HF name', async () => {
    await assert.rejects(convert(path.join(bad, 'missing-tensor'), tmpDir('o')), /missing tensor "layers\.1\.mlp\.fc2\.bias" \(Hugging Face name "encoder\.layer\.1\.output\.dense\.bias"\)/);
  });
  test('unknown extra tensor and wrong shape', async () => {
    const cfg = TINY.vit;
    const d = tmpDir('extra');
    fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
    const tensors = hfTensors({ ...cfg, head: 'none' });
    writeSafetensors(path.join(d, 'model.safetensors'), [...tensors, { name: 'encoder.layer.0.attention.attention.rotary.weight', shape: [2] }]);
    await assert.rejects(convert(d, tmpDir('o')), /unexpected tensor "encoder\.layer\.0\.attention\.attention\.rotary\.weight" \(model\.safetensors\)/);
    const wrong = tensors.map((t) => (t.name === 'encoder.layer.1.intermediate.dense.weight' ? { ...t, shape: [64, 31] } : t));
    writeSafetensors(path.join(d, 'model.safetensors'), wrong);
    await assert.rejects(convert(d, tmpDir('o')), /tensor "layers\.1\.mlp\.fc1\.weight" \(from "encoder\.layer\.1\.intermediate\.dense\.weight" \(model\.safetensors\)\): shape \[64,31\] but the architecture needs \[64,32\]/);
    writeSafetensors(path.join(d, 'model.safetensors'), tensors.filter((t) => t.name !== 'encoder.layer.0.attention.attention.key.weight'));
    await assert.rejects(convert(d, tmpDir('o')), /missing tensor "encoder\.layer\.0\.attention\.attention\.key\.weight" \(needed for "layers\.0\.attn\.qkv\.weight"\)/);
  });
  test('each family\'s name table gives the HF name of a missing tensor (prefix, teacher head, SwiGLU, layer scale)', async () => {
    const missing = async (cfg, drop, re) => {
      const d = tmpDir('fam');
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
      writeSafetensors(path.join(d, 'model.safetensors'), hfTensors(cfg).filter((t) => t.name !== drop));
      await assert.rejects(convert(d, tmpDir('o')), (e) => e.code === 'E_CONVERT' && re.test(e.message), drop);
    };
    await missing({ ...TINY.deit, head: 'dist', num_labels: 3 }, 'cls_classifier.bias', /missing tensor "classifier\.bias" \(Hugging Face name "cls_classifier\.bias"\)/);
    await missing({ ...TINY.deit, head: 'dist', num_labels: 3 }, 'deit.embeddings.distillation_token', /missing tensor "embeddings\.distillation_token" \(Hugging Face name "deit\.embeddings\.distillation_token"\)/);
    await missing({ ...TINY.dinov2, use_swiglu_ffn: true, head: 'cls', num_labels: 3 }, 'dinov2.encoder.layer.1.mlp.weights_out.bias', /missing tensor "layers\.1\.mlp\.fc2\.bias" \(Hugging Face name "dinov2\.encoder\.layer\.1\.mlp\.weights_out\.bias"\)/);
    await missing(TINY.dinov2, 'encoder.layer.0.layer_scale2.lambda1', /missing tensor "layers\.0\.ls2" \(Hugging Face name "encoder\.layer\.0\.layer_scale2\.lambda1"\)/);
    await missing({ ...TINY.vit, head: 'cls', num_labels: 3 }, 'vit.encoder.layer.0.attention.attention.value.bias', /missing tensor "vit\.encoder\.layer\.0\.attention\.attention\.value\.bias" \(needed for "layers\.0\.attn\.qkv\.bias"\)/);
  });
  test('npz with wrong names, wrong dtype, and no config', async () => {
    const d = tmpDir('npzbad');
    fs.copyFileSync(path.join(FIXTURES, 'vit/hf/config.json'), path.join(d, 'config.json'));
    writeNpz(path.join(d, 'w.npz'), [{ name: 'vit.embeddings.cls_tokn', bytes: writeNpy(new Float32Array(48), [1, 1, 48]) }]);
    await assert.rejects(convert(path.join(d, 'w.npz'), tmpDir('o')), /unexpected tensor "vit\.embeddings\.cls_tokn" \(w\.npz\)/);
    const i32 = writeNpy(new Float32Array(48), [1, 1, 48]);
    Buffer.from(i32.buffer).write("'<i4'", Buffer.from(i32.buffer).indexOf("'<f4'"), 'latin1');
    writeNpz(path.join(d, 'i.npz'), [{ name: 'vit.embeddings.cls_token', bytes: i32 }]);
    await assert.rejects(convert(path.join(d, 'i.npz'), tmpDir('o')), /i\.npz: array "vit\.embeddings\.cls_token": dtype '<i4' is not supported/);
    const lone = tmpDir('lone');
    fs.copyFileSync(path.join(d, 'w.npz'), path.join(lone, 'w.npz'));
    await assert.rejects(convert(path.join(lone, 'w.npz'), tmpDir('o')), /needs --config/);
    fs.writeFileSync(path.join(lone, 'junk.npz'), 'not a zip at all');
    await assert.rejects(convert(path.join(lone, 'junk.npz'), tmpDir('o'), { config: path.join(d, 'config.json') }), /junk\.npz: not a zip\/npz file/);
  });
  test('unsupported model_type and shard index pointing at a missing file', async () => {
    const d = copyDir(path.join(FIXTURES, 'vit/hf'), tmpDir('mt'));
    const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json')));
    fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...cfg, model_type: 'swin' }));
    await assert.rejects(convert(d, tmpDir('o')), /model_type "swin" is not supported/);
    const s = copyDir(path.join(FIXTURES, 'vit-sharded/hf'), tmpDir('shard'));
    fs.rmSync(path.join(s, 'model-00002-of-00003.safetensors'));
    await assert.rejects(convert(s, tmpDir('o')), /lists shard "model-00002-of-00003\.safetensors" but the file is missing/);
  });
  test('a refused conversion leaves no manifest behind', async () => {
    const out = tmpDir('o');
    await assert.rejects(convert(path.join(bad, 'missing-tensor'), out));
    assert.ok(!fs.existsSync(path.join(out, 'manifest.json')));
  });
  // Every file in a folder (hidden ones too) with its bytes' hash: "exactly as it was".
  const folderState = (dir) => Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex')]));
  const diskFull = () => { throw Object.assign(new Error('ENOSPC: no space left on device (simulated)'), { code: 'ENOSPC' }); };
  test('a conversion that fails mid-way leaves nothing half-written: a new folder is not created, an existing model is untouched', async () => {
    // Fails once every chunk is written, before the manifest (onProgress reports the last byte).
    const fresh = path.join(tmpDir('mid'), 'new-model');
    await assert.rejects(convert(caseSource('deit'), fresh, { chunkSize: 4096, onProgress: diskFull }), /ENOSPC/);
    assert.ok(!fs.existsSync(fresh), 'the output folder the conversion created is gone');
    // Over an existing model (another one, other chunk size): every file and byte as before.
    const out = tmpDir('mid-existing');
    await convert(caseSource('vit'), out, { chunkSize: 8192 });
    fs.writeFileSync(path.join(out, 'README.md'), 'a file of the user\'s\n');
    const before = folderState(out);
    await assert.rejects(convert(caseSource('deit'), out, { chunkSize: 4096, onProgress: diskFull }), /ENOSPC/);
    assert.deepEqual(folderState(out), before);
    // Re-encoding a model in its own folder, failing: the source is intact too.
    await assert.rejects(convert(out, out, { dtype: 'f16', onProgress: diskFull }), /ENOSPC/);
    assert.deepEqual(folderState(out), before);
    // And a conversion that succeeds over it replaces the model, keeping the user's file, with no leftovers.
    await convert(caseSource('deit'), out, { chunkSize: 4096 });
    const after = Object.keys(folderState(out));
    assert.ok(after.includes('README.md') && after.includes('manifest.json'));
    assert.deepEqual(after.filter((f) => f.startsWith('.')), [], 'no temporary files left');
    const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    assert.deepEqual(after.filter((f) => f.startsWith('chunk-')), m.chunks.map((c) => c.file));
  });
  test('a tensor source failing in the middle of the stream: nothing of the partial chunks is left', async () => {
    const { writeModelFolder } = await import('../../src/js/convert/writer.js');
    const out = path.join(tmpDir('mid-stream'), 'm');
    const items = [0, 1, 2, 3].map((i) => ({ name: `t${i}`, offset: i * 4096, bytes: 4096,
      write(sink) { if (i === 2) { sink(new Uint8Array(1000)); throw new Error('read error in tensor t2 (simulated)'); } sink(new Uint8Array(4096).fill(i)); } }));
    await assert.rejects(writeModelFolder(out, { chunk_size: 3000, stream_size: 4 * 4096 }, items), /read error in tensor t2/);
    assert.ok(!fs.existsSync(out));
    fs.mkdirSync(out);
    await assert.rejects(writeModelFolder(out, { chunk_size: 3000, stream_size: 4 * 4096 }, items), /read error in tensor t2/);
    assert.deepEqual(fs.readdirSync(out), [], 'an existing empty folder stays empty');
  });
});

test('planConversion reads only headers (no data) and agrees with convert', async () => {
  const { manifest, close } = await planConversion(path.join(FIXTURES, 'dinov2-interp/hf'));
  close();
  const m = await convert(path.join(FIXTURES, 'dinov2-interp/hf'), tmpDir('plan'));
  assert.deepEqual(manifest.tensors, m.tensors);
  assert.equal(manifest.stream_size, m.stream_size);
});

test('npz members: npy v2 headers are read; fortran_order=True is refused naming the array', async () => {
  const d = tmpDir('npzv2');
  fs.copyFileSync(path.join(FIXTURES, 'vit-model/hf/config.json'), path.join(d, 'config.json')); // a ViTModel: no classifier
  const npyWith = (data, shape, { v2 = false, fortran = false } = {}) => {
    const v1 = Buffer.from(writeNpy(data, shape));
    let header = v1.subarray(10, 10 + v1.readUInt16LE(8)).toString('latin1');
    if (fortran) header = header.replace("'fortran_order': False", "'fortran_order': True ");
    if (!v2) return Buffer.concat([v1.subarray(0, 10), Buffer.from(header, 'latin1'), v1.subarray(10 + header.length)]);
    const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0, 0, 0]);
    header = header.trimEnd().padEnd(header.length + 64 - 2, ' ') + '\n'; // keep 64-byte alignment of the data: 12 + len
    pre.writeUInt32LE(header.length, 8);
    return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
  };
  const { readNpy: rn } = await import('../../src/js/npy.js');
  const v2 = npyWith(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], { v2: true });
  assert.deepEqual(rn(v2).shape, [2, 3]);
  assert.deepEqual(Array.from(rn(v2).data), [1, 2, 3, 4, 5, 6]);
  const D = JSON.parse(fs.readFileSync(path.join(d, 'config.json'))).hidden_size;
  writeNpz(path.join(d, 'f.npz'), [{ name: 'embeddings.cls_token', bytes: npyWith(new Float32Array(D), [1, 1, D], { fortran: true }) }]);
  await assert.rejects(convert(path.join(d, 'f.npz'), tmpDir('o')), /f\.npz: array "embeddings\.cls_token": fortran_order=True is not supported/);
  writeNpz(path.join(d, 'v2.npz'), [{ name: 'embeddings.cls_token', bytes: npyWith(new Float32Array(D), [1, 1, D], { v2: true }) }]);
  // a v2 member is read fine: the conversion then stops at the first tensor the checkpoint lacks
  await assert.rejects(convert(path.join(d, 'v2.npz'), tmpDir('o')), /missing tensor "embeddings\.position_embeddings"/);
});

test('npy round trip', () => {
  const data = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
  const back = readNpy(writeNpy(data, [2, 3, 4]));
  assert.deepEqual(back.shape, [2, 3, 4]);
  assert.deepEqual(back.data, data);
  assert.throws(() => readNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])), /not an \.npy file/);
});

test('conversion streams: a ~100 MB checkpoint converts with far less than 100 MB of extra memory', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { dir } = makeHfModel(tmpDir('big'), 'vit', {
    head: 'cls', num_labels: 10,
    overrides: { hidden_size: 512, num_hidden_layers: 8, num_attention_heads: 8, intermediate_size: 2048, image_size: 224, patch_size: 16 },
  });
  const size = fs.statSync(path.join(dir, 'model.safetensors')).size;
  assert.ok(size > 95e6, `checkpoint is ${size} bytes`);
  const out = tmpDir('big-out');
  const code = `
    const { convert } = await import(${JSON.stringify(path.join(ROOT, 'src/js/convert/index.js'))});
    const before = process.memoryUsage().rss;
    await convert(${JSON.stringify(dir)}, ${JSON.stringify(out)});
    console.log(JSON.stringify({ before, peak: process.resourceUsage().maxRSS * 1024 }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { before, peak } = JSON.parse(r.stdout);
  const extra = peak - before;
  t.diagnostic(`checkpoint ${(size / 1e6).toFixed(0)} MB, converter peak RSS ${(peak / 1e6).toFixed(0)} MB (+${(extra / 1e6).toFixed(0)} MB over its start)`);
  // Holding the model would need its ~100 MB; streaming needs a few MiB of buffers plus the read pieces the GC has
  // not collected yet: 15 MB on an idle machine, up to 39 MB measured with other jobs on the same cores.
  assert.ok(extra < 48 * 1048576, `extra memory ${extra} bytes for a ${size}-byte checkpoint: not streaming`);
  const m = checkLayout(out);
  assert.equal(m.architecture.hidden_size, 512);
  assert.ok(m.chunks.length >= 24);
});

test('the engine\'s tensor table (embind tensorTable) is exactly what the converter writes, for every fixture', async () => {
  const { Module } = await getRuntime('st', 1);
  for (const name of cases()) {
    const m = await convert(caseSource(name), tmpDir(`table-${name}`));
    const table = Module.tensorTable(JSON.stringify(m.architecture));
    assert.ok(Array.isArray(table), `${name}: ${JSON.stringify(table)}`);
    assert.deepEqual(table.map((r) => ({ name: r.name, shape: r.shape })), m.tensors.map((t) => ({ name: t.name, shape: t.shape })), name);
    // The rows int8 is allowed for: the blocks' four Linear weights, the patch projection and the checkpoint's
    // classifier(s), nothing else (FORMAT §2; a family's own extra Linears, e.g. CLIP's projection, stay f32).
    const mayI8 = /^(layers\.\d+\.(attn\.qkv|attn\.out|mlp\.fc1|mlp\.fc2)|embeddings\.patch|classifier|distillation_classifier)\.weight$/;
    for (const r of table) assert.equal(r.may_i8 === true, mayI8.test(r.name), `${name}: ${r.name}`);
  }
  // An architecture the engine refuses comes back as { code, message } naming the key.
  const bad = Module.tensorTable(JSON.stringify({ ...caseInfo('vit').architecture, hidden_size: 'x' }));
  assert.equal(bad.code, 'E_MANIFEST');
  assert.match(bad.message, /"hidden_size" must be an integer/);
  const typo = Module.tensorTable(JSON.stringify({ ...caseInfo('vit').architecture, use_layer_scael: true }));
  assert.match(typo.message, /unknown key "use_layer_scael"/);
});
