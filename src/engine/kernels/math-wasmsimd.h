// Vectorised transcendental functions for the WASM SIMD kernels (header-only so they inline into the GEMM
// epilogue, softmax and activations). Include only from *-wasmsimd.cpp files.
#pragma once
#include <wasm_simd128.h>

#include "kernels.h"

namespace vitrine {
namespace kernels {
namespace simd {

// Every min/max in the SIMD kernels is f32x4.pmin/pmax ("b < a ? b : a"): V8 emits one minps/maxps for those,
// but ~8 instructions for f32x4.min/max, whose IEEE NaN and ±0 rules x86's minps does not follow. Measured:
// with f32x4.max/min the attention softmax cost 0.6x one of its two matrix products, with pmax/pmin 0.3x.
inline v128_t splat(float v) { return wasm_f32x4_splat(v); }
inline v128_t madd(v128_t a, v128_t b, v128_t c) { return wasm_f32x4_add(wasm_f32x4_mul(a, b), c); }

// exp(x), Cephes-style (constants: kernels.h ExpPoly, which the plain twin of the integer attention evaluates
// too): x = n·ln2 + r with |r| <= ln2/2, degree-6 polynomial for exp(r), 2^n built in the exponent bits. Max
// relative error ~2 ulp on [-87, 88]; inputs below -87 return ~1e-38 (softmax arguments are <= 0, so that is
// "zero" for every use here), above 88 are clamped.
inline v128_t exp(v128_t x) {
  using E = ExpPoly;
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, splat(E::kMin)), splat(E::kMax));
  // Round-to-integer by adding 1.5·2^23 (+127, the exponent bias): the low mantissa bits of `vn` then hold
  // n + 127, which shifted into the exponent field is 2^n — cheaper than nearest + float->int conversion
  // (V8's i32x4.trunc_sat_f32x4_s is a long instruction sequence on x64).
  const v128_t magic = splat(E::kMagic);
  v128_t vn = madd(x, splat(E::kLog2e), magic);
  const v128_t two_n = wasm_i32x4_shl(vn, 23);
  const v128_t n = wasm_f32x4_sub(vn, magic);
  // ln2 split in two so that n·ln2_hi is exact: r keeps full precision.
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, splat(E::kLn2Hi)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, splat(E::kLn2Lo)));
  v128_t p = splat(E::kC0);
  p = madd(p, r, splat(E::kC1));
  p = madd(p, r, splat(E::kC2));
  p = madd(p, r, splat(E::kC3));
  p = madd(p, r, splat(E::kC4));
  p = madd(p, r, splat(E::kC5));
  p = madd(p, wasm_f32x4_mul(r, r), wasm_f32x4_add(r, splat(1.0f)));
  return wasm_f32x4_mul(p, two_n);
}

// erf(x) as a rational function (odd degree-13 numerator / even degree-8 denominator) on x clamped to [-4, 4],
// where erf is ±1 in float anyway. Absolute error < 1e-6 over the real line (checked in kernel_check).
// Coefficients: the minimax fit used by Eigen / TensorFlow (generic_fast_erf_float).
inline v128_t erf(v128_t a) {
  const v128_t x = wasm_f32x4_pmin(wasm_f32x4_pmax(a, splat(-4.0f)), splat(4.0f));
  const v128_t x2 = wasm_f32x4_mul(x, x);
  v128_t p = splat(-2.72614225801306e-10f);
  p = madd(x2, p, splat(2.77068142495902e-08f));
  p = madd(x2, p, splat(-2.10102402082508e-06f));
  p = madd(x2, p, splat(-5.69250639462346e-05f));
  p = madd(x2, p, splat(-7.34990630326855e-04f));
  p = madd(x2, p, splat(-2.95459980854025e-03f));
  p = madd(x2, p, splat(-1.60960333262415e-02f));
  p = wasm_f32x4_mul(x, p);
  v128_t q = splat(-1.45660718464996e-05f);
  q = madd(x2, q, splat(-2.13374055278905e-04f));
  q = madd(x2, q, splat(-1.68282697438203e-03f));
  q = madd(x2, q, splat(-7.37332916720468e-03f));
  q = madd(x2, q, splat(-1.42647390514189e-02f));
  return wasm_f32x4_div(p, q);
}

// GELU with the exact (erf) definition: 0.5·x·(1 + erf(x/√2)).
inline v128_t gelu(v128_t x) {
  const v128_t e = erf(wasm_f32x4_mul(x, splat(0.70710678118654752f)));
  return wasm_f32x4_mul(wasm_f32x4_mul(x, splat(0.5f)), wasm_f32x4_add(e, splat(1.0f)));
}

// silu(x) = x / (1 + exp(-x))
inline v128_t silu(v128_t x) {
  return wasm_f32x4_div(x, wasm_f32x4_add(splat(1.0f), exp(wasm_f32x4_neg(x))));
}

}  // namespace simd
}  // namespace kernels
}  // namespace vitrine
