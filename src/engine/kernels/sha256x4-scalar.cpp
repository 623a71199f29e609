// Plain twin of sha256x4-wasmsimd.cpp: four messages, one after the other, through the FIPS 180-4 code in
// sha256.cpp. It is the oracle the SIMD twin is checked against and what native builds run.
#include "../sha256.h"
#include "kernels.h"

namespace vitrine {
namespace kernels {

void sha256_x4_scalar(const uint8_t* const data[4], size_t size, uint8_t digest[4][32]) {
  for (int l = 0; l < 4; ++l) sha256(data[l], size, digest[l]);
}

}  // namespace kernels
}  // namespace vitrine
