// The .npy reader of the native test drivers (src/engine/npy.h): any bytes give a Status, and on success the
// shape's product is exactly the number of floats read.
#include <cstddef>
#include <cstdint>

#include "npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<float> values;
  std::vector<int64_t> shape;
  if (!vitrine::npy::parse_f32(data, size, "fuzz.npy", &values, &shape).ok()) return 0;
  uint64_t count = 1;
  for (int64_t d : shape) count *= uint64_t(d);
  if (count != values.size()) __builtin_trap();
  return 0;
}
