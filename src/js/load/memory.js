// Whether a model can fit the engine's memory, judged from its manifest alone, before any chunk is downloaded: a
// model that cannot fit would otherwise cost its whole download and then fail with E_MEMORY.
//
// The figure is the engine's own (embind memoryNeed → vitrine::memory_need): the weight stream as begin_load
// allocates it (f16 widened to float32 in it, docs/FORMAT.md §2) and the activation buffers forward() allocates
// at the model's own image size. It is a lower bound of what the engine takes (packed weight copies some kernels
// make are left out), so nothing that fits is refused.
import { VitrineError, checkEngine } from '../errors.js';

// -sMAXIMUM_MEMORY of the WebAssembly builds (CMakeLists.txt; wasm-tests/js/memory.test.js checks the two agree).
export const MAX_ENGINE_MEMORY = 2 * 1024 ** 3;

const MB = 1024 * 1024;

/**
 * { weights, activations, total } in bytes, a lower bound of the engine memory the model needs on `threads`
 * threads. A manifest the engine refuses throws its named error (E_MANIFEST, …), as beginLoad would.
 * @param {object} Module  the engine module (runtime.js)
 * @param {string} manifestText
 */
export function memoryNeed(Module, manifestText, threads) {
  const r = Module.memoryNeed(manifestText, threads);
  checkEngine(r?.code ? r : null);
  return { weights: r.weights, activations: r.activations, total: r.weights + r.activations };
}

/** Throws E_MEMORY (naming the sizes and the limit) when the manifest's model cannot fit the engine. */
export function checkMemory(Module, manifestText, manifest, threads, where, limit = MAX_ENGINE_MEMORY) {
  const need = memoryNeed(Module, manifestText, threads);
  if (need.total <= limit) return need;
  const mb = (n) => `${(n / MB).toFixed(n < 10 * MB ? 1 : 0)} MB`;
  const size = manifest.architecture?.image_size;
  throw Object.assign(new VitrineError('E_MEMORY',
    `${where}: this model needs at least ${mb(need.total)} of engine memory (weights ${mb(need.weights)}, ` +
    `activations ${mb(need.activations)} for a ${size}×${size} input), but the WebAssembly engine can use at most ` +
    `${mb(limit)} in all; it was not loaded (nothing was downloaded)`), { need: need.total, limit });
}
