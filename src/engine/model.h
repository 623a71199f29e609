// The model as the forward pass sees it: structs that mirror the architecture, holding pointers into the weight
// stream (no copies), plus the run state — every activation buffer, allocated before forward() runs.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "manifest.h"
#include "ops.h"
#include "profile.h"
#include "status.h"

namespace vitrine {

struct Block {
  const float* norm1_w = nullptr;
  const float* norm1_b = nullptr;
  Linear qkv;  // [3D, D]: q rows, then k, then v
  Linear attn_out;
  const float* ls1 = nullptr;  // layer scale (DINOv2) or nullptr
  const float* norm2_w = nullptr;
  const float* norm2_b = nullptr;
  Linear fc1;  // [I, D], or [2I, D] for SwiGLU
  Linear fc2;  // [D, I]
  const float* ls2 = nullptr;
};

// Weights only one family has (e.g. an attention-pooling head) live in the family module's own struct.
struct FamilyWeights {
  virtual ~FamilyWeights() = default;
};

struct Model {
  Architecture arch;
  const float* cls_token = nullptr;        // nullptr for families without CLS
  const float* dist_token = nullptr;       // DeiT
  const float* register_tokens = nullptr;  // DINOv2 with registers
  const float* pos_embed = nullptr;        // [prefix + grid², D]
  Linear patch;                            // the patch conv as a Linear over flattened (c, y, x) patches
  const float* pre_norm_w = nullptr;       // LayerNorm before the first block (CLIP), or nullptr
  const float* pre_norm_b = nullptr;
  std::vector<Block> blocks;
  const float* norm_w = nullptr;           // final LayerNorm, or nullptr (arch.final_norm false)
  const float* norm_b = nullptr;
  Linear classifier;
  Linear dist_classifier;
  std::vector<Linear> head;  // one per head layer (only linear layers are set)
  std::shared_ptr<FamilyWeights> family_weights;
  // Bytes the weights take beyond the stream: packed copies prepare_linear made.
  size_t extra_weight_bytes = 0;
  // Hex SHA-256 naming the backbone (docs/FORMAT.md "Head files"): equal for a model and its f16/int8
  // re-encodings, so a head trained on one applies to the others.
  std::string backbone_fingerprint;
};

// The bytes the weight stream must be allocated with: stream_size, plus room to expand every f16 tensor to f32
// in place (bind_model does that; the f16 bytes are not kept). Chunks fill its first stream_size bytes.
uint64_t bound_stream_bytes(const Manifest& manifest);

// Expands f16 tensors to f32 inside `stream` (bound_stream_bytes() long; moves tensors towards its end), then
// points every slot of the family's tensor table at its tensor (already validated by parse_manifest): f32 in
// place, i8 to Linear::qweight + wscale. Then prepares the Linears for the kernels (which may repack weights
// in place).
Status bind_model(const Manifest& manifest, uint8_t* stream, Model* model);

// Floats of each activation buffer of a RunState for a grid_h × grid_w input with `threads` threads, and the bytes
// of linear()'s packed input: what forward() allocates (prepare) and what Engine::memory_need reports.
struct ActivationSizes {
  uint64_t x = 0, xn = 0, qkv = 0, scratch = 0, logits = 0;
  uint64_t packed_input_bytes = 0;
  uint64_t bytes() const;  // every buffer plus the packed input
};
ActivationSizes activation_sizes(const Architecture& arch, int grid_h, int grid_w, int threads);

// Activations for one input size. forward() calls prepare() when the grid changes; nothing else allocates.
struct RunState {
  int grid_h = 0, grid_w = 0, tokens = 0;
  std::vector<float> x;        // [T, D] residual stream
  std::vector<float> xn;       // [T, D] normalised, then the branch output before the residual add
  // [T, 3D] q | k | v; before the first block the patches, then the position rows; in the MLP one block of its
  // tokens' hidden rows [rows, F] and SwiGLU's gated rows [rows, I] (model.cpp)
  std::vector<float> qkv;
  std::vector<float> scratch;  // attention scratch
  std::vector<float> logits;   // [num_labels]
  std::vector<float> head_a, head_b;
  const float* hidden_out = nullptr;  // last_hidden_state [T, D]: xn after the final norm, else x
};

// `prof` (may be nullptr): where the stage times go when it is switched on (profile.h).
Status forward(const Model& model, ThreadPool* pool, const float* pixels, int height, int width, RunState* s,
               Profile* prof = nullptr);

// logits = classifier(pooled last_hidden_state) of one classifier, on the last forward's hidden state (s->hidden_out):
// `kind` reads the Model's Linears (classifier, dist_classifier), or for Classifier::Head the `head` spec and its
// `head_layers`. forward() runs the active one (model.arch, model.head); Engine::own_scores runs the model's own
// beside a head attached in its place, without running the backbone again. `logits` holds the classifier's
// outputs; s->head_a, head_b are its scratch.
Status classifier_logits(const Model& model, ThreadPool* pool, RunState* s, Classifier kind, const HeadSpec& head,
                         const std::vector<Linear>& head_layers, float* logits, Profile* prof);

// x = act(x) elementwise: the MLP activation of the blocks (and of heads that share it, e.g. SigLIP's pooling MLP).
void activation_inplace(Activation act, float* x, size_t n);

// Pooled features of the last forward: cls, mean (patch tokens only), cls+mean here; projection/pooler by the
// family. Code::Input when the model's family does not offer `pooling`.
Status pool_features(const Model& model, ThreadPool* pool, const RunState& s, Pooling pooling, std::vector<float>* out);

}  // namespace vitrine
