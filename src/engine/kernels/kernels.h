// Compute kernels behind ops.h. Each kernel exists as a plain C++ twin (`*_scalar`, file `<op>-scalar.cpp`,
// compiled everywhere) and, where it pays, an instruction-set version (`*_wasmsimd`, file `<op>-wasmsimd.cpp`,
// compiled only for wasm32 with -msimd128). Twins take the same arguments, read the same packed layouts and
// must agree to float rounding: kernel_check_main.cpp runs every twin against a double-precision reference on
// awkward shapes. ops.cpp picks the twin through the `dispatch` functions at the bottom.
//
// Kernels are single-threaded; ops.cpp splits work over the thread pool (by column panels, rows or heads) and
// hands each call its slice.
#pragma once
#include <algorithm>
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

// Symmetric quantization of one value: nearest(x · inv) (ties to even, std::nearbyint in the default rounding
// mode, which is also what the SIMD twins' 1.5·2²³ trick computes) of x · inv clamped to ±qmax. Every
// quantizer of the int8 GEMM and the integer attention rounds through this (or its SIMD equal).
inline int quantize_nearest(float x, float inv, float qmax) {
  const float v = std::min(std::max(x * inv, -qmax), qmax);
  return static_cast<int>(std::nearbyint(v));
}
constexpr int kGemmI8Max = 127;  // |qa| and |qw| of the int8 GEMM

// Per-channel symmetric quantization of f32 weights [n, k] (scale = max|w| / 127, nearest): what a converter
// does; the engine itself receives int8 weights. q: n·k bytes, scale: n floats.
void quantize_weights_i8(const float* w, int n, int k, int8_t* q, float* scale);
// packed must hold gemm_i8_packed_bytes(n, k) bytes and must not overlap w.
void gemm_i8_pack(const int8_t* w, int n, int k, int8_t* packed);
// In place; requires n % 8 == 0 and k % 2 == 0 (then a panel is exactly its 8 rows). tmp: 8*k bytes.
void gemm_i8_pack_inplace(int8_t* w, int n, int k, int8_t* tmp);

// Quantizes row blocks [block_begin, block_end) of x (row stride ldx) into packed_a, and each row's scale
// into scales[row] (scales holds 4·gemm_row_blocks(m) floats; padding rows get 0): scale = max|x_row| / qmax,
// values nearest(x · (qmax / max|x_row|)) in [-qmax, qmax]. qmax is kGemmI8Max for the GEMM; the integer
// attention quantizes its queries with more bits (kAttentionI8QK, at most 32767). Twins must produce
// identical bytes.
void gemm_i8_quantize_a_scalar(const float* x, size_t ldx, int m, int k, int block_begin, int block_end,
                               int16_t* packed_a, float* scales, int qmax);
void gemm_i8_quantize_a_wasmsimd(const float* x, size_t ldx, int m, int k, int block_begin, int block_end,
                                 int16_t* packed_a, float* scales, int qmax);

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
// Integer attention for models whose Linears are int8: the same blocks, key tiles and online softmax as the
// f32 kernel above, with both products on i32x4.dot_i16x8_s (int16 pairs, like the int8 GEMM).
//   Q·Kᵀ: q and k quantized per token (per head), symmetric, to ±kAttentionI8QK (12 bits: free, since both
//     operands are int16 anyway, and 16x finer than the int8 range);
//     score = float(Σ qq·qk) · (sq·scale·log2 e · sk).
//     |Σ qq·qk| <= head_dim · 2047² = 2.7e8 at head_dim 64; < 2³¹ - 1 up to head_dim 512
//     (kAttentionI8MaxHeadDim; ops.cpp runs the f32 kernel above that).
//   softmax in f32 down the tile columns, online over key tiles, on scores in log2 units (log2 e folded into
//     the query scale); P = nearest(2^(s - m) · 32767) in [0, 32767] straight from one polynomial (Exp2P;
//     the plain twin evaluates it too, so both see the same bits). 15 bits: every weight down to 1.5e-5 of
//     the row's largest survives, and 2 int16 keys per dot lane need P < 2¹⁵. The row sum l is the integer
//     Σ P of each tile (exact), so the output is exactly the P-weighted mean of the quantized V.
//   P·V: v quantized per head-dim channel over all tokens to ±kAttentionI8V (int8 range): a channel's scale sv
//     is the same for every token, so it factors out of the sum over tokens, Σ_j P_j · sv · qv_j = sv · Σ_j
//     P_j · qv_j (a per-token scale would not). |Σ P·qv| <= keys · 32767 · 127 = keys · 4.16e6, < 2³¹ - 1 for
//     <= 516 keys: the i32 sums run over at most kAttentionI8PvKeys = 512 keys, then go to f32 (chunks added
//     in key order). out = o · (1/l · sv).
// Both twins run the same float operations in the same order on the same integers: their outputs are
// identical bit for bit (vitrine-kernel-check compares them with memcmp). Error against f32 attention
// (docs/KERNELS.md "Integer attention"): per score |Δs| <= scale · sq · sk · Σ_c (|qq_c| + |qk_c| + 1/2) / 2
// (the GEMM's bound), per output sv/2 from V plus the weight error ½·range(v)·Σ_j|Δw_j|.
//
// Layouts (int16): K in panels of 8 keys by head_dim pairs, [ceil(T/8)][head_dim/2][8 keys][2] (the int8
// GEMM's weight panel layout), with one scale per key (padding keys 0); V as [head_dim/8][ceil(T/2)][8
// channels][2 keys] (an odd T's last pair padded with a zero key), with one scale per channel; the query block
// as the GEMM's packed A (gemm_i8_quantize_a, qmax kAttentionI8QK); the P tile as [keys/2][8 queries][2].
constexpr int kAttentionI8QK = 2047;
constexpr int kAttentionI8P = 32767;
constexpr int kAttentionI8V = 127;
constexpr int kAttentionI8MaxHeadDim = 512;
constexpr int kAttentionI8PvKeys = INT32_MAX / (kAttentionI8P * kAttentionI8V) / 8 * 8;  // 512
static_assert(int64_t(kAttentionI8MaxHeadDim) * kAttentionI8QK * kAttentionI8QK <= INT32_MAX, "Q·K overflows i32");
static_assert(int64_t(kAttentionI8PvKeys) * kAttentionI8P * kAttentionI8V <= INT32_MAX, "P·V overflows i32");
static_assert(kAttentionI8PvKeys % 8 == 0, "P·V chunks are whole key pairs inside a key tile");
inline bool attention_i8_supported(int head_dim) {
  return head_dim % kGemmNR == 0 && head_dim <= kAttentionI8MaxHeadDim;
}
// Scratch in floats (int16 regions take half a float per value): packed K + per-key scales; packed V + per-
// channel scales; per call, the quantized query block, its scales, the output accumulator, the score tile and
// the P tile.
inline size_t attention_i8_packed_k_floats(int tokens, int head_dim) {
  return static_cast<size_t>(attention_key_panels(tokens)) * 8 * (head_dim / 2 + 1);
}
inline size_t attention_i8_packed_v_floats(int tokens, int head_dim) {
  return static_cast<size_t>(head_dim) * ((tokens + 1) / 2 + 1);
}
inline size_t attention_i8_tile_floats(int tokens, int head_dim, int key_tile) {
  const size_t kt = attention_key_tile(tokens, key_tile);
  return static_cast<size_t>(kAttentionQueries) * (head_dim / 2 + 1 + head_dim + kt + kt / 2);
}

// How both twins cut a call's tile: the quantized query block [2][hd/2][4][2] (int16) and its 8 scales (·
// 1/√d), the output accumulator [8][hd], the score tile [kt_max][8] and the P tile [kt_max/2][8][2] (int16).
struct AttentionI8Tile {
  int16_t* qa;
  float *qs, *o, *s;
  int16_t* p;
};
inline AttentionI8Tile attention_i8_tile(float* tile, int head_dim, int kt_max) {
  AttentionI8Tile t;
  t.qa = reinterpret_cast<int16_t*>(tile);
  t.qs = tile + static_cast<size_t>(kAttentionQueries) * head_dim / 2;
  t.o = t.qs + kAttentionQueries;
  t.s = t.o + static_cast<size_t>(kAttentionQueries) * head_dim;
  t.p = reinterpret_cast<int16_t*>(t.s + static_cast<size_t>(kt_max) * kAttentionQueries);
  return t;
}

// One head's packed K and V (attention_i8_pack_k / _v write them; the rows call reads them).
struct AttentionI8Head {
  int tokens = 0, head_dim = 0;
  int16_t* k = nullptr;
  float* k_scale = nullptr;  // attention_key_panels(tokens) · 8 entries
  int16_t* v = nullptr;
  float* v_scale = nullptr;  // head_dim entries
};
// Points head's arrays into packed_k / packed_v (attention_i8_packed_k_floats / _v_floats each).
AttentionI8Head attention_i8_head(int tokens, int head_dim, float* packed_k, float* packed_v);
void attention_i8_pack_k(const float* k, size_t ld, const AttentionI8Head& head);
void attention_i8_pack_v(const float* v, size_t ld, const AttentionI8Head& head);
void attention_i8_rows_scalar(const float* q, size_t ld, const AttentionI8Head& head, float scale, int key_tile,
                              int q_begin, int q_end, float* out, size_t ldo, float* tile);
void attention_i8_rows_wasmsimd(const float* q, size_t ld, const AttentionI8Head& head, float scale, int key_tile,
                                int q_begin, int q_end, float* out, size_t ldo, float* tile);

// exp(x) as both twins of the integer attention evaluate it (and simd::exp everywhere): Cephes-style, x
// clamped to [kMin, kMax], x = n·ln2 + r, degree-6 polynomial in r, 2^n put into the exponent bits.
struct ExpPoly {
  static constexpr float kMin = -87.0f, kMax = 88.0f;
  static constexpr float kMagic = 12583039.0f;  // 1.5·2²³ + 127 (the exponent bias): 0x1.8000FEp23
  static constexpr float kLog2e = 1.44269504088896341f;
  static constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;  // ln2 split: n·kLn2Hi is exact
  static constexpr float kC0 = 1.9875691500e-4f, kC1 = 1.3981999507e-3f, kC2 = 8.3334519073e-3f,
                         kC3 = 4.1665795894e-2f, kC4 = 1.6666665459e-1f, kC5 = 5.0000001201e-1f;
};

// The integer attention's softmax numerators: P = nearest(min(32767 · 2^y, 32767)) for y = s - m <= 0, the
// scores being in log2 units (log2 e folded into the query scale, so exp(x) = 2^(x·log2 e) costs no multiply
// and no ln2 reduction). y clamped to kMin, y = n + f with n = nearest(y) by adding kMagic (1.5·2²³ + 127: the
// low mantissa bits then hold n + 127, which shifted into the exponent field is 2^n) and |f| <= 1/2, then
// 32767 · 2^f by a degree-5 polynomial (relative-error fit on [-1/2, 1/2]: 1.6e-7 in float, 0.005 of a P
// step; exp() of ExpPoly is 2 ulp). Both twins evaluate it with the same operations in the same order. The
// rescale between key tiles, 2^(m_old - m_new), is exp((m_old - m_new) · kLn2).
struct Exp2P {
  static constexpr float kMin = -30.0f;  // 32767 · 2^-30 < 1/2: P is 0 from well above here down
  static constexpr float kMagic = ExpPoly::kMagic;  // 1.5·2²³ + 127, as in ExpPoly
  static constexpr float kLog2e = ExpPoly::kLog2e, kLn2 = 0.693147180559945309f;
  static constexpr float kC0 = 32767.001953125f, kC1 = 22712.345703125f, kC2 = 7871.328125f,
                         kC3 = 1818.80224609375f, kC4 = 317.0384826660156f, kC5 = 43.503013610839844f;
};

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
                               int16_t* packed_a, float* scales, int qmax) {
  VITRINE_KERNEL(gemm_i8_quantize_a)(x, ldx, m, k, block_begin, block_end, packed_a, scales, qmax);
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
inline void attention_i8_rows(const float* q, size_t ld, const AttentionI8Head& head, float scale, int key_tile,
                              int q_begin, int q_end, float* out, size_t ldo, float* tile) {
  VITRINE_KERNEL(attention_i8_rows)(q, ld, head, scale, key_tile, q_begin, q_end, out, ldo, tile);
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
