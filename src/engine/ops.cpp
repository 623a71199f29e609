// Plain C++ implementation of ops.h: the correctness baseline the model was first run on. Each op splits its
// rows (or heads) over the thread pool. Kernel-specific fast paths replace the loops here one by one.
#include "ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "threadpool.h"

namespace vitrine {

void prepare_linear(Linear& L, float* weight_storage) {
  // The plain path reads the weight as PyTorch stores it: nothing to pack.
  (void)weight_storage;
  L.packed.reset();
}

namespace {
inline float gelu_erf(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }
}  // namespace

void linear(ThreadPool* pool, const float* x, int rows, const Linear& L, float* y, Epilogue ep) {
  const int in = L.in, out = L.out;
  parallel_for(pool, rows, [&](int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const float* xr = x + static_cast<size_t>(r) * in;
      float* yr = y + static_cast<size_t>(r) * out;
      for (int o = 0; o < out; ++o) {
        const float* w = L.weight + static_cast<size_t>(o) * in;
        // Four partial sums: breaks the add dependency chain so the loop is not latency-bound.
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int k = 0;
        for (; k + 4 <= in; k += 4) {
          s0 += xr[k] * w[k];
          s1 += xr[k + 1] * w[k + 1];
          s2 += xr[k + 2] * w[k + 2];
          s3 += xr[k + 3] * w[k + 3];
        }
        for (; k < in; ++k) s0 += xr[k] * w[k];
        float v = (s0 + s1) + (s2 + s3);
        if (L.bias) v += L.bias[o];
        if (ep == Epilogue::GeluErf) v = gelu_erf(v);
        else if (ep == Epilogue::Relu) v = std::max(v, 0.0f);
        yr[o] = v;
      }
    }
  });
}

void layernorm(ThreadPool* pool, const float* x, int rows, int dim, const float* gamma, const float* beta, float eps,
               float* y) {
  parallel_for(pool, rows, [&](int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const float* xr = x + static_cast<size_t>(r) * dim;
      float* yr = y + static_cast<size_t>(r) * dim;
      // Two passes (mean, then mean of squared deviations): no cancellation, biased variance like PyTorch.
      float sum = 0;
      for (int i = 0; i < dim; ++i) sum += xr[i];
      const float mean = sum / dim;
      float sq = 0;
      for (int i = 0; i < dim; ++i) {
        const float d = xr[i] - mean;
        sq += d * d;
      }
      const float inv = 1.0f / std::sqrt(sq / dim + eps);
      for (int i = 0; i < dim; ++i) yr[i] = (xr[i] - mean) * inv * gamma[i] + beta[i];
    }
  });
}

size_t attention_scratch_floats(int tokens, int heads, int head_dim, int threads) {
  // One row of scores per thread.
  return static_cast<size_t>(std::max(threads, 1)) * static_cast<size_t>(tokens);
}

void attention(ThreadPool* pool, const float* qkv, int tokens, int heads, int head_dim, float* out, float* scratch) {
  const int D = heads * head_dim;
  const size_t stride = static_cast<size_t>(3) * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  // Work item = (head, query row); each pool slot owns one score row of the scratch.
  const int items = heads * tokens;
  auto body = [&](int slot, int i0, int i1) {
    float* s = scratch + static_cast<size_t>(slot) * tokens;
    for (int item = i0; item < i1; ++item) {
      const int h = item / tokens, t = item % tokens;
      const float* q = qkv + t * stride + static_cast<size_t>(h) * head_dim;
      float mx = -std::numeric_limits<float>::infinity();
      for (int j = 0; j < tokens; ++j) {
        const float* k = qkv + j * stride + D + static_cast<size_t>(h) * head_dim;
        float d = 0;
        for (int c = 0; c < head_dim; ++c) d += q[c] * k[c];
        s[j] = d * scale;
        mx = std::max(mx, s[j]);
      }
      // Subtracting the row max keeps exp() in range (the numerically stable softmax).
      float sum = 0;
      for (int j = 0; j < tokens; ++j) {
        s[j] = std::exp(s[j] - mx);
        sum += s[j];
      }
      const float inv = 1.0f / sum;
      float* o = out + static_cast<size_t>(t) * D + static_cast<size_t>(h) * head_dim;
      for (int c = 0; c < head_dim; ++c) o[c] = 0;
      for (int j = 0; j < tokens; ++j) {
        const float* v = qkv + j * stride + 2 * D + static_cast<size_t>(h) * head_dim;
        const float p = s[j] * inv;
        for (int c = 0; c < head_dim; ++c) o[c] += p * v[c];
      }
    }
  };
  if (pool) pool->parallel_for_slots(items, body);
  else body(0, 0, items);
}

void gelu_erf_inplace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = gelu_erf(x[i]);
}

void relu_inplace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = std::max(x[i], 0.0f);
}

void swiglu_rows(const float* ab, int rows, int width, float* out) {
  for (int r = 0; r < rows; ++r) {
    const float* a = ab + static_cast<size_t>(r) * 2 * width;
    const float* b = a + width;
    float* o = out + static_cast<size_t>(r) * width;
    for (int i = 0; i < width; ++i) o[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
  }
}

void residual_add(float* x, const float* y, const float* scale, int rows, int dim) {
  const size_t n = static_cast<size_t>(rows) * dim;
  if (scale) {
    for (size_t i = 0; i < n; ++i) x[i] += scale[i % dim] * y[i];
  } else {
    for (size_t i = 0; i < n; ++i) x[i] += y[i];
  }
}

}  // namespace vitrine
