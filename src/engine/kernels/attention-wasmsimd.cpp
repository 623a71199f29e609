// WASM SIMD fused attention (same algorithm and tile as attention-scalar.cpp). Both matrix products use the
// GEMM's 4x8 register-tile micro-kernel (microkernel-wasmsimd.h): QKᵀ broadcasts q values against packed
// 8-key panels of K; P·V broadcasts probabilities against packed 8-channel panels of V.
#include <algorithm>
#include <wasm_simd128.h>

#include "kernels.h"
#include "math-wasmsimd.h"
#include "microkernel-wasmsimd.h"

namespace vitrine {
namespace kernels {

namespace {

// scores[r][8p..8p+7] for MR query rows against key panel kp (the GEMM micro-kernel with k = head_dim).
template <int MR>
inline void score_tile(const float* q, size_t ld, const float* kp, int head_dim, float scale, float* t, int kpad) {
  v128_t acc[MR][2];
  simd::microkernel<MR>(acc, head_dim, q, ld, kp);
  const v128_t s = wasm_f32x4_splat(scale);
  for (int r = 0; r < MR; ++r) {
    wasm_v128_store(t + r * kpad, wasm_f32x4_mul(acc[r][0], s));
    wasm_v128_store(t + r * kpad + 4, wasm_f32x4_mul(acc[r][1], s));
  }
}

// out[r][c0..c0+7] = inv[r] · Σ_j tile[r][j] · v[j][c0..c0+7] (the micro-kernel with k = tokens).
template <int MR>
inline void pv_tile(const float* t, int kpad, const float* vp, int tokens, const float* inv, float* o, size_t ldo) {
  v128_t acc[MR][2];
  simd::microkernel<MR>(acc, tokens, t, kpad, vp);
  for (int r = 0; r < MR; ++r) {
    const v128_t s = wasm_f32x4_splat(inv[r]);
    wasm_v128_store(o + r * ldo, wasm_f32x4_mul(acc[r][0], s));
    wasm_v128_store(o + r * ldo + 4, wasm_f32x4_mul(acc[r][1], s));
  }
}

template <int MR>
void block(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens, int head_dim, float scale,
           float* out, size_t ldo, float* tile) {
  const int kpad = attention_key_pad(tokens);
  for (int p = 0; p < kpad / kGemmNR; ++p) {
    score_tile<MR>(q, ld, packed_k + static_cast<size_t>(p) * head_dim * kGemmNR, head_dim, scale,
                   tile + p * kGemmNR, kpad);
  }
  float inv[MR];
  for (int r = 0; r < MR; ++r) inv[r] = 1.0f / softmax_exp_wasmsimd(tile + r * kpad, tokens);
  for (int p = 0; p < head_dim / kGemmNR; ++p) {
    pv_tile<MR>(tile, kpad, packed_v + static_cast<size_t>(p) * tokens * kGemmNR, tokens, inv, out + p * kGemmNR,
                ldo);
  }
}

}  // namespace

void attention_rows_wasmsimd(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                             int head_dim, float scale, int q_begin, int q_end, float* out, size_t ldo,
                             float* tile) {
  int i = q_begin;
  for (; i + 4 <= q_end; i += 4) {
    block<4>(q + i * ld, packed_k, packed_v, ld, tokens, head_dim, scale, out + i * ldo, ldo, tile);
  }
  switch (q_end - i) {
    case 3: block<3>(q + i * ld, packed_k, packed_v, ld, tokens, head_dim, scale, out + i * ldo, ldo, tile); break;
    case 2: block<2>(q + i * ld, packed_k, packed_v, ld, tokens, head_dim, scale, out + i * ldo, ldo, tile); break;
    case 1: block<1>(q + i * ld, packed_k, packed_v, ld, tokens, head_dim, scale, out + i * ldo, ldo, tile); break;
    default: break;
  }
}

}  // namespace kernels
}  // namespace vitrine
