// ViT (Dosovitskiy et al.; HF ViTModel / ViTForImageClassification): [CLS] + patches, learned positions at the
// training resolution only, classifier on the final-LayerNorm CLS token.
#include "family.h"

namespace vitrine {
namespace {

class Vit : public VitLikeFamily {
 public:
  const char* name() const override { return "vit"; }
  Status parse(Fields& f, Architecture* a) const override {
    return parse_vit_like_keys(f, a, {});
  }
};

}  // namespace

const Family& vit_family() {
  static const Vit family;
  return family;
}

}  // namespace vitrine
