// WASM SIMD LayerNorm: the scalar twin's two-pass algorithm with 4-lane partial sums.
#include <cmath>
#include <wasm_simd128.h>

#include "kernels.h"

namespace vitrine {
namespace kernels {

namespace {
inline float hsum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
         (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}
}  // namespace

void layernorm_wasmsimd(const float* x, int rows, int dim, const float* gamma, const float* beta, float eps,
                        float* y) {
  const int dim4 = dim & ~3;
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * dim;
    float* yr = y + static_cast<size_t>(r) * dim;
    v128_t vs = wasm_f32x4_splat(0.0f);
    for (int i = 0; i < dim4; i += 4) vs = wasm_f32x4_add(vs, wasm_v128_load(xr + i));
    float sum = hsum(vs);
    for (int i = dim4; i < dim; ++i) sum += xr[i];
    const float mean = sum / dim;
    const v128_t vm = wasm_f32x4_splat(mean);
    v128_t vq = wasm_f32x4_splat(0.0f);
    for (int i = 0; i < dim4; i += 4) {
      const v128_t d = wasm_f32x4_sub(wasm_v128_load(xr + i), vm);
      vq = wasm_f32x4_add(vq, wasm_f32x4_mul(d, d));
    }
    float sq = hsum(vq);
    for (int i = dim4; i < dim; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
    const float inv = 1.0f / std::sqrt(sq / dim + eps);
    const v128_t vi = wasm_f32x4_splat(inv);
    for (int i = 0; i < dim4; i += 4) {
      const v128_t d = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + i), vm), vi);
      wasm_v128_store(yr + i, wasm_f32x4_add(wasm_f32x4_mul(d, wasm_v128_load(gamma + i)), wasm_v128_load(beta + i)));
    }
    for (int i = dim4; i < dim; ++i) yr[i] = (xr[i] - mean) * inv * gamma[i] + beta[i];
  }
}

}  // namespace kernels
}  // namespace vitrine
