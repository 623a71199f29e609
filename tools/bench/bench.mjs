#!/usr/bin/env node
// `npm run bench`: vitrine vs onnxruntime-web (WASM backend, same thread count) on the same weights.
//
//   node tools/bench/bench.mjs [--models vit-s16,dinov2-s14,vit-b16] [--threads 1,2] [--runs 7] [--warmup 2]
//                        [--json] [--no-ort] [--root DIR]
//   node tools/bench/bench.mjs --gemm [--runs 9] [--json]
//
// Models come from tools/bench/make_bench_models.py: build/bench-models/<name>/{hf/, model.onnx, pixels.npy,
// logits.npy}. The HF folder is converted with `vitrine convert` into <name>/vitrine/ when that is missing.
//
// Each (model, thread count) runs in its own child process, in which vitrine and onnxruntime-web are both
// loaded and timed with their runs interleaved (v, o, v, o, ...): on a shared machine the noise then hits both
// alike, and the ratio is meaningful even when absolute numbers move. One process per thread count because
// onnxruntime-web fixes its thread count when its WASM module starts. Reported per row:
//   median ms of `runs` timed forwards after `warmup` untimed ones (interleaved; the 2-thread scaling is also
//   given from `runs` vitrine forwards timed before onnxruntime-web is loaded); ORT/vitrine ratio; the same for the
//   process CPU time per forward (all threads; immune to waiting for a core on a busy machine); GFLOP/s per thread
//   (FLOPs counted from the architecture: 2·MACs of every matmul incl. attention); cold load ms (load() from
//   the model folder, including starting the WASM module); peak RSS of the process measured after vitrine's
//   load + warm-up and before onnxruntime-web is touched (it includes Node's own ~40-50 MB); max |Δ| of the
//   logits between vitrine, onnxruntime-web and torch.
// --root DIR benchmarks the vitrine checkout at DIR (its src/js and dist/wasm), e.g. a copy with other builds.
// --gemm: the engine's Linear (ops.h) alone on ViT-B/16 shapes at 1 thread, f32 vs int8 weights (per-row
// quantized activations, integer GEMM): median ms, GFLOP/s (f32) and GOP/s (int8, 2 per multiply-add), and
// the f32/int8 time ratio, from build/wasm-st/vitrine-kernel-bench.js (`--gemm`, runs timed round-robin).
import { spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');

const MODELS = {
  'vit-s16': 'ViT-S/16',
  'dinov2-s14': 'DINOv2-S/14',
  'vit-b16': 'ViT-B/16',
};

function parseArgs(argv) {
  const o = { models: Object.keys(MODELS), threads: [1, 2], runs: 7, warmup: 2, json: false, ort: true, root: repo,
              benchDir: path.join(repo, 'build', 'bench-models'), child: null, gemm: false };
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
    else if (a === '--json') o.json = true;
    else if (a === '--no-ort') o.ort = false;
    else if (a === '--root') o.root = path.resolve(val());
    else if (a === '--bench-dir') o.benchDir = path.resolve(val());
    else if (a === '--child') o.child = val();
    else if (a === '--gemm') o.gemm = true;
    else if (a === '-h' || a === '--help') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 24).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.runs >= 1) || !(o.warmup >= 0)) throw new Error('--runs must be >= 1 and --warmup >= 0');
  for (const t of o.threads) if (!(Number.isInteger(t) && t >= 1)) throw new Error(`bad thread count ${t}`);
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

// ------------------------------------------------------------------------------------------------------------
// Child: one model, one thread count.
async function child(opts) {
  const [name, threadsText] = opts.child.split(':');
  const threads = Number(threadsText);
  const dir = path.join(opts.benchDir, name);
  const { readNpy } = await import(pathToFileURL(path.join(opts.root, 'src/js/npy.js')).href);
  const { load } = await import(pathToFileURL(path.join(opts.root, 'src/js/index.js')).href);
  const pixels = readNpy(fs.readFileSync(path.join(dir, 'pixels.npy')), 'pixels.npy');
  const torchLogits = readNpy(fs.readFileSync(path.join(dir, 'logits.npy')), 'logits.npy').data;
  const [, , H, W] = pixels.shape;
  const rssMB = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
  const result = { model: name, label: MODELS[name] ?? name, threads, runs: opts.runs, warmup: opts.warmup,
                   baselineRssMB: rssMB() };

  // vitrine: cold load, warm-up, then its peak RSS before onnxruntime-web exists in the process.
  let t0 = performance.now();
  // The build load() picks, as a user gets it: mt for 2 threads, st for 1 (same kernels, no pthread worker).
  const model = await load(path.join(dir, 'vitrine'), { threads });
  result.vitrineLoadMs = performance.now() - t0;
  result.vitrineThreads = model.info.threads;
  result.vitrineBuild = model.info.build;
  result.weightBytes = model.info.streamSize;
  const vForward = () => model.forward(pixels.data, { height: H, width: W });
  let vOut;
  for (let i = 0; i < opts.warmup; i++) vOut = await vForward();
  if (!vOut) vOut = await vForward();
  result.peakRssMB = rssMB();
  result.rssLimitMB = 1.2 * result.weightBytes / 2 ** 20 + 64;
  result.tokens = vOut.numTokens;
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'vitrine', 'manifest.json'), 'utf8'));
  result.gflop = forwardFlops(manifest.architecture, vOut.numTokens) / 1e9;
  result.diffVitrineTorch = maxAbsDiff(vOut.logits, torchLogits);
  // vitrine alone, before onnxruntime-web exists in the process: the 2-thread scaling is taken from these. With
  // onnxruntime-web's module and workers in the process, vitrine's 2-thread runs are ~8 % slower (measured on
  // ViT-S: 121-125 ms alone, 131-134 ms interleaved, with or without a pause between calls; 1 thread: no change).
  // Besides wall time, each timed call records the process CPU time (all threads): on a shared machine wall
  // time includes waiting for a core, CPU time does not, so its ratio is the steadier one.
  const timed = async (fn, times, cpu) => {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await fn();
    times.push(performance.now() - w0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
  };
  const aloneTimes = [];
  for (let i = 0; i < opts.runs; i++) await timed(vForward, aloneTimes, []);
  result.vitrineAloneMs = median(aloneTimes);

  let oRun = null, oOut = null;
  if (opts.ort) {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    t0 = performance.now();
    const session = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, 'model.onnx')),
      { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    result.ortLoadMs = performance.now() - t0;
    const input = new ort.Tensor('float32', pixels.data, pixels.shape);
    const inputName = session.inputNames[0], outputName = session.outputNames[0];
    oRun = async () => (await session.run({ [inputName]: input }))[outputName].data;
    for (let i = 0; i < opts.warmup; i++) oOut = await oRun();
    if (!oOut) oOut = await oRun();
    result.diffOrtTorch = maxAbsDiff(oOut, torchLogits);
    result.diffVitrineOrt = maxAbsDiff(vOut.logits, oOut);
  }

  // Interleaved timed runs.
  const vTimes = [], oTimes = [], vCpu = [], oCpu = [];
  for (let i = 0; i < opts.runs; i++) {
    await timed(vForward, vTimes, vCpu);
    if (oRun) await timed(oRun, oTimes, oCpu);
  }
  result.vitrineMs = median(vTimes);
  result.vitrineTimes = vTimes;
  result.vitrineCpuMs = median(vCpu);
  if (oRun) {
    result.ortMs = median(oTimes);
    result.ortTimes = oTimes;
    result.ortCpuMs = median(oCpu);
    result.speedup = result.ortMs / result.vitrineMs;
    result.cpuSpeedup = result.ortCpuMs / result.vitrineCpuMs;
  }
  result.gflopsPerThread = result.gflop / (result.vitrineMs / 1e3) / threads;
  await model.dispose?.();
  process.stdout.write(`@@RESULT ${JSON.stringify(result)}\n`);
  process.exit(0); // ORT's and vitrine's worker threads would otherwise keep the process alive
}

// ------------------------------------------------------------------------------------------------------------
// Parent.
function ensureConverted(opts, name) {
  const dir = path.join(opts.benchDir, name);
  const need = ['hf', 'model.onnx', 'pixels.npy', 'logits.npy'];
  for (const f of need) {
    if (!fs.existsSync(path.join(dir, f))) {
      throw new Error(`${path.join(dir, f)} is missing: run tools/bench/make_bench_models.py first (see tools/bench/README.md)`);
    }
  }
  if (fs.existsSync(path.join(dir, 'vitrine', 'manifest.json'))) return;
  process.stderr.write(`converting ${name} → ${path.join(dir, 'vitrine')}\n`);
  const r = spawnSync(process.execPath, [path.join(opts.root, 'src/js/cli.js'), 'convert', path.join(dir, 'hf'), '-o',
    path.join(dir, 'vitrine')], { stdio: ['ignore', 2, 2] }); // its report goes to stderr: stdout may be --json
  if (r.status !== 0) throw new Error(`vitrine convert failed for ${name}`);
}

function runChild(opts, name, threads) {
  const args = [fileURLToPath(import.meta.url), '--child', `${name}:${threads}`, '--runs', String(opts.runs),
    '--warmup', String(opts.warmup), '--root', opts.root, '--bench-dir', opts.benchDir];
  if (!opts.ort) args.push('--no-ort');
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('@@RESULT '));
      if (code !== 0 || !line) reject(new Error(`bench child ${name}:${threads} failed (exit ${code})\n${out}`));
      else resolve(JSON.parse(line.slice(9)));
    });
  });
}

const f = (x, d = 0) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
const e = (x) => (x === undefined || Number.isNaN(x) ? '-' : x.toExponential(1));

function table(results) {
  const head = ['model', 'thr', 'vitrine ms', 'ORT ms', 'ORT/vitrine', 'CPU ms v/ORT', 'CPU ratio', 'GFLOP/s/thr',
    'scaling (alone · interleaved)', 'load ms v/ORT',
    'peak RSS MB (limit)', '|Δ| v-ORT', '|Δ| v-torch', '|Δ| ORT-torch'];
  const rows = results.map((r) => {
    const one = results.find((q) => q.model === r.model && q.threads === 1);
    const scaling = r.threads > 1 && one
      ? `${f(one.vitrineAloneMs / r.vitrineAloneMs, 2)}× · ${f(one.vitrineMs / r.vitrineMs, 2)}×` : '';
    return [r.label, `${r.threads} (${r.vitrineBuild})`, f(r.vitrineMs, 1), f(r.ortMs, 1), r.speedup ? `${f(r.speedup, 2)}×` : '-',
      `${f(r.vitrineCpuMs)} / ${f(r.ortCpuMs)}`, r.cpuSpeedup ? `${f(r.cpuSpeedup, 2)}×` : '-', f(r.gflopsPerThread, 1), scaling, `${f(r.vitrineLoadMs)} / ${f(r.ortLoadMs)}`,
      `${f(r.peakRssMB)} (${f(r.rssLimitMB)})`, e(r.diffVitrineOrt), e(r.diffVitrineTorch), e(r.diffOrtTorch)];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

// The targets, checked per row (wall-time medians, like the table).
function targets(results) {
  const lines = [];
  const mark = (ok) => (ok ? 'ok  ' : 'MISS');
  for (const r of results) {
    const one = results.find((q) => q.model === r.model && q.threads === 1);
    if (r.speedup !== undefined) {
      lines.push(`${mark(r.speedup >= 1.5)} ${r.label} ${r.threads}T: ${r.speedup.toFixed(2)}× vs onnxruntime-web (≥ 1.5×; CPU time ${r.cpuSpeedup.toFixed(2)}×)`);
    }
    if (r.threads > 1 && one) {
      const sc = one.vitrineAloneMs / r.vitrineAloneMs;
      lines.push(`${mark(sc >= 1.8)} ${r.label} ${r.threads}T: speed-up ${sc.toFixed(2)}× over 1 thread (≥ 1.8×; ` +
        `${(one.vitrineMs / r.vitrineMs).toFixed(2)}× in the runs interleaved with onnxruntime-web)`);
    }
    if (r.model === 'vit-b16' && r.threads === 1) {
      lines.push(`${mark(r.gflopsPerThread >= 45)} ${r.label} 1T: ${r.gflopsPerThread.toFixed(1)} GFLOP/s per core (≥ 45)`);
    }
    if (r.threads === 1) {
      lines.push(`${mark(r.peakRssMB <= r.rssLimitMB)} ${r.label}: peak RSS ${r.peakRssMB.toFixed(0)} MB (≤ ${r.rssLimitMB.toFixed(0)})`);
    }
  }
  return lines.join('\n');
}

// --gemm: one run of the WASM kernel-bench program, its "@@GEMM {...}" lines as rows.
function gemmBench(opts) {
  const prog = path.join(opts.root, 'build', 'wasm-st', 'vitrine-kernel-bench.js');
  if (!fs.existsSync(prog)) throw new Error(`${prog} is missing: run \`npm run build\` first`);
  // build/wasm-st/package.json marks the programs CommonJS; Emscripten 3.1.6 reads the .wasm without fetch.
  const r = spawnSync(process.execPath, ['--no-experimental-fetch', prog, String(opts.runs), '--gemm'],
    { encoding: 'utf8', maxBuffer: 16 << 20 });
  const rows = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('@@GEMM ')).map((l) => JSON.parse(l.slice(7)));
  if (r.status !== 0 || !rows.length) throw new Error(`${prog} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
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

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.child) return child(opts);
  if (opts.gemm) return gemmBench(opts);
  const results = [];
  for (const name of opts.models) {
    ensureConverted(opts, name);
    for (const t of opts.threads) {
      if (!opts.json) process.stderr.write(`bench ${name} threads=${t} ...\n`);
      results.push(await runChild(opts, name, t));
    }
  }
  if (opts.json) {
    console.log(JSON.stringify({ host: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version,
      loadavg: os.loadavg() }, results }, null, 2));
  } else {
    console.log(table(results));
    console.log(`\ntargets:\n${targets(results)}`);
    console.log(`\nmedian of ${opts.runs} runs after ${opts.warmup} warm-up, vitrine and ORT interleaved in one process per row;` +
      ` load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs`);
  }
}

main().catch((err) => {
  console.error(err?.stack ?? String(err));
  process.exit(1);
});
