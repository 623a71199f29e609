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
import { load, encodeHead, decodeHead } from '../../src/js/index.js';
import { trainHead, rng } from '../../src/js/head/train.js';
import { listImages } from '../../src/js/bulk.js';
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

/** `vitrine classify --format json` output → Map file → { label: score }. */
function classifyScores(stdout) {
  return new Map(JSON.parse(stdout).map((r) => [r.file, Object.fromEntries(r.predictions.map((p) => [p.label, p.score]))]));
}

describe('vitrine train-head: head file, curve, predictions, cache; classify/embed --head', () => {
  let data, out, cacheDir, first;
  before(() => {
    requireBuild('st');
    data = tmpDir('teach-data');
    makeDataset(data, 8, 11);
    out = path.join(tmpDir('teach-out'), 'model');
    cacheDir = tmpDir('teach-cache');
    first = cli('train-head', 'default', data, '-o', out, '--epochs', '30', '--val', '0.25', '--seed', '3', '--lr', '0.01', '--cache', cacheDir, '-v');
  });

  test('writes head.head.safetensors (labels, backbone of the base), curve.svg and predictions.csv', async () => {
    assert.equal(first.status, 0, first.stderr);
    const head = decodeHead(new Uint8Array(fs.readFileSync(path.join(out, 'head.head.safetensors'))));
    assert.deepEqual(head.labels, ['blue', 'green', 'red']);
    assert.equal(head.output, 'softmax');
    assert.equal(head.pooling, 'cls');
    const base = await load(BASE, { build: 'st' });
    const trained = await load(out, { build: 'st' });
    try {
      assert.deepEqual(head.backbone, base.headBackbone('cls'));
      assert.equal(trained.info.backbone.fingerprint, base.info.backbone.fingerprint, 'the classifier is not part of the fingerprint');
    } finally {
      await base.dispose();
      await trained.dispose();
    }
    assert.equal(head.training.seed, 3);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'head-training.json'), 'utf8'));
    assert.equal(report.history.length, 30);
    for (const k of ['trainLoss', 'trainAcc', 'valLoss', 'valAcc']) assert.ok(report.history.every((r) => Number.isFinite(r[k])), k);
    const svg = fs.readFileSync(path.join(out, 'curve.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<path /g) ?? []).length, 4, 'train and validation lines for loss and accuracy');
    const csv = fs.readFileSync(path.join(out, 'predictions.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'file,true,predicted,probability');
    assert.equal(csv.length - 1, report.validation);
    const byFile = new Map(report.validationImages.map((v) => [v.file, v]));
    for (const line of csv.slice(1)) {
      const [file, truth, predicted, probability] = line.split(',');
      assert.equal(truth, path.basename(path.dirname(file)));
      const v = byFile.get(file);
      assert.equal(truth, v.label);
      assert.ok(Math.abs(Number(probability) - Math.max(...v.probabilities)) < 1e-6);
      assert.equal(predicted, head.labels[v.probabilities.indexOf(Math.max(...v.probabilities))]);
    }
  });

  test('a second run with other hyper-parameters takes every embedding from the cache and trains the same head as a cold run', () => {
    assert.match(first.stderr, /embeddings: 24 computed by the engine, 0 from the cache/);
    const warm = path.join(tmpDir('teach-warm'), 'model'), cold = path.join(tmpDir('teach-cold'), 'model');
    const args = ['--epochs', '12', '--hidden', '6', '--val', '0.25', '--seed', '5', '-v'];
    const w = cli('train-head', 'default', data, '-o', warm, '--cache', cacheDir, ...args);
    assert.equal(w.status, 0, w.stderr);
    assert.match(w.stderr, /embeddings: 0 computed by the engine, 24 from the cache/);
    const c = cli('train-head', 'default', data, '-o', cold, ...args);
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stderr, /embeddings: 24 computed by the engine, 0 from the cache \(.*embeddings-cache\)/);
    assert.deepEqual(fs.readFileSync(path.join(warm, 'head.head.safetensors')), fs.readFileSync(path.join(cold, 'head.head.safetensors')));
    // Other keys miss: another pooling, or EXIF off, embeds again.
    const p = cli('train-head', 'default', data, '-o', warm, '--cache', cacheDir, '--pooling', 'mean', '--epochs', '2', '-v');
    assert.match(p.stderr, /embeddings: 24 computed by the engine, 0 from the cache/);
    const x = cli('train-head', 'default', data, '-o', warm, '--cache', cacheDir, '--no-exif', '--epochs', '2', '-v');
    assert.match(x.stderr, /embeddings: 24 computed by the engine, 0 from the cache/);
  });

  test('the CLI head and a head trained through the JS API on the same embeddings and seed give the same probabilities', async () => {
    const model = await load(BASE, { build: 'st' });
    try {
      const classes = ['blue', 'green', 'red'];
      const files = classes.flatMap((c) => listImages([path.join(data, c)]).map((e) => e.path));
      const labels = files.map((f) => classes.indexOf(path.basename(path.dirname(f))));
      const rows = [];
      for (const f of files) rows.push(await model.embed(f));
      const dim = rows[0].length, features = new Float32Array(rows.length * dim);
      rows.forEach((r, i) => features.set(r, i * dim));
      const res = trainHead(features, labels, { dim, numClasses: 3, epochs: 30, valFraction: 0.25, seed: 3, lr: 0.01 });
      const cliHead = decodeHead(new Uint8Array(fs.readFileSync(path.join(out, 'head.head.safetensors'))));
      await model.setHead({ pooling: 'cls', layers: res.layers, output: res.output, tensors: res.tensors, labels: classes, backbone: model.headBackbone('cls') });
      const r = cli('classify', 'default', data, '--head', path.join(out, 'head.head.safetensors'), '--top', '3', '--format', 'json', '-q');
      assert.equal(r.status, 0, r.stderr);
      const scores = classifyScores(r.stdout);
      assert.equal(scores.size, files.length);
      for (const f of files) {
        for (const p of await model.classify(f, { topK: 3 })) {
          assert.ok(Math.abs(p.score - scores.get(f)[p.label]) <= 1e-5, `${f} ${p.label}: JS head ${p.score}, CLI head ${scores.get(f)[p.label]}`);
        }
      }
      for (const [name, t] of cliHead.tensors) assert.deepEqual(res.tensors.get(name), t, `${name}: same trainer, same embeddings, same seed`);
    } finally {
      await model.dispose();
    }
  });

  test('--loss bce: one sigmoid output; the head file has both labels, classify --head ranks both', () => {
    const two = tmpDir('teach-two');
    for (const c of ['green', 'red']) fs.cpSync(path.join(data, c), path.join(two, c), { recursive: true });
    const dir = path.join(tmpDir('teach-bce'), 'model');
    const r = cli('train-head', 'default', two, '-o', dir, '--loss', 'bce', '--epochs', '20', '--lr', '0.01', '--val', '0.25', '--cache', cacheDir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /linear head \(192 → 1\) on cls, sigmoid output/);
    const head = decodeHead(new Uint8Array(fs.readFileSync(path.join(dir, 'head.head.safetensors'))));
    assert.equal(head.output, 'sigmoid');
    assert.deepEqual(head.labels, ['green', 'red']);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest.labels, ['red']);
    assert.equal(manifest.architecture.head.output, 'sigmoid');
    const c = cli('classify', 'default', two, '--head', path.join(dir, 'head.head.safetensors'), '--top', '2', '--format', 'json', '-q');
    assert.equal(c.status, 0, c.stderr);
    for (const [file, s] of classifyScores(c.stdout)) {
      assert.ok(Math.abs(s.green + s.red - 1) < 1e-6);
      assert.ok(s[path.basename(path.dirname(file))] > 0.5, file);
    }
    const three = cli('train-head', 'default', data, '-o', path.join(dir, 'x'), '--loss', 'bce');
    assert.equal(three.status, 2);
    assert.match(three.stderr, /--loss bce needs exactly two labels/);
  });

  test('classify/embed --head: a head of another backbone is E_HEAD; embed takes the pooling the head reads', () => {
    const good = decodeHead(new Uint8Array(fs.readFileSync(path.join(out, 'head.head.safetensors'))));
    const dir = tmpDir('teach-other');
    const other = path.join(dir, 'other.head.safetensors');
    fs.writeFileSync(other, encodeHead({ ...good, backbone: { ...good.backbone, fingerprint: 'cd'.repeat(32) } }));
    for (const args of [['classify', 'default', data], ['embed', 'default', data, '-o', path.join(dir, 'e.npy')]]) {
      const r = cli(...args, '--head', other, '-q', '--jobs', '1');
      assert.notEqual(r.status, 0, args[0]);
      assert.match(r.stderr, /backbone.fingerprint is cdcd.*\[E_HEAD\]/, args[0]);
    }
    const any = cli('classify', 'default', path.join(data, 'red'), '--head', other, '--any-backbone', '--format', 'json', '-q');
    assert.equal(any.status, 0, any.stderr);
    assert.equal(classifyScores(any.stdout).size, 8);
    fs.writeFileSync(path.join(dir, 'junk.head.safetensors'), 'not a head');
    const j = cli('classify', 'default', data, '--head', path.join(dir, 'junk.head.safetensors'));
    assert.equal(j.status, 1);
    assert.match(j.stderr, /head file: .*\[E_HEAD\]/);
    const wide = path.join(dir, 'wide.head.safetensors');
    const w = new Float32Array(3 * 384);
    fs.writeFileSync(wide, encodeHead({ ...good, pooling: 'cls+mean', layers: [{ type: 'linear', in: 384, out: 3 }],
      tensors: new Map([['head.0.weight', w], ['head.0.bias', new Float32Array(3)]]), backbone: { ...good.backbone, input_dim: 384 } }));
    const e = cli('embed', 'default', path.join(data, 'red'), '-o', path.join(dir, 'wide.npy'), '--head', wide, '-q');
    assert.equal(e.status, 0, e.stderr);
    assert.match(fs.readFileSync(path.join(dir, 'wide.npy')).subarray(0, 128).toString('latin1'), /'shape': \(8, 384\)/);
  });
});

describe('examples/cats-vs-dogs', () => {
  test('runs end to end on 40 photos per class: a head file, curve and predictions, and the accuracy on new photos', () => {
    requireBuild('st');
    const work = tmpDir('cats-vs-dogs');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'examples/cats-vs-dogs/cats-vs-dogs.mjs'), '--train', '40', '--new', '20', '--epochs', '30', '--work', work],
      { encoding: 'utf8', timeout: 600_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.newPhotos, 40);
    for (const c of ['cat', 'dog']) {
      assert.equal(fs.readdirSync(path.join(work, 'photos', c)).length, 40);
      assert.equal(fs.readdirSync(path.join(work, 'new', c)).length, 20);
    }
    assert.match(r.stderr, /embeddings: 80 computed by the engine, 0 from the cache/);
    assert.deepEqual(decodeHead(new Uint8Array(fs.readFileSync(out.files.head))).labels, ['cat', 'dog']);
    assert.ok(fs.readFileSync(out.files.curve, 'utf8').startsWith('<svg'));
    assert.equal(fs.readFileSync(out.files.predictions, 'utf8').trim().split('\n').length, 1 + 16);
    // Deterministic (fixed photos, seed 0): 32 of 40 unseen test photos right when this was written.
    assert.ok(out.newAccuracy >= 0.7, `accuracy on new photos ${out.newAccuracy}`);
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

  test('onEpoch records, history, validation predictions and the confusion matrix agree; bce gives sigmoid probabilities', () => {
    const random = rng(9), dim = 6, n = 40;
    const X = new Float32Array(n * dim), y = [];
    for (let i = 0; i < n; i++) {
      y.push(i % 2);
      for (let d = 0; d < dim; d++) X[i * dim + d] = random() + (d === 0 ? 2 * (i % 2) : 0);
    }
    for (const loss of ['softmax', 'bce']) {
      const seen = [];
      const res = trainHead(X, y, { dim, numClasses: 2, epochs: 15, lr: 0.05, valFraction: 0.25, seed: 1, loss, onEpoch: (r) => seen.push(r) });
      assert.deepEqual(seen, res.history);
      assert.deepEqual(seen.map((r) => r.epoch), Array.from({ length: 15 }, (_, i) => i + 1));
      for (const r of seen) for (const k of ['trainLoss', 'trainAcc', 'valLoss', 'valAcc']) assert.ok(Number.isFinite(r[k]), `${loss} ${k}`);
      assert.equal(res.output, loss === 'bce' ? 'sigmoid' : 'softmax');
      assert.equal(res.layers.at(-1).out, loss === 'bce' ? 1 : 2);
      assert.equal(res.valPredictions.length, 10);
      const confusion = [[0, 0], [0, 0]];
      res.valPredictions.forEach((p, r) => {
        confusion[p.label][p.predicted]++;
        assert.equal(p.label, y[p.row]);
        assert.equal(p.probability, res.valProbabilities[r * 2 + p.predicted]);
        // The exported tensors on the raw row: softmax of two logits, or sigmoid of one.
        const w = res.tensors.get('head.0.weight'), b = res.tensors.get('head.0.bias');
        const z = Array.from(b, (bo, o) => bo + Array.from({ length: dim }, (_, d) => w[o * dim + d] * X[p.row * dim + d]).reduce((a, c) => a + c));
        const p1 = loss === 'bce' ? 1 / (1 + Math.exp(-z[0])) : 1 / (1 + Math.exp(z[0] - z[1]));
        assert.ok(Math.abs(p1 - res.valProbabilities[r * 2 + 1]) < 1e-5);
      });
      assert.deepEqual(res.confusion, confusion);
      assert.equal(res.history.at(-1).valAcc, res.valAccuracy);
    }
    const refuse = (labels, opts, message) => assert.throws(() => trainHead(new Float32Array(labels.length * 2), labels, { dim: 2, ...opts }),
      (e) => e.code === 'E_INPUT' && message.test(e.message));
    refuse([0, 0, 2, 2], { numClasses: 3 }, /class 1 has no photos/);
    refuse([0, 0], { numClasses: 1 }, /need at least two classes/);
    refuse([0, 1, 2], { numClasses: 3, loss: 'bce' }, /bce needs exactly two classes, got 3/);
  });
});
