// Finding and starting the WebAssembly module: one instance per build (and, for mt, per worker-pool size),
// created once and shared by every model (sql.js habit: one init promise). Node loads the CommonJS build with
// createRequire and hands it the .wasm bytes (Emscripten 3.1.6's own fetch breaks on file paths); browsers
// import the ES module build. Node-only modules are imported dynamically so this file is browser-safe.
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

async function createNodeModule(build, poolSize) {
  const [{ createRequire }, fs, { fileURLToPath }] = await Promise.all([import('node:module'), import('node:fs'), import('node:url')]);
  const jsPath = fileURLToPath(new URL(`../../dist/wasm/node/vitrine-${build}.js`, import.meta.url));
  const wasmPath = jsPath.replace(/\.js$/, '.wasm');
  if (!fs.existsSync(jsPath) || !fs.existsSync(wasmPath)) {
    throw new VitrineError('E_WASM', `the ${build} WebAssembly build is missing (${jsPath}): run \`npm run build\``);
  }
  const require = createRequire(import.meta.url);
  const factory = require(jsPath);
  return factory({ wasmBinary: fs.readFileSync(wasmPath), vitrineThreads: workerCount(poolSize) });
}

async function createWebModule(build, poolSize) {
  const url = new URL(`../../dist/wasm/web/vitrine-${build}.mjs`, import.meta.url);
  const mod = await import(/* @vite-ignore */ url.href);
  return mod.default({
    vitrineThreads: workerCount(poolSize),
    locateFile: (p) => new URL(p, url).href,
    mainScriptUrlOrBlob: url.href,
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

/** → { Module, lock, build } (cached). */
export function getRuntime(build, poolSize) {
  const key = build === 'mt' ? `mt:${poolSize}` : 'st';
  let p = instances.get(key);
  if (!p) {
    p = (isNode ? createNodeModule(build, poolSize) : createWebModule(build, poolSize)).then(
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

/** Decide build + threads from the options and the environment. */
export function chooseBuild({ build, threads } = {}) {
  const isolated = isNode || (typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated);
  if (build !== undefined && build !== 'mt' && build !== 'st') throw new VitrineError('E_INPUT', `build must be 'mt' or 'st', got ${JSON.stringify(build)}`);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 64)) {
    throw new VitrineError('E_INPUT', `threads must be an integer from 1 to 64, got ${JSON.stringify(threads)}`);
  }
  if (build === 'mt' && !isolated) {
    throw new VitrineError('E_WASM', "build 'mt' needs SharedArrayBuffer: serve the page cross-origin isolated (COOP same-origin + COEP require-corp), or use build 'st'");
  }
  // One thread needs no worker and no shared memory: unless mt is asked for, it runs on st (same kernels, same
  // speed, measured ViT-S 225-229 ms either way; ~5-10 MB less memory without the pthread worker).
  const b = build ?? (isolated && threads !== 1 ? 'mt' : 'st');
  if (b === 'st') return { build: 'st', threads: 1 };
  const hw = !isNode && typeof navigator !== 'undefined' && navigator.hardwareConcurrency ? Math.min(navigator.hardwareConcurrency, 4) : 2;
  return { build: 'mt', threads: threads ?? hw };
}
