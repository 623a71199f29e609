// Plain C++ twins of the elementwise kernels: exact erf GELU, ReLU, SwiGLU gate, (layer-scaled) residual add.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace vitrine {
namespace kernels {

void gelu_scalar(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

void relu_scalar(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = std::max(x[i], 0.0f);
}

void swiglu_scalar(const float* ab, int rows, int width, float* out) {
  for (int r = 0; r < rows; ++r) {
    const float* a = ab + static_cast<size_t>(r) * 2 * width;
    const float* b = a + width;
    float* o = out + static_cast<size_t>(r) * width;
    for (int i = 0; i < width; ++i) o[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
  }
}

void residual_add_scalar(float* x, const float* y, const float* scale, int rows, int dim) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<size_t>(r) * dim;
    const float* yr = y + static_cast<size_t>(r) * dim;
    if (scale) {
      for (int i = 0; i < dim; ++i) xr[i] += scale[i] * yr[i];
    } else {
      for (int i = 0; i < dim; ++i) xr[i] += yr[i];
    }
  }
}

}  // namespace kernels
}  // namespace vitrine
