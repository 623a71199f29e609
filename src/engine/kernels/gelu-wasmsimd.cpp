// WASM SIMD elementwise kernels: GELU through the rational erf of math-wasmsimd.h, SiLU through its
// polynomial exp. Tails (n % 4) go through the same vector code on a padded copy so every element is
// computed by one formula.
#include <algorithm>
#include <wasm_simd128.h>

#include "kernels.h"
#include "math-wasmsimd.h"

namespace vitrine {
namespace kernels {

namespace {
template <typename F>
inline void map_inplace(float* x, size_t n, F f) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(x + i, f(wasm_v128_load(x + i)));
  if (i < n) {
    float tmp[4] = {};
    for (size_t t = 0; i + t < n; ++t) tmp[t] = x[i + t];
    wasm_v128_store(tmp, f(wasm_v128_load(tmp)));
    for (size_t t = 0; i + t < n; ++t) x[i + t] = tmp[t];
  }
}
}  // namespace

void gelu_wasmsimd(float* x, size_t n) { map_inplace(x, n, [](v128_t v) { return simd::gelu(v); }); }

void relu_wasmsimd(float* x, size_t n) {
  map_inplace(x, n, [](v128_t v) { return wasm_f32x4_pmax(v, wasm_f32x4_splat(0.0f)); });
}

void swiglu_wasmsimd(const float* ab, int rows, int width, float* out) {
  for (int r = 0; r < rows; ++r) {
    const float* a = ab + static_cast<size_t>(r) * 2 * width;
    const float* b = a + width;
    float* o = out + static_cast<size_t>(r) * width;
    int i = 0;
    for (; i + 4 <= width; i += 4) {
      wasm_v128_store(o + i, wasm_f32x4_mul(simd::silu(wasm_v128_load(a + i)), wasm_v128_load(b + i)));
    }
    for (; i < width; ++i) {
      float ta[4] = {a[i], 0, 0, 0};
      float t[4];
      wasm_v128_store(t, simd::silu(wasm_v128_load(ta)));
      o[i] = t[0] * b[i];
    }
  }
}

void residual_add_wasmsimd(float* x, const float* y, const float* scale, int rows, int dim) {
  const int dim4 = dim & ~3;
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<size_t>(r) * dim;
    const float* yr = y + static_cast<size_t>(r) * dim;
    if (scale) {
      for (int i = 0; i < dim4; i += 4) {
        wasm_v128_store(xr + i, wasm_f32x4_add(wasm_v128_load(xr + i),
                                               wasm_f32x4_mul(wasm_v128_load(scale + i), wasm_v128_load(yr + i))));
      }
      for (int i = dim4; i < dim; ++i) xr[i] += scale[i] * yr[i];
    } else {
      for (int i = 0; i < dim4; i += 4) {
        wasm_v128_store(xr + i, wasm_f32x4_add(wasm_v128_load(xr + i), wasm_v128_load(yr + i)));
      }
      for (int i = dim4; i < dim; ++i) xr[i] += yr[i];
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
