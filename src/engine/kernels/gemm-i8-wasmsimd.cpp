// WASM SIMD int8 GEMM (layouts, rounding and the overflow bound: kernels.h). A 4x8 register tile like the f32
// GEMM, but per step of two k: the panel's 16 bytes as two widening 8-byte loads (i16x8.load8x8_s: channels
// 0-3 and 4-7, pairs interleaved; one pmovsxbw from memory each on x64, where widening the high half of a
// 16-byte load costs a shuffle more), four 32-bit splats of A's row pairs, and 8 i32x4.dot_i16x8_s (pmaddwd)
// + 8 i32x4.add: 64 multiply-adds per 16 arithmetic instructions, twice the f32 kernel's 32. The int8 panel
// is 8·k bytes (6 KiB at k = 768), so it stays in L1 while packed A (int16) streams from L2.
#include <algorithm>
#include <cmath>
#include <wasm_simd128.h>

#include "kernels.h"
#include "microkernel-wasmsimd.h"

namespace vitrine {
namespace kernels {

void gemm_i8_wasmsimd(const GemmI8Args& a, int panel_begin, int panel_end) {
  const int pairs = gemm_i8_depth(a.k) / 2;
  for (int p = panel_begin; p < panel_end; ++p) {
    const int col = p * kGemmNR;
    const int cols = std::min(kGemmNR, a.n - col);
    const int8_t* panel = a.packed + static_cast<size_t>(p) * kGemmNR * 2 * pairs;
    const v128_t ws0 = wasm_v128_load(a.w_scale + col), ws1 = wasm_v128_load(a.w_scale + col + 4);
    for (int blk = 0; blk < gemm_row_blocks(a.m); ++blk) {
      const int16_t* x = a.a + static_cast<size_t>(blk) * 8 * pairs;
      v128_t ci[4][2];
      simd::microkernel_i16_4x8(ci, pairs, x, 8, panel);
      // Dequantize: float(acc) · (sa[r] · sw[c]), the plain twin's order of operations.
      const int rows = std::min(4, a.m - 4 * blk);
      const float* sa = a.a_scale + 4 * blk;
      v128_t acc[4][2];
      for (int r = 0; r < 4; ++r) {
        const v128_t s = wasm_f32x4_splat(r < rows ? sa[r] : 0.0f);
        acc[r][0] = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(ci[r][0]), wasm_f32x4_mul(s, ws0));
        acc[r][1] = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(ci[r][1]), wasm_f32x4_mul(s, ws1));
      }
      simd::store_tile(acc, rows, a.bias ? a.bias + col : nullptr, a.ep, false, a.y + 4 * blk * a.ldy + col, a.ldy,
                       cols);
    }
  }
}

void gemm_i8_quantize_a_wasmsimd(const float* x, size_t ldx, int m, int k, int block_begin, int block_end,
                                 int16_t* packed_a, float* scales, int qmax) {
  const int depth = gemm_i8_depth(k);
  const float qm = static_cast<float>(qmax);
  const v128_t lim = wasm_f32x4_splat(qm), nlim = wasm_f32x4_splat(-qm);
  // Adding 1.5·2²³ rounds |v| <= qmax to the nearest integer (ties to even) and leaves it in the low mantissa
  // bits: subtracting the constant's bit pattern gives the i32 (V8's trunc_sat_f32x4 is a long sequence).
  const v128_t magic = wasm_f32x4_splat(12582912.0f);
  auto quantize = [&](v128_t v, v128_t inv) {
    v = wasm_f32x4_pmin(wasm_f32x4_pmax(wasm_f32x4_mul(v, inv), nlim), lim);
    return wasm_i32x4_sub(wasm_f32x4_add(v, magic), magic);
  };
  for (int b = block_begin; b < block_end; ++b) {
    if (4 * b + 4 > m) {  // the last, partly padded block
      gemm_i8_quantize_a_scalar(x, ldx, m, k, b, b + 1, packed_a, scales, qmax);
      continue;
    }
    int16_t* dst = packed_a + static_cast<size_t>(b) * 4 * depth;
    const float* xr[4];
    v128_t inv[4];
    for (int r = 0; r < 4; ++r) {
      xr[r] = x + static_cast<size_t>(4 * b + r) * ldx;
      v128_t mv = wasm_f32x4_splat(0.0f);
      int kk = 0;
      for (; kk + 4 <= k; kk += 4) mv = wasm_f32x4_pmax(mv, wasm_f32x4_abs(wasm_v128_load(xr[r] + kk)));
      float mx = std::max(std::max(wasm_f32x4_extract_lane(mv, 0), wasm_f32x4_extract_lane(mv, 1)),
                          std::max(wasm_f32x4_extract_lane(mv, 2), wasm_f32x4_extract_lane(mv, 3)));
      for (; kk < k; ++kk) mx = std::max(mx, std::fabs(xr[r][kk]));
      scales[4 * b + r] = mx / qm;
      inv[r] = wasm_f32x4_splat(mx > 0.0f ? qm / mx : 0.0f);
    }
    int kk = 0;
    // 4 rows x 4 k in, two k-pairs of the block out: narrow rows to int16, then gather each row's pair.
    for (; kk + 4 <= k; kk += 4) {
      const v128_t n01 = wasm_i16x8_narrow_i32x4(quantize(wasm_v128_load(xr[0] + kk), inv[0]),
                                                 quantize(wasm_v128_load(xr[1] + kk), inv[1]));
      const v128_t n23 = wasm_i16x8_narrow_i32x4(quantize(wasm_v128_load(xr[2] + kk), inv[2]),
                                                 quantize(wasm_v128_load(xr[3] + kk), inv[3]));
      int16_t* d = dst + (kk / 2) * 8;
      wasm_v128_store(d, wasm_i32x4_shuffle(n01, n23, 0, 2, 4, 6));
      wasm_v128_store(d + 8, wasm_i32x4_shuffle(n01, n23, 1, 3, 5, 7));
    }
    for (; kk < depth; ++kk)
      for (int r = 0; r < 4; ++r) {
        int16_t q = 0;
        if (kk < k) {
          const v128_t v = quantize(wasm_f32x4_splat(xr[r][kk]), inv[r]);
          q = static_cast<int16_t>(wasm_i32x4_extract_lane(v, 0));
        }
        dst[(kk / 2) * 8 + r * 2 + kk % 2] = q;
      }
  }
}

}  // namespace kernels
}  // namespace vitrine
