// WASM SIMD GEMM micro-kernel: a 4x8 register tile (8 f32x4 accumulators). Per step of k it loads one 8-wide
// row of the packed panel (2 vectors), broadcasts 4 values of x and does 8 mul + 8 add. Measured on this
// machine 4x8 is the sweet spot: V8 maps wasm locals to the 16 x64 vector registers, and 6x8 / 8x8 tiles spill
// and run at half the speed. (No FMA: relaxed SIMD is not usable with this toolchain and Node.)
//
// Loop order per call: panel-outer, row-tiles inner. A panel (8·k floats, 24 KiB at k = 768) stays in L1
// while the 4-row slices of x stream through from L2.
#include <algorithm>
#include <wasm_simd128.h>

#include "kernels.h"
#include "math-wasmsimd.h"
#include "microkernel-wasmsimd.h"

namespace vitrine {
namespace kernels {

namespace {

inline v128_t epilogue(v128_t v, Epilogue ep) {
  if (ep == Epilogue::GeluErf) return simd::gelu(v);
  if (ep == Epilogue::Relu) return wasm_f32x4_max(v, wasm_f32x4_splat(0.0f));
  return v;
}

template <int MR>
inline void store_tile(v128_t (&acc)[MR][2], const float* bias, Epilogue ep, bool accumulate, float* y, size_t ldy,
                       int cols) {
  v128_t b0 = wasm_f32x4_splat(0.0f), b1 = b0;
  if (bias) {
    if (cols == kGemmNR) {
      b0 = wasm_v128_load(bias);
      b1 = wasm_v128_load(bias + 4);
    } else {
      float tmp[kGemmNR] = {};
      for (int c = 0; c < cols; ++c) tmp[c] = bias[c];
      b0 = wasm_v128_load(tmp);
      b1 = wasm_v128_load(tmp + 4);
    }
  }
  for (int r = 0; r < MR; ++r) {
    float* yr = y + r * ldy;
    if (accumulate) {
      if (cols == kGemmNR) {
        acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_v128_load(yr));
        acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_v128_load(yr + 4));
      } else {
        float tmp[kGemmNR] = {};
        for (int c = 0; c < cols; ++c) tmp[c] = yr[c];
        acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_v128_load(tmp));
        acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_v128_load(tmp + 4));
      }
    }
    const v128_t v0 = epilogue(wasm_f32x4_add(acc[r][0], b0), ep);
    const v128_t v1 = epilogue(wasm_f32x4_add(acc[r][1], b1), ep);
    if (cols == kGemmNR) {
      wasm_v128_store(yr, v0);
      wasm_v128_store(yr + 4, v1);
    } else {
      // Last, zero-padded panel: only the real columns exist in y.
      float tmp[kGemmNR];
      wasm_v128_store(tmp, v0);
      wasm_v128_store(tmp + 4, v1);
      for (int c = 0; c < cols; ++c) yr[c] = tmp[c];
    }
  }
}

// MR (1..4) rows x one panel, full (slice) depth, then the epilogue.
template <int MR>
void tile(int k, const float* x, size_t ldx, const float* w, const float* bias, Epilogue ep, bool accumulate,
          float* y, size_t ldy, int cols) {
  v128_t acc[MR][2];
  simd::microkernel<MR>(acc, k, x, ldx, w);
  store_tile<MR>(acc, bias, ep, accumulate, y, ldy, cols);
}

}  // namespace

void gemm_wasmsimd(const GemmArgs& a, int panel_begin, int panel_end) {
  for (int p = panel_begin; p < panel_end; ++p) {
    const int col = p * kGemmNR;
    const int cols = std::min(kGemmNR, a.n - col);
    const float* panel = a.packed + p * a.panel_stride;
    const float* b = a.bias ? a.bias + col : nullptr;
    const float* x = a.x;
    float* y = a.y + col;
    const size_t ldx = a.ldx, ldy = a.ldy;
    int r = 0;
    for (; r + 4 <= a.m; r += 4) tile<4>(a.k, x + r * ldx, ldx, panel, b, a.ep, a.accumulate, y + r * ldy, ldy, cols);
    switch (a.m - r) {
      case 3: tile<3>(a.k, x + r * ldx, ldx, panel, b, a.ep, a.accumulate, y + r * ldy, ldy, cols); break;
      case 2: tile<2>(a.k, x + r * ldx, ldx, panel, b, a.ep, a.accumulate, y + r * ldy, ldy, cols); break;
      case 1: tile<1>(a.k, x + r * ldx, ldx, panel, b, a.ep, a.accumulate, y + r * ldy, ldy, cols); break;
      default: break;
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
