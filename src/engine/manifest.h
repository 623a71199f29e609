// manifest.json → Manifest, with every check of docs/FORMAT.md §3–§7 done before anything is allocated.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "image/image.h"
#include "status.h"

namespace vitrine {

enum class Family { ViT, DeiT, Dinov2, Clip, Siglip };
enum class Activation { GeluErf, GeluTanh, Relu, Silu, QuickGelu };

// What embed() returns (docs/API.md): "cls" token 0 of last_hidden_state, "mean" of the patch tokens, "cls+mean"
// both concatenated, "pooler" HF's pooler_output (CLIP: post_layernorm(CLS); SigLIP: attention-pooling head),
// "projection" CLIP's image_embeds. One spelling everywhere: manifests (head.pooling), embind, JS, CLI.
enum class Pooling { Cls, Mean, ClsMean, Pooler, Projection };
const char* pooling_name(Pooling p);
bool parse_pooling(const std::string& name, Pooling* out);
enum class Classifier { None, Cls, ClsDist, ClsPatchMean, Head };

struct HeadLayer {
  enum class Kind { Linear, Relu, Gelu } kind = Kind::Linear;
  int in = 0, out = 0;
};

struct HeadSpec {
  std::string pooling;  // one of Architecture::poolings()
  std::vector<HeadLayer> layers;
  bool sigmoid = false;  // output: false = softmax
};

struct Architecture {
  Family family = Family::ViT;
  std::string family_name;
  int hidden = 0, layers = 0, heads = 0, intermediate = 0;
  int patch = 0, image_size = 0, channels = 3;
  float eps = 1e-12f;
  Activation act = Activation::GeluErf;
  bool qkv_bias = true;
  bool distillation_token = false;
  int registers = 0;
  bool layer_scale = false;
  bool swiglu = false;
  bool interpolate_pos = false;
  bool interpolate_antialias = false;  // DINOv2-with-registers resizes positions with antialias=True
  Classifier classifier = Classifier::None;
  int num_labels = 0;
  HeadSpec head;
  int projection_dim = 0;  // CLIP: visual_projection rows (0 = no projection)

  int grid() const { return image_size / patch; }
  bool cls_token() const { return family != Family::Siglip; }
  // tokens that carry a position row (CLS, DIST; SigLIP has neither)
  int position_prefix() const { return (cls_token() ? 1 : 0) + (distillation_token ? 1 : 0); }
  int prefix_tokens() const { return position_prefix() + registers; }  // tokens before the patches
  // The poolings this model can give, the default (what embed() uses without a pooling option) first.
  std::vector<Pooling> poolings() const;
  int pooled_width(Pooling p) const;
};

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t offset = 0, bytes = 0;
};

struct ChunkInfo {
  std::string file;
  uint64_t size = 0;
  uint8_t sha256[32] = {};
};

struct Manifest {
  std::string name;
  Architecture arch;
  std::vector<std::string> labels;
  image::PreprocessConfig preprocess;
  std::string processor;
  uint64_t chunk_size = 0, stream_size = 0;
  std::vector<TensorInfo> tensors;
  std::map<std::string, size_t> tensor_index;  // name → position in `tensors`
  std::vector<ChunkInfo> chunks;
  std::string info_json;  // what Engine::info_json() reports
};

Status parse_manifest(const std::string& json_text, Manifest* out);

// The tensors an architecture needs, with their shapes (FORMAT.md §6), in canonical order.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const Architecture& arch);

}  // namespace vitrine
