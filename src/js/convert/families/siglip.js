// SigLIP's vision tower (HF SiglipVisionModel, model_type "siglip_vision_model"; the vision half of SiglipModel,
// "siglip", whose text tower and logit scale/bias are dropped): no CLS token, an attention-pooling head.
import { nameTable } from './common.js';
import { TEXT_TOWER, TOWER_LAYER_NAMES, towerArchitecture, textTowerNote } from './clip.js';

export default {
  name: 'siglip',
  modelTypes: ['siglip_vision_model', 'siglip'],
  prefixes: ['vision_model.'],
  dropped: TEXT_TOWER,
  fallbackProcessor: 'SiglipImageProcessor',
  // HF keeps the position table as an nn.Embedding [N, D].
  reshaped: ['embeddings.position_embeddings'],

  architecture(config) {
    return towerArchitecture(config, 'siglip', { patch: 16, eps: 1e-6, act: 'gelu_pytorch_tanh' });
  },
  names() {
    return nameTable({
      top: [
        ['embeddings.position_embeddings', 'embeddings.position_embedding.weight'],
        ['embeddings.patch.', 'embeddings.patch_embedding'],
        ['norm.', 'post_layernorm'],
        // SiglipMultiheadAttentionPoolingHead; nn.MultiheadAttention stacks q, k, v in one in_proj.
        ['pool.probe', 'head.probe'],
        ['pool.attn.qkv.weight', 'head.attention.in_proj_weight'],
        ['pool.attn.qkv.bias', 'head.attention.in_proj_bias'],
        ['pool.attn.out.', 'head.attention.out_proj'],
        ['pool.norm.', 'head.layernorm'],
        ['pool.mlp.fc1.', 'head.mlp.fc1'],
        ['pool.mlp.fc2.', 'head.mlp.fc2'],
      ],
      layer: TOWER_LAYER_NAMES,
      layerPrefix: 'encoder.layers.',
    });
  },
  classifier() {
    return 'none';
  },
  checkpointFacts({ dropped, notes }) {
    notes.push(...textTowerNote(dropped));
  },
  // google/siglip-*: a fixed size, bicubic, mean = std = 0.5 (SiglipImageProcessor's defaults).
  defaultPreprocess(arch) {
    const s = arch.image_size;
    return { image_processor_type: 'SiglipImageProcessor', size: { height: s, width: s } };
  },
};
