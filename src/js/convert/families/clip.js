// CLIP's vision tower (HF CLIPVisionModel / CLIPVisionModelWithProjection, model_type "clip_vision_model"; the
// vision half of CLIPModel, "clip", whose text tower and logit scale are dropped). SigLIP (siglip.js) shares the
// config reading and the encoder names.
import { num, nameTable, convertError } from './common.js';

/** The two-tower checkpoints' text side, which vitrine does not use. */
export const TEXT_TOWER = [/^text_model\./, /^text_projection\./, /^logit_scale$/, /^logit_bias$/];

/** HF CLIP/SigLIP encoder layer names (under vision_model.encoder.layers.). */
export const TOWER_LAYER_NAMES = [
  ['norm1.', 'layer_norm1'],
  ['norm2.', 'layer_norm2'],
  ['attn.qkv.', { fused: ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'] }],
  ['attn.out.', 'self_attn.out_proj'],
  ['mlp.fc1.', 'mlp.fc1'],
  ['mlp.fc2.', 'mlp.fc2'],
];

/**
 * The shared keys of a vision tower's architecture, from its config: a two-tower config (model_type "clip" /
 * "siglip") nests the vision tower's config, a *VisionModel config is that config. Defaults are transformers'
 * CLIPVisionConfig / SiglipVisionConfig ones.
 */
export function towerArchitecture(config, family, { patch, eps, act }) {
  const v = config.model_type === family ? (config.vision_config ?? {}) : config;
  const D = num(v, 'hidden_size', 768, { min: 1 });
  const arch = {
    family,
    hidden_size: D,
    num_hidden_layers: num(v, 'num_hidden_layers', 12, { min: 1 }),
    num_attention_heads: num(v, 'num_attention_heads', 12, { min: 1 }),
    intermediate_size: num(v, 'intermediate_size', 3072, { min: 1 }),
    patch_size: num(v, 'patch_size', patch, { min: 1 }),
    image_size: num(v, 'image_size', 224, { min: 1 }),
    num_channels: num(v, 'num_channels', 3, { min: 1 }),
    layer_norm_eps: num(v, 'layer_norm_eps', eps, { int: false }),
    hidden_act: v.hidden_act ?? act,
    qkv_bias: true,
    classifier: 'none',
    num_labels: 0,
  };
  if (typeof arch.hidden_act !== 'string') throw convertError(`config.json: hidden_act must be a string, got ${JSON.stringify(arch.hidden_act)}`);
  if (D % arch.num_attention_heads) throw convertError(`config.json: num_attention_heads ${arch.num_attention_heads} does not divide hidden_size ${D}`);
  if (arch.image_size % arch.patch_size) throw convertError(`config.json: image_size ${arch.image_size} is not a multiple of patch_size ${arch.patch_size}`);
  return arch;
}

/** A note for the manifest when a two-tower checkpoint's text side was dropped. */
export function textTowerNote(dropped) {
  const n = dropped.filter((name) => TEXT_TOWER.some((re) => re.test(name))).length;
  return n ? [`vision tower only: the text tower (${n} tensors: text_model.*, text_projection, logit_scale/logit_bias) is dropped`] : [];
}

export default {
  name: 'clip',
  modelTypes: ['clip_vision_model', 'clip'],
  prefixes: ['vision_model.'],
  dropped: TEXT_TOWER,
  fallbackProcessor: 'CLIPImageProcessor',
  // HF keeps class_embedding as [D] and the position table as an nn.Embedding [1+N, D].
  reshaped: ['embeddings.cls_token', 'embeddings.position_embeddings'],

  architecture(config) {
    // projection_dim is set from visual_projection.weight (checkpointFacts): CLIPVisionModel's config carries a
    // projection_dim too, without the projection.
    return { ...towerArchitecture(config, 'clip', { patch: 32, eps: 1e-5, act: 'quick_gelu' }), projection_dim: 0 };
  },
  names() {
    return nameTable({
      top: [
        ['embeddings.cls_token', 'embeddings.class_embedding'],
        ['embeddings.position_embeddings', 'embeddings.position_embedding.weight'],
        ['embeddings.patch.weight', 'embeddings.patch_embedding.weight'],
        ['pre_norm.', 'pre_layrnorm'], // sic: HF's attribute name
        ['norm.', 'post_layernorm'],
        ['projection.weight', 'visual_projection.weight'],
      ],
      layer: TOWER_LAYER_NAMES,
      layerPrefix: 'encoder.layers.',
    });
  },
  classifier() {
    return 'none';
  },
  /** What the tensors say and config.json does not: the projection's width; the dropped text tower. */
  checkpointFacts({ arch, shapeOf, dropped, notes }) {
    const p = shapeOf('projection.weight');
    if (p) arch.projection_dim = p[0];
    notes.push(...textTowerNote(dropped));
  },
  // openai/clip-vit-*: shortest edge, bicubic, center crop, CLIP statistics (CLIPImageProcessor's defaults).
  defaultPreprocess(arch) {
    const s = arch.image_size;
    return { image_processor_type: 'CLIPImageProcessor', size: { shortest_edge: s }, crop_size: { height: s, width: s } };
  },
};
