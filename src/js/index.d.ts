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
  | 'E_MANIFEST' | 'E_CHUNK_MISSING' | 'E_CHUNK_SIZE' | 'E_CHUNK_HASH' | 'E_LOAD' | 'E_ABORTED'
  | 'E_IMAGE' | 'E_INPUT' | 'E_NO_CLASSIFIER' | 'E_MEMORY' | 'E_DISPOSED' | 'E_CONVERT' | 'E_WASM';

export class VitrineError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown });
}

export interface ChunkRequest {
  index: number;
  /** File name from the manifest, e.g. "chunk-00003.bin". */
  file: string;
  /** Exact byte count expected. */
  size: number;
  /** Lowercase hex SHA-256 the engine will check. */
  sha256: string;
  /** Absolute URL of the chunk when the model was loaded from a URL. */
  url?: string;
  /** Absolute file path when the model was loaded from a folder (Node). */
  path?: string;
}

export interface LoadOptions {
  /** Worker threads of the mt build (default 2 in Node; up to 4 by hardware in browsers). Ignored by st (1). */
  threads?: number;
  /** 'mt' (threads + SIMD; needs SharedArrayBuffer / cross-origin isolation) or 'st' (SIMD). Default: mt when possible, st for `threads: 1`. */
  build?: Build;
  /** Bytes over all chunks, one monotone sequence from { loaded: 0 } to { loaded: total }. */
  onProgress?: (p: { loaded: number; total: number }) => void;
  signal?: AbortSignal;
  /** Supply chunk bytes yourself (cache, resume). Default: fs read (Node folder) or fetch (URL). */
  fetchChunk?: (chunk: ChunkRequest) => Promise<Uint8Array | ArrayBuffer>;
  /** Images with more pixels are refused from their header alone (default 50,000,000). */
  maxPixels?: number;
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
  /** The poolings this model offers (reported by the engine). */
  poolings: readonly Pooling[];
  labels: readonly string[];
  preprocess: PreprocessConfig;
  /** Threads the engine runs with. */
  threads: number;
  build: Build;
  simd: true;
  name: string;
  metadata: Record<string, unknown>;
  /** Bytes of weights (the tensor stream). */
  streamSize: number;
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
  /** [numTokens × hiddenSize], after the final LayerNorm (HF last_hidden_state). */
  lastHiddenState: Float32Array;
  numTokens: number;
  hiddenSize: number;
  /** Present when the model has a classifier. */
  logits?: Float32Array;
  /** softmax(logits), or sigmoid for one logit / a sigmoid head. Present with logits. */
  scores?: Float32Array;
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
  /** Raw forward on CHW pixels. ViT/DeiT need imageSize²; DINOv2 takes any multiple of the patch size. */
  forward(pixels: Float32Array, options?: { height?: number; width?: number; pooling?: Pooling }): Promise<ForwardResult>;
  /** Top-K labels with scores, best first. Throws E_NO_CLASSIFIER for a backbone without classifier. */
  classify(image: ImageInput, options?: { topK?: number; exif?: boolean }): Promise<Prediction[]>;
  /** Pooled embedding: 'cls' (D), 'mean' of patch tokens (D) or 'cls+mean' (2D). */
  embed(image: ImageInput, options?: { pooling?: Pooling; exif?: boolean }): Promise<Float32Array>;
  /** Free the weights and buffers; pending calls finish first. */
  dispose(): Promise<void>;
}

/**
 * Load a converted model: a folder or manifest path (Node), or the URL of its manifest.json. Omitted (or
 * 'default'): the bundled model weights/cifar10-vit/manifest.json.
 */
export function load(source?: string | URL, options?: LoadOptions): Promise<Model>;
