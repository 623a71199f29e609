// The numeric building blocks the forward pass is written in. model.cpp only calls these; which kernel runs
// underneath (plain C++ or WASM SIMD, one thread or many) is decided in ops.cpp, so kernels can be swapped
// without touching the model. Shapes are row-major; "rows" are tokens.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace vitrine {

class ThreadPool;  // threadpool.h; nullptr means run on the calling thread
struct Profile;    // profile.h; nullptr means not profiled

// A Linear layer as PyTorch stores it: weight [out, in], optional bias [out].
// `packed` is filled by prepare_linear() at load time with whatever layout the GEMM kernel wants; until then
// (and in the reference path) the plain weight is used.
// int8 weights: `qweight` [out, in] (|q| <= 127) with one f32 scale per output channel `wscale` [out] instead
// of `weight`; linear() then quantizes x per row on the fly and runs the integer GEMM (kernels.h).
struct Linear {
  const float* weight = nullptr;
  const float* bias = nullptr;
  int out = 0, in = 0;
  const int8_t* qweight = nullptr;
  const float* wscale = nullptr;
  std::shared_ptr<void> packed;  // kernel-owned packed panels (may alias the weight's own storage)
};

enum class Epilogue { None, GeluErf, Relu };

// Called once per Linear after the weights are in memory. May rewrite `weight_storage` in place (it is the
// linear's own slot in the weight stream: the f32 weight, or the int8 qweight) — after this, L.weight /
// L.qweight must not be read by anyone but ops. Returns the bytes it allocated beside that slot (packed copies,
// padded scales).
size_t prepare_linear(Linear& L, void* weight_storage);

// y[rows, out] = epilogue(x[rows, in] · Wᵀ + b). With int8 weights, quantizing x is the 'quantize' stage of `prof`.
// y may be x (in == out): every path reads all of x (packs, quantizes or copies it) before it writes y.
void linear(ThreadPool* pool, const float* x, int rows, const Linear& L, float* y, Epilogue ep = Epilogue::None,
            Profile* prof = nullptr);

// linear() in two steps, for a Linear whose outputs are wanted a few columns at a time (the attention's q, k, v
// one head at a time): x made ready for the GEMM once (packed, or quantized per row for int8 weights), then any
// column ranges of the same product, each bit-identical to those columns of linear().
struct LinearInput {
  int rows = 0, k = 0;
  std::unique_ptr<float[]> packed;    // f32 weights: x in 4-row blocks (kernels::gemm_pack_a)
  std::unique_ptr<int16_t[]> qa;      // int8 weights: x quantized per row (kernels::gemm_i8_quantize_a)
  std::unique_ptr<float[]> qscale;    // and its per-row scales
};
// Only for a prepared Linear (prepare_linear gave it packed panels).
void linear_input(ThreadPool* pool, const float* x, int rows, const Linear& L, LinearInput* in, Profile* prof = nullptr);
// y[rows, ranges·cols] = columns [col0[j], col0[j] + cols) of the Linear's output for j = 0 .. ranges - 1, side by
// side. Each col0[j] and cols are multiples of kernels::kGemmNR, or one range covers all outputs (col0 0, cols out).
void linear_columns(ThreadPool* pool, const LinearInput& in, const Linear& L, const int* col0, int ranges, int cols,
                    float* y, Epilogue ep = Epilogue::None);

// y = (x - mean) / sqrt(var + eps) * gamma + beta, per row of `dim`. x and y may alias.
void layernorm(ThreadPool* pool, const float* x, int rows, int dim, const float* gamma, const float* beta, float eps,
               float* y);

// Multi-head self-attention core. qkv: [tokens, 3*heads*head_dim] with q | k | v blocks per row (each block
// head-major: head h occupies columns [h*head_dim, (h+1)*head_dim)). out: [tokens, heads*head_dim], rows `ldo`
// floats apart (0: heads*head_dim).
// scratch: at least attention_scratch_floats(tokens, heads, head_dim, threads) floats.
// AttentionMath::Integer (models whose Linears are int8) runs both products in integers (kernels.h, "Integer
// attention"; head sizes it does not take run in f32).
enum class AttentionMath { Float, Integer };
size_t attention_scratch_floats(int tokens, int heads, int head_dim, int threads);
void attention(ThreadPool* pool, const float* qkv, int tokens, int heads, int head_dim, float* out, float* scratch,
               AttentionMath math = AttentionMath::Float, size_t ldo = 0);

// Elementwise helpers used outside GEMM epilogues.
void gelu_erf_inplace(float* x, size_t n);
void relu_inplace(float* x, size_t n);
// Activations of rare configs (hidden_act "gelu_new"/"gelu_pytorch_tanh", "silu", "quick_gelu"): plain loops, no
// SIMD twin.
void gelu_tanh_inplace(float* x, size_t n);
void silu_inplace(float* x, size_t n);
// x · sigmoid(1.702 x): HF's "quick_gelu" (CLIP).
void quick_gelu_inplace(float* x, size_t n);
// out[i] = silu(a[i]) * b[i]; SwiGLU's gate. a, b are rows of a [rows, 2*width] matrix: a = first half.
void swiglu_rows(const float* ab, int rows, int width, float* out);
// x[i] += s[i % dim] * y[i] (layer scale residual) when s != nullptr, else x[i] += y[i]. Rows split over the pool
// (a serial pass between two parallel regions would leave the other threads idle).
void residual_add(ThreadPool* pool, float* x, const float* y, const float* scale, int rows, int dim);

}  // namespace vitrine
