#!/usr/bin/env node
// `npm run fuzz`: builds the libFuzzer targets (wasm-tests/fuzz/*_fuzz.cpp) with ASan + UBSan in build/fuzz and
// runs each for a set time, keeping its corpus in build/fuzz/corpus/<target>/ (git-ignored) between runs.
//
//   node tools/fuzz/run.mjs [--seconds 600] [--targets manifest,image,chunks,npy] [--parallel 1]
//
// A crash, leak, sanitizer report or timeout is copied to wasm-tests/fuzz/regressions/<target>/ (named by its
// SHA-1) for committing next to the engine fix; wasm-tests/native/fuzz.test.js replays every file there.
// The functions below are what that test uses too, so the build, the seeds and the flags live here only.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = path.join(ROOT, 'build/fuzz');
export const CXX = process.env.VITRINE_FUZZ_CXX ?? 'clang++-14';
const FUZZ_DIR = path.join(ROOT, 'wasm-tests/fuzz');
const PHOTOS = path.resolve(ROOT, '../shared/photos');

// Per target: the longest input (bytes), a dictionary, and a per-input time limit (s) that a hang exceeds.
export const TARGETS = {
  manifest: { maxLen: 65536, dict: 'manifest.dict', timeout: 10 },
  image: { maxLen: 262144, timeout: 30 },
  chunks: { maxLen: 4096, timeout: 10 },
  npy: { maxLen: 16384, timeout: 10 },
};

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  return r.stdout;
}

/** Configure + build build/fuzz: the engine, its test drivers and every fuzz target, all under ASan + UBSan. */
export function build() {
  const cc = CXX.replace(/\+\+/, '');
  run('cmake', ['-S', '.', '-B', BUILD, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release', `-DCMAKE_CXX_COMPILER=${CXX}`,
    `-DCMAKE_C_COMPILER=${cc}`, '-DVITRINE_FUZZ=ON']);
  run('cmake', ['--build', BUILD, '-j', '2']);
}

export const binary = (target) => path.join(BUILD, `fuzz-${target}`);

/** The converted model the chunks target loads: a fixture in 4 KiB chunks (several full groups of four). */
export function chunkModel() {
  const dir = path.join(BUILD, 'model');
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) {
    run(process.execPath, ['src/js/cli.js', 'convert', 'wasm-tests/fixtures/models/vit-eps/hf', '-o', dir, '--chunk-size', '4096']);
  }
  return dir;
}

/** Environment of a target's process: ASan/UBSan options, and the chunks target's model. */
export function env(target) {
  return {
    ...process.env,
    ASAN_OPTIONS: 'detect_leaks=1:allocator_may_return_null=1:abort_on_error=1',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
    ...(target === 'chunks' ? { VITRINE_FUZZ_MODEL: chunkModel() } : {}),
  };
}

function listFiles(dir, filter = () => true) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map((f) => path.join(dir, String(f)))
    .filter((f) => fs.statSync(f).isFile() && filter(f)).sort();
}

/** Committed inputs a target must survive: wasm-tests/fuzz/regressions/<target>/. */
export const regressions = (target) => listFiles(path.join(FUZZ_DIR, 'regressions', target));

/**
 * Seed inputs, written to build/fuzz/seeds/<target>/ at run time from the repo's fixtures (and the photos in
 * ../shared/photos, which are never committed here). Returns the folder.
 */
export function seeds(target) {
  const dir = path.join(BUILD, 'seeds', target);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const put = (bytes) => fs.writeFileSync(path.join(dir, crypto.createHash('sha1').update(bytes).digest('hex')), bytes);
  if (target === 'manifest') {
    put(fs.readFileSync(path.join(ROOT, 'weights/cifar10-vit/manifest.json')));
    put(fs.readFileSync(path.join(chunkModel(), 'manifest.json')));
    // One converted model per kind of architecture the reader validates differently.
    for (const name of ['deit-teacher', 'dinov2-registers', 'dinov2-swiglu', 'head-sigmoid']) {
      const out = path.join(BUILD, 'converted', name);
      if (!fs.existsSync(path.join(out, 'manifest.json'))) {
        const src = path.join('wasm-tests/fixtures/models', name, 'hf');
        run(process.execPath, ['src/js/cli.js', 'convert', src, '-o', out, '--chunk-size', '4096']);
      }
      put(fs.readFileSync(path.join(out, 'manifest.json')));
    }
  } else if (target === 'image') {
    // 4 config bytes (see image_fuzz.cpp) + the file: a 4-megapixel budget, each image with another filter/size.
    const images = [...listFiles(path.join(ROOT, 'wasm-tests/fixtures/pixels/inputs')),
      ...listFiles(PHOTOS, (f) => /\.(jpe?g|png|gif|bmp)$/i.test(f))];
    images.forEach((f, i) => {
      const bytes = fs.readFileSync(f);
      if (bytes.length > TARGETS.image.maxLen - 4) return;
      put(Buffer.concat([Buffer.from([0x0e | ((i * 0x35) & 0xf1), i * 7, i * 13, i * 3]), bytes]));
    });
  } else if (target === 'npy') {
    for (const f of listFiles(path.join(ROOT, 'wasm-tests/fixtures/models'), (f) => f.endsWith('.npy'))) {
      if (fs.statSync(f).size <= TARGETS.npy.maxLen) put(fs.readFileSync(f));
    }
  } else if (target === 'chunks') {
    // Byte strings that drive a whole correct load then a corrupted reload (FuzzedDataProvider reads choices
    // from the end of the input); the fuzzer grows the rest.
    put(Buffer.from([3, 2, 0, 5, 3, 2, 0]));
    put(Buffer.from([3, 1, 0, 0, 1, 0, 4, 1, 0, 2]));
  }
  return dir;
}

/** Every committed regression and every seed, once each (libFuzzer runs files given as arguments once). */
export function replay(target) {
  const files = [...regressions(target), ...listFiles(seeds(target))];
  const r = spawnSync(binary(target), [`-timeout=${TARGETS[target].timeout}`, ...files],
    { cwd: ROOT, env: env(target), encoding: 'utf8', maxBuffer: 256 << 20 });
  return { status: r.status, files: files.length, log: (r.stderr ?? '') + (r.stdout ?? '') };
}

/**
 * Fuzz one target for `seconds`. corpus: the folder that keeps what it finds. Crash inputs go to
 * build/fuzz/crashes/<target>/ and are copied to wasm-tests/fuzz/regressions/<target>/ when `keep` is set.
 * Resolves to { status, execsPerSec, corpus, crashes: [files], log }.
 */
export function fuzz(target, seconds, { corpus = path.join(BUILD, 'corpus', target), keep = true, nice = 0 } = {}) {
  const t = TARGETS[target];
  const crashDir = path.join(BUILD, 'crashes', target);
  fs.mkdirSync(corpus, { recursive: true });
  fs.mkdirSync(crashDir, { recursive: true });
  const before = new Set(fs.readdirSync(crashDir));
  const args = [`-max_total_time=${seconds}`, `-max_len=${t.maxLen}`, `-timeout=${t.timeout}`, '-rss_limit_mb=2560',
    '-print_final_stats=1', `-artifact_prefix=${crashDir}/`, ...(t.dict ? [`-dict=${path.join(FUZZ_DIR, t.dict)}`] : []),
    corpus, seeds(target)];
  const [cmd, argv] = nice ? ['nice', ['-n', String(nice), binary(target), ...args]] : [binary(target), args];
  return new Promise((resolve) => {
    const p = spawn(cmd, argv, { cwd: ROOT, env: env(target) });
    let log = '';
    p.stderr.on('data', (d) => { log = (log + d).slice(-1 << 20); });
    p.stdout.on('data', (d) => { log = (log + d).slice(-1 << 20); });
    p.on('close', (status) => {
      const crashes = fs.readdirSync(crashDir).filter((f) => !before.has(f)).map((f) => path.join(crashDir, f));
      if (keep) {
        const dest = path.join(FUZZ_DIR, 'regressions', target);
        for (const f of crashes) {
          fs.mkdirSync(dest, { recursive: true });
          const bytes = fs.readFileSync(f);
          fs.writeFileSync(path.join(dest, crypto.createHash('sha1').update(bytes).digest('hex')), bytes);
        }
      }
      const runs = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(log)?.[1] ?? 0);
      const elapsed = Number(/Done \d+ runs in (\d+) second/.exec(log)?.[1] ?? seconds);
      resolve({ target, status, runs, execsPerSec: Math.round(runs / Math.max(1, elapsed)),
        corpus: fs.readdirSync(corpus).length, crashes, log });
    });
  });
}

async function main() {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({ options: {
    seconds: { type: 'string', default: '600' },
    targets: { type: 'string', default: Object.keys(TARGETS).join(',') },
    parallel: { type: 'string', default: '1' },
    nice: { type: 'string', default: '10' },
  } });
  const targets = values.targets.split(',');
  for (const t of targets) if (!TARGETS[t]) throw new Error(`unknown target "${t}" (${Object.keys(TARGETS).join(', ')})`);
  build();
  const queue = [...targets];
  const results = [];
  const worker = async () => {
    while (queue.length) {
      const t = queue.shift();
      console.log(`fuzz-${t}: ${values.seconds} s`);
      const r = await fuzz(t, Number(values.seconds), { nice: Number(values.nice) });
      results.push(r);
      console.log(`fuzz-${t}: exit ${r.status}, ${r.runs} runs, ${r.execsPerSec} exec/s, corpus ${r.corpus} files, ` +
        `${r.crashes.length} crash input(s)${r.crashes.length ? ` → wasm-tests/fuzz/regressions/${t}/` : ''}`);
      if (r.status !== 0) console.log(r.log.split('\n').slice(-60).join('\n'));
    }
  };
  await Promise.all(Array.from({ length: Number(values.parallel) }, worker));
  if (results.some((r) => r.status !== 0 || r.crashes.length)) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
