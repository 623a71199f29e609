// Smoke test of tools/default-model/train_default.py (the default model's training script): `--smoke` trains a tiny ViT for
// a few steps on a tiny subset (synthetic images when the CIFAR-10 zips are not there), writes the run files to a
// temp dir, and an interrupted + resumed run must end bit-identical to an uninterrupted one.
// Python: $VITRINE_TRAIN_PYTHON if set, else the full reference environment tools/.venv (PyPI torch 2.5) when it
// imports, else tools/.venv-smoke (Debian's torch 1.13 + transformers 4.40), which `npm test` builds through
// tools/build/setup.sh --test, so CI runs this too. No usable interpreter is a failure that says how to get one,
// never a skip.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'tools/default-model/train_default.py');

function findPython() {
  const tried = [];
  const candidates = process.env.VITRINE_TRAIN_PYTHON ? [process.env.VITRINE_TRAIN_PYTHON]
    : ['tools/.venv/bin/python', 'tools/.venv-smoke/bin/python'].map((p) => path.join(ROOT, p));
  for (const py of candidates) {
    if (!fs.existsSync(py)) { tried.push(`${py}: missing`); continue; }
    const r = spawnSync(py, ['-c', 'import torch, transformers, safetensors'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return { py };
    tried.push(`${py}: ${(r.stderr || String(r.error ?? r.status)).trim().split('\n').pop()}`);
  }
  return { problem: `no Python that imports torch + transformers + safetensors (${tried.join('; ')}); ` +
    '`bash tools/build/setup.sh --test` (part of `npm test`) creates tools/.venv-smoke' };
}

const { py: PY, problem } = findPython();

// The timeout only guards against a hang (tests assert no timings).
function run(args, timeout = 300_000) {
  const r = spawnSync(PY, [SCRIPT, '--smoke', ...args], { encoding: 'utf8', timeout, env: { ...process.env, PYTHONHASHSEED: '0' } });
  assert.equal(r.status, 0, `train_default.py ${args.join(' ')} failed (${r.signal ?? r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

const readLog = (dir) => fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('tools/default-model/train_default.py --smoke', { concurrency: 1 }, () => {
  test('a Python environment with torch + transformers is there', () => assert.ok(PY, problem));

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrine-train-smoke-'));
  process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  const a = path.join(tmp, 'a');
  const b = path.join(tmp, 'b');

  test('trains a few steps and writes checkpoint, log and plot', { skip: !PY && 'no Python (see above)' }, () => {
    run(['--out', a]);
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

  test('interrupted twice and resumed with the same command: same log as the uninterrupted run', { skip: !PY && 'no Python (see above)' }, () => {
    assert.match(run(['--out', b, '--max-steps', '5']).stdout, /stopped after --max-steps 5/);
    assert.match(run(['--out', b, '--max-steps', '4']).stdout, /resumed from .*: epoch 0, step 5/);
    assert.match(run(['--out', b]).stdout, /done: 2 epochs/);
    const strip = (l) => l.map(({ epoch, train_loss, train_acc, test_loss, test_acc, lr }) => ({ epoch, train_loss, train_acc, test_loss, test_acc, lr }));
    assert.deepEqual(strip(readLog(b)), strip(readLog(a)));
    // a finished run started again does nothing
    assert.match(run(['--out', b]).stdout, /done: 2 epochs/);
  });

  test('--init starts a new run from a checkpoint: with learning rate 0 its weights stay exactly those', { skip: !PY && 'no Python (see above)' }, () => {
    const c = path.join(tmp, 'c');
    assert.match(run(['--out', c, '--init', path.join(a, 'epoch-002.pt'), '--lr', '0', '--min-lr', '0']).stdout, /initialised from .*epoch-002\.pt \(epoch 2 of its run\)/);
    const cmp = spawnSync(PY, ['-c', `import torch, sys
a = torch.load(sys.argv[1], weights_only=False)["model"]; b = torch.load(sys.argv[2], weights_only=False)["model"]
print(max((a[k] - b[k]).abs().max().item() for k in a))`, path.join(a, 'epoch-002.pt'), path.join(c, 'epoch-002.pt')], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(cmp.status, 0, cmp.stderr);
    assert.equal(Number(cmp.stdout.trim()), 0);
    assert.match(fs.readFileSync(path.join(c, 'config.json'), 'utf8'), /"init": ".*epoch-002\.pt"/);
  });

  test('--init into a wider MLP keeps the function: same logits, old units copied, new units with zero output weights', { skip: !PY && 'no Python (see above)' }, () => {
    const w = path.join(tmp, 'w');
    assert.match(run(['--out', w, '--mlp', '4', '--init', path.join(a, 'epoch-002.pt'), '--lr', '0', '--min-lr', '0']).stdout,
      /widened 2 MLPs from 64 to 128 hidden units/);
    const cmp = spawnSync(PY, ['-c', `import sys, torch
sys.path.insert(0, sys.argv[3])
import train_default as T
out = []
x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
for f in sys.argv[1:3]:
    ck = torch.load(f, weights_only=False)
    m = T.make_model(T.parse_args(["--smoke", "--mlp", str(ck["config"]["mlp"])]), torch)
    m.load_state_dict(ck["model"]); m.eval()
    with torch.no_grad(): out.append(m(pixel_values=x).logits)
print(m.config.intermediate_size, (out[0] - out[1]).abs().max().item(), out[0].abs().max().item())`,
    path.join(a, 'epoch-002.pt'), path.join(w, 'epoch-002.pt'), path.join(ROOT, 'tools/default-model')], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(cmp.status, 0, cmp.stderr);
    const [hidden, diff, scale] = cmp.stdout.trim().split(/\s+/).map(Number);
    assert.equal(hidden, 128);
    assert.ok(scale > 0.01, `logits too small to compare (${scale})`);
    assert.ok(diff <= 1e-6, `widened model's logits differ by ${diff}`);
  });

  test('--init refuses a checkpoint of another shape, naming the weight', { skip: !PY && 'no Python (see above)' }, () => {
    const r = spawnSync(PY, [SCRIPT, '--smoke', '--out', path.join(tmp, 'x'), '--patch', '8', '--init', path.join(a, 'epoch-002.pt')],
      { encoding: 'utf8', timeout: 300_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--init: vit\.embeddings\.\S+ has shape .* only a wider MLP can be grown/);
  });

  test('refuses to resume a run directory with a different config', { skip: !PY && 'no Python (see above)' }, () => {
    const r = spawnSync(PY, [SCRIPT, '--smoke', '--out', a, '--lr', '0.5'], { encoding: 'utf8', timeout: 300_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /different config/);
  });
});
