// f16 and int8 weights (FORMAT §2) end to end: the encoders, `vitrine convert --dtype` (default output unchanged,
// a vitrine folder re-encoded), and every HF fixture at f16 and int8 against the same fixture at f32 through the
// engine. The bounds are measured (2026-12-03): see the diagnostics each test prints for the worst case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { load } from '../../src/js/index.js';
import { convert } from '../../src/js/convert/index.js';
import { encodeF16, quantizeI8 } from '../../src/js/convert/dtype.js';
import { f16ToF32 } from '../../src/js/npy.js';
import { ROOT, cases, caseInputs, caseSource, convertedCase, tmpDir, requireBuild } from '../helpers/env.js';

const cosine = (a, b) => {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
};
const argmax = (v) => v.reduce((b, x, i) => (x > v[b] ? i : b), 0);
const folderBytes = (dir) => {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  return { m, chunks: m.chunks.map((c) => fs.readFileSync(path.join(dir, c.file))) };
};

test('f16 encoding: every finite half round-trips; ties go to even; out of range is E_CONVERT', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const f = f16ToF32(all);
  for (let i = 0; i < 65536; i++) {
    if (((i >> 10) & 31) === 31) continue;
    assert.equal(new Uint16Array(encodeF16(f.subarray(i, i + 1), 't').buffer)[0], i, `half 0x${i.toString(16)}`);
  }
  const back = (x) => f16ToF32(new Uint16Array(encodeF16(new Float32Array([x]), 't').buffer))[0];
  assert.equal(back(2049), 2048);
  assert.equal(back(2051), 2052);
  assert.equal(back(1 + 2 ** -11), 1);
  assert.equal(back(3e-8), 2 ** -24);
  assert.throws(() => encodeF16(new Float32Array([1, 70000]), 'layers.0.x'), (e) => e.code === 'E_CONVERT' && /"layers\.0\.x"/.test(e.message));
});

test('int8 quantization: scale = max|row| / 127, round half to even, zero rows', () => {
  const { q, scale } = quantizeI8(new Float32Array([1, -0.5, 0.25, -1, 0, 0, 0, 0]), 2, 4);
  assert.deepEqual([...q], [127, -64, 32, -127, 0, 0, 0, 0]);  // -63.5 → -64 (even)
  assert.deepEqual([...scale], [Math.fround(1 / 127), 0]);
});

test('convert --dtype: default is byte-identical to f32; a vitrine folder re-encodes (at f32: the same bytes)', async () => {
  const src = caseSource('dinov2-swiglu');
  const outDefault = tmpDir('dt-default'), outF32 = tmpDir('dt-f32'), again = tmpDir('dt-again');
  await convert(src, outDefault);
  await convert(src, outF32, { dtype: 'f32' });
  const a = folderBytes(outDefault), b = folderBytes(outF32);
  assert.deepEqual(b.m, a.m);
  assert.ok(a.m.tensors.every((t) => t.dtype === 'f32'));
  b.chunks.forEach((c, i) => assert.ok(c.equals(a.chunks[i]), `chunk ${i}`));
  // Re-encoding the converted folder at f32 keeps the tensor table and the stream.
  const m = await convert(outDefault, again, { dtype: 'f32' });
  assert.deepEqual(m.tensors, a.m.tensors);
  folderBytes(again).chunks.forEach((c, i) => assert.ok(c.equals(a.chunks[i]), `re-encoded chunk ${i}`));
  assert.equal(m.metadata.reencoded.dtype, 'f32');
  await assert.rejects(convert(src, tmpDir('dt-bad'), { dtype: 'int4' }), (e) => e.code === 'E_CONVERT' && /--dtype must be one of f32, f16, int8/.test(e.message));
});

test('convert --dtype int8 / f16: which tensors change, and the stream shrinks', async () => {
  const f32 = await convertedCase('vit');
  const i8 = folderBytes(await convertedCase('vit', { dtype: 'int8' })).m;
  const f16 = folderBytes(await convertedCase('vit', { dtype: 'f16' })).m;
  const base = folderBytes(f32).m;
  for (const t of i8.tensors) {
    const linear = /^(layers\.\d+\.(attn\.qkv|attn\.out|mlp\.fc1|mlp\.fc2)|embeddings\.patch|classifier)\.weight$/.test(t.name);
    if (!t.name.endsWith('.scale')) assert.equal(t.dtype, linear ? 'i8' : 'f32', t.name);
    if (linear) assert.deepEqual(i8.tensors.find((x) => x.name === `${t.name}.scale`).shape, [t.shape[0]]);
  }
  for (const t of f16.tensors) assert.equal(t.dtype, t.shape.length > 1 ? 'f16' : 'f32', t.name);
  // Tiny fixtures: embeddings and classifier weigh more than in a real model (the default model's ratios are
  // checked in wasm-tests/model/default-model-dtype.test.js).
  assert.ok(i8.stream_size < 0.75 * base.stream_size && f16.stream_size < 0.75 * base.stream_size, `${i8.stream_size} ${f16.stream_size} ${base.stream_size}`);
});

// Worst cases measured over every fixture (2026-12-03) are in the test's diagnostics.
test('every HF fixture at f16 and int8 matches f32 through the engine: cosine ≥ 0.999, same top logit', async (t) => {
  requireBuild('mt');
  const worst = { f16: { cos: 1, rel: 0 }, int8: { cos: 1, rel: 0 } };
  for (const name of cases()) {
    const ref = await load(await convertedCase(name), { build: 'mt' });
    const refBytes = ref.info.weightBytes;
    const inputs = caseInputs(name);
    const refOut = [];
    for (const inp of inputs) refOut.push(await ref.forward(inp.pixels, { height: inp.height, width: inp.width }));
    await ref.dispose();
    for (const dtype of ['f16', 'int8']) {
      const model = await load(await convertedCase(name, { dtype }), { build: 'mt' });
      try {
        // f16 is expanded to f32 inside the stream: the same weight memory as the f32 model, not 1.5x.
        if (dtype === 'f16') assert.ok(model.info.weightBytes <= refBytes, `${name} f16: ${model.info.weightBytes} bytes vs f32 ${refBytes}`);
        for (const [j, inp] of inputs.entries()) {
          const out = await model.forward(inp.pixels, { height: inp.height, width: inp.width });
          const r = refOut[j];
          const cos = cosine(out.lastHiddenState, r.lastHiddenState);
          let maxRef = 0, maxDiff = 0;
          for (let i = 0; i < r.lastHiddenState.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(r.lastHiddenState[i]));
            maxDiff = Math.max(maxDiff, Math.abs(out.lastHiddenState[i] - r.lastHiddenState[i]));
          }
          const rel = maxDiff / maxRef;
          const what = `${name}${inp.suffix} ${dtype}: cosine ${cos.toFixed(6)}, max |Δ| ${maxDiff.toExponential(2)} (${rel.toExponential(2)} of max |x|)`;
          t.diagnostic(what);
          if (cos < worst[dtype].cos) worst[dtype].cos = cos;
          if (rel > worst[dtype].rel) worst[dtype].rel = rel;
          assert.ok(cos >= 0.999, what);
          if (dtype === 'f16') assert.ok(rel <= 2e-3, what);
          if (r.logits) assert.equal(argmax(out.logits), argmax(r.logits), `${what}: top logit`);
        }
      } finally {
        await model.dispose();
      }
    }
  }
  t.diagnostic(`worst: ${JSON.stringify(worst)}`);
});

// The engine's own figure for the memory its weights hold (the stream it allocates + packed copies; nothing else
// holds weights): f16 = the f32 model's (the f16 bytes are expanded in place, not kept beside the f32 ones, so
// this is also the peak during load), int8 <= 0.35x. On the default model (10.8 MB f32), where the blocks'
// Linears dominate as in a real checkpoint.
test('weights in engine memory: f16 = 1.0x f32 (peak and steady), int8 <= 0.35x (default model)', async (t) => {
  requireBuild('st');
  const src = path.join(ROOT, 'weights/cifar10-vit');
  const bytes = {};
  for (const dtype of ['f32', 'f16', 'int8']) {
    const dir = tmpDir(`mem-${dtype}`);
    await convert(src, dir, { dtype });
    const model = await load(dir, { threads: 1 });
    try {
      bytes[dtype] = model.info.weightBytes;
      // Still computes: a wrongly moved tensor would not.
      const out = await model.forward(new Float32Array(3 * 32 * 32).fill(0.25), { height: 32, width: 32 });
      assert.ok(out.logits.every(Number.isFinite), `${dtype}: logits finite`);
    } finally {
      await model.dispose();
    }
  }
  t.diagnostic(`weightBytes f32 ${bytes.f32}, f16 ${bytes.f16} (${(bytes.f16 / bytes.f32).toFixed(4)}x), int8 ${bytes.int8} (${(bytes.int8 / bytes.f32).toFixed(4)}x)`);
  assert.ok(bytes.f16 <= bytes.f32, `f16 weights take ${bytes.f16} bytes, f32 ${bytes.f32}`);
  assert.ok(bytes.f16 >= 0.99 * bytes.f32, `f16 weights take ${bytes.f16} bytes, f32 ${bytes.f32}`);
  assert.ok(bytes.int8 <= 0.35 * bytes.f32, `int8 weights take ${bytes.int8} bytes, f32 ${bytes.f32}`);
});
