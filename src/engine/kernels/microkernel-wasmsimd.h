// The 4x8 f32x4 register-tile micro-kernel shared by the WASM SIMD GEMM and attention kernels, and the GEMM
// tile store (bias, accumulate, activation) shared by the f32 and int8 GEMMs:
//   acc[r][0..1] = Σ_kk a[kk·a_step + r] · w[kk·8 + 0..7]   for r < 4,
// i.e. 4 rows of a packed A (4 values per k, a_step floats apart) against one packed 8-wide panel.
// Include only from *-wasmsimd.cpp files.
//
// Why this exact shape of loop: V8's TurboFan code for it is bound by the vector multiply/add throughput (8
// mulps + 8 addps per 64 flops, ~12 flops/cycle on this x64 core without FMA), and anything that adds
// instructions or spills costs directly. Per k the loop needs 2 panel loads + 4 broadcast loads (vbroadcastss) +
// 8 mul + 8 add; its only integer work is 2 pointer adds and a compare/branch (clang unrolls it x2 itself).
// 8 accumulators + 2 panel vectors + 1 broadcast keep 11 of the 16 xmm registers live. Measured here:
//   - this loop: 42-46 GFLOP/s alone, ~41 inside the model;
//   - unrolling k by hand (x2, x4) makes TurboFan schedule all loads of the body first and spill them:
//     31-34 GFLOP/s with packed A, 20-23 with 4 row pointers in a loop-only test;
//   - 6x8 / 4x12 tiles: no better (more registers than x64 has, or the same port limit).
// (No FMA: relaxed SIMD is not usable with this toolchain and Node 20.)
#pragma once
#include <wasm_simd128.h>

#include "kernels.h"
#include "math-wasmsimd.h"

namespace vitrine {
namespace kernels {
namespace simd {

__attribute__((always_inline)) inline void microkernel_4x8(v128_t (&acc)[4][2], int k, const float* a, int a_step,
                                                           const float* w) {
  v128_t c00 = wasm_f32x4_splat(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const float* const end = w + static_cast<size_t>(k) * kGemmNR;
  while (w < end) {
    const v128_t w0 = wasm_v128_load(w);
    const v128_t w1 = wasm_v128_load(w + 4);
    v128_t x = wasm_v128_load32_splat(a);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x, w0));
    c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x, w1));
    x = wasm_v128_load32_splat(a + 1);
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x, w0));
    c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x, w1));
    x = wasm_v128_load32_splat(a + 2);
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x, w0));
    c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x, w1));
    x = wasm_v128_load32_splat(a + 3);
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x, w0));
    c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x, w1));
    a += a_step;
    w += kGemmNR;
  }
  acc[0][0] = c00;
  acc[0][1] = c01;
  acc[1][0] = c10;
  acc[1][1] = c11;
  acc[2][0] = c20;
  acc[2][1] = c21;
  acc[3][0] = c30;
  acc[3][1] = c31;
}

// The integer twin, shared by the int8 GEMM and integer attention: acc[r][0..1] = Σ_kk a·w in i32 over `pairs`
// pairs of k, A as int16 row pairs (a 32-bit splat per row, rows 2 int16 apart, a_step int16 per pair step),
// the panel as 8 columns × 2 per pair step: int8 weights (W = int8_t) widened by i16x8.load8x8_s (one pmovsxbw
// from memory on x64), or int16 values (W = int16_t, attention's K and V panels) loaded as they are.
template <class W>
__attribute__((always_inline)) inline v128_t load_i16x8(const W* w) {
  if constexpr (sizeof(W) == 1) return wasm_i16x8_load8x8(w);
  else return wasm_v128_load(w);
}
template <class W>
__attribute__((always_inline)) inline void microkernel_i16_4x8(v128_t (&acc)[4][2], int pairs, const int16_t* a,
                                                               int a_step, const W* w) {
  v128_t c00 = wasm_i32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const W* const end = w + static_cast<size_t>(pairs) * 16;
  while (w < end) {
    const v128_t w0 = load_i16x8(w), w1 = load_i16x8(w + 8);
    v128_t v = wasm_v128_load32_splat(a);
    c00 = wasm_i32x4_add(c00, wasm_i32x4_dot_i16x8(v, w0));
    c01 = wasm_i32x4_add(c01, wasm_i32x4_dot_i16x8(v, w1));
    v = wasm_v128_load32_splat(a + 2);
    c10 = wasm_i32x4_add(c10, wasm_i32x4_dot_i16x8(v, w0));
    c11 = wasm_i32x4_add(c11, wasm_i32x4_dot_i16x8(v, w1));
    v = wasm_v128_load32_splat(a + 4);
    c20 = wasm_i32x4_add(c20, wasm_i32x4_dot_i16x8(v, w0));
    c21 = wasm_i32x4_add(c21, wasm_i32x4_dot_i16x8(v, w1));
    v = wasm_v128_load32_splat(a + 6);
    c30 = wasm_i32x4_add(c30, wasm_i32x4_dot_i16x8(v, w0));
    c31 = wasm_i32x4_add(c31, wasm_i32x4_dot_i16x8(v, w1));
    a += a_step;
    w += 16;
  }
  acc[0][0] = c00;
  acc[0][1] = c01;
  acc[1][0] = c10;
  acc[1][1] = c11;
  acc[2][0] = c20;
  acc[2][1] = c21;
  acc[3][0] = c30;
  acc[3][1] = c31;
}

// Attention's score tile (both attention kernels): a 4-query × 4-key block r[query] (lanes = keys) stored
// transposed as 4 key rows of 4 query lanes at d, d + ld, d + 2·ld, d + 3·ld; returns the lane-wise max of the
// stored rows (the column max the softmax needs, taken while the rows are in registers).
inline v128_t store_scores_transposed(const v128_t (&r)[4], float* d, int ld) {
  const v128_t t0 = wasm_i32x4_shuffle(r[0], r[1], 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r[2], r[3], 0, 4, 1, 5);
  const v128_t t2 = wasm_i32x4_shuffle(r[0], r[1], 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(r[2], r[3], 2, 6, 3, 7);
  const v128_t k0 = wasm_i64x2_shuffle(t0, t1, 0, 2), k1 = wasm_i64x2_shuffle(t0, t1, 1, 3);
  const v128_t k2 = wasm_i64x2_shuffle(t2, t3, 0, 2), k3 = wasm_i64x2_shuffle(t2, t3, 1, 3);
  wasm_v128_store(d, k0);
  wasm_v128_store(d + ld, k1);
  wasm_v128_store(d + 2 * ld, k2);
  wasm_v128_store(d + 3 * ld, k3);
  return wasm_f32x4_pmax(wasm_f32x4_pmax(k0, k1), wasm_f32x4_pmax(k2, k3));
}

// The fused GEMM epilogue (shared by the f32 and int8 GEMMs): optional accumulate into y, bias, activation.
inline v128_t epilogue(v128_t v, Epilogue ep) {
  if (ep == Epilogue::GeluErf) return simd::gelu(v);
  if (ep == Epilogue::Relu) return wasm_f32x4_pmax(v, wasm_f32x4_splat(0.0f));
  return v;
}

// Writes rows [0, rows) of the tile (rows <= 4: the last block of A may be partly padding).
inline void store_tile(v128_t (&acc)[4][2], int rows, const float* bias, Epilogue ep, bool accumulate, float* y,
                       size_t ldy, int cols) {
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
  for (int r = 0; r < 4; ++r) {
    if (r >= rows) break;
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

}  // namespace simd
}  // namespace kernels
}  // namespace vitrine
