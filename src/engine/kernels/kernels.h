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
constexpr int kGemmMR = 4;  // rows per micro-tile: 4x8 keeps 8 accumulators + 3 temporaries in 16 registers

inline int gemm_panels(int n) { return (n + kGemmNR - 1) / kGemmNR; }
inline size_t gemm_packed_floats(int n, int k) { return static_cast<size_t>(gemm_panels(n)) * kGemmNR * k; }

// packed must hold gemm_packed_floats(n, k) floats and must not overlap w.
void gemm_pack(const float* w, int n, int k, float* packed);
// In place; requires n % 8 == 0. tmp: 8*k floats of scratch.
void gemm_pack_inplace(float* w, int n, int k, float* tmp);

// One GEMM call: output columns of panels [panel_begin, panel_end), all m rows. The depth k may be a slice of
// the packed depth (K-blocking keeps x's slice in L2 and a panel slice in L1): `packed` then points at the
// slice's first row inside panel 0 and panel_stride is 8·(full depth). With `accumulate` the product is added
// to what y holds; bias (may be nullptr) and the epilogue are applied after that, so a blocked GEMM passes
// them only with its last slice.
struct GemmArgs {
  int m = 0, n = 0, k = 0;
  const float* x = nullptr;
  size_t ldx = 0;               // row stride of x in floats
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
// q points at the head's first column; rows are `ld` floats apart (the qkv matrix row stride).
// K is first packed per head into 8-key panels (same layout as gemm_pack): attention_pack_k; V into 8-channel
// panels [head_dim/8][tokens][8] (attention_pack_v) so that P·V streams through contiguous memory instead of
// touching one cache line per token at the qkv row stride. head_dim must be a multiple of 8 (every supported
// checkpoint has 64); ops.cpp falls back to its plain loop otherwise.
inline int attention_key_pad(int tokens) { return (tokens + 7) / 8 * 8; }
inline size_t attention_packed_k_floats(int tokens, int head_dim) {
  return static_cast<size_t>(attention_key_pad(tokens)) * head_dim;
}
inline size_t attention_packed_v_floats(int tokens, int head_dim) {
  return static_cast<size_t>(tokens) * head_dim;
}
// Score tile: kGemmMR query rows x padded keys.
inline size_t attention_tile_floats(int tokens) {
  return static_cast<size_t>(kGemmMR) * attention_key_pad(tokens);
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
// Softmax building block: x[i] = exp(x[i] - max(x)) for i < n; returns the sum (the caller normalises, which
// attention folds into its output scaling).
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
// The twin ops.cpp uses: the SIMD one when the build has WASM SIMD, else the plain C++ one (natively the
// compiler auto-vectorises the scalar twins, which are written with that in mind).
namespace dispatch {
#if defined(__wasm_simd128__)
#define VITRINE_KERNEL(name) name##_wasmsimd
#else
#define VITRINE_KERNEL(name) name##_scalar
#endif
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
#undef VITRINE_KERNEL
}  // namespace dispatch

}  // namespace kernels
}  // namespace vitrine
