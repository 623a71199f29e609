// vitrine-kernel-check: every kernel twin (plain C++ everywhere, WASM SIMD in WASM builds) and the ops.h
// layer on top of them (thread splits, K-blocking, packing in place) against a double-precision reference,
// on awkward shapes: 1, 3, 7, 17, 197, 1025 rows/columns/depths, odd panels, strided inputs.
// Output buffers are pre-filled with NaN so a kernel that skips an element fails. Exit code 0 = all passed;
// the last line is "kernel-check: N passed, M failed" (wasm-tests/engine/kernels.test.js runs it natively and as
// WASM in both the threaded and single-threaded builds).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ops.h"
#include "sha256.h"
#include "threadpool.h"
#include "kernels/kernels.h"

using namespace vitrine;
using namespace vitrine::kernels;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();

struct Tally {
  int passed = 0, failed = 0;
};

std::vector<float> random_vec(std::mt19937& rng, size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> U(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = U(rng);
  return v;
}

// Passes when |got - ref| <= atol + rtol * scale[i] for every element (scale: the magnitude the rounding
// error is proportional to, e.g. Σ|x·w| for a dot product). NaN never passes.
void expect_close(Tally& t, const std::string& what, const float* got, const double* ref, const double* scale,
                  size_t n, double atol, double rtol) {
  double worst = 0;
  size_t worst_i = 0;
  bool bad = false;
  for (size_t i = 0; i < n; ++i) {
    const double err = std::fabs(double(got[i]) - ref[i]);
    const double tol = atol + rtol * (scale ? scale[i] : std::fabs(ref[i]));
    if (!(err <= tol)) {  // also catches NaN
      if (!bad || !(err <= worst)) {
        worst = err;
        worst_i = i;
      }
      bad = true;
    }
  }
  if (bad) {
    ++t.failed;
    std::printf("FAIL %s: element %zu got %.9g want %.9g\n", what.c_str(), worst_i, double(got[worst_i]),
                ref[worst_i]);
  } else {
    ++t.passed;
  }
}

// ---- references (double) ----

double gelu_ref(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }
double act_ref(double v, Epilogue ep) {
  if (ep == Epilogue::GeluErf) return gelu_ref(v);
  if (ep == Epilogue::Relu) return v > 0 ? v : 0;
  return v;
}

void gemm_ref(int m, int n, int k, const float* x, size_t ldx, const float* w, const float* bias, Epilogue ep,
              std::vector<double>& y, std::vector<double>& scale) {
  y.assign(size_t(m) * n, 0);
  scale.assign(size_t(m) * n, 0);
  for (int r = 0; r < m; ++r)
    for (int c = 0; c < n; ++c) {
      double s = bias ? bias[c] : 0, a = bias ? std::fabs(bias[c]) : 0;
      for (int kk = 0; kk < k; ++kk) {
        const double p = double(x[r * ldx + kk]) * w[size_t(c) * k + kk];
        s += p;
        a += std::fabs(p);
      }
      y[size_t(r) * n + c] = act_ref(s, ep);
      scale[size_t(r) * n + c] = a;  // GELU'/ReLU' <= 1.13: the same scale bounds the activated error
    }
}

void attention_ref(const float* qkv, int T, int H, int hd, std::vector<double>& out) {
  const int D = H * hd;
  out.assign(size_t(T) * D, 0);
  std::vector<double> p(T);
  for (int h = 0; h < H; ++h)
    for (int i = 0; i < T; ++i) {
      double mx = -1e300;
      for (int j = 0; j < T; ++j) {
        double d = 0;
        for (int c = 0; c < hd; ++c) d += double(qkv[size_t(i) * 3 * D + h * hd + c]) * qkv[size_t(j) * 3 * D + D + h * hd + c];
        p[j] = d / std::sqrt(double(hd));
        mx = std::max(mx, p[j]);
      }
      double sum = 0;
      for (int j = 0; j < T; ++j) sum += (p[j] = std::exp(p[j] - mx));
      for (int c = 0; c < hd; ++c) {
        double o = 0;
        for (int j = 0; j < T; ++j) o += p[j] / sum * qkv[size_t(j) * 3 * D + 2 * D + h * hd + c];
        out[size_t(i) * D + h * hd + c] = o;
      }
    }
}

void layernorm_ref(const float* x, int rows, int dim, const float* g, const float* b, double eps,
                   std::vector<double>& y) {
  y.assign(size_t(rows) * dim, 0);
  for (int r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int i = 0; i < dim; ++i) mean += x[size_t(r) * dim + i];
    mean /= dim;
    for (int i = 0; i < dim; ++i) var += (x[size_t(r) * dim + i] - mean) * (x[size_t(r) * dim + i] - mean);
    var /= dim;
    for (int i = 0; i < dim; ++i) y[size_t(r) * dim + i] = (x[size_t(r) * dim + i] - mean) / std::sqrt(var + eps) * g[i] + b[i];
  }
}

// ---- the twins under test ----

struct Twins {
  const char* name;
  void (*gemm)(const GemmArgs&, int, int);
  void (*pack_a)(const float*, size_t, int, int, int, int, float*);
  void (*attention_rows)(const float*, const float*, const float*, size_t, int, int, float, int, int, int, float*,
                         size_t, float*);
  float (*softmax_exp)(float*, int);
  void (*layernorm)(const float*, int, int, const float*, const float*, float, float*);
  void (*gelu)(float*, size_t);
  void (*relu)(float*, size_t);
  void (*swiglu)(const float*, int, int, float*);
  void (*residual_add)(float*, const float*, const float*, int, int);
  void (*gemm_i8)(const GemmI8Args&, int, int);
  void (*quantize_a_i8)(const float*, size_t, int, int, int, int, int16_t*, float*, int);
  void (*attention_i8_rows)(const float*, size_t, const AttentionI8Head&, float, int, int, int, float*, size_t, float*);
};

std::vector<Twins> all_twins() {
  std::vector<Twins> t;
  t.push_back({"scalar", gemm_scalar, gemm_pack_a_scalar, attention_rows_scalar, softmax_exp_scalar, layernorm_scalar, gelu_scalar,
               relu_scalar, swiglu_scalar, residual_add_scalar, gemm_i8_scalar, gemm_i8_quantize_a_scalar,
               attention_i8_rows_scalar});
#if defined(__wasm_simd128__)
  t.push_back({"wasmsimd", gemm_wasmsimd, gemm_pack_a_wasmsimd, attention_rows_wasmsimd, softmax_exp_wasmsimd, layernorm_wasmsimd,
               gelu_wasmsimd, relu_wasmsimd, swiglu_wasmsimd, residual_add_wasmsimd, gemm_i8_wasmsimd,
               gemm_i8_quantize_a_wasmsimd, attention_i8_rows_wasmsimd});
#endif
  return t;
}

const int kSizes[] = {1, 3, 7, 8, 17, 197, 1025};

void check_gemm(Tally& t, const Twins& tw, std::mt19937& rng) {
  const int ks[] = {1, 3, 7, 17, 64, 197, 1025};
  for (int m : kSizes)
    for (int n : kSizes)
      for (int k : ks) {
        if (double(m) * n * k > 3e7) continue;  // keep the run short; the big shapes are covered below
        const Epilogue ep = (m + n + k) % 3 == 0 ? Epilogue::None : (m + n + k) % 3 == 1 ? Epilogue::GeluErf : Epilogue::Relu;
        const size_t ldx = k + (m % 2);  // sometimes strided rows
        auto x = random_vec(rng, size_t(m) * ldx), w = random_vec(rng, size_t(n) * k), b = random_vec(rng, n);
        const bool with_bias = (m * 7 + n) % 2 == 0;
        std::vector<double> ref, scale;
        gemm_ref(m, n, k, x.data(), ldx, w.data(), with_bias ? b.data() : nullptr, ep, ref, scale);
        std::vector<float> packed(gemm_packed_floats(n, k));
        gemm_pack(w.data(), n, k, packed.data());
        std::vector<float> y(size_t(m) * n, kNaN);
        std::vector<float> pa(gemm_packed_a_floats(m, k), kNaN);
        tw.pack_a(x.data(), ldx, m, k, 0, gemm_row_blocks(m) / 2, pa.data());  // in two calls, like ops.cpp
        tw.pack_a(x.data(), ldx, m, k, gemm_row_blocks(m) / 2, gemm_row_blocks(m), pa.data());
        GemmArgs a;
        a.m = m; a.n = n; a.k = k; a.a = pa.data(); a.a_stride = size_t(4) * k; a.packed = packed.data();
        a.panel_stride = size_t(kGemmNR) * k; a.bias = with_bias ? b.data() : nullptr; a.ep = ep;
        a.y = y.data(); a.ldy = n;
        // Two calls over a split panel range: a kernel must write exactly its own columns.
        const int split = gemm_panels(n) / 2;
        tw.gemm(a, 0, split);
        tw.gemm(a, split, gemm_panels(n));
        char what[160];
        std::snprintf(what, sizeof what, "%s gemm m=%d n=%d k=%d ep=%d bias=%d", tw.name, m, n, k, int(ep), int(with_bias));
        expect_close(t, what, y.data(), ref.data(), scale.data(), y.size(), 1e-6, 2e-6);
        // The same product in two depth slices with accumulate (the K-blocking path).
        if (k >= 2) {
          std::fill(y.begin(), y.end(), kNaN);
          const int k0 = k / 2;
          GemmArgs a1 = a, a2 = a;
          a1.k = k0; a1.bias = nullptr; a1.ep = Epilogue::None;
          a2.k = k - k0; a2.a = pa.data() + size_t(k0) * 4; a2.packed = packed.data() + size_t(k0) * kGemmNR; a2.accumulate = true;
          tw.gemm(a1, 0, gemm_panels(n));
          tw.gemm(a2, 0, gemm_panels(n));
          std::snprintf(what, sizeof what, "%s gemm 2-slice m=%d n=%d k=%d", tw.name, m, n, k);
          expect_close(t, what, y.data(), ref.data(), scale.data(), y.size(), 1e-6, 2e-6);
        }
      }
}

void expect_true(Tally& t, bool ok, const std::string& what) {
  if (ok) ++t.passed;
  else {
    ++t.failed;
    std::printf("FAIL %s\n", what.c_str());
  }
}

// The int8 product of quantized rows and int8 weights in int64 (no overflow possible), then the twins'
// dequantization in double: the reference for one element, and the bound of kernels.h on its distance to the
// exact f32 product (x[r]·w[c] in double).
struct I8Ref {
  std::vector<int64_t> acc;          // m x n
  std::vector<double> deq, bound;    // sa·sw·acc (+ bias), error bound against the double product
};
I8Ref gemm_i8_ref(int m, int n, int k, const int16_t* qa, const float* sa, const int8_t* qw, const float* sw,
                  const float* bias) {
  I8Ref R;
  R.acc.assign(size_t(m) * n, 0);
  R.deq.assign(size_t(m) * n, 0);
  R.bound.assign(size_t(m) * n, 0);
  const int depth = gemm_i8_depth(k);
  for (int r = 0; r < m; ++r)
    for (int c = 0; c < n; ++c) {
      int64_t acc = 0;
      double qsum = 0;
      for (int kk = 0; kk < k; ++kk) {
        const int a = qa[size_t(r / 4) * 4 * depth + (kk / 2) * 8 + (r % 4) * 2 + kk % 2], w = qw[size_t(c) * k + kk];
        acc += int64_t(a) * w;
        qsum += std::abs(a) + std::abs(w) + 0.5;
      }
      const size_t i = size_t(r) * n + c;
      R.acc[i] = acc;
      R.deq[i] = double(sa[r]) * sw[c] * double(acc) + (bias ? bias[c] : 0.0);
      R.bound[i] = double(sa[r]) * sw[c] * qsum / 2;
    }
  return R;
}

// Quantizes x with the twin in two calls (like ops.cpp) into buffers pre-filled with junk.
void quantize_i8(const Twins& tw, const float* x, size_t ldx, int m, int k, std::vector<int16_t>& qa,
                 std::vector<float>& sa, int qmax = kGemmI8Max) {
  qa.assign(gemm_i8_packed_a_values(m, k), 0x5555);
  sa.assign(size_t(gemm_row_blocks(m)) * 4, kNaN);
  tw.quantize_a_i8(x, ldx, m, k, 0, gemm_row_blocks(m) / 2, qa.data(), sa.data(), qmax);
  tw.quantize_a_i8(x, ldx, m, k, gemm_row_blocks(m) / 2, gemm_row_blocks(m), qa.data(), sa.data(), qmax);
}

// int8 GEMM: quantization identical across twins, integer accumulation exact (unit scales make y = float(acc)),
// the worst-case magnitude at k = 4096 without overflow, dequantized output vs the double product within the
// bound of kernels.h, split panel ranges and NaN-filled outputs.
void check_gemm_i8(Tally& t, const Twins& tw, std::mt19937& rng) {
  char what[200];
  const Twins plain = all_twins()[0];
  const int ks[] = {1, 2, 3, 7, 17, 64, 197, 1025};
  for (int m : kSizes)
    for (int n : kSizes)
      for (int k : ks) {
        if (double(m) * n * k > 3e7) continue;
        const Epilogue ep = (m + n + k) % 3 == 0 ? Epilogue::None : (m + n + k) % 3 == 1 ? Epilogue::GeluErf : Epilogue::Relu;
        const size_t ldx = k + (m % 2);
        // Rows of different magnitudes (per-row scales) and a zero row (scale 0).
        auto x = random_vec(rng, size_t(m) * ldx), w = random_vec(rng, size_t(n) * k, -0.2f, 0.2f), b = random_vec(rng, n);
        for (int r = 0; r < m; ++r)
          for (int kk = 0; kk < k; ++kk) x[size_t(r) * ldx + kk] *= r == 2 ? 0.0f : float(1 + r % 5) * 3;
        const bool with_bias = (m * 7 + n) % 2 == 0;
        std::vector<int8_t> qw(size_t(n) * k), packed(gemm_i8_packed_bytes(n, k), 99);
        std::vector<float> sw(size_t(gemm_panels(n)) * kGemmNR, 0.0f);
        quantize_weights_i8(w.data(), n, k, qw.data(), sw.data());
        gemm_i8_pack(qw.data(), n, k, packed.data());
        std::vector<int16_t> qa, qa_plain;
        std::vector<float> sa, sa_plain;
        quantize_i8(tw, x.data(), ldx, m, k, qa, sa);
        quantize_i8(plain, x.data(), ldx, m, k, qa_plain, sa_plain);
        std::snprintf(what, sizeof what, "%s gemm_i8 quantize m=%d k=%d: identical to the plain twin", tw.name, m, k);
        expect_true(t, qa == qa_plain && std::memcmp(sa.data(), sa_plain.data(), sa.size() * 4) == 0, what);
        if (n == 1) {  // the integer attention's query quantizer: 12 bits, same code path
          std::vector<int16_t> qa12, qa12_plain;
          std::vector<float> sa12, sa12_plain;
          quantize_i8(tw, x.data(), ldx, m, k, qa12, sa12, kAttentionI8QK);
          quantize_i8(plain, x.data(), ldx, m, k, qa12_plain, sa12_plain, kAttentionI8QK);
          bool in_range = true;
          for (int r = 0; r < m; ++r)
            for (int kk = 0; kk < k; ++kk) {
              const int v = qa12[size_t(r / 4) * 4 * gemm_i8_depth(k) + (kk / 2) * 8 + (r % 4) * 2 + kk % 2];
              const double x_back = double(v) * sa12[r];
              in_range = in_range && std::abs(v) <= kAttentionI8QK &&
                         std::fabs(x_back - x[size_t(r) * ldx + kk]) <= 0.5005 * sa12[r];
            }
          // s/2 plus float rounding of x · (qmax / max) at 2047: a few 1e-4 of a step.
          std::snprintf(what, sizeof what, "%s quantize qmax=%d m=%d k=%d: identical to the plain twin, |q| <= qmax, "
                        "|x - s·q| <= 0.5005·s", tw.name, kAttentionI8QK, m, k);
          expect_true(t, in_range && qa12 == qa12_plain &&
                             std::memcmp(sa12.data(), sa12_plain.data(), sa12.size() * 4) == 0, what);
        }

        GemmI8Args a;
        a.m = m; a.n = n; a.k = k; a.a = qa.data(); a.a_scale = sa.data(); a.packed = packed.data();
        a.w_scale = sw.data(); a.bias = with_bias ? b.data() : nullptr; a.ep = ep; a.ldy = n;
        std::vector<float> y(size_t(m) * n, kNaN);
        a.y = y.data();
        const int split = gemm_panels(n) / 2;
        tw.gemm_i8(a, 0, split);
        tw.gemm_i8(a, split, gemm_panels(n));
        const I8Ref R = gemm_i8_ref(m, n, k, qa.data(), sa.data(), qw.data(), sw.data(), a.bias);
        // Against the dequantized integer product: float rounding of the epilogue (and the SIMD erf) only.
        std::vector<double> want(y.size()), mag(y.size()), exact(y.size()), tol(y.size());
        std::vector<double> xref, xscale;
        gemm_ref(m, n, k, x.data(), ldx, w.data(), a.bias, Epilogue::None, xref, xscale);
        for (size_t i = 0; i < y.size(); ++i) {
          want[i] = act_ref(R.deq[i], ep);
          mag[i] = std::fabs(R.deq[i]) + (a.bias ? std::fabs(b[i % n]) : 0) + 1;
          exact[i] = act_ref(xref[i], ep);
          // 1.0001: x·(127/max) in float differs from x/(max/127) by a few ulps of 127 (|ea| <= 1/2 + 3e-5).
          tol[i] = 1.0001 * R.bound[i] + 1e-6 * xscale[i];
        }
        std::snprintf(what, sizeof what, "%s gemm_i8 m=%d n=%d k=%d ep=%d bias=%d", tw.name, m, n, k, int(ep), int(with_bias));
        expect_close(t, what, y.data(), want.data(), mag.data(), y.size(), 2e-6, 1e-6);
        // GELU' and ReLU' are <= 1.13: the activated error stays within 1.13x the bound.
        for (auto& v : tol) v *= 1.13;
        std::snprintf(what, sizeof what, "%s gemm_i8 vs f32 product within the quantization bound m=%d n=%d k=%d",
                      tw.name, m, n, k);
        expect_close(t, what, y.data(), exact.data(), tol.data(), y.size(), 1e-6, 1.0);
        if (ep != Epilogue::GeluErf && tw.gemm_i8 != plain.gemm_i8) {
          std::vector<float> yp(y.size(), kNaN);
          a.y = yp.data();
          plain.gemm_i8(a, 0, gemm_panels(n));
          std::snprintf(what, sizeof what, "%s gemm_i8 m=%d n=%d k=%d ep=%d: bit-identical to the plain twin", tw.name,
                        m, n, k, int(ep));
          expect_true(t, std::memcmp(y.data(), yp.data(), y.size() * 4) == 0, what);
        }
      }
  // Integer exactness: unit scales, no bias, no activation -> y = float(acc). Random extremes of the int8 range
  // (|acc| < 2^24: every value exact), then the largest possible magnitude at k = 4096 (all products +127·127,
  // 6.6e7: exact in i32, float(acc) compared with the int64 sum converted once).
  for (int k : {2, 3, 7, 64, 197, 1025, 4096}) {
    const int m = 9, n = 17;
    const bool worst = k == 4096;
    std::uniform_int_distribution<int> q(-127, 127);
    std::vector<float> x(size_t(m) * k);
    for (auto& v : x) v = worst ? 1.0f : float(q(rng));
    std::vector<int8_t> qw(size_t(n) * k);
    for (auto& v : qw) v = static_cast<int8_t>(worst ? 127 : q(rng));
    std::vector<int8_t> packed(gemm_i8_packed_bytes(n, k));
    gemm_i8_pack(qw.data(), n, k, packed.data());
    std::vector<int16_t> qa;
    std::vector<float> sa;
    quantize_i8(tw, x.data(), k, m, k, qa, sa);
    std::vector<float> ones(size_t(gemm_panels(n)) * kGemmNR, 1.0f), unit(sa.size(), 1.0f);
    GemmI8Args a;
    a.m = m; a.n = n; a.k = k; a.a = qa.data(); a.a_scale = unit.data(); a.packed = packed.data();
    a.w_scale = ones.data(); a.ldy = n;
    std::vector<float> y(size_t(m) * n, kNaN);
    a.y = y.data();
    tw.gemm_i8(a, 0, gemm_panels(n));
    const I8Ref R = gemm_i8_ref(m, n, k, qa.data(), unit.data(), qw.data(), ones.data(), nullptr);
    bool ok = true;
    int64_t largest = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      ok = ok && y[i] == static_cast<float>(R.acc[i]);
      largest = std::max(largest, R.acc[i] < 0 ? -R.acc[i] : R.acc[i]);
    }
    if (worst) ok = ok && largest == int64_t(4096) * 127 * 127;
    std::snprintf(what, sizeof what, "%s gemm_i8 integer accumulation exact k=%d (max |acc| %lld)", tw.name, k,
                  static_cast<long long>(largest));
    expect_true(t, ok, what);
  }
}

// One head-pair of attention through a twin, K/V packed per head, the queries in two ranges (the first ending at
// an odd row), keys `key_tile` at a time (0: one tile).
std::vector<float> run_attention(const Twins& tw, const std::vector<float>& qkv, int T, int H, int hd, int key_tile) {
  const int D = H * hd;
  std::vector<float> out(size_t(T) * D, kNaN), pk(attention_packed_k_floats(T, hd)), pv(attention_packed_v_floats(T, hd)),
      tile(attention_tile_floats(T, hd, key_tile), kNaN);
  for (int h = 0; h < H; ++h) {
    attention_pack_k(qkv.data() + D + h * hd, 3 * D, T, hd, pk.data());
    attention_pack_v(qkv.data() + 2 * D + h * hd, 3 * D, T, hd, pv.data());
    const int q1 = std::min(T / 2 | 1, T);
    tw.attention_rows(qkv.data() + h * hd, pk.data(), pv.data(), 3 * D, T, hd, 1.0f / std::sqrt(float(hd)), key_tile,
                      0, q1, out.data() + h * hd, D, tile.data());
    tw.attention_rows(qkv.data() + h * hd, pk.data(), pv.data(), 3 * D, T, hd, 1.0f / std::sqrt(float(hd)), key_tile,
                      q1, T, out.data() + h * hd, D, tile.data());
  }
  return out;
}

void check_attention(Tally& t, const Twins& tw, const Twins& plain, std::mt19937& rng) {
  struct Case { int T, hd; std::vector<int> key_tiles; };
  // One tile (the plain softmax) and key tiles of 8 … 128 (the online softmax: a tile of 8 rescales the most
  // often; T not a multiple of the tile leaves a short last tile); 1370 = DINOv2-B/14 at 518².
  const std::vector<Case> cases = {{1, 8, {0, 8}}, {3, 64, {0, 8}}, {7, 8, {0, 8}}, {17, 64, {0, 8, 16}},
                                   {197, 8, {0, 8, 64}}, {197, 64, {0, 8, 64, 128}}, {257, 64, {0, 64, 128, 256}},
                                   {600, 64, {0, 128}}, {1370, 64, {0, 128}}};
  for (const Case& c : cases) {
    const int H = c.T > 257 ? 1 : 2;
    // Scores of a few units, like a trained model's: wide enough that exp() spans many orders of magnitude.
    auto qkv = random_vec(rng, size_t(c.T) * 3 * H * c.hd, -2.0f, 2.0f);
    std::vector<double> ref;
    attention_ref(qkv.data(), c.T, H, c.hd, ref);
    std::vector<float> one_tile;
    for (int key_tile : c.key_tiles) {
      const std::vector<float> out = run_attention(tw, qkv, c.T, H, c.hd, key_tile);
      char what[160];
      std::snprintf(what, sizeof what, "%s attention T=%d head_dim=%d key_tile=%d", tw.name, c.T, c.hd, key_tile);
      // Outputs are convex combinations of values in [-2, 2].
      expect_close(t, what, out.data(), ref.data(), nullptr, out.size(), 2e-5, 0);
      if (key_tile == 0) one_tile = out;
      // Against the plain twin with the same tiling (the oracle): the twins run the same float operations in the
      // same order except exp (vector exp <= 2 ulp, std::exp <= 1 ulp: every weight p_j differs by a relative
      // <= 3 · 2^-24 = 1.8e-7, the sum l too), so |Δout| <= 2 · 1.8e-7 · max|v| (= 2) = 7.2e-7 plus the
      // rounding of the rescaling products; 2e-6 leaves room for that.
      if (&tw != &plain) {
        const std::vector<float> want = run_attention(plain, qkv, c.T, H, c.hd, key_tile);
        std::vector<double> wd(want.begin(), want.end());
        std::snprintf(what, sizeof what, "%s attention = %s twin T=%d head_dim=%d key_tile=%d", tw.name, plain.name,
                      c.T, c.hd, key_tile);
        expect_close(t, what, out.data(), wd.data(), nullptr, out.size(), 2e-6, 0);
      }
      // A single tile of any size is the plain softmax op for op: bit for bit the key_tile = 0 result.
      if (key_tile >= c.T) {
        std::snprintf(what, sizeof what, "%s attention T=%d key_tile=%d >= T is the one-tile result bit for bit",
                      tw.name, c.T, key_tile);
        expect_true(t, std::memcmp(out.data(), one_tile.data(), out.size() * sizeof(float)) == 0, what);
      }
    }
  }
}

// The integer attention's distance to exact attention, per output element (docs/KERNELS.md "Integer
// attention"), from the raw q, k, v of one head h: with E_i = max_j |Δs_ij| (the GEMM-style bound on the
// quantized score, plus float rounding), the weights w_j = P_j / Σ P against the exact softmax w*_j differ by
// Σ_j |w_j - w*_j| <= (e^{2E_i} - 1) + T / (32767 · S_i · e^{-2E_i} - T/2) (scores, then rounding P to
// integers; S_i = Σ_j exp(s*_ij - max_j s*_ij) >= 1), so
//   |out_ic - out*_ic| <= sv_c / 2 + ½ · range_j(v_jc) · Σ_j |w_j - w*_j| + 1e-5 · max|v|   (sv_c = max_j |v_jc| / 127).
void attention_i8_tolerance(const float* qkv, int T, int H, int hd, std::vector<double>& tol) {
  const int D = H * hd;
  tol.assign(size_t(T) * D, 0);
  const double scale = 1.0 / std::sqrt(double(hd));
  auto at = [&](int j, int part, int h, int c) { return double(qkv[size_t(j) * 3 * D + part * D + h * hd + c]); };
  for (int h = 0; h < H; ++h) {
    std::vector<double> sk(T), sv(hd), lo(hd, 1e300), hi(hd, -1e300), s(T);
    double vmax = 0;
    for (int j = 0; j < T; ++j) {
      double mx = 0;
      for (int c = 0; c < hd; ++c) mx = std::max(mx, std::fabs(at(j, 1, h, c)));
      sk[j] = mx / kAttentionI8QK;
      for (int c = 0; c < hd; ++c) {
        lo[c] = std::min(lo[c], at(j, 2, h, c));
        hi[c] = std::max(hi[c], at(j, 2, h, c));
      }
    }
    for (int c = 0; c < hd; ++c) {
      sv[c] = std::max(std::fabs(lo[c]), std::fabs(hi[c])) / kAttentionI8V;
      vmax = std::max(vmax, sv[c] * kAttentionI8V);
    }
    for (int i = 0; i < T; ++i) {
      double sq = 0;
      for (int c = 0; c < hd; ++c) sq = std::max(sq, std::fabs(at(i, 0, h, c)));
      sq /= kAttentionI8QK;
      double E = 0, mx = -1e300;
      for (int j = 0; j < T; ++j) {
        double d = 0, err = 0;
        for (int c = 0; c < hd; ++c) {
          d += at(i, 0, h, c) * at(j, 1, h, c);
          err += std::fabs(at(i, 0, h, c)) * sk[j] / 2 + std::fabs(at(j, 1, h, c)) * sq / 2 + sq * sk[j];
        }
        s[j] = d * scale;
        mx = std::max(mx, s[j]);
        E = std::max(E, 1.001 * err * scale + 1e-6 * (std::fabs(s[j]) + 1));
      }
      double S = 0;
      for (int j = 0; j < T; ++j) S += std::exp(s[j] - mx);
      const double tv = std::expm1(2 * E) + T / (kAttentionI8P * S * std::exp(-2 * E) - T / 2.0);
      for (int c = 0; c < hd; ++c)
        tol[size_t(i) * D + h * hd + c] = 1.0001 * sv[c] / 2 + 0.5 * (hi[c] - lo[c]) * tv + 1e-5 * vmax;
    }
  }
}

// The integer attention on its own quantized inputs, in double: the packed K and V (ints and scales, shared by
// both twins) and the queries quantized by the plain quantizer, exact softmax, no rounding of P. What is left
// between this and a kernel is rounding P to 1/32767 of the row maximum and float rounding (scores, exp):
//   |out_ic - ref_ic| <= ½ · range_j(ṽ_jc) · ((e^{2E} - 1) + T / (32767 · S_i · e^{-2E} - T/2)) + 1e-5 · max|ṽ|
// with E = 1e-6 · (|s| + 1) (scores, in log2 units inside the kernel: a few float roundings; the numerators'
// polynomial, Exp2P: 1.6e-7 relative) and ṽ the dequantized v.
void attention_i8_quantized_ref(const std::vector<float>& qkv, int T, int H, int hd, std::vector<double>& ref,
                                std::vector<double>& tol) {
  const int D = H * hd;
  ref.assign(size_t(T) * D, 0);
  tol.assign(size_t(T) * D, 0);
  std::vector<float> pk(attention_i8_packed_k_floats(T, hd)), pv(attention_i8_packed_v_floats(T, hd));
  const AttentionI8Head head = attention_i8_head(T, hd, pk.data(), pv.data());
  const int pairs = (T + 1) / 2;
  std::vector<int16_t> qa(gemm_i8_packed_a_values(T, hd));
  std::vector<float> sq(size_t(gemm_row_blocks(T)) * 4);
  const double scale = 1.0 / std::sqrt(double(hd));
  std::vector<double> s(T), vq(size_t(T) * hd);
  for (int h = 0; h < H; ++h) {
    attention_i8_pack_k(qkv.data() + D + h * hd, 3 * D, head);
    attention_i8_pack_v(qkv.data() + 2 * D + h * hd, 3 * D, head);
    gemm_i8_quantize_a_scalar(qkv.data() + h * hd, 3 * D, T, hd, 0, gemm_row_blocks(T), qa.data(), sq.data(), kAttentionI8QK);
    double vmax = 0;
    std::vector<double> lo(hd, 1e300), hi(hd, -1e300);
    for (int j = 0; j < T; ++j)
      for (int c = 0; c < hd; ++c) {
        const double v = double(head.v[size_t(c / 8) * 16 * pairs + (j / 2) * 16 + (c % 8) * 2 + j % 2]) * head.v_scale[c];
        vq[size_t(j) * hd + c] = v;
        lo[c] = std::min(lo[c], v);
        hi[c] = std::max(hi[c], v);
        vmax = std::max(vmax, std::fabs(v));
      }
    for (int i = 0; i < T; ++i) {
      double mx = -1e300, E = 0;
      for (int j = 0; j < T; ++j) {
        int64_t acc = 0;
        for (int c = 0; c < hd; ++c)
          acc += int64_t(qa[size_t(i / 4) * 4 * hd + (c / 2) * 8 + (i % 4) * 2 + c % 2]) *
                 head.k[size_t(j / 8) * 8 * hd + (c / 2) * 16 + (j % 8) * 2 + c % 2];
        s[j] = double(acc) * sq[i] * scale * head.k_scale[j];
        mx = std::max(mx, s[j]);
        E = std::max(E, 1e-6 * (std::fabs(s[j]) + 1));
      }
      double S = 0;
      for (int j = 0; j < T; ++j) S += (s[j] = std::exp(s[j] - mx));
      const double tv = std::expm1(2 * E) + T / (kAttentionI8P * S * std::exp(-2 * E) - T / 2.0);
      for (int c = 0; c < hd; ++c) {
        double o = 0;
        for (int j = 0; j < T; ++j) o += s[j] / S * vq[size_t(j) * hd + c];
        ref[size_t(i) * D + h * hd + c] = o;
        tol[size_t(i) * D + h * hd + c] = 0.5 * (hi[c] - lo[c]) * tv + 1e-5 * vmax;
      }
    }
  }
}

// One head at a time through a twin of the integer attention (K/V packed per head), queries in two ranges.
std::vector<float> run_attention_i8(const Twins& tw, const std::vector<float>& qkv, int T, int H, int hd, int key_tile) {
  const int D = H * hd;
  std::vector<float> out(size_t(T) * D, kNaN), pk(attention_i8_packed_k_floats(T, hd), kNaN),
      pv(attention_i8_packed_v_floats(T, hd), kNaN), tile(attention_i8_tile_floats(T, hd, key_tile), kNaN);
  const AttentionI8Head head = attention_i8_head(T, hd, pk.data(), pv.data());
  for (int h = 0; h < H; ++h) {
    attention_i8_pack_k(qkv.data() + D + h * hd, 3 * D, head);
    attention_i8_pack_v(qkv.data() + 2 * D + h * hd, 3 * D, head);
    const int q1 = std::min(T / 2 | 1, T);
    const float scale = 1.0f / std::sqrt(float(hd));
    tw.attention_i8_rows(qkv.data() + h * hd, 3 * D, head, scale, key_tile, 0, q1, out.data() + h * hd, D, tile.data());
    tw.attention_i8_rows(qkv.data() + h * hd, 3 * D, head, scale, key_tile, q1, T, out.data() + h * hd, D, tile.data());
  }
  return out;
}

// Integer attention: every twin bit-identical to the plain one (same tiling), within the error bound above of
// the double reference, one tile of any size = key_tile 0 bit for bit, and the i32 bounds of kernels.h at their
// limits (Q·K at head_dim 512 with |q|, |k| = 2047; P·V over 512 keys with P = 32767, |v| = 127).
void check_attention_i8(Tally& t, const Twins& tw, const Twins& plain, std::mt19937& rng) {
  struct Case { int T, hd; std::vector<int> key_tiles; };
  const std::vector<Case> cases = {{1, 8, {0, 8}}, {2, 16, {0}}, {3, 64, {0, 8}}, {7, 8, {0, 8}}, {17, 64, {0, 8, 16}},
                                   {197, 8, {0, 8, 64}}, {197, 64, {0, 8, 64, 256}}, {257, 64, {0, 64, 256}},
                                   {600, 64, {0, 128}}, {1025, 64, {0, 1032}}, {1370, 64, {0, 256}}};
  char what[200];
  for (const Case& c : cases) {
    const int H = c.T > 257 ? 1 : 2;
    // Scores of a few units; one channel of v and one key far larger than the rest (an outlier sets a
    // per-channel / per-token scale, as in trained models).
    auto qkv = random_vec(rng, size_t(c.T) * 3 * H * c.hd, -2.0f, 2.0f);
    const int D = H * c.hd;
    for (int j = 0; j < c.T; j += 5) qkv[size_t(j) * 3 * D + 2 * D + 1] *= 8.0f;
    for (int cc = 0; cc < c.hd; ++cc) qkv[size_t(c.T / 2) * 3 * D + D + cc] *= 4.0f;
    std::vector<double> ref, tol, qref, qtol;
    attention_ref(qkv.data(), c.T, H, c.hd, ref);
    attention_i8_tolerance(qkv.data(), c.T, H, c.hd, tol);
    attention_i8_quantized_ref(qkv, c.T, H, c.hd, qref, qtol);
    std::vector<float> one_tile;
    for (int key_tile : c.key_tiles) {
      const std::vector<float> out = run_attention_i8(tw, qkv, c.T, H, c.hd, key_tile);
      double worst = 0, worst_tol = 0, sum_err = 0;
      for (size_t i = 0; i < out.size(); ++i) {
        worst = std::max(worst, std::fabs(out[i] - ref[i]));
        worst_tol = std::max(worst_tol, tol[i]);
        sum_err += std::fabs(out[i] - ref[i]);
      }
      if (&tw == &plain)
        std::printf("kernel-check info: attention_i8 T=%d head_dim=%d key_tile=%d: max |err| %.2e, mean %.2e, "
                    "bound <= %.2e\n", c.T, c.hd, key_tile, worst, sum_err / out.size(), worst_tol);
      std::snprintf(what, sizeof what, "%s attention_i8 T=%d head_dim=%d key_tile=%d within its bound (max |err| %.2e, "
                    "max bound %.2e)", tw.name, c.T, c.hd, key_tile, worst, worst_tol);
      expect_close(t, what, out.data(), ref.data(), tol.data(), out.size(), 0, 1);
      double qworst = 0;
      for (size_t i = 0; i < out.size(); ++i) qworst = std::max(qworst, std::fabs(out[i] - qref[i]));
      if (&tw == &plain)
        std::printf("kernel-check info: attention_i8 T=%d head_dim=%d key_tile=%d: vs its quantized inputs in double "
                    "max |err| %.2e\n", c.T, c.hd, key_tile, qworst);
      std::snprintf(what, sizeof what, "%s attention_i8 T=%d head_dim=%d key_tile=%d = its quantized inputs in double "
                    "within P and float rounding", tw.name, c.T, c.hd, key_tile);
      expect_close(t, what, out.data(), qref.data(), qtol.data(), out.size(), 0, 1);
      if (key_tile == 0) one_tile = out;
      if (&tw != &plain) {
        const std::vector<float> want = run_attention_i8(plain, qkv, c.T, H, c.hd, key_tile);
        std::snprintf(what, sizeof what, "%s attention_i8 = %s twin bit for bit T=%d head_dim=%d key_tile=%d", tw.name,
                      plain.name, c.T, c.hd, key_tile);
        expect_true(t, std::memcmp(out.data(), want.data(), out.size() * sizeof(float)) == 0, what);
      }
      if (key_tile >= c.T) {
        std::snprintf(what, sizeof what, "%s attention_i8 T=%d key_tile=%d >= T is the one-tile result bit for bit",
                      tw.name, c.T, key_tile);
        expect_true(t, std::memcmp(out.data(), one_tile.data(), out.size() * sizeof(float)) == 0, what);
      }
    }
  }
  // Q·K at its bound: head_dim 512, q = (1, …, 1), keys alternately (1, …) and (-1, …): |acc| = 512 · 2047² =
  // 2,145,386,496 (2³¹ - 1 = 2,147,483,647). Overflow would flip the sign of the scores, and the output would
  // be the mean of the wrong keys' v.
  {
    const int T = 9, hd = kAttentionI8MaxHeadDim;
    std::vector<float> qkv(size_t(T) * 3 * hd);
    for (int j = 0; j < T; ++j)
      for (int c = 0; c < hd; ++c) {
        qkv[size_t(j) * 3 * hd + c] = 1.0f;
        qkv[size_t(j) * 3 * hd + hd + c] = j % 2 ? -1.0f : 1.0f;
        qkv[size_t(j) * 3 * hd + 2 * hd + c] = float(j - 4) / 4.0f;
      }
    std::vector<double> ref, tol;
    attention_ref(qkv.data(), T, 1, hd, ref);
    attention_i8_tolerance(qkv.data(), T, 1, hd, tol);
    const std::vector<float> out = run_attention_i8(tw, qkv, T, 1, hd, 0);
    std::snprintf(what, sizeof what, "%s attention_i8 Q·K at the i32 bound (head_dim %d, |q|, |k| = %d)", tw.name, hd,
                  kAttentionI8QK);
    expect_close(t, what, out.data(), ref.data(), tol.data(), out.size(), 0, 1);
  }
  // P·V at its bound: all scores 0, so every P = 32767; v = ±1 per channel, so |qv| = 127 and one chunk of 512
  // keys sums to 512 · 32767 · 127 = 2,130,640,384 per element. 1370 keys: chunks of 512, 512, 346 in one tile.
  {
    const int T = 1370, hd = 16;
    std::vector<float> qkv(size_t(T) * 3 * hd, 0.0f);
    for (int j = 0; j < T; ++j)
      for (int c = 0; c < hd; ++c) qkv[size_t(j) * 3 * hd + 2 * hd + c] = c % 2 ? -1.0f : 1.0f;
    const std::vector<float> out = run_attention_i8(tw, qkv, T, 1, hd, 0);
    bool ok = true;
    for (int i = 0; i < T; ++i)
      for (int c = 0; c < hd; ++c) ok = ok && std::fabs(out[size_t(i) * hd + c] - (c % 2 ? -1.0f : 1.0f)) <= 1e-6f;
    std::snprintf(what, sizeof what, "%s attention_i8 P·V at the i32 bound (%d keys per chunk of P = %d, |v| = %d)",
                  tw.name, kAttentionI8PvKeys, kAttentionI8P, kAttentionI8V);
    expect_true(t, ok, what);
  }
}

void check_elementwise(Tally& t, const Twins& tw, std::mt19937& rng) {
  char what[120];
  for (int n : kSizes) {
    // softmax building block, with a large offset (the max subtraction must handle it)
    auto x = random_vec(rng, n, 80.0f, 100.0f);
    std::vector<double> ref(n);
    double mx = -1e300, sum = 0;
    for (float v : x) mx = std::max(mx, double(v));
    for (int i = 0; i < n; ++i) sum += (ref[i] = std::exp(x[i] - mx));
    std::vector<float> got = x;
    const float s = tw.softmax_exp(got.data(), n);
    std::snprintf(what, sizeof what, "%s softmax_exp n=%d", tw.name, n);
    expect_close(t, what, got.data(), ref.data(), nullptr, n, 1e-6, 1e-5);
    const double sum_ref = sum;
    const float sgot = s;
    std::snprintf(what, sizeof what, "%s softmax_exp sum n=%d", tw.name, n);
    expect_close(t, what, &sgot, &sum_ref, nullptr, 1, 0, 1e-5);

    // GELU over a wide range (including the |x| > 4 clamp of the SIMD erf), ReLU
    auto g = random_vec(rng, n, -8.0f, 8.0f);
    std::vector<double> gref(n), rref(n);
    for (int i = 0; i < n; ++i) {
      gref[i] = gelu_ref(g[i]);
      rref[i] = g[i] > 0 ? g[i] : 0;
    }
    std::vector<float> gg = g;
    tw.gelu(gg.data(), n);
    std::snprintf(what, sizeof what, "%s gelu n=%d", tw.name, n);
    expect_close(t, what, gg.data(), gref.data(), nullptr, n, 2e-6, 1e-6);
    gg = g;
    tw.relu(gg.data(), n);
    std::snprintf(what, sizeof what, "%s relu n=%d", tw.name, n);
    expect_close(t, what, gg.data(), rref.data(), nullptr, n, 0, 0);

    // SwiGLU gate on 3 rows of width n
    auto ab = random_vec(rng, size_t(3) * 2 * n, -10.0f, 10.0f);
    std::vector<double> sref(size_t(3) * n);
    for (int r = 0; r < 3; ++r)
      for (int i = 0; i < n; ++i) {
        const double a = ab[size_t(r) * 2 * n + i], b = ab[size_t(r) * 2 * n + n + i];
        sref[size_t(r) * n + i] = a / (1 + std::exp(-a)) * b;
      }
    std::vector<float> so(size_t(3) * n, kNaN);
    tw.swiglu(ab.data(), 3, n, so.data());
    std::snprintf(what, sizeof what, "%s swiglu width=%d", tw.name, n);
    expect_close(t, what, so.data(), sref.data(), nullptr, so.size(), 1e-5, 1e-5);

    // residual add, with and without layer scale
    auto xr = random_vec(rng, size_t(3) * n), yr = random_vec(rng, size_t(3) * n), sc = random_vec(rng, n);
    for (int with_scale = 0; with_scale < 2; ++with_scale) {
      std::vector<double> rr(xr.size());
      for (size_t i = 0; i < xr.size(); ++i) rr[i] = xr[i] + (with_scale ? sc[i % n] : 1.0f) * yr[i];
      std::vector<float> xo = xr;
      tw.residual_add(xo.data(), yr.data(), with_scale ? sc.data() : nullptr, 3, n);
      std::snprintf(what, sizeof what, "%s residual_add dim=%d scale=%d", tw.name, n, with_scale);
      expect_close(t, what, xo.data(), rr.data(), nullptr, xo.size(), 1e-6, 1e-6);
    }

    // LayerNorm, rows of a large common offset (the two-pass variance must not cancel)
    auto lx = random_vec(rng, size_t(5) * n, 99.0f, 101.0f), lg = random_vec(rng, n), lb = random_vec(rng, n);
    std::vector<double> lref;
    layernorm_ref(lx.data(), 5, n, lg.data(), lb.data(), 1e-6, lref);
    std::vector<float> ly(lx.size(), kNaN);
    tw.layernorm(lx.data(), 5, n, lg.data(), lb.data(), 1e-6f, ly.data());
    std::snprintf(what, sizeof what, "%s layernorm dim=%d", tw.name, n);
    expect_close(t, what, ly.data(), lref.data(), nullptr, ly.size(), 2e-4, 1e-4);
  }
  // The vectorised erf over a fine grid: GELU's absolute error stays well inside the 5e-5 golden tolerance.
  std::vector<float> grid;
  for (float v = -12.0f; v <= 12.0f; v += 1.0f / 1024) grid.push_back(v);
  std::vector<double> gref(grid.size());
  for (size_t i = 0; i < grid.size(); ++i) gref[i] = gelu_ref(grid[i]);
  tw.gelu(grid.data(), grid.size());
  std::snprintf(what, sizeof what, "%s gelu grid [-12, 12]", tw.name);
  expect_close(t, what, grid.data(), gref.data(), nullptr, grid.size(), 2e-6, 1e-6);
}

// ops.h end to end: packing (in place and copied), K-blocking, thread splits.
void check_ops(Tally& t, std::mt19937& rng) {
  char what[160];
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    // linear_input + linear_columns (the attention's q, k, v a head at a time): three ranges of 16 columns, out of
    // order, bit for bit the same columns of linear()'s y; and linear() in place (y == x) bit for bit y.
    auto check_columns = [&](const Linear& L, const std::vector<float>& x, int m, Epilogue ep,
                             const std::vector<float>& y, const char* kind) {
      if (L.out % kGemmNR != 0 || L.out < 48) return;
      LinearInput in;
      linear_input(&pool, x.data(), m, L, &in);
      const int col0[3] = {L.out - 16, 0, 16}, cols = 16;
      std::vector<float> part(size_t(m) * 3 * cols, kNaN);
      linear_columns(&pool, in, L, col0, 3, cols, part.data(), ep);
      bool same = true;
      for (int r = 0; r < m; ++r)
        for (int j = 0; j < 3; ++j)
          same = same && std::memcmp(&part[(size_t(r) * 3 + j) * cols], &y[size_t(r) * L.out + col0[j]], cols * 4) == 0;
      std::snprintf(what, sizeof what, "ops linear_columns %s threads=%d m=%d n=%d k=%d ep=%d = linear's columns", kind,
                    threads, m, L.out, L.in, int(ep));
      expect_true(t, same, what);
    };
    for (bool i8 : {false, true}) {
      const int m = 37, n = 64;
      auto x = random_vec(rng, size_t(m) * n), w = random_vec(rng, size_t(n) * n), b = random_vec(rng, n);
      std::vector<int8_t> qw(size_t(n) * n);
      std::vector<float> sw(n);
      quantize_weights_i8(w.data(), n, n, qw.data(), sw.data());
      Linear L;
      L.bias = b.data();
      L.out = L.in = n;
      if (i8) {
        L.qweight = qw.data();
        L.wscale = sw.data();
        prepare_linear(L, qw.data());
      } else {
        L.weight = w.data();
        prepare_linear(L, w.data());
      }
      std::vector<float> y(x.size(), kNaN), inplace = x;
      linear(&pool, x.data(), m, L, y.data());
      linear(&pool, inplace.data(), m, L, inplace.data());
      std::snprintf(what, sizeof what, "ops linear %s in place threads=%d = out of place", i8 ? "int8" : "f32", threads);
      expect_true(t, std::memcmp(inplace.data(), y.data(), y.size() * 4) == 0, what);
    }
    struct S { int m, n, k; };
    for (S s : {S{197, 384, 1536}, S{197, 24, 3000}, S{1, 1000, 768}, S{17, 10, 7}, S{5, 3, 1025}, S{257, 1152, 384}}) {
      for (Epilogue ep : {Epilogue::None, Epilogue::GeluErf}) {
        auto x = random_vec(rng, size_t(s.m) * s.k), w = random_vec(rng, size_t(s.n) * s.k), b = random_vec(rng, s.n);
        std::vector<double> ref, scale;
        gemm_ref(s.m, s.n, s.k, x.data(), s.k, w.data(), b.data(), ep, ref, scale);
        std::vector<float> storage = w;  // the weight's slot in the stream: prepare_linear may rewrite it
        Linear L;
        L.weight = storage.data();
        L.bias = b.data();
        L.out = s.n;
        L.in = s.k;
        prepare_linear(L, storage.data());
        std::vector<float> y(size_t(s.m) * s.n, kNaN);
        linear(&pool, x.data(), s.m, L, y.data(), ep);
        std::snprintf(what, sizeof what, "ops linear threads=%d m=%d n=%d k=%d ep=%d", threads, s.m, s.n, s.k, int(ep));
        expect_close(t, what, y.data(), ref.data(), scale.data(), y.size(), 1e-6, 2e-6);
        check_columns(L, x, s.m, ep, y, "f32");
      }
    }
    // int8 Linear: packed in place (n % 8 == 0, even k) or copied (odd n or k), and unprepared; all within the
    // quantization bound of the f32 product, and prepared == unprepared bit for bit where no GELU is involved.
    for (S s : {S{197, 384, 1536}, S{197, 24, 3000}, S{1, 1000, 768}, S{17, 10, 7}, S{5, 3, 1025}, S{257, 1152, 384}}) {
      for (Epilogue ep : {Epilogue::None, Epilogue::GeluErf, Epilogue::Relu}) {
        auto x = random_vec(rng, size_t(s.m) * s.k), w = random_vec(rng, size_t(s.n) * s.k), b = random_vec(rng, s.n);
        std::vector<int8_t> qw(size_t(s.n) * s.k);
        std::vector<float> sw(s.n);
        quantize_weights_i8(w.data(), s.n, s.k, qw.data(), sw.data());
        std::vector<double> ref, scale;
        gemm_ref(s.m, s.n, s.k, x.data(), s.k, w.data(), b.data(), ep, ref, scale);
        std::vector<int16_t> qa(gemm_i8_packed_a_values(s.m, s.k));
        std::vector<float> sa(size_t(gemm_row_blocks(s.m)) * 4);
        gemm_i8_quantize_a_scalar(x.data(), s.k, s.m, s.k, 0, gemm_row_blocks(s.m), qa.data(), sa.data(), kGemmI8Max);
        const I8Ref R = gemm_i8_ref(s.m, s.n, s.k, qa.data(), sa.data(), qw.data(), sw.data(), b.data());
        std::vector<double> tol(ref.size());
        for (size_t i = 0; i < tol.size(); ++i) tol[i] = 1.13 * (1.0001 * R.bound[i] + 1e-6 * scale[i]) + 1e-6;
        std::vector<int8_t> storage = qw;
        Linear L, U;
        L.qweight = storage.data();
        L.wscale = sw.data();
        L.bias = b.data();
        L.out = s.n;
        L.in = s.k;
        U = L;
        U.qweight = qw.data();
        prepare_linear(L, storage.data());
        if (s.n % kGemmNR == 0 && s.k % kGemmI8KStep == 0 && threads == 1 && ep == Epilogue::None) {
          // Packed in the qweight's own slot (no copy: the Linear holds ~0.25x the f32 weight's bytes).
          std::vector<int8_t> want(gemm_i8_packed_bytes(s.n, s.k));
          gemm_i8_pack(qw.data(), s.n, s.k, want.data());
          std::snprintf(what, sizeof what, "ops prepare_linear int8 n=%d k=%d packs in place", s.n, s.k);
          expect_true(t, want.size() == storage.size() && want == storage, what);
        }
        std::vector<float> y(size_t(s.m) * s.n, kNaN), yu(y.size(), kNaN);
        linear(&pool, x.data(), s.m, L, y.data(), ep);
        linear(&pool, x.data(), s.m, U, yu.data(), ep);
        check_columns(L, x, s.m, ep, y, "int8");
        std::snprintf(what, sizeof what, "ops linear int8 threads=%d m=%d n=%d k=%d ep=%d", threads, s.m, s.n, s.k, int(ep));
        expect_close(t, what, y.data(), ref.data(), tol.data(), y.size(), 0, 1.0);
        std::snprintf(what, sizeof what, "ops linear int8 unprepared threads=%d m=%d n=%d k=%d ep=%d", threads, s.m, s.n,
                      s.k, int(ep));
        expect_close(t, what, yu.data(), ref.data(), tol.data(), yu.size(), 0, 1.0);
        if (ep != Epilogue::GeluErf) {
          std::snprintf(what, sizeof what, "ops linear int8 prepared == unprepared threads=%d m=%d n=%d k=%d", threads,
                        s.m, s.n, s.k);
          expect_true(t, std::memcmp(y.data(), yu.data(), y.size() * 4) == 0, what);
        }
      }
    }
    // A Linear used without prepare_linear takes the plain path.
    {
      auto x = random_vec(rng, size_t(3) * 20), w = random_vec(rng, size_t(9) * 20);
      std::vector<double> ref, scale;
      gemm_ref(3, 9, 20, x.data(), 20, w.data(), nullptr, Epilogue::Relu, ref, scale);
      Linear L;
      L.weight = w.data();
      L.out = 9;
      L.in = 20;
      std::vector<float> y(27, kNaN);
      linear(&pool, x.data(), 3, L, y.data(), Epilogue::Relu);
      std::snprintf(what, sizeof what, "ops linear unprepared threads=%d", threads);
      expect_close(t, what, y.data(), ref.data(), scale.data(), y.size(), 1e-6, 2e-6);
    }
    struct A { int T, H, hd; };
    // 1600 tokens: past ops.cpp's switch to key tiles (online softmax).
    for (A a : {A{197, 6, 64}, A{257, 12, 64}, A{1600, 2, 64}, A{7, 3, 8}, A{5, 2, 12}, A{1, 1, 64}}) {
      const int D = a.H * a.hd;
      auto qkv = random_vec(rng, size_t(a.T) * 3 * D, -2.0f, 2.0f);
      std::vector<double> ref;
      attention_ref(qkv.data(), a.T, a.H, a.hd, ref);
      std::vector<float> out(size_t(a.T) * D, kNaN), scratch(attention_scratch_floats(a.T, a.H, a.hd, pool.size()), kNaN);
      attention(&pool, qkv.data(), a.T, a.H, a.hd, out.data(), scratch.data());
      std::snprintf(what, sizeof what, "ops attention threads=%d T=%d heads=%d head_dim=%d", threads, a.T, a.H, a.hd);
      expect_close(t, what, out.data(), ref.data(), nullptr, out.size(), 2e-5, 0);
      // Integer attention through the same split: within its bound, and bit for bit the plain twin run head by
      // head with the same key tiles (ops.cpp's tiling: key tiles of 256 from 1536 tokens). A head size the
      // integer kernel does not take (12) runs the f32 path: the Float result bit for bit.
      std::vector<float> out_i(out.size(), kNaN);
      std::fill(scratch.begin(), scratch.end(), kNaN);
      attention(&pool, qkv.data(), a.T, a.H, a.hd, out_i.data(), scratch.data(), AttentionMath::Integer);
      if (attention_i8_supported(a.hd)) {
        std::vector<double> tol;
        attention_i8_tolerance(qkv.data(), a.T, a.H, a.hd, tol);
        std::snprintf(what, sizeof what, "ops attention integer threads=%d T=%d heads=%d head_dim=%d", threads, a.T,
                      a.H, a.hd);
        expect_close(t, what, out_i.data(), ref.data(), tol.data(), out_i.size(), 0, 1);
        const std::vector<float> want = run_attention_i8(all_twins().back(), qkv, a.T, a.H, a.hd, a.T >= 1536 ? 256 : 0);
        std::snprintf(what, sizeof what, "ops attention integer threads=%d T=%d heads=%d = the kernel bit for bit",
                      threads, a.T, a.H);
        expect_true(t, std::memcmp(out_i.data(), want.data(), want.size() * sizeof(float)) == 0, what);
      } else {
        std::snprintf(what, sizeof what, "ops attention integer threads=%d head_dim=%d falls back to f32 bit for bit",
                      threads, a.hd);
        expect_true(t, std::memcmp(out_i.data(), out.data(), out.size() * sizeof(float)) == 0, what);
      }
    }
    {
      const int rows = 197, dim = 768;
      auto x = random_vec(rng, size_t(rows) * dim, -3.0f, 3.0f), g = random_vec(rng, dim), b = random_vec(rng, dim);
      std::vector<double> ref;
      layernorm_ref(x.data(), rows, dim, g.data(), b.data(), 1e-12, ref);
      layernorm(&pool, x.data(), rows, dim, g.data(), b.data(), 1e-12f, x.data());  // in place
      std::snprintf(what, sizeof what, "ops layernorm in place threads=%d", threads);
      expect_close(t, what, x.data(), ref.data(), nullptr, x.size(), 2e-5, 1e-5);
    }
  }
}

// More pool threads than the WASM build pre-creates (PTHREAD_POOL_SIZE=4 for these programs): workers whose
// pthread cannot start while main() blocks must not stall parallel_for (the caller runs their chunks), and
// destroying the pools must not wait for them.
void check_pool_oversubscribed(Tally& t) {
  bool ok = true;
  {
    std::vector<std::unique_ptr<ThreadPool>> pools;
    for (int i = 0; i < 3; ++i) pools.push_back(std::make_unique<ThreadPool>(3));
    for (int it = 0; it < 200; ++it) {
      for (auto& p : pools) {
        std::vector<int> hits(1000, 0);
        p->parallel_for(1000, [&](int a, int b) {
          for (int i = a; i < b; ++i) ++hits[i];
        });
        for (int h : hits) ok = ok && h == 1;
      }
    }
  }
  if (ok) ++t.passed;
  else {
    ++t.failed;
    std::printf("FAIL thread pools beyond the pre-created workers: some index not visited exactly once\n");
  }
}

// The plain SHA-256 against FIPS 180-4's examples (it is the oracle below), then each sha256_x4 twin against it
// on four different messages per call, at lengths around the padding edges (55/56/63/64 bytes) and beyond.
void check_sha256(Tally& t, std::mt19937& rng) {
  const struct { const char* msg; const char* hex; } known[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  for (const auto& k : known) {
    const std::string got = sha256_hex(reinterpret_cast<const uint8_t*>(k.msg), std::strlen(k.msg));
    if (got == k.hex) ++t.passed;
    else {
      ++t.failed;
      std::printf("FAIL sha256(\"%s\") = %s, want %s\n", k.msg, got.c_str(), k.hex);
    }
  }
  using X4 = void (*)(const uint8_t* const[4], size_t, uint8_t[4][32]);
  std::vector<std::pair<const char*, X4>> twins = {{"scalar", sha256_x4_scalar}};
#if defined(__wasm_simd128__)
  twins.push_back({"wasmsimd", sha256_x4_wasmsimd});
#endif
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t size : {size_t(0), size_t(1), size_t(55), size_t(56), size_t(63), size_t(64), size_t(65), size_t(119),
                      size_t(128), size_t(1000), size_t(65536 + 7)}) {
    std::vector<uint8_t> buf(4 * size + 4);
    for (auto& b : buf) b = static_cast<uint8_t>(byte(rng));
    // Unaligned and distinct starts, so a lane mix-up or an aligned-load assumption shows.
    const uint8_t* data[4] = {buf.data() + 1, buf.data() + 1 + size + 1, buf.data() + 2 + 2 * size + 1,
                              buf.data() + 3 + 3 * size};
    for (const auto& tw : twins) {
      uint8_t got[4][32];
      std::memset(got, 0, sizeof got);
      tw.second(data, size, got);
      bool ok = true;
      for (int l = 0; l < 4; ++l) {
        uint8_t want[32];
        sha256(data[l], size, want);
        ok = ok && std::memcmp(got[l], want, 32) == 0;
      }
      if (ok) ++t.passed;
      else {
        ++t.failed;
        std::printf("FAIL sha256_x4_%s, %zu bytes: differs from sha256()\n", tw.first, size);
      }
    }
  }
}

}  // namespace

int main() {
  Tally t;
  std::mt19937 rng(12345);
  const std::vector<Twins> twins = all_twins();
  for (const Twins& tw : twins) {
    check_gemm(t, tw, rng);
    const int before = t.passed + t.failed;
    check_gemm_i8(t, tw, rng);
    std::printf("kernel-check section: %s gemm_i8 %d checks\n", tw.name, t.passed + t.failed - before);
    check_attention(t, tw, twins.front(), rng);
    const int before_attention = t.passed + t.failed;
    check_attention_i8(t, tw, twins.front(), rng);
    std::printf("kernel-check section: %s attention_i8 %d checks\n", tw.name, t.passed + t.failed - before_attention);
    check_elementwise(t, tw, rng);
  }
  check_ops(t, rng);
  check_pool_oversubscribed(t);
  check_sha256(t, rng);
  std::printf("kernel-check: %d passed, %d failed\n", t.passed, t.failed);
  return t.failed == 0 ? 0 : 1;
}
