// "The model keeps working": one check for every test that tries a bad input or a fault on a loaded model.
// It records the model's answers once (last_hidden_state and logits of a forward pass on fixed pixels, and
// classify's top 5 on a fixed image) and later asserts the model still gives exactly those answers (the engine
// is deterministic for one model and build, so any difference means the fault left something behind).
import assert from 'node:assert/strict';
import { maxAbsDiff } from './env.js';

/**
 * @param {object} model  a loaded vitrine model
 * @param {{pixels: Float32Array, height?: number, width?: number, image?: string|Uint8Array}} input
 *   image: for classify (needed when the model has a classifier)
 * @returns {Promise<{reference: object, check(what?: string): Promise<void>}>}
 */
export async function outputProbe(model, { pixels, height, width, image }) {
  const hasClassifier = model.info.numLabels > 0;
  assert.ok(!hasClassifier || image !== undefined, 'outputProbe: a model with a classifier needs an image for classify');
  const answers = async () => {
    const f = await model.forward(pixels, height === undefined ? {} : { height, width });
    return {
      lastHiddenState: f.lastHiddenState,
      logits: f.logits ?? null,
      top5: hasClassifier ? await model.classify(image, { topK: 5 }) : null,
    };
  };
  const reference = await answers();
  return {
    reference,
    answers,
    async check(what = 'afterwards') {
      const now = await answers();
      assert.equal(maxAbsDiff(now.lastHiddenState, reference.lastHiddenState), 0, `last_hidden_state changed ${what}`);
      if (reference.logits) assert.equal(maxAbsDiff(now.logits, reference.logits), 0, `logits changed ${what}`);
      else assert.equal(now.logits, null);
      assert.deepEqual(now.top5, reference.top5, `classify top-5 changed ${what}`);
    },
  };
}
