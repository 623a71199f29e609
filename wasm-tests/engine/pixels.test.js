// Pixel parity with the Hugging Face image processors (issue 5). Goldens come from the real processors
// (tools/reference/make_pixel_fixtures.py → wasm-tests/fixtures/pixels/cases.json). Every case must give HF's float32
// pixel_values bit for bit: the SHA-256 of our CHW float32 bytes equals the SHA-256 of HF's. On a mismatch
// the stored uint8 golden says how many pixels differ and by how much after normalisation.
//
// Runs the image check program (wasm-tests/native/image_check_main.cpp) natively, and its WASM builds for Node
// (build/wasm-{st,mt}/vitrine-image-check.js) when they exist; then, for each JS API build that exists
// (dist/wasm/node/vitrine-{st,mt}.js), model.preprocess() of tiny models carrying each processor config.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIX = path.join(ROOT, 'wasm-tests/fixtures/pixels');
const SPEC = JSON.parse(fs.readFileSync(path.join(FIX, 'cases.json'), 'utf8'));
const NATIVE = process.env.VITRINE_IMAGE_CHECK ?? path.join(ROOT, 'build/native/vitrine-image-check');
const WASM = Object.fromEntries(['st', 'mt'].map((v) => [v,
  process.env[`VITRINE_IMAGE_CHECK_WASM_${v.toUpperCase()}`] ?? path.join(ROOT, `build/wasm-${v}/vitrine-image-check.js`)]));

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const abs = (rel) => path.resolve(ROOT, rel);

let tmpRoot;
function tmp(name) {
  if (!tmpRoot) {
    tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrine-pixels-'));
    process.on('exit', () => fs.rmSync(tmpRoot, { recursive: true, force: true }));
  }
  return fs.mkdtempSync(path.join(tmpRoot, name + '-'));
}

// ---- goldens ----

/** A gzipped .npy of uint8 gradient-predictor residuals (see save_golden in the fixture script) → HWC bytes. */
function readGolden(file) {
  const b = zlib.gunzipSync(fs.readFileSync(file));
  assert.deepEqual([...b.subarray(0, 6)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59], `${file}: not .npy`);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = b.subarray(start, start + hlen).toString('latin1');
  assert.match(header, /'descr': '\|u1'/, `${file}: expected uint8`);
  const [h, w, c] = /'shape': \((\d+), (\d+), (\d+)\)/.exec(header).slice(1).map(Number);
  const r = b.subarray(start + hlen);
  const v = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        const i = (y * w + x) * c + k;
        const left = x > 0 ? v[i - c] : 0, up = y > 0 ? v[i - w * c] : 0, ul = x > 0 && y > 0 ? v[i - w * c - c] : 0;
        v[i] = (r[i] + left + up - ul) & 255;
      }
    }
  }
  return { h, w, data: v };
}

/** transformers' rescale + normalize of a uint8 HWC image, in float32 exactly as numpy does it → CHW. */
function hfNormalize({ h, w, data }, cfg) {
  const f = Math.fround;
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) {
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) {
      let x = cfg.do_rescale ? f(v * cfg.rescale_factor) : v; // float64 multiply, then astype(float32)
      // float32 (x - mean) / std: one double op on float32 operands, rounded once, is the float32 result
      if (cfg.do_normalize) x = f(f(x - f(cfg.image_mean[c])) / f(cfg.image_std[c]));
      lut[v] = x;
    }
    for (let i = 0; i < h * w; i++) out[c * h * w + i] = lut[data[i * 3 + c]];
  }
  return out;
}

/** Compare our CHW float32 output with a case; returns a failure message or null. */
function check(c, ours, shape) {
  if (shape[0] !== c.shape[1] || shape[1] !== c.shape[2]) {
    return `${c.name}: output ${shape[0]}x${shape[1]}, HF ${c.shape[1]}x${c.shape[2]}`;
  }
  const bytes = Buffer.from(ours.buffer, ours.byteOffset, ours.byteLength);
  if (sha256(bytes) === c.sha256) return null;
  const golden = readGolden(path.join(FIX, c.golden));
  const expected = hfNormalize(golden, c.config);
  let differ = 0, maxAbs = 0;
  const hw = golden.h * golden.w;
  for (let i = 0; i < hw; i++) {
    let d = 0;
    for (let k = 0; k < 3; k++) d = Math.max(d, Math.abs(ours[k * hw + i] - expected[k * hw + i]));
    if (d > 0) differ++;
    maxAbs = Math.max(maxAbs, d);
  }
  return `${c.name}: differs from HF in ${differ} of ${hw} pixels (${((100 * differ) / hw).toFixed(3)}%), max |diff| ${maxAbs.toExponential(2)} after normalisation`;
}

// ---- running the check program ----

function runJobs(cmd, args, jobs) {
  const dir = tmp('jobs');
  const file = path.join(dir, 'jobs.json');
  fs.writeFileSync(file, JSON.stringify(jobs));
  const r = spawnSync(cmd, [...args, '--jobs', file], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  // Only the end of stderr: a crashing Emscripten program prints its whole minified source line first.
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (status ${r.status}): ${r.stderr.slice(-1500)}`);
  const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  assert.equal(lines.length, jobs.length, `expected ${jobs.length} result lines, got ${lines.length}: ${r.stderr.slice(-1500)}`);
  return lines.map((l) => JSON.parse(l));
}

// The same suite for every build of the check program: bit-exact pixels, bit-exact decodes, named errors.
function suite(label, cmd, args) {
  describe(`pixels (${label})`, () => {
    let dir, results, decodes, errors;
    before(() => {
      dir = tmp(label);
      results = runJobs(cmd, args, SPEC.cases.map((c, i) => ({
        image: abs(c.image), config: c.config, exif: c.exif, out: path.join(dir, `${i}.f32`),
      })));
      decodes = runJobs(cmd, args, SPEC.decoded.map((d, i) => ({
        image: abs(d.image), exif: d.exif, config: { do_resize: false }, decoded: path.join(dir, `${i}.rgb`),
      })));
      errors = runJobs(cmd, args, SPEC.errors.map((e) => ({
        image: abs(e.image), ...(e.max_pixels ? { max_pixels: e.max_pixels } : {}),
      })));
    });

    test(`${SPEC.cases.length} processor cases equal HF pixel_values bit for bit`, () => {
      const failures = [];
      SPEC.cases.forEach((c, i) => {
        const r = results[i];
        if (!r.ok) return failures.push(`${c.name}: ${r.error}`);
        const f = fs.readFileSync(path.join(dir, `${i}.f32`));
        const ours = new Float32Array(f.buffer, f.byteOffset, f.byteLength / 4);
        const m = check(c, ours, [r.out_height, r.out_width]);
        if (m) failures.push(m);
      });
      assert.deepEqual(failures, []);
    });

    test(`${SPEC.decoded.length} decodes equal PIL's convert("RGB") (with and without EXIF orientation)`, () => {
      const failures = [];
      SPEC.decoded.forEach((d, i) => {
        const r = decodes[i];
        const what = `${d.image} exif=${d.exif}`;
        if (!r.ok) return failures.push(`${what}: ${r.error}`);
        if (r.height !== d.shape[0] || r.width !== d.shape[1]) {
          return failures.push(`${what}: ${r.width}x${r.height}, PIL ${d.shape[1]}x${d.shape[0]}`);
        }
        if (sha256(fs.readFileSync(path.join(dir, `${i}.rgb`))) !== d.sha256) failures.push(`${what}: pixels differ`);
      });
      assert.deepEqual(failures, []);
    });

    test('bad inputs give named errors', () => {
      SPEC.errors.forEach((e, i) => {
        assert.equal(errors[i].ok, false, `${e.image} should fail`);
        assert.ok(errors[i].error.includes(e.error), `${e.image}: error "${errors[i].error}" should mention "${e.error}"`);
      });
    });
  });
}

// Emscripten's Node programs are CommonJS, but this package is "type": "module"; run a copy of the program
// (.js, .wasm, .worker.js) from a folder marked CommonJS. --no-experimental-fetch (above) stops Emscripten
// 3.1.6 from fetch()ing the .wasm by file path, which Node's fetch cannot do.
function commonjsCopy(js) {
  const dir = tmp('wasm');
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  const base = path.basename(js, '.js');
  for (const f of [`${base}.js`, `${base}.wasm`, `${base}.worker.js`]) {
    const src = path.join(path.dirname(js), f);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(dir, f));
  }
  return path.join(dir, `${base}.js`);
}

assert.ok(fs.existsSync(NATIVE), `${NATIVE} is missing: run \`npm run build\` (or tools/build/build.sh native) first`);
suite('native', NATIVE, []);

// The size budget is applied from the header alone: under a 64 MiB address-space limit a 20000×20000 header is
// refused by name (decoding it would need 1.2 GB), and with the budget lifted the allocation failure is a named
// error too, not a crash. (Native only: ulimit via /bin/sh.)
test('pixels (native): huge headers allocate nothing before the budget check', () => {
  const run = (image, extra = '') => {
    const r = spawnSync('/bin/sh', ['-c', `ulimit -v 65536; exec "$0" ${extra} "$1"`, NATIVE, abs(image)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr.slice(-1500));
    return JSON.parse(r.stdout.trim());
  };
  for (const f of ['huge_header.jpg', 'huge_header.png']) {
    const r = run(`wasm-tests/fixtures/pixels/inputs/${f}`);
    assert.equal(r.ok, false);
    assert.match(r.error, /image too large: 20000x20000 = 400000000 pixels, over the budget of 50000000/);
    const unbounded = run(`wasm-tests/fixtures/pixels/inputs/${f}`, '--max-pixels 1000000000000');
    assert.equal(unbounded.ok, false);
    assert.match(unbounded.error, /out of memory|too large/);
  }
  assert.equal(run('../shared/photos/dog_beagle.jpg').ok, true, 'a normal photo decodes within the same limit');
});
for (const [variant, js] of Object.entries(WASM)) {
  if (fs.existsSync(js)) suite(`wasm-${variant}`, process.execPath, ['--no-experimental-fetch', commonjsCopy(js)]);
  else test(`pixels (wasm-${variant})`, () => assert.fail(`${path.relative(ROOT, js)} is missing: run \`npm run build\` first`));
}

// ---- through the JS API: model.preprocess() with each processor config, in both WASM builds ----

for (const build of ['st', 'mt']) {
  const api = path.join(ROOT, `dist/wasm/node/vitrine-${build}.js`);
  describe(`pixels (JS API ${build}, model.preprocess)`, () => {
    before(() => assert.ok(fs.existsSync(api), `${path.relative(ROOT, api)} is missing: run \`npm run build\` first`));
    // The converter normalises a processor by its class, whatever the model: a tiny ViT carries the CLIP and
    // SigLIP processor configs.
    const families = { ViTImageProcessor: 'vit', DeiTImageProcessor: 'deit', BitImageProcessor: 'dinov2', CLIPImageProcessor: 'vit', SiglipImageProcessor: 'vit' };
    // One tiny converted model per processor config (the model's weights do not matter for preprocess).
    const byConfig = new Map();
    for (const c of SPEC.cases) {
      const key = JSON.stringify(c.config);
      if (!byConfig.has(key)) byConfig.set(key, []);
      byConfig.get(key).push(c);
    }
    for (const [key, list] of byConfig) {
      const cfg = JSON.parse(key);
      test(`${list[0].processor} config: ${list.length} cases`, async () => {
        const { makeHfModel } = await import('../helpers/synth.js');
        const { convert } = await import('../../src/js/convert/index.js');
        const { load } = await import('../../src/js/index.js');
        const hf = tmp(`hf-${list[0].processor}`);
        const pp = { image_processor_type: cfg.processor, ...cfg };
        delete pp.processor;
        makeHfModel(hf, families[cfg.processor], { preprocessor: pp });
        const out = tmp(`model-${list[0].processor}`);
        await convert(hf, out);
        const model = await load(out, { build, ...(build === 'mt' ? { threads: 2 } : {}) });
        try {
          const failures = [];
          for (const c of list) {
            let r;
            try {
              r = await model.preprocess(new Uint8Array(fs.readFileSync(abs(c.image))), { exif: c.exif });
            } catch (e) {
              failures.push(`${c.name}: ${e.message}`);
              continue;
            }
            const m = check(c, r.pixels, [r.height, r.width]);
            if (m) failures.push(m);
          }
          assert.deepEqual(failures, []);
        } finally {
          await model.dispose();
        }
      });
    }
  });
}
