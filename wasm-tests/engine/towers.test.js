// The CLIP and SigLIP vision towers beyond raw parity (parity.test.js): embed() on an image file equals HF's
// pooled outputs for each pooling the model has, the engine's list of poolings, named errors for a pooling a
// model lacks or a manifest without its projection (the model keeps working afterwards), and `vitrine embed`.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { load } from '../../src/js/index.js';
import { BUILDS, CLI, FIXTURES, caseInfo, caseInputs, convertedCase, requireBuild, assertClose, copyDir, npy, tmpDir } from '../helpers/env.js';
import { outputProbe } from '../helpers/still-works.js';

const golden = (name, file) => npy(path.join(FIXTURES, name, `${file}.npy`)).data;

/** Rows [first, T) of a case's golden last_hidden_state, averaged (HF has no such output; the engine's 'mean'). */
function goldenMean(name, first) {
  const [inp] = caseInputs(name);
  const { data, shape: [T, D] } = inp.lastHiddenState;
  const m = new Float64Array(D);
  for (let t = first; t < T; t++) for (let d = 0; d < D; d++) m[d] += data[t * D + d] / (T - first);
  return Float32Array.from(m);
}

const rejectsWith = (promise, code, re) => assert.rejects(promise, (e) => {
  assert.equal(e.code, code, `${e.code}: ${e.message}`);
  assert.match(e.message, re);
  return true;
});

for (const build of BUILDS) {
  describe(`vision towers, ${build} build`, () => {
    const opts = { build, ...(build === 'mt' ? { threads: 2 } : {}) };
    const models = {};
    before(async () => {
      requireBuild(build);
      for (const name of ['clip', 'clip-vision', 'siglip']) models[name] = await load(await convertedCase(name), opts);
    });
    after(async () => { for (const m of Object.values(models)) await m.dispose(); });

    test('the engine lists each model\'s poolings, default first', () => {
      assert.deepEqual([...models.clip.info.poolings], ['projection', 'pooler', 'cls', 'mean', 'cls+mean']);
      assert.equal(models.clip.info.projectionDim, 24);
      assert.deepEqual([...models['clip-vision'].info.poolings], ['pooler', 'cls', 'mean', 'cls+mean']);
      assert.deepEqual([...models.siglip.info.poolings], ['pooler', 'mean']);
    });

    test('CLIP: embed(image.png) = HF image_embeds (default), pooler_output, CLS and patch mean of last_hidden_state', async () => {
      const m = models.clip, img = path.join(FIXTURES, 'clip/image.png'), tol = caseInfo('clip').tolerance;
      assertClose(await m.embed(img), golden('clip', 'image_embeds'), tol, 'default pooling = image_embeds');
      assertClose(await m.embed(img, { pooling: 'projection' }), golden('clip', 'image_embeds'), tol, 'projection');
      assertClose(await m.embed(img, { pooling: 'pooler' }), golden('clip', 'pooler_output'), tol, 'pooler');
      const D = caseInfo('clip').architecture.hidden_size;
      assertClose(await m.embed(img, { pooling: 'cls' }), golden('clip', 'last_hidden_state').slice(0, D), tol, 'cls');
      assertClose(await m.embed(img, { pooling: 'mean' }), goldenMean('clip', 1), tol, 'mean of the patch tokens');
    });

    test('SigLIP: embed(image.png) = HF pooler_output (default); mean = mean of every token', async () => {
      const m = models.siglip, img = path.join(FIXTURES, 'siglip/image.png'), tol = caseInfo('siglip').tolerance;
      assertClose(await m.embed(img), golden('siglip', 'pooler_output'), tol, 'default pooling = pooler_output');
      assertClose(await m.embed(img, { pooling: 'mean' }), goldenMean('siglip', 0), tol, 'mean');
    });

    test('a pooling the model lacks is E_INPUT naming the ones it has; the model keeps working', async () => {
      const [inp] = caseInputs('clip-vision');
      const m = models['clip-vision'];
      const probe = await outputProbe(m, { pixels: inp.pixels });
      await rejectsWith(m.forward(inp.pixels, { pooling: 'projection' }), 'E_INPUT', /pooling must be one of pooler, cls, mean, cls\+mean for this clip model, got "projection"/);
      await rejectsWith(models.siglip.embed(path.join(FIXTURES, 'siglip/image.png'), { pooling: 'cls' }), 'E_INPUT', /one of pooler, mean for this siglip model, got "cls"/);
      const out = await m.forward(inp.pixels, { pooling: 'pooler' });
      assertClose(out.embedding, inp.poolerOutput.data, caseInfo('clip-vision').tolerance, 'pooler after the error');
      assert.equal(out.imageEmbeds, undefined);
      await probe.check('after the refused poolings');
    });

    test('a CLIP manifest with projection_dim but no projection tensor is E_MANIFEST naming the tensor', async () => {
      const dir = copyDir(await convertedCase('clip'), tmpDir('clip-no-projection'));
      const file = path.join(dir, 'manifest.json');
      const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
      manifest.tensors = manifest.tensors.filter((t) => t.name !== 'projection.weight');
      fs.writeFileSync(file, JSON.stringify(manifest));
      const [inp] = caseInputs('clip');
      const probe = await outputProbe(models.clip, { pixels: inp.pixels });
      await rejectsWith(load(dir, opts), 'E_MANIFEST', /missing tensor "projection\.weight"/);
      await probe.check('after the refused manifest');
    });
  });
}

test('a two-tower checkpoint converts to its vision tower and says the text tower was dropped', async () => {
  for (const name of ['clip-full', 'siglip-full']) {
    const m = JSON.parse(fs.readFileSync(path.join(await convertedCase(name), 'manifest.json'), 'utf8'));
    const text = caseInfo(name).state_dict_keys.filter((k) => !k.startsWith('vision_model.') && k !== 'visual_projection.weight');
    assert.deepEqual([...m.metadata.dropped].sort(), text.sort(), `${name}: dropped = the text side`);
    assert.ok(m.metadata.notes.some((n) => n.startsWith(`vision tower only: the text tower (${text.length} tensors`)), m.metadata.notes.join('; '));
    assert.ok(!m.tensors.some((t) => t.name.startsWith('text')));
  }
  // CLIPVisionModel's config carries projection_dim, its checkpoint no projection: none is made up.
  assert.equal(JSON.parse(fs.readFileSync(path.join(FIXTURES, 'clip-vision/hf/config.json'), 'utf8')).projection_dim, 24);
  assert.equal(caseInfo('clip-vision').architecture.projection_dim, 0);
});

describe('vitrine embed on the towers', () => {
  before(() => requireBuild('st'));
  test('default pooling: CLIP image_embeds, SigLIP pooler_output (jsonl)', async () => {
    for (const [name, file] of [['clip', 'image_embeds'], ['siglip', 'pooler_output']]) {
      const out = path.join(tmpDir(`cli-embed-${name}`), 'e.jsonl');
      execFileSync(process.execPath, [CLI, 'embed', await convertedCase(name), path.join(FIXTURES, name, 'image.png'), '-o', out, '--build', 'st', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const rows = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(rows.length, 1);
      assertClose(Float32Array.from(rows[0].embedding), golden(name, file), caseInfo(name).tolerance, `${name} ${file}`);
    }
  });
  test('--pooling the model lacks: E_INPUT naming the poolings it has, before any output', async () => {
    const out = path.join(tmpDir('cli-bad'), 'e.npy');
    const r = spawnSync(process.execPath, [CLI, 'embed', await convertedCase('siglip'), path.join(FIXTURES, 'siglip/image.png'), '-o', out, '--pooling', 'projection', '--build', 'st'], { encoding: 'utf8' });
    assert.ok(!fs.existsSync(out), 'no .npy written for a refused run');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /pooling must be one of pooler, mean for this siglip model, got "projection" \[E_INPUT\]/);
  });
});
