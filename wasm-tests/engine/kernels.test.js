// The compute kernels against a double-precision reference: wasm-tests/native/kernel_check_main.cpp, built by
// `npm run build` as a native program (plain C++ twins) and as Node programs in both WASM variants (WASM SIMD
// twins next to the plain ones; the mt build also runs the ops layer on 1-3 pool threads). Every shape family
// includes odd sizes (1, 3, 7, 17, 197, 1025) and output buffers start as NaN, so a kernel that skips or
// miscomputes an element fails here before it shows up as a model parity drift. The int8 GEMM is checked for
// exact integer accumulation, twin identity and its quantization error bound (docs/KERNELS.md); the integer
// attention for bit-identical twins, its error bound against exact attention and its i32 limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, tmpDir } from '../helpers/env.js';

const PROGRAMS = [
  { name: 'native (plain C++ twins)', file: 'build/native/vitrine-kernel-check', wasm: false },
  { name: 'wasm-mt (SIMD twins, thread pool)', file: 'build/wasm-mt/vitrine-kernel-check.js', wasm: true },
  { name: 'wasm-st (SIMD twins, inline pool)', file: 'build/wasm-st/vitrine-kernel-check.js', wasm: true },
];

for (const p of PROGRAMS) {
  test(`kernel check: ${p.name}`, { timeout: 300_000 }, () => {
    const file = path.join(ROOT, p.file);
    assert.ok(fs.existsSync(file), `${p.file} is missing: run \`npm run build\` first`);
    let cmd = file, args = [];
    if (p.wasm) {
      // The program is CommonJS (and so is its pthread worker script), but under this package's "type": "module"
      // Node would load it as ESM: run a copy from a folder marked commonjs. Emscripten 3.1.6 programs also
      // try fetch() on their .wasm path under Node >= 18; without fetch they read the file.
      const dir = tmpDir('kernel-check');
      fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "commonjs" }\n');
      const base = path.basename(file, '.js');
      for (const ext of ['.js', '.wasm', '.worker.js']) {
        const src = path.join(path.dirname(file), base + ext);
        if (fs.existsSync(src)) fs.copyFileSync(src, path.join(dir, base + ext));
      }
      cmd = process.execPath;
      args = ['--no-experimental-fetch', path.join(dir, base + '.js')];
    }
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    const summary = out.trim().split('\n').reverse().find((l) => l.startsWith('kernel-check:'));
    assert.ok(summary, `no summary line from ${p.file} (exit ${r.status}, signal ${r.signal}):\n${out.slice(-4000)}`);
    const m = /kernel-check: (\d+) passed, (\d+) failed/.exec(summary);
    assert.ok(m, summary);
    const failures = out.split('\n').filter((l) => l.startsWith('FAIL')).slice(0, 20).join('\n');
    assert.equal(Number(m[2]), 0, `${m[2]} kernel checks failed:\n${failures}`);
    assert.ok(Number(m[1]) > 500, `only ${m[1]} checks ran`);
    // The int8 GEMM section ran for every twin the program has (plain; plus SIMD in WASM).
    const i8 = [...out.matchAll(/kernel-check section: (\w+) gemm_i8 (\d+) checks/g)];
    assert.deepEqual(i8.map((x) => x[1]), p.wasm ? ['scalar', 'wasmsimd'] : ['scalar'], out.slice(-2000));
    for (const x of i8) assert.ok(Number(x[2]) > 300, `only ${x[2]} int8 GEMM checks ran for ${x[1]}`);
    // So did the integer attention section (bit-identical twins, error bound, i32 limits).
    const ia = [...out.matchAll(/kernel-check section: (\w+) attention_i8 (\d+) checks/g)];
    assert.deepEqual(ia.map((x) => x[1]), p.wasm ? ['scalar', 'wasmsimd'] : ['scalar'], out.slice(-2000));
    for (const x of ia) assert.ok(Number(x[2]) >= 20, `only ${x[2]} integer attention checks ran for ${x[1]}`);
    assert.equal(r.status, 0, `exit ${r.status}`);
  });
}
