// SigLIP's vision tower (Zhai et al.; HF SiglipVisionModel and the vision half of SiglipModel): no CLS token,
// patch conv with bias + positions, gelu_pytorch_tanh blocks, post_layernorm on every token = last_hidden_state.
// pooler_output ("pooler") is HF's SiglipMultiheadAttentionPoolingHead: a learned probe attends over all tokens
// (nn.MultiheadAttention: q, k, v rows stacked in one in_proj), a = out_proj(...), pooler = a + MLP(LN(a)).
#include <algorithm>
#include <cmath>

#include "family.h"

namespace vitrine {
namespace {

struct SiglipWeights : FamilyWeights {
  const float* probe = nullptr;  // [1, 1, D]
  Linear in_proj;                // [3D, D]: q, k, v
  Linear out_proj;
  const float* norm_w = nullptr;
  const float* norm_b = nullptr;
  Linear fc1, fc2;
};

class Siglip : public Family {
 public:
  const char* name() const override { return "siglip"; }

  Status parse(Fields&, Architecture* a) const override {
    a->cls_token = false;
    if (a->classifier != Classifier::None && a->classifier != Classifier::Head)
      return Status::Err(Code::Manifest, "manifest: architecture: a siglip model takes classifier \"none\" or \"head\"");
    return Status::Ok();
  }

  void tensors(const Architecture& a, Model* m, TensorTable* t) const override {
    const int64_t D = a.hidden, I = a.intermediate;
    auto w = std::make_shared<SiglipWeights>();
    embedding_tensors(a, m, t);
    block_tensors(a, m, t);
    final_norm_tensors(a, m, t);
    t->tensor("pool.probe", {1, 1, D}, &w->probe);
    t->linear("pool.attn.qkv", 3 * D, {D}, &w->in_proj);
    t->linear("pool.attn.out", D, {D}, &w->out_proj);
    t->tensor("pool.norm.weight", {D}, &w->norm_w);
    t->tensor("pool.norm.bias", {D}, &w->norm_b);
    t->linear("pool.mlp.fc1", I, {D}, &w->fc1);
    t->linear("pool.mlp.fc2", D, {I}, &w->fc2);
    classifier_tensors(a, m, t);
    m->family_weights = std::move(w);
  }

  std::vector<Pooling> poolings(const Architecture&) const override { return {Pooling::Pooler, Pooling::Mean}; }

  Status pool(const Model& model, ThreadPool* threads, const RunState& s, Pooling,
              std::vector<float>* out) const override {
    const Architecture& a = model.arch;
    const auto& w = static_cast<const SiglipWeights&>(*model.family_weights);
    const int D = a.hidden, T = s.tokens, H = a.heads, hd = D / H;
    // in_proj over the probe (its q) and over every token (their k, v); the tokens' q columns go unused, which
    // keeps one packed GEMM for the whole in_proj.
    std::vector<float> probe_qkv(3 * size_t(D)), qkv(size_t(T) * 3 * D);
    linear(threads, w.probe, 1, w.in_proj, probe_qkv.data());
    linear(threads, s.hidden_out, T, w.in_proj, qkv.data());
    std::vector<float> ctx(D), scores(T);
    const float scale = 1.f / std::sqrt(float(hd));
    for (int h = 0; h < H; ++h) {
      const float* q = probe_qkv.data() + h * hd;
      float mx = -INFINITY;
      for (int t = 0; t < T; ++t) {
        const float* k = qkv.data() + size_t(t) * 3 * D + D + h * hd;
        float dot = 0.f;
        for (int d = 0; d < hd; ++d) dot += q[d] * k[d];
        scores[t] = dot * scale;
        mx = std::max(mx, scores[t]);
      }
      double sum = 0;
      for (int t = 0; t < T; ++t) sum += scores[t] = std::exp(scores[t] - mx);
      for (int d = 0; d < hd; ++d) {
        double acc = 0;
        for (int t = 0; t < T; ++t) acc += double(scores[t]) * qkv[size_t(t) * 3 * D + 2 * D + h * hd + d];
        ctx[h * hd + d] = float(acc / sum);
      }
    }
    std::vector<float> attended(D), normed(D), mid(a.intermediate);
    linear(threads, ctx.data(), 1, w.out_proj, attended.data());
    layernorm(threads, attended.data(), 1, D, w.norm_w, w.norm_b, a.eps, normed.data());
    linear(threads, normed.data(), 1, w.fc1, mid.data());
    activation_inplace(a.act, mid.data(), mid.size());
    out->assign(D, 0.f);
    linear(threads, mid.data(), 1, w.fc2, out->data());
    for (int d = 0; d < D; ++d) (*out)[d] += attended[d];
    return Status::Ok();
  }
};

}  // namespace

const Family& siglip_family() {
  static const Siglip family;
  return family;
}

}  // namespace vitrine
