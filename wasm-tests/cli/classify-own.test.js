// `vitrine classify --head h --own`: the model's own classifier's top-k beside the head's. What must hold:
// - in every output format (CSV, JSON, JSONL), in the main thread (--jobs 1), in worker threads (--jobs 2) and
//   with the mt build, the own predictions are exactly model.classify(photo, { topK, own: true }).own and the
//   head's exactly its .top, for a linear softmax head (fewer labels than the model) and a one-output sigmoid head
//   (two labels ranked, fewer than --top); a rank one side lacks is left empty in CSV;
// - a file that fails is named on stderr and the files after it are still classified (exit code 1);
// - --resume continues a --own run and refuses a JSONL written with the other --own setting;
// - --own without --head is a usage error (exit 2); a backbone without a classifier of its own is E_NO_CLASSIFIER
//   naming --own (exit 1, no output written), with the main thread and with workers, while the same command without
//   --own still classifies with the head.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { load, encodeHead, trainHead } from '../../src/js/index.js';
import { listImages } from '../../src/js/bulk.js';
import { CLI, ROOT, PHOTOS, requireBuild, convertedCase, tmpDir } from '../helpers/env.js';

const BASE = path.join(ROOT, 'weights/cifar10-vit');
const GOOD = ['airplane_airliner.jpg', 'cat_chelsea.png', 'dog_beagle.jpg', 'horse_jockey.jpg', 'person_cameraman_gray.png'];
const BAD = ['b-not-an-image.jpg', 'sub/elephants_truncated.jpg'];

const cli = (...args) => spawnSync(process.execPath, [CLI, ...args, '-q'], { encoding: 'utf8', timeout: 300_000 });

/** A head file on `pooling` trained on the good photos' embeddings (labels = photo index mod numClasses). */
async function headFile(model, file, { pooling = 'cls', numClasses = 3, loss = 'softmax' } = {}) {
  const rows = [];
  for (const f of GOOD) rows.push(await model.embed(path.join(PHOTOS, f), { pooling }));
  const dim = rows[0].length;
  const features = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => features.set(r, i * dim));
  const res = trainHead(features, rows.map((_, i) => i % numClasses), { dim, numClasses, loss, epochs: 20, lr: 1e-2, valFraction: 0, seed: 3 });
  fs.writeFileSync(file, encodeHead({
    pooling, layers: res.layers, output: res.output, tensors: res.tensors,
    labels: Array.from({ length: numClasses }, (_, c) => `taught-${c}`), backbone: model.headBackbone(pooling),
  }));
  return file;
}

/** CSV text → { header, rows: Map(file → [cells of each rank]) } (no cell here holds a comma or a quote). */
function parseCsv(text) {
  const [header, ...lines] = text.trim().split('\n');
  const rows = new Map();
  for (const l of lines) {
    const [file, ...cells] = l.split(',');
    if (!rows.has(file)) rows.set(file, []);
    rows.get(file).push(cells);
  }
  return { header, rows };
}

const cells = (p) => (p ? [String(p.index), p.label, p.score.toFixed(6)] : ['', '', '']);

describe('vitrine classify --head --own', () => {
  let model, folder, files, good;
  before(async () => {
    requireBuild('st');
    requireBuild('mt');
    model = await load(BASE, { build: 'st' });
    folder = tmpDir('own-photos');
    fs.mkdirSync(path.join(folder, 'sub'));
    for (const f of GOOD) fs.copyFileSync(path.join(PHOTOS, f), path.join(folder, f));
    fs.writeFileSync(path.join(folder, BAD[0]), 'text, not an image');
    fs.copyFileSync(path.join(PHOTOS, 'elephants_truncated.jpg'), path.join(folder, BAD[1]));
    files = listImages([folder]).map((e) => e.path);
    good = files.filter((f) => GOOD.includes(path.basename(f)));
    // A bad file between good ones and one at the end: the files after a failure are still classified.
    assert.deepEqual(files.map((f) => path.relative(folder, f)), [GOOD[0], BAD[0], ...GOOD.slice(1), BAD[1]]);
  });
  after(() => model?.dispose());

  const HEADS = [
    ['linear softmax head, 3 labels', {}, 2],
    ['one-output sigmoid head on mean, 2 labels ranked under --top 4', { pooling: 'mean', numClasses: 2, loss: 'bce' }, 4],
  ];
  for (const [what, headOpts, topK] of HEADS) {
    test(`${what}: own = classify(own: true).own and predictions = .top in CSV, JSON and JSONL, --jobs 1 and 2, mt`, async () => {
      const head = await headFile(model, path.join(tmpDir('own-head'), 'h.head.safetensors'), headOpts);
      await model.setHead(new Uint8Array(fs.readFileSync(head)));
      const want = new Map();
      try {
        for (const f of good) want.set(f, await model.classify(f, { topK, own: true }));
      } finally {
        await model.setHead(null);
      }
      // The cases below are only telling if the two classifiers differ and rank different numbers of labels.
      const [first] = want.values();
      assert.equal(first.own.length, topK);
      assert.ok(first.top.every((p) => p.label.startsWith('taught-')) && first.own.every((p) => model.info.labels.includes(p.label)));
      if (headOpts.numClasses === 2) assert.equal(first.top.length, 2);

      const dir = tmpDir('own-out');
      const runs = [['--jobs', '1'], ['--jobs', '2'], ['--jobs', '1', '--build', 'mt', '--threads', '2']];
      for (const [k, extra] of runs.entries()) {
        const args = ['classify', 'default', folder, '--head', head, '--own', '--top', String(topK), ...extra];
        const where = extra.join(' ');
        const outputs = {
          csv: cli(...args),
          json: cli(...args, '-o', path.join(dir, `${k}.json`)),
          jsonl: cli(...args, '--format', 'jsonl'),
        };
        for (const [format, r] of Object.entries(outputs)) {
          assert.equal(r.status, 1, `${format} ${where}: the two bad files → exit 1\n${r.stderr}`);
          for (const b of BAD) assert.match(r.stderr, new RegExp(`${path.basename(b).replace(/\./g, '\\.')}: .*\\[E_IMAGE\\]`), `${format} ${where}`);
          assert.equal(r.stderr.trim().split('\n').length, 2, `${format} ${where}: only the bad files on stderr\n${r.stderr}`);
        }
        const json = JSON.parse(fs.readFileSync(path.join(dir, `${k}.json`), 'utf8'));
        const jsonl = outputs.jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l));
        const expected = good.map((file) => ({ file, predictions: want.get(file).top, own: want.get(file).own }));
        assert.deepEqual(json, expected, `json ${where}`);
        assert.deepEqual(jsonl, expected, `jsonl ${where}`);

        const csv = parseCsv(outputs.csv.stdout);
        assert.equal(csv.header, 'file,rank,index,label,score,own_index,own_label,own_score');
        assert.deepEqual([...csv.rows.keys()], good, `csv ${where}: the good files, in order`);
        for (const f of good) {
          const { top, own } = want.get(f);
          const ranks = Math.max(top.length, own.length);
          assert.deepEqual(csv.rows.get(f), Array.from({ length: ranks }, (_, r) => [String(r + 1), ...cells(top[r]), ...cells(own[r])]), `csv ${where} ${f}`);
        }
      }
    });
  }

  test('--resume --own: continues a run with --own to the full run\'s lines; refuses a file written without --own and the converse', async () => {
    const head = await headFile(model, path.join(tmpDir('own-resume'), 'h.head.safetensors'));
    const dir = tmpDir('own-resume-out');
    const run = (out, ...args) => cli('classify', 'default', ...args, '--head', head, '--top', '2', '-o', path.join(dir, out), '--jobs', '1');
    const photos = good.slice(0, 3);
    assert.equal(run('full.jsonl', ...photos, '--own').status, 0);
    assert.equal(run('part.jsonl', photos[0], '--own').status, 0);
    const resumed = run('part.jsonl', ...photos, '--own', '--resume');
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(fs.readFileSync(path.join(dir, 'part.jsonl'), 'utf8'), fs.readFileSync(path.join(dir, 'full.jsonl'), 'utf8'));
    for (const [own, other, says] of [[['--own'], [], /plain\.jsonl:1: a line without "own" \(written without --own\); refusing to resume into it \[E_INPUT\]/],
      [[], ['--own'], /plain\.jsonl:1: a line with "own" \(written with --own\); refusing to resume into it \[E_INPUT\]/]]) {
      assert.equal(run('plain.jsonl', photos[0], ...other).status, 0);
      const before = fs.readFileSync(path.join(dir, 'plain.jsonl'), 'utf8');
      const r = run('plain.jsonl', ...photos, ...own, '--resume');
      assert.equal(r.status, 1);
      assert.match(r.stderr, says);
      assert.equal(fs.readFileSync(path.join(dir, 'plain.jsonl'), 'utf8'), before, 'left untouched');
    }
  });

  test('--own without --head: a usage error naming --head, exit 2, nothing classified', () => {
    const r = cli('classify', 'default', path.join(PHOTOS, 'cat_chelsea.png'), '--own');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^vitrine classify: --own needs --head: it adds the model's own classifier beside the head's/);
    assert.equal(r.stdout, '');
  });

  test('a backbone without a classifier of its own: E_NO_CLASSIFIER naming --own, exit 1, no output; without --own the head still classifies', async () => {
    const backbone = await convertedCase('vit-model');
    const m = await load(backbone, { build: 'st' });
    let head;
    try {
      assert.equal(m.info.numLabels, 0);
      head = await headFile(m, path.join(tmpDir('own-backbone'), 'b.head.safetensors'));
    } finally {
      await m.dispose();
    }
    const photos = GOOD.slice(0, 3).map((f) => path.join(PHOTOS, f));
    const dir = tmpDir('own-backbone-out');
    for (const jobs of ['1', '2']) {
      for (const format of ['csv', 'json', 'jsonl']) {
        const out = path.join(dir, `${jobs}.${format}`);
        const r = cli('classify', backbone, ...photos, '--head', head, '--own', '--jobs', jobs, '-o', out, '--format', format);
        assert.equal(r.status, 1, `${format} --jobs ${jobs}\n${r.stderr}`);
        assert.match(r.stderr, /^vitrine classify: --own: model "vit-model" has no classifier of its own beside the attached head \[E_NO_CLASSIFIER\]\n$/m);
        assert.equal(fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '', '', `${format} --jobs ${jobs}: no output`);
      }
      const r = cli('classify', backbone, ...photos, '--head', head, '--own', '--jobs', jobs);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '', 'no CSV header either');
    }
    const plain = cli('classify', backbone, ...photos, '--head', head, '--top', '1', '--format', 'jsonl');
    assert.equal(plain.status, 0, plain.stderr);
    assert.deepEqual(plain.stdout.trim().split('\n').map((l) => JSON.parse(l).file), photos);
  });
});
