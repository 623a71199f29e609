// WASM SIMD fused attention (same algorithm and layouts as attention-scalar.cpp). Both products run on the
// GEMM's 4x8 micro-kernel (microkernel-wasmsimd.h): scores = packed-K blocks (4 keys) x the 8-query panel;
// output = score tile (4 queries, a_step 8) x packed V panels. The softmax runs down the [keys][8] tile with
// one lane per query, so it needs no horizontal reductions.
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
  const int key_blocks = attention_key_blocks(tokens);
  float* qb = tile;                                      // [head_dim][8]
  float* s = tile + static_cast<size_t>(Q) * head_dim;   // [4 * key_blocks][8]
  const v128_t vscale = wasm_f32x4_splat(scale);
  for (int i0 = q_begin; i0 < q_end; i0 += Q) {
    const int rows = std::min(Q, q_end - i0);
    // The query block as a [head_dim][8] panel (missing queries of the last block are zero).
    for (int i = 0; i < rows; ++i) {
      const float* qi = q + static_cast<size_t>(i0 + i) * ld;
      for (int c = 0; c < head_dim; ++c) qb[c * Q + i] = qi[c];
    }
    for (int i = rows; i < Q; ++i)
      for (int c = 0; c < head_dim; ++c) qb[c * Q + i] = 0.0f;
    // 1. scores: key block b gives 4 rows of the tile.
    for (int b = 0; b < key_blocks; ++b) {
      v128_t acc[4][2];
      simd::microkernel_4x8(acc, head_dim, packed_k + static_cast<size_t>(b) * head_dim * 4, 4, qb);
      float* sb = s + static_cast<size_t>(4 * b) * Q;
      for (int r = 0; r < 4; ++r) {
        wasm_v128_store(sb + r * Q, wasm_f32x4_mul(acc[r][0], vscale));
        wasm_v128_store(sb + r * Q + 4, wasm_f32x4_mul(acc[r][1], vscale));
      }
    }
    // 2. softmax numerators down the columns; the max is subtracted first (numerically stable).
    v128_t m0 = wasm_v128_load(s), m1 = wasm_v128_load(s + 4);
    for (int j = 1; j < tokens; ++j) {
      m0 = wasm_f32x4_max(m0, wasm_v128_load(s + j * Q));
      m1 = wasm_f32x4_max(m1, wasm_v128_load(s + j * Q + 4));
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
