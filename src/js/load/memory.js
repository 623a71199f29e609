// Whether a model can fit the engine's memory, judged from its manifest alone, before any chunk is read or
// downloaded: a model that cannot fit would otherwise cost its whole download and then fail with E_MEMORY.
//
// The figure is a lower bound of what the engine takes (so nothing that fits is refused): the weights as they
// sit in engine memory (the stream, with every f16 tensor widened to float32 in it, docs/FORMAT.md §2) and the
// activations of one forward pass at the model's own image size (per patch token: the residual stream, its
// normalised copy, q/k/v, the attention output, the branch output — 7 × hidden — plus the MLP's intermediate
// rows). Values the engine would refuse are left out here: its manifest check names them.
import { VitrineError } from '../errors.js';

// -sMAXIMUM_MEMORY of the WebAssembly builds (CMakeLists.txt; wasm-tests/js/memory.test.js checks the two agree).
export const MAX_ENGINE_MEMORY = 2 * 1024 ** 3;

const BYTES_IN_MEMORY = { f32: 4, f16: 4, i8: 1 };
const MB = 1024 * 1024;
const count = (x) => (Number.isSafeInteger(x) && x > 0 ? x : 0);

/** { weights, activations, total } in bytes, a lower bound of the engine memory the model needs. */
export function memoryNeed(manifest) {
  let tensorBytes = 0;
  for (const t of Array.isArray(manifest.tensors) ? manifest.tensors : []) {
    const per = BYTES_IN_MEMORY[t?.dtype];
    if (!per || !Array.isArray(t.shape)) continue;
    tensorBytes += t.shape.reduce((n, d) => n * count(d), 1) * per;
  }
  const weights = Math.max(count(manifest.stream_size), tensorBytes);
  const a = manifest.architecture ?? {};
  const side = count(a.patch_size) ? Math.floor(count(a.image_size) / a.patch_size) : 0;
  const activations = side * side * (7 * count(a.hidden_size) + count(a.intermediate_size)) * 4;
  return { weights, activations, total: weights + activations };
}

/** Throws E_MEMORY (naming the sizes and the limit) when the manifest's model cannot fit the engine. */
export function checkMemory(manifest, where, limit = MAX_ENGINE_MEMORY) {
  const need = memoryNeed(manifest);
  if (need.total <= limit) return need;
  const mb = (n) => `${(n / MB).toFixed(n < 10 * MB ? 1 : 0)} MB`;
  const size = count(manifest.architecture?.image_size);
  throw Object.assign(new VitrineError('E_MEMORY',
    `${where}: this model needs at least ${mb(need.total)} of engine memory (weights ${mb(need.weights)}, ` +
    `activations ${mb(need.activations)} for a ${size}×${size} input), but the WebAssembly engine can use at most ` +
    `${mb(limit)} in all; it was not loaded (nothing was downloaded)`), { need: need.total, limit });
}
