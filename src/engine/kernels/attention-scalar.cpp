// Plain C++ twin of the fused attention kernel (layouts in kernels.h): per block of 8 queries, scores of each
// 4-query block against the 8-key panels of packed K into a [keys][8] tile, a stable softmax down each tile
// column (max subtracted), then tile · V on the packed V panels with the 1/sum normalisation folded into the
// store.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace vitrine {
namespace kernels {

void attention_rows_scalar(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                           int head_dim, float scale, int q_begin, int q_end, float* out, size_t ldo,
                           float* tile) {
  constexpr int Q = kAttentionQueries;
  const int key_panels = attention_key_panels(tokens);
  float* qa = tile;                                      // [2][head_dim][4]
  float* s = tile + static_cast<size_t>(Q) * head_dim;   // [8 * key_panels][8]
  for (int i0 = q_begin; i0 < q_end; i0 += Q) {
    const int rows = std::min(Q, q_end - i0);
    // The query block as packed A (missing queries of the last block are zero).
    for (int i = 0; i < Q; ++i) {
      float* dst = qa + static_cast<size_t>(i / 4) * head_dim * 4 + i % 4;
      const float* qi = q + static_cast<size_t>(i0 + i) * ld;
      for (int c = 0; c < head_dim; ++c) dst[c * 4] = i < rows ? qi[c] : 0.0f;
    }
    // 1. scores
    for (int h = 0; h < 2; ++h) {
      const float* a = qa + static_cast<size_t>(h) * head_dim * 4;
      for (int p = 0; p < key_panels; ++p) {
        const float* kp = packed_k + static_cast<size_t>(p) * head_dim * 8;
        float acc[4][8] = {};
        for (int c = 0; c < head_dim; ++c)
          for (int r = 0; r < 4; ++r)
            for (int jj = 0; jj < 8; ++jj) acc[r][jj] += a[c * 4 + r] * kp[c * 8 + jj];
        for (int r = 0; r < 4; ++r)
          for (int jj = 0; jj < 8; ++jj) s[(8 * p + jj) * Q + 4 * h + r] = acc[r][jj] * scale;
      }
    }
    // 2. softmax numerators down each column (keys past `tokens` are padding and never read)
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
