// Smoke test of tools/train_default.py (the default model's training script): `--smoke` trains a tiny ViT for
// a few steps on a tiny subset (synthetic images when the CIFAR-10 zips are not there), writes the run files to a
// temp dir, and an interrupted + resumed run must end bit-identical to an uninterrupted one.
// Runs only when tools/.venv/bin/python can import torch + transformers (CI has no torch): otherwise it is
// reported as skipped, with the reason.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PY = path.join(ROOT, 'tools/.venv/bin/python');
const SCRIPT = path.join(ROOT, 'tools/train_default.py');

function skipReason() {
  if (!fs.existsSync(PY)) return `no ${path.relative(ROOT, PY)} (the training environment is not installed)`;
  const r = spawnSync(PY, ['-c', 'import torch, transformers, safetensors'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return `${path.relative(ROOT, PY)} cannot import torch/transformers: ${(r.stderr || '').trim().split('\n').pop()}`;
  return null;
}

const reason = skipReason();

function run(args, timeout = 60_000) {
  const t0 = Date.now();
  const r = spawnSync(PY, [SCRIPT, '--smoke', ...args], { encoding: 'utf8', timeout, env: { ...process.env, PYTHONHASHSEED: '0' } });
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(r.status, 0, `train_default.py ${args.join(' ')} failed (${r.signal ?? r.status}):\n${r.stdout}\n${r.stderr}`);
  return { ...r, seconds };
}

const readLog = (dir) => fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('tools/train_default.py --smoke', { skip: reason ?? false, concurrency: 1 }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrine-train-smoke-'));
  process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  const a = path.join(tmp, 'a');
  const b = path.join(tmp, 'b');

  test('trains a few steps in < 60 s and writes checkpoint, log and plot', () => {
    const r = run(['--out', a]);
    assert.ok(r.seconds < 60, `took ${r.seconds} s`);
    for (const f of ['config.json', 'last.pt', 'epoch-001.pt', 'epoch-002.pt', 'log.jsonl', 'curve.png']) {
      assert.ok(fs.existsSync(path.join(a, f)), `${f} missing`);
    }
    const log = readLog(a);
    assert.deepEqual(log.map((r) => r.epoch), [1, 2]);
    for (const rec of log) {
      assert.ok(Number.isFinite(rec.train_loss) && rec.train_loss > 0, JSON.stringify(rec));
      assert.ok(rec.test_acc >= 0 && rec.test_acc <= 100, JSON.stringify(rec));
    }
  });

  test('interrupted twice and resumed with the same command: same log as the uninterrupted run', () => {
    assert.match(run(['--out', b, '--max-steps', '5']).stdout, /stopped after --max-steps 5/);
    assert.match(run(['--out', b, '--max-steps', '4']).stdout, /resumed from .*: epoch 0, step 5/);
    assert.match(run(['--out', b]).stdout, /done: 2 epochs/);
    const strip = (l) => l.map(({ epoch, train_loss, train_acc, test_loss, test_acc, lr }) => ({ epoch, train_loss, train_acc, test_loss, test_acc, lr }));
    assert.deepEqual(strip(readLog(b)), strip(readLog(a)));
    // a finished run started again does nothing
    assert.match(run(['--out', b]).stdout, /done: 2 epochs/);
  });

  test('refuses to resume a run directory with a different config', () => {
    const r = spawnSync(PY, [SCRIPT, '--smoke', '--out', a, '--lr', '0.5'], { encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /different config/);
  });
});
