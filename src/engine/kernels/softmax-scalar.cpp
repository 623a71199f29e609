// Plain C++ twin of the softmax building block (see kernels.h): numerically stable, max subtracted first.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace vitrine {
namespace kernels {

float softmax_exp_scalar(float* x, int n) {
  float mx = x[0];
  for (int i = 1; i < n; ++i) mx = std::max(mx, x[i]);
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  return sum;
}

}  // namespace kernels
}  // namespace vitrine
