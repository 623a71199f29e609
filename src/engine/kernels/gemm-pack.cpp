// Weight packing for the GEMM kernels (layout: kernels.h). Runs once per Linear at load time; plain C++ is
// fast enough (a memory-bound transpose of each 8-row block).
#include <algorithm>
#include <cstring>

#include "kernels.h"

namespace vitrine {
namespace kernels {

namespace {
// Transpose rows [n0, n0 + rows) of w (rows <= 8) into one k-major panel, zero-filling missing columns.
void pack_panel(const float* w, int rows, int k, float* panel) {
  for (int kk = 0; kk < k; ++kk) {
    float* dst = panel + static_cast<size_t>(kk) * kGemmNR;
    for (int c = 0; c < rows; ++c) dst[c] = w[static_cast<size_t>(c) * k + kk];
    for (int c = rows; c < kGemmNR; ++c) dst[c] = 0.0f;
  }
}
}  // namespace

void gemm_pack(const float* w, int n, int k, float* packed) {
  for (int p = 0; p < gemm_panels(n); ++p) {
    const int rows = std::min(kGemmNR, n - p * kGemmNR);
    pack_panel(w + static_cast<size_t>(p) * kGemmNR * k, rows, k, packed + static_cast<size_t>(p) * kGemmNR * k);
  }
}

void gemm_pack_inplace(float* w, int n, int k, float* tmp) {
  // Panel p occupies exactly the bytes of W's rows [8p, 8p+8): copy them out, transpose back in.
  const size_t panel = static_cast<size_t>(kGemmNR) * k;
  for (int p = 0; p < n / kGemmNR; ++p) {
    float* block = w + p * panel;
    std::memcpy(tmp, block, panel * sizeof(float));
    pack_panel(tmp, kGemmNR, k, block);
  }
}

void gemm_pack_a_scalar(const float* x, size_t ldx, int m, int k, int block_begin, int block_end, float* packed_a) {
  for (int b = block_begin; b < block_end; ++b) {
    float* dst = packed_a + static_cast<size_t>(b) * 4 * k;
    const int rows = std::min(4, m - 4 * b);
    const float* src[4];
    for (int r = 0; r < 4; ++r) src[r] = x + static_cast<size_t>(4 * b + std::min(r, rows - 1)) * ldx;
    for (int kk = 0; kk < k; ++kk) {
      for (int r = 0; r < 4; ++r) dst[4 * kk + r] = r < rows ? src[r][kk] : 0.0f;
    }
  }
}

void attention_pack_k(const float* k, size_t ld, int tokens, int head_dim, float* packed_k) {
  // Key j, channel c -> packed_k[(j / 8) * head_dim * 8 + c * 8 + j % 8]; padding keys are zero.
  for (int p = 0; p < attention_key_panels(tokens); ++p) {
    float* dst = packed_k + static_cast<size_t>(p) * head_dim * 8;
    for (int jj = 0; jj < 8; ++jj) {
      const int j = 8 * p + jj;
      if (j < tokens) {
        const float* src = k + static_cast<size_t>(j) * ld;
        for (int c = 0; c < head_dim; ++c) dst[c * 8 + jj] = src[c];
      } else {
        for (int c = 0; c < head_dim; ++c) dst[c * 8 + jj] = 0.0f;
      }
    }
  }
}

void attention_pack_v(const float* v, size_t ld, int tokens, int head_dim, float* packed_v) {
  // Token j, channel c -> packed_v[(c / 8) * tokens * 8 + j * 8 + c % 8].
  for (int p = 0; p < head_dim / kGemmNR; ++p) {
    float* dst = packed_v + static_cast<size_t>(p) * tokens * kGemmNR;
    for (int j = 0; j < tokens; ++j) {
      const float* src = v + static_cast<size_t>(j) * ld + p * kGemmNR;
      for (int c = 0; c < kGemmNR; ++c) dst[j * kGemmNR + c] = src[c];
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
