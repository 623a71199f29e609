// Bad inputs, each refused with a named error AND the already-loaded model still working afterwards:
// broken chunks and manifests, broken images, bad forward arguments (per build), and broken checkpoints
// given to the converter.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { load } from '../../src/js/index.js';
import { convert } from '../../src/js/convert/index.js';
import { ROOT, BUILDS, PHOTOS, FIXTURES, convertedCase, caseInputs, requireBuild, tmpDir, copyDir } from '../helpers/env.js';
import { outputProbe } from '../helpers/still-works.js';

/** A copy of a converted model with `edit(dir, manifest)` applied (manifest rewritten if returned). */
async function brokenCopy(name, edit, opts = {}) {
  const dir = copyDir(await convertedCase(name, opts), tmpDir(`broken-${name}`));
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  const out = edit(dir, m);
  if (out !== undefined) fs.writeFileSync(file, typeof out === 'string' ? out : JSON.stringify(out));
  return dir;
}

for (const build of BUILDS) {
  describe(`bad inputs, ${build} build`, () => {
    let model, probe, inp;
    const stillWorks = () => probe.check('after the bad input');
    before(async () => {
      requireBuild(build);
      model = await load(await convertedCase('vit'), { build });
      [inp] = caseInputs('vit');
      probe = await outputProbe(model, { pixels: inp.pixels, image: path.join(FIXTURES, 'vit/image.png') });
    });
    after(() => model?.dispose());

    const loadFails = (dir, code, re) => assert.rejects(load(dir, { build }), (e) => {
      assert.equal(e.code, code, `${e.code}: ${e.message}`);
      assert.match(e.message, re);
      return true;
    });

    test('tampered chunk → E_CHUNK_HASH naming the chunk', async () => {
      const dir = await brokenCopy('deit', (d, m) => {
        const f = path.join(d, m.chunks[2].file);
        const b = fs.readFileSync(f); b[100] ^= 1; fs.writeFileSync(f, b);
      }, { chunkSize: 8192 });
      await loadFails(dir, 'E_CHUNK_HASH', /chunk 2 \(chunk-00002\.bin\): SHA-256 mismatch/);
      await stillWorks();
    });
    test('chunks are hashed four at a time: a flipped bit in any lane, or in the odd-sized last chunk, is found and named', async () => {
      const n = JSON.parse(fs.readFileSync(path.join(await convertedCase('deit', { chunkSize: 8192 }), 'manifest.json'))).chunks.length;
      assert.ok(n >= 9, 'enough chunks for two full groups of four');
      for (const i of [4, 5, 6, 7, n - 1]) {
        const dir = await brokenCopy('deit', (d, m) => {
          const f = path.join(d, m.chunks[i].file);
          const b = fs.readFileSync(f); b[b.length - 1] ^= 0x80; fs.writeFileSync(f, b);
        }, { chunkSize: 8192 });
        await loadFails(dir, 'E_CHUNK_HASH', new RegExp(`chunk ${i} \\(chunk-${String(i).padStart(5, '0')}\\.bin\\): SHA-256 mismatch`));
      }
      // Two bad chunks in one batch: the lower index is reported, whichever kind of error it has.
      const dir = await brokenCopy('deit', (d, m) => {
        const f6 = path.join(d, m.chunks[6].file);
        const b = fs.readFileSync(f6); b[0] ^= 1; fs.writeFileSync(f6, b);
        const f5 = path.join(d, m.chunks[5].file);
        fs.writeFileSync(f5, fs.readFileSync(f5).subarray(0, 100));
      }, { chunkSize: 8192 });
      await loadFails(dir, 'E_CHUNK_SIZE', /chunk 5 \(chunk-00005\.bin\): expected 8192 bytes, got 100/);
      await stillWorks();
    });
    test('truncated chunk → E_CHUNK_SIZE with both sizes', async () => {
      const dir = await brokenCopy('deit', (d, m) => {
        const f = path.join(d, m.chunks[1].file);
        fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 1200));
      }, { chunkSize: 8192 });
      await loadFails(dir, 'E_CHUNK_SIZE', /chunk 1 \(chunk-00001\.bin\): expected 8192 bytes, got 1200/);
      await stillWorks();
    });
    test('chunk longer than listed → E_CHUNK_SIZE', async () => {
      const dir = await brokenCopy('deit', (d, m) => {
        const f = path.join(d, m.chunks[0].file);
        fs.writeFileSync(f, Buffer.concat([fs.readFileSync(f), Buffer.alloc(10)]));
      }, { chunkSize: 8192 });
      await loadFails(dir, 'E_CHUNK_SIZE', /chunk 0 \(chunk-00000\.bin\): expected 8192 bytes, got 8202/);
      await stillWorks();
    });
    test('missing chunk → E_CHUNK_MISSING', async () => {
      const dir = await brokenCopy('deit', (d, m) => fs.rmSync(path.join(d, m.chunks[3].file)), { chunkSize: 8192 });
      await loadFails(dir, 'E_CHUNK_MISSING', /chunk 3 \(chunk-00003\.bin\): cannot read \(ENOENT\)/);
      await stillWorks();
    });
    test('manifest with a wrong version → E_MANIFEST', async () => {
      await loadFails(await brokenCopy('vit', (d, m) => ({ ...m, version: 2 })), 'E_MANIFEST', /unsupported format version 2 \(this reader knows 1\)/);
      await stillWorks();
    });
    test('manifest with a wrong tensor shape → E_MANIFEST naming the tensor', async () => {
      const dir = await brokenCopy('vit', (d, m) => {
        m.tensors.find((t) => t.name === 'layers.1.mlp.fc1.weight').shape = [64, 47];
        return m;
      });
      await loadFails(dir, 'E_MANIFEST', /layers\.1\.mlp\.fc1\.weight/);
      await stillWorks();
    });
    test('manifest with overlapping offsets → E_MANIFEST naming both tensors', async () => {
      const dir = await brokenCopy('vit', (d, m) => {
        const i = m.tensors.findIndex((t) => t.name === 'layers.0.attn.out.weight');
        m.tensors[i].offset = m.tensors[i - 1].offset;
        return m;
      });
      await loadFails(dir, 'E_MANIFEST', /overlap/);
      await stillWorks();
    });
    test('manifest with an unknown dtype → E_MANIFEST naming the tensor', async () => {
      await loadFails(await brokenCopy('vit', (d, m) => { m.tensors[3].dtype = 'q4'; return m; }), 'E_MANIFEST', /tensor "embeddings\.[^"]+": unknown dtype "q4"/);
      await stillWorks();
    });
    test('int8 manifests: i8 where not allowed, missing or wrong-shape scale → E_MANIFEST naming the tensor', async () => {
      const int8 = { dtype: 'int8' };
      const tensor = (m, name) => m.tensors.find((t) => t.name === name);
      // A norm weight or a position table may not be i8: only Linear weights.
      await loadFails(await brokenCopy('vit', (d, m) => { tensor(m, 'layers.0.norm1.weight').dtype = 'i8'; return m; }, int8),
        'E_MANIFEST', /tensor "layers\.0\.norm1\.weight": dtype "i8" is allowed only for Linear weights/);
      await loadFails(await brokenCopy('vit', (d, m) => { tensor(m, 'embeddings.position_embeddings').dtype = 'i8'; return m; }, int8),
        'E_MANIFEST', /tensor "embeddings\.position_embeddings": dtype "i8" is allowed only/);
      await loadFails(await brokenCopy('vit', (d, m) => { m.tensors = m.tensors.filter((t) => t.name !== 'layers.1.mlp.fc2.weight.scale'); return m; }, int8),
        'E_MANIFEST', /missing tensor "layers\.1\.mlp\.fc2\.weight\.scale"/);
      await loadFails(await brokenCopy('vit', (d, m) => { tensor(m, 'layers.1.attn.qkv.weight.scale').shape = [7]; return m; }, int8),
        'E_MANIFEST', /tensor "layers\.1\.attn\.qkv\.weight\.scale": must be f32 of shape \[\d+\]/);
      await loadFails(await brokenCopy('vit', (d, m) => { tensor(m, 'layers.1.attn.qkv.weight.scale').dtype = 'f16'; return m; }, int8),
        'E_MANIFEST', /tensor "layers\.1\.attn\.qkv\.weight\.scale": must be f32/);
      // The patch projection and the classifier are i8 too, with scales checked the same way.
      for (const name of ['embeddings.patch.weight', 'classifier.weight']) {
        await loadFails(await brokenCopy('vit', (d, m) => { tensor(m, `${name}.scale`).shape = [2]; return m; }, int8),
          'E_MANIFEST', new RegExp(`tensor "${name.replace('.', '\\.')}\\.scale": must be f32 of shape \\[\\d+\\]`));
        await loadFails(await brokenCopy('vit', (d, m) => { m.tensors = m.tensors.filter((t) => t.name !== `${name}.scale`); return m; }, int8),
          'E_MANIFEST', new RegExp(`missing tensor "${name.replace('.', '\\.')}\\.scale"`));
      }
      // A scale without an i8 weight is not part of the model.
      await loadFails(await brokenCopy('vit', (d, m) => { tensor(m, 'layers.0.mlp.fc1.weight').dtype = 'f32'; return m; }, int8),
        'E_MANIFEST', /layers\.0\.mlp\.fc1\.weight/);
      await stillWorks();
    });
    test('manifest that is not JSON, or missing → E_MANIFEST', async () => {
      await loadFails(await brokenCopy('vit', () => '{"format": "vitrine", '), 'E_MANIFEST', /not valid JSON/);
      await loadFails(path.join(tmpDir('none'), 'nothing-here'), 'E_MANIFEST', /no such model folder or manifest/);
      await stillWorks();
    });
    test('manifest nested 30000 levels deep (in metadata) → E_MANIFEST, not a stack overflow', async () => {
      const deep = (d, m) => JSON.stringify({ ...m, metadata: {} }).replace('"metadata":{}', `"metadata":${'['.repeat(30000)}${']'.repeat(30000)}`);
      await loadFails(await brokenCopy('vit', deep), 'E_MANIFEST', /nests arrays\/objects deeper than 64 levels/);
      await stillWorks();
    });
    test('chunk hash edited in the manifest → E_CHUNK_HASH', async () => {
      const dir = await brokenCopy('vit', (d, m) => { m.chunks[0].sha256 = '0'.repeat(64); return m; });
      await loadFails(dir, 'E_CHUNK_HASH', /chunk 0 \(chunk-00000\.bin\): SHA-256 mismatch/);
      await stillWorks();
    });
    test('a non-image file → E_IMAGE', async () => {
      await assert.rejects(model.classify(path.join(FIXTURES, 'vit/case.json')), (e) => e.code === 'E_IMAGE' && e.message.length > 5);
      await assert.rejects(model.embed(new Uint8Array(1000).fill(7)), (e) => e.code === 'E_IMAGE');
      await stillWorks();
    });
    test('an empty file → E_IMAGE', async () => {
      const empty = path.join(tmpDir('empty'), 'empty.jpg');
      fs.writeFileSync(empty, '');
      await assert.rejects(model.classify(empty), (e) => e.code === 'E_IMAGE' && /empty/.test(e.message));
      await assert.rejects(model.preprocess(new Uint8Array(0)), (e) => e.code === 'E_IMAGE');
      await stillWorks();
    });
    test('a file that does not exist → E_IMAGE', async () => {
      await assert.rejects(model.classify('/nonexistent/x.jpg'), (e) => e.code === 'E_IMAGE' && /ENOENT/.test(e.message));
      await stillWorks();
    });
    test('a truncated JPEG → E_IMAGE "truncated JPEG" (PIL refuses it too: "image file is truncated")', async () => {
      for (const call of [(f) => model.classify(f), (f) => model.embed(f), (f) => model.preprocess(f)]) {
        await assert.rejects(call(path.join(PHOTOS, 'elephants_truncated.jpg')), (e) => {
          assert.equal(e.code, 'E_IMAGE', e.message);
          assert.match(e.message, /truncated JPEG/);
          return true;
        });
      }
      await stillWorks();
    });
    test('a 20000×20000 header (JPEG, PNG) → E_IMAGE from the header; a JPEG with more than 500 scans → E_IMAGE', async () => {
      const input = (f) => path.join(ROOT, 'wasm-tests/fixtures/pixels/inputs', f);
      for (const f of ['huge_header.jpg', 'huge_header.png']) {
        await assert.rejects(model.classify(input(f)), (e) => e.code === 'E_IMAGE' &&
          /image too large: 20000x20000 = 400000000 pixels, over the budget of 50000000/.test(e.message));
        await assert.rejects(model.embed(fs.readFileSync(input(f))), (e) => e.code === 'E_IMAGE' && /image too large/.test(e.message));
      }
      // A scan bomb: each progressive scan re-walks the whole image; the scan count is capped.
      await assert.rejects(model.classify(input('many_scans.jpg')), (e) => e.code === 'E_IMAGE' && /more than 500 scans/.test(e.message));
      await stillWorks();
    });
    test('an image over maxPixels is refused from its header', async () => {
      const small = await load(await convertedCase('vit'), { build, maxPixels: 1000 });
      await assert.rejects(small.classify(path.join(PHOTOS, 'elephants.jpg')), (e) => e.code === 'E_IMAGE');
      await small.dispose();
      await stillWorks();
    });
    test('bad forward / embed / classify arguments → E_INPUT', async () => {
      await assert.rejects(model.forward(new Float32Array(10), { height: 224, width: 224 }), (e) => e.code === 'E_INPUT' && /needs 150528/.test(e.message));
      await assert.rejects(model.forward(Array.from(inp.pixels)), (e) => e.code === 'E_INPUT');
      // ViT needs exactly image_size: the engine refuses 32×32.
      await assert.rejects(model.forward(new Float32Array(3 * 32 * 32), { height: 32, width: 32 }), (e) => e.code === 'E_INPUT');
      await assert.rejects(model.forward(new Float32Array(3 * 20 * 20), { height: 20, width: 20 }), (e) => e.code === 'E_INPUT');
      await assert.rejects(model.embed(path.join(FIXTURES, 'vit/image.png'), { pooling: 'max' }), (e) => e.code === 'E_INPUT');
      await assert.rejects(model.classify(path.join(FIXTURES, 'vit/image.png'), { topK: 0 }), (e) => e.code === 'E_INPUT');
      await stillWorks();
    });
    test('a model too large for the WebAssembly memory → E_MEMORY, before any chunk is read', async () => {
      const big = 2 ** 39; // one 512 GiB chunk: refused from the manifest (the engine's memoryNeed, src/js/load/memory.js)
      await loadFails(await brokenCopy('vit', (d, m) => ({ ...m, chunk_size: big, stream_size: big, chunks: [{ ...m.chunks[0], size: big }] })),
        'E_MEMORY', /needs at least \d+ MB of engine memory \(weights 524288 MB, .* at most 2048 MB/);
      await stillWorks();
    });

    test('a pooling the model does not offer → E_INPUT; the engine lists the ones it does', async () => {
      assert.deepEqual([...model.info.poolings], ['cls', 'mean', 'cls+mean']);
      await assert.rejects(model.embed(path.join(FIXTURES, 'vit/image.png'), { pooling: 'pooler' }), (e) => e.code === 'E_INPUT' && /pooler/.test(e.message));
      await stillWorks();
    });

    test('classify on a backbone without classifier → E_NO_CLASSIFIER (the engine\'s code); embed still works', async () => {
      const m = await load(await convertedCase('vit-model'), { build });
      await assert.rejects(m.classify(path.join(FIXTURES, 'vit/image.png')), (e) => e.code === 'E_NO_CLASSIFIER' && /has no classifier/.test(e.message));
      assert.equal((await m.embed(path.join(FIXTURES, 'vit/image.png'))).length, m.info.hiddenSize);
      await m.dispose();
      await stillWorks();
    });
  });
}

describe('engine error codes arrive as { code, message } (status.h), never as text to match', () => {
  for (const build of BUILDS) {
    test(`every fallible embind call, ${build} build`, async () => {
      requireBuild(build);
      const { getRuntime } = await import('../../src/js/runtime.js');
      const { Module } = await getRuntime(build, 2);
      const dir = await convertedCase('vit', { chunkSize: 8192 });
      const text = fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8');
      const m = JSON.parse(text);
      const engine = new Module.Engine(1);
      try {
        const code = (r) => (r === null ? null : r.code);
        assert.equal(code(engine.beginLoad('{')), 'E_MANIFEST');
        assert.equal(engine.finishLoad().code, 'E_LOAD'); // no load in progress
        // The engine's own check of the stream allocation (load() refuses such a manifest before the engine sees it).
        const big = 2 ** 39;
        const huge = engine.beginLoad(JSON.stringify({ ...m, chunk_size: big, stream_size: big, chunks: [{ ...m.chunks[0], size: big }] }));
        assert.equal(huge.code, 'E_MEMORY');
        assert.match(huge.message, /549755813888 bytes/);
        assert.equal(engine.beginLoad(text), null);
        assert.equal(engine.finishLoad().code, 'E_LOAD'); // chunks never committed
        const chunk0 = fs.readFileSync(path.join(dir, m.chunks[0].file));
        assert.equal(engine.commitChunks(0, [chunk0.length - 1]).code, 'E_CHUNK_SIZE');
        const tampered = Buffer.from(chunk0);
        tampered[100] ^= 1;
        Module.HEAPU8.set(tampered, engine.chunkTarget(0));
        const hash = engine.commitChunks(0, [tampered.length]);
        assert.equal(hash.code, 'E_CHUNK_HASH'); // from the engine's code, not from its text
        assert.match(hash.message, /chunk 0 \(chunk-00000\.bin\)/);
        for (let i = 0; i < m.chunks.length; i++) {
          const bytes = fs.readFileSync(path.join(dir, m.chunks[i].file));
          new Uint8Array(Module.wasmMemory?.buffer ?? Module.HEAPU8.buffer).set(bytes, engine.chunkTarget(i));
          assert.equal(engine.commitChunks(i, [bytes.length]), null);
        }
        assert.equal(engine.finishLoad(), null);
        const junk = new Uint8Array(64).fill(7);
        new Uint8Array(Module.wasmMemory?.buffer ?? Module.HEAPU8.buffer).set(junk, engine.inputBuffer(junk.length));
        assert.equal(engine.preprocess(junk.length, true, 0).code, 'E_IMAGE');
        assert.equal(engine.forward(engine.inputBuffer(4 * 3 * 20 * 20), 20, 20).code, 'E_INPUT');
        assert.equal(engine.pooled('max').code, 'E_INPUT');
        assert.equal(engine.scores().code, 'E_INPUT'); // the failed forward left no output
        assert.deepEqual(JSON.parse(engine.infoJson()).poolings, ['cls', 'mean', 'cls+mean']);
      } finally {
        engine.delete();
      }
    });
  }
});

describe('bad checkpoints given to the converter', () => {
  const bad = path.join(FIXTURES, 'bad');
  const refused = (src, re) => assert.rejects(convert(src, tmpDir('o')), (e) => e.code === 'E_CONVERT' && re.test(e.message));
  test('safetensors header that lies about its length', () => refused(path.join(bad, 'header-length-lies.safetensors'), /header-length-lies\.safetensors: header length \d+ runs past the end of the file/));
  test('safetensors offsets past the end', () => refused(path.join(bad, 'offsets-past-end.safetensors'), /tensor "a\.weight": data_offsets/));
  test('safetensors unknown dtype', () => refused(path.join(bad, 'unknown-dtype.safetensors'), /tensor "a\.bias": unknown dtype "Q7"/));
  test('pytorch_model.bin-only folder', () => refused(path.join(bad, 'pytorch-bin-only'), /safe_serialization=True/));
  test('missing tensor', () => refused(path.join(bad, 'missing-tensor'), /missing tensor "layers\.1\.mlp\.fc2\.bias"/));
  test('npz with wrong names', async () => {
    const { writeNpz } = await import('../helpers/synth.js');
    const { writeNpy } = await import('../../src/js/npy.js');
    const d = tmpDir('npz');
    fs.copyFileSync(path.join(FIXTURES, 'vit-npz/hf/config.json'), path.join(d, 'config.json'));
    writeNpz(path.join(d, 'model.npz'), [{ name: 'weights/embedding', bytes: writeNpy(new Float32Array(4), [4]) }]);
    await refused(path.join(d, 'model.npz'), /unexpected tensor "weights\/embedding" \(model\.npz\)/);
  });
});
