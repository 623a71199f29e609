// Bulk classify/embed: worker threads write the same lines in the same order as one engine; --shard i/n run by
// GNU parallel over 4 processes concatenates to a full run; --resume after a real kill -9 (plus a torn last line)
// finishes with no duplicate and no lost line; docs/BULK.md's multi-machine command (GNU parallel --sshlogin)
// runs as written against two sshd ports on 127.0.0.1; bad bulk options are usage errors.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT, CLI, PHOTOS, tmpDir, requireBuild } from '../helpers/env.js';

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

test('--jobs 3 (worker threads) writes the lines of one engine, in the same order; embed names the pooling it used', () => {
  const out = path.join(tmpDir('bulk-jobs'), 'w.jsonl');
  const r = run(['classify', 'default', photos, '-o', out, '--jobs', '3', '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(lines(out), lines(reference));
  // embed: workers write the lines of one engine; the summary names the pooling the engines resolved (no
  // --pooling: the default model's default, cls), from the main thread's engine and from the workers alike.
  const dir = tmpDir('bulk-embed');
  for (const [out, jobs] of [['a.jsonl', '1'], ['b.jsonl', '2']]) {
    const e = run(['embed', 'default', photos, '-o', path.join(dir, out), '--jobs', jobs]);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stderr, new RegExp(`^${all.length} embeddings \\(cls\\) → .*${out}$`, 'm'));
  }
  assert.deepEqual(lines(path.join(dir, 'b.jsonl')), lines(path.join(dir, 'a.jsonl')));
  const c = run(['embed', 'default', path.join(photos, 'set-0'), '-o', path.join(dir, 'c.jsonl'), '--pooling', 'cls+mean', '--jobs', '2']);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stderr, new RegExp(`^${SMALL.length} embeddings \\(cls\\+mean\\) → `, 'm'));
  const dim = JSON.parse(lines(path.join(dir, 'a.jsonl'))[0]).embedding.length;
  assert.equal(JSON.parse(lines(path.join(dir, 'c.jsonl'))[0]).embedding.length, 2 * dim);
  // Nothing left to embed (--resume of a finished output): no engine is loaded, so no pooling is named.
  const d = run(['embed', 'default', photos, '-o', path.join(dir, 'a.jsonl'), '--resume']);
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stderr, /^0 embeddings → /m);
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

/** A TCP port free on 127.0.0.1 right now. */
async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const accepts = (port) => new Promise((resolve) => {
  const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
  c.on('error', () => resolve(false));
});

test('GNU parallel --sshlogin: docs/BULK.md\'s multi-machine command, run as written over ssh to two sshd ports on 127.0.0.1', async () => {
  // A throwaway sshd (Debian openssh-server, installed by tools/build/setup.sh --test) standing in for two machines:
  // its own host and user keys, 127.0.0.1 only, public key only. Not root: it can only log in as the user running
  // it, which is all the test needs. Root: sshd insists on its privilege separation directory.
  const SSHD = '/usr/sbin/sshd';
  assert.ok(fs.existsSync(SSHD), `${SSHD} is missing: install openssh-server (bash tools/build/setup.sh --test)`);
  for (const tool of ['ssh', 'ssh-keygen', 'rsync']) {
    assert.equal(spawnSync('sh', ['-c', `command -v ${tool}`]).status, 0, `${tool} is missing (bash tools/build/setup.sh --test)`);
  }
  if (process.getuid() === 0) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = tmpDir('bulk-ssh');
  for (const key of ['host_key', 'user_key']) {
    const k = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vitrine-test', '-f', path.join(dir, key)], { encoding: 'utf8' });
    assert.equal(k.status, 0, k.stderr);
  }
  // "vitrine installed on the remote machine": a bin folder on the sessions' PATH, as npm install -g links it.
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(CLI, path.join(bin, 'vitrine'));
  const ports = [await freePort(), await freePort()];
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(config, [
    'ListenAddress 127.0.0.1', ...ports.map((p) => `Port ${p}`), `HostKey ${path.join(dir, 'host_key')}`,
    `AuthorizedKeysFile ${path.join(dir, 'user_key.pub')}`, 'StrictModes no', 'PubkeyAuthentication yes',
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'PermitRootLogin prohibit-password',
    'PidFile none', 'LogLevel VERBOSE', `SetEnv PATH=${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`, '',
  ].join('\n'));
  const log = path.join(dir, 'sshd.log');
  const logFd = fs.openSync(log, 'w');
  const sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', logFd] });
  fs.closeSync(logFd);
  const sshdExit = new Promise((resolve) => sshd.on('exit', resolve));
  let exited = false;
  sshdExit.then(() => { exited = true; });
  try {
    for (let t = 0; !(await accepts(ports[0]) && await accepts(ports[1])); t++) {
      assert.ok(!exited && t < 200, `sshd did not start:\n${fs.readFileSync(log, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const remote = path.join(dir, 'remote-work');
    const local = path.join(dir, 'local');
    fs.mkdirSync(local);
    // hosts.txt as docs/BULK.md describes it: one sshlogin per line, here the whole ssh command ending in the host.
    const ssh = `ssh -F /dev/null -i ${path.join(dir, 'user_key')} -o IdentitiesOnly=yes -o BatchMode=yes ` +
      '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR';
    fs.writeFileSync(path.join(local, 'hosts.txt'), ports.map((p) => `${ssh} -p ${p} 127.0.0.1\n`).join(''));
    // The command block of docs/BULK.md, with only its two example paths replaced.
    const docs = fs.readFileSync(path.join(ROOT, 'docs/BULK.md'), 'utf8');
    const block = [...docs.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('--slf hosts.txt'));
    assert.ok(block, 'docs/BULK.md has the --slf hosts.txt command');
    assert.ok(block.includes('/data/photos') && block.includes('/scratch/vitrine'), block);
    const script = block.replaceAll('/data/photos', photos).replaceAll('/scratch/vitrine', remote);
    const r = await new Promise((resolve) => {
      const p = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: local, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => { out += d; });
      p.stderr.on('data', (d) => { out += d; });
      p.on('exit', (status) => resolve({ status, out }));
    });
    assert.equal(r.status, 0, `${script}\n${r.out}\nsshd:\n${fs.readFileSync(log, 'utf8')}`);
    // Each shard ran in the remote working folder and came back with --return; together they are a full run.
    const parts = [0, 1, 2, 3].map((i) => lines(path.join(local, `out/part-${i}.jsonl`)));
    for (const [i, p] of parts.entries()) {
      assert.ok(p.length > 0 && p.length < all.length, `shard sizes ${parts.map((x) => x.length)}`);
      assert.deepEqual(lines(path.join(remote, `out/part-${i}.jsonl`)), p);
    }
    assert.deepEqual(lines(path.join(local, 'labels.jsonl')).sort(), lines(reference).sort());
    // Both "machines" were used, through sshd (its VERBOSE log names the port of every connection).
    const sshdLog = fs.readFileSync(log, 'utf8');
    for (const p of ports) assert.match(sshdLog, new RegExp(`Connection from 127\\.0\\.0\\.1 port \\d+ on 127\\.0\\.0\\.1 port ${p}\\b`), sshdLog);
  } finally {
    sshd.kill('SIGTERM');
    await sshdExit;
  }
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
