// manifest.json → Manifest, with every check of docs/FORMAT.md §3–§7 done before anything is allocated.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "image/image.h"
#include "pooling.h"
#include "status.h"

namespace vitrine {

class Family;  // families/family.h

enum class Activation { GeluErf, GeluTanh, Relu, Silu, QuickGelu };
enum class Classifier { None, Cls, ClsDist, ClsPatchMean, Head };

struct HeadLayer {
  enum class Kind { Linear, Relu, Gelu } kind = Kind::Linear;
  int in = 0, out = 0;
};

struct HeadSpec {
  Pooling pooling = Pooling::Cls;
  std::vector<HeadLayer> layers;
  bool sigmoid = false;  // output: false = softmax
};

// What the forward pass reads. The shared keys come from manifest.cpp; the family module sets the rest (flags
// with a default here are ones a family may change: every ViT/DeiT/DINOv2 model keeps the default).
struct Architecture {
  const Family* family = nullptr;
  std::string family_name;
  int hidden = 0, layers = 0, heads = 0, intermediate = 0;
  int patch = 0, image_size = 0, channels = 3;
  float eps = 1e-12f;
  Activation act = Activation::GeluErf;
  bool qkv_bias = true;
  bool cls_token = true;             // a CLS token leads the sequence (SigLIP has none)
  bool distillation_token = false;   // DeiT: a DIST token follows CLS
  int registers = 0;                 // DINOv2 with registers: tokens after CLS, without a position row
  bool patch_bias = true;            // the patch conv has a bias
  bool pre_norm = false;             // a LayerNorm on the embeddings before the first block (CLIP pre_layrnorm)
  bool final_norm = true;            // LayerNorm on every token after the last block = last_hidden_state; false:
                                     // last_hidden_state is the last block's output (CLIP normalises its pooled
                                     // CLS only, in the family's pooling)
  bool layer_scale = false;
  bool swiglu = false;
  bool interpolate_pos = false;
  bool interpolate_antialias = false;  // DINOv2-with-registers resizes positions with antialias=True
  int projection_dim = 0;              // width of the "projection" pooling (CLIP image_embeds); 0 = none
  Classifier classifier = Classifier::None;
  int num_labels = 0;
  HeadSpec head;

  int grid() const { return image_size / patch; }
  int position_prefix() const { return (cls_token ? 1 : 0) + (distillation_token ? 1 : 0); }  // prefix tokens with a position row
  int prefix_tokens() const { return position_prefix() + registers; }  // tokens before the patches
  int ffn_rows() const { return swiglu ? 2 * intermediate : intermediate; }
};

// Element types of the tensor stream (FORMAT §2).
enum class DType { F32, F16, I8 };

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
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

// 64 lowercase hex digits (a SHA-256 as the manifest and the JS hashers write it) into 32 bytes; false otherwise.
bool parse_hex32(const std::string& hex, uint8_t out[32]);

// The "architecture" object alone (FORMAT §4), e.g. for the converter's tensor table.
Status parse_architecture(const std::string& json_text, Architecture* out);

// Where a head description comes from, which names its errors: "manifest: architecture.head: …" (Code::Manifest)
// or, for a head file attached to a loaded model (Engine::attach_head), "head: …" (Code::Head).
struct HeadSource {
  Code code;
  std::string prefix;
  std::string where;
};
inline const HeadSource kManifestHead{Code::Manifest, "manifest: ", "architecture.head"};
inline const HeadSource kAttachedHead{Code::Head, "", "head"};

// An "architecture.head" object alone (FORMAT §4) into out->head, checked against out's family, pooled widths and
// num_labels.
Status parse_head(const std::string& json_text, Architecture* out, const HeadSource& at);

}  // namespace vitrine
