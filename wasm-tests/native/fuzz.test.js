// The engine under AddressSanitizer + UndefinedBehaviorSanitizer (clang, build/fuzz, CMake -DVITRINE_FUZZ=ON):
//   - the test drivers: vitrine-kernel-check passes every check, vitrine-image-check gives on every pixel case
//     (fixtures/pixels/cases.json: processor cases and named errors) exactly what the plain native build gives;
//   - every libFuzzer target (wasm-tests/fuzz/) survives each committed regression input and seed once, then a
//     short fuzzing run from those seeds (fresh corpus, so a run never depends on an earlier one).
// A missing clang, libFuzzer runtime or build is a failure. Longer runs: `npm run fuzz` (tools/fuzz/run.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as fuzz from '../../tools/fuzz/run.mjs';
import { ROOT, tmpDir } from '../helpers/env.js';

const SECONDS = Number(process.env.VITRINE_FUZZ_SECONDS ?? 20);
const SAN_ENV = fuzz.env('image');
const tail = (s) => s.split('\n').slice(-40).join('\n');

test('clang and the libFuzzer runtime are installed', () => {
  const r = spawnSync(fuzz.CXX, ['-print-file-name=libclang_rt.fuzzer-x86_64.a'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${fuzz.CXX} is missing: bash tools/build/setup.sh installs clang-14`);
  assert.ok(fs.existsSync(r.stdout.trim()), `${fuzz.CXX} has no libFuzzer runtime: install libclang-rt-14-dev`);
});

test('the ASan + UBSan build (engine, test drivers, fuzz targets) compiles', { timeout: 900_000 }, () => {
  fuzz.build();
  for (const t of Object.keys(fuzz.TARGETS)) assert.ok(fs.existsSync(fuzz.binary(t)), `${fuzz.binary(t)} was not built`);
});

test('kernel-check passes under ASan + UBSan', { timeout: 600_000 }, () => {
  const r = spawnSync(path.join(fuzz.BUILD, 'vitrine-kernel-check'), [], { env: SAN_ENV, encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = `${r.stdout}${r.stderr}`;
  const m = /kernel-check: (\d+) passed, (\d+) failed/.exec(out);
  assert.ok(m, `no summary (exit ${r.status}, signal ${r.signal}):\n${tail(out)}`);
  assert.equal(Number(m[2]), 0, tail(out));
  assert.ok(Number(m[1]) > 500, `only ${m[1]} checks ran`);
  assert.equal(r.status, 0, `exit ${r.status}:\n${tail(out)}`);
});

test('image-check under ASan + UBSan gives the plain build\'s results on every pixel case', { timeout: 600_000 }, () => {
  const spec = JSON.parse(fs.readFileSync(path.join(ROOT, 'wasm-tests/fixtures/pixels/cases.json'), 'utf8'));
  const plain = path.join(ROOT, 'build/native/vitrine-image-check');
  assert.ok(fs.existsSync(plain), `${plain} is missing: run \`npm run build\` first`);
  const dir = tmpDir('asan-pixels');
  const jobs = (tag) => [
    ...spec.cases.map((c, i) => ({ image: path.resolve(ROOT, c.image), config: c.config, exif: c.exif, out: path.join(dir, `${tag}-${i}.f32`) })),
    ...spec.errors.map((e) => ({ image: path.resolve(ROOT, e.image), ...(e.max_pixels ? { max_pixels: e.max_pixels } : {}) })),
  ];
  const runJobs = (cmd, tag) => {
    const file = path.join(dir, `${tag}.json`);
    fs.writeFileSync(file, JSON.stringify(jobs(tag)));
    const r = spawnSync(cmd, ['--jobs', file], { env: SAN_ENV, encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, `${cmd} exit ${r.status}, signal ${r.signal}:\n${tail(r.stderr)}`);
    return r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  };
  const want = runJobs(plain, 'plain');
  const got = runJobs(path.join(fuzz.BUILD, 'vitrine-image-check'), 'asan');
  assert.equal(got.length, jobs('x').length);
  assert.equal(want.length, got.length);
  const facts = (r) => ({ ok: r.ok, error: r.error, width: r.width, height: r.height, out_width: r.out_width, out_height: r.out_height });
  got.forEach((r, i) => {
    assert.deepEqual(facts(r), facts(want[i]), `job ${i} (${r.image})`);
    if (r.ok && i < spec.cases.length) {
      assert.ok(fs.readFileSync(path.join(dir, `asan-${i}.f32`)).equals(fs.readFileSync(path.join(dir, `plain-${i}.f32`))),
        `${spec.cases[i].name}: pixels differ between the sanitizer and plain builds`);
    }
  });
  assert.ok(got.some((r) => r.ok) && got.some((r) => !r.ok), 'both decodes and named errors were exercised');
});

for (const target of Object.keys(fuzz.TARGETS)) {
  test(`fuzz-${target}: committed regressions and seeds, then ${SECONDS} s of fuzzing`, { timeout: 600_000 }, async () => {
    const replay = fuzz.replay(target);
    assert.equal(replay.status, 0, `replaying ${replay.files} inputs failed:\n${tail(replay.log)}`);
    assert.ok(replay.files > 0, 'no seed or regression inputs');
    const r = await fuzz.fuzz(target, SECONDS, { corpus: tmpDir(`corpus-${target}`), keep: false });
    assert.equal(r.crashes.length, 0, `crash inputs in build/fuzz/crashes/${target}/ (run npm run fuzz to keep them):\n${tail(r.log)}`);
    assert.equal(r.status, 0, `exit ${r.status}:\n${tail(r.log)}`);
    assert.ok(r.runs > 0, `no inputs executed:\n${tail(r.log)}`);
  });
}
