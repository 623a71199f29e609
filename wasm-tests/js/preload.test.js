// `vitrine/preload` in Node: preload() starts the very module load() then uses (counted by the module's
// instantiations on this thread), a bad option is a named error, and load() without preload works as before.
// The browser side (fetches, a bad wasmBaseUrl) is wasm-tests/browser/preload.test.js.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { preload } from '../../src/js/preload.js';
import { load, VitrineError } from '../../src/js/index.js';
import { PHOTOS, requireBuild } from '../helpers/env.js';

const PHOTO = path.join(PHOTOS, 'dog_beagle.jpg');
const TOL = 1e-5;

// Every engine module instance on this thread is one WebAssembly.instantiate call (Node's glue is handed the
// .wasm bytes); the module's own threads instantiate in their own worker_threads and are not counted here.
const instantiated = [];
const original = WebAssembly.instantiate;
WebAssembly.instantiate = function (...args) {
  instantiated.push(args[0] instanceof WebAssembly.Module ? 'module' : 'bytes');
  return original.apply(this, args);
};

const sameTop = (got, want) => {
  assert.deepEqual(got.map((p) => p.label), want.map((p) => p.label));
  got.forEach((p, i) => assert.ok(Math.abs(p.score - want[i].score) <= TOL, `${p.label}: ${p.score} vs ${want[i].score}`));
};

let reference;
before(() => {
  requireBuild('mt');
  requireBuild('st');
});

test('load() without preload starts its own module and classifies', async () => {
  const before = instantiated.length;
  const m = await load(undefined, { build: 'st' });
  assert.equal(instantiated.length, before + 1);
  reference = await m.classify(PHOTO, { topK: 5 });
  assert.equal(reference.length, 5);
  await m.dispose();
});

test('preload() starts the module that load() with the same options then uses', async () => {
  const before = instantiated.length;
  const info = await preload({ threads: 2 });
  assert.deepEqual(info, { build: 'mt', threads: 2, reason: 'Node has WebAssembly threads' });
  assert.equal(instantiated.length, before + 1, 'preload instantiated one module');
  const m = await load(undefined, { threads: 2 });
  assert.equal(instantiated.length, before + 1, 'load() made no module of its own');
  assert.equal(m.info.build, 'mt');
  assert.equal(m.info.threads, 2);
  assert.equal(m.info.buildReason, info.reason);
  sameTop(await m.classify(PHOTO, { topK: 5 }), reference);
  // Another pool size is another module: the count sees a module load() starts itself.
  const m3 = await load(undefined, { threads: 3 });
  assert.equal(instantiated.length, before + 2);
  await Promise.all([m.dispose(), m3.dispose()]);
});

test('preload() and load() called together share one module start', async () => {
  const before = instantiated.length;
  const [info, m] = await Promise.all([preload({ threads: 4 }), load(undefined, { threads: 4 })]);
  assert.equal(instantiated.length, before + 1);
  assert.equal(info.threads, 4);
  assert.equal(m.info.threads, 4);
  sameTop(await m.classify(PHOTO, { topK: 5 }), reference);
  // Preloading a module that is already running starts nothing.
  assert.deepEqual(await preload({ threads: 4 }), info);
  assert.equal(instantiated.length, before + 1);
  await m.dispose();
});

test('bad options are named errors, and preload keeps working afterwards', async () => {
  for (const [opts, code, re] of [
    [{ build: 'gpu' }, 'E_INPUT', /build must be 'mt' or 'st'/],
    [{ threads: 0 }, 'E_INPUT', /threads must be an integer/],
    [{ threads: 2.5 }, 'E_INPUT', /threads must be an integer/],
  ]) {
    await assert.rejects(preload(opts), (e) => e instanceof VitrineError && e.code === code && re.test(e.message), JSON.stringify(opts));
  }
  assert.equal((await preload({ threads: 1 })).build, 'st');
});
