// CLIP's vision tower (Radford et al.; HF CLIPVisionModel, CLIPVisionModelWithProjection and the vision half of
// CLIPModel): [CLS] + a patch conv without bias + positions, pre_layrnorm, quick_gelu blocks. last_hidden_state is
// the encoder output (no norm on the tokens); pooler_output = post_layernorm(CLS) ("pooler") and image_embeds =
// visual_projection(pooler_output) ("projection", no bias, not normalised) are computed when asked for.
#include "family.h"

namespace vitrine {
namespace {

struct ClipWeights : FamilyWeights {
  const float* post_norm_w = nullptr;  // HF post_layernorm, on the CLS row only
  const float* post_norm_b = nullptr;
  Linear projection;                   // HF visual_projection [projection_dim, D]
};

class Clip : public Family {
 public:
  const char* name() const override { return "clip"; }

  Status parse(Fields& f, Architecture* a) const override {
    f.integer("projection_dim", &a->projection_dim, 0, 1 << 16, /*required=*/false);
    a->patch_bias = false;
    a->pre_norm = true;
    a->final_norm = false;
    if (a->classifier != Classifier::None && a->classifier != Classifier::Head)
      return Status::Err(Code::Manifest, "manifest: architecture: a clip model takes classifier \"none\" or \"head\"");
    return Status::Ok();
  }

  void tensors(const Architecture& a, Model* m, TensorTable* t) const override {
    auto w = std::make_shared<ClipWeights>();
    embedding_tensors(a, m, t);
    pre_norm_tensors(a, m, t);
    block_tensors(a, m, t);
    t->tensor("norm.weight", {a.hidden}, &w->post_norm_w);
    t->tensor("norm.bias", {a.hidden}, &w->post_norm_b);
    if (a.projection_dim) t->linear("projection", a.projection_dim, {a.hidden}, &w->projection, /*bias=*/false);
    classifier_tensors(a, m, t);
    m->family_weights = std::move(w);
  }

  std::vector<Pooling> poolings(const Architecture& a) const override {
    std::vector<Pooling> p = {Pooling::Pooler, Pooling::Cls, Pooling::Mean, Pooling::ClsMean};
    if (a.projection_dim) p.insert(p.begin(), Pooling::Projection);
    return p;
  }

  int pooled_width(const Architecture& a, Pooling p) const override {
    return p == Pooling::Projection ? a.projection_dim : Family::pooled_width(a, p);
  }

  Status pool(const Model& model, ThreadPool* threads, const RunState& s, Pooling p,
              std::vector<float>* out) const override {
    const Architecture& a = model.arch;
    const auto& w = static_cast<const ClipWeights&>(*model.family_weights);
    std::vector<float> pooler(a.hidden);
    layernorm(threads, s.hidden_out, 1, a.hidden, w.post_norm_w, w.post_norm_b, a.eps, pooler.data());
    if (p == Pooling::Pooler) {
      *out = std::move(pooler);
    } else {
      out->assign(a.projection_dim, 0.f);
      linear(threads, pooler.data(), 1, w.projection, out->data());
    }
    return Status::Ok();
  }
};

}  // namespace

const Family& clip_family() {
  static const Clip family;
  return family;
}

}  // namespace vitrine
