// Errors thrown by vitrine: plain `Error`s with a stable `code` so callers can branch on them. The engine's codes
// (src/engine/status.h: E_MANIFEST, E_CHUNK_SIZE, E_CHUNK_HASH, E_LOAD, E_IMAGE, E_INPUT, E_NO_CLASSIFIER,
// E_MEMORY, E_HEAD) arrive as { code, message } from embind and become a VitrineError unchanged (engineError).
//   E_MANIFEST      manifest.json unreadable, invalid JSON, or refused by the engine (version, shapes, offsets, dtype)
//   E_CHUNK_MISSING a chunk file/URL could not be read (no such file, HTTP 404 …)
//   E_CHUNK_SIZE    a chunk has the wrong number of bytes
//   E_CHUNK_HASH    a chunk's SHA-256 does not match the manifest (over the network: wrong twice in a row)
//   E_NETWORK       a download kept failing (connection dropped, server errors) after its retries
//   E_LOAD          any other failure while loading (engine refused to finish)
//   E_ABORTED       load() was aborted through its AbortSignal
//   E_IMAGE         an image could not be read or decoded (empty, not an image, truncated, too large)
//   E_INPUT         bad arguments (load source/options, pixels of the wrong size, unknown pooling, …)
//   E_NO_CLASSIFIER classify() on a model without classifier, or classify(…, { own: true }) on one without a
//                   classifier of its own
//   E_MEMORY        an allocation or memory growth failed: the model or the image does not fit
//   E_HEAD          a head file or head was refused (damaged, not a vitrine head, bad metadata, shapes, widths or
//                   backbone of another model): docs/FORMAT.md "Head files"
//   E_DISPOSED      the model was disposed
//   E_CONVERT       the converter refused its input (names the tensor / file)
//   E_WASM          the WebAssembly build is missing, failed to start, or the JS engine lacks WebAssembly SIMD
// Non-fatal notes passed to load()'s onNote (never thrown):
//   E_QUOTA         the chunk cache is full: the model loads but is not kept for next time
//   E_CACHE         the chunk cache could not be opened or written: same consequence
export class VitrineError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = code === 'E_ABORTED' ? 'AbortError' : 'VitrineError';
    this.code = code;
  }
}

export function fail(code, message, options) {
  throw new VitrineError(code, message, options);
}

/** The VitrineError for an engine call's error result ({ code, message } from embind). */
export function engineError(result) {
  return new VitrineError(result.code, result.message);
}

/** Throw if an engine call that returns null on success returned an error. */
export function checkEngine(result) {
  if (result !== null && result !== undefined) throw engineError(result);
}
