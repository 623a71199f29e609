// A short soak in CI (tools/bench/soak.mjs in a child process, 300 images per build: photos of several sizes, a
// truncated JPEG, CIFAR-10 test images): memory stays flat. Bounds on memory only, never on time:
// - the engine's WebAssembly memory does not grow at all after the warm-up pass (every buffer reached its size);
// - RSS grows by less than RSS_SLACK from the first sample to the last, and the JS heap by less than HEAP_SLACK
//   (after a forced GC), where a leak of one photo's pixels per image (≥ 12 KB × 300) or of its bytes would show;
// - no handle is open at the end or after dispose() that was not open after the warm-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, BUILDS, requireBuild } from '../helpers/env.js';

const IMAGES = 300;
const MB = 1024 * 1024;
const RSS_SLACK = 32 * MB;
const HEAP_SLACK = 4 * MB;

for (const build of BUILDS) {
  test(`soak: ${IMAGES} images through one model stay in bounded memory (${build})`, (t) => {
    requireBuild(build);
    const r = spawnSync(process.execPath, ['--expose-gc', path.join(ROOT, 'tools/bench/soak.mjs'), '--images', String(IMAGES), '--build', build, '--json'],
      { encoding: 'utf8', timeout: 900_000 });
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout.trim().split('\n').at(-1));
    assert.equal(s.images, IMAGES);
    assert.equal(s.samples.length, 11, 'start + every 10 %');
    assert.ok(s.errors > 0, 'the truncated JPEG was among the images (error path soaked too)');
    const first = s.samples[0], last = s.samples.at(-1);
    t.diagnostic(`RSS ${(first.rss / MB).toFixed(1)} → ${(last.rss / MB).toFixed(1)} MB, heap ${(first.heapUsed / MB).toFixed(1)} → ` +
      `${(last.heapUsed / MB).toFixed(1)} MB, WASM ${(first.wasm / MB).toFixed(0)} → ${(last.wasm / MB).toFixed(0)} MB`);
    for (const x of s.samples) assert.equal(x.wasm, first.wasm, `WebAssembly memory grew after the warm-up (at ${x.images} images)`);
    assert.ok(last.rss - first.rss < RSS_SLACK, `RSS grew by ${((last.rss - first.rss) / MB).toFixed(1)} MB`);
    assert.ok(last.heapUsed - first.heapUsed < HEAP_SLACK, `JS heap grew by ${((last.heapUsed - first.heapUsed) / MB).toFixed(1)} MB`);
    // The module's thread workers live as long as the process (shared by every model of that build); the soak
    // itself must open nothing that stays: no handle at the end or after dispose() that was not there after warm-up.
    const count = (a) => a.reduce((m, h) => m.set(h, (m.get(h) ?? 0) + 1), new Map());
    const start = count(s.handles.start);
    for (const when of ['end', 'afterDispose']) {
      for (const [h, n] of count(s.handles[when])) assert.ok(n <= (start.get(h) ?? 0), `${n} × ${h} open ${when}, ${start.get(h) ?? 0} after warm-up`);
    }
  });
}
