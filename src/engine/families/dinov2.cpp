// DINOv2 (Oquab et al.; HF Dinov2Model, Dinov2WithRegistersModel, Dinov2ForImageClassification): layer scale,
// optional SwiGLU FFN and register tokens (after CLS, no position row), positions bicubically resized to any
// patch grid, classifier on concat(CLS, mean of every token after CLS) ("cls+patchmean").
#include "family.h"

namespace vitrine {
namespace {

class Dinov2 : public VitLikeFamily {
 public:
  const char* name() const override { return "dinov2"; }
  Status parse(Fields& f, Architecture* a) const override {
    return parse_vit_like_keys(f, a, {/*distillation_token=*/true, /*dinov2=*/true});
  }
};

}  // namespace

const Family& dinov2_family() {
  static const Dinov2 family;
  return family;
}

}  // namespace vitrine
