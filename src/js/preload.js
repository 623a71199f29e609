// `import { preload } from 'vitrine/preload'`: start the engine's WebAssembly module (fetch and compile the .wasm,
// start the mt build's threads) before the model is asked for. A small entry point on purpose: it reaches only
// runtime.js (and errors.js), so a page or worker can start the module while the rest of the API is still being
// fetched. load() with the same build options finds the module in runtime.js's cache and uses that very instance.
import { chooseBuild, startRuntime } from './runtime.js';

/**
 * Start the module load(source, options) will use. Only the build options count: `build`, `threads` and (in
 * browsers) `wasmBaseUrl`; everything else load() takes is ignored here.
 * → Promise<{ build, threads, reason }>: the build running (after any fallback from mt to st, as load() would
 * report it in model.info.build / buildReason). Rejects with a VitrineError: E_INPUT for a bad option or URL,
 * E_WASM when the module cannot start (no WebAssembly SIMD, its files missing or unreachable). A failed preload
 * leaves nothing behind: the next preload() or load() tries again.
 */
export async function preload(options = {}) {
  const { build, threads, wasmBaseUrl } = options ?? {};
  const { choice } = await startRuntime(chooseBuild({ build, threads }), wasmBaseUrl);
  return { build: choice.build, threads: choice.threads, reason: choice.reason };
}
