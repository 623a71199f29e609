// Shared test plumbing: paths, the builds under test, converted fixtures (once per process), comparisons.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { convert } from '../../src/js/convert/index.js';
import { readNpy } from '../../src/js/npy.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = path.resolve(ROOT, '../shared');
export const PHOTOS = path.join(SHARED, 'photos');
export const FIXTURES = path.join(ROOT, 'wasm-tests/fixtures/models');
export const CLI = path.join(ROOT, 'src/js/cli.js');
export const NATIVE = path.join(ROOT, 'build/native/vitrine-native');
export const BUILDS = ['mt', 'st'];

/** Fail (never skip) when a build output is missing: `npm test` runs after `npm run build`. */
export function requireBuild(build) {
  if (build === 'native') {
    assert.ok(fs.existsSync(NATIVE), `${NATIVE} is missing: run \`npm run build\` first`);
    return;
  }
  for (const f of [`dist/wasm/node/vitrine-${build}.js`, `dist/wasm/node/vitrine-${build}.wasm`]) {
    assert.ok(fs.existsSync(path.join(ROOT, f)), `${f} is missing: run \`npm run build\` first`);
  }
}

export function requireFixtures() {
  assert.ok(fs.existsSync(path.join(FIXTURES, 'vit/case.json')), `golden fixtures missing under ${FIXTURES}`);
}

let tmpRoot = null;
export function tmpDir(name = 'x') {
  if (!tmpRoot) {
    tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrine-test-'));
    process.on('exit', () => fs.rmSync(tmpRoot, { recursive: true, force: true }));
  }
  return fs.mkdtempSync(path.join(tmpRoot, name.replace(/[^\w.-]/g, '_') + '-'));
}

/** Case names: every fixture folder with a case.json. */
export function cases() {
  requireFixtures();
  return fs.readdirSync(FIXTURES).filter((d) => fs.existsSync(path.join(FIXTURES, d, 'case.json'))).sort();
}

export function caseInfo(name) {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'case.json'), 'utf8'));
}

export function caseSource(name) {
  const hf = path.join(FIXTURES, name, 'hf');
  return fs.existsSync(path.join(hf, 'model.npz')) ? path.join(hf, 'model.npz') : hf;
}

const converted = new Map();
/** The fixture converted into a vitrine model folder (once per process). */
export async function convertedCase(name, opts = {}) {
  const key = name + JSON.stringify(opts);
  if (!converted.has(key)) {
    const out = tmpDir(name);
    converted.set(key, convert(caseSource(name), out, opts).then(() => out));
  }
  return converted.get(key);
}

export function npy(file) {
  return readNpy(fs.readFileSync(file), path.basename(file));
}

/** The inputs of a case: '' plus any extra suffix like '-224x308'. */
export function caseInputs(name) {
  const info = caseInfo(name);
  const list = info.inputs ?? [{ suffix: '' }];
  return list.map((inp) => {
    const dir = path.join(FIXTURES, name);
    const px = npy(path.join(dir, `pixels${inp.suffix}.npy`));
    const [, , h, w] = px.shape.length === 4 ? px.shape : [1, ...px.shape];
    const lhsFile = path.join(dir, `last_hidden_state${inp.suffix}.npy`);
    const optional = (name) => (fs.existsSync(path.join(dir, `${name}${inp.suffix}.npy`)) ? npy(path.join(dir, `${name}${inp.suffix}.npy`)) : null);
    return {
      suffix: inp.suffix, height: h, width: w, pixels: px.data, pixelsFile: path.join(dir, `pixels${inp.suffix}.npy`),
      lastHiddenState: npy(lhsFile), logits: optional('logits'),
      // HF pooled outputs of the vision towers (CLIP, SigLIP)
      poolerOutput: optional('pooler_output'), imageEmbeds: optional('image_embeds'),
    };
  });
}

export function maxAbsDiff(a, b) {
  assert.equal(a.length, b.length, `length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Assert closeness and return the max abs diff (for t.diagnostic). */
export function assertClose(actual, expected, tol, what) {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${what}: max abs diff ${d} > tolerance ${tol}`);
  return d;
}

export function copyDir(src, dst) {
  fs.mkdirSync(dst, { recursive: true });
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dst, f));
  return dst;
}
