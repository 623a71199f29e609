// Type declarations for vitrine's JavaScript API (src/js/index.js).

export type Build = 'mt' | 'st';
/**
 * How embed()/forward() pool the final hidden state. 'cls' | 'mean' | 'cls+mean' for every family with a CLS token;
 * 'projection' (CLIP image_embeds) and 'pooler' (SigLIP pooler_output, CLIP post-LayerNorm CLS) where the family has
 * them. A loaded model lists its own in `info.poolings`.
 */
export type Pooling = 'cls' | 'mean' | 'cls+mean' | 'projection' | 'pooler';

/** Every error vitrine throws is a VitrineError with one of these codes. */
export type ErrorCode =
  | 'E_MANIFEST' | 'E_CHUNK_MISSING' | 'E_CHUNK_SIZE' | 'E_CHUNK_HASH' | 'E_NETWORK' | 'E_LOAD' | 'E_ABORTED'
  | 'E_IMAGE' | 'E_INPUT' | 'E_NO_CLASSIFIER' | 'E_MEMORY' | 'E_DISPOSED' | 'E_CONVERT' | 'E_WASM';

export class VitrineError extends Error {
  readonly code: ErrorCode;
  /** Loading errors about one chunk name it here too (and in the message). */
  readonly index?: number;
  readonly file?: string;
  /** HTTP status, for E_MANIFEST / E_CHUNK_MISSING from a server's answer. */
  readonly status?: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown });
}

/** Non-fatal problems during a load, passed to `onNote` (never thrown). */
export interface LoadNote {
  /** 'E_QUOTA': the chunk cache is full; 'E_CACHE': it could not be opened or written. Either way the model loads but is not kept. */
  code: 'E_QUOTA' | 'E_CACHE';
  message: string;
}

export interface LoadProgress {
  /** Bytes of chunks received so far; one monotone sequence from 0 to `total`. */
  loaded: number;
  /** Bytes of all chunks (the manifest's stream_size). */
  total: number;
  /** Of those, bytes read from the chunk cache (URL loads). */
  cachedBytes: number;
  /** Of those, bytes downloaded (URL loads; a bad copy thrown away is not counted). */
  downloadedBytes: number;
}

/** The parts of a Cache (the Cache API's) that load() uses; any object with these works. */
export interface ChunkCache {
  match(key: string): Promise<Response | undefined>;
  put(key: string, response: Response): Promise<void>;
  delete(key: string): Promise<boolean>;
}

export interface ChunkRequest {
  index: number;
  /** File name from the manifest, e.g. "chunk-00003.bin". */
  file: string;
  /** Exact byte count expected. */
  size: number;
  /** Lowercase hex SHA-256 the engine will check. */
  sha256: string;
  /** Absolute URL of the chunk when the chunks are at a URL (the manifest's, or `base`). */
  url?: string;
  /** Absolute file path when the chunks are in a folder (Node: the manifest's, or `base`). */
  path?: string;
}

/**
 * What load() reads the manifest from, by type:
 * - `undefined`, `null`, `'default'`: the bundled model weights/cifar10-vit/manifest.json (next to the package).
 * - an array or FileList of `File`s (a picked folder): the one named manifest.json; chunks by name beside it.
 * - a string starting with `{`: the manifest's JSON text.
 * - a string starting with `http:`, `https:`, `blob:` or `data:`, or a `URL` object (not `file:`): fetched.
 * - any other string: in Node a folder or a manifest path (or a `file:` URL); in browsers a URL relative to the page.
 * - any other object: the manifest itself.
 */
export type ModelSource = string | URL | ArrayLike<File> | Iterable<File> | Record<string, unknown>;

export interface LoadOptions {
  /** Worker threads of the mt build (default 2 in Node; up to 4 by hardware in browsers). Ignored by st (1). */
  threads?: number;
  /** 'mt' (threads + SIMD; needs SharedArrayBuffer / cross-origin isolation) or 'st' (SIMD). Default: mt when possible, st for `threads: 1`. */
  build?: Build;
  /** Bytes over all chunks, one monotone sequence from { loaded: 0 } to { loaded: total }. */
  onProgress?: (p: LoadProgress) => void;
  /** Non-fatal problems (the chunk cache is full or unusable). */
  onNote?: (note: LoadNote) => void;
  signal?: AbortSignal;
  /**
   * Where the chunk files are when the manifest is not next to them (a manifest object or text, a blob:/data:
   * URL) or elsewhere: a URL (chunks fetched from it) or, in Node, a folder. Given, it wins over the manifest's
   * own location.
   */
  base?: string | URL;
  /**
   * Supply chunk bytes yourself; wins over `base` and the manifest's location, and bypasses the chunk cache.
   * The engine still checks each chunk's size and SHA-256.
   */
  fetchChunk?: (chunk: ChunkRequest) => Promise<Uint8Array | ArrayBuffer>;
  /**
   * Chunk cache for URL loads, keyed by each chunk's SHA-256. Default: the Cache API ('vitrine-chunks-v1') where
   * there is one (browsers, secure contexts); `false`: none; or any object with match/put/delete.
   */
  cache?: boolean | ChunkCache;
  /** Images with more pixels are refused from their header alone (default 50,000,000). */
  maxPixels?: number;
  /**
   * Browsers: the URL of a folder serving the package's dist/wasm/web/ files (vitrine-{mt,st}.mjs, .wasm,
   * vitrine-mt.worker.js), for set-ups that do not copy them (docs/API.md, "Where the WebAssembly files are").
   * Default: next to the JS as bundlers emit them. Ignored in Node.
   */
  wasmBaseUrl?: string | URL;
}

export interface PreprocessConfig {
  processor: string;
  do_convert_rgb: boolean;
  do_resize: boolean;
  size: { height: number; width: number } | { shortest_edge: number };
  resample: number;
  do_center_crop: boolean;
  crop_size?: { height: number; width: number };
  do_rescale: boolean;
  rescale_factor: number;
  do_normalize: boolean;
  image_mean: [number, number, number];
  image_std: [number, number, number];
}

export interface ModelInfo {
  /** The engine's family module ('vit', 'deit', 'dinov2', ...). */
  family: string;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  patchSize: number;
  imageSize: number;
  numChannels: number;
  numRegisterTokens: number;
  classifier: 'none' | 'cls' | 'cls+dist' | 'cls+patchmean' | 'head';
  numLabels: number;
  /** CLIP with visual_projection: the width of image_embeds; 0 otherwise. */
  projectionDim: number;
  /** The poolings this model offers (reported by the engine); the first is embed()'s default. */
  poolings: readonly Pooling[];
  labels: readonly string[];
  preprocess: PreprocessConfig;
  /** Threads the engine runs with. */
  threads: number;
  build: Build;
  /** Why this build runs, in words (e.g. "this page is not cross-origin isolated (no COOP/COEP headers), …"). */
  buildReason: string;
  simd: true;
  name: string;
  metadata: Record<string, unknown>;
  /** Bytes of weights (the tensor stream). */
  streamSize: number;
  /** Bytes the loaded weights occupy in engine memory: the stream plus f16 expansions and packed copies. */
  weightBytes: number;
  requestedThreads: number;
}

/** Encoded image bytes (JPEG, PNG, BMP, GIF), or a file path / URL. */
export type ImageInput = Uint8Array | ArrayBuffer | ArrayBufferView | Blob | string | URL;

export interface Pixels {
  /** CHW float32, normalised as the model's preprocess says. */
  pixels: Float32Array;
  height: number;
  width: number;
}

export interface ForwardResult {
  /** [numTokens × hiddenSize], HF last_hidden_state (after the final LayerNorm; CLIP: the encoder output). */
  lastHiddenState: Float32Array;
  numTokens: number;
  hiddenSize: number;
  /** Present when the model has a classifier. */
  logits?: Float32Array;
  /** softmax(logits), or sigmoid for one logit / a sigmoid head. Present with logits. */
  scores?: Float32Array;
  /** HF pooler_output (CLIP: post_layernorm(CLS); SigLIP: the attention-pooling head). */
  poolerOutput?: Float32Array;
  /** HF image_embeds (CLIP with visual_projection). */
  imageEmbeds?: Float32Array;
  /** Pooled features, when `pooling` was given. */
  embedding?: Float32Array;
}

export interface Prediction {
  index: number;
  label: string;
  score: number;
}

export interface Model {
  readonly info: ModelInfo;
  readonly disposed: boolean;
  /** Decode + resize + crop + normalise as the checkpoint's image processor does. exif: apply EXIF orientation (default true; false = exactly what HF/PIL does). */
  preprocess(image: ImageInput, options?: { exif?: boolean }): Promise<Pixels>;
  /** Raw forward on CHW pixels. ViT/DeiT/CLIP/SigLIP need imageSize²; DINOv2 takes any multiple of the patch size. */
  forward(pixels: Float32Array, options?: { height?: number; width?: number; pooling?: Pooling }): Promise<ForwardResult>;
  /** Top-K labels with scores, best first. Throws E_NO_CLASSIFIER for a backbone without classifier. */
  classify(image: ImageInput, options?: { topK?: number; exif?: boolean }): Promise<Prediction[]>;
  /** Pooled embedding (see Pooling; default info.poolings[0]). E_INPUT for a pooling the model does not offer. */
  embed(image: ImageInput, options?: { pooling?: Pooling; exif?: boolean }): Promise<Float32Array>;
  /** The pooling embed() uses for `pooling` (none: info.poolings[0]). Throws E_INPUT for one the model does not offer. */
  resolvePooling(pooling?: Pooling): Pooling;
  /** Free the weights and buffers; pending calls finish first. */
  dispose(): Promise<void>;
}

/**
 * Load a converted model (see ModelSource for what `source` may be). Chunks come from, in this order:
 * `options.fetchChunk`; else `options.base`; else next to the manifest (its folder, URL, or the picked files).
 * URLs are fetched with the chunk cache, streamed, resumed with Range requests after a dropped connection and
 * fetched once more after a wrong SHA-256; the build is chosen as `options.build`/`threads` and the
 * environment allow (`model.info.build`, `model.info.buildReason`).
 */
export function load(source?: ModelSource, options?: LoadOptions): Promise<Model>;

/** The Cache API cache load() keeps chunks in. */
export const CACHE_NAME: string;
/** Delete that cache (every model's chunks). → whether there was one. */
export function clearCache(): Promise<boolean>;
