// WASM SIMD integer attention (algorithm, layouts and overflow bounds: kernels.h; the plain twin
// attention-i8-scalar.cpp runs the same float operations in the same order, so the outputs are identical).
// Both products run on one 4x8 int16 register tile: per key (or head-dim) pair, two 16-byte loads of the
// panel (8 columns × 2), four 32-bit splats of A's row pairs, 8 i32x4.dot_i16x8_s (pmaddwd) + 8 i32x4.add:
// 64 multiply-adds per 16 arithmetic instructions, twice the f32 micro-kernel's 32. Scores: 4-query block of
// the quantized queries × 8-key panels of K, dequantized and transposed into the f32 [keys][8 queries] tile
// as in the f32 kernel; the softmax runs down the tile (one lane per query) and writes P as int16 key pairs
// ([keys/2][8 queries][2]), which is packed A for P · V against the V panels.
#include <algorithm>
#include <cmath>
#include <wasm_simd128.h>

#include "kernels.h"
#include "math-wasmsimd.h"
#include "microkernel-wasmsimd.h"

namespace vitrine {
namespace kernels {

namespace {

// P = nearest(min(32767 · 2^y, 32767)) of 4 scores y = s - m <= 0 in log2 units, as i32 (Exp2P, kernels.h;
// the plain twin's p_of): 19 instructions per 4 numerators, where exp() then a separate quantization took 28
// (exp was 27 % of this kernel at 1370 tokens). Rounding to nearest (ties to even) by adding 1.5·2²³.
inline v128_t p_of(v128_t y) {
  using E = Exp2P;
  using simd::madd;
  using simd::splat;
  y = wasm_f32x4_pmax(y, splat(E::kMin));
  const v128_t magic = splat(E::kMagic), vn = wasm_f32x4_add(y, magic);
  const v128_t two_n = wasm_i32x4_shl(vn, 23);
  const v128_t f = wasm_f32x4_sub(y, wasm_f32x4_sub(vn, magic));
  v128_t q = splat(E::kC5);
  q = madd(q, f, splat(E::kC4));
  q = madd(q, f, splat(E::kC3));
  q = madd(q, f, splat(E::kC2));
  q = madd(q, f, splat(E::kC1));
  q = madd(q, f, splat(E::kC0));
  const v128_t lim = splat(static_cast<float>(kAttentionI8P)), round = splat(12582912.0f);
  const v128_t v = wasm_f32x4_pmin(wasm_f32x4_mul(q, two_n), lim);
  return wasm_i32x4_sub(wasm_f32x4_add(v, round), round);
}

}  // namespace

void attention_i8_rows_wasmsimd(const float* q, size_t ld, const AttentionI8Head& head, float scale, int key_tile,
                                int q_begin, int q_end, float* out, size_t ldo, float* tile) {
  constexpr int Q = kAttentionQueries;
  const int tokens = head.tokens, hd = head.head_dim, pairs_v = (tokens + 1) / 2;
  const int kt_max = attention_key_tile(tokens, key_tile);
  const AttentionI8Tile buf = attention_i8_tile(tile, hd, kt_max);
  const float scale_log2 = scale * Exp2P::kLog2e;  // scores in log2 units
  int16_t* const qa = buf.qa;
  float *const qs = buf.qs, *const o = buf.o, *const s = buf.s;
  int16_t* const pt = buf.p;
  for (int i0 = q_begin; i0 < q_end; i0 += Q) {
    const int rows = std::min(Q, q_end - i0);
    gemm_i8_quantize_a_wasmsimd(q + static_cast<size_t>(i0) * ld, ld, rows, hd, 0, 2, qa, qs, kAttentionI8QK);
    for (int i = 0; i < Q; ++i) qs[i] = qs[i] * scale_log2;
    v128_t m0 = wasm_f32x4_splat(0.0f), m1 = m0, l0 = m0, l1 = m0;
    for (int j0 = 0; j0 < tokens; j0 += kt_max) {
      const int kt = std::min(kt_max, tokens - j0), panels = (kt + 7) / 8, pairs = (kt + 1) / 2;
      const bool first = j0 == 0;
      // 1. scores: (key panel p, 4-query block h) -> 4 queries x 8 keys in i32, dequantized by sq·scale·sk
      // and stored transposed into the tile; the column max as in the f32 kernel (whole panels from
      // registers, a last partial panel's real rows read back: its padding keys must not count).
      const int full = kt / 8;
      v128_t n0 = wasm_f32x4_splat(-INFINITY), n1 = n0;
      for (int p = 0; p < panels; ++p) {
        const int16_t* kp = head.k + static_cast<size_t>(j0 / 8 + p) * 8 * hd;
        const v128_t sk[2] = {wasm_v128_load(head.k_scale + j0 + 8 * p), wasm_v128_load(head.k_scale + j0 + 8 * p + 4)};
        for (int h = 0; h < 2; ++h) {
          v128_t acc[4][2];
          simd::microkernel_i16_4x8(acc, hd / 2, qa + static_cast<size_t>(h) * 4 * hd, 8, kp);
          v128_t n = h == 0 ? n0 : n1;
          for (int v = 0; v < 2; ++v) {
            v128_t r[4];
            for (int i = 0; i < 4; ++i)
              r[i] = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc[i][v]),
                                    wasm_f32x4_mul(wasm_v128_load32_splat(qs + 4 * h + i), sk[v]));
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
      // 2. online softmax down the columns; each key pair's numerators quantized to P, narrowed to int16 and
      // interleaved into the P tile (queries 0-3, then 4-7, each as (key j, key j+1)); l += Σ P in i32.
      alignas(16) float alpha[Q];
      if (!first) {
        n0 = wasm_f32x4_pmax(m0, n0);
        n1 = wasm_f32x4_pmax(m1, n1);
        const v128_t ln2 = wasm_f32x4_splat(Exp2P::kLn2);
        wasm_v128_store(alpha, simd::exp(wasm_f32x4_mul(wasm_f32x4_sub(m0, n0), ln2)));
        wasm_v128_store(alpha + 4, simd::exp(wasm_f32x4_mul(wasm_f32x4_sub(m1, n1), ln2)));
      }
      m0 = n0;
      m1 = n1;
      v128_t sum0 = wasm_i32x4_splat(0), sum1 = sum0;
      for (int jp = 0; jp < pairs; ++jp) {
        const int j = 2 * jp;
        const v128_t a0 = p_of(wasm_f32x4_sub(wasm_v128_load(s + j * Q), m0));
        const v128_t a1 = p_of(wasm_f32x4_sub(wasm_v128_load(s + j * Q + 4), m1));
        v128_t b0 = wasm_i32x4_splat(0), b1 = b0;
        if (j + 1 < kt) {
          b0 = p_of(wasm_f32x4_sub(wasm_v128_load(s + (j + 1) * Q), m0));
          b1 = p_of(wasm_f32x4_sub(wasm_v128_load(s + (j + 1) * Q + 4), m1));
        }
        sum0 = wasm_i32x4_add(sum0, wasm_i32x4_add(a0, b0));
        sum1 = wasm_i32x4_add(sum1, wasm_i32x4_add(a1, b1));
        const v128_t ka = wasm_i16x8_narrow_i32x4(a0, a1), kb = wasm_i16x8_narrow_i32x4(b0, b1);
        wasm_v128_store(pt + jp * 16, wasm_i16x8_shuffle(ka, kb, 0, 8, 1, 9, 2, 10, 3, 11));
        wasm_v128_store(pt + jp * 16 + 8, wasm_i16x8_shuffle(ka, kb, 4, 12, 5, 13, 6, 14, 7, 15));
      }
      if (first) {
        l0 = wasm_f32x4_convert_i32x4(sum0);
        l1 = wasm_f32x4_convert_i32x4(sum1);
      } else {
        l0 = wasm_f32x4_add(wasm_f32x4_mul(l0, wasm_v128_load(alpha)), wasm_f32x4_convert_i32x4(sum0));
        l1 = wasm_f32x4_add(wasm_f32x4_mul(l1, wasm_v128_load(alpha + 4)), wasm_f32x4_convert_i32x4(sum1));
      }
      // 3. o = o · alpha + Σ_chunks float(P · qV), 4 queries at a time; both query halves use a V panel slice
      // while it is in L1.
      for (int p = 0; p < hd / kGemmNR; ++p) {
        const int16_t* vp = head.v + (static_cast<size_t>(p) * pairs_v + j0 / 2) * 16;
        for (int h = 0; h * 4 < rows; ++h) {
          const int hr = std::min(4, rows - 4 * h);
          v128_t f[4][2];
          for (int c0 = 0; c0 < kt; c0 += kAttentionI8PvKeys) {
            const int n2 = (std::min(kAttentionI8PvKeys, kt - c0) + 1) / 2;
            v128_t acc[4][2];
            simd::microkernel_i16_4x8(acc, n2, pt + (c0 / 2) * 16 + 8 * h, 16, vp + (c0 / 2) * 16);
            for (int r = 0; r < 4; ++r)
              for (int v = 0; v < 2; ++v) {
                const v128_t cf = wasm_f32x4_convert_i32x4(acc[r][v]);
                f[r][v] = c0 == 0 ? cf : wasm_f32x4_add(f[r][v], cf);
              }
          }
          for (int r = 0; r < hr; ++r) {
            float* oi = o + static_cast<size_t>(4 * h + r) * hd + p * kGemmNR;
            if (first) {
              wasm_v128_store(oi, f[r][0]);
              wasm_v128_store(oi + 4, f[r][1]);
            } else {
              const v128_t al = wasm_v128_load32_splat(alpha + 4 * h + r);
              wasm_v128_store(oi, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(oi), al), f[r][0]));
              wasm_v128_store(oi + 4, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(oi + 4), al), f[r][1]));
            }
          }
        }
      }
    }
    // 4. out = o · (1/l · sv)
    alignas(16) float inv[Q];
    wasm_v128_store(inv, wasm_f32x4_div(wasm_f32x4_splat(1.0f), l0));
    wasm_v128_store(inv + 4, wasm_f32x4_div(wasm_f32x4_splat(1.0f), l1));
    for (int i = 0; i < rows; ++i) {
      const v128_t iv = wasm_v128_load32_splat(inv + i);
      const float* oi = o + static_cast<size_t>(i) * hd;
      float* dst = out + static_cast<size_t>(i0 + i) * ldo;
      for (int c = 0; c < hd; c += 4)
        wasm_v128_store(dst + c, wasm_f32x4_mul(wasm_v128_load(oi + c), wasm_f32x4_mul(iv, wasm_v128_load(head.v_scale + c))));
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
