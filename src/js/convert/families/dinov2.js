// DINOv2 (HF Dinov2Model / Dinov2ForImageClassification, "dinov2"; Dinov2WithRegistersModel,
// "dinov2_with_registers"): layer scale, optional SwiGLU FFN, register tokens, position interpolation.
import { num, nameTable, IMAGENET_MEAN, IMAGENET_STD, HF_UNUSED } from './common.js';
import { vitLikeArchitecture } from './vit.js';

export default {
  name: 'dinov2',
  modelTypes: ['dinov2', 'dinov2_with_registers'],
  prefixes: ['dinov2_with_registers.', 'dinov2.'],
  dropped: HF_UNUSED,
  fallbackProcessor: 'BitImageProcessor',

  architecture(config) {
    const arch = vitLikeArchitecture(config, 'dinov2', { patch: 14, eps: 1e-6 });
    const registers = config.model_type === 'dinov2_with_registers';
    arch.num_register_tokens = registers ? num(config, 'num_register_tokens', 4) : 0;
    arch.use_layer_scale = true;
    arch.use_swiglu_ffn = Boolean(config.use_swiglu_ffn);
    arch.interpolate_pos_encoding = true;
    // HF Dinov2WithRegisters resizes its position table with antialias=True, plain Dinov2 without (FORMAT §4).
    arch.interpolate_antialias = registers;
    const D = arch.hidden_size, hidden = Math.trunc(D * num(config, 'mlp_ratio', 4, { int: false }));
    // transformers Dinov2SwiGLUFFN: hidden = int(D*mlp_ratio); hidden = (int(hidden*2/3) + 7) // 8 * 8
    arch.intermediate_size = arch.use_swiglu_ffn ? Math.floor((Math.trunc((hidden * 2) / 3) + 7) / 8) * 8 : hidden;
    return arch;
  },
  names(arch) {
    const mlp = arch.use_swiglu_ffn ? ['weights_in', 'weights_out'] : ['fc1', 'fc2'];
    return nameTable({
      top: [
        ['embeddings.cls_token', 'embeddings.cls_token'],
        ['embeddings.register_tokens', 'embeddings.register_tokens'],
        ['embeddings.position_embeddings', 'embeddings.position_embeddings'],
        ['embeddings.patch.', 'embeddings.patch_embeddings.projection'],
        ['norm.', 'layernorm'],
        ['classifier.', 'classifier'],
      ],
      layer: [
        ['norm1.', 'norm1'],
        ['norm2.', 'norm2'],
        ['attn.qkv.', { fused: ['attention.attention.query', 'attention.attention.key', 'attention.attention.value'] }],
        ['attn.out.', 'attention.output.dense'],
        ['mlp.fc1.', `mlp.${mlp[0]}`],
        ['mlp.fc2.', `mlp.${mlp[1]}`],
        ['ls1', 'layer_scale1.lambda1'],
        ['ls2', 'layer_scale2.lambda1'],
      ],
    });
  },
  // HF's Dinov2ForImageClassification reads concat(CLS, mean of the tokens after CLS).
  classifier(has) {
    return has('classifier.weight') ? 'cls+patchmean' : 'none';
  },
  // facebook/dinov2-* ship BitImageProcessor with shortest_edge 256, crop 224, ImageNet statistics.
  defaultPreprocess() {
    return { image_processor_type: 'BitImageProcessor', size: { shortest_edge: 256 }, crop_size: { height: 224, width: 224 }, image_mean: IMAGENET_MEAN, image_std: IMAGENET_STD };
  },
};
