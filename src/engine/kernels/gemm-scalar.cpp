// Plain C++ twin of the GEMM micro-kernel: same 4x8 tiling over the packed panels as the SIMD version, written
// as fixed-size array loops that compilers auto-vectorise natively.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace vitrine {
namespace kernels {

namespace {

inline float apply(float v, Epilogue ep) {
  if (ep == Epilogue::GeluErf) return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
  if (ep == Epilogue::Relu) return std::max(v, 0.0f);
  return v;
}

// MR rows x one 8-wide panel, full depth k.
template <int MR>
void tile(int k, const float* x, size_t ldx, const float* panel, const float* bias, Epilogue ep, bool accumulate,
          float* y, size_t ldy, int cols) {
  float acc[MR][kGemmNR] = {};
  for (int kk = 0; kk < k; ++kk) {
    const float* w = panel + static_cast<size_t>(kk) * kGemmNR;
    for (int r = 0; r < MR; ++r) {
      const float a = x[r * ldx + kk];
      for (int c = 0; c < kGemmNR; ++c) acc[r][c] += a * w[c];
    }
  }
  for (int r = 0; r < MR; ++r) {
    for (int c = 0; c < cols; ++c) {
      const float v = acc[r][c] + (accumulate ? y[r * ldy + c] : 0.0f);
      y[r * ldy + c] = apply(v + (bias ? bias[c] : 0.0f), ep);
    }
  }
}

}  // namespace

void gemm_scalar(const GemmArgs& a, int panel_begin, int panel_end) {
  for (int p = panel_begin; p < panel_end; ++p) {
    const int col = p * kGemmNR;
    const int cols = std::min(kGemmNR, a.n - col);
    const float* panel = a.packed + p * a.panel_stride;
    const float* b = a.bias ? a.bias + col : nullptr;
    const float* x = a.x;
    float* y = a.y + col;
    int r = 0;
    for (; r + 4 <= a.m; r += 4) tile<4>(a.k, x + r * a.ldx, a.ldx, panel, b, a.ep, a.accumulate, y + r * a.ldy, a.ldy, cols);
    switch (a.m - r) {
      case 3: tile<3>(a.k, x + r * a.ldx, a.ldx, panel, b, a.ep, a.accumulate, y + r * a.ldy, a.ldy, cols); break;
      case 2: tile<2>(a.k, x + r * a.ldx, a.ldx, panel, b, a.ep, a.accumulate, y + r * a.ldy, a.ldy, cols); break;
      case 1: tile<1>(a.k, x + r * a.ldx, a.ldx, panel, b, a.ep, a.accumulate, y + r * a.ldy, a.ldy, cols); break;
      default: break;
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
