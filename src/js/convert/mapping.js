// The manifest's architecture (through the family modules in families/) and preprocess blocks from config.json /
// preprocessor_config.json, and the tensor table the engine expects for an architecture.
import { getRuntime } from '../runtime.js';
import { convertError, IMAGENET_MEAN, IMAGENET_STD } from './families/common.js';
import { familyForModelType } from './families/index.js';

/** The backbone part of `architecture` (classifier filled in by the caller), by the config's family module. */
export async function architectureFromConfig(config) {
  return (await familyForModelType(config.model_type)).architecture(config);
}

/**
 * The tensors (name, shape, in stream order) a model of `arch` holds: the engine's own table (FORMAT §6), asked
 * through the WebAssembly module. An architecture the engine refuses throws fail(the engine's message, which names
 * the key), an E_CONVERT by default.
 */
export async function tensorTable(arch, fail = (message) => convertError(message)) {
  const { Module, lock } = await getRuntime('st', 1);
  const r = await lock.run(() => Module.tensorTable(JSON.stringify(arch)));
  if (!Array.isArray(r)) throw fail(r.message);
  return r;
}

// ---- preprocess (FORMAT §5) ----

const STANDARD = [0.5, 0.5, 0.5];
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073], CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

// Class defaults of transformers' image processors (the values their __init__ uses for a missing key).
const PROCESSOR_DEFAULTS = {
  ViTImageProcessor: { do_convert_rgb: false, do_resize: true, size: { height: 224, width: 224 }, resample: 2, do_center_crop: false, do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: STANDARD, image_std: STANDARD, squareSize: true },
  DeiTImageProcessor: { do_convert_rgb: false, do_resize: true, size: { height: 256, width: 256 }, resample: 3, do_center_crop: true, crop_size: { height: 224, width: 224 }, do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: IMAGENET_MEAN, image_std: IMAGENET_STD, squareSize: true },
  BitImageProcessor: { do_convert_rgb: true, do_resize: true, size: { shortest_edge: 224 }, resample: 3, do_center_crop: true, crop_size: { height: 224, width: 224 }, do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: CLIP_MEAN, image_std: CLIP_STD, squareSize: false },
  CLIPImageProcessor: { do_convert_rgb: true, do_resize: true, size: { shortest_edge: 224 }, resample: 3, do_center_crop: true, crop_size: { height: 224, width: 224 }, do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: CLIP_MEAN, image_std: CLIP_STD, squareSize: false },
  SiglipImageProcessor: { do_convert_rgb: false, do_resize: true, size: { height: 224, width: 224 }, resample: 3, do_center_crop: false, do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: STANDARD, image_std: STANDARD, squareSize: true },
};
const ALIASES = { ViTFeatureExtractor: 'ViTImageProcessor', DeiTFeatureExtractor: 'DeiTImageProcessor', BitFeatureExtractor: 'BitImageProcessor', CLIPFeatureExtractor: 'CLIPImageProcessor', ViTImageProcessorFast: 'ViTImageProcessor', DeiTImageProcessorFast: 'DeiTImageProcessor', BitImageProcessorFast: 'BitImageProcessor', CLIPImageProcessorFast: 'CLIPImageProcessor' };

function sizeDict(v, key, square) {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return square ? { height: v, width: v } : { shortest_edge: v };
  if (Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x > 0)) return { height: v[0], width: v[1] };
  if (v && typeof v === 'object') {
    if (Number.isInteger(v.height) && Number.isInteger(v.width) && v.height > 0 && v.width > 0) return { height: v.height, width: v.width };
    if (Number.isInteger(v.shortest_edge) && v.shortest_edge > 0 && v.longest_edge === undefined) return { shortest_edge: v.shortest_edge };
  }
  throw convertError(`preprocessor_config.json: "${key}" ${JSON.stringify(v)} is not a size vitrine supports ({height,width} or {shortest_edge})`);
}

function triple(v, key) {
  if (typeof v === 'number') return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return v.slice();
  throw convertError(`preprocessor_config.json: "${key}" must be 3 numbers, got ${JSON.stringify(v)}`);
}

/**
 * Normalise an HF preprocessor_config.json object to FORMAT §5. An image processor vitrine does not know takes
 * the defaults of `fallback` (the family module's fallbackProcessor) for its missing keys.
 */
export function normalisePreprocess(pp, fallback = 'ViTImageProcessor') {
  let cls = pp.image_processor_type ?? pp.feature_extractor_type;
  cls = ALIASES[cls] ?? cls;
  let defaults = PROCESSOR_DEFAULTS[cls];
  const notes = [];
  if (!defaults) {
    notes.push(`image processor ${JSON.stringify(cls)} is not one vitrine knows; its missing keys take ${fallback} defaults`);
    defaults = PROCESSOR_DEFAULTS[fallback];
    cls = cls ?? fallback;
  }
  const get = (k) => pp[k] ?? defaults[k];
  const bool = (k) => {
    const v = get(k);
    if (v === null || v === undefined) return false;
    if (typeof v !== 'boolean') throw convertError(`preprocessor_config.json: "${k}" must be true/false, got ${JSON.stringify(v)}`);
    return v;
  };
  const out = {
    processor: cls,
    do_convert_rgb: bool('do_convert_rgb'),
    do_resize: bool('do_resize'),
    size: sizeDict(get('size'), 'size', defaults.squareSize),
    resample: get('resample'),
    do_center_crop: bool('do_center_crop'),
  };
  if (![0, 1, 2, 3, 4, 5].includes(out.resample)) throw convertError(`preprocessor_config.json: resample ${JSON.stringify(out.resample)} is not supported (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)`);
  if (out.do_center_crop) out.crop_size = sizeDict(get('crop_size'), 'crop_size', true);
  out.do_rescale = bool('do_rescale');
  out.rescale_factor = get('rescale_factor');
  if (typeof out.rescale_factor !== 'number') throw convertError(`preprocessor_config.json: rescale_factor must be a number`);
  out.do_normalize = bool('do_normalize');
  out.image_mean = triple(get('image_mean'), 'image_mean');
  out.image_std = triple(get('image_std'), 'image_std');
  return { preprocess: out, notes };
}
