// DeiT (Touvron et al.; HF DeiTModel / DeiTForImageClassification[WithTeacher]): ViT with a DIST token after CLS
// (it carries a position row); with a teacher, logits = mean of the CLS head and the DIST head ("cls+dist").
#include "family.h"

namespace vitrine {
namespace {

class Deit : public VitLikeFamily {
 public:
  const char* name() const override { return "deit"; }
  Status parse(Fields& f, Architecture* a) const override {
    parse_vit_like_keys(f, a);
    if (!f.status().ok()) return f.status();
    if (a->registers || a->layer_scale || a->swiglu || a->interpolate_pos || a->interpolate_antialias)
      return Status::Err(Code::Manifest,
                         "manifest: architecture: registers, layer scale, SwiGLU and position interpolation are DINOv2-only");
    return check_classifier(*a);
  }
};

}  // namespace

const Family& deit_family() {
  static const Deit family;
  return family;
}

}  // namespace vitrine
