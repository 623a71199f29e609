// SHA-256 of four equal-length messages at once, one message per i32x4 lane ("multi-buffer" hashing).
// Why: verifying the weight chunks at load is integer work that scalar WASM does at ~240 MB/s per thread, the
// largest cost of a load. SHA-256 has no parallelism inside one message, but every chunk of a model except the
// last has the same size, so four chunks can share one instruction stream. WASM SIMD has no rotate, so each
// rotation costs a shift pair + or; even so the four lanes do about 3.5x the work of the scalar code per
// instruction.
#include <wasm_simd128.h>

#include "../sha256.h"
#include "kernels.h"

namespace vitrine {
namespace kernels {
namespace {

template <int n>
inline v128_t rotr(v128_t x) {
  return wasm_v128_or(wasm_u32x4_shr(x, n), wasm_i32x4_shl(x, 32 - n));
}

// Loads 16 bytes of each of the four messages and returns them as 4 vectors of big-endian words, word j of
// message l in lane l of out[j].
inline void load_words(const uint8_t* const p[4], size_t off, v128_t out[4]) {
  v128_t m[4];
  for (int l = 0; l < 4; ++l) {
    m[l] = wasm_v128_load(p[l] + off);
    m[l] = wasm_i8x16_shuffle(m[l], m[l], 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
  }
  const v128_t t0 = wasm_i32x4_shuffle(m[0], m[1], 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(m[2], m[3], 0, 4, 1, 5);
  const v128_t t2 = wasm_i32x4_shuffle(m[0], m[1], 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(m[2], m[3], 2, 6, 3, 7);
  out[0] = wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5);
  out[1] = wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7);
  out[2] = wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5);
  out[3] = wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7);
}

// One 64-byte block of each message (block at p[l] + off).
void compress4(v128_t h[8], const uint8_t* const p[4], size_t off) {
  v128_t w[64];
  for (int j = 0; j < 4; ++j) load_words(p, off + 16 * j, w + 4 * j);
  for (int i = 16; i < 64; ++i) {
    const v128_t x = w[i - 15], y = w[i - 2];
    const v128_t s0 = wasm_v128_xor(wasm_v128_xor(rotr<7>(x), rotr<18>(x)), wasm_u32x4_shr(x, 3));
    const v128_t s1 = wasm_v128_xor(wasm_v128_xor(rotr<17>(y), rotr<19>(y)), wasm_u32x4_shr(y, 10));
    w[i] = wasm_i32x4_add(wasm_i32x4_add(w[i - 16], s0), wasm_i32x4_add(w[i - 7], s1));
  }
  v128_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; ++i) {
    const v128_t S1 = wasm_v128_xor(wasm_v128_xor(rotr<6>(e), rotr<11>(e)), rotr<25>(e));
    const v128_t ch = wasm_v128_bitselect(f, g, e);                     // e ? f : g, per bit
    const v128_t S0 = wasm_v128_xor(wasm_v128_xor(rotr<2>(a), rotr<13>(a)), rotr<22>(a));
    const v128_t maj = wasm_v128_bitselect(c, a, wasm_v128_xor(a, b));  // a == b ? a : c, per bit
    const v128_t t1 = wasm_i32x4_add(wasm_i32x4_add(hh, S1),
                                     wasm_i32x4_add(ch, wasm_i32x4_add(wasm_i32x4_splat(int32_t(kSha256K[i])), w[i])));
    const v128_t t2 = wasm_i32x4_add(S0, maj);
    hh = g; g = f; f = e; e = wasm_i32x4_add(d, t1); d = c; c = b; b = a; a = wasm_i32x4_add(t1, t2);
  }
  h[0] = wasm_i32x4_add(h[0], a); h[1] = wasm_i32x4_add(h[1], b); h[2] = wasm_i32x4_add(h[2], c);
  h[3] = wasm_i32x4_add(h[3], d); h[4] = wasm_i32x4_add(h[4], e); h[5] = wasm_i32x4_add(h[5], f);
  h[6] = wasm_i32x4_add(h[6], g); h[7] = wasm_i32x4_add(h[7], hh);
}

}  // namespace

void sha256_x4_wasmsimd(const uint8_t* const data[4], size_t size, uint8_t digest[4][32]) {
  v128_t h[8];
  for (int i = 0; i < 8; ++i) h[i] = wasm_i32x4_splat(int32_t(kSha256H0[i]));
  const size_t full = size / 64;
  for (size_t blk = 0; blk < full; ++blk) compress4(h, data, 64 * blk);
  // The messages have equal lengths, so their padded tails have the same length too.
  uint8_t tails[4][128];
  const uint8_t* tp[4];
  size_t tail_len = 0;
  for (int l = 0; l < 4; ++l) {
    tail_len = sha256_tail(data[l], size, tails[l]);
    tp[l] = tails[l];
  }
  for (size_t off = 0; off < tail_len; off += 64) compress4(h, tp, off);
  uint32_t words[8][4];
  for (int i = 0; i < 8; ++i) wasm_v128_store(words[i], h[i]);
  for (int l = 0; l < 4; ++l)
    for (int i = 0; i < 8; ++i) {
      digest[l][4 * i] = uint8_t(words[i][l] >> 24);
      digest[l][4 * i + 1] = uint8_t(words[i][l] >> 16);
      digest[l][4 * i + 2] = uint8_t(words[i][l] >> 8);
      digest[l][4 * i + 3] = uint8_t(words[i][l]);
    }
}

}  // namespace kernels
}  // namespace vitrine
