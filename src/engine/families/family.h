// A model family (ViT, DeiT, DINOv2, ...) as one module behind this interface. What differs between ViT-like
// families is data the forward pass reads (Architecture flags: CLS/DIST/register tokens, pre-norm, final norm,
// patch bias, activation, position interpolation) plus these hooks:
//   parse     the family's own keys of manifest "architecture" and which combinations it allows
//   tensors   the family's tensor table: every tensor, its shape and its slot in the Model structs
//   poolings  what embed()/heads may pool, pooled_width, and pool() for family-only poolings (projection, pooler)
// A new family = one file here defining a Family + its two lines in registry.cpp + its converter module
// src/js/convert/families/<name>.js (found through the engine's list, no other registry).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../fields.h"
#include "../manifest.h"
#include "../model.h"
#include "../pooling.h"

namespace vitrine {

class ThreadPool;

// One row of a tensor table (llama2.c's memory_map_weights, as data): canonical name, exact shape, and where the
// tensor's address goes. The table is the only list of a model's tensors: manifest validation (names, shapes,
// nothing missing or extra), bind_model, and the converter (embind tensorTable) all read it.
struct TensorSlot {
  std::string name;
  std::vector<int64_t> shape;
  const float** data = nullptr;  // where the tensor's address is stored
  Linear* linear = nullptr;      // set on a Linear's weight: bind_model repacks it for the kernels (prepare_linear)
};

// Rows are appended in stream order (the order the converter writes).
class TensorTable {
 public:
  void tensor(std::string name, std::vector<int64_t> shape, const float** slot);
  // <prefix>.weight [out, in_dims...] (a conv weight [D, C, P, P] is a Linear over C·P·P), then <prefix>.bias [out]
  // when `bias`. Sets L's sizes; L->bias stays nullptr without bias.
  void linear(const std::string& prefix, int64_t out, std::vector<int64_t> in_dims, Linear* L, bool bias = true);
  const std::vector<TensorSlot>& rows() const { return rows_; }

 private:
  std::vector<TensorSlot> rows_;
};

class Family {
 public:
  virtual ~Family() = default;
  virtual const char* name() const = 0;
  // Reads the family's own keys of "architecture" (manifest.cpp has read the shared ones, FORMAT §4) and sets the
  // architecture's flags; errors go to `f` (they name the key) or are returned (combinations of keys).
  virtual Status parse(Fields& f, Architecture* a) const = 0;
  // The tensor table of `a`, with slots in *model (the family sizes model->blocks etc. first).
  virtual void tensors(const Architecture& a, Model* model, TensorTable* table) const = 0;
  // Poolings a model of this family supports. Default: cls, mean, cls+mean (mean alone without a CLS token).
  virtual std::vector<Pooling> poolings(const Architecture& a) const;
  // Width of one pooled vector. Default: D (2·D for cls+mean).
  virtual int pooled_width(const Architecture& a, Pooling p) const;
  // Family-only poolings (projection, pooler) of the last forward's run state; cls/mean/cls+mean never get here.
  virtual Status pool(const Model& model, ThreadPool* pool, const RunState& s, Pooling p,
                      std::vector<float>* out) const;
};

// Registry (registry.cpp): the family of a manifest's "family" string, or nullptr.
const Family* find_family(const std::string& name);
std::vector<std::string> family_list();  // every family's name, in registry order
std::string family_names();              // "vit, deit, dinov2": for error messages

// ---- pieces shared by ViT-like families (families/vit_like.cpp) ----
// Keys every ViT/DeiT/DINOv2 manifest carries: use_distillation_token, num_register_tokens, use_layer_scale,
// use_swiglu_ffn, interpolate_pos_encoding, interpolate_antialias (optional); a family says which it allows
// to be on. Also runs check_classifier.
struct VitLikeFeatures {
  bool distillation_token = false;
  bool dinov2 = false;  // registers, layer scale, SwiGLU, position interpolation
};
Status parse_vit_like_keys(Fields& f, Architecture* a, VitLikeFeatures allowed);
// Checks every family shares: the classifier fits the tokens it reads.
Status check_classifier(const Architecture& a);
// embeddings.cls_token, .distillation_token, .register_tokens, .position_embeddings, .patch.{weight,bias}
void embedding_tensors(const Architecture& a, Model* m, TensorTable* t);
// pre_norm.{weight,bias} when a.pre_norm
void pre_norm_tensors(const Architecture& a, Model* m, TensorTable* t);
// layers.<l>.* (sizes m->blocks)
void block_tensors(const Architecture& a, Model* m, TensorTable* t);
// norm.{weight,bias} when a.final_norm
void final_norm_tensors(const Architecture& a, Model* m, TensorTable* t);
// classifier.*, distillation_classifier.*, head.<k>.*
void classifier_tensors(const Architecture& a, Model* m, TensorTable* t);

// A family whose table is exactly the shared pieces: embeddings, [pre-norm], blocks, [final norm], classifier.
class VitLikeFamily : public Family {
 public:
  void tensors(const Architecture& a, Model* model, TensorTable* table) const override;
};

// The table of an architecture whose family is set (validation, converter): slots point into *scratch.
TensorTable tensor_table(const Architecture& a, Model* scratch);

}  // namespace vitrine
