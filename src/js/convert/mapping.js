// Hugging Face names → vitrine canonical names (docs/FORMAT.md §6), and the architecture/preprocess blocks
// of the manifest from config.json / preprocessor_config.json.
import { VitrineError } from '../errors.js';
import { TOWER_MODEL_TYPES, towerArchitecture, mapTowerName, towerTensors } from './towers.js';

const convertError = (msg) => new VitrineError('E_CONVERT', msg);

const PREFIXES = ['dinov2_with_registers.', 'dinov2.', 'deit.', 'vit.'];
export const DROPPED = [/^pooler\./, /^embeddings\.mask_token$/];

const LAYER_MAP = [
  [/^layernorm_before\.(weight|bias)$/, 'norm1.$1'],
  [/^norm1\.(weight|bias)$/, 'norm1.$1'],
  [/^layernorm_after\.(weight|bias)$/, 'norm2.$1'],
  [/^norm2\.(weight|bias)$/, 'norm2.$1'],
  [/^attention\.attention\.query\.(weight|bias)$/, 'attn.qkv.$1', 0],
  [/^attention\.attention\.key\.(weight|bias)$/, 'attn.qkv.$1', 1],
  [/^attention\.attention\.value\.(weight|bias)$/, 'attn.qkv.$1', 2],
  [/^attention\.output\.dense\.(weight|bias)$/, 'attn.out.$1'],
  [/^intermediate\.dense\.(weight|bias)$/, 'mlp.fc1.$1'],
  [/^output\.dense\.(weight|bias)$/, 'mlp.fc2.$1'],
  [/^mlp\.fc1\.(weight|bias)$/, 'mlp.fc1.$1'],
  [/^mlp\.fc2\.(weight|bias)$/, 'mlp.fc2.$1'],
  [/^mlp\.weights_in\.(weight|bias)$/, 'mlp.fc1.$1'],
  [/^mlp\.weights_out\.(weight|bias)$/, 'mlp.fc2.$1'],
  [/^layer_scale1\.lambda1$/, 'ls1'],
  [/^layer_scale2\.lambda1$/, 'ls2'],
];

const TOP_MAP = {
  'embeddings.cls_token': 'embeddings.cls_token',
  'embeddings.distillation_token': 'embeddings.distillation_token',
  'embeddings.register_tokens': 'embeddings.register_tokens',
  'embeddings.position_embeddings': 'embeddings.position_embeddings',
  'embeddings.patch_embeddings.projection.weight': 'embeddings.patch.weight',
  'embeddings.patch_embeddings.projection.bias': 'embeddings.patch.bias',
  'layernorm.weight': 'norm.weight',
  'layernorm.bias': 'norm.bias',
  'classifier.weight': 'classifier.weight',
  'classifier.bias': 'classifier.bias',
  'cls_classifier.weight': 'classifier.weight',
  'cls_classifier.bias': 'classifier.bias',
  'distillation_classifier.weight': 'distillation_classifier.weight',
  'distillation_classifier.bias': 'distillation_classifier.bias',
};

/**
 * Map one HF tensor name of a `family` checkpoint. Returns { target, part?, reshape? } (part = 0/1/2 for q/k/v;
 * reshape: same elements, vitrine's shape), { dropped: true }, or null when the name is not one vitrine knows.
 */
export function mapName(hfName, family) {
  if (family === 'clip' || family === 'siglip') return mapTowerName(hfName);
  let n = hfName;
  for (const p of PREFIXES) if (n.startsWith(p)) { n = n.slice(p.length); break; }
  if (DROPPED.some((re) => re.test(n))) return { dropped: true };
  if (TOP_MAP[n]) return { target: TOP_MAP[n] };
  const m = /^encoder\.layer\.(\d+)\.(.+)$/.exec(n);
  if (m) {
    for (const [re, to, part] of LAYER_MAP) {
      if (re.test(m[2])) return { target: `layers.${Number(m[1])}.${m[2].replace(re, to)}`, part };
    }
  }
  return null;
}

const FAMILIES = { vit: 'vit', deit: 'deit', dinov2: 'dinov2', dinov2_with_registers: 'dinov2', ...TOWER_MODEL_TYPES };

function num(config, key, fallback, { int = true, min = 0 } = {}) {
  const v = config[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v)) || v < min) {
    throw convertError(`config.json: "${key}" must be ${int ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(config[key])}`);
  }
  return v;
}

/** The backbone part of `architecture` (classifier filled in by the caller). */
export function architectureFromConfig(config) {
  const modelType = config.model_type;
  const family = FAMILIES[modelType];
  if (!family) throw convertError(`config.json: model_type ${JSON.stringify(modelType)} is not supported (${Object.keys(FAMILIES).join(', ')})`);
  if (TOWER_MODEL_TYPES[modelType]) return checkedBackbone(towerArchitecture(config, num));
  const dino = family === 'dinov2';
  const D = num(config, 'hidden_size', 768, { min: 1 });
  const arch = {
    family,
    hidden_size: D,
    num_hidden_layers: num(config, 'num_hidden_layers', 12, { min: 1 }),
    num_attention_heads: num(config, 'num_attention_heads', 12, { min: 1 }),
    intermediate_size: 0,
    patch_size: num(config, 'patch_size', dino ? 14 : 16, { min: 1 }),
    image_size: num(config, 'image_size', 224, { min: 1 }),
    num_channels: num(config, 'num_channels', 3, { min: 1 }),
    layer_norm_eps: num(config, 'layer_norm_eps', dino ? 1e-6 : 1e-12, { int: false }),
    hidden_act: config.hidden_act ?? 'gelu',
    qkv_bias: config.qkv_bias ?? true,
    use_distillation_token: family === 'deit',
    num_register_tokens: modelType === 'dinov2_with_registers' ? num(config, 'num_register_tokens', 4) : 0,
    use_layer_scale: dino,
    use_swiglu_ffn: dino ? Boolean(config.use_swiglu_ffn) : false,
    interpolate_pos_encoding: dino,
    // HF Dinov2WithRegisters resizes its position table with antialias=True, plain Dinov2 without (FORMAT §4).
    interpolate_antialias: modelType === 'dinov2_with_registers',
    classifier: 'none',
    num_labels: 0,
  };
  checkedBackbone(arch);
  if (dino) {
    const ratio = num(config, 'mlp_ratio', 4, { int: false });
    const hidden = Math.trunc(D * ratio);
    // transformers Dinov2SwiGLUFFN: hidden = int(D*mlp_ratio); hidden = (int(hidden*2/3) + 7) // 8 * 8
    arch.intermediate_size = arch.use_swiglu_ffn ? Math.floor((Math.trunc((hidden * 2) / 3) + 7) / 8) * 8 : hidden;
  } else {
    arch.intermediate_size = num(config, 'intermediate_size', 3072, { min: 1 });
  }
  return arch;
}

function checkedBackbone(arch) {
  if (typeof arch.hidden_act !== 'string') throw convertError(`config.json: hidden_act must be a string, got ${JSON.stringify(arch.hidden_act)}`);
  if (typeof arch.qkv_bias !== 'boolean') throw convertError(`config.json: qkv_bias must be a boolean`);
  if (arch.hidden_size % arch.num_attention_heads) throw convertError(`config.json: num_attention_heads ${arch.num_attention_heads} does not divide hidden_size ${arch.hidden_size}`);
  if (arch.image_size % arch.patch_size) throw convertError(`config.json: image_size ${arch.image_size} is not a multiple of patch_size ${arch.patch_size}`);
  return arch;
}

/**
 * Expected canonical tensors (name → shape) in stream order, FORMAT §6.
 */
export function expectedTensors(a) {
  if (a.family === 'clip' || a.family === 'siglip') return [...towerTensors(a), ...headTensors(a)];
  const D = a.hidden_size, I = a.intermediate_size, P = a.patch_size, C = a.num_channels;
  const N = (a.image_size / P) ** 2, X = a.use_distillation_token ? 2 : 1, R = a.num_register_tokens;
  const F = a.use_swiglu_ffn ? 2 * I : I;
  const out = [];
  const add = (name, shape, hf) => out.push({ name, shape });
  add('embeddings.cls_token', [1, 1, D]);
  if (a.use_distillation_token) add('embeddings.distillation_token', [1, 1, D]);
  if (R > 0) add('embeddings.register_tokens', [1, R, D]);
  add('embeddings.position_embeddings', [1, X + N, D]);
  add('embeddings.patch.weight', [D, C, P, P]);
  add('embeddings.patch.bias', [D]);
  for (let l = 0; l < a.num_hidden_layers; l++) {
    const p = `layers.${l}.`;
    add(p + 'norm1.weight', [D]); add(p + 'norm1.bias', [D]);
    add(p + 'attn.qkv.weight', [3 * D, D]);
    if (a.qkv_bias) add(p + 'attn.qkv.bias', [3 * D]);
    add(p + 'attn.out.weight', [D, D]); add(p + 'attn.out.bias', [D]);
    if (a.use_layer_scale) { add(p + 'ls1', [D]); add(p + 'ls2', [D]); }
    add(p + 'norm2.weight', [D]); add(p + 'norm2.bias', [D]);
    add(p + 'mlp.fc1.weight', [F, D]); add(p + 'mlp.fc1.bias', [F]);
    add(p + 'mlp.fc2.weight', [D, I]); add(p + 'mlp.fc2.bias', [D]);
  }
  add('norm.weight', [D]); add('norm.bias', [D]);
  const L = a.num_labels;
  if (a.classifier === 'cls' || a.classifier === 'cls+dist') { add('classifier.weight', [L, D]); add('classifier.bias', [L]); }
  if (a.classifier === 'cls+patchmean') { add('classifier.weight', [L, 2 * D]); add('classifier.bias', [L]); }
  if (a.classifier === 'cls+dist') { add('distillation_classifier.weight', [L, D]); add('distillation_classifier.bias', [L]); }
  return [...out, ...headTensors(a)];
}

function headTensors(a) {
  const out = [];
  if (a.classifier === 'head') {
    a.head.layers.forEach((layer, k) => {
      if (layer.type === 'linear') out.push({ name: `head.${k}.weight`, shape: [layer.out, layer.in] }, { name: `head.${k}.bias`, shape: [layer.out] });
    });
  }
  return out;
}

// ---- preprocess (FORMAT §5) ----

const IMAGENET_MEAN = [0.485, 0.456, 0.406], IMAGENET_STD = [0.229, 0.224, 0.225];
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

/** What a checkpoint without preprocessor_config.json most plausibly used, per family. */
export function familyDefaultPreprocess(arch) {
  const s = arch.image_size;
  if (arch.family === 'vit') return { image_processor_type: 'ViTImageProcessor', size: { height: s, width: s } };
  if (arch.family === 'deit') {
    return { image_processor_type: 'DeiTImageProcessor', size: { height: Math.round((s * 256) / 224), width: Math.round((s * 256) / 224) }, crop_size: { height: s, width: s } };
  }
  if (arch.family === 'clip') return { image_processor_type: 'CLIPImageProcessor', size: { shortest_edge: s }, crop_size: { height: s, width: s } };
  if (arch.family === 'siglip') return { image_processor_type: 'SiglipImageProcessor', size: { height: s, width: s } };
  // facebook/dinov2-* ship BitImageProcessor with shortest_edge 256, crop 224, ImageNet statistics.
  return { image_processor_type: 'BitImageProcessor', size: { shortest_edge: 256 }, crop_size: { height: 224, width: 224 }, image_mean: IMAGENET_MEAN, image_std: IMAGENET_STD };
}

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

/** Normalise an HF preprocessor_config.json object to FORMAT §5. */
export function normalisePreprocess(pp, family) {
  let cls = pp.image_processor_type ?? pp.feature_extractor_type;
  cls = ALIASES[cls] ?? cls;
  let defaults = PROCESSOR_DEFAULTS[cls];
  const notes = [];
  if (!defaults) {
    const fallback = { dinov2: 'BitImageProcessor', deit: 'DeiTImageProcessor', clip: 'CLIPImageProcessor', siglip: 'SiglipImageProcessor' }[family] ?? 'ViTImageProcessor';
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
