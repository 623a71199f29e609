// WASM SIMD fused attention (same algorithm and layouts as attention-scalar.cpp). Both products run on the
// GEMM's 4x8 micro-kernel (microkernel-wasmsimd.h): scores = 4-query block of packed A x 8-key panels of K
// (loop over head_dim), transposed into a [keys][8 queries] tile; output = score tile (4 queries, a_step 8) x
// packed V panels. The softmax runs down the tile with one lane per query: no horizontal reductions.
// (Scores were first computed the other way round, K blocks as A against the query block as the panel: same
// FLOPs, measured 1.6x slower than this order.)
#include <algorithm>
#include <wasm_simd128.h>

#include "kernels.h"
#include "math-wasmsimd.h"
#include "microkernel-wasmsimd.h"

namespace vitrine {
namespace kernels {

void attention_rows_wasmsimd(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                             int head_dim, float scale, int q_begin, int q_end, float* out, size_t ldo,
                             float* tile) {
  constexpr int Q = kAttentionQueries;
  const int key_panels = attention_key_panels(tokens);
  float* qa = tile;                                      // [2][head_dim][4]
  float* s = tile + static_cast<size_t>(Q) * head_dim;   // [8 * key_panels][8]
  const v128_t vscale = wasm_f32x4_splat(scale);
  for (int i0 = q_begin; i0 < q_end; i0 += Q) {
    const int rows = std::min(Q, q_end - i0);
    // The query block as packed A; missing queries of the last block are zero.
    dispatch::gemm_pack_a(q + static_cast<size_t>(i0) * ld, ld, rows, head_dim, 0, (rows + 3) / 4, qa);
    if (rows <= 4) std::fill(qa + static_cast<size_t>(head_dim) * 4, qa + static_cast<size_t>(head_dim) * 8, 0.0f);
    // 1. scores: (4-query block h, key panel p) -> 4 queries x 8 keys, stored transposed into the tile.
    for (int h = 0; h < 2; ++h) {
      const float* a = qa + static_cast<size_t>(h) * head_dim * 4;
      for (int p = 0; p < key_panels; ++p) {
        v128_t acc[4][2];
        simd::microkernel_4x8(acc, head_dim, a, 4, packed_k + static_cast<size_t>(p) * head_dim * 8);
        for (int v = 0; v < 2; ++v) {
          // 4x4 transpose: rows = queries, lanes = keys  ->  rows = keys, lanes = queries.
          const v128_t r0 = wasm_f32x4_mul(acc[0][v], vscale), r1 = wasm_f32x4_mul(acc[1][v], vscale);
          const v128_t r2 = wasm_f32x4_mul(acc[2][v], vscale), r3 = wasm_f32x4_mul(acc[3][v], vscale);
          const v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);
          const v128_t t2 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
          float* d = s + static_cast<size_t>(8 * p + 4 * v) * Q + 4 * h;
          wasm_v128_store(d, wasm_i64x2_shuffle(t0, t1, 0, 2));
          wasm_v128_store(d + Q, wasm_i64x2_shuffle(t0, t1, 1, 3));
          wasm_v128_store(d + 2 * Q, wasm_i64x2_shuffle(t2, t3, 0, 2));
          wasm_v128_store(d + 3 * Q, wasm_i64x2_shuffle(t2, t3, 1, 3));
        }
      }
    }
    // 2. softmax numerators down the columns; the max is subtracted first (numerically stable).
    v128_t m0 = wasm_v128_load(s), m1 = wasm_v128_load(s + 4);
    for (int j = 1; j < tokens; ++j) {
      m0 = wasm_f32x4_pmax(m0, wasm_v128_load(s + j * Q));
      m1 = wasm_f32x4_pmax(m1, wasm_v128_load(s + j * Q + 4));
    }
    v128_t sum0 = wasm_f32x4_splat(0.0f), sum1 = sum0;
    for (int j = 0; j < tokens; ++j) {
      const v128_t e0 = simd::exp(wasm_f32x4_sub(wasm_v128_load(s + j * Q), m0));
      const v128_t e1 = simd::exp(wasm_f32x4_sub(wasm_v128_load(s + j * Q + 4), m1));
      wasm_v128_store(s + j * Q, e0);
      wasm_v128_store(s + j * Q + 4, e1);
      sum0 = wasm_f32x4_add(sum0, e0);
      sum1 = wasm_f32x4_add(sum1, e1);
    }
    float inv[Q];
    wasm_v128_store(inv, wasm_f32x4_div(wasm_f32x4_splat(1.0f), sum0));
    wasm_v128_store(inv + 4, wasm_f32x4_div(wasm_f32x4_splat(1.0f), sum1));
    // 3. tile · V, 4 queries at a time.
    for (int h = 0; h * 4 < rows; ++h) {
      const int hr = std::min(4, rows - 4 * h);
      for (int p = 0; p < head_dim / kGemmNR; ++p) {
        v128_t acc[4][2];
        simd::microkernel_4x8(acc, tokens, s + 4 * h, Q, packed_v + static_cast<size_t>(p) * tokens * kGemmNR);
        for (int r = 0; r < 4; ++r) {
          if (r >= hr) break;
          const v128_t iv = wasm_f32x4_splat(inv[4 * h + r]);
          float* o = out + static_cast<size_t>(i0 + 4 * h + r) * ldo + p * kGemmNR;
          wasm_v128_store(o, wasm_f32x4_mul(acc[r][0], iv));
          wasm_v128_store(o + 4, wasm_f32x4_mul(acc[r][1], iv));
        }
      }
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
