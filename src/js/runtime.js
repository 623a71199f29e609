// Finding and starting the WebAssembly module: one instance per build (and, for mt, per worker-pool size),
// created once and shared by every model (sql.js habit: one init promise). Node loads the CommonJS build with
// createRequire and hands it the .wasm bytes (Emscripten 3.1.6's own fetch breaks on file paths); browsers
// import the ES module build, its files located so that bundlers ship them (WEB_FILES). Node-only modules are
// imported dynamically, out of bundlers' sight, so this file is browser-safe.
import { VitrineError } from './errors.js';

export const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

const instances = new Map();

/**
 * Current heap views. With threads + memory growth, a pthread that grew the memory updates only its own views:
 * the main thread's Module.HEAPU8 can be a stale, shorter view of the shared buffer. Rebuild when needed.
 */
export function heapU8(Module) {
  const buf = Module.wasmMemory?.buffer;
  return buf && Module.HEAPU8.buffer !== buf ? new Uint8Array(buf) : Module.HEAPU8;
}
export function heapF32(Module) {
  const buf = Module.wasmMemory?.buffer;
  return buf && Module.HEAPF32.buffer !== buf ? new Float32Array(buf) : Module.HEAPF32;
}

/** A promise-chain mutex: engine calls of all models sharing one module never interleave. */
export class Lock {
  #tail = Promise.resolve();
  run(fn) {
    const result = this.#tail.then(() => fn());
    this.#tail = result.then(() => undefined, () => undefined);
    return result;
  }
}

/**
 * pthreads to pre-create for an engine pool of `threads`: the calling thread works too, so threads - 1 (at least
 * 1: the module's -sPTHREAD_POOL_SIZE=Module.vitrineThreads||4 would read 0 as "unset").
 */
function workerCount(threads) {
  return Math.max(1, threads - 1);
}

/**
 * Node built-ins. This file is on the browser path too: the specifier is computed (and marked for Vite and
 * webpack) so bundlers building for browsers neither follow nor warn about it.
 */
export const nodeModule = (name) => import(/* @vite-ignore */ /* webpackIgnore: true */ `node:${name}`);

// Not a literal inside new URL(), and marked for webpack (which would otherwise bundle every file the expression
// could name): bundlers must not copy the Node builds into a browser bundle.
const NODE_DIR = '../../dist/wasm/node/';

async function createNodeModule(build, poolSize) {
  const [{ createRequire }, fs, { fileURLToPath }] = await Promise.all([nodeModule('module'), nodeModule('fs'), nodeModule('url')]);
  const jsPath = fileURLToPath(new URL(/* webpackIgnore: true */ NODE_DIR + `vitrine-${build}.js`, import.meta.url));
  const wasmPath = jsPath.replace(/\.js$/, '.wasm');
  if (!fs.existsSync(jsPath) || !fs.existsSync(wasmPath)) {
    throw new VitrineError('E_WASM', `the ${build} WebAssembly build is missing (${jsPath}): run \`npm run build\``);
  }
  const require = createRequire(import.meta.url);
  const factory = require(jsPath);
  return factory({ wasmBinary: fs.readFileSync(wasmPath), vitrineThreads: workerCount(poolSize) });
}

// The browser files of each build, every one a literal `new URL(…, import.meta.url)`: the pattern Vite, Rollup,
// webpack 5 and Parcel recognise, so they copy each file into their output and rewrite its URL. Unbundled (a
// static folder, Vite dev) these are the package's own files. The glue asks for the others by name (locateFile).
const WEB_FILES = {
  mt: () => [new URL('../../dist/wasm/web/vitrine-mt.mjs', import.meta.url), new URL('../../dist/wasm/web/vitrine-mt.wasm', import.meta.url),
    // ?no-inline: Vite would inline a file this small as a data: URL, and a data: worker has an opaque origin
    // (no shared memory with the page). Static servers and other bundlers ignore the query.
    new URL('../../dist/wasm/web/vitrine-mt.worker.js?no-inline', import.meta.url)],
  st: () => [new URL('../../dist/wasm/web/vitrine-st.mjs', import.meta.url), new URL('../../dist/wasm/web/vitrine-st.wasm', import.meta.url)],
};

// Vite's dev server pre-bundles dependencies into node_modules/.vite/deps/ but leaves behind the files they name
// with new URL(…, import.meta.url) (vitejs/vite#8427): from there, the package's own copy is two folders up.
const inViteDeps = () => /\/node_modules\/\.vite\/deps\/[^/]*$/.test(new URL(import.meta.url).pathname);
const FROM_VITE_DEPS = '../../vitrine/dist/wasm/web/';

/** URLs of a build's browser files by name: from `wasmBaseUrl` when given, else as bundled. */
function webFiles(build, wasmBaseUrl) {
  if (wasmBaseUrl === undefined && inViteDeps()) wasmBaseUrl = new URL(/* webpackIgnore: true */ FROM_VITE_DEPS, import.meta.url);
  const names = [`vitrine-${build}.mjs`, `vitrine-${build}.wasm`, `vitrine-${build}.worker.js`].slice(0, build === 'mt' ? 3 : 2);
  if (wasmBaseUrl !== undefined) {
    let base;
    try {
      base = new URL(String(wasmBaseUrl).replace(/\/?$/, '/'), typeof location !== 'undefined' ? location.href : undefined);
    } catch {
      throw new VitrineError('E_INPUT', `wasmBaseUrl must be a URL (absolute, or relative to the page), got ${JSON.stringify(String(wasmBaseUrl))}`);
    }
    return Object.fromEntries(names.map((n) => [n, new URL(n, base).href]));
  }
  const urls = WEB_FILES[build]();
  return Object.fromEntries(names.map((n, i) => [n, urls[i].href]));
}

async function createWebModule(build, poolSize, wasmBaseUrl) {
  const files = webFiles(build, wasmBaseUrl);
  const glue = files[`vitrine-${build}.mjs`];
  const worker = `vitrine-${build}.worker.js`;
  if (files[worker] && wasmBaseUrl === undefined && inViteDeps()) {
    // Vite's dev server rewrites the classic pthread worker script into a module (it adds an import), which a
    // classic Worker cannot run: start the workers from the untouched text (?raw), as a same-origin blob.
    const { default: text } = await import(/* @vite-ignore */ /* webpackIgnore: true */ `${files[worker]}?raw`);
    files[worker] = URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
  }
  const mod = await import(/* @vite-ignore */ /* webpackIgnore: true */ glue);
  return mod.default({
    vitrineThreads: workerCount(poolSize),
    locateFile: (name, prefix) => files[name] ?? new URL(name, prefix || glue).href,
    mainScriptUrlOrBlob: glue,
  });
}

/**
 * Node: the mt build's pthread workers would keep the process alive after the last model is used. They only
 * run while an engine call blocks the main thread, so they need not hold the event loop: unref them.
 */
export function unrefWorkers(Module) {
  if (!isNode || !Module.PThread) return;
  const { unusedWorkers = [], runningWorkers = [] } = Module.PThread;
  for (const w of [...unusedWorkers, ...runningWorkers]) w?.unref?.();
}

/** → { Module, lock, build } (cached). `wasmBaseUrl` (browsers): where the .mjs/.wasm/.worker.js files are served. */
export function getRuntime(build, poolSize, wasmBaseUrl) {
  const key = (build === 'mt' ? `mt:${poolSize}` : 'st') + (wasmBaseUrl !== undefined && !isNode ? `@${wasmBaseUrl}` : '');
  let p = instances.get(key);
  if (!p) {
    p = (isNode ? createNodeModule(build, poolSize) : createWebModule(build, poolSize, wasmBaseUrl)).then(
      (Module) => { unrefWorkers(Module); return { Module, lock: new Lock(), build, key }; },
      (e) => {
        instances.delete(key);
        throw e instanceof VitrineError ? e : new VitrineError('E_WASM', `could not start the ${build} WebAssembly module: ${e?.message ?? e}`, { cause: e });
      });
    instances.set(key, p);
  }
  return p;
}

/** Forget a module instance that trapped (its memory may be inconsistent); the next load starts a fresh one. */
export function dropRuntime(key) {
  instances.delete(key);
}

// ---------------------------------------------------------------- build choice

// A tiny module using one SIMD instruction (i8x16.splat, i8x16.popcnt): it validates only where SIMD exists.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** Whether this JavaScript engine runs WebAssembly SIMD, which both builds use. */
export function hasWasmSimd() {
  try { return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE); } catch { return false; }
}

// Why the mt build could not start in this context (browsers); later automatic choices go to st at once.
let mtFailure = null;
// A thread worker whose script cannot load (blocked, 404) makes Emscripten wait for it forever, with no error
// anywhere: the mt module gets this long to start its threads.
const MT_START_DEADLINE_MS = 15_000;

/**
 * Decide build + threads from the options and the environment.
 * → { build, threads, reason (why this build, in words), forced (the caller named the build) }
 */
export function chooseBuild({ build, threads } = {}) {
  if (!hasWasmSimd()) {
    throw new VitrineError('E_WASM', 'this JavaScript engine has no WebAssembly SIMD, which vitrine needs: use a current Chrome, Edge, ' +
      'Firefox or Safari (16.4 or later), or Node 18 or later');
  }
  if (build !== undefined && build !== 'mt' && build !== 'st') throw new VitrineError('E_INPUT', `build must be 'mt' or 'st', got ${JSON.stringify(build)}`);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 64)) {
    throw new VitrineError('E_INPUT', `threads must be an integer from 1 to 64, got ${JSON.stringify(threads)}`);
  }
  const isolated = isNode || (typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated === true && typeof SharedArrayBuffer === 'function');
  if (build === 'mt' && !isolated) {
    throw new VitrineError('E_WASM', "build 'mt' needs SharedArrayBuffer: serve the page cross-origin isolated (COOP same-origin + COEP require-corp), or use build 'st'");
  }
  const hw = !isNode && typeof navigator !== 'undefined' && navigator.hardwareConcurrency ? Math.min(navigator.hardwareConcurrency, 4) : 2;
  const mt = (reason) => ({ build: 'mt', threads: threads ?? hw, reason, forced: build !== undefined });
  const st = (reason) => ({ build: 'st', threads: 1, reason, forced: build !== undefined });
  if (build === 'mt') return mt("build 'mt' was asked for");
  if (build === 'st') return st("build 'st' was asked for");
  // One thread needs no worker and no shared memory: it runs on st (same kernels, same speed, measured ViT-S
  // 225-229 ms either way; ~5-10 MB less memory without the pthread worker).
  if (threads === 1) return st('one thread was asked for (threads: 1)');
  if (!isolated) return st('this page is not cross-origin isolated (no COOP/COEP headers), so WebAssembly threads are unavailable');
  if (mtFailure) return st(mtFailure);
  return mt(isNode ? 'Node has WebAssembly threads' : 'the page is cross-origin isolated, so WebAssembly threads are available');
}

/**
 * The module for a chooseBuild() choice. In browsers an mt module whose threads cannot start (a browser refusing
 * nested workers, a blocked worker script) falls back to st, unless mt was asked for by name.
 * → { rt, choice } (choice: the build actually running, with its reason)
 */
export async function startRuntime(choice, wasmBaseUrl) {
  if (choice.build === 'st' || isNode) return { rt: await getRuntime(choice.build, choice.threads, wasmBaseUrl), choice };
  try {
    return { rt: await whileThreadsStart(getRuntime('mt', choice.threads, wasmBaseUrl)), choice };
  } catch (e) {
    // A bad option (wasmBaseUrl) is the caller's to fix, not a reason to run on one thread.
    if (choice.forced || e?.code === 'E_INPUT') throw e;
    // The same key getRuntime() cached the stalled module under.
    dropRuntime(`mt:${choice.threads}` + (wasmBaseUrl !== undefined ? `@${wasmBaseUrl}` : ''));
    const reason = `the multi-threaded build could not start (${e?.message ?? e}), so this runs on one thread`;
    mtFailure = reason;
    try {
      return { rt: await getRuntime('st', 1, wasmBaseUrl), choice: { build: 'st', threads: 1, reason, forced: false } };
    } catch (e2) {
      // st failing too (its files not found) says nothing about threads: later loads may try mt again.
      if (mtFailure === reason) mtFailure = null;
      throw e2;
    }
  }
}

// Emscripten rethrows a thread worker's load failure (the worker's error Event) from its onerror handler, so it
// surfaces as an uncaught error of this global, not as a rejection: watch for it while the module starts.
function whileThreadsStart(started) {
  let onError, timer;
  const failed = new Promise((_, reject) => {
    onError = (ev) => {
      if (!(ev?.error instanceof Event) && !/worker/i.test(String(ev?.message))) return;
      ev.preventDefault();
      reject(new VitrineError('E_WASM', 'a thread worker could not be created'));
    };
    timer = setTimeout(() => reject(new VitrineError('E_WASM', `its threads did not start within ${MT_START_DEADLINE_MS / 1000} s`)), MT_START_DEADLINE_MS);
  });
  globalThis.addEventListener?.('error', onError);
  return Promise.race([started, failed]).finally(() => {
    clearTimeout(timer);
    globalThis.removeEventListener?.('error', onError);
  });
}
