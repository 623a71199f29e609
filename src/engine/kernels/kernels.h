// Compute kernels behind ops.h. Each kernel exists as a plain C++ twin (`*_scalar`, file `<op>-scalar.cpp`,
// compiled everywhere) and, where it pays, an instruction-set version (`*_wasmsimd`, file `<op>-wasmsimd.cpp`,
// compiled only for wasm32 with -msimd128). Twins take the same arguments, read the same packed layouts and
// must agree to float rounding: kernel_check_main.cpp runs every twin against a double-precision reference on
// awkward shapes. ops.cpp picks the twin through the `dispatch` functions at the bottom.
//
// Kernels are single-threaded; ops.cpp splits work over the thread pool (by column panels, rows or heads) and
// hands each call its slice.
#pragma once
#include <cmath>
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

// The epilogue on one value, as every plain twin applies it (GELU with std::erf).
inline float apply_epilogue(float v, Epilogue ep) {
  if (ep == Epilogue::GeluErf) return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
  if (ep == Epilogue::Relu) return v < 0.0f ? 0.0f : v;  // std::max(v, 0.0f)
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Integer GEMM for int8 weights: y[m, n] = epilogue(sa[m] · sw[n] · (qa[m, k] · qwᵀ) + bias).
//
// Weights: int8 [n, k] with one f32 scale per output channel (symmetric, |q| <= 127), given by the model.
// Activations: quantized per call, per row (token), symmetric: sa = max|x_row| / 127, qa = nearest(x / sa)
// (ties to even) clamped to [-127, 127]; an all-zero row gets sa = 0 and qa = 0.
// The products run on i32x4.dot_i16x8_s: one instruction multiplies 8 int16 pairs and adds adjacent products
// into 4 i32 lanes, so both operands are laid out by k-pairs (the depth is padded to kp = ceil(k/2) pairs
// with zeros):
//   packed W (int8, load time): panel p = 8 output channels; per pair kp the 16 bytes
//     W[8p + c][2kp + t] at c·2 + t (widened to two i16x8 in the kernel: channels 0-3 and 4-7);
//   packed A (int16, per call): block b = 4 rows; per pair kp the 8 values x[4b + r][2kp + t] at r·2 + t
//     (one 32-bit splat hands a row's pair to every lane).
// No i32 overflow: |qa|, |qw| <= 127, so one dot lane adds 2 products of at most 127² = 16129, and the whole
// sum over k is at most k · 16129 in magnitude: 6.6e7 at k = 4096 (ViT-g's MLP depth), < 2³¹ - 1 = 2.1e9
// up to k = 133143. The integer result is exact; twins must agree on it bit for bit.
// Error of the dequantized product against the exact one: with a = sa·(qa + ea), w = sw·(qw + ew), |ea|,
// |ew| <= 1/2 (round to nearest), a·w - sa·sw·qa·qw = sa·sw·(qa·ew + ea·qw + ea·ew), so
//   |Σ a·w - sa·sw·Σ qa·qw| <= sa·sw·Σ_k (|qa| + |qw| + 1/2) / 2 <= 127.25 · k · sa · sw
// (= k · max|a| · max|w| / 126.7), plus float rounding of the epilogue; kernel_check tests the per-element
// form against a double reference.
constexpr int kGemmI8KStep = 2;  // depth granule of both packed layouts (one dot_i16x8 pair)
inline int gemm_i8_depth(int k) { return (k + kGemmI8KStep - 1) / kGemmI8KStep * kGemmI8KStep; }
inline size_t gemm_i8_packed_bytes(int n, int k) {
  return static_cast<size_t>(gemm_panels(n)) * kGemmNR * gemm_i8_depth(k);
}
inline size_t gemm_i8_packed_a_values(int m, int k) {
  return static_cast<size_t>(gemm_row_blocks(m)) * 4 * gemm_i8_depth(k);
}

// Per-channel symmetric quantization of f32 weights [n, k] (scale = max|w| / 127, nearest): what a converter
// does; the engine itself receives int8 weights. q: n·k bytes, scale: n floats.
void quantize_weights_i8(const float* w, int n, int k, int8_t* q, float* scale);
// packed must hold gemm_i8_packed_bytes(n, k) bytes and must not overlap w.
void gemm_i8_pack(const int8_t* w, int n, int k, int8_t* packed);
// In place; requires n % 8 == 0 and k % 2 == 0 (then a panel is exactly its 8 rows). tmp: 8*k bytes.
void gemm_i8_pack_inplace(int8_t* w, int n, int k, int8_t* tmp);

// Quantizes row blocks [block_begin, block_end) of x (row stride ldx) into packed_a, and each row's scale
// into scales[row] (scales holds 4·gemm_row_blocks(m) floats; padding rows get 0). Twins must produce
// identical bytes.
void gemm_i8_quantize_a_scalar(const float* x, size_t ldx, int m, int k, int block_begin, int block_end,
                               int16_t* packed_a, float* scales);
void gemm_i8_quantize_a_wasmsimd(const float* x, size_t ldx, int m, int k, int block_begin, int block_end,
                                 int16_t* packed_a, float* scales);

// One call: output columns of panels [panel_begin, panel_end), all m rows, the whole depth (an int8 panel
// is 8·k bytes: 24 KiB even at k = 3072, so no depth slicing). Dequantization (sa·sw), bias and the epilogue
// are fused into the store: y = epilogue(float(acc) · (sa[r] · sw[c]) + bias[c]), in that order in every twin.
struct GemmI8Args {
  int m = 0, n = 0, k = 0;           // k: the real depth (the packed layouts use gemm_i8_depth(k))
  const int16_t* a = nullptr;        // packed A (gemm_i8_quantize_a)
  const float* a_scale = nullptr;    // per row, m entries
  const int8_t* packed = nullptr;    // packed W (gemm_i8_pack)
  const float* w_scale = nullptr;    // per output channel, padded to gemm_panels(n)·8 entries
  const float* bias = nullptr;
  Epilogue ep = Epilogue::None;
  float* y = nullptr;
  size_t ldy = 0;
};
void gemm_i8_scalar(const GemmI8Args& a, int panel_begin, int panel_end);
void gemm_i8_wasmsimd(const GemmI8Args& a, int panel_begin, int panel_end);

// ---------------------------------------------------------------------------------------------------------
// Attention for one head: out[i] = softmax(q_i · Kᵀ · scale) · V for query rows [q_begin, q_end).
// q points at the head's first column; its rows are `ld` floats apart (the qkv matrix row stride).
// Per head, K and V are packed once (attention_pack_k / _v) so both products run on the GEMM micro-kernel:
//   K in panel layout: 8 keys per panel, [ceil(T/8)][head_dim][8] (padding keys zero);
//   V in panel layout: [head_dim/8][T][8].
// Queries are taken 8 at a time, packed as two 4-query blocks of packed A ([2][head_dim][4]). Keys are taken
// `key_tile` at a time (a multiple of 8; 0 = all keys in one tile). Each (4-query block, key panel) pair gives
// a 4x8 score tile with the long, cheap loop over head_dim; it is transposed into a [keys][8 queries] tile,
// softmax runs down that tile (one lane per query), and the tile is then "packed A" (a_step 8) for P·V.
// With several key tiles the softmax is online (flash-attention style): a running max m and sum l per query;
// each tile rescales l and the output accumulator by alpha = exp(m_old - m_new) before adding its own part, and
// 1/l is applied once at the end. With one tile nothing is rescaled: the plain stable softmax, op for op.
// head_dim must be a multiple of 8 (every supported checkpoint has 64); ops.cpp falls back to its plain loop
// otherwise. Only the tile is materialised, never the T × T matrix.
constexpr int kAttentionQueries = 8;  // queries per block
inline int attention_key_panels(int tokens) { return (tokens + 7) / 8; }
// The keys per tile a call uses: key_tile, or every key (rounded up to whole panels) when key_tile is 0 or
// covers them all.
inline int attention_key_tile(int tokens, int key_tile) {
  return key_tile <= 0 || key_tile >= tokens ? 8 * attention_key_panels(tokens) : key_tile;
}
inline size_t attention_packed_k_floats(int tokens, int head_dim) {
  return static_cast<size_t>(attention_key_panels(tokens)) * 8 * head_dim;
}
inline size_t attention_packed_v_floats(int tokens, int head_dim) {
  return static_cast<size_t>(tokens) * head_dim;
}
// Scratch per call: the packed query block, the output accumulator and the score tile.
inline size_t attention_tile_floats(int tokens, int head_dim, int key_tile) {
  return static_cast<size_t>(kAttentionQueries) * (2 * head_dim + attention_key_tile(tokens, key_tile));
}

void attention_pack_k(const float* k, size_t ld, int tokens, int head_dim, float* packed_k);
void attention_pack_v(const float* v, size_t ld, int tokens, int head_dim, float* packed_v);
void attention_rows_scalar(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                           int head_dim, float scale, int key_tile, int q_begin, int q_end, float* out, size_t ldo,
                           float* tile);
void attention_rows_wasmsimd(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                             int head_dim, float scale, int key_tile, int q_begin, int q_end, float* out, size_t ldo,
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
inline void gemm_i8_quantize_a(const float* x, size_t ldx, int m, int k, int block_begin, int block_end,
                               int16_t* packed_a, float* scales) {
  VITRINE_KERNEL(gemm_i8_quantize_a)(x, ldx, m, k, block_begin, block_end, packed_a, scales);
}
inline void gemm_i8(const GemmI8Args& a, int panel_begin, int panel_end) {
  VITRINE_KERNEL(gemm_i8)(a, panel_begin, panel_end);
}
inline void attention_rows(const float* q, const float* packed_k, const float* packed_v, size_t ld, int tokens,
                           int head_dim, float scale, int key_tile, int q_begin, int q_end, float* out, size_t ldo,
                           float* tile) {
  VITRINE_KERNEL(attention_rows)(q, packed_k, packed_v, ld, tokens, head_dim, scale, key_tile, q_begin, q_end, out,
                                 ldo, tile);
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
