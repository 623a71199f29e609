// Bounded memory. A model that cannot fit the engine's WebAssembly memory is refused from its manifest (the engine's
// own figure), before any chunk is downloaded (over a real HTTP server on 127.0.0.1: zero chunk requests), with
// E_MEMORY giving its size and the limit. An allocation that fails while the model runs (activations for an input too large) is E_MEMORY,
// not an aborted module, and the model gives exactly its earlier answers afterwards.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { load } from '../../src/js/index.js';
import { convert } from '../../src/js/convert/index.js';
import { MAX_ENGINE_MEMORY, memoryNeed } from '../../src/js/load/memory.js';
import { startServer } from '../../tools/build/serve.mjs';
import { getRuntime } from '../../src/js/runtime.js';
import { makeHfModel } from '../helpers/synth.js';
import { ROOT, BUILDS, FIXTURES, convertedCase, requireBuild, tmpDir, copyDir } from '../helpers/env.js';
import { outputProbe } from '../helpers/still-works.js';

const IMAGE = path.join(FIXTURES, 'vit/image.png');

test('the limit load() checks against is the builds\' -sMAXIMUM_MEMORY', () => {
  const cmake = fs.readFileSync(path.join(ROOT, 'CMakeLists.txt'), 'utf8');
  const limits = [...cmake.matchAll(/-sMAXIMUM_MEMORY=(\d+)GB/g)].map((m) => Number(m[1]) * 1024 ** 3);
  assert.ok(limits.length >= 1);
  for (const l of limits) assert.equal(l, MAX_ENGINE_MEMORY);
});

// A manifest the engine accepts whose tensors are those of `arch` (shapes from the engine's own tensor table),
// all of `dtype`, laid out 64-byte aligned, in chunks of `chunkSize` bytes with made-up hashes (never read).
function bigManifest(Module, base, arch, dtype, chunkSize = 1 << 30) {
  const rows = Module.tensorTable(JSON.stringify(arch));
  assert.ok(Array.isArray(rows), JSON.stringify(rows));
  const width = { f32: 4, f16: 2 }[dtype];
  let end = 0;
  const tensors = rows.map((r) => {
    const offset = Math.ceil(end / 64) * 64;
    end = offset + r.shape.reduce((a, b) => a * b, 1) * width;
    return { name: r.name, dtype, shape: r.shape, offset };
  });
  const count = Math.ceil(end / chunkSize);
  const chunks = Array.from({ length: count }, (_, i) => ({
    file: `chunk-${i}.bin`, size: i + 1 < count ? chunkSize : end - (count - 1) * chunkSize, sha256: 'ab'.repeat(32) }));
  return { ...base, architecture: arch, tensors, stream_size: end, chunk_size: chunkSize, chunks };
}

// The engine's figure (embind memoryNeed), the one load() checks: weights as stored in engine memory, activations
// of one forward at the model's own size.
test('memoryNeed: the engine\'s weight stream with f16 widened to f32, and at least the activations of the model\'s own input', async () => {
  const { Module } = await getRuntime('st', 1);
  const text = fs.readFileSync(path.join(ROOT, 'weights/cifar10-vit/manifest.json'), 'utf8');
  const m = JSON.parse(text);
  const need = memoryNeed(Module, text, 1);
  assert.equal(need.weights, Math.ceil(m.stream_size / 64) * 64);
  // 32×32 input, 4×4 patches: 65 tokens (CLS + 64); the residual stream, its normalised copy (which then takes
  // each branch's output), q/k/v and the attention output are 6 × hidden floats per token, the MLP's intermediate
  // rows (all 65 tokens: fewer than one MLP block) 4 × hidden more.
  const a = m.architecture;
  const T = (a.image_size / a.patch_size) ** 2 + 1;
  assert.ok(need.activations >= T * (6 * a.hidden_size + a.intermediate_size) * 4, `${need.activations}`);
  assert.ok(need.activations < 8 * 1024 * 1024, `${need.activations}`);
  assert.equal(need.total, need.weights + need.activations);
  // The same architecture stored as f16: half the stream, the same weights in engine memory (give or take the
  // 64-byte alignment of each tensor).
  const f32 = bigManifest(Module, m, a, 'f32', 4 << 20);
  const f16 = bigManifest(Module, m, a, 'f16', 4 << 20);
  assert.ok(f16.stream_size < 0.51 * f32.stream_size);
  const w32 = memoryNeed(Module, JSON.stringify(f32), 1).weights;
  const w16 = memoryNeed(Module, JSON.stringify(f16), 1).weights;
  assert.ok(Math.abs(w16 - w32) <= 64 * f32.tensors.length, `${w16} vs ${w32}`);
  // A manifest the engine refuses is its named error, as beginLoad would give.
  assert.throws(() => memoryNeed(Module, JSON.stringify({ ...m, tensors: m.tensors.slice(1) }), 1), (e) => e.code === 'E_MANIFEST');
  assert.throws(() => memoryNeed(Module, '{', 1), (e) => e.code === 'E_MANIFEST');
});

describe('a model too large for the engine is refused before any download', () => {
  let srv, site;
  before(async () => {
    requireBuild('mt');
    requireBuild('st');
    const { Module } = await getRuntime('st', 1);
    const dir = await convertedCase('deit', { chunkSize: 8192 });
    site = tmpDir('memory-site');
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    // The widest MLP the engine takes (2^18 rows: fc1 + fc2 are 2 × rows × hidden floats) in as many blocks as
    // make the f32 weights pass 2.2 GB.
    const rows = 1 << 18, hidden = m.architecture.hidden_size;
    const big = { ...m.architecture, intermediate_size: rows, num_hidden_layers: Math.ceil((2.2 * 1024 ** 3) / (2 * rows * hidden * 4)) };
    copyDir(dir, path.join(site, 'huge'));
    fs.writeFileSync(path.join(site, 'huge/manifest.json'), JSON.stringify(bigManifest(Module, m, big, 'f32')));
    // f16 weights that fit as stored but not once widened to float32 (≈ 1.1 GB stored → 2.2 GB in memory).
    copyDir(dir, path.join(site, 'f16'));
    const f16 = bigManifest(Module, m, big, 'f16');
    assert.ok(f16.stream_size < MAX_ENGINE_MEMORY * 0.6);
    fs.writeFileSync(path.join(site, 'f16/manifest.json'), JSON.stringify(f16));
    srv = await startServer({ root: site, isolation: false });
  });
  after(async () => { await srv?.close(); });

  for (const build of BUILDS) {
    test(`a huge MLP as f32, and as f16 too big once widened → E_MEMORY with both sizes, zero chunk requests (${build})`, async () => {
      const from = srv.requests.length;
      await assert.rejects(load(`${srv.url}huge/manifest.json`, { build }), (e) => {
        assert.equal(e.code, 'E_MEMORY', e.message);
        assert.match(e.message, /huge\/manifest\.json: this model needs at least \d+ MB of engine memory \(weights \d+ MB, activations [\d.]+ MB for a \d+×\d+ input\), but the WebAssembly engine can use at most 2048 MB/);
        assert.ok(e.need > MAX_ENGINE_MEMORY && e.limit === MAX_ENGINE_MEMORY);
        return true;
      });
      await assert.rejects(load(`${srv.url}f16/manifest.json`, { build }), (e) => {
        assert.equal(e.code, 'E_MEMORY', e.message);
        const [, weights] = /weights (\d+) MB/.exec(e.message);
        assert.ok(Number(weights) > 2048, e.message);
        return true;
      });
      const asked = srv.requests.slice(from).map((r) => r.url);
      assert.deepEqual(asked.filter((u) => !/manifest\.json$/.test(u)), [], 'only the manifests were requested');
      assert.equal(asked.length, 2);
    });
  }
});

for (const build of BUILDS) {
  describe(`activations that cannot be allocated → E_MEMORY, the model keeps working (${build})`, () => {
    let model, probe, pixels, dir;
    before(async () => {
      requireBuild(build);
      // DINOv2 takes any input size. A tiny width with a very wide MLP (131,072 rows): its own 8×8 input (17
      // tokens) needs ~18 MB of activations, any input of 256 tokens or more ~270 MB (one 256-token block of the
      // MLP's hidden rows and the packed input of its second Linear).
      const hf = makeHfModel(tmpDir('wide-mlp-hf'), 'dinov2', { head: 'cls', num_labels: 3,
        overrides: { hidden_size: 16, num_attention_heads: 2, num_hidden_layers: 1, mlp_ratio: 8192, patch_size: 2, image_size: 8 } }).dir;
      dir = tmpDir('wide-mlp');
      await convert(hf, dir);
      model = await load(dir, { build });
      pixels = Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => Math.sin(i));
      probe = await outputProbe(model, { pixels, height: 8, width: 8, image: IMAGE });
    });
    after(() => model?.dispose());

    test('forward on inputs whose activations cannot fit → E_MEMORY naming the size; then the same answers as before', async () => {
      // Another load into the same engine module, held open after begin_load: its weight stream takes all but
      // ~64 MB of the module's memory (allocated, never written). Its one chunk is never delivered until the end.
      const { Module } = await getRuntime(build, model.info.threads);
      const used = Module.wasmMemory?.buffer.byteLength ?? Module.HEAPU8.length;
      const stream = Math.floor((MAX_ENGINE_MEMORY - used - 64 * 1024 ** 2) / 64) * 64;
      const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      const ballast = { ...m, stream_size: stream, chunk_size: stream, chunks: [{ file: 'ballast.bin', size: stream, sha256: '00'.repeat(32) }] };
      let held, release;
      const holding = new Promise((resolve) => { held = resolve; });
      const loading = load(JSON.stringify(ballast), { build, threads: model.info.threads, fetchChunk: () => {
        held();
        return new Promise((_, reject) => { release = () => reject(new Error('released')); });
      } });
      loading.catch(() => {});
      await holding;
      // 192×192: 9,217 tokens; 256×256: 16,385 tokens.
      for (const side of [192, 256, 192]) {
        const big = new Float32Array(3 * side * side);
        await assert.rejects(model.forward(big, { height: side, width: side }), (e) => {
          assert.equal(e.code, 'E_MEMORY', e.message);
          assert.match(e.message, new RegExp(`out of memory: a ${side}x${side} input needs \\d+ bytes of activations \\(${(side / 2) ** 2 + 1} tokens\\)`));
          return true;
        });
        await probe.check(`after the failed allocation for ${side}×${side}`);
      }
      release();
      await assert.rejects(loading, (e) => e.code === 'E_CHUNK_MISSING');
      // With that memory back, a larger input fits (64×64: 1,025 tokens, the MLP in blocks).
      const mid = await model.forward(new Float32Array(3 * 64 * 64).fill(0.25), { height: 64, width: 64 });
      assert.equal(mid.numTokens, 1025);
      await probe.check('after a larger input that fits');
    });
  });
}
