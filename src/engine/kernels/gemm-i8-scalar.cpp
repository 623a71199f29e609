// Plain C++ twin of the int8 GEMM (layouts and rounding rules: kernels.h), plus the load-time helpers both
// twins share: weight quantization (converter side) and int8 panel packing.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.h"

namespace vitrine {
namespace kernels {

namespace {

// Transposes rows [0, rows) of w (rows <= 8, k values each) into one panel of k-pairs, zero-filling missing
// channels and the odd depth's last value.
void pack_panel_i8(const int8_t* w, int rows, int k, int8_t* panel) {
  const int pairs = gemm_i8_depth(k) / 2;
  for (int kp = 0; kp < pairs; ++kp)
    for (int c = 0; c < kGemmNR; ++c)
      for (int t = 0; t < 2; ++t) {
        const int kk = 2 * kp + t;
        panel[kp * 16 + c * 2 + t] = c < rows && kk < k ? w[static_cast<size_t>(c) * k + kk] : 0;
      }
}

}  // namespace

void quantize_weights_i8(const float* w, int n, int k, int8_t* q, float* scale) {
  for (int o = 0; o < n; ++o) {
    const float* row = w + static_cast<size_t>(o) * k;
    float mx = 0.0f;
    for (int kk = 0; kk < k; ++kk) mx = std::max(mx, std::fabs(row[kk]));
    scale[o] = mx / 127.0f;
    const float inv = mx > 0.0f ? 127.0f / mx : 0.0f;
    for (int kk = 0; kk < k; ++kk) q[static_cast<size_t>(o) * k + kk] = static_cast<int8_t>(quantize_nearest(row[kk], inv, kGemmI8Max));
  }
}

void gemm_i8_pack(const int8_t* w, int n, int k, int8_t* packed) {
  const size_t panel = static_cast<size_t>(kGemmNR) * gemm_i8_depth(k);
  for (int p = 0; p < gemm_panels(n); ++p)
    pack_panel_i8(w + static_cast<size_t>(p) * kGemmNR * k, std::min(kGemmNR, n - p * kGemmNR), k, packed + p * panel);
}

void gemm_i8_pack_inplace(int8_t* w, int n, int k, int8_t* tmp) {
  const size_t panel = static_cast<size_t>(kGemmNR) * k;
  for (int p = 0; p < n / kGemmNR; ++p) {
    int8_t* block = w + p * panel;
    std::memcpy(tmp, block, panel);
    pack_panel_i8(tmp, kGemmNR, k, block);
  }
}

void gemm_i8_quantize_a_scalar(const float* x, size_t ldx, int m, int k, int block_begin, int block_end,
                               int16_t* packed_a, float* scales, int qmax) {
  const int depth = gemm_i8_depth(k);
  const float lim = static_cast<float>(qmax);
  for (int b = block_begin; b < block_end; ++b) {
    int16_t* dst = packed_a + static_cast<size_t>(b) * 4 * depth;
    for (int r = 0; r < 4; ++r) {
      const int row = 4 * b + r;
      float mx = 0.0f;
      const float* xr = x + static_cast<size_t>(std::min(row, m - 1)) * ldx;
      if (row < m)
        for (int kk = 0; kk < k; ++kk) mx = std::max(mx, std::fabs(xr[kk]));
      const float inv = mx > 0.0f ? lim / mx : 0.0f;
      scales[row] = mx / lim;
      for (int kk = 0; kk < depth; ++kk)
        dst[(kk / 2) * 8 + r * 2 + kk % 2] =
            static_cast<int16_t>(row < m && kk < k ? quantize_nearest(xr[kk], inv, lim) : 0);
    }
  }
}

void gemm_i8_scalar(const GemmI8Args& a, int panel_begin, int panel_end) {
  const int pairs = gemm_i8_depth(a.k) / 2;
  for (int p = panel_begin; p < panel_end; ++p) {
    const int col = p * kGemmNR;
    const int cols = std::min(kGemmNR, a.n - col);
    const int8_t* panel = a.packed + static_cast<size_t>(p) * kGemmNR * 2 * pairs;
    for (int blk = 0; blk < gemm_row_blocks(a.m); ++blk) {
      const int16_t* ab = a.a + static_cast<size_t>(blk) * 8 * pairs;
      int32_t acc[4][kGemmNR] = {};
      for (int kp = 0; kp < pairs; ++kp)
        for (int r = 0; r < 4; ++r)
          for (int c = 0; c < kGemmNR; ++c)
            for (int t = 0; t < 2; ++t)
              acc[r][c] += int32_t(ab[kp * 8 + r * 2 + t]) * int32_t(panel[kp * 16 + c * 2 + t]);
      for (int r = 0; r < std::min(4, a.m - 4 * blk); ++r) {
        const int row = 4 * blk + r;
        float* yr = a.y + static_cast<size_t>(row) * a.ldy + col;
        for (int c = 0; c < cols; ++c) {
          const float v = static_cast<float>(acc[r][c]) * (a.a_scale[row] * a.w_scale[col + c]);
          yr[c] = apply_epilogue(v + (a.bias ? a.bias[col + c] : 0.0f), a.ep);
        }
      }
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
