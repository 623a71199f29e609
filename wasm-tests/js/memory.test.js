// Bounded memory. A model that cannot fit the engine's WebAssembly memory is refused from its manifest, before any
// chunk is downloaded (over a real HTTP server on 127.0.0.1: zero chunk requests), with E_MEMORY giving its size
// and the limit. An allocation that fails while the model runs (activations for an input too large) is E_MEMORY,
// not an aborted module, and the model gives exactly its earlier answers afterwards.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { load } from '../../src/js/index.js';
import { convert } from '../../src/js/convert/index.js';
import { MAX_ENGINE_MEMORY, memoryNeed } from '../../src/js/load/memory.js';
import { startServer } from '../../tools/build/serve.mjs';
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

test('memoryNeed: the stream with f16 tensors widened to f32, activations at the model\'s image size', async () => {
  const m = JSON.parse(fs.readFileSync(path.join(ROOT, 'weights/cifar10-vit/manifest.json'), 'utf8'));
  const need = memoryNeed(m);
  assert.equal(need.weights, m.stream_size);
  // 32×32 input, 4×4 patches: 64 tokens × (7 × 192 + 768) floats.
  assert.equal(need.activations, 64 * (7 * 192 + 768) * 4);
  const f16 = { ...m, tensors: m.tensors.map((t) => ({ ...t, dtype: 'f16' })), stream_size: 1 };
  const elements = m.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(memoryNeed(f16).weights, elements * 4);
  // Garbage is left to the engine's manifest check (a named E_MANIFEST), not thrown here.
  assert.deepEqual(memoryNeed({ tensors: [{ dtype: 'f32', shape: ['x'] }, null], architecture: { image_size: -1 } }), { weights: 0, activations: 0, total: 0 });
});

describe('a model too large for the engine is refused before any download', () => {
  let srv, site;
  before(async () => {
    requireBuild('mt');
    requireBuild('st');
    const dir = await convertedCase('deit', { chunkSize: 8192 });
    site = tmpDir('memory-site');
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    // Huge tensor shapes: a 65536 × 8192 fc1 in every block (2 GiB each as f32); the chunk table is untouched.
    copyDir(dir, path.join(site, 'huge'));
    const huge = structuredClone(m);
    for (const t of huge.tensors) if (/mlp\.fc1\.weight$/.test(t.name)) t.shape = [65536, 8192];
    fs.writeFileSync(path.join(site, 'huge/manifest.json'), JSON.stringify(huge));
    // f16 weights that fit as stored but not once widened to float32 (1.1 GB stored → 2.2 GB in memory).
    copyDir(dir, path.join(site, 'f16'));
    const f16 = structuredClone(m);
    f16.stream_size = 1100 * 1024 * 1024;
    f16.tensors[0] = { ...f16.tensors[0], dtype: 'f16', shape: [1, 550 * 1024 * 1024] };
    fs.writeFileSync(path.join(site, 'f16/manifest.json'), JSON.stringify(f16));
    srv = await startServer({ root: site, isolation: false });
  });
  after(async () => { await srv?.close(); });

  for (const build of BUILDS) {
    test(`huge tensor shapes and an f16 model too big once expanded → E_MEMORY with both sizes, zero chunk requests (${build})`, async () => {
      const from = srv.requests.length;
      await assert.rejects(load(`${srv.url}huge/manifest.json`, { build }), (e) => {
        assert.equal(e.code, 'E_MEMORY', e.message);
        assert.match(e.message, /huge\/manifest\.json: this model needs at least \d+ MB of engine memory \(weights \d+ MB, activations [\d.]+ MB for a \d+×\d+ input\), but the WebAssembly engine can use at most 2048 MB/);
        assert.ok(e.need > MAX_ENGINE_MEMORY && e.limit === MAX_ENGINE_MEMORY);
        return true;
      });
      await assert.rejects(load(`${srv.url}f16/manifest.json`, { build }), (e) => e.code === 'E_MEMORY' && /needs at least 2200 MB/.test(e.message));
      const asked = srv.requests.slice(from).map((r) => r.url);
      assert.deepEqual(asked.filter((u) => !/manifest\.json$/.test(u)), [], 'only the manifests were requested');
      assert.equal(asked.length, 2);
    });
  }
});

for (const build of BUILDS) {
  describe(`activations that cannot be allocated → E_MEMORY, the model keeps working (${build})`, () => {
    let model, probe, pixels;
    before(async () => {
      requireBuild(build);
      // DINOv2 takes any input size; a tiny width with a very wide MLP (32,768 rows) makes the activations of a
      // large input bigger than the engine's memory, while its own 8×8 input needs a few MB.
      const hf = makeHfModel(tmpDir('wide-mlp-hf'), 'dinov2', { head: 'cls', num_labels: 3,
        overrides: { hidden_size: 16, num_attention_heads: 2, num_hidden_layers: 1, mlp_ratio: 2048, patch_size: 2, image_size: 8 } }).dir;
      const dir = tmpDir('wide-mlp');
      await convert(hf, dir);
      model = await load(dir, { build });
      pixels = Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => Math.sin(i));
      probe = await outputProbe(model, { pixels, height: 8, width: 8, image: IMAGE });
    });
    after(() => model?.dispose());

    test("forward on inputs whose activations cannot fit → E_MEMORY naming the size; then the same answers as before", async () => {
      // 192×192: 9,217 tokens, 1.2 GB for the MLP activations and as much again for the packed input of its
      // second Linear: the engine's allocation fails (memory cannot grow past 2 GB). 256×256: the sum is past
      // what a 32-bit address space can hold at all.
      for (const side of [192, 256, 192]) {
        const big = new Float32Array(3 * side * side);
        await assert.rejects(model.forward(big, { height: side, width: side }), (e) => {
          assert.equal(e.code, 'E_MEMORY', e.message);
          assert.match(e.message, new RegExp(`out of memory: a ${side}x${side} input needs \\d+ bytes of activations \\(${(side / 2) ** 2 + 1} tokens\\)`));
          return true;
        });
        await probe.check(`after the failed allocation for ${side}×${side}`);
      }
      // A size that fits still works (64×64: 1,025 tokens).
      const mid = await model.forward(new Float32Array(3 * 64 * 64).fill(0.25), { height: 64, width: 64 });
      assert.equal(mid.numTokens, 1025);
      await probe.check('after a larger input that fits');
    });
  });
}
