// The Family defaults, the tensor table writer, and the pieces ViT-like families share (their keys, embeddings,
// blocks, final norm, classifiers). Names and shapes are FORMAT.md §6.
#include "family.h"

namespace vitrine {

void TensorTable::tensor(std::string name, std::vector<int64_t> shape, const float** slot) {
  rows_.push_back(TensorSlot{std::move(name), std::move(shape), slot, nullptr, false});
}

void TensorTable::linear(const std::string& prefix, int64_t out, std::vector<int64_t> in_dims, Linear* L, bool bias,
                         bool may_i8) {
  int64_t in = 1;
  for (int64_t d : in_dims) in *= d;
  L->out = static_cast<int>(out);
  L->in = static_cast<int>(in);
  L->bias = nullptr;
  std::vector<int64_t> shape{out};
  shape.insert(shape.end(), in_dims.begin(), in_dims.end());
  rows_.push_back(TensorSlot{prefix + ".weight", std::move(shape), &L->weight, L, may_i8});
  if (bias) tensor(prefix + ".bias", {out}, &L->bias);
}

std::vector<Pooling> Family::poolings(const Architecture& a) const {
  if (!a.cls_token) return {Pooling::Mean};
  return {Pooling::Cls, Pooling::Mean, Pooling::ClsMean};
}

int Family::pooled_width(const Architecture& a, Pooling p) const {
  return p == Pooling::ClsMean ? 2 * a.hidden : a.hidden;
}

Status Family::pool(const Model&, ThreadPool*, const RunState&, Pooling p, std::vector<float>*) const {
  return Status::Err(Code::Input, std::string("pooling \"") + pooling_name(p) + "\" is not supported by family \"" +
                                      name() + "\"");
}

TensorTable tensor_table(const Architecture& a, Model* scratch) {
  TensorTable t;
  a.family->tensors(a, scratch, &t);
  return t;
}

void VitLikeFamily::tensors(const Architecture& a, Model* m, TensorTable* t) const {
  embedding_tensors(a, m, t);
  pre_norm_tensors(a, m, t);
  block_tensors(a, m, t);
  final_norm_tensors(a, m, t);
  classifier_tensors(a, m, t);
}

Status parse_vit_like_keys(Fields& f, Architecture* a, VitLikeFeatures allowed) {
  f.boolean("use_distillation_token", &a->distillation_token);
  f.integer("num_register_tokens", &a->registers, 0, 1024);
  f.boolean("use_layer_scale", &a->layer_scale);
  f.boolean("use_swiglu_ffn", &a->swiglu);
  f.boolean("interpolate_pos_encoding", &a->interpolate_pos);
  f.boolean("interpolate_antialias", &a->interpolate_antialias, /*required=*/false);
  if (!f.status().ok()) return f.status();
  const auto err = [](const std::string& m) { return Status::Err(Code::Manifest, "manifest: architecture: " + m); };
  if (!allowed.dinov2 && (a->registers || a->layer_scale || a->swiglu || a->interpolate_pos || a->interpolate_antialias))
    return err("registers, layer scale, SwiGLU and position interpolation are DINOv2-only");
  if (!allowed.distillation_token && a->distillation_token)
    return err("family \"" + a->family_name + "\" has no distillation token");
  return check_classifier(*a);
}

Status check_classifier(const Architecture& a) {
  const auto err = [](const std::string& m) { return Status::Err(Code::Manifest, "manifest: architecture: " + m); };
  if (a.classifier == Classifier::ClsDist && !a.distillation_token)
    return err("classifier \"cls+dist\" needs use_distillation_token");
  if ((a.classifier == Classifier::Cls || a.classifier == Classifier::ClsPatchMean) && !a.cls_token)
    return err("this classifier reads the CLS token, which family \"" + a.family_name + "\" has not");
  return Status::Ok();
}

void embedding_tensors(const Architecture& a, Model* m, TensorTable* t) {
  const int64_t D = a.hidden, N = int64_t(a.grid()) * a.grid();
  if (a.cls_token) t->tensor("embeddings.cls_token", {1, 1, D}, &m->cls_token);
  if (a.distillation_token) t->tensor("embeddings.distillation_token", {1, 1, D}, &m->dist_token);
  if (a.registers) t->tensor("embeddings.register_tokens", {1, a.registers, D}, &m->register_tokens);
  t->tensor("embeddings.position_embeddings", {1, a.position_prefix() + N, D}, &m->pos_embed);
  // int8 allowed: the patch projection is a Linear over P·P·C normalised pixel values, which carry 8 bits to begin
  // with (docs/FORMAT.md §2 "Why these tensors").
  t->linear("embeddings.patch", D, {a.channels, a.patch, a.patch}, &m->patch, a.patch_bias, /*may_i8=*/true);
}

void pre_norm_tensors(const Architecture& a, Model* m, TensorTable* t) {
  if (!a.pre_norm) return;
  t->tensor("pre_norm.weight", {a.hidden}, &m->pre_norm_w);
  t->tensor("pre_norm.bias", {a.hidden}, &m->pre_norm_b);
}

void block_tensors(const Architecture& a, Model* m, TensorTable* t) {
  const int64_t D = a.hidden;
  m->blocks.assign(a.layers, Block{});
  for (int l = 0; l < a.layers; ++l) {
    Block& b = m->blocks[l];
    const std::string p = "layers." + std::to_string(l) + ".";
    t->tensor(p + "norm1.weight", {D}, &b.norm1_w);
    t->tensor(p + "norm1.bias", {D}, &b.norm1_b);
    // The blocks' four Linears hold nearly all of a ViT's weights: these are the rows int8 is allowed for.
    t->linear(p + "attn.qkv", 3 * D, {D}, &b.qkv, a.qkv_bias, /*may_i8=*/true);
    t->linear(p + "attn.out", D, {D}, &b.attn_out, true, /*may_i8=*/true);
    if (a.layer_scale) {
      t->tensor(p + "ls1", {D}, &b.ls1);
      t->tensor(p + "ls2", {D}, &b.ls2);
    }
    t->tensor(p + "norm2.weight", {D}, &b.norm2_w);
    t->tensor(p + "norm2.bias", {D}, &b.norm2_b);
    t->linear(p + "mlp.fc1", a.ffn_rows(), {D}, &b.fc1, true, /*may_i8=*/true);
    t->linear(p + "mlp.fc2", D, {a.intermediate}, &b.fc2, true, /*may_i8=*/true);
  }
}

void final_norm_tensors(const Architecture& a, Model* m, TensorTable* t) {
  if (!a.final_norm) return;
  t->tensor("norm.weight", {a.hidden}, &m->norm_w);
  t->tensor("norm.bias", {a.hidden}, &m->norm_b);
}

void classifier_tensors(const Architecture& a, Model* m, TensorTable* t) {
  const int64_t D = a.hidden, L = a.num_labels;
  switch (a.classifier) {
    case Classifier::None: break;
    // A checkpoint's own classifier may be int8 (a 1000-class one is 1.7 % of a ViT-S/16); heads attached later
    // (head files) are f32.
    case Classifier::Cls: t->linear("classifier", L, {D}, &m->classifier, true, /*may_i8=*/true); break;
    case Classifier::ClsDist:
      t->linear("classifier", L, {D}, &m->classifier, true, /*may_i8=*/true);
      t->linear("distillation_classifier", L, {D}, &m->dist_classifier, true, /*may_i8=*/true);
      break;
    case Classifier::ClsPatchMean: t->linear("classifier", L, {2 * D}, &m->classifier, true, /*may_i8=*/true); break;
    case Classifier::Head:
      m->head.assign(a.head.layers.size(), Linear{});
      for (size_t k = 0; k < a.head.layers.size(); ++k) {
        const HeadLayer& h = a.head.layers[k];
        if (h.kind == HeadLayer::Kind::Linear) t->linear("head." + std::to_string(k), h.out, {h.in}, &m->head[k]);
      }
      break;
  }
}

}  // namespace vitrine
