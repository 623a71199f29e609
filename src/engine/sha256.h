// SHA-256 (FIPS 180-4), used to verify each weight chunk where it lies in memory: the same check in Node, in
// browsers and natively, with no dependency on a platform crypto API.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace vitrine {

void sha256(const uint8_t* data, size_t size, uint8_t digest[32]);
std::string sha256_hex(const uint8_t* data, size_t size);

}  // namespace vitrine
