// The stage profile (model.profile(), docs/KERNELS.md "Stage profile"): every stage is reported and timed, the
// stages add up to no more than the forwards' wall time, and switching it on changes no output. Structural checks
// only: no timing bound (speed lives in `npm run bench -- --profile`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from '../../src/js/index.js';
import { BUILDS, caseInputs, convertedCase, requireBuild } from '../helpers/env.js';

const STAGES = ['patch-embed', 'pos-embed', 'layernorm', 'qkv', 'attention', 'attn-out', 'fc1', 'gelu', 'fc2',
  'quantize', 'residual', 'pool+head', 'other'];

// vit-act-gelu-new: its activation runs as its own stage (erf GELU is fused into fc1's epilogue), and at int8 the
// activations are quantized for every block Linear: every stage has calls.
for (const build of BUILDS) {
  test(`profile (${build}): every stage timed after int8 forwards, stages sum within the wall time, outputs unchanged`, async () => {
    requireBuild(build);
    const [inp] = caseInputs('vit-act-gelu-new');
    const model = await load(await convertedCase('vit-act-gelu-new', { dtype: 'int8' }), { build, threads: 2 });
    try {
      const off = await model.forward(inp.pixels, { height: inp.height, width: inp.width });
      assert.deepEqual(model.profile(), { stages: STAGES.map((name) => ({ name, ms: 0, calls: 0 })), forwards: 0 }, 'off by default');
      model.profile(true);
      const forwards = 3;
      const t0 = performance.now();
      const outs = [];
      for (let i = 0; i < forwards; i++) outs.push(await model.forward(inp.pixels, { height: inp.height, width: inp.width }));
      const wall = performance.now() - t0;
      const p = model.profile();
      assert.equal(p.forwards, forwards);
      assert.deepEqual(p.stages.map((s) => s.name), STAGES);
      for (const s of p.stages) {
        assert.ok(s.calls > 0, `${s.name}: calls ${s.calls}`);
        assert.ok(s.ms >= 0 && Number.isFinite(s.ms), `${s.name}: ${s.ms} ms`);
      }
      const byName = Object.fromEntries(p.stages.map((s) => [s.name, s]));
      const layers = model.info.numLayers;
      assert.equal(byName.qkv.calls, forwards * layers);
      assert.equal(byName.layernorm.calls, forwards * (2 * layers + 1));
      // One activation quantization per int8 Linear: the blocks' four, the patch projection, the classifier.
      assert.equal(byName.quantize.calls, forwards * (4 * layers + 2));
      assert.equal(byName.other.calls, forwards);
      const sum = p.stages.reduce((a, s) => a + s.ms, 0);
      assert.ok(sum > 0 && sum <= wall, `stages sum to ${sum} ms, the forwards took ${wall} ms`);
      for (const out of outs) {
        assert.deepEqual(out.lastHiddenState, off.lastHiddenState, 'profiling changes no output');
        assert.deepEqual(out.logits, off.logits);
      }
      // Off: the totals stay readable and stop growing; on again starts from zero.
      model.profile(false);
      await model.forward(inp.pixels, { height: inp.height, width: inp.width });
      assert.deepEqual(model.profile(), p);
      model.profile(true);
      assert.equal(model.profile().forwards, 0);
      assert.throws(() => model.profile('yes'), (e) => e.code === 'E_INPUT');
    } finally {
      await model.dispose();
    }
    assert.throws(() => model.profile(), (e) => e.code === 'E_DISPOSED');
  });
}

test('profile: an f32 ViT has no quantize stage; GELU runs inside fc1', async () => {
  requireBuild('st');
  const [inp] = caseInputs('vit');
  const model = await load(await convertedCase('vit'), { build: 'st' });
  try {
    model.profile(true);
    await model.forward(inp.pixels, { height: inp.height, width: inp.width });
    const byName = Object.fromEntries(model.profile().stages.map((s) => [s.name, s]));
    assert.equal(byName.quantize.calls, 0);
    assert.equal(byName.gelu.calls, 0);
    for (const name of STAGES.filter((n) => n !== 'quantize' && n !== 'gelu')) assert.ok(byName[name].calls > 0, name);
  } finally {
    await model.dispose();
  }
});
