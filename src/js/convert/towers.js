// The vision towers of the image-text models, CLIP and SigLIP (transformers CLIPVisionModel,
// CLIPVisionModelWithProjection, CLIPModel, SiglipVisionModel, SiglipModel): Hugging Face names → vitrine names
// (docs/FORMAT.md §6), the architecture from config.json, the expected tensors. A full two-tower checkpoint
// (CLIPModel, SiglipModel) converts to its vision tower: the text tower and the text-image logit scale/bias are
// dropped.

/** config.json model_type → vitrine family. */
export const TOWER_MODEL_TYPES = { clip: 'clip', clip_vision_model: 'clip', siglip: 'siglip', siglip_vision_model: 'siglip' };

// transformers' config class defaults (CLIPVisionConfig, SiglipVisionConfig).
const DEFAULTS = {
  clip: { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, patch_size: 32, image_size: 224, layer_norm_eps: 1e-5, hidden_act: 'quick_gelu' },
  siglip: { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, patch_size: 16, image_size: 224, layer_norm_eps: 1e-6, hidden_act: 'gelu_pytorch_tanh' },
};

/**
 * The backbone part of `architecture` for a tower. `num(config, key, fallback, opts)` is mapping.js's checked
 * reader. projection_dim is filled in by the converter from visual_projection.weight when the checkpoint has it
 * (CLIPVisionModel's config carries a projection_dim too, but no projection).
 */
export function towerArchitecture(config, num) {
  const family = TOWER_MODEL_TYPES[config.model_type];
  // A two-tower config nests the vision tower's config; a *VisionModel config is the vision config itself.
  const v = config.model_type === 'clip' || config.model_type === 'siglip' ? (config.vision_config ?? {}) : config;
  const d = DEFAULTS[family];
  const get = (key, opts) => num(v, key, d[key], opts);
  return {
    family,
    hidden_size: get('hidden_size', { min: 1 }),
    num_hidden_layers: get('num_hidden_layers', { min: 1 }),
    num_attention_heads: get('num_attention_heads', { min: 1 }),
    intermediate_size: get('intermediate_size', { min: 1 }),
    patch_size: get('patch_size', { min: 1 }),
    image_size: get('image_size', { min: 1 }),
    num_channels: num(v, 'num_channels', 3, { min: 1 }),
    layer_norm_eps: get('layer_norm_eps', { int: false }),
    hidden_act: v.hidden_act ?? d.hidden_act,
    qkv_bias: true,
    use_distillation_token: false,
    num_register_tokens: 0,
    use_layer_scale: false,
    use_swiglu_ffn: false,
    // HF runs both towers at image_size unless the caller passes interpolate_pos_encoding=True.
    interpolate_pos_encoding: false,
    classifier: 'none',
    num_labels: 0,
    ...(family === 'clip' ? { projection_dim: 0 } : {}),
  };
}

const TOP = {
  'embeddings.class_embedding': ['embeddings.cls_token', true], // [D] → [1,1,D]
  'embeddings.position_embedding.weight': ['embeddings.position_embeddings', true], // [T,D] → [1,T,D]
  'embeddings.patch_embedding.weight': ['embeddings.patch.weight'],
  'embeddings.patch_embedding.bias': ['embeddings.patch.bias'],
  'pre_layrnorm.weight': ['pre_norm.weight'], // sic: CLIP's attribute name
  'pre_layrnorm.bias': ['pre_norm.bias'],
  'post_layernorm.weight': ['norm.weight'],
  'post_layernorm.bias': ['norm.bias'],
  'head.probe': ['pool.probe'],
  'head.attention.in_proj_weight': ['pool.attn.qkv.weight'], // nn.MultiheadAttention: q, k, v rows stacked
  'head.attention.in_proj_bias': ['pool.attn.qkv.bias'],
  'head.attention.out_proj.weight': ['pool.attn.out.weight'],
  'head.attention.out_proj.bias': ['pool.attn.out.bias'],
  'head.layernorm.weight': ['pool.norm.weight'],
  'head.layernorm.bias': ['pool.norm.bias'],
  'head.mlp.fc1.weight': ['pool.mlp.fc1.weight'],
  'head.mlp.fc1.bias': ['pool.mlp.fc1.bias'],
  'head.mlp.fc2.weight': ['pool.mlp.fc2.weight'],
  'head.mlp.fc2.bias': ['pool.mlp.fc2.bias'],
};
const LAYER = [
  [/^layer_norm1\.(weight|bias)$/, 'norm1.$1'],
  [/^self_attn\.q_proj\.(weight|bias)$/, 'attn.qkv.$1', 0],
  [/^self_attn\.k_proj\.(weight|bias)$/, 'attn.qkv.$1', 1],
  [/^self_attn\.v_proj\.(weight|bias)$/, 'attn.qkv.$1', 2],
  [/^self_attn\.out_proj\.(weight|bias)$/, 'attn.out.$1'],
  [/^layer_norm2\.(weight|bias)$/, 'norm2.$1'],
  [/^mlp\.fc1\.(weight|bias)$/, 'mlp.fc1.$1'],
  [/^mlp\.fc2\.(weight|bias)$/, 'mlp.fc2.$1'],
];
/** The text side of a two-tower checkpoint. */
export const TEXT_TOWER = [/^text_model\./, /^text_projection\./, /^logit_scale$/, /^logit_bias$/];

/** Like mapping.js mapName, for a tower: { target, part?, reshape? } | { dropped: true } | null. */
export function mapTowerName(hfName) {
  if (hfName === 'visual_projection.weight') return { target: 'projection.weight' };
  if (TEXT_TOWER.some((re) => re.test(hfName))) return { dropped: true };
  if (!hfName.startsWith('vision_model.')) return null;
  const n = hfName.slice('vision_model.'.length);
  if (TOP[n]) return { target: TOP[n][0], ...(TOP[n][1] ? { reshape: true } : {}) };
  const m = /^encoder\.layers\.(\d+)\.(.+)$/.exec(n);
  if (m) {
    for (const [re, to, part] of LAYER) if (re.test(m[2])) return { target: `layers.${Number(m[1])}.${m[2].replace(re, to)}`, part };
  }
  return null;
}

/** The tower tensors (name, shape) in stream order, FORMAT §6. */
export function towerTensors(a) {
  const D = a.hidden_size, I = a.intermediate_size, P = a.patch_size, C = a.num_channels;
  const N = (a.image_size / P) ** 2, clip = a.family === 'clip';
  const out = [];
  const add = (name, shape) => out.push({ name, shape });
  if (clip) add('embeddings.cls_token', [1, 1, D]);
  add('embeddings.position_embeddings', [1, (clip ? 1 : 0) + N, D]);
  add('embeddings.patch.weight', [D, C, P, P]);
  if (!clip) add('embeddings.patch.bias', [D]); // CLIP's patch conv has no bias
  if (clip) { add('pre_norm.weight', [D]); add('pre_norm.bias', [D]); }
  for (let l = 0; l < a.num_hidden_layers; l++) {
    const p = `layers.${l}.`;
    add(p + 'norm1.weight', [D]); add(p + 'norm1.bias', [D]);
    add(p + 'attn.qkv.weight', [3 * D, D]); add(p + 'attn.qkv.bias', [3 * D]);
    add(p + 'attn.out.weight', [D, D]); add(p + 'attn.out.bias', [D]);
    add(p + 'norm2.weight', [D]); add(p + 'norm2.bias', [D]);
    add(p + 'mlp.fc1.weight', [I, D]); add(p + 'mlp.fc1.bias', [I]);
    add(p + 'mlp.fc2.weight', [D, I]); add(p + 'mlp.fc2.bias', [D]);
  }
  add('norm.weight', [D]); add('norm.bias', [D]);
  if (a.projection_dim) add('projection.weight', [a.projection_dim, D]);
  if (!clip) {
    add('pool.probe', [1, 1, D]);
    add('pool.attn.qkv.weight', [3 * D, D]); add('pool.attn.qkv.bias', [3 * D]);
    add('pool.attn.out.weight', [D, D]); add('pool.attn.out.bias', [D]);
    add('pool.norm.weight', [D]); add('pool.norm.bias', [D]);
    add('pool.mlp.fc1.weight', [I, D]); add('pool.mlp.fc1.bias', [I]);
    add('pool.mlp.fc2.weight', [D, I]); add('pool.mlp.fc2.bias', [D]);
  }
  return out;
}

/** The Hugging Face name a tower tensor comes from (for error messages). */
export function towerHfName(name) {
  if (name === 'projection.weight') return 'visual_projection.weight';
  const top = Object.entries(TOP).find(([, [to]]) => to === name);
  if (top) return `vision_model.${top[0]}`;
  const m = /^layers\.(\d+)\.(.*)$/.exec(name);
  if (!m) return name;
  const sub = m[2]
    .replace(/^norm1\./, 'layer_norm1.').replace(/^norm2\./, 'layer_norm2.')
    .replace(/^attn\.qkv\.(\w+)$/, 'self_attn.{q,k,v}_proj.$1').replace(/^attn\.out\./, 'self_attn.out_proj.');
  return `vision_model.encoder.layers.${m[1]}.${sub}`;
}
