// Compute kernels behind ops.h. Each kernel exists as a plain C++ twin (`*_scalar`, file `<op>-scalar.cpp`,
// compiled everywhere) and, where it pays, an instruction-set version (`*_wasmsimd`, file `<op>-wasmsimd.cpp`,
// compiled only for wasm32 with -msimd128). Twins take the same arguments, read the same packed layouts and
// must agree to float rounding: kernel_check_main.cpp runs every twin against a double-precision reference on
// awkward shapes. ops.cpp picks the twin through the `dispatch` functions at the bottom.
//
// Kernels are single-threaded; ops.cpp splits work over the thread pool (by column panels, rows or heads) and
// hands each call its slice.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../ops.h"  // Epilogue

namespace vitrine {
namespace kernels {

// ---------------------------------------------------------------------------------------------------------
// GEMM: y[m, n] = epilogue(x[m, k] · Wᵀ + bias), W given as PyTorch's [n, k].
//
// W is packed once at load time into column panels of kNR = 8 output features: panel p holds, for every kk in
// [0, k), the 8 values W[8p + 0..7][kk] contiguously (k-major), so the micro-kernel reads 2 f32x4 per step.
// The last panel is zero-padded when n is not a multiple of 8. A panel is exactly the 8 rows of W it came
// from, transposed, so when n % 8 == 0 the packing can be done in place.
constexpr int kGemmNR = 8;  // output features per panel
constexpr int kGemmMR = 4;  // rows per micro-tile (= rows per packed-A block): 4x8 keeps 8 accumulators +
                            // 3 temporaries in x64's 16 vector registers

inline int gemm_panels(int n) { return (n + kGemmNR - 1) / kGemmNR; }
inline size_t gemm_packed_floats(int n, int k) { return static_cast<size_t>(gemm_panels(n)) * kGemmNR * k; }

// packed must hold gemm_packed_floats(n, k) floats and must not overlap w.
void gemm_pack(const float* w, int n, int k, float* packed);
// In place; requires n % 8 == 0. tmp: 8*k floats of scratch.
void gemm_pack_inplace(float* w, int n, int k, float* tmp);

// x is packed per call into blocks of 4 rows, interleaved: block b holds, for every kk, x[4b + 0..3][kk]
// (rows past m are zero). The micro-kernel then walks one pointer through A and one through the panel, with
// no integer work per step beyond two pointer adds (see microkernel-wasmsimd.h).
inline int gemm_row_blocks(int m) { return (m + 3) / 4; }
inline size_t gemm_packed_a_floats(int m, int k) { return static_cast<size_t>(gemm_row_blocks(m)) * 4 * k; }
// Packs row blocks [block_begin, block_end) of x (row stride ldx) into packed_a.
void gemm_pack_a_scalar(const float* x, size_t ldx, int m, int k, int block_begin, int block_end, float* packed_a);
void gemm_pack_a_wasmsimd(const float* x, size_t ldx, int m, int k, int block_begin, int block_end,
                          float* packed_a);

// One GEMM call: output columns of panels [panel_begin, panel_end), all m rows. The depth k may be a slice of
// the packed depth (K-blocking keeps A's slice in L2 and a panel slice in L1): `a` and `packed` then point at
// the slice's first k inside block / panel 0, and a_stride / panel_stride are 4·(full depth) / 8·(full
// depth). With `accumulate` the product is added to what y holds; bias (may be nullptr) and the epilogue are
// applied after that, so a blocked GEMM passes them only with its last slice.
struct GemmArgs {
  int m = 0, n = 0, k = 0;
  const float* a = nullptr;     // packed A (gemm_pack_a), at the slice's first k
  size_t a_stride = 0;          // floats between consecutive 4-row blocks
  const float* packed = nullptr;
  size_t panel_stride = 0;      // floats between consecutive panels
  const float* bias = nullptr;
  Epilogue ep = Epilogue::None;
  bool accumulate = false;
  float* y = nullptr;
  size_t ldy = 0;               // row stride of y in floats
};
void gemm_scalar(const GemmArgs& a, int panel_begin, int panel_end);
void gemm_wasmsimd(const GemmArgs& a, int panel_begin, int panel_end);

// ---------------------------------------------------------------------------------------------------------
// Attention for one head: out[i] = softmax(q_i · Kᵀ · scale) · V for query rows [q_begin, q_end).
// q points at the head's first column; its rows are `ld` floats apart (the qkv matrix row stride).
// Per head, K and V are packed once (attention_pack_k / _v) so both products run on the GEMM micro-kernel:
//   K in panel layout: 8 keys per panel, [ceil(T/8)][head_dim][8] (padding keys zero);
//   V in panel layout: [head_dim/8][T][8].
// Queries are taken 8 at a time, packed as two 4-query blocks of packed A ([2][head_dim][4]). Each (4-query
// block, key panel) pair gives a 4x8 score tile with the long, cheap loop over head_dim; it is transposed into
// a [keys][8 queries] tile, softmax runs down that tile (one lane per query), and the tile is then "packed A"
// (a_step 8) for P·V. head_dim must be a multiple of 8 (every supported checkpoint has 64); ops.cpp falls back
// to its plain loop otherwise. Only the tile is materialised, never the T × T matrix.
constexpr int kAttentionQueries = 8;  // queries per block
inline int attention_key_panels(int tokens) { return (tokens + 7) / 8; }
inline size_t attention_packed_k_floats(int tokens, int head_dim) {
  return static_cast<size_t>(attention_key_panels(tokens)) * 8 * head_dim;
}
inline size_t attention_packed_v_floats(int tokens, int head_dim) {
  return static_cast<size_t>(tokens) * head_dim;
}
// Scratch per call: the packed query block and the score tile.
inline size_t attention_tile_floats(int tokens, int head_dim) {
  return static_cast<size_t>(kAttentionQueries) * (head_dim + 8 * attention_key_panels(tokens));
}

void attention_pack_k(const float* k, size_t ld, int tokens, int head_dim, float* packed_k);
void attention_pack_v(const float* v, size_t ld, int tokens, int head_dim, float* packed_v);
void attention_rows_scalar(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                           int head_dim, float scale, int q_begin, int q_end, float* out, size_t ldo,
                           float* tile);
void attention_rows_wasmsimd(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                             int head_dim, float scale, int q_begin, int q_end, float* out, size_t ldo,
                             float* tile);

// ---------------------------------------------------------------------------------------------------------
// Softmax building block for row-major data: x[i] = exp(x[i] - max(x)) for i < n; returns the sum (the caller
// normalises). (Attention runs its own column-wise softmax on its score tile.)
float softmax_exp_scalar(float* x, int n);
float softmax_exp_wasmsimd(float* x, int n);

// ---------------------------------------------------------------------------------------------------------
// LayerNorm of `rows` rows of `dim`: biased variance, two passes (mean, then squared deviations). x == y ok.
void layernorm_scalar(const float* x, int rows, int dim, const float* gamma, const float* beta, float eps,
                      float* y);
void layernorm_wasmsimd(const float* x, int rows, int dim, const float* gamma, const float* beta, float eps,
                        float* y);

// ---------------------------------------------------------------------------------------------------------
// Elementwise activations.
void gelu_scalar(float* x, size_t n);     // exact erf GELU (std::erf)
void gelu_wasmsimd(float* x, size_t n);   // rational erf approximation, |err| < 1e-6
void relu_scalar(float* x, size_t n);
void relu_wasmsimd(float* x, size_t n);
// out[i] = silu(a[i]) * b[i] with a = ab[r*2w + i], b = ab[r*2w + w + i]
void swiglu_scalar(const float* ab, int rows, int width, float* out);
void swiglu_wasmsimd(const float* ab, int rows, int width, float* out);
// x[i] += (scale ? scale[i % dim] : 1) * y[i]
void residual_add_scalar(float* x, const float* y, const float* scale, int rows, int dim);
void residual_add_wasmsimd(float* x, const float* y, const float* scale, int rows, int dim);

// ---------------------------------------------------------------------------------------------------------
// SHA-256 of four messages of the same length (weight chunks at load), digest[l] for data[l]. The SIMD twin
// hashes one message per lane; the plain twin calls sha256() four times.
void sha256_x4_scalar(const uint8_t* const data[4], size_t size, uint8_t digest[4][32]);
void sha256_x4_wasmsimd(const uint8_t* const data[4], size_t size, uint8_t digest[4][32]);

// ---------------------------------------------------------------------------------------------------------
// The twin ops.cpp uses: the SIMD one when the build has WASM SIMD, else the plain C++ one (natively the
// compiler auto-vectorises the scalar twins, which are written with that in mind).
namespace dispatch {
#if defined(__wasm_simd128__)
#define VITRINE_KERNEL(name) name##_wasmsimd
#else
#define VITRINE_KERNEL(name) name##_scalar
#endif
inline void gemm_pack_a(const float* x, size_t ldx, int m, int k, int block_begin, int block_end, float* packed_a) {
  VITRINE_KERNEL(gemm_pack_a)(x, ldx, m, k, block_begin, block_end, packed_a);
}
inline void gemm(const GemmArgs& a, int panel_begin, int panel_end) {
  VITRINE_KERNEL(gemm)(a, panel_begin, panel_end);
}
inline void attention_rows(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                           int head_dim, float scale, int q_begin, int q_end, float* out, size_t ldo,
                           float* tile) {
  VITRINE_KERNEL(attention_rows)(q, packed_k, packed_v, ld, tokens, head_dim, scale, q_begin, q_end, out, ldo, tile);
}
inline void layernorm(const float* x, int rows, int dim, const float* gamma, const float* beta, float eps,
                      float* y) {
  VITRINE_KERNEL(layernorm)(x, rows, dim, gamma, beta, eps, y);
}
inline void gelu(float* x, size_t n) { VITRINE_KERNEL(gelu)(x, n); }
inline void relu(float* x, size_t n) { VITRINE_KERNEL(relu)(x, n); }
inline void swiglu(const float* ab, int rows, int width, float* out) { VITRINE_KERNEL(swiglu)(ab, rows, width, out); }
inline void residual_add(float* x, const float* y, const float* scale, int rows, int dim) {
  VITRINE_KERNEL(residual_add)(x, y, scale, rows, dim);
}
inline void sha256_x4(const uint8_t* const data[4], size_t size, uint8_t digest[4][32]) {
  VITRINE_KERNEL(sha256_x4)(data, size, digest);
}
#undef VITRINE_KERNEL
}  // namespace dispatch

}  // namespace kernels
}  // namespace vitrine
