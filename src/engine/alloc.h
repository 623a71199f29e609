// Probing an allocation before making it. The WASM build has no C++ exceptions: a std::vector or new[] that
// cannot get its memory aborts the whole module. Every allocation whose size depends on the input (images,
// activations, the input buffer) is probed with malloc first and reported as Code::Memory when it fails.
#pragma once
#include <cstdint>
#include <cstdlib>

namespace vitrine {

// Whether `bytes` can be allocated now. The pointer passes through a volatile: an unused malloc/free pair is
// otherwise removed by the optimiser (clang -O3 does), which then assumes the allocation succeeded.
inline bool can_allocate(uint64_t bytes) {
  if (bytes > SIZE_MAX) return false;
  void* volatile probe = std::malloc(static_cast<size_t>(bytes));
  const bool ok = probe != nullptr;
  std::free(probe);
  return ok;
}

}  // namespace vitrine
