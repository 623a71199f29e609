// libjpeg-turbo's decoding arithmetic after entropy decoding (IDCT, upsampling, colour conversion), transcribed
// from libjpeg-turbo 2.1.5 (jidctint.c, jdsample.c, jdcolor.c), plus Pillow's CMYK → RGB (Convert.c). Pillow
// 13 wheels bundle libjpeg-turbo 3.x, whose 8-bit integer paths are the same; its x86 SIMD versions of these
// routines are bit-exact with the C ones. Integers are 64-bit where libjpeg uses JLONG (64-bit `long` on the
// Linux x86-64 build PIL runs on; `long` is only 32-bit in wasm32, so int64_t keeps both builds identical).
#include "jpeg_pil.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace vitrine::image::jpeg_pil {
namespace {

// ---- jidctint.c ----
constexpr int kConstBits = 13;
constexpr int kPass1Bits = 2;
constexpr int64_t FIX_0_298631336 = 2446;
constexpr int64_t FIX_0_390180644 = 3196;
constexpr int64_t FIX_0_541196100 = 4433;
constexpr int64_t FIX_0_765366865 = 6270;
constexpr int64_t FIX_0_899976223 = 7373;
constexpr int64_t FIX_1_175875602 = 9633;
constexpr int64_t FIX_1_501321110 = 12299;
constexpr int64_t FIX_1_847759065 = 15137;
constexpr int64_t FIX_1_961570560 = 16069;
constexpr int64_t FIX_2_053119869 = 16819;
constexpr int64_t FIX_2_562915447 = 20995;
constexpr int64_t FIX_3_072711026 = 25172;

inline int64_t descale(int64_t x, int n) { return (x + (int64_t{1} << (n - 1))) >> n; }

// The IDCT's range limit: libjpeg indexes a 1024-entry table with (value & 1023), where value is the sample
// minus 128. In range this is clamp(value + 128, 0, 255); far outside it wraps exactly like the table.
inline uint8_t idct_limit(int64_t value) {
  const int i = static_cast<int>(value) & 1023;
  if (i < 128) return static_cast<uint8_t>(i + 128);
  if (i < 512) return 255;
  if (i < 896) return 0;
  return static_cast<uint8_t>(i - 896);
}

inline uint8_t clamp255(int v) { return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }

}  // namespace

// One 8-point pass of jidctint.c's islow IDCT on samples s[0..7] (stride apart), before descaling:
// out[i] is output sample i scaled by 2^CONST_BITS. Both passes (columns, then rows) run exactly this.
template <typename T>
void idct_1d(const T* s, int step, int64_t out[8]) {
  int64_t z2 = s[2 * step], z3 = s[6 * step];
  int64_t z1 = (z2 + z3) * FIX_0_541196100;
  int64_t tmp2 = z1 + z3 * -FIX_1_847759065;
  int64_t tmp3 = z1 + z2 * FIX_0_765366865;
  int64_t tmp0 = (int64_t{s[0]} + s[4 * step]) * (int64_t{1} << kConstBits);
  int64_t tmp1 = (int64_t{s[0]} - s[4 * step]) * (int64_t{1} << kConstBits);
  const int64_t tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;

  tmp0 = s[7 * step];
  tmp1 = s[5 * step];
  tmp2 = s[3 * step];
  tmp3 = s[1 * step];
  z1 = tmp0 + tmp3;
  z2 = tmp1 + tmp2;
  z3 = tmp0 + tmp2;
  int64_t z4 = tmp1 + tmp3;
  const int64_t z5 = (z3 + z4) * FIX_1_175875602;
  tmp0 = tmp0 * FIX_0_298631336;
  tmp1 = tmp1 * FIX_2_053119869;
  tmp2 = tmp2 * FIX_3_072711026;
  tmp3 = tmp3 * FIX_1_501321110;
  z1 = z1 * -FIX_0_899976223;
  z2 = z2 * -FIX_2_562915447;
  z3 = z3 * -FIX_1_961570560;
  z4 = z4 * -FIX_0_390180644;
  z3 += z5;
  z4 += z5;
  tmp0 += z1 + z3;
  tmp1 += z2 + z4;
  tmp2 += z2 + z3;
  tmp3 += z1 + z4;
  out[0] = tmp10 + tmp3;
  out[7] = tmp10 - tmp3;
  out[1] = tmp11 + tmp2;
  out[6] = tmp11 - tmp2;
  out[2] = tmp12 + tmp1;
  out[5] = tmp12 - tmp1;
  out[3] = tmp13 + tmp0;
  out[4] = tmp13 - tmp0;
}

void idct_islow(uint8_t* out, int stride, short coeffs[64]) {
  int ws[64];
  int64_t v[8];
  // Pass 1: columns from the coefficients into the work array, scaled up by 2^PASS1_BITS.
  for (int c = 0; c < 8; c++) {
    const short* in = coeffs + c;
    int* w = ws + c;
    if (in[8] == 0 && in[16] == 0 && in[24] == 0 && in[32] == 0 && in[40] == 0 && in[48] == 0 && in[56] == 0) {
      const int dc = static_cast<int>(in[0]) * (1 << kPass1Bits);
      for (int r = 0; r < 8; r++) w[r * 8] = dc;
      continue;
    }
    idct_1d(in, 8, v);
    for (int r = 0; r < 8; r++) w[r * 8] = static_cast<int>(descale(v[r], kConstBits - kPass1Bits));
  }
  // Pass 2: rows from the work array to samples, removing both scale factors and the factor 8.
  constexpr int kFinal = kConstBits + kPass1Bits + 3;
  for (int r = 0; r < 8; r++) {
    const int* w = ws + r * 8;
    uint8_t* o = out + static_cast<ptrdiff_t>(r) * stride;
    if (w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0) {
      const uint8_t dc = idct_limit(descale(w[0], kPass1Bits + 3));
      std::memset(o, dc, 8);
      continue;
    }
    idct_1d(w, 1, v);
    for (int i = 0; i < 8; i++) o[i] = idct_limit(descale(v[i], kFinal));
  }
}

// ---- jdsample.c ----
// The horizontal half of libjpeg's "fancy" 2x upsampling: each output pair is (3·near + neighbour + bias) >> shift,
// with the edge samples as their own missing neighbours. h2v1 runs it on samples (biases 1, 2; >> 2), h2v2 on
// column sums of 3·near + far (biases 8, 7; >> 4).
template <typename T>
void fancy_upsample_h2(const T* in, int w, int bias_left, int bias_right, int shift, uint8_t* o) {
  auto at = [&](int i) { return static_cast<int>(in[i]); };
  o[0] = static_cast<uint8_t>((at(0) * 3 + at(0) + bias_left) >> shift);
  o[1] = static_cast<uint8_t>((at(0) * 3 + at(1) + bias_right) >> shift);
  for (int i = 1; i < w - 1; i++) {
    const int v3 = at(i) * 3;
    o[2 * i] = static_cast<uint8_t>((v3 + at(i - 1) + bias_left) >> shift);
    o[2 * i + 1] = static_cast<uint8_t>((v3 + at(i + 1) + bias_right) >> shift);
  }
  o[2 * w - 2] = static_cast<uint8_t>((at(w - 1) * 3 + at(w - 2) + bias_left) >> shift);
  o[2 * w - 1] = static_cast<uint8_t>((at(w - 1) * 3 + at(w - 1) + bias_right) >> shift);
}

// libjpeg feeds the upsamplers "context rows" that repeat the first and the last real sample row at the top
// and bottom of the component (jdmainct.c), and its fancy loops special-case the first and last column in a way
// that equals repeating the edge sample. So every neighbour below is clamped to the real component size.
bool upsample(const Plane& p, int max_h, int max_v, int image_w, int y0, int y1, uint8_t* out) {
  if (p.h_samp <= 0 || p.v_samp <= 0 || max_h % p.h_samp != 0 || max_v % p.v_samp != 0) return false;
  const int hs = max_h / p.h_samp, vs = max_v / p.v_samp;
  const int w = p.width, h = p.height;
  auto row = [&](int r) { return p.data + static_cast<ptrdiff_t>(std::min(std::max(r, 0), h - 1)) * p.stride; };
  const size_t ow = static_cast<size_t>(image_w);

  if (hs == 1 && vs == 1) {
    for (int y = y0; y < y1; y++) std::memcpy(out + (y - y0) * ow, row(y), ow);
    return true;
  }
  // libjpeg uses the plain (replicating) 2h upsamplers when the component is at most 2 samples wide.
  const bool fancy_h2 = w > 2;
  // The 2h loops write 2·w samples into `wide` (the interior without edge tests; the first and last input
  // column use themselves as their missing neighbour) and copy the image_w that exist.
  std::vector<uint8_t> wide;
  if (fancy_h2 && hs == 2) wide.resize(static_cast<size_t>(w) * 2);
  if (hs == 2 && vs == 1 && fancy_h2) {  // h2v1_fancy_upsample
    for (int y = y0; y < y1; y++) {
      const uint8_t* in = row(y);
      fancy_upsample_h2(in, w, 1, 2, 2, wide.data());
      std::memcpy(out + (y - y0) * ow, wide.data(), ow);
    }
    return true;
  }
  if (hs == 1 && vs == 2) {  // h1v2_fancy_upsample: the row above gets bias 1, the row below bias 2
    for (int y = y0; y < y1; y++) {
      const int r = y / 2;
      const bool upper = (y % 2) == 0;
      const uint8_t* near = row(r);
      const uint8_t* far = row(upper ? r - 1 : r + 1);
      const int bias = upper ? 1 : 2;
      uint8_t* o = out + (y - y0) * ow;
      for (int x = 0; x < image_w; x++) o[x] = static_cast<uint8_t>((near[x] * 3 + far[x] + bias) >> 2);
    }
    return true;
  }
  if (hs == 2 && vs == 2 && fancy_h2) {  // h2v2_fancy_upsample: 9/16, 3/16, 3/16, 1/16 with biases 8 and 7
    std::vector<int> colsum(w);
    for (int y = y0; y < y1; y++) {
      const int r = y / 2;
      const uint8_t* near = row(r);
      const uint8_t* far = row((y % 2) == 0 ? r - 1 : r + 1);
      for (int i = 0; i < w; i++) colsum[i] = near[i] * 3 + far[i];
      fancy_upsample_h2(colsum.data(), w, 8, 7, 4, wide.data());
      std::memcpy(out + (y - y0) * ow, wide.data(), ow);
    }
    return true;
  }
  // int_upsample, h2v1_upsample, h2v2_upsample: each sample repeated hs × vs times.
  for (int y = y0; y < y1; y++) {
    const uint8_t* in = row(y / vs);
    uint8_t* o = out + (y - y0) * ow;
    for (int x = 0; x < image_w; x++) o[x] = in[x / hs];
  }
  return true;
}

// ---- jdcolor.c ----
namespace {
constexpr int kScaleBits = 16;
constexpr int64_t kOneHalf = int64_t{1} << (kScaleBits - 1);
constexpr int64_t fix(double x) { return static_cast<int64_t>(x * (int64_t{1} << kScaleBits) + 0.5); }

struct YccTables {
  // int is enough: the largest magnitude, FIX(0.71414)·128 + ONE_HALF, is below 2^23.
  int cr_r[256], cb_b[256], cr_g[256], cb_g[256];
  uint8_t limit[1024];  // clamp(i - 384, 0, 255): libjpeg's range_limit for y + offset in [-384, 639]
  YccTables() {
    for (int i = 0; i < 256; i++) {
      const int64_t x = i - 128;
      cr_r[i] = static_cast<int>((fix(1.40200) * x + kOneHalf) >> kScaleBits);
      cb_b[i] = static_cast<int>((fix(1.77200) * x + kOneHalf) >> kScaleBits);
      cr_g[i] = static_cast<int>((-fix(0.71414)) * x);
      cb_g[i] = static_cast<int>((-fix(0.34414)) * x + kOneHalf);
    }
    for (int i = 0; i < 1024; i++) limit[i] = clamp255(i - 384);
  }
  uint8_t clamp(int v) const { return limit[v + 384]; }
};
}  // namespace

void ycc_to_rgb(const uint8_t* y, const uint8_t* cb, const uint8_t* cr, size_t count, uint8_t* rgb) {
  const YccTables t;  // 4 KiB of tables built per call (a band of rows): cheap, and no shared state
  for (size_t i = 0; i < count; i++) {
    const int yy = y[i], b = cb[i], r = cr[i];
    rgb[i * 3 + 0] = t.clamp(yy + t.cr_r[r]);
    rgb[i * 3 + 1] = t.clamp(yy + ((t.cb_g[b] + t.cr_g[r]) >> kScaleBits));
    rgb[i * 3 + 2] = t.clamp(yy + t.cb_b[b]);
  }
}

void cmyk_to_rgb(const uint8_t* c0, const uint8_t* c1, const uint8_t* c2, const uint8_t* k, size_t count,
                 bool ycck, uint8_t* rgb) {
  const YccTables t;
  // Pillow's MULDIV255: a*b/255 rounded, in fixed point.
  auto muldiv255 = [](int a, int b) {
    const int tmp = a * b + 128;
    return ((tmp >> 8) + tmp) >> 8;
  };
  for (size_t i = 0; i < count; i++) {
    int c, m, ye;
    if (ycck) {  // ycck_cmyk_convert: YCbCr → RGB, inverted to CMY; K passes through
      const int yy = c0[i], b = c1[i], r = c2[i];
      c = clamp255(255 - (yy + t.cr_r[r]));
      m = clamp255(255 - (yy + ((t.cb_g[b] + t.cr_g[r]) >> kScaleBits)));
      ye = clamp255(255 - (yy + t.cb_b[b]));
    } else {
      c = c0[i], m = c1[i], ye = c2[i];
    }
    // Pillow's "CMYK;I" raw mode inverts every channel (Adobe polarity), then cmyk2rgb computes
    // CLIP8(nk - MULDIV255(C, nk)) with nk = 255 - K; after the inversion nk is the stored K.
    const int nk = k[i];
    rgb[i * 3 + 0] = clamp255(nk - muldiv255(255 - c, nk));
    rgb[i * 3 + 1] = clamp255(nk - muldiv255(255 - m, nk));
    rgb[i * 3 + 2] = clamp255(nk - muldiv255(255 - ye, nk));
  }
}

}  // namespace vitrine::image::jpeg_pil
