// Plain C++ twin of the integer attention kernel (layouts, bit widths and overflow bounds: kernels.h), and the
// per-head K/V quantization both twins share. Per block of 8 queries: the block quantized per query (the int8
// GEMM's quantizer at qmax kAttentionI8QK), then per key tile: integer scores against the tile's K panels,
// dequantized into a [keys][8] f32 tile in log2 units; the online softmax down each column, the numerators
// P in [0, 32767] from the SIMD twin's polynomial (Exp2P) and summed as integers into l; P · V in i32 over
// chunks of at most kAttentionI8PvKeys keys, each converted to f32 and added in key order; o rescaled by
// alpha between tiles. Every float operation appears here in the SIMD twin's order (there is no FMA to
// contract into on wasm32 or baseline x86-64), so the two agree bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.h"

namespace vitrine {
namespace kernels {

namespace {

// 2^n from vn = n + a magic of 1.5·2²³ + 127, whose low mantissa bits then hold n + 127: those bits shifted
// into the exponent field (the SIMD twins' i32x4.shl by 23).
float pow2_of_magic(float vn) {
  uint32_t bits;
  std::memcpy(&bits, &vn, 4);
  bits <<= 23;
  float two_n;
  std::memcpy(&two_n, &bits, 4);
  return two_n;
}

// simd::exp, one lane at a time (same constants, same operations in the same order).
float exp_poly(float x) {
  using E = ExpPoly;
  x = std::min(std::max(x, E::kMin), E::kMax);
  const float vn = x * E::kLog2e + E::kMagic;
  const float two_n = pow2_of_magic(vn);
  const float n = vn - E::kMagic;
  float r = x - n * E::kLn2Hi;
  r = r - n * E::kLn2Lo;
  float p = E::kC0;
  p = p * r + E::kC1;
  p = p * r + E::kC2;
  p = p * r + E::kC3;
  p = p * r + E::kC4;
  p = p * r + E::kC5;
  p = p * (r * r) + (r + 1.0f);
  return p * two_n;
}

// The SIMD twin's p_of, one lane at a time: P = nearest(min(32767 · 2^y, 32767)) for y = s - m <= 0 in log2
// units (Exp2P, same operations in the same order).
int16_t p_of(float y) {
  using E = Exp2P;
  y = std::max(y, E::kMin);
  const float vn = y + E::kMagic;
  const float two_n = pow2_of_magic(vn);
  const float f = y - (vn - E::kMagic);
  float q = E::kC5;
  q = q * f + E::kC4;
  q = q * f + E::kC3;
  q = q * f + E::kC2;
  q = q * f + E::kC1;
  q = q * f + E::kC0;
  const float v = std::min(q * two_n, static_cast<float>(kAttentionI8P));
  return static_cast<int16_t>(std::nearbyint(v));
}

}  // namespace

AttentionI8Head attention_i8_head(int tokens, int head_dim, float* packed_k, float* packed_v) {
  AttentionI8Head h;
  h.tokens = tokens;
  h.head_dim = head_dim;
  const size_t keys = static_cast<size_t>(attention_key_panels(tokens)) * 8;
  h.k = reinterpret_cast<int16_t*>(packed_k);
  h.k_scale = packed_k + keys * head_dim / 2;
  h.v = reinterpret_cast<int16_t*>(packed_v);
  h.v_scale = packed_v + static_cast<size_t>(head_dim) * ((tokens + 1) / 2);
  return h;
}

void attention_i8_pack_k(const float* k, size_t ld, const AttentionI8Head& head) {
  // Key j, channel c -> k[(j / 8) · 8·hd + (c / 2) · 16 + (j % 8) · 2 + c % 2]; padding keys are zero.
  const int hd = head.head_dim;
  const float lim = static_cast<float>(kAttentionI8QK);
  for (int j = 0; j < attention_key_panels(head.tokens) * 8; ++j) {
    int16_t* dst = head.k + static_cast<size_t>(j / 8) * 8 * hd + (j % 8) * 2;
    if (j >= head.tokens) {
      head.k_scale[j] = 0.0f;
      for (int c = 0; c < hd; ++c) dst[(c / 2) * 16 + c % 2] = 0;
      continue;
    }
    const float* src = k + static_cast<size_t>(j) * ld;
    float mx = 0.0f;
    for (int c = 0; c < hd; ++c) mx = std::max(mx, std::fabs(src[c]));
    const float inv = mx > 0.0f ? lim / mx : 0.0f;
    head.k_scale[j] = mx / lim;
    for (int c = 0; c < hd; ++c) dst[(c / 2) * 16 + c % 2] = static_cast<int16_t>(quantize_nearest(src[c], inv, lim));
  }
}

void attention_i8_pack_v(const float* v, size_t ld, const AttentionI8Head& head) {
  // Token j, channel c -> v[(c / 8) · 16·ceil(T/2) + (j / 2) · 16 + (c % 8) · 2 + j % 2]; an odd T's padding
  // token is zero. Both passes walk the tokens row by row (the rows are 3·D floats apart).
  const int hd = head.head_dim, tokens = head.tokens, pairs = (tokens + 1) / 2;
  const float lim = static_cast<float>(kAttentionI8V);
  float mx[kAttentionI8MaxHeadDim] = {}, inv[kAttentionI8MaxHeadDim];
  for (int j = 0; j < tokens; ++j)
    for (int c = 0; c < hd; ++c) mx[c] = std::max(mx[c], std::fabs(v[static_cast<size_t>(j) * ld + c]));
  for (int c = 0; c < hd; ++c) {
    inv[c] = mx[c] > 0.0f ? lim / mx[c] : 0.0f;
    head.v_scale[c] = mx[c] / lim;
  }
  for (int j = 0; j < 2 * pairs; ++j) {
    const float* src = v + static_cast<size_t>(std::min(j, tokens - 1)) * ld;
    for (int c = 0; c < hd; ++c)
      head.v[static_cast<size_t>(c / 8) * 16 * pairs + (j / 2) * 16 + (c % 8) * 2 + j % 2] =
          static_cast<int16_t>(j < tokens ? quantize_nearest(src[c], inv[c], lim) : 0);
  }
}

void attention_i8_rows_scalar(const float* q, size_t ld, const AttentionI8Head& head, float scale, int key_tile,
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
    gemm_i8_quantize_a_scalar(q + static_cast<size_t>(i0) * ld, ld, rows, hd, 0, 2, qa, qs, kAttentionI8QK);
    for (int i = 0; i < Q; ++i) qs[i] = qs[i] * scale_log2;
    float m[Q], l[Q];
    for (int j0 = 0; j0 < tokens; j0 += kt_max) {
      const int kt = std::min(kt_max, tokens - j0), panels = (kt + 7) / 8, pairs = (kt + 1) / 2;
      const bool first = j0 == 0;
      // 1. integer scores of the tile, dequantized: float(acc) · (sq · scale · log2 e · sk)
      for (int h = 0; h < 2; ++h) {
        const int16_t* a = qa + static_cast<size_t>(h) * 4 * hd;
        for (int p = 0; p < panels; ++p) {
          const int16_t* kp = head.k + static_cast<size_t>(j0 / 8 + p) * 8 * hd;
          int32_t acc[4][8] = {};
          for (int c2 = 0; c2 < hd / 2; ++c2)
            for (int r = 0; r < 4; ++r)
              for (int jj = 0; jj < 8; ++jj)
                for (int t = 0; t < 2; ++t) acc[r][jj] += int32_t(a[c2 * 8 + r * 2 + t]) * kp[c2 * 16 + jj * 2 + t];
          for (int r = 0; r < 4; ++r)
            for (int jj = 0; jj < 8; ++jj)
              s[(8 * p + jj) * Q + 4 * h + r] =
                  static_cast<float>(acc[r][jj]) * (qs[4 * h + r] * head.k_scale[j0 + 8 * p + jj]);
        }
      }
      // 2. online softmax; the numerators become P, their integer sum the tile's part of l
      float alpha[Q];
      for (int i = 0; i < Q; ++i) {
        float mx = s[i];
        for (int j = 1; j < kt; ++j) mx = std::max(mx, s[j * Q + i]);
        if (!first) {
          mx = std::max(m[i], mx);
          alpha[i] = exp_poly((m[i] - mx) * Exp2P::kLn2);
        }
        m[i] = mx;
        int32_t sum = 0;
        for (int j = 0; j < 2 * pairs; ++j) {
          const int16_t pj = j < kt ? p_of(s[j * Q + i] - mx) : 0;
          pt[(j / 2) * 16 + i * 2 + j % 2] = pj;
          sum += pj;
        }
        l[i] = first ? static_cast<float>(sum) : l[i] * alpha[i] + static_cast<float>(sum);
      }
      // 3. o = o · alpha + Σ_chunks float(P · qV)
      for (int i = 0; i < rows; ++i) {
        float* oi = o + static_cast<size_t>(i) * hd;
        for (int p = 0; p < hd / kGemmNR; ++p) {
          const int16_t* vp = head.v + (static_cast<size_t>(p) * pairs_v + j0 / 2) * 16;
          float f[kGemmNR];
          for (int c0 = 0; c0 < kt; c0 += kAttentionI8PvKeys) {
            const int n2 = (std::min(kAttentionI8PvKeys, kt - c0) + 1) / 2;
            int32_t acc[kGemmNR] = {};
            for (int jp = c0 / 2; jp < c0 / 2 + n2; ++jp)
              for (int c = 0; c < kGemmNR; ++c)
                for (int t = 0; t < 2; ++t) acc[c] += int32_t(pt[jp * 16 + i * 2 + t]) * vp[jp * 16 + c * 2 + t];
            for (int c = 0; c < kGemmNR; ++c) f[c] = c0 == 0 ? static_cast<float>(acc[c]) : f[c] + static_cast<float>(acc[c]);
          }
          for (int c = 0; c < kGemmNR; ++c) oi[p * kGemmNR + c] = first ? f[c] : oi[p * kGemmNR + c] * alpha[i] + f[c];
        }
      }
    }
    // 4. out = o · (1/l · sv)
    for (int i = 0; i < rows; ++i) {
      const float inv = 1.0f / l[i];
      float* dst = out + static_cast<size_t>(i0 + i) * ldo;
      for (int c = 0; c < hd; ++c) dst[c] = o[static_cast<size_t>(i) * hd + c] * (inv * head.v_scale[c]);
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
