// SHA-256 (FIPS 180-4), used to verify each weight chunk where it lies in memory: the same check in Node, in
// browsers and natively, with no dependency on a platform crypto API.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace vitrine {

void sha256(const uint8_t* data, size_t size, uint8_t digest[32]);
std::string sha256_hex(const uint8_t* data, size_t size);

// For the multi-message kernels (kernels/sha256x4-*.cpp), which share the constants and the padding:
extern const uint32_t kSha256K[64];   // round constants
extern const uint32_t kSha256H0[8];   // initial hash value
// Writes the padded final block(s) of a message of `size` bytes (its last size % 64 bytes, 0x80, zeros, the
// 64-bit big-endian bit length) to tail; returns their length, 64 or 128.
size_t sha256_tail(const uint8_t* data, size_t size, uint8_t tail[128]);

}  // namespace vitrine
