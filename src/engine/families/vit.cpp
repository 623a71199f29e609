// ViT (Dosovitskiy et al.; HF ViTModel / ViTForImageClassification): [CLS] + patches, learned positions at the
// training resolution only, classifier on the final-LayerNorm CLS token.
#include "family.h"

namespace vitrine {
namespace {

class Vit : public VitLikeFamily {
 public:
  const char* name() const override { return "vit"; }
  Status parse(Fields& f, Architecture* a) const override {
    parse_vit_like_keys(f, a);
    if (!f.status().ok()) return f.status();
    if (a->registers || a->layer_scale || a->swiglu || a->interpolate_pos || a->interpolate_antialias)
      return Status::Err(Code::Manifest,
                         "manifest: architecture: registers, layer scale, SwiGLU and position interpolation are DINOv2-only");
    if (a->distillation_token)
      return Status::Err(Code::Manifest, "manifest: architecture: family \"vit\" has no distillation token");
    return check_classifier(*a);
  }
};

}  // namespace

const Family& vit_family() {
  static const Vit family;
  return family;
}

}  // namespace vitrine
