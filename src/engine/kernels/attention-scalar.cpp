// Plain C++ twin of the fused attention kernel (layouts in kernels.h): per block of 8 queries and per tile of
// `key_tile` keys, scores of each 4-query block against the tile's 8-key panels of packed K into a [keys][8]
// tile, then an online softmax down each tile column: the running max m and sum l per query are updated
// (alpha = exp(m_old - m_new) rescales l and the output accumulator o), the tile's exp(s - m_new) are summed,
// and tile · V (the tile's slice of each packed V panel) is added to o. 1/l is applied at the end. With one
// tile (key_tile >= tokens) this is the plain stable softmax: no rescaling happens.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace vitrine {
namespace kernels {

void attention_rows_scalar(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                           int head_dim, float scale, int key_tile, int q_begin, int q_end, float* out, size_t ldo,
                           float* tile) {
  constexpr int Q = kAttentionQueries;
  const int kt_max = attention_key_tile(tokens, key_tile);
  float* qa = tile;                                            // [2][head_dim][4]
  float* o = qa + static_cast<size_t>(Q) * head_dim;           // [8 queries][head_dim] output accumulator
  float* s = o + static_cast<size_t>(Q) * head_dim;            // [kt_max][8] score tile
  for (int i0 = q_begin; i0 < q_end; i0 += Q) {
    const int rows = std::min(Q, q_end - i0);
    // The query block as packed A (missing queries of the last block are zero).
    for (int i = 0; i < Q; ++i) {
      float* dst = qa + static_cast<size_t>(i / 4) * head_dim * 4 + i % 4;
      const float* qi = q + static_cast<size_t>(i0 + i) * ld;
      for (int c = 0; c < head_dim; ++c) dst[c * 4] = i < rows ? qi[c] : 0.0f;
    }
    float m[Q], l[Q];
    for (int j0 = 0; j0 < tokens; j0 += kt_max) {
      const int kt = std::min(kt_max, tokens - j0), panels = (kt + 7) / 8;
      const bool first = j0 == 0;
      // 1. scores of the tile (keys past `tokens` are padding and never read)
      for (int h = 0; h < 2; ++h) {
        const float* a = qa + static_cast<size_t>(h) * head_dim * 4;
        for (int p = 0; p < panels; ++p) {
          const float* kp = packed_k + static_cast<size_t>(j0 / 8 + p) * head_dim * 8;
          float acc[4][8] = {};
          for (int c = 0; c < head_dim; ++c)
            for (int r = 0; r < 4; ++r)
              for (int jj = 0; jj < 8; ++jj) acc[r][jj] += a[c * 4 + r] * kp[c * 8 + jj];
          for (int r = 0; r < 4; ++r)
            for (int jj = 0; jj < 8; ++jj) s[(8 * p + jj) * Q + 4 * h + r] = acc[r][jj] * scale;
        }
      }
      // 2. online softmax: new running max, rescale factor, the tile's numerators and their sum
      float alpha[Q];
      for (int i = 0; i < Q; ++i) {
        float mx = s[i];
        for (int j = 1; j < kt; ++j) mx = std::max(mx, s[j * Q + i]);
        if (!first) {
          mx = std::max(m[i], mx);
          alpha[i] = std::exp(m[i] - mx);
        }
        m[i] = mx;
        float sum = 0.0f;
        for (int j = 0; j < kt; ++j) sum += (s[j * Q + i] = std::exp(s[j * Q + i] - mx));
        l[i] = first ? sum : l[i] * alpha[i] + sum;
      }
      // 3. o = o · alpha + tile · V
      for (int i = 0; i < rows; ++i) {
        float* oi = o + static_cast<size_t>(i) * head_dim;
        for (int p = 0; p < head_dim / kGemmNR; ++p) {
          const float* vp = packed_v + (static_cast<size_t>(p) * tokens + j0) * kGemmNR;
          float acc[kGemmNR] = {};
          for (int j = 0; j < kt; ++j)
            for (int c = 0; c < kGemmNR; ++c) acc[c] += s[j * Q + i] * vp[j * kGemmNR + c];
          for (int c = 0; c < kGemmNR; ++c)
            oi[p * kGemmNR + c] = first ? acc[c] : oi[p * kGemmNR + c] * alpha[i] + acc[c];
        }
      }
    }
    for (int i = 0; i < rows; ++i) {
      const float inv = 1.0f / l[i];
      float* dst = out + static_cast<size_t>(i0 + i) * ldo;
      for (int c = 0; c < head_dim; ++c) dst[c] = o[static_cast<size_t>(i) * head_dim + c] * inv;
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
