// classify(image, { own: true }) (docs/API.md "Heads"): with a head attached, the head's top-K and the model's own
// classifier's top-K from one forward pass. What must hold:
// - `own` has exactly the numbers of classify() after setHead(null) (the same backbone output, the same classifier
//   code), and `top` exactly those of classify() without `own`; the profile counts one forward per call;
// - so for the default model with trained heads (linear, MLP on another pooling, one sigmoid output) and for
//   fixture models whose own classifier is each kind the engine has: a CLS Linear, DeiT's CLS+DIST mean, DINOv2's
//   CLS + patch mean with registers, a manifest MLP head on cls+mean (softmax) and one sigmoid logit;
// - without a head attached, `own` equals `top`; the default call's result is unchanged (an array);
// - a backbone without a classifier of its own, with a head attached, refuses `own: true` with E_NO_CLASSIFIER, a
//   non-boolean `own` is E_INPUT, and the model (its head too) keeps giving the same answers afterwards.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { load } from '../../src/js/index.js';
import { trainHead } from '../../src/js/head/train.js';
import { ROOT, PHOTOS, requireBuild, convertedCase, caseInputs } from '../helpers/env.js';
import { outputProbe } from '../helpers/still-works.js';

const BASE = path.join(ROOT, 'weights/cifar10-vit');
const photos = () => fs.readdirSync(PHOTOS).filter((f) => /\.(jpe?g|png)$/i.test(f) && !/truncated/.test(f)).sort().map((f) => path.join(PHOTOS, f));

/** A head on `pooling` trained on the photos' embeddings, labels = photo index mod numClasses. */
async function trainedHead(model, files, { pooling = 'cls', numClasses = 3, hidden = 0, loss = 'softmax' } = {}) {
  const rows = [];
  for (const f of files) rows.push(await model.embed(f, { pooling }));
  const dim = rows[0].length;
  const features = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => features.set(r, i * dim));
  const res = trainHead(features, rows.map((_, i) => i % numClasses), { dim, numClasses, hidden, loss, epochs: 20, lr: 1e-2, valFraction: 0, seed: 3 });
  return {
    pooling, layers: res.layers, output: res.output, tensors: res.tensors,
    labels: Array.from({ length: numClasses }, (_, c) => `taught-${c}`), backbone: model.headBackbone(pooling),
  };
}

/**
 * For each photo: classify(own: true) with `head` attached against classify() with the head alone and classify()
 * with the head cleared, all of every label (topK = the widest). Leaves the head cleared.
 */
async function assertOneForward(model, head, files) {
  const ownLabels = model.info.labels;
  const topK = Math.max(ownLabels.length, head.labels.length, 2);
  await model.setHead(head);
  const headOnly = [], both = [];
  model.profile(true);
  for (const f of files) both.push(await model.classify(f, { topK, own: true }));
  const { forwards } = model.profile();
  model.profile(false);
  for (const f of files) headOnly.push(await model.classify(f, { topK }));
  await model.setHead(null);
  assert.equal(forwards, files.length, 'one forward per classify(own: true)');
  for (const [i, f] of files.entries()) {
    const name = path.basename(f);
    assert.deepEqual(both[i].top, headOnly[i], `${name}: top = classify() with the head`);
    assert.ok(both[i].top.every((p) => head.labels.includes(p.label)), `${name}: top has the head's labels`);
    assert.deepEqual(both[i].own, await model.classify(f, { topK }), `${name}: own = classify() with the head cleared, exactly`);
    assert.ok(both[i].own.every((p) => ownLabels.includes(p.label)), `${name}: own has the model's own labels`);
  }
}

describe('classify(image, { own: true }) on the default model', () => {
  let model, files;
  before(async () => {
    requireBuild('st');
    model = await load(BASE, { build: 'st' });
    files = photos();
  });
  after(() => model?.dispose());

  for (const [what, opts] of [['linear cls', {}], ['MLP on cls+mean', { pooling: 'cls+mean', hidden: 8 }], ['one sigmoid output on mean', { pooling: 'mean', numClasses: 2, loss: 'bce' }]]) {
    test(`${what} head: own = classify() with the head cleared, top = classify() with the head, bit for bit, one forward`, async () => {
      const head = await trainedHead(model, files, opts);
      await assertOneForward(model, head, files);
      assert.equal(model.info.classifier, 'cls');
    });
  }

  test('without a head, own equals top; the default call still gives an array', async () => {
    const plain = await model.classify(files[0], { topK: 3 });
    assert.ok(Array.isArray(plain));
    assert.deepEqual(await model.classify(files[0], { topK: 3, own: false }), plain);
    assert.deepEqual(await model.classify(files[0], { topK: 3, own: true }), { top: plain, own: plain });
  });

  test('a non-boolean own is E_INPUT; the model and its head keep working', async () => {
    await model.setHead(await trainedHead(model, files.slice(0, 6)));
    try {
      const { pixels } = await model.preprocess(files[1]);
      const probe = await outputProbe(model, { pixels, image: files[1] });
      for (const own of ['yes', 1, null]) {
        await assert.rejects(model.classify(files[1], { own }), (e) => e.code === 'E_INPUT' && /own must be true or false/.test(e.message), String(own));
      }
      await probe.check('after a bad own option');
    } finally {
      await model.setHead(null);
    }
  });
});

describe('classify(image, { own: true }) on fixture models: every kind of own classifier', () => {
  before(() => requireBuild('st'));
  // case → the pooling the taught head reads (another than the own classifier's where the family offers one).
  const CASES = [['vit', 'mean'], ['deit-teacher', 'cls'], ['dinov2-registers', 'cls+mean'], ['head', 'mean'], ['head-sigmoid', 'cls']];
  for (const [name, pooling] of CASES) {
    test(`${name}: own = classify() with the head cleared, top = classify() with the head, bit for bit`, async () => {
      const model = await load(await convertedCase(name), { build: 'st' });
      try {
        // Two taught classes when the model has more, five when it has fewer: the outputs differ in number.
        const head = await trainedHead(model, photos(), { pooling, numClasses: model.info.numLabels > 2 ? 2 : 5, hidden: 4 });
        await assertOneForward(model, head, photos().slice(0, 4));
      } finally {
        await model.dispose();
      }
    });
  }

  test('a backbone without a classifier, with a head attached: own: true is E_NO_CLASSIFIER; the model and its head keep working', async () => {
    const model = await load(await convertedCase('vit-model'), { build: 'st' });
    try {
      assert.equal(model.info.numLabels, 0);
      const files = photos();
      await model.setHead(await trainedHead(model, files));
      const [input] = caseInputs('vit-model');
      const probe = await outputProbe(model, { pixels: input.pixels, height: input.height, width: input.width, image: files[0] });
      await assert.rejects(model.classify(files[0], { own: true }), (e) => e.code === 'E_NO_CLASSIFIER' && /no classifier of its own/.test(e.message));
      await probe.check('after own: true on a backbone');
      assert.equal(model.info.classifier, 'head');
      await model.setHead(null);
      await assert.rejects(model.classify(files[0], { own: true }), (e) => e.code === 'E_NO_CLASSIFIER');
    } finally {
      await model.dispose();
    }
  });
});
