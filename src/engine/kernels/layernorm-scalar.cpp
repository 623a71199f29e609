// Plain C++ twin of LayerNorm: float accumulation, two passes (mean, then mean squared deviation), biased
// variance as PyTorch computes it.
#include <cmath>

#include "kernels.h"

namespace vitrine {
namespace kernels {

void layernorm_scalar(const float* x, int rows, int dim, const float* gamma, const float* beta, float eps,
                      float* y) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * dim;
    float* yr = y + static_cast<size_t>(r) * dim;
    float sum = 0.0f;
    for (int i = 0; i < dim; ++i) sum += xr[i];
    const float mean = sum / dim;
    float sq = 0.0f;
    for (int i = 0; i < dim; ++i) {
      const float d = xr[i] - mean;
      sq += d * d;
    }
    const float inv = 1.0f / std::sqrt(sq / dim + eps);
    for (int i = 0; i < dim; ++i) yr[i] = (xr[i] - mean) * inv * gamma[i] + beta[i];
  }
}

}  // namespace kernels
}  // namespace vitrine
