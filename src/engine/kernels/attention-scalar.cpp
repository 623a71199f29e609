// Plain C++ twin of the fused attention kernel. For a block of up to 4 query rows: scores against all keys
// (packed K panels) into a 4 x keys tile, stable softmax per row (max subtracted), then tile · V with the
// 1/sum normalisation folded into the output store. Only the tile is materialised, never the T x T matrix.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace vitrine {
namespace kernels {

void attention_rows_scalar(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                           int head_dim, float scale, int q_begin, int q_end, float* out, size_t ldo,
                           float* tile) {
  const int kpad = attention_key_pad(tokens);
  for (int i0 = q_begin; i0 < q_end; i0 += kGemmMR) {
    const int rows = std::min(kGemmMR, q_end - i0);
    // 1. scores
    for (int p = 0; p < kpad / kGemmNR; ++p) {
      const float* kp = packed_k + static_cast<size_t>(p) * head_dim * kGemmNR;
      for (int r = 0; r < rows; ++r) {
        const float* qr = q + static_cast<size_t>(i0 + r) * ld;
        float acc[kGemmNR] = {};
        for (int c = 0; c < head_dim; ++c) {
          for (int jj = 0; jj < kGemmNR; ++jj) acc[jj] += qr[c] * kp[c * kGemmNR + jj];
        }
        for (int jj = 0; jj < kGemmNR; ++jj) tile[r * kpad + p * kGemmNR + jj] = acc[jj] * scale;
      }
    }
    // 2. softmax numerators per row (padded keys excluded)
    float inv[kGemmMR];
    for (int r = 0; r < rows; ++r) inv[r] = 1.0f / softmax_exp_scalar(tile + r * kpad, tokens);
    // 3. tile · V
    for (int r = 0; r < rows; ++r) {
      float* o = out + static_cast<size_t>(i0 + r) * ldo;
      for (int c = 0; c < head_dim; ++c) o[c] = 0.0f;
      for (int p = 0; p < head_dim / kGemmNR; ++p) {
        const float* vp = packed_v + static_cast<size_t>(p) * tokens * kGemmNR;
        float* op = o + p * kGemmNR;
        for (int j = 0; j < tokens; ++j) {
          const float pj = tile[r * kpad + j];
          for (int c = 0; c < kGemmNR; ++c) op[c] += pj * vp[j * kGemmNR + c];
        }
      }
      for (int c = 0; c < head_dim; ++c) o[c] *= inv[r];
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
