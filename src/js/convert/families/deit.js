// DeiT (HF DeiTModel / DeiTForImageClassification[WithTeacher], model_type "deit"): ViT's names plus the DIST
// token; the teacher variant names its CLS head "cls_classifier" next to "distillation_classifier".
import { num, nameTable, HF_UNUSED } from './common.js';
import { VIT_LAYER_NAMES, VIT_EMBEDDING_NAMES, vitLikeArchitecture } from './vit.js';

export default {
  name: 'deit',
  modelTypes: ['deit'],
  prefixes: ['deit.'],
  dropped: HF_UNUSED,
  fallbackProcessor: 'DeiTImageProcessor',

  architecture(config) {
    const arch = vitLikeArchitecture(config, 'deit');
    arch.use_distillation_token = true;
    arch.intermediate_size = num(config, 'intermediate_size', 3072, { min: 1 });
    return arch;
  },
  names(arch) {
    // With a teacher, vitrine's "classifier" is HF's cls_classifier (named first, so messages show it).
    const cls = arch.classifier === 'cls+dist' ? ['classifier.', 'cls_classifier', 'classifier'] : ['classifier.', 'classifier', 'cls_classifier'];
    return nameTable({
      top: [...VIT_EMBEDDING_NAMES, ['embeddings.distillation_token', 'embeddings.distillation_token'], cls,
        ['distillation_classifier.', 'distillation_classifier']],
      layer: VIT_LAYER_NAMES,
    });
  },
  classifier(has) {
    return has('distillation_classifier.weight') ? 'cls+dist' : has('classifier.weight') ? 'cls' : 'none';
  },
  defaultPreprocess(arch) {
    const s = arch.image_size, r = Math.round((s * 256) / 224);
    return { image_processor_type: 'DeiTImageProcessor', size: { height: r, width: r }, crop_size: { height: s, width: s } };
  },
};
