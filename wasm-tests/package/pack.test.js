// The npm package as a user gets it: `npm pack` (prepack builds the WebAssembly), the tarball's file list and
// size, an offline install into a fresh project with no registry, then: import from ESM, require from CommonJS,
// the CLI through npx, each classifying a photo exactly as the repository's API does, and a TypeScript consumer
// (ESM and CJS) type-checked against the shipped .d.ts / .d.cts with tsc --noEmit.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, PHOTOS, tmpDir, requireBuild } from '../helpers/env.js';
import { load } from '../../src/js/index.js';

const PHOTO = path.join(PHOTOS, 'dog_beagle.jpg');
// Whatever else is added, the package ships only these: the JS API and CLI, both builds for Node and browsers,
// the default model, and the user-facing docs. Tests, fixtures, tools, C++ sources and the web page stay out.
const ALLOWED = /^(package\.json|README\.md|docs\/(API|BULK|FORMAT)\.md|src\/js\/[\w/.-]+\.(js|cjs|d\.ts|d\.cts)|dist\/wasm\/(node|web)\/(vitrine-(mt|st)\.(js|mjs|wasm)|vitrine-mt\.worker\.js|package\.json)|weights\/cifar10-vit\/(manifest\.json|chunk-\d{5}\.bin))$/;
const REQUIRED = ['src/js/index.js', 'src/js/index.cjs', 'src/js/index.d.ts', 'src/js/index.d.cts', 'src/js/cli.js',
  'src/js/preload.js', 'src/js/preload.cjs', 'src/js/preload.d.ts', 'src/js/preload.d.cts',
  'src/js/bulk-worker.js', 'weights/cifar10-vit/manifest.json', 'dist/wasm/node/package.json',
  ...['mt', 'st'].flatMap((b) => [`dist/wasm/node/vitrine-${b}.js`, `dist/wasm/node/vitrine-${b}.wasm`, `dist/wasm/web/vitrine-${b}.mjs`, `dist/wasm/web/vitrine-${b}.wasm`]),
  'dist/wasm/node/vitrine-mt.worker.js', 'dist/wasm/web/vitrine-mt.worker.js'];
// The default model is 10.8 MB of float32 weights (they barely compress); everything else is < 2 MB.
const MAX_UNPACKED = 14e6;
const MAX_TARBALL = 13e6;
// 63 files (2026-12-04): 43 JS API, CLI and converter files with their types, 11 built WASM files, 4 model
// files, package.json, README and 3 docs.
const MAX_FILES = 70;

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000, ...opts });
  assert.ifError(r.error);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let pack, proj, expected;
before(async () => {
  requireBuild('mt');
  requireBuild('st');
  const dest = tmpDir('pack');
  // Lifecycle output (prepack's build) may share stdout with the JSON: take the JSON array that ends it.
  const out = sh('npm', ['pack', '--json', '--pack-destination', dest], { cwd: ROOT });
  [pack] = JSON.parse(out.slice(out.lastIndexOf('\n[\n') + 1));
  proj = tmpDir('consumer');
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }));
  // No registry at all: an unreachable one, an empty cache, --offline.
  sh('npm', ['install', path.join(dest, pack.filename), '--offline', '--no-audit', '--no-fund', '--registry', 'http://127.0.0.1:9/',
    '--cache', path.join(tmpDir('npm-cache'), 'c')], { cwd: proj });
  const m = await load(undefined, { build: 'st' });
  expected = await m.classify(PHOTO, { topK: 3 });
  await m.dispose();
});

const same = (got) => {
  assert.deepEqual(got.map((p) => [p.index, p.label]), expected.map((p) => [p.index, p.label]));
  got.forEach((p, i) => assert.ok(Math.abs(p.score - expected[i].score) < 1e-6));
};

test('the tarball: built WASM (node + web, mt + st), API + types, CLI, default model; nothing else; size', () => {
  const files = pack.files.map((f) => f.path);
  for (const f of REQUIRED) assert.ok(files.includes(f), `${f} is not in the tarball`);
  const stray = files.filter((f) => !ALLOWED.test(f));
  assert.deepEqual(stray, [], 'files that should not ship');
  assert.ok(files.length <= MAX_FILES, `${files.length} files`);
  assert.ok(pack.unpackedSize <= MAX_UNPACKED, `unpacked ${pack.unpackedSize} bytes`);
  assert.ok(pack.size <= MAX_TARBALL, `tarball ${pack.size} bytes`);
  const man = JSON.parse(fs.readFileSync(path.join(ROOT, 'weights/cifar10-vit/manifest.json'), 'utf8'));
  for (const c of man.chunks) assert.ok(files.includes(`weights/cifar10-vit/${c.file}`), `${c.file} missing`);
});

test('installed offline: ESM import and CJS require classify like the repository', () => {
  fs.writeFileSync(path.join(proj, 'esm.mjs'), `import { load, VitrineError } from 'vitrine';
import { preload } from 'vitrine/preload';
const started = await preload();
const m = await load();
console.log(JSON.stringify({ top: await m.classify(${JSON.stringify(PHOTO)}, { topK: 3 }), error: typeof VitrineError, started: started.build === m.info.build }));
await m.dispose();\n`);
  const esm = JSON.parse(sh(process.execPath, ['esm.mjs'], { cwd: proj }));
  assert.equal(esm.error, 'function');
  assert.equal(esm.started, true);
  same(esm.top);
  fs.writeFileSync(path.join(proj, 'cjs.cjs'), `const vitrine = require('vitrine');
(async () => {
  if ((await require('vitrine/preload').preload({ build: 'st' })).build !== 'st') throw new Error('preload');
  const m = await vitrine.load(undefined, { build: 'st' });
  const top = await m.classify(${JSON.stringify(PHOTO)}, { topK: 3 });
  await m.dispose();
  const { VitrineError } = await vitrine.esm();
  console.log(JSON.stringify({ top, error: typeof VitrineError }));
})();\n`);
  const cjs = JSON.parse(sh(process.execPath, ['cjs.cjs'], { cwd: proj }));
  assert.equal(cjs.error, 'function');
  same(cjs.top);
});

test('installed offline: npx vitrine runs the CLI', () => {
  assert.match(sh('npx', ['--offline', 'vitrine', '--version'], { cwd: proj }), /^vitrine \d+\.\d+\.\d+/);
  const out = sh('npx', ['--offline', 'vitrine', 'classify', 'default', PHOTO, '--top', '3', '--format', 'jsonl', '-q'], { cwd: proj });
  same(JSON.parse(out).predictions);
});

test('a TypeScript consumer type-checks against the shipped declarations (ESM and CJS), and a wrong type fails', () => {
  fs.writeFileSync(path.join(proj, 'check.mts'), `import { load, VitrineError, type Model, type Prediction, type Profile } from 'vitrine';
import { preload, type PreloadInfo } from 'vitrine/preload';
const started: PreloadInfo = await preload({ threads: 2, wasmBaseUrl: '/wasm/' });
const m: Model = await load(undefined, { threads: 2, wasmBaseUrl: '/wasm/' });
m.profile(true);
const prof: Profile = m.profile();
const qkvMs: number = prof.stages.find((s) => s.name === 'qkv')?.ms ?? prof.forwards;
const top: Prediction[] = await m.classify(new Uint8Array(8), { topK: 3 });
const both: { top: Prediction[]; own: Prediction[] } = await m.classify('x.jpg', { topK: 3, own: true });
const v: Float32Array = await m.embed('x.jpg', { pooling: 'cls+mean' });
try { await m.forward(v); } catch (e) { if (e instanceof VitrineError && e.code === 'E_INPUT') console.log(top[0].label, both.own[0].label, started.build); }\n`);
  fs.writeFileSync(path.join(proj, 'check.cts'), `import vitrine = require('vitrine');
export async function best(file: string): Promise<string> {
  const m = await vitrine.load('default');
  const [p] = await m.classify(file);
  const mine: vitrine.ClassifyWithOwn = await m.classify(file, { own: true });
  const { VitrineError } = await vitrine.esm();
  return p.label + mine.own[0].label + String(VitrineError.name);
}\n`);
  const tsconfig = { compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], strict: true, noEmit: true, types: [] }, files: ['check.mts', 'check.cts'] };
  fs.writeFileSync(path.join(proj, 'tsconfig.json'), JSON.stringify(tsconfig));
  const tsc = path.join(ROOT, 'node_modules/.bin/tsc');
  sh(tsc, ['--noEmit', '-p', proj]);
  // The check can fail: a wrong return type is reported.
  fs.writeFileSync(path.join(proj, 'check.cts'), fs.readFileSync(path.join(proj, 'check.cts'), 'utf8').replace('Promise<string>', 'Promise<number>'));
  const r = spawnSync(tsc, ['--noEmit', '-p', proj], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /check\.cts.*TS2322/);
});
