// ViT (HF ViTModel / ViTForImageClassification, model_type "vit"): config.json → architecture, HF names,
// classifier, processor defaults. DeiT reuses the names and the config reading (deit.js).
import { convertError, num, nameTable, HF_UNUSED } from './common.js';

/** HF ViT/DeiT encoder layer names. */
export const VIT_LAYER_NAMES = [
  ['norm1.', 'layernorm_before'],
  ['norm2.', 'layernorm_after'],
  ['attn.qkv.', { fused: ['attention.attention.query', 'attention.attention.key', 'attention.attention.value'] }],
  ['attn.out.', 'attention.output.dense'],
  ['mlp.fc1.', 'intermediate.dense'],
  ['mlp.fc2.', 'output.dense'],
];
export const VIT_EMBEDDING_NAMES = [
  ['embeddings.cls_token', 'embeddings.cls_token'],
  ['embeddings.position_embeddings', 'embeddings.position_embeddings'],
  ['embeddings.patch.', 'embeddings.patch_embeddings.projection'],
  ['norm.', 'layernorm'],
];

/** The config.json keys ViT, DeiT and DINOv2 share, with the checks the engine would otherwise refuse later. */
export function vitLikeArchitecture(config, family, { patch = 16, eps = 1e-12 } = {}) {
  const D = num(config, 'hidden_size', 768, { min: 1 });
  const arch = {
    family,
    hidden_size: D,
    num_hidden_layers: num(config, 'num_hidden_layers', 12, { min: 1 }),
    num_attention_heads: num(config, 'num_attention_heads', 12, { min: 1 }),
    intermediate_size: 0,
    patch_size: num(config, 'patch_size', patch, { min: 1 }),
    image_size: num(config, 'image_size', 224, { min: 1 }),
    num_channels: num(config, 'num_channels', 3, { min: 1 }),
    layer_norm_eps: num(config, 'layer_norm_eps', eps, { int: false }),
    hidden_act: config.hidden_act ?? 'gelu',
    qkv_bias: config.qkv_bias ?? true,
    use_distillation_token: false,
    num_register_tokens: 0,
    use_layer_scale: false,
    use_swiglu_ffn: false,
    interpolate_pos_encoding: false,
    interpolate_antialias: false,
    classifier: 'none',
    num_labels: 0,
  };
  if (typeof arch.hidden_act !== 'string') throw convertError(`config.json: hidden_act must be a string, got ${JSON.stringify(arch.hidden_act)}`);
  if (typeof arch.qkv_bias !== 'boolean') throw convertError(`config.json: qkv_bias must be a boolean`);
  if (D % arch.num_attention_heads) throw convertError(`config.json: num_attention_heads ${arch.num_attention_heads} does not divide hidden_size ${D}`);
  if (arch.image_size % arch.patch_size) throw convertError(`config.json: image_size ${arch.image_size} is not a multiple of patch_size ${arch.patch_size}`);
  return arch;
}

// A converter family module: { name (= the engine family), modelTypes (config.json model_type values), prefixes
// (the HF model prefix of backbone tensors), dropped (HF tensors vitrine does not use), fallbackProcessor,
// architecture(config), names(arch) (nameTable), classifier(has), defaultPreprocess(arch), reshaped? (canonical
// names whose HF shape is a different layout of the same elements) }.
export default {
  name: 'vit',
  modelTypes: ['vit'],
  prefixes: ['vit.'],
  dropped: HF_UNUSED,
  fallbackProcessor: 'ViTImageProcessor',

  architecture(config) {
    const arch = vitLikeArchitecture(config, 'vit');
    arch.intermediate_size = num(config, 'intermediate_size', 3072, { min: 1 });
    return arch;
  },
  names() {
    return nameTable({ top: [...VIT_EMBEDDING_NAMES, ['classifier.', 'classifier']], layer: VIT_LAYER_NAMES });
  },
  /** Which classifier the checkpoint's classifier tensors (canonical names) mean. */
  classifier(has) {
    return has('classifier.weight') ? 'cls' : 'none';
  },
  /** What a checkpoint without preprocessor_config.json most plausibly used. */
  defaultPreprocess(arch) {
    const s = arch.image_size;
    return { image_processor_type: 'ViTImageProcessor', size: { height: s, width: s } };
  },
};
