// `vitrine train-head`: embed a folder of labelled images with a model's backbone, train a head, write a new
// model. The data are synthetic colour-dominant photos (red / green / blue noise, written as BMP and PNG-free
// so no encoder is needed), which any backbone separates. What must hold:
// - the new model loads and classifies with the folder's labels, and gives each validation image exactly the
//   probabilities the trainer computed (so folding the standardisation into the first layer, the tensor layout
//   and the head's order in the engine are right), for a linear head and an MLP head;
// - its backbone is the base's, byte for byte (same embeddings);
// - the same seed gives the same model files; bad folders and unreadable images give named errors/warnings.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { load } from '../../src/js/index.js';
import { trainHead, rng } from '../../src/js/head/train.js';
import { CLI, ROOT, tmpDir, requireBuild } from '../helpers/env.js';

const BASE = path.join(ROOT, 'weights/cifar10-vit');

/** 24-bit BMP (bottom-up rows, 4-byte aligned) of an RGB Uint8Array. */
function bmp(width, height, rgb) {
  const row = Math.ceil((width * 3) / 4) * 4;
  const buf = Buffer.alloc(54 + row * height);
  buf.write('BM', 0); buf.writeUInt32LE(buf.length, 2); buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14); buf.writeInt32LE(width, 18); buf.writeInt32LE(height, 22);
  buf.writeUInt16LE(1, 26); buf.writeUInt16LE(24, 28); buf.writeUInt32LE(row * height, 34);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3, d = 54 + (height - 1 - y) * row + x * 3;
      buf[d] = rgb[s + 2]; buf[d + 1] = rgb[s + 1]; buf[d + 2] = rgb[s];
    }
  }
  return buf;
}

/** A labelled folder: <dir>/<colour>/<i>.bmp, noise around a dominant channel, sizes varying. */
function makeDataset(dir, perClass = 10, seed = 3) {
  const random = rng(seed);
  const colours = { red: 0, green: 1, blue: 2 };
  for (const [name, ch] of Object.entries(colours)) {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const w = 24 + Math.floor(random() * 40), h = 24 + Math.floor(random() * 40);
      const rgb = new Uint8Array(w * h * 3);
      for (let p = 0; p < w * h; p++) {
        for (let c = 0; c < 3; c++) rgb[p * 3 + c] = c === ch ? 150 + Math.floor(random() * 100) : Math.floor(random() * 110);
      }
      fs.writeFileSync(path.join(dir, name, `${i}.bmp`), bmp(w, h, rgb));
    }
  }
  return Object.keys(colours).sort();
}

const cli = (...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });

describe('vitrine train-head', () => {
  let data, labels;
  before(() => {
    requireBuild('st');
    data = tmpDir('heads-data');
    labels = makeDataset(data);
  });

  for (const hidden of [0, 16]) {
    test(`${hidden ? 'MLP' : 'linear'} head: the new model classifies with the folder's labels and reproduces the trainer's probabilities`, async () => {
      const out = path.join(tmpDir(`head-${hidden}`), 'model');
      const r = cli('train-head', 'default', data, '-o', out, '--hidden', String(hidden), '--epochs', '40', '--val', '0.3', '--seed', '1', '--lr', '0.01');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /3 labels \(blue 10, green 10, red 10\), 30 images/);
      const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
      assert.equal(manifest.architecture.classifier, 'head');
      assert.deepEqual(manifest.labels, labels);
      assert.deepEqual(manifest.architecture.head.layers.map((l) => l.type), hidden ? ['linear', 'relu', 'linear'] : ['linear']);
      assert.equal(manifest.architecture.head.pooling, 'cls');
      assert.ok(!manifest.tensors.some((t) => t.name.startsWith('classifier.')), "the base's classifier is left out");
      const report = JSON.parse(fs.readFileSync(path.join(out, 'head-training.json'), 'utf8'));
      assert.equal(report.validation, 9);
      assert.equal(report.valAccuracy, 1, 'colour-dominant images are separable');
      assert.equal(manifest.metadata.head_training.valAccuracy, 1);

      const model = await load(out);
      const baseModel = await load(BASE);
      try {
        for (const v of report.validationImages) {
          const top = await model.classify(v.file, { topK: labels.length });
          assert.equal(top[0].label, v.label, v.file);
          for (const p of top) assert.ok(Math.abs(p.score - v.probabilities[p.index]) < 1e-4, `${v.file} ${p.label}: engine ${p.score} vs trainer ${v.probabilities[p.index]}`);
        }
        const file = report.validationImages[0].file;
        assert.deepEqual(await model.embed(file), await baseModel.embed(file), 'same backbone, same embedding');
      } finally {
        await model.dispose();
        await baseModel.dispose();
      }
    });
  }

  test('the same seed writes the same model; another seed another head', () => {
    const a = path.join(tmpDir('head-seed'), 'a'), b = path.join(tmpDir('head-seed'), 'b'), c = path.join(tmpDir('head-seed'), 'c');
    for (const [dir, seed] of [[a, '7'], [b, '7'], [c, '8']]) assert.equal(cli('train-head', 'default', data, '-o', dir, '--epochs', '5', '--seed', seed, '-q').status, 0);
    const chunks = (d) => JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8')).chunks.map((x) => x.sha256);
    assert.deepEqual(chunks(a), chunks(b));
    assert.notDeepEqual(chunks(a), chunks(c));
  });

  test('bad folders are refused with a reason; unreadable images are named and left out', () => {
    const one = tmpDir('head-one');
    fs.mkdirSync(path.join(one, 'cats'));
    fs.copyFileSync(path.join(data, 'red/0.bmp'), path.join(one, 'cats/0.bmp'));
    let r = cli('train-head', 'default', one, '-o', path.join(one, 'out'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /needs one sub-folder of images per label, at least 2 \(found 1\)/);

    fs.mkdirSync(path.join(one, 'dogs'));
    fs.writeFileSync(path.join(one, 'dogs/notes.txt'), 'not an image');
    r = cli('train-head', 'default', one, '-o', path.join(one, 'out'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /dogs: no image files/);

    fs.writeFileSync(path.join(one, 'dogs/broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    fs.copyFileSync(path.join(data, 'blue/0.bmp'), path.join(one, 'dogs/0.bmp'));
    fs.copyFileSync(path.join(data, 'red/1.bmp'), path.join(one, 'cats/1.bmp'));
    r = cli('train-head', 'default', one, '-o', path.join(one, 'out'), '--epochs', '3', '--val', '0');
    assert.equal(r.status, 1, 'an unreadable image is a failure of the run, though the model is written');
    assert.match(r.stderr, /broken\.jpg: .*\[E_IMAGE\]/);
    assert.match(r.stderr, /3 images \(1 unreadable, left out\)/);
    assert.ok(fs.existsSync(path.join(one, 'out/manifest.json')));

    r = cli('train-head', 'default', data, '-o', BASE);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /must not be the base model's folder/);
    r = cli('train-head', 'default', data, '-o', path.join(one, 'x'), '--val', '2');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--val must be a number from 0 to 0.9/);
  });
});

describe('head trainer (src/js/head/train.js)', () => {
  test('folding the standardisation into the first layer changes no probability; a stratified split per class', () => {
    const random = rng(5), dim = 12, C = 3, n = 90;
    const X = new Float32Array(n * dim), y = [];
    for (let i = 0; i < n; i++) {
      y.push(i % C);
      for (let d = 0; d < dim; d++) X[i * dim + d] = 100 + 20 * d + (random() - 0.5) * (d + 1) * 4 + (d === i % C ? 10 : 0);
    }
    for (const hidden of [0, 8]) {
      const res = trainHead(X, y, { dim, numClasses: C, hidden, epochs: 30, lr: 1e-2, valFraction: 0.2, seed: 2 });
      assert.deepEqual(res.split.val.map((r) => y[r]).sort(), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
      // The exported tensors on raw features, computed here in plain float64.
      const linears = res.layers.flatMap((l, k) => (l.type === 'linear' ? [{ ...l, w: res.tensors.get(`head.${k}.weight`), b: res.tensors.get(`head.${k}.bias`) }] : []));
      res.split.val.forEach((row, r) => {
        let h = Array.from(X.subarray(row * dim, (row + 1) * dim));
        linears.forEach((l, j) => {
          h = Array.from({ length: l.out }, (_, o) => {
            let s = l.b[o];
            for (let i = 0; i < l.in; i++) s += l.w[o * l.in + i] * h[i];
            return j < linears.length - 1 ? Math.max(0, s) : s;
          });
        });
        const m = Math.max(...h), e = h.map((v) => Math.exp(v - m)), sum = e.reduce((a, b) => a + b);
        e.forEach((v, c) => assert.ok(Math.abs(v / sum - res.valProbabilities[r * C + c]) < 1e-5, `row ${row} class ${c}`));
      });
    }
  });
});
