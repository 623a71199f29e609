// WASM SIMD GEMM: the 4x8 register-tile micro-kernel of microkernel-wasmsimd.h over packed A (4-row blocks)
// and packed weight panels, with the bias / accumulate / GELU / ReLU epilogue fused into the store.
//
// Loop order per call: panel-outer, row-blocks inner. A panel (8·k floats, 24 KiB at k = 768) stays in L1
// while packed A streams through from L2.
#include <algorithm>
#include <wasm_simd128.h>

#include "kernels.h"
#include "microkernel-wasmsimd.h"

namespace vitrine {
namespace kernels {

void gemm_wasmsimd(const GemmArgs& a, int panel_begin, int panel_end) {
  const int blocks = gemm_row_blocks(a.m);
  for (int p = panel_begin; p < panel_end; ++p) {
    const int col = p * kGemmNR;
    const int cols = std::min(kGemmNR, a.n - col);
    const float* panel = a.packed + p * a.panel_stride;
    const float* b = a.bias ? a.bias + col : nullptr;
    for (int blk = 0; blk < blocks; ++blk) {
      v128_t acc[4][2];
      simd::microkernel_4x8(acc, a.k, a.a + blk * a.a_stride, 4, panel);
      simd::store_tile(acc, std::min(4, a.m - 4 * blk), b, a.ep, a.accumulate, a.y + 4 * blk * a.ldy + col, a.ldy, cols);
    }
  }
}

void gemm_pack_a_wasmsimd(const float* x, size_t ldx, int m, int k, int block_begin, int block_end,
                          float* packed_a) {
  for (int b = block_begin; b < block_end; ++b) {
    const int rows = std::min(4, m - 4 * b);
    float* dst = packed_a + static_cast<size_t>(b) * 4 * k;
    if (rows < 4) {  // the last, partly padded block
      gemm_pack_a_scalar(x, ldx, m, k, b, b + 1, packed_a);
      continue;
    }
    const float* x0 = x + static_cast<size_t>(4 * b) * ldx;
    const float* x1 = x0 + ldx;
    const float* x2 = x1 + ldx;
    const float* x3 = x2 + ldx;
    int kk = 0;
    // 4x4 transposes: 4 row vectors of k..k+3 in, 4 interleaved vectors out.
    for (; kk + 4 <= k; kk += 4) {
      const v128_t r0 = wasm_v128_load(x0 + kk), r1 = wasm_v128_load(x1 + kk);
      const v128_t r2 = wasm_v128_load(x2 + kk), r3 = wasm_v128_load(x3 + kk);
      const v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);
      const v128_t t2 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
      float* d = dst + 4 * kk;
      wasm_v128_store(d, wasm_i64x2_shuffle(t0, t1, 0, 2));
      wasm_v128_store(d + 4, wasm_i64x2_shuffle(t0, t1, 1, 3));
      wasm_v128_store(d + 8, wasm_i64x2_shuffle(t2, t3, 0, 2));
      wasm_v128_store(d + 12, wasm_i64x2_shuffle(t2, t3, 1, 3));
    }
    for (; kk < k; ++kk) {
      dst[4 * kk] = x0[kk];
      dst[4 * kk + 1] = x1[kk];
      dst[4 * kk + 2] = x2[kk];
      dst[4 * kk + 3] = x3[kk];
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
