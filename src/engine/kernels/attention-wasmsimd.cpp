// WASM SIMD fused attention (same algorithm and layouts as attention-scalar.cpp). Both products run on the
// GEMM's 4x8 micro-kernel (microkernel-wasmsimd.h): scores = 4-query block of packed A x 8-key panels of K
// (loop over head_dim), transposed into a [keys][8 queries] tile; output = score tile (4 queries, a_step 8) x
// the tile's slice of each packed V panel. The softmax runs down the tile with one lane per query: no
// horizontal reductions, and the online-softmax state (running max, sum, rescale factor) is two f32x4 each.
// (Scores were first computed the other way round, K blocks as A against the query block as the panel: same
// FLOPs, measured 1.6x slower than this order.)
#include <algorithm>
#include <cmath>
#include <wasm_simd128.h>

#include "kernels.h"
#include "math-wasmsimd.h"
#include "microkernel-wasmsimd.h"

namespace vitrine {
namespace kernels {

void attention_rows_wasmsimd(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                             int head_dim, float scale, int key_tile, int q_begin, int q_end, float* out, size_t ldo,
                             float* tile) {
  constexpr int Q = kAttentionQueries;
  const int kt_max = attention_key_tile(tokens, key_tile);
  float* qa = tile;                                            // [2][head_dim][4]
  float* o = qa + static_cast<size_t>(Q) * head_dim;           // [8 queries][head_dim] output accumulator
  float* s = o + static_cast<size_t>(Q) * head_dim;            // [kt_max][8] score tile
  const v128_t vscale = wasm_f32x4_splat(scale);
  for (int i0 = q_begin; i0 < q_end; i0 += Q) {
    const int rows = std::min(Q, q_end - i0);
    // The query block as packed A; missing queries of the last block are zero.
    dispatch::gemm_pack_a(q + static_cast<size_t>(i0) * ld, ld, rows, head_dim, 0, (rows + 3) / 4, qa);
    if (rows <= 4) std::fill(qa + static_cast<size_t>(head_dim) * 4, qa + static_cast<size_t>(head_dim) * 8, 0.0f);
    v128_t m0 = wasm_f32x4_splat(0.0f), m1 = m0, l0 = m0, l1 = m0;
    for (int j0 = 0; j0 < tokens; j0 += kt_max) {
      const int kt = std::min(kt_max, tokens - j0), panels = (kt + 7) / 8;
      const bool first = j0 == 0;
      // 1. scores: (key panel p, 4-query block h) -> 4 queries x 8 keys, stored transposed into the tile; both
      // query halves use the panel while it is in L1. The column max is taken from the transposed rows in
      // registers (no second pass over the tile) for whole panels; a last, partial panel's padding keys are
      // zero scores and must not count, so its real rows are read back from the tile.
      const int full = kt / 8;
      v128_t n0 = wasm_f32x4_splat(-INFINITY), n1 = n0;
      for (int p = 0; p < panels; ++p) {
        const float* kp = packed_k + static_cast<size_t>(j0 / 8 + p) * head_dim * 8;
        for (int h = 0; h < 2; ++h) {
          v128_t acc[4][2];
          simd::microkernel_4x8(acc, head_dim, qa + static_cast<size_t>(h) * head_dim * 4, 4, kp);
          v128_t n = h == 0 ? n0 : n1;
          for (int v = 0; v < 2; ++v) {
            // 4x4 transpose: rows = queries, lanes = keys  ->  rows = keys, lanes = queries.
            const v128_t r[4] = {wasm_f32x4_mul(acc[0][v], vscale), wasm_f32x4_mul(acc[1][v], vscale),
                                 wasm_f32x4_mul(acc[2][v], vscale), wasm_f32x4_mul(acc[3][v], vscale)};
            const v128_t mx = simd::store_scores_transposed(r, s + static_cast<size_t>(8 * p + 4 * v) * Q + 4 * h, Q);
            if (p < full) n = wasm_f32x4_pmax(n, mx);
          }
          if (h == 0) n0 = n; else n1 = n;
        }
      }
      for (int j = 8 * full; j < kt; ++j) {
        n0 = wasm_f32x4_pmax(n0, wasm_v128_load(s + j * Q));
        n1 = wasm_f32x4_pmax(n1, wasm_v128_load(s + j * Q + 4));
      }
      // 2. online softmax down the columns: the new running max (subtracted before exp: numerically stable),
      // alpha = exp(m_old - m_new) for what was accumulated so far, the tile's numerators and their sum.
      alignas(16) float alpha[Q];
      if (!first) {
        n0 = wasm_f32x4_pmax(m0, n0);
        n1 = wasm_f32x4_pmax(m1, n1);
        wasm_v128_store(alpha, simd::exp(wasm_f32x4_sub(m0, n0)));
        wasm_v128_store(alpha + 4, simd::exp(wasm_f32x4_sub(m1, n1)));
      }
      m0 = n0;
      m1 = n1;
      v128_t sum0 = wasm_f32x4_splat(0.0f), sum1 = sum0;
      for (int j = 0; j < kt; ++j) {
        const v128_t e0 = simd::exp(wasm_f32x4_sub(wasm_v128_load(s + j * Q), m0));
        const v128_t e1 = simd::exp(wasm_f32x4_sub(wasm_v128_load(s + j * Q + 4), m1));
        wasm_v128_store(s + j * Q, e0);
        wasm_v128_store(s + j * Q + 4, e1);
        sum0 = wasm_f32x4_add(sum0, e0);
        sum1 = wasm_f32x4_add(sum1, e1);
      }
      if (first) {
        l0 = sum0;
        l1 = sum1;
      } else {
        l0 = wasm_f32x4_add(wasm_f32x4_mul(l0, wasm_v128_load(alpha)), sum0);
        l1 = wasm_f32x4_add(wasm_f32x4_mul(l1, wasm_v128_load(alpha + 4)), sum1);
      }
      // 3. o = o · alpha + tile · V, 4 queries at a time; both query halves use a V panel slice while it is in L1.
      for (int p = 0; p < head_dim / kGemmNR; ++p) {
        const float* vp = packed_v + (static_cast<size_t>(p) * tokens + j0) * kGemmNR;
        for (int h = 0; h * 4 < rows; ++h) {
          const int hr = std::min(4, rows - 4 * h);
          v128_t acc[4][2];
          simd::microkernel_4x8(acc, kt, s + 4 * h, Q, vp);
          for (int r = 0; r < 4; ++r) {
            if (r >= hr) break;
            float* oi = o + static_cast<size_t>(4 * h + r) * head_dim + p * kGemmNR;
            if (first) {
              wasm_v128_store(oi, acc[r][0]);
              wasm_v128_store(oi + 4, acc[r][1]);
            } else {
              const v128_t al = wasm_v128_load32_splat(alpha + 4 * h + r);
              wasm_v128_store(oi, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(oi), al), acc[r][0]));
              wasm_v128_store(oi + 4, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(oi + 4), al), acc[r][1]));
            }
          }
        }
      }
    }
    // 4. the 1/sum normalisation.
    alignas(16) float inv[Q];
    wasm_v128_store(inv, wasm_f32x4_div(wasm_f32x4_splat(1.0f), l0));
    wasm_v128_store(inv + 4, wasm_f32x4_div(wasm_f32x4_splat(1.0f), l1));
    for (int i = 0; i < rows; ++i) {
      const v128_t iv = wasm_v128_load32_splat(inv + i);
      const float* oi = o + static_cast<size_t>(i) * head_dim;
      float* dst = out + static_cast<size_t>(i0 + i) * ldo;
      for (int c = 0; c < head_dim; c += 4) wasm_v128_store(dst + c, wasm_f32x4_mul(wasm_v128_load(oi + c), iv));
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
