// Bulk classify/embed: worker threads write the same lines in the same order as one engine; --shard i/n run by
// GNU parallel over 4 processes concatenates to a full run; --resume after a real kill -9 (plus a torn last line)
// finishes with no duplicate and no lost line; bad bulk options are usage errors.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, PHOTOS, tmpDir, requireBuild } from '../helpers/env.js';

const SMALL = ['dog_beagle.jpg', 'horse_jockey.jpg', 'bird_eagle.jpg', 'cat_chelsea.png', 'airplane_airliner.jpg',
  'automobile_sportscar.jpg', 'person_cameraman_gray.png'];
const COPIES = 6;

function run(args, opts = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, ...opts });
  if (r.error) throw r.error;
  return r;
}
const lines = (file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

let photos, all, reference;
before(() => {
  requireBuild('st');
  // 42 images in nested folders: several per worker, and slow enough to kill a run in the middle.
  photos = tmpDir('bulk-photos');
  all = [];
  for (let c = 0; c < COPIES; c++) {
    const dir = path.join(photos, `set-${c}`, c % 2 ? 'odd' : 'even');
    fs.mkdirSync(dir, { recursive: true });
    for (const f of SMALL) { fs.copyFileSync(path.join(PHOTOS, f), path.join(dir, f)); all.push(path.join(dir, f)); }
  }
  reference = path.join(tmpDir('bulk-ref'), 'one.jsonl');
  const r = run(['classify', 'default', photos, '-o', reference, '--jobs', '1', '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(lines(reference).length, all.length);
  assert.deepEqual(new Set(lines(reference).map((l) => JSON.parse(l).file)), new Set(all));
});

test('--jobs 3 (worker threads) writes the lines of one engine, in the same order', () => {
  const out = path.join(tmpDir('bulk-jobs'), 'w.jsonl');
  const r = run(['classify', 'default', photos, '-o', out, '--jobs', '3', '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(lines(out), lines(reference));
  // embed: .npy rows in input order match .jsonl from one engine
  const dir = tmpDir('bulk-embed');
  assert.equal(run(['embed', 'default', photos, '-o', path.join(dir, 'a.jsonl'), '--jobs', '1', '-q']).status, 0);
  assert.equal(run(['embed', 'default', photos, '-o', path.join(dir, 'b.jsonl'), '--jobs', '2', '-q']).status, 0);
  assert.deepEqual(lines(path.join(dir, 'b.jsonl')), lines(path.join(dir, 'a.jsonl')));
});

test('--shard i/4 run as 4 processes by GNU parallel: disjoint shards whose concatenation sorts to a full run', () => {
  const dir = tmpDir('bulk-shards');
  const r = spawnSync('parallel', ['--will-cite', '--halt', 'now,fail=1',
    process.execPath, CLI, 'classify', 'default', photos, '-o', path.join(dir, 'part-{}.jsonl'), '--shard', '{}/4', '-q',
    ':::', '0', '1', '2', '3'], { encoding: 'utf8', timeout: 300_000 });
  assert.ifError(r.error);
  assert.equal(r.status, 0, r.stderr);
  const parts = [0, 1, 2, 3].map((i) => lines(path.join(dir, `part-${i}.jsonl`)));
  for (const p of parts) assert.ok(p.length > 0 && p.length < all.length, `shard sizes ${parts.map((x) => x.length)}`);
  const files = parts.flat().map((l) => JSON.parse(l).file);
  assert.equal(new Set(files).size, files.length, 'no file in two shards');
  assert.deepEqual(parts.flat().sort(), lines(reference).sort());
  // The same shard again, from a different working directory and root path spelling: the same files.
  const again = path.join(dir, 'again.jsonl');
  const rel = path.relative(path.dirname(photos), photos);
  const r2 = run(['classify', 'default', `${rel}${path.sep}`, '-o', again, '--shard', '2/4', '-q'], { cwd: path.dirname(photos) });
  assert.equal(r2.status, 0, r2.stderr);
  assert.deepEqual(lines(again).map((l) => path.resolve(path.dirname(photos), JSON.parse(l).file)),
    parts[2].map((l) => JSON.parse(l).file));
});

test('--resume after kill -9 mid-run and a torn last line: no duplicate, no lost line', async () => {
  const out = path.join(tmpDir('bulk-resume'), 'out.jsonl');
  const child = spawn(process.execPath, [CLI, 'classify', 'default', photos, '-o', out, '--jobs', '2', '-q'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  // Kill as soon as a few lines are written.
  for (;;) {
    const n = fs.existsSync(out) ? lines(out).length : 0;
    if (n >= 3) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  const { signal } = await exited;
  assert.equal(signal, 'SIGKILL');
  const written = lines(out);
  assert.ok(written.length < all.length, `killed mid-run (${written.length} of ${all.length} lines)`);
  // A write torn by the kill: half a line naming a file that is not done yet.
  const doneFiles = new Set(written.map((l) => JSON.parse(l).file));
  const torn = all.find((f) => !doneFiles.has(f));
  const want = lines(reference).find((l) => JSON.parse(l).file === torn);
  fs.appendFileSync(out, want.slice(0, want.length >> 1));

  const r = run(['classify', 'default', photos, '-o', out, '--resume']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`${written.length} file\\(s\\) already in .*, ${all.length - written.length} to go`));
  const after = lines(out);
  assert.deepEqual(after.slice(0, written.length), written, 'lines already written are kept as they were');
  const files = after.map((l) => JSON.parse(l).file);
  assert.equal(new Set(files).size, files.length, 'no duplicate');
  assert.deepEqual(after.sort(), lines(reference).sort());
  // Resuming a finished output does nothing; so does a shard of it.
  assert.equal(run(['classify', 'default', photos, '-o', out, '--resume', '-q']).status, 0);
  assert.equal(lines(out).length, all.length);
});

test('bulk option errors: --shard out of range, --resume without a JSONL output or into a foreign file, a pooling the model lacks', () => {
  const dir = tmpDir('bulk-bad');
  const one = path.join(PHOTOS, 'dog_beagle.jpg');
  for (const bad of [['--shard', '4/4'], ['--shard', '1'], ['--shard', '-1/2'], ['--jobs', '0'], ['--resume'], ['--resume', '-o', path.join(dir, 'x.csv')]]) {
    const r = run(['classify', 'default', one, ...bad]);
    assert.equal(r.status, 2, `${bad.join(' ')}: ${r.stderr}`);
  }
  const e = run(['embed', 'default', one, '-o', path.join(dir, 'e.npy'), '--resume']);
  assert.equal(e.status, 2);
  assert.match(e.stderr, /--resume needs -o <out>\.jsonl/);
  // A pooling the model lacks stops the whole run with one E_INPUT (not one error per file).
  const p = run(['embed', 'default', photos, '-o', path.join(dir, 'p.jsonl'), '--pooling', 'pooler', '--jobs', '2']);
  assert.equal(p.status, 1, p.stderr);
  assert.equal(p.stderr.match(/pooling must be one of .*\[E_INPUT\]/g)?.length, 1, p.stderr);
  const foreign = path.join(dir, 'notes.jsonl');
  fs.writeFileSync(foreign, 'a shopping list\nmilk\n');
  const f = run(['classify', 'default', one, '-o', foreign, '--resume']);
  assert.equal(f.status, 1);
  assert.match(f.stderr, /notes\.jsonl:1: not a line of vitrine JSONL output .*\[E_INPUT\]/);
  assert.equal(fs.readFileSync(foreign, 'utf8'), 'a shopping list\nmilk\n', 'left untouched');
});

test('examples/classify-folder: a folder to CSV through the public API, the best label of each file', () => {
  const dir = path.join(photos, 'set-0');
  const r = spawnSync(process.execPath, [path.join(CLI, '../../../examples/classify-folder/classify-folder.mjs'), dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n');
  assert.equal(rows[0], 'file,label,score');
  const best = new Map(lines(reference).map((l) => JSON.parse(l)).map((x) => [x.file, x.predictions[0]]));
  assert.equal(rows.length - 1, SMALL.length);
  for (const row of rows.slice(1)) {
    const [file, label, score] = row.split(',');
    const want = best.get(path.join(dir, file));
    assert.equal(label, want.label, file);
    assert.ok(Math.abs(Number(score) - want.score) < 1e-4);
  }
});
