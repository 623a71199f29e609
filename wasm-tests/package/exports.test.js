// The package's entry points ("exports" in package.json) as a consumer reaches them by name, without packing:
// every target exists and ships, `vitrine` and `vitrine/preload` resolve for import and require (the package
// refers to itself by name), the CommonJS preload is the ES one, and a TypeScript consumer (ESM and CJS) type-checks
// against the declared types, a wrong type failing. pack.test.js does the same through a packed, installed tarball.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { ROOT, tmpDir, requireBuild } from '../helpers/env.js';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const require = createRequire(path.join(ROOT, 'package.json'));

/** Every file an exports entry names, with its condition path (e.g. './preload' require.types). */
function targets(node, where) {
  if (typeof node === 'string') return [[where, node]];
  return Object.entries(node).flatMap(([k, v]) => targets(v, `${where} ${k}`));
}

test('every exports target exists and is in the package files', () => {
  assert.deepEqual(Object.keys(pkg.exports).sort(), ['.', './package.json', './preload']);
  const shipped = (f) => pkg.files.some((p) => (p.endsWith('/') ? f.startsWith(p) : f === p)) || f === 'package.json';
  for (const [where, file] of targets(pkg.exports, 'exports')) {
    const rel = path.posix.normalize(file);
    assert.ok(fs.existsSync(path.join(ROOT, rel)), `${where}: ${file} does not exist`);
    assert.ok(shipped(rel), `${where}: ${file} is not in "files"`);
  }
});

test('vitrine/preload resolves for import and require; both are the same preload', async () => {
  requireBuild('st');
  assert.equal(import.meta.resolve('vitrine/preload'), pathToFileURL(path.join(ROOT, 'src/js/preload.js')).href);
  assert.equal(require.resolve('vitrine/preload'), path.join(ROOT, 'src/js/preload.cjs'));
  assert.equal(require.resolve('vitrine'), path.join(ROOT, 'src/js/index.cjs'));
  const esm = await import('vitrine/preload');
  const cjs = require('vitrine/preload');
  assert.deepEqual(Object.keys(esm), ['preload']);
  assert.deepEqual(Object.keys(cjs), ['preload']);
  const info = await esm.preload({ threads: 1 });
  assert.deepEqual(await cjs.preload({ threads: 1 }), info);
  assert.equal(info.build, 'st');
  await assert.rejects(cjs.preload({ build: 'gpu' }), (e) => e.code === 'E_INPUT');
});

test('a TypeScript consumer of vitrine/preload type-checks (ESM and CJS), and a wrong type fails', () => {
  const proj = tmpDir('exports-ts');
  fs.mkdirSync(path.join(proj, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(proj, 'node_modules/vitrine'), 'dir');
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  fs.writeFileSync(path.join(proj, 'check.mts'), `import { preload, type PreloadInfo, type PreloadOptions } from 'vitrine/preload';
import { load, type Build } from 'vitrine';
const opts: PreloadOptions = { threads: 2, wasmBaseUrl: '/wasm/' };
const info: PreloadInfo = await preload(opts);
const b: Build = info.build;
const m = await load(undefined, { ...opts, build: b });
console.log(m.info.threads + info.threads, info.reason.length);\n`);
  fs.writeFileSync(path.join(proj, 'check.cts'), `import p = require('vitrine/preload');
export async function started(): Promise<string> {
  const info = await p.preload({ build: 'st' });
  return info.build;
}\n`);
  const tsconfig = { compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], strict: true, noEmit: true, types: [] }, files: ['check.mts', 'check.cts'] };
  fs.writeFileSync(path.join(proj, 'tsconfig.json'), JSON.stringify(tsconfig));
  const tsc = path.join(ROOT, 'node_modules/.bin/tsc');
  const ok = spawnSync(tsc, ['--noEmit', '-p', proj], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  // The check can fail: an option preload() does not take, and a wrong return type, are reported.
  fs.writeFileSync(path.join(proj, 'check.cts'), fs.readFileSync(path.join(proj, 'check.cts'), 'utf8').replace('Promise<string>', 'Promise<number>'));
  fs.writeFileSync(path.join(proj, 'check.mts'), fs.readFileSync(path.join(proj, 'check.mts'), 'utf8').replace("{ threads: 2, wasmBaseUrl: '/wasm/' }", "{ threads: 2, onProgress: () => {} }"));
  const bad = spawnSync(tsc, ['--noEmit', '-p', proj], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout, /check\.cts.*TS2322/);
  assert.match(bad.stdout, /check\.mts.*onProgress/);
});
