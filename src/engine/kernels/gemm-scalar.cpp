// Plain C++ twin of the GEMM: same packed A blocks, 4x8 tiling and epilogue as the SIMD version, written as
// fixed-size array loops that compilers auto-vectorise natively.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace vitrine {
namespace kernels {

namespace {

// One 4-row block of packed A x one 8-wide panel, full (slice) depth, then the epilogue on `rows` rows.
void tile(int k, const float* a, const float* panel, const float* bias, Epilogue ep, bool accumulate, float* y,
          size_t ldy, int rows, int cols) {
  float acc[4][kGemmNR] = {};
  for (int kk = 0; kk < k; ++kk) {
    const float* w = panel + static_cast<size_t>(kk) * kGemmNR;
    for (int r = 0; r < 4; ++r) {
      const float x = a[4 * kk + r];
      for (int c = 0; c < kGemmNR; ++c) acc[r][c] += x * w[c];
    }
  }
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const float v = acc[r][c] + (accumulate ? y[r * ldy + c] : 0.0f);
      y[r * ldy + c] = apply_epilogue(v + (bias ? bias[c] : 0.0f), ep);
    }
  }
}

}  // namespace

void gemm_scalar(const GemmArgs& a, int panel_begin, int panel_end) {
  const int blocks = gemm_row_blocks(a.m);
  for (int p = panel_begin; p < panel_end; ++p) {
    const int col = p * kGemmNR;
    const int cols = std::min(kGemmNR, a.n - col);
    const float* panel = a.packed + p * a.panel_stride;
    const float* b = a.bias ? a.bias + col : nullptr;
    for (int blk = 0; blk < blocks; ++blk) {
      tile(a.k, a.a + blk * a.a_stride, panel, b, a.ep, a.accumulate, a.y + 4 * blk * a.ldy + col, a.ldy,
           std::min(4, a.m - 4 * blk), cols);
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
