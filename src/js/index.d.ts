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
  | 'E_IMAGE' | 'E_INPUT' | 'E_NO_CLASSIFIER' | 'E_MEMORY' | 'E_DISPOSED' | 'E_CONVERT' | 'E_WASM' | 'E_HEAD';

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
  /**
   * A head file (docs/FORMAT.md "Head files") to attach after loading, as model.setHead would: its bytes, a
   * Blob/File, a URL, or in Node a file path. A refused head fails the load with E_HEAD.
   */
  head?: Uint8Array | ArrayBuffer | Blob | string | URL;
  /** With `head`: attach it even if it was trained on another backbone (widths must still fit). */
  anyBackbone?: boolean;
  /** Profiling: an object load() fills with where its time went (the page's ?trace, bench_page.mjs --phases). */
  trace?: LoadTrace;
}

/**
 * A load's timeline on the performance.now() clock (ms). marks: when each phase ended ('start', 'manifest',
 * 'runtime', 'begin-load', 'chunks', 'finish'); spans: per-chunk steps ('cache-match', 'cache-read', 'download',
 * 'hash', 'cache-put', 'wait', 'copy', 'commit', 'read'), which overlap, with their summed ms, count, first start and
 * last end.
 */
export interface LoadTrace {
  marks?: Record<string, number>;
  spans?: Record<string, { ms: number; count: number; first: number; last: number }>;
}

/** One layer of a head (docs/FORMAT.md §4 architecture.head). */
export type HeadLayer = { type: 'linear'; in: number; out: number } | { type: 'relu' } | { type: 'gelu' };

/** What a head file records about the model a head was trained on. */
export interface HeadBackbone {
  name: string;
  family: string;
  hidden_size: number;
  /** Width of the pooled features the head reads (its first layer's `in`). */
  input_dim: number;
  /** docs/FORMAT.md "Backbone fingerprint": same for a model and its f16/int8 re-encodings. */
  fingerprint: string;
}

/** A classification head, as encodeHead takes and decodeHead gives it. */
export interface Head {
  pooling: Pooling;
  layers: HeadLayer[];
  output: 'softmax' | 'sigmoid';
  /** One per output; a one-output sigmoid head has two: [negative, positive]. */
  labels: string[];
  /** head.<k>.weight [out × in] and head.<k>.bias [out] for each linear layer k. */
  tensors: Map<string, Float32Array>;
  backbone: HeadBackbone;
  /** How it was trained (informative). */
  training?: Record<string, unknown>;
}

export interface TrainRecord {
  epoch: number;
  trainLoss: number;
  trainAcc: number;
  /** undefined without a validation split */
  valLoss?: number;
  valAcc?: number;
}

export interface TrainOptions {
  /** Width of each feature row. */
  dim: number;
  numClasses: number;
  /** 0 = linear head; else Linear → ReLU → Linear with this many hidden units. */
  hidden?: number;
  epochs?: number;
  lr?: number;
  weightDecay?: number;
  batch?: number;
  /** Fraction of each class held out for validation (stratified). */
  valFraction?: number;
  seed?: number;
  /** 'bce': exactly two classes, one sigmoid output = P(class 1). */
  loss?: 'softmax' | 'bce';
  onEpoch?: (record: TrainRecord) => void;
}

export interface TrainResult {
  layers: HeadLayer[];
  output: 'softmax' | 'sigmoid';
  /** Folded: the head reads raw embeddings. */
  tensors: Map<string, Float32Array>;
  split: { train: number[]; val: number[] };
  history: TrainRecord[];
  trainAccuracy: number;
  valAccuracy?: number;
  /** Validation counts, [true][predicted]. */
  confusion: number[][];
  /** [val.length × numClasses] */
  valProbabilities: Float64Array;
  /** row: index into the features; probability of the predicted class. */
  valPredictions: { row: number; label: number; predicted: number; probability: number }[];
}

/**
 * Train a head on embeddings (features: n × dim, row-major; labels: class index per row). Deterministic for a
 * seed. E_INPUT for fewer than two classes, a class without rows, bce with other than two classes.
 */
export function trainHead(features: Float32Array | Float64Array, labels: ArrayLike<number>, options: TrainOptions): TrainResult;

/** A head → the bytes of a .head.safetensors file. E_HEAD for an inconsistent head. */
export function encodeHead(head: Head): Uint8Array;
/** The bytes of a head file → the head. E_HEAD naming what is wrong (truncated, not a head file, bad metadata, shapes). */
export function decodeHead(bytes: Uint8Array | ArrayBuffer): Head;

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
  /** With classifier 'head': the head's { pooling, layers, output } (an attached head's, after setHead). */
  head: { pooling: Pooling; layers: HeadLayer[]; output: 'softmax' | 'sigmoid' } | null;
  /** The backbone as head files record it: input_dim per pooling, and the fingerprint. */
  backbone: { name: string; family: string; hidden_size: number; input_dim: Partial<Record<Pooling, number>>; fingerprint: string };
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

export interface ClassifyOptions {
  /** How many labels, best first (default 5). */
  topK?: number;
  /** Apply EXIF orientation (default true; false = exactly what HF/PIL does). */
  exif?: boolean;
  /**
   * Also the model's own classifier's top-K from the same forward pass: classify() then resolves to
   * `{ top, own }` instead of `Prediction[]`. Default false.
   */
  own?: boolean;
}

/** classify(image, { own: true }): the usual top-K and, from the same forward pass, the model's own classifier's. */
export interface ClassifyWithOwn {
  /** What classify() gives without `own`: the attached head's labels, or the model's own when none is attached. */
  top: Prediction[];
  /** The model's own classifier's top-K (its labels: those of the model as loaded, not the head's). */
  own: Prediction[];
}

/** One stage of the forward pass: wall milliseconds and calls summed over the profiled forwards. */
export interface ProfileStage {
  name: 'patch-embed' | 'pos-embed' | 'layernorm' | 'qkv' | 'attention' | 'attn-out' | 'fc1' | 'gelu' | 'fc2' |
    'quantize' | 'residual' | 'pool+head' | 'other';
  ms: number;
  calls: number;
}

export interface Profile {
  /** Every stage, always in this order; 'other' is the forward's time outside the named ones. */
  stages: ProfileStage[];
  forwards: number;
}

export interface Model {
  readonly info: ModelInfo;
  readonly disposed: boolean;
  /** Decode + resize + crop + normalise as the checkpoint's image processor does. exif: apply EXIF orientation (default true; false = exactly what HF/PIL does). */
  preprocess(image: ImageInput, options?: { exif?: boolean }): Promise<Pixels>;
  /** Raw forward on CHW pixels. ViT/DeiT/CLIP/SigLIP need imageSize²; DINOv2 takes any multiple of the patch size. */
  forward(pixels: Float32Array, options?: { height?: number; width?: number; pooling?: Pooling }): Promise<ForwardResult>;
  /** Top-K labels with scores, best first. Throws E_NO_CLASSIFIER for a backbone without classifier. */
  classify(image: ImageInput, options?: ClassifyOptions & { own?: false }): Promise<Prediction[]>;
  /**
   * With `own: true`: the top-K of the attached head (`top`) and of the model's own classifier (`own`), both from
   * one forward pass: the backbone runs once and each classifier reads its own pooling of the same
   * last_hidden_state, so `own` has exactly the numbers classify() gives after setHead(null). Without a head
   * attached, `own` equals `top`. E_NO_CLASSIFIER when the model has no classifier of its own (a backbone with a
   * head attached); the model keeps its head and keeps working.
   * @example
   * await model.setHead(headBytes);
   * const { top, own } = await model.classify(photo, { topK: 3, own: true });
   * // top: [{ index, label: 'cat', score }, …] (the head's labels); own: [{ index, label: 'dog', score }, …]
   */
  classify(image: ImageInput, options: ClassifyOptions & { own: true }): Promise<ClassifyWithOwn>;
  classify(image: ImageInput, options?: ClassifyOptions): Promise<Prediction[] | ClassifyWithOwn>;
  /** Pooled embedding (see Pooling; default info.poolings[0]). E_INPUT for a pooling the model does not offer. */
  embed(image: ImageInput, options?: { pooling?: Pooling; exif?: boolean }): Promise<Float32Array>;
  /**
   * Attach a head (a Head, or a head file's bytes) in place of the model's classifier: classify(), forward().logits
   * and info.labels/classifier/head then follow it. null restores the model's own classifier. E_HEAD when the
   * head is refused (damaged, other widths, another backbone unless anyBackbone); the model is then unchanged.
   */
  setHead(head: Head | Uint8Array | ArrayBuffer | null, options?: { anyBackbone?: boolean }): Promise<void>;
  /** The `backbone` entry of a head file for a head reading `pooling` (default info.poolings[0]) of this model. */
  headBackbone(pooling?: Pooling): HeadBackbone;
  /** The pooling embed() uses for `pooling` (none: info.poolings[0]). Throws E_INPUT for one the model does not offer. */
  resolvePooling(pooling?: Pooling): Pooling;
  /**
   * Stage profile: profile(true) switches it on (totals from zero), profile(false) off; profile() returns the
   * totals over the forwards finished since it was switched on. Off by default. E_DISPOSED after dispose().
   */
  profile(): Profile;
  profile(on: boolean): void;
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
