// DeiT (Touvron et al.; HF DeiTModel / DeiTForImageClassification[WithTeacher]): ViT with a DIST token after CLS
// (it carries a position row); with a teacher, logits = mean of the CLS head and the DIST head ("cls+dist").
#include "family.h"

namespace vitrine {
namespace {

class Deit : public VitLikeFamily {
 public:
  const char* name() const override { return "deit"; }
  Status parse(Fields& f, Architecture* a) const override {
    return parse_vit_like_keys(f, a, {/*distillation_token=*/true, /*dinov2=*/false});
  }
};

}  // namespace

const Family& deit_family() {
  static const Deit family;
  return family;
}

}  // namespace vitrine
