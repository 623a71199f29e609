#include "posembed.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace vitrine {
namespace {

// One output row/column = a weighted sum of some input rows/columns. Both of PyTorch's bicubic paths reduce to
// this; they differ only in how the taps and weights are chosen.
struct Taps {
  std::vector<int> start, count;  // antialias: a contiguous window per output
  std::vector<int> index;         // plain: 4 clamped input indices per output (repeats at the borders)
  std::vector<float> weights;  // count[i] weights per output, at offset i*stride
  int stride = 0;
};

// upsample_bicubic2d (antialias=False): 4 taps, Keys kernel with A = -0.75, indices clamped to the border.
Taps taps_plain(int in, int out) {
  Taps t;
  t.stride = 4;
  const float scale = float(in) / float(out);  // area_pixel_compute_scale, align_corners=False, no scale given
  const float A = -0.75f;
  auto cc1 = [&](float x) { return ((A + 2) * x - (A + 3)) * x * x + 1; };
  auto cc2 = [&](float x) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; };
  t.weights.resize(size_t(out) * 4);
  t.index.resize(size_t(out) * 4);
  for (int i = 0; i < out; ++i) {
    const float real = scale * (i + 0.5f) - 0.5f;  // cubic: no clamp of negative source positions
    const int base = int(std::floor(real));
    const float f = real - base;
    const float w[4] = {cc2(f + 1), cc1(f), cc1(1 - f), cc2(2 - f)};
    for (int k = 0; k < 4; ++k) {
      t.index[i * 4 + k] = std::min(std::max(base - 1 + k, 0), in - 1);
      t.weights[i * 4 + k] = w[k];
    }
  }
  return t;
}

// _upsample_bicubic2d_aa: PIL-style separable filter, a = -0.5, support widened by the scale when shrinking,
// window truncated at the borders and weights renormalised.
Taps taps_antialias(int in, int out) {
  Taps t;
  const double scale = double(in) / double(out);
  const double support = scale >= 1.0 ? 2.0 * scale : 2.0;
  const double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
  t.stride = int(std::ceil(support)) * 2 + 1;
  t.start.assign(out, 0);
  t.count.assign(out, 0);
  t.weights.assign(size_t(out) * t.stride, 0.f);
  auto filter = [](double x) {
    const double a = -0.5;
    x = std::fabs(x);
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
  };
  for (int i = 0; i < out; ++i) {
    const double center = scale * (i + 0.5);
    const int xmin = std::max(int(center - support + 0.5), 0);
    const int xsize = std::min(int(center + support + 0.5), in) - xmin;
    double total = 0;
    std::vector<double> w(xsize);
    for (int j = 0; j < xsize; ++j) {
      w[j] = filter((j + xmin - center + 0.5) * invscale);
      total += w[j];
    }
    t.start[i] = xmin;
    t.count[i] = xsize;
    for (int j = 0; j < xsize; ++j) t.weights[size_t(i) * t.stride + j] = float(total != 0 ? w[j] / total : 0);
  }
  return t;
}

}  // namespace

void resize_positions_bicubic(const float* src, int in_h, int in_w, int dim, float* dst, int out_h, int out_w,
                              bool antialias) {
  std::vector<float> acc(dim);
  if (!antialias) {
    // PyTorch computes per output pixel: 4 row interpolations along x, then one along y.
    const Taps tx = taps_plain(in_w, out_w), ty = taps_plain(in_h, out_h);
    std::vector<float> rows(size_t(4) * dim);
    for (int oy = 0; oy < out_h; ++oy) {
      for (int ox = 0; ox < out_w; ++ox) {
        for (int r = 0; r < 4; ++r) {
          const int y = ty.index[oy * 4 + r];
          float* row = &rows[size_t(r) * dim];
          std::fill(row, row + dim, 0.f);
          for (int k = 0; k < 4; ++k) {
            const float w = tx.weights[ox * 4 + k];
            const float* s = src + (size_t(y) * in_w + tx.index[ox * 4 + k]) * dim;
            for (int d = 0; d < dim; ++d) row[d] += w * s[d];
          }
        }
        float* o = dst + (size_t(oy) * out_w + ox) * dim;
        std::fill(o, o + dim, 0.f);
        for (int r = 0; r < 4; ++r) {
          const float w = ty.weights[oy * 4 + r];
          for (int d = 0; d < dim; ++d) o[d] += w * rows[size_t(r) * dim + d];
        }
      }
    }
    return;
  }
  // Antialiased: separable, horizontal pass into a temporary, then vertical.
  const Taps tx = taps_antialias(in_w, out_w), ty = taps_antialias(in_h, out_h);
  std::vector<float> tmp(size_t(in_h) * out_w * dim, 0.f);
  for (int y = 0; y < in_h; ++y)
    for (int ox = 0; ox < out_w; ++ox) {
      float* o = &tmp[(size_t(y) * out_w + ox) * dim];
      for (int k = 0; k < tx.count[ox]; ++k) {
        const float w = tx.weights[size_t(ox) * tx.stride + k];
        const float* s = src + (size_t(y) * in_w + tx.start[ox] + k) * dim;
        for (int d = 0; d < dim; ++d) o[d] += w * s[d];
      }
    }
  for (int oy = 0; oy < out_h; ++oy)
    for (int ox = 0; ox < out_w; ++ox) {
      float* o = dst + (size_t(oy) * out_w + ox) * dim;
      std::fill(o, o + dim, 0.f);
      for (int k = 0; k < ty.count[oy]; ++k) {
        const float w = ty.weights[size_t(oy) * ty.stride + k];
        const float* s = &tmp[(size_t(ty.start[oy] + k) * out_w + ox) * dim];
        for (int d = 0; d < dim; ++d) o[d] += w * s[d];
      }
    }
}

}  // namespace vitrine
