#!/usr/bin/env node
// `npm run bench`: vitrine (f32, f16, int8 weights) vs onnxruntime-web (WASM backend, f32 ONNX and its dynamically
// quantized int8 ONNX) and native PyTorch f32, same weights, same thread count.
//
//   node tools/bench/bench.mjs [--models vit-s16,dinov2-s14,vit-b16] [--threads 1,2] [--runs 7] [--warmup 2]
//                        [--rows vitrine-f32,vitrine-f16,vitrine-int8,ort-f32,ort-int8,torch] [--dtypes f32,f16,int8]
//                        [--no-ort] [--no-torch] [--no-mem] [--mem-threads N] [--python PATH] [--jsonl FILE] [--json] [--root DIR]
//   node tools/bench/bench.mjs --from-jsonl FILE [--profile]  (the tables again, from a --jsonl log)
//   node tools/bench/bench.mjs --gemm [--runs 9] [--json]
//   node tools/bench/bench.mjs --attention [--runs 9] [--json]
//   node tools/bench/bench.mjs --profile [--models M] [--threads T] [--dtypes f32,int8] [--runs 3] [--json]
//
// Models come from tools/bench/make_bench_models.py: build/bench-models/<name>/{hf/, model.onnx, model.int8.onnx,
// pixels.npy, logits.npy}; dinov2-b14 (DINOv2-B/14 at 518², 1370 tokens) is built only when asked for. The HF folder is
// converted with `vitrine convert` into <name>/vitrine/, and that into vitrine-f16/ and vitrine-int8/ (`--dtype`), when
// missing. Rows: vitrine-<dtype> (JS API load()), ort-f32 / ort-int8 (onnxruntime-web, model.onnx / model.int8.onnx),
// torch (tools/bench/torch_runner.py in the Python env: --python, default tools/.venv/bin/python; skipped with a note
// when that is missing). --dtypes keeps the rows of those dtypes; --no-ort / --no-torch drop those rows.
//
// Each (model, thread count) runs in its own child process in which every row is loaded, then timed in rounds:
// one forward of each row per round, the row order rotated every round, so that noise on a shared machine hits
// all rows alike and the ratios are meaningful even when absolute numbers move (the PyTorch row runs in its own
// Python process, driven over a pipe and idle while the others run). One process per thread count because
// onnxruntime-web fixes its thread count when its WASM module starts. Reported per row: median ms of `runs` rounds
// after `warmup` untimed ones; speed-up over onnxruntime-web f32; process CPU ms per forward (all threads; immune
// to waiting for a core); G(FL)OP/s per thread (2·MACs of every matmul incl. attention, from the architecture;
// GOP/s for int8, the same count); and, from a separate fresh process per row ("mem" child, --no-mem skips it, at
// the smallest --threads or --mem-threads N: the mt build's pthread workers add ~15 MB): cold load ms (module start included), peak RSS of that process after load + one forward
// (Node's own ~45 MB included), download bytes (vitrine: manifest + chunks; ONNX file; model.safetensors);
// cosine and max |Δ| of the logits against vitrine f32 and against torch's logits.npy.
// Load average (1 min) is recorded at the start and end of every child. --jsonl FILE appends every finished row
// and every timed round as one JSON line, so a long run (DINOv2-B/14 at 1 thread) loses nothing when stopped.
// --root DIR benchmarks the vitrine checkout at DIR (its src/js and dist/wasm), e.g. a copy with other builds.
// --gemm: the engine's Linear (ops.h) alone on ViT-B/16 shapes at 1 thread, f32 vs int8 weights (per-row
// quantized activations, integer GEMM): median ms, GFLOP/s (f32) and GOP/s (int8, 2 per multiply-add), and
// the f32/int8 time ratio, from build/wasm-st/vitrine-kernel-bench.js (`--gemm`, runs timed round-robin).
// --attention: the engine's attention (ops.h, one ViT-B layer: 12 heads of 64, K/V packing included) in f32 and
// in integers (the int8 models' kernel) at 197 and 1370 tokens, 1 thread (wasm-st) and 2 threads (wasm-mt):
// median ms and G(FL)OP/s (4·T²·D), next to the qkv Linear of the same dtype on the same tokens and threads
// (the GEMM rate to compare with), and the integer kernel's speed-up over f32, from vitrine-kernel-bench.js
// `--attention`.
// --profile: the vitrine rows only (--dtypes, default f32,int8), timed as above with the engine's stage profile
// switched on for the timed rounds (model.profile(), docs/KERNELS.md "Stage profile"); prints one table per
// (model, threads): ms per forward of every stage per dtype and its share of that dtype's total.
import { spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');

const MODELS = {
  'vit-s16': 'ViT-S/16',
  'dinov2-s14': 'DINOv2-S/14',
  'vit-b16': 'ViT-B/16',
  'dinov2-b14': 'DINOv2-B/14@518',
};
const DEFAULT_MODELS = ['vit-s16', 'dinov2-s14', 'vit-b16'];

// kind: who runs it; what: the vitrine folder (under the model dir) or ONNX file.
const ROWS = {
  'vitrine-f32': { kind: 'vitrine', dtype: 'f32', what: 'vitrine', label: 'vitrine f32' },
  'vitrine-f16': { kind: 'vitrine', dtype: 'f16', what: 'vitrine-f16', label: 'vitrine f16' },
  'vitrine-int8': { kind: 'vitrine', dtype: 'int8', what: 'vitrine-int8', label: 'vitrine int8' },
  'ort-f32': { kind: 'ort', dtype: 'f32', what: 'model.onnx', label: 'onnxruntime-web f32' },
  'ort-int8': { kind: 'ort', dtype: 'int8', what: 'model.int8.onnx', label: 'onnxruntime-web int8' },
  torch: { kind: 'torch', dtype: 'f32', what: 'hf/model.safetensors', label: 'PyTorch f32 (native)' },
};

function parseArgs(argv) {
  const o = { models: DEFAULT_MODELS, threads: [1, 2], runs: 7, warmup: 2, json: false, root: repo,
              benchDir: path.join(repo, 'build', 'bench-models'), child: null, memChild: null, gemm: false, attention: false,
              rows: Object.keys(ROWS), dtypes: null, ort: true, torch: true, mem: true, jsonl: null, fromJsonl: null,
              python: path.join(repo, 'tools', '.venv', 'bin', 'python') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--models') o.models = val().split(',').filter(Boolean);
    else if (a === '--threads') o.threads = val().split(',').map(Number);
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--warmup') o.warmup = Number(val());
    else if (a === '--rows') o.rows = val().split(',').filter(Boolean);
    else if (a === '--dtypes') o.dtypes = val().split(',').filter(Boolean);
    else if (a === '--json') o.json = true;
    else if (a === '--no-ort') o.ort = false;
    else if (a === '--no-torch') o.torch = false;
    else if (a === '--no-mem') o.mem = false;
    else if (a === '--mem-threads') o.memThreads = Number(val());
    else if (a === '--python') o.python = path.resolve(val());
    else if (a === '--jsonl') o.jsonl = path.resolve(val());
    else if (a === '--from-jsonl') o.fromJsonl = path.resolve(val());
    else if (a === '--root') o.root = path.resolve(val());
    else if (a === '--bench-dir') o.benchDir = path.resolve(val());
    else if (a === '--child') o.child = val();
    else if (a === '--mem-child') o.memChild = val();
    else if (a === '--gemm') o.gemm = true;
    else if (a === '--attention') o.attention = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '-h' || a === '--help') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 42).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.runs >= 1) || !(o.warmup >= 0)) throw new Error('--runs must be >= 1 and --warmup >= 0');
  for (const t of o.threads) if (!(Number.isInteger(t) && t >= 1)) throw new Error(`bad thread count ${t}`);
  for (const m of o.models) if (!MODELS[m]) throw new Error(`unknown model ${m} (one of ${Object.keys(MODELS).join(', ')})`);
  for (const r of o.rows) if (!ROWS[r]) throw new Error(`unknown row ${r} (one of ${Object.keys(ROWS).join(', ')})`);
  for (const d of o.dtypes ?? []) if (!['f32', 'f16', 'int8'].includes(d)) throw new Error(`unknown dtype ${d}`);
  if (o.profile) {
    o.dtypes ??= ['f32', 'int8'];
    o.rows = o.rows.filter((r) => ROWS[r].kind === 'vitrine');
    o.mem = false;
  }
  o.rows = o.rows.filter((r) => (!o.dtypes || o.dtypes.includes(ROWS[r].dtype)) && (o.ort || ROWS[r].kind !== 'ort') &&
    (o.torch || ROWS[r].kind !== 'torch'));
  return o;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const maxAbsDiff = (a, b) => {
  if (!a || !b || a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const cosine = (a, b) => {
  if (!a || !b || a.length !== b.length) return NaN;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
};
const load1 = () => os.loadavg()[0];
const appendJsonl = (file, obj) => { if (file) fs.appendFileSync(file, `${JSON.stringify(obj)}\n`); };

// FLOPs of one forward (2 per multiply-add) for the encoder + classifier, from the manifest's architecture
// (docs/FORMAT.md §4) and the token count of the run.
function forwardFlops(a, tokens) {
  const D = a.hidden_size, L = a.num_hidden_layers, P = a.patch_size, C = a.num_channels, I = a.intermediate_size;
  const prefix = 1 + (a.use_distillation_token ? 1 : 0) + (a.num_register_tokens || 0);
  const patches = tokens - prefix;
  const fc1Out = a.use_swiglu_ffn ? 2 * I : I;
  let macs = patches * C * P * P * D;
  macs += L * (tokens * D * 3 * D + tokens * D * D + tokens * D * fc1Out + tokens * I * D + 2 * tokens * tokens * D);
  const clsIn = a.classifier === 'cls+patchmean' ? 2 * D : D;
  macs += (a.num_labels || 0) * clsIn * (a.classifier === 'cls+dist' ? 2 : 1);
  return 2 * macs;
}

// Tokens of a forward at H×W (patches + class token + distillation / register tokens).
function tokensOf(a, H, W) {
  return (H / a.patch_size) * (W / a.patch_size) + 1 + (a.use_distillation_token ? 1 : 0) + (a.num_register_tokens || 0);
}

const dirBytes = (dir) => fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
function downloadBytes(dir, row) {
  const p = path.join(dir, ROWS[row].what);
  return ROWS[row].kind === 'vitrine' ? dirBytes(p) : fs.statSync(p).size;
}

// ------------------------------------------------------------------------------------------------------------
// Runners: one per row, { load(), run() → {ms, cpuMs}, out() → logits, close() }.

function timedCall(fn) {
  return async () => {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await fn();
    const ms = performance.now() - w0;
    const c = process.cpuUsage(c0);
    return { ms, cpuMs: (c.user + c.system) / 1e3 };
  };
}

async function makeRunner(opts, row, dir, threads, pixels) {
  const [, , H, W] = pixels.shape;
  const spec = ROWS[row];
  if (spec.kind === 'vitrine') {
    const { load } = await import(pathToFileURL(path.join(opts.root, 'src/js/index.js')).href);
    // The build load() picks, as a user gets it: mt for 2 threads, st for 1 (same kernels, no pthread worker).
    const model = await load(path.join(dir, spec.what), { threads });
    let last;
    return { info: { build: model.info.build, threads: model.info.threads },
             run: timedCall(async () => { last = (await model.forward(pixels.data, { height: H, width: W })).logits; }),
             out: async () => last, close: async () => model.dispose?.(),
             profile: (on) => model.profile?.(on) };
  }
  if (spec.kind === 'ort') {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    const session = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, spec.what)),
      { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const input = new ort.Tensor('float32', pixels.data, pixels.shape);
    const inputName = session.inputNames[0], outputName = session.outputNames[0];
    let last;
    return { info: { build: `ort ${ort.env.versions?.web ?? ''}`.trim(), threads },
             run: timedCall(async () => { last = (await session.run({ [inputName]: input }))[outputName].data; }),
             out: async () => last, close: async () => session.release?.() };
  }
  // torch: a Python process answering one JSON line per command.
  if (!fs.existsSync(opts.python)) throw new Error(`${opts.python} is missing (the Python env of tools/reference/; --python PATH or --no-torch)`);
  const p = spawn(opts.python, [path.join(here, 'torch_runner.py'), dir, '--threads', String(threads)],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('torch_runner.py ended early');
    const r = JSON.parse(value);
    if (r.error) throw new Error(`torch_runner.py: ${r.error}`);
    return r;
  };
  const ask = async (cmd) => { p.stdin.write(`${cmd}\n`); return next(); };
  const ready = await next();
  return { info: { build: `torch ${ready.torch}`, threads: ready.threads, loadMs: ready.loadMs },
           run: () => ask('run'), out: async () => Float32Array.from((await ask('out')).logits),
           rss: async () => (await ask('rss')).peakRssMB,
           close: async () => { p.stdin.write('quit\n'); p.stdin.end(); } };
}

async function readInputs(opts, name) {
  const dir = path.join(opts.benchDir, name);
  const { readNpy } = await import(pathToFileURL(path.join(opts.root, 'src/js/npy.js')).href);
  const pixels = readNpy(fs.readFileSync(path.join(dir, 'pixels.npy')), 'pixels.npy');
  const torchLogits = readNpy(fs.readFileSync(path.join(dir, 'logits.npy')), 'logits.npy').data;
  const arch = JSON.parse(fs.readFileSync(path.join(dir, 'vitrine', 'manifest.json'), 'utf8')).architecture;
  return { dir, pixels, torchLogits, arch };
}

const rssMB = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

// Mem child: one row in a fresh process: cold load, one forward, peak RSS.
async function memChild(opts) {
  const [name, threadsText, row] = opts.memChild.split(':');
  const threads = Number(threadsText);
  const { dir, pixels } = await readInputs(opts, name);
  if (ROWS[row].kind === 'vitrine') await import(pathToFileURL(path.join(opts.root, 'src/js/index.js')).href);
  if (ROWS[row].kind === 'ort') await import('onnxruntime-web');
  // Node + the runtime's JS, before any model: the part no model format changes (the torch row's is its own process)
  const baselineRssMB = ROWS[row].kind === 'torch' ? undefined : rssMB();
  const t0 = performance.now();
  const r = await makeRunner(opts, row, dir, threads, pixels);
  const loadMs = r.info.loadMs ?? performance.now() - t0;
  await r.run();
  const peakRssMB = r.rss ? await r.rss() : rssMB();
  await r.close();
  process.stdout.write(`@@RESULT ${JSON.stringify({ model: name, row, threads, loadMs, peakRssMB, baselineRssMB })}\n`);
  process.exit(0); // ORT's and vitrine's worker threads would otherwise keep the process alive
}

// Timing child: one model, one thread count, every row.
async function child(opts) {
  const [name, threadsText] = opts.child.split(':');
  const threads = Number(threadsText);
  const { dir, pixels, torchLogits, arch } = await readInputs(opts, name);
  const [, , H, W] = pixels.shape;
  const tokens = tokensOf(arch, H, W);
  const gflop = forwardFlops(arch, tokens) / 1e9;
  const loadStart = load1();
  const runners = {};
  for (const row of opts.rows) runners[row] = await makeRunner(opts, row, dir, threads, pixels);
  for (let i = 0; i < Math.max(1, opts.warmup); i++) for (const row of opts.rows) await runners[row].run();
  const outs = {};
  for (const row of opts.rows) outs[row] = await runners[row].out();
  const times = Object.fromEntries(opts.rows.map((r) => [r, []]));
  const cpu = Object.fromEntries(opts.rows.map((r) => [r, []]));
  if (opts.profile) for (const row of opts.rows) runners[row].profile?.(true);
  for (let i = 0; i < opts.runs; i++) {
    const round = { kind: 'round', model: name, threads, round: i, load1: load1() };
    for (let j = 0; j < opts.rows.length; j++) {
      const row = opts.rows[(i + j) % opts.rows.length];
      const t = await runners[row].run();
      times[row].push(t.ms);
      cpu[row].push(t.cpuMs);
      round[row] = Math.round(t.ms * 10) / 10;
    }
    appendJsonl(opts.jsonl, round);
  }
  const ref = outs['vitrine-f32'];
  const rows = opts.rows.map((row) => ({
    row, label: ROWS[row].label, kind: ROWS[row].kind, dtype: ROWS[row].dtype, build: runners[row].info.build,
    ms: median(times[row]), times: times[row], cpuMs: median(cpu[row]),
    cosVsF32: cosine(outs[row], ref), diffVsF32: maxAbsDiff(outs[row], ref),
    cosVsTorch: cosine(outs[row], torchLogits), diffVsTorch: maxAbsDiff(outs[row], torchLogits),
    downloadBytes: downloadBytes(dir, row),
    profile: opts.profile ? runners[row].profile?.() : undefined,
  }));
  for (const r of rows) r.gopsPerThread = gflop / (r.ms / 1e3) / threads;
  for (const row of opts.rows) await runners[row].close();
  const result = { kind: 'result', model: name, label: MODELS[name] ?? name, threads, runs: opts.runs,
                   warmup: opts.warmup, tokens, gflop, load1Start: loadStart, load1End: load1(), rows };
  process.stdout.write(`@@RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

// ------------------------------------------------------------------------------------------------------------
// Parent.
function ensureModel(opts, name) {
  const dir = path.join(opts.benchDir, name);
  const need = ['hf', 'pixels.npy', 'logits.npy', ...opts.rows.filter((r) => ROWS[r].kind === 'ort').map((r) => ROWS[r].what)];
  for (const f of need) {
    if (!fs.existsSync(path.join(dir, f))) {
      const how = f === 'model.int8.onnx' && fs.existsSync(path.join(dir, 'model.onnx')) ? ` --only ${name} --int8-onnx-only`
        : name === 'dinov2-b14' ? ' --only dinov2-b14 --no-verify-onnx' : '';
      throw new Error(`${path.join(dir, f)} is missing: run tools/bench/make_bench_models.py${how} first (see tools/bench/README.md)`);
    }
  }
  const convert = (from, to, dtype) => {
    if (fs.existsSync(path.join(dir, to, 'manifest.json'))) return;
    process.stderr.write(`converting ${name} → ${path.join(dir, to)}\n`);
    const r = spawnSync(process.execPath, [path.join(opts.root, 'src/js/cli.js'), 'convert', path.join(dir, from), '-o',
      path.join(dir, to), '--dtype', dtype], { stdio: ['ignore', 2, 2] }); // its report goes to stderr: stdout may be --json
    if (r.status !== 0) throw new Error(`vitrine convert failed for ${name} (${dtype})`);
  };
  convert('hf', 'vitrine', 'f32');
  for (const row of opts.rows) if (ROWS[row].kind === 'vitrine' && ROWS[row].dtype !== 'f32') convert('vitrine', ROWS[row].what, ROWS[row].dtype);
}

function runChild(opts, flag, arg, rows) {
  const args = [fileURLToPath(import.meta.url), flag, arg, '--runs', String(opts.runs),
    '--warmup', String(opts.warmup), '--root', opts.root, '--bench-dir', opts.benchDir, '--rows', rows.join(','),
    '--python', opts.python];
  if (opts.profile) args.push('--profile');
  if (opts.jsonl) args.push('--jsonl', opts.jsonl);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('@@RESULT '));
      if (code !== 0 || !line) reject(new Error(`bench child ${arg} failed (exit ${code})\n${out}`));
      else resolve(JSON.parse(line.slice(9)));
    });
  });
}

const f = (x, d = 0) => (x === undefined || x === null || Number.isNaN(x) ? '-' : x.toFixed(d));
const e = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' : x === 0 ? '0' : x.toExponential(1));
const cosText = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' : x >= 0.9999995 ? '1.000000' : x.toFixed(6));

// One line per (model, threads, row); mem results (load, RSS) joined in by (model, row).
function flatten(results, mems) {
  const out = [];
  for (const r of results) {
    const ortF32 = r.rows.find((q) => q.row === 'ort-f32');
    for (const q of r.rows) {
      const mem = mems.find((m) => m.model === r.model && m.row === q.row && m.threads === r.threads) ??
        mems.find((m) => m.model === r.model && m.row === q.row);
      const one = results.find((o) => o.model === r.model && o.threads === 1)?.rows.find((o) => o.row === q.row);
      out.push({ ...q, model: r.model, label: r.label, threads: r.threads, load1: [r.load1Start, r.load1End],
                 vsOrtF32: ortF32 ? ortF32.ms / q.ms : undefined, cpuVsOrtF32: ortF32 ? ortF32.cpuMs / q.cpuMs : undefined, scaling: r.threads > 1 && one ? one.ms / q.ms : undefined,
                 loadMs: mem?.loadMs, peakRssMB: mem?.peakRssMB, memThreads: mem?.threads,
                 baselineRssMB: q.kind === 'torch' ? undefined : mem?.baselineRssMB });
    }
  }
  return out;
}

function table(lines) {
  const head = ['model', 'thr', 'runtime', 'ms', '× ORT f32', 'CPU ms', 'CPU × ORT f32', 'G(FL)OP/s/thr', '2T speed-up', 'load ms',
    'peak RSS MB (before load)', 'download MB', 'cos vs vitrine f32', 'max |Δ| vs vitrine f32', 'max |Δ| vs torch', 'load avg'];
  const rows = lines.map((q) => [q.label, String(q.threads), ROWS[q.row].label,
    f(q.ms, q.ms < 1000 ? 1 : 0), q.vsOrtF32 ? `${f(q.vsOrtF32, 2)}×` : '-', f(q.cpuMs),
    q.cpuVsOrtF32 ? `${f(q.cpuVsOrtF32, 2)}×` : '-', f(q.gopsPerThread, 1),
    q.scaling ? `${f(q.scaling, 2)}×` : '', f(q.loadMs), `${f(q.peakRssMB)}${q.baselineRssMB ? ` (${f(q.baselineRssMB)})` : ''}`, f(q.downloadBytes / 1e6, 1),
    cosText(q.cosVsF32), e(q.diffVsF32), e(q.diffVsTorch), q.load1.map((x) => f(x, 1)).join('–')]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

// The issue's targets, checked per (model, threads) from the wall-time medians of one run.
function targets(lines) {
  const out = [];
  const mark = (ok) => (ok === undefined ? 'n/a ' : ok ? 'ok  ' : 'MISS');
  const get = (model, threads, row) => lines.find((q) => q.model === model && q.threads === threads && q.row === row);
  const keys = [...new Set(lines.map((q) => `${q.model}:${q.threads}`))].map((k) => k.split(':'));
  for (const [model, t] of keys) {
    const threads = Number(t);
    const v32 = get(model, threads, 'vitrine-f32'), v8 = get(model, threads, 'vitrine-int8');
    const o32 = get(model, threads, 'ort-f32'), o8 = get(model, threads, 'ort-int8'), pt = get(model, threads, 'torch');
    const label = `${MODELS[model]} ${threads}T`;
    if (v32 && o32 && model !== 'dinov2-s14') out.push(`${mark(o32.ms / v32.ms >= 1.5)} ${label}: vitrine f32 ${f(o32.ms / v32.ms, 2)}× onnxruntime-web f32 (≥ 1.5×; CPU time ${f(o32.cpuMs / v32.cpuMs, 2)}×)`);
    if (['vit-b16', 'dinov2-b14'].includes(model) && v8) {
      if (o32) out.push(`${mark(o32.ms / v8.ms >= 2.5)} ${label}: vitrine int8 ${f(o32.ms / v8.ms, 2)}× onnxruntime-web f32 (≥ 2.5×; CPU time ${f(o32.cpuMs / v8.cpuMs, 2)}×)`);
      if (o8) out.push(`${mark(o8.ms / v8.ms >= 1.5)} ${label}: vitrine int8 ${f(o8.ms / v8.ms, 2)}× onnxruntime-web int8 (≥ 1.5×; CPU time ${f(o8.cpuMs / v8.cpuMs, 2)}×)`);
    }
    if (model === 'dinov2-b14' && threads === 2 && v8 && pt) {
      out.push(`${mark(v8.ms < pt.ms)} ${label}: vitrine int8 ${f(v8.ms, 0)} ms vs PyTorch f32 ${f(pt.ms, 0)} ms (target: faster; CPU ms ${f(v8.cpuMs, 0)} vs ${f(pt.cpuMs, 0)})`);
    }
    if (threads === Math.min(...lines.filter((q) => q.model === model).map((q) => q.threads)) && v32) {
      const v16 = get(model, threads, 'vitrine-f16');
      if (v8) out.push(`${mark(v8.downloadBytes / v32.downloadBytes <= 0.27)} ${MODELS[model]}: int8 download ${f(v8.downloadBytes / v32.downloadBytes, 3)}× f32 (≤ 0.27×)`);
      if (v16) out.push(`${mark(v16.downloadBytes / v32.downloadBytes <= 0.52)} ${MODELS[model]}: f16 download ${f(v16.downloadBytes / v32.downloadBytes, 3)}× f32 (≤ 0.52×)`);
      if (v8?.peakRssMB) {
        const limit = 0.35 * v32.downloadBytes / 2 ** 20 + 64;
        const above = v8.baselineRssMB ? `; ${f(v8.peakRssMB - v8.baselineRssMB)} MB above the ${f(v8.baselineRssMB)} MB of Node + vitrine's JS before the load` : '';
        out.push(`${mark(v8.peakRssMB <= limit)} ${MODELS[model]}: int8 peak RSS ${f(v8.peakRssMB)} MB (≤ 0.35 × f32 weights + 64 MB = ${f(limit)} MB; f32 ${f(v32.peakRssMB)} MB${above})`);
      }
    }
  }
  return out.join('\n');
}

function report(results, mems, opts) {
  const lines = flatten(results, mems);
  const host = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() };
  if (opts.json) return console.log(JSON.stringify({ host, results, mems }, null, 2));
  console.log(table(lines));
  console.log(`\ntargets:\n${targets(lines)}`);
  const memThreads = [...new Set(mems.map((m) => m.threads))];
  console.log(`\nmedian of ${results[0]?.runs} rounds after ${results[0]?.warmup} warm-up, every row once per round (order` +
    ` rotated) in one process per (model, threads); load ms and peak RSS from a fresh process per row at` +
    ` ${memThreads.join('/') || '-'} thread(s); ${host.cpu}, ${host.cpus} CPUs, Node ${host.node}, load average now` +
    ` ${host.loadavg.map((x) => x.toFixed(2)).join(' ')}`);
}

// --profile: per (model, threads), every stage's ms per forward for each dtype and its share of that dtype's total.
function profileReport(results, opts) {
  if (opts.json) return console.log(JSON.stringify({ host: { cpu: os.cpus()[0]?.model, node: process.version }, results }, null, 2));
  for (const r of results) {
    const rows = r.rows.filter((x) => x.profile);
    if (!rows.length) { console.log(`\n${r.label}, ${r.threads} thread(s): no profile (this checkout's model has no profile())`); continue; }
    const perForward = (x, i) => x.profile.stages[i].ms / x.profile.forwards;
    const totals = rows.map((x) => x.profile.stages.reduce((a, s) => a + s.ms, 0) / x.profile.forwards);
    console.log(`\n${r.label}, ${r.threads} thread(s), ${r.tokens} tokens: ms per forward (share), ` +
      `${rows[0].profile.forwards} profiled forwards; load average ${r.load1Start.toFixed(2)} → ${r.load1End.toFixed(2)}`);
    console.log(`| stage | ${rows.map((x) => x.label).join(' | ')} |`);
    console.log(`|---|${rows.map(() => '---|').join('')}`);
    for (let i = 0; i < rows[0].profile.stages.length; i++) {
      const cells = rows.map((x, j) => `${f(perForward(x, i), 1)} (${f((100 * perForward(x, i)) / totals[j], 1)}%)`);
      console.log(`| ${rows[0].profile.stages[i].name} | ${cells.join(' | ')} |`);
    }
    console.log(`| total (stages) | ${totals.map((t) => f(t, 1)).join(' | ')} |`);
    console.log(`| median forward (wall, JS) | ${rows.map((x) => f(x.ms, 1)).join(' | ')} |`);
  }
}

// One run of a WASM kernel-bench program (build/wasm-<variant>/vitrine-kernel-bench.js), its "<tag> {...}" lines.
function kernelBench(opts, variant, mode, tag) {
  const prog = path.join(opts.root, 'build', `wasm-${variant}`, 'vitrine-kernel-bench.js');
  if (!fs.existsSync(prog)) throw new Error(`${prog} is missing: run \`npm run build\` first`);
  // build/wasm-*/package.json marks the programs CommonJS; Emscripten 3.1.6 reads the .wasm without fetch.
  const r = spawnSync(process.execPath, ['--no-experimental-fetch', prog, String(opts.runs), mode],
    { encoding: 'utf8', maxBuffer: 16 << 20 });
  const rows = (r.stdout ?? '').split('\n').filter((l) => l.startsWith(`${tag} `)).map((l) => JSON.parse(l.slice(tag.length + 1)));
  if (r.status !== 0 || !rows.length) throw new Error(`${prog} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return rows;
}

// --gemm: the st kernel-bench program's "@@GEMM {...}" lines as rows.
function gemmBench(opts) {
  const rows = kernelBench(opts, 'st', '--gemm', '@@GEMM');
  for (const row of rows) row.ratio = row.f32_ms / row.int8_ms;
  const host = { cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() };
  if (opts.json) return console.log(JSON.stringify({ host, gemm: rows }, null, 2));
  console.log('| shape (m×n×k) | f32 ms | int8 ms | f32 GFLOP/s | int8 GOP/s | int8 speed-up |');
  console.log('|---|---|---|---|---|---|');
  for (const g of rows) {
    const dims = g.m ? ` ${g.m}×${g.n}×${g.k}` : '';
    console.log(`| ${g.shape}${dims} | ${f(g.f32_ms, 2)} | ${f(g.int8_ms, 2)} | ${f(g.f32_gflops, 1)} | ${f(g.int8_gops, 1)} | ${f(g.ratio, 2)}× |`);
  }
  console.log(`\nmedian of ${opts.runs} runs, 1 thread (wasm-st), f32 and int8 interleaved; ${host.cpu}, Node ${host.node},` +
    ` load average ${host.loadavg.map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs`);
}

// --attention: "@@ATTN {...}" rows, 1 thread from the st build and 2 threads from the mt build.
function attentionBench(opts) {
  const rows = [...kernelBench(opts, 'st', '--attention', '@@ATTN'),
    ...kernelBench(opts, 'mt', '--attention', '@@ATTN').filter((r) => r.threads > 1)];
  for (const row of rows) row.ratio = row.attention_gflops / row.qkv_gflops;
  const host = { cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() };
  if (opts.json) return console.log(JSON.stringify({ host, attention: rows }, null, 2));
  // The integer kernel (int8 models) beside the f32 one of the same (tokens, threads): its speed-up over f32.
  const f32Of = (a) => rows.find((r) => r.tokens === a.tokens && r.threads === a.threads && (r.math ?? 'f32') === 'f32');
  console.log('| tokens | threads | attention | attention ms | attention G(FL)OP/s | qkv Linear (same dtype) G(FL)OP/s |' +
    ' attention / GEMM rate | attention speed-up vs f32 |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const a of rows) {
    const base = f32Of(a);
    console.log(`| ${a.tokens} (${a.heads}×${a.head_dim}) | ${a.threads} | ${a.math ?? 'f32'} | ${f(a.attention_ms, 2)} |` +
      ` ${f(a.attention_gflops, 1)} | ${f(a.qkv_gflops, 1)} | ${f(a.ratio, 2)} | ${base ? f(base.attention_ms / a.attention_ms, 2) + '×' : '-'} |`);
  }
  console.log(`\nmedian of ${opts.runs} runs, f32 and integer attention and their qkv Linears interleaved; 1 thread wasm-st, 2 threads wasm-mt;` +
    ` ${host.cpu}, Node ${host.node}, load average ${host.loadavg.map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.child) return child(opts);
  if (opts.memChild) return memChild(opts);
  if (opts.gemm) return gemmBench(opts);
  if (opts.attention) return attentionBench(opts);
  if (opts.fromJsonl) {
    const all = fs.readFileSync(opts.fromJsonl, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const results = all.filter((x) => x.kind === 'result');
    return opts.profile ? profileReport(results, opts) : report(results, all.filter((x) => x.kind === 'mem'), opts);
  }
  if (opts.rows.includes('torch') && !fs.existsSync(opts.python)) {
    process.stderr.write(`note: ${opts.python} is missing, no PyTorch row (--python PATH)\n`);
    opts.rows = opts.rows.filter((r) => r !== 'torch');
  }
  const results = [], mems = [];
  const memThreads = opts.memThreads ?? Math.min(...opts.threads);
  for (const name of opts.models) {
    ensureModel(opts, name);
    if (opts.mem) {
      for (const row of opts.rows) {
        if (!opts.json) process.stderr.write(`mem ${name} ${row} threads=${memThreads} ...\n`);
        const m = { kind: 'mem', ...await runChild(opts, '--mem-child', `${name}:${memThreads}:${row}`, opts.rows), load1: load1() };
        mems.push(m);
        appendJsonl(opts.jsonl, m);
      }
    }
    for (const t of opts.threads) {
      if (!opts.json) process.stderr.write(`bench ${name} threads=${t} ...\n`);
      const r = await runChild(opts, '--child', `${name}:${t}`, opts.rows);
      results.push(r);
      appendJsonl(opts.jsonl, r);
    }
  }
  if (opts.profile) profileReport(results, opts);
  else report(results, mems, opts);
}

main().catch((err) => {
  console.error(err?.stack ?? String(err));
  process.exit(1);
});
