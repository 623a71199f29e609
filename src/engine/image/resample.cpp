// PIL's Image.resize for 8-bit RGB, transcribed from Pillow 13's src/libImaging/Resample.c (convolution
// filters) and Geometry.c (ImagingScaleAffine, used for NEAREST). Every expression keeps Pillow's operand order
// and types (double coefficients, float box edges, int accumulators, 22-bit fixed point) because the Hugging
// Face processors resize with PIL and the goal is identical uint8 output, not merely a similar picture.
#include "resample.h"

#include <cmath>
#include <string>
#include <vector>

namespace vitrine::image {
namespace {

constexpr double kPi = 3.14159265358979323846;  // M_PI, which Pillow uses

// ---- Pillow's filter kernels (Resample.c) ----
double box_filter(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

double hamming_filter(double x) {
  if (x < 0.0) x = -x;
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * kPi;
  return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));  // float constants, as in Pillow
}

double bicubic_filter(double x) {
  const double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double sinc_filter(double x) {
  if (x == 0.0) return 1.0;
  x = x * kPi;
  return std::sin(x) / x;
}

double lanczos_filter(double x) {
  if (-3.0 <= x && x < 3.0) return sinc_filter(x) * sinc_filter(x / 3);
  return 0.0;
}

struct Filter {
  double (*fn)(double);
  double support;
};

bool filter_for(int code, Filter* f) {
  switch (code) {
    case kBox: *f = {box_filter, 0.5}; return true;
    case kBilinear: *f = {bilinear_filter, 1.0}; return true;
    case kHamming: *f = {hamming_filter, 1.0}; return true;
    case kBicubic: *f = {bicubic_filter, 2.0}; return true;
    case kLanczos: *f = {lanczos_filter, 3.0}; return true;
    default: return false;
  }
}

constexpr int kPrecisionBits = 32 - 8 - 2;

// Pillow's clip8: a lookup on ss >> PRECISION_BITS (arithmetic shift, i.e. floor) clamped to 0..255.
inline uint8_t clip8(int ss) {
  int v = ss >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// Per output sample: first input index, number of taps, and the fixed-point taps (ksize per sample).
struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // xmin, count per output sample
  std::vector<int> k;       // normalised to kPrecisionBits fixed point
};

// precompute_coeffs + normalize_coeffs_8bpc. The box is always the whole image: in0 = 0, in1 = in_size,
// both floats in Pillow.
Coeffs precompute_coeffs(int in_size, int out_size, const Filter& filter) {
  const float in0 = 0.0f, in1 = static_cast<float>(in_size);
  double scale = static_cast<double>(in1 - in0) / out_size;
  double filterscale = scale;
  if (filterscale < 1.0) filterscale = 1.0;  // upscaling: no widening
  const double support = filter.support * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(out_size) * 2);
  c.k.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> kd(c.ksize);
  const double inv_filterscale = 1.0 / filterscale;
  for (int xx = 0; xx < out_size; xx++) {
    double center = in0 + (xx + 0.5) * scale;
    double ww = 0.0;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    int x = 0;
    for (; x < xmax; x++) {
      double w = filter.fn((x + xmin - center + 0.5) * inv_filterscale);
      kd[x] = w;
      ww += w;
    }
    if (ww != 0.0) {
      for (x = 0; x < xmax; x++) kd[x] /= ww;
    }
    for (; x < c.ksize; x++) kd[x] = 0;
    int* k = &c.k[static_cast<size_t>(xx) * c.ksize];
    for (x = 0; x < c.ksize; x++) {
      k[x] = kd[x] < 0 ? static_cast<int>(-0.5 + kd[x] * (1 << kPrecisionBits))
                       : static_cast<int>(0.5 + kd[x] * (1 << kPrecisionBits));
    }
    c.bounds[xx * 2 + 0] = xmin;
    c.bounds[xx * 2 + 1] = xmax;
  }
  return c;
}

// _ImagingResampleHorizontal_8bpc on rows [row0, row0 + out.height) of `in`.
void horizontal_pass(const Image& in, int row0, const Coeffs& c, Image* out) {
  const int w = out->width;
  for (int yy = 0; yy < out->height; yy++) {
    const uint8_t* line_in = &in.rgb[static_cast<size_t>(yy + row0) * in.width * 3];
    uint8_t* line_out = &out->rgb[static_cast<size_t>(yy) * w * 3];
    for (int xx = 0; xx < w; xx++) {
      const int xmin = c.bounds[xx * 2], xmax = c.bounds[xx * 2 + 1];
      const int* k = &c.k[static_cast<size_t>(xx) * c.ksize];
      int ss0 = 1 << (kPrecisionBits - 1), ss1 = ss0, ss2 = ss0;
      const uint8_t* p = line_in + static_cast<size_t>(xmin) * 3;
      for (int x = 0; x < xmax; x++, p += 3) {
        ss0 += p[0] * k[x];
        ss1 += p[1] * k[x];
        ss2 += p[2] * k[x];
      }
      line_out[xx * 3 + 0] = clip8(ss0);
      line_out[xx * 3 + 1] = clip8(ss1);
      line_out[xx * 3 + 2] = clip8(ss2);
    }
  }
}

// _ImagingResampleVertical_8bpc; bounds are relative to row `row_offset` of `in` (Pillow shifts them).
void vertical_pass(const Image& in, int row_offset, const Coeffs& c, Image* out) {
  const size_t stride = static_cast<size_t>(in.width) * 3;
  std::vector<int> acc(stride);
  for (int yy = 0; yy < out->height; yy++) {
    const int ymin = c.bounds[yy * 2] - row_offset, ymax = c.bounds[yy * 2 + 1];
    const int* k = &c.k[static_cast<size_t>(yy) * c.ksize];
    // Same sums as Pillow's per-pixel loop, accumulated row by row (integer addition is exact, so the order
    // does not matter) to read the input sequentially.
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < ymax; y++) {
      const uint8_t* row = &in.rgb[static_cast<size_t>(y + ymin) * stride];
      const int ky = k[y];
      for (size_t i = 0; i < stride; i++) acc[i] += row[i] * ky;
    }
    uint8_t* line_out = &out->rgb[static_cast<size_t>(yy) * stride];
    for (size_t i = 0; i < stride; i++) line_out[i] = clip8(acc[i]);
  }
}

// ImagingScaleAffine with a = (in/out scale, 0, 0, 0, in/out scale, 0): the position advances by repeated
// addition in double, exactly as Pillow does, so truncation lands on the same source pixel.
void nearest(const Image& in, Image* out) {
  const double ax = static_cast<double>(static_cast<float>(in.width) - 0.0f) / out->width;
  const double ay = static_cast<double>(static_cast<float>(in.height) - 0.0f) / out->height;
  auto coord = [](double v) { return v < 0.0 ? -1 : static_cast<int>(v); };
  std::vector<int> xin(out->width, -1);
  double xo = 0.0 + ax * 0.5;
  for (int x = 0; x < out->width; x++) {
    int xi = coord(xo);
    if (xi >= 0 && xi < in.width) xin[x] = xi;
    xo += ax;
  }
  double yo = 0.0 + ay * 0.5;
  for (int y = 0; y < out->height; y++) {
    int yi = coord(yo);
    uint8_t* o = &out->rgb[static_cast<size_t>(y) * out->width * 3];
    for (int x = 0; x < out->width; x++) {
      if (yi >= 0 && yi < in.height && xin[x] >= 0) {
        const uint8_t* p = &in.rgb[(static_cast<size_t>(yi) * in.width + xin[x]) * 3];
        o[x * 3] = p[0], o[x * 3 + 1] = p[1], o[x * 3 + 2] = p[2];
      } else {
        o[x * 3] = o[x * 3 + 1] = o[x * 3 + 2] = 0;  // Pillow's fill; unreachable for whole-image boxes
      }
    }
    yo += ay;
  }
}

}  // namespace

Status resize_like_pil(const Image& in, int out_w, int out_h, int filter, Image* out) {
  if (out_w < 1 || out_h < 1) {
    return Status::Err(Code::Image, "resize: target size " + std::to_string(out_w) + "x" + std::to_string(out_h) +
                       " must be at least 1x1");
  }
  if (in.width < 1 || in.height < 1 || in.rgb.size() != static_cast<size_t>(in.width) * in.height * 3) {
    return Status::Err(Code::Image, "resize: input image is empty or its buffer does not match its size");
  }
  Filter f{};
  if (filter != kNearest && !filter_for(filter, &f)) {
    return Status::Err(Code::Image, "resize: unsupported PIL resample filter " + std::to_string(filter) +
                       " (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)");
  }
  // Image.resize returns a copy when the size is unchanged; _resize crops (copies) for an integer box of the
  // same size. Either way: no filtering.
  if (out_w == in.width && out_h == in.height) {
    *out = in;
    return Status::Ok();
  }
  out->width = out_w;
  out->height = out_h;
  out->rgb.assign(static_cast<size_t>(out_w) * out_h * 3, 0);
  if (filter == kNearest) {
    nearest(in, out);
    return Status::Ok();
  }

  const bool need_h = out_w != in.width;
  const bool need_v = out_h != in.height;
  // Pillow 13: when the height shrinks more than twice as much as the width, the vertical pass goes first.
  const bool horizontal_first = !((in.height - out_h) > 0 && (in.height - out_h) > (in.width - out_w) * 2);

  if (horizontal_first) {
    Coeffs cv, ch;
    int row0 = 0, row1 = in.height;
    if (need_v) {
      cv = precompute_coeffs(in.height, out_h, f);
      // The horizontal pass only computes the source rows the vertical pass will read.
      row0 = cv.bounds[0];
      row1 = cv.bounds[out_h * 2 - 2] + cv.bounds[out_h * 2 - 1];
    }
    if (need_h) {
      ch = precompute_coeffs(in.width, out_w, f);
      Image tmp;
      tmp.width = out_w;
      tmp.height = row1 - row0;
      tmp.rgb.resize(static_cast<size_t>(tmp.width) * tmp.height * 3);
      horizontal_pass(in, row0, ch, &tmp);
      if (need_v) {
        vertical_pass(tmp, row0, cv, out);
      } else {
        *out = std::move(tmp);
      }
    } else {
      vertical_pass(in, 0, cv, out);
    }
  } else {
    // Only reached when the height shrinks, so the vertical pass always runs here.
    Coeffs cv = precompute_coeffs(in.height, out_h, f);
    if (need_h) {
      Image tmp;
      tmp.width = in.width;
      tmp.height = out_h;
      tmp.rgb.resize(static_cast<size_t>(tmp.width) * tmp.height * 3);
      vertical_pass(in, 0, cv, &tmp);
      Coeffs ch = precompute_coeffs(in.width, out_w, f);
      horizontal_pass(tmp, 0, ch, out);
    } else {
      vertical_pass(in, 0, cv, out);
    }
  }
  return Status::Ok();
}

}  // namespace vitrine::image
