// Types of `vitrine/preload` (src/js/preload.js).
import type { Build, LoadOptions } from './index.js';

/** The build options of load() that choose the WebAssembly module; preload() reads only these. */
export type PreloadOptions = Pick<LoadOptions, 'build' | 'threads' | 'wasmBaseUrl'>;

/** The module that started: the build running (after any fallback from mt to st) and why, as model.info reports it. */
export interface PreloadInfo {
  build: Build;
  threads: number;
  reason: string;
}

/**
 * Start the engine's WebAssembly module (fetch and compile it, start the mt build's threads) before the model is
 * asked for: load() with the same build options uses this very module. Rejects with a VitrineError: `E_INPUT`
 * (a bad option or URL) or `E_WASM` (no WebAssembly SIMD; the module's files missing or unreachable).
 */
export declare function preload(options?: PreloadOptions): Promise<PreloadInfo>;
