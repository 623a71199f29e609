// Plain C++ twin of the fused attention kernel (layouts in kernels.h): per block of 8 queries, scores against
// the 4-key blocks of packed K into a [keys][8] tile, a stable softmax down each tile column (max subtracted),
// then tile · V on the packed V panels with the 1/sum normalisation folded into the store.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace vitrine {
namespace kernels {

void attention_rows_scalar(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                           int head_dim, float scale, int q_begin, int q_end, float* out, size_t ldo,
                           float* tile) {
  constexpr int Q = kAttentionQueries;
  const int key_blocks = attention_key_blocks(tokens);
  float* qb = tile;                                      // [head_dim][8]
  float* s = tile + static_cast<size_t>(Q) * head_dim;   // [4 * key_blocks][8]
  for (int i0 = q_begin; i0 < q_end; i0 += Q) {
    const int rows = std::min(Q, q_end - i0);
    // The query block as a [head_dim][8] panel (missing queries of the last block are zero).
    for (int i = 0; i < rows; ++i) {
      const float* qi = q + static_cast<size_t>(i0 + i) * ld;
      for (int c = 0; c < head_dim; ++c) qb[c * Q + i] = qi[c];
    }
    for (int i = rows; i < Q; ++i)
      for (int c = 0; c < head_dim; ++c) qb[c * Q + i] = 0.0f;
    // 1. scores
    for (int b = 0; b < key_blocks; ++b) {
      const float* kb = packed_k + static_cast<size_t>(b) * head_dim * 4;
      float acc[4][Q] = {};
      for (int c = 0; c < head_dim; ++c)
        for (int r = 0; r < 4; ++r)
          for (int i = 0; i < Q; ++i) acc[r][i] += kb[c * 4 + r] * qb[c * Q + i];
      for (int r = 0; r < 4; ++r)
        for (int i = 0; i < Q; ++i) s[(4 * b + r) * Q + i] = acc[r][i] * scale;
    }
    // 2. softmax numerators down each column (keys past `tokens` are padding: zero)
    float inv[Q];
    for (int i = 0; i < Q; ++i) {
      float mx = s[i];
      for (int j = 1; j < tokens; ++j) mx = std::max(mx, s[j * Q + i]);
      float sum = 0.0f;
      for (int j = 0; j < tokens; ++j) sum += (s[j * Q + i] = std::exp(s[j * Q + i] - mx));
      inv[i] = 1.0f / sum;
    }
    // 3. tile · V
    for (int i = 0; i < rows; ++i) {
      float* o = out + static_cast<size_t>(i0 + i) * ldo;
      for (int p = 0; p < head_dim / kGemmNR; ++p) {
        const float* vp = packed_v + static_cast<size_t>(p) * tokens * kGemmNR;
        float acc[kGemmNR] = {};
        for (int j = 0; j < tokens; ++j)
          for (int c = 0; c < kGemmNR; ++c) acc[c] += s[j * Q + i] * vp[j * kGemmNR + c];
        for (int c = 0; c < kGemmNR; ++c) o[p * kGemmNR + c] = acc[c] * inv[i];
      }
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
