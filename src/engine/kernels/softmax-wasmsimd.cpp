// WASM SIMD softmax building block: vector max, then the polynomial exp of math-wasmsimd.h with the sum
// accumulated on the fly.
#include <algorithm>
#include <wasm_simd128.h>

#include "kernels.h"
#include "math-wasmsimd.h"

namespace vitrine {
namespace kernels {

float softmax_exp_wasmsimd(float* x, int n) {
  int i = 0;
  v128_t vmax = wasm_f32x4_splat(x[0]);
  for (; i + 4 <= n; i += 4) vmax = wasm_f32x4_pmax(vmax, wasm_v128_load(x + i));
  float mx = std::max(std::max(wasm_f32x4_extract_lane(vmax, 0), wasm_f32x4_extract_lane(vmax, 1)),
                      std::max(wasm_f32x4_extract_lane(vmax, 2), wasm_f32x4_extract_lane(vmax, 3)));
  for (; i < n; ++i) mx = std::max(mx, x[i]);
  const v128_t vm = wasm_f32x4_splat(mx);
  v128_t vsum = wasm_f32x4_splat(0.0f);
  i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t e = simd::exp(wasm_f32x4_sub(wasm_v128_load(x + i), vm));
    wasm_v128_store(x + i, e);
    vsum = wasm_f32x4_add(vsum, e);
  }
  float sum = (wasm_f32x4_extract_lane(vsum, 0) + wasm_f32x4_extract_lane(vsum, 1)) +
              (wasm_f32x4_extract_lane(vsum, 2) + wasm_f32x4_extract_lane(vsum, 3));
  if (i < n) {
    // Tail through the same vector exp (so both halves of a row round alike), via a padded copy.
    float tmp[4] = {mx, mx, mx, mx};
    for (int t = 0; i + t < n; ++t) tmp[t] = x[i + t];
    wasm_v128_store(tmp, simd::exp(wasm_f32x4_sub(wasm_v128_load(tmp), vm)));
    for (int t = 0; i + t < n; ++t) {
      x[i + t] = tmp[t];
      sum += tmp[t];
    }
  }
  return sum;
}

}  // namespace kernels
}  // namespace vitrine
