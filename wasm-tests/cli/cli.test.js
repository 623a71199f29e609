// The command line: convert, inspect, classify (csv/json/jsonl, folders, bad files), embed (.npy/.jsonl),
// forward, usage errors, for each build.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BUILDS, CLI, PHOTOS, FIXTURES, convertedCase, caseInfo, requireBuild, tmpDir, maxAbsDiff, npy } from '../helpers/env.js';

function run(args, opts = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, ...opts });
  if (r.error) throw r.error;
  return r;
}

test('convert + inspect (text and --json)', () => {
  const out = tmpDir('cli-conv');
  const c = run(['convert', path.join(FIXTURES, 'dinov2-registers/hf'), '-o', out, '--chunk-size', '16k', '--name', 'tiny-registers']);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /tiny-registers — dinov2/);
  assert.match(c.stdout, /dropped: dinov2_with_registers\.embeddings\.mask_token/);
  const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json')));
  assert.equal(m.chunk_size, 16384);
  const i = run(['inspect', out]);
  assert.equal(i.status, 0, i.stderr);
  for (const re of [/tiny-registers/, /family\s+dinov2/, /register tokens/, /parameters\s+[\d,]+/, /chunks of 0\.0 MiB|in \d+ chunks/, /total bytes\s+\d+/, /BitImageProcessor/]) assert.match(i.stdout, re);
  const j = JSON.parse(run(['inspect', out, '--json']).stdout);
  assert.equal(j.family, 'dinov2');
  assert.equal(j.chunks, m.chunks.length);
  assert.equal(j.totalBytes, m.stream_size);
  assert.equal(j.params, m.tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0));
  // inspect --verify checks every chunk's SHA-256; inspect notices a missing chunk
  assert.equal(run(['inspect', out, '--verify']).status, 0);
  const f2 = path.join(out, m.chunks[2].file);
  const bytes = fs.readFileSync(f2); bytes[7] ^= 0x20; fs.writeFileSync(f2, bytes);
  const v = run(['inspect', out, '--verify']);
  assert.equal(v.status, 1);
  assert.match(v.stdout, /PROBLEM\s+chunk 2 \(chunk-00002\.bin\): SHA-256 mismatch/);
  assert.equal(run(['inspect', out]).status, 0, 'without --verify sizes only');
  fs.rmSync(path.join(out, m.chunks[1].file));
  const bad = run(['inspect', out]);
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /PROBLEM\s+chunk 1 \(chunk-00001\.bin\) is missing/);
});

test('convert --dtype int8 re-encodes a converted model folder; inspect and classify read it', async () => {
  const f32 = await convertedCase('vit');
  const out = tmpDir('cli-int8');
  const c = run(['convert', f32, '-o', out, '--dtype', 'int8']);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /note: Linear weights \(blocks, patch projection, classifier\) stored as int8/);
  const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json')));
  assert.equal(m.tensors.find((t) => t.name === 'layers.0.mlp.fc1.weight').dtype, 'i8');
  assert.equal(run(['inspect', out, '--verify']).status, 0);
  const image = path.join(FIXTURES, 'vit/image.png');
  const top = (model) => JSON.parse(run(['classify', model, image, '--format', 'json', '--top', '1']).stdout);
  assert.deepEqual(top(out).map((r) => r.predictions[0].label), top(f32).map((r) => r.predictions[0].label));
  const bad = run(['convert', f32, '-o', tmpDir('cli-bad-dtype'), '--dtype', 'int4']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--dtype must be one of f32, f16, int8.*\[E_CONVERT\]/s);
});

test('convert refuses a bad checkpoint with exit code 1 and the reason', () => {
  const r = run(['convert', path.join(FIXTURES, 'bad/pytorch-bin-only'), '-o', tmpDir('x')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /safe_serialization=True.*\[E_CONVERT\]/s);
});

test('usage errors exit 2; --help and --version exit 0', () => {
  assert.equal(run(['--help']).status, 0);
  assert.match(run(['--version']).stdout, /^vitrine \d+\.\d+\.\d+/);
  assert.equal(run([]).status, 2);
  assert.equal(run(['frobnicate']).status, 2);
  assert.equal(run(['convert', 'x']).status, 2);
  assert.equal(run(['classify', 'default', 'x.jpg', '--top', 'zero']).status, 2);
  assert.equal(run(['embed', 'default', 'x.jpg', '-o', 'out.txt']).status, 2);
});

for (const build of BUILDS) {
  describe(`CLI with the ${build} build`, () => {
    let model, photos;
    before(async () => {
      requireBuild(build);
      model = await convertedCase('dinov2-interp');
      // A folder of photos plus one broken file, nested one level.
      photos = tmpDir('photos');
      fs.mkdirSync(path.join(photos, 'sub'));
      for (const f of ['cat_chelsea.png', 'dog_beagle.jpg', 'bird_eagle.jpg']) fs.copyFileSync(path.join(PHOTOS, f), path.join(photos, f));
      fs.copyFileSync(path.join(PHOTOS, 'person_cameraman_gray.png'), path.join(photos, 'sub/gray.png'));
      fs.writeFileSync(path.join(photos, 'sub/not-an-image.jpg'), 'hello, I am text');
      fs.writeFileSync(path.join(photos, 'notes.txt'), 'ignored: not an image extension');
    });

    test('classify the truncated JPEG (README\'s table): the exact message on stderr, the CSV header only, exit code 1', () => {
      const file = path.join(PHOTOS, 'elephants_truncated.jpg');
      const size = fs.statSync(file).size;
      const r = run(['classify', 'default', file, '--build', build]);
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr, `vitrine: ${file}: truncated JPEG: the data ends before the image does (${size} bytes; ` +
        "PIL also refuses it: 'image file is truncated') [E_IMAGE]\n");
      assert.equal(r.stdout, 'file,rank,index,label,score\n');
      // With a good photo beside it: the good one is classified, the truncated one reported, still exit 1.
      const both = run(['classify', 'default', file, path.join(PHOTOS, 'dog_beagle.jpg'), '--top', '1', '--build', build]);
      assert.equal(both.status, 1);
      assert.match(both.stdout, /dog_beagle\.jpg,1,5,dog,/);
      assert.match(both.stderr, /elephants_truncated\.jpg: truncated JPEG.*\[E_IMAGE\]/);
    });

    test('classify a folder: csv to stdout, the bad file reported and skipped, exit code 1', () => {
      const r = run(['classify', model, photos, '--top', '2', '--build', build]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /not-an-image\.jpg: .*\[E_IMAGE\]/);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines[0], 'file,rank,index,label,score');
      assert.equal(lines.length, 1 + 4 * 2);
      const labels = caseInfo('dinov2-interp').labels;
      for (const l of lines.slice(1)) {
        const [file, rank, index, label, score] = l.split(',');
        assert.ok(fs.existsSync(file));
        assert.ok(['1', '2'].includes(rank));
        assert.equal(label, labels[Number(index)]);
        assert.ok(Number(score) >= 0 && Number(score) <= 1);
      }
      assert.ok(!r.stdout.includes('notes.txt'));
    });

    test('classify: json and jsonl agree, -o writes a file, all good files exit 0', () => {
      const dir = tmpDir('cls');
      const files = ['cat_chelsea.png', 'dog_beagle.jpg'].map((f) => path.join(PHOTOS, f));
      const j = run(['classify', model, ...files, '--format', 'json', '-o', path.join(dir, 'out.json'), '--build', build, '--threads', '1']);
      assert.equal(j.status, 0, j.stderr);
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'out.json')));
      const l = run(['classify', model, ...files, '--format', 'jsonl', '--build', build]);
      assert.equal(l.status, 0, l.stderr);
      const jsonl = l.stdout.trim().split('\n').map((x) => JSON.parse(x));
      assert.equal(json.length, 2);
      assert.deepEqual(json.map((x) => x.file), files);
      assert.equal(json[0].predictions.length, 5);
      json.forEach((r, i) => r.predictions.forEach((p, k) => {
        assert.equal(p.index, jsonl[i].predictions[k].index);
        assert.ok(Math.abs(p.score - jsonl[i].predictions[k].score) < 1e-5);
      }));
    });

    test('embed → .npy (+ file list) and .jsonl, same vectors', () => {
      const dir = tmpDir('emb');
      const a = run(['embed', model, photos, '-o', path.join(dir, 'e.npy'), '--pooling', 'cls+mean', '--build', build]);
      assert.equal(a.status, 1, 'one bad file → exit 1');
      const arr = npy(path.join(dir, 'e.npy'));
      assert.deepEqual(arr.shape, [4, 64]);
      const files = fs.readFileSync(path.join(dir, 'e.files.txt'), 'utf8').trim().split('\n');
      assert.equal(files.length, 4);
      const b = run(['embed', model, ...files, '-o', path.join(dir, 'e.jsonl'), '--pooling', 'cls+mean', '--build', build]);
      assert.equal(b.status, 0, b.stderr);
      const rows = fs.readFileSync(path.join(dir, 'e.jsonl'), 'utf8').trim().split('\n').map((x) => JSON.parse(x));
      assert.deepEqual(rows.map((r) => r.file), files);
      rows.forEach((r, i) => assert.ok(maxAbsDiff(Float32Array.from(r.embedding), arr.data.subarray(i * 64, (i + 1) * 64)) < 1e-6));
    });

    test('forward --pixels → JSON matching the golden', () => {
      const out = path.join(tmpDir('fwd'), 'o.json');
      const r = run(['forward', model, '--pixels', path.join(FIXTURES, 'dinov2-interp/pixels-224x308.npy'), '-o', out, '--build', build]);
      assert.equal(r.status, 0, r.stderr);
      const o = JSON.parse(fs.readFileSync(out));
      assert.equal(o.numTokens, 1 + 16 * 22);
      const want = npy(path.join(FIXTURES, 'dinov2-interp/last_hidden_state-224x308.npy')).data;
      assert.ok(maxAbsDiff(Float32Array.from(o.lastHiddenState), want) <= caseInfo('dinov2-interp').tolerance);
    });

    test('a model that does not exist: exit 1 with E_MANIFEST', () => {
      const r = run(['classify', '/nonexistent/model', path.join(PHOTOS, 'cat_chelsea.png'), '--build', build]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /\[E_MANIFEST\]/);
    });
  });
}
