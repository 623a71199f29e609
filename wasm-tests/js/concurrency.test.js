// Many calls in flight on one model, dispose() while calls are queued, and two models (the bundled default model
// and a fixture model) used at once, in both builds. A model runs its calls one at a time in order; these tests
// check that concurrency changes no answer, and that a disposed model fails every later call by name.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { load } from '../../src/js/index.js';
import { readZip } from '../../tools/default-model/cifar10.mjs';
import { ROOT, SHARED, BUILDS, FIXTURES, convertedCase, caseInputs, requireBuild } from '../helpers/env.js';
import { outputProbe } from '../helpers/still-works.js';

const DEFAULT_MODEL = path.join(ROOT, 'weights/cifar10-vit');
const N = 100;

for (const build of BUILDS) {
  describe(`concurrency (${build} build)`, { timeout: 600_000 }, () => {
    let photos, cifar, fixture, sequential;
    before(async () => {
      requireBuild(build);
      // 100 CIFAR-10 test photos, 10 of each class (test.zip holds them class by class, 1,000 each).
      const entries = readZip(path.join(SHARED, 'data/cifar10/test.zip'));
      photos = Array.from({ length: N }, (_, i) => entries[(i % 10) * 1000 + Math.floor(i / 10)].bytes);
      cifar = await load(DEFAULT_MODEL, { build });
      fixture = await load(await convertedCase('vit'), { build });
      sequential = [];
      for (const p of photos) sequential.push(await cifar.classify(p));
    });
    after(async () => { await cifar?.dispose(); await fixture?.dispose(); });

    test(`${N} classify calls in flight (Promise.all) = the same calls one after another`, async () => {
      const all = await Promise.all(photos.map((p) => cifar.classify(p)));
      assert.deepEqual(all, sequential);
      // Mixed kinds of call in flight at once: each gets its own answer.
      const mixed = await Promise.all(photos.slice(0, 30).map((p, i) =>
        (i % 3 === 0 ? cifar.classify(p) : i % 3 === 1 ? cifar.embed(p) : cifar.preprocess(p).then((px) => cifar.forward(px.pixels)))));
      for (let i = 0; i < 30; i += 3) assert.deepEqual(mixed[i], sequential[i]);
      for (let i = 1; i < 30; i += 3) assert.equal(mixed[i].length, cifar.info.hiddenSize);
      for (let i = 2; i < 30; i += 3) {
        const top = Array.from(mixed[i].logits.keys()).sort((a, b) => mixed[i].logits[b] - mixed[i].logits[a])[0];
        assert.equal(top, sequential[i][0].index);
      }
    });

    test('two models at once: interleaved calls in flight = each model alone', async () => {
      const [inp] = caseInputs('vit');
      const image = path.join(FIXTURES, 'vit/image.png');
      const fixtureProbe = await outputProbe(fixture, { pixels: inp.pixels, image });
      const cifarPx = await cifar.preprocess(photos[0]);
      const cifarProbe = await outputProbe(cifar, { pixels: cifarPx.pixels, image: photos[0] });
      const calls = [];
      for (let i = 0; i < 40; i++) {
        calls.push(cifar.classify(photos[i]));
        calls.push(fixture.forward(inp.pixels));
        calls.push(fixture.classify(image));
      }
      const out = await Promise.all(calls);
      for (let i = 0; i < 40; i++) {
        assert.deepEqual(out[3 * i], sequential[i], `default model, photo ${i}`);
        assert.deepEqual(out[3 * i + 1].lastHiddenState, fixtureProbe.reference.lastHiddenState, `fixture forward ${i}`);
        assert.deepEqual(out[3 * i + 1].logits, fixtureProbe.reference.logits, `fixture forward ${i}`);
        assert.deepEqual(out[3 * i + 2], fixtureProbe.reference.top5, `fixture classify ${i}`);
      }
      await fixtureProbe.check('after interleaving with the default model');
      await cifarProbe.check('after interleaving with the fixture model');
    });

    test('dispose() while calls are queued: queued calls finish, later calls and a second dispose fail by name', async () => {
      const m = await load(DEFAULT_MODEL, { build });
      const queued = photos.slice(0, 20).map((p) => m.classify(p));
      const disposed = m.dispose();
      const late = [m.classify(photos[0]), m.embed(photos[1]), m.preprocess(photos[2]), m.forward(new Float32Array(3 * 32 * 32))];
      assert.deepEqual(await Promise.all(queued), sequential.slice(0, 20), 'calls made before dispose() get their answers');
      await disposed;
      assert.equal(m.disposed, true);
      for (const r of await Promise.allSettled(late)) {
        assert.equal(r.status, 'rejected');
        assert.equal(r.reason.code, 'E_DISPOSED', r.reason.message);
        assert.match(r.reason.message, /disposed/);
      }
      await m.dispose();   // a second dispose is harmless
      await assert.rejects(m.classify(photos[0]), (e) => e.code === 'E_DISPOSED');
      // The other models in the same module are untouched.
      assert.deepEqual(await cifar.classify(photos[5]), sequential[5]);
    });

    test('dispose() called from a callback while 100 calls are in flight: no hang, queued calls answer, a later one fails E_DISPOSED', async () => {
      const m = await load(DEFAULT_MODEL, { build });
      const inflight = photos.map((p) => m.classify(p));
      // Dispose from inside a callback, part-way through the queue.
      let disposed;
      inflight[10].then(() => { disposed = m.dispose(); });
      const after = [];
      inflight[11].then(() => { after.push(m.classify(photos[0])); });
      const settled = await Promise.allSettled(inflight);
      await disposed;
      let answered = 0;
      settled.forEach((r, i) => {
        if (r.status === 'fulfilled') { answered++; assert.deepEqual(r.value, sequential[i]); }
        else assert.equal(r.reason.code, 'E_DISPOSED', r.reason.message);
      });
      // All 100 were queued before dispose() was called: pending calls finish first (index.d.ts, dispose).
      assert.equal(answered, N);
      assert.equal((await Promise.allSettled(after))[0].reason?.code, 'E_DISPOSED');
    });
  });
}
