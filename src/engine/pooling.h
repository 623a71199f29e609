// The ways of pooling a model's final hidden state into one vector, with the one list of their spellings. The
// engine reports the poolings a loaded model supports (Family::poolings → info "poolings"); the head spec's
// "pooling", embed() and the CLI all go through parse_pooling.
#pragma once
#include <string>

namespace vitrine {

enum class Pooling {
  Cls,         // the CLS token
  Mean,        // mean of the patch tokens (not CLS, DIST or registers)
  ClsMean,     // concat(CLS, mean), 2·D wide
  Projection,  // a family's projected embedding (CLIP: visual_projection of the pooled output = image_embeds)
  Pooler,      // a family's own pooled output (SigLIP: the attention-pooling head; CLIP: post-LayerNorm CLS)
};

struct PoolingName {
  Pooling pooling;
  const char* name;
};
inline constexpr PoolingName kPoolingNames[] = {
    {Pooling::Cls, "cls"},
    {Pooling::Mean, "mean"},
    {Pooling::ClsMean, "cls+mean"},
    {Pooling::Projection, "projection"},
    {Pooling::Pooler, "pooler"},
};

inline const char* pooling_name(Pooling p) {
  for (const PoolingName& n : kPoolingNames)
    if (n.pooling == p) return n.name;
  return "?";
}

inline bool parse_pooling(const std::string& name, Pooling* out) {
  for (const PoolingName& n : kPoolingNames)
    if (name == n.name) {
      *out = n.pooling;
      return true;
    }
  return false;
}

}  // namespace vitrine
