// manifest.json → parse_manifest: any text gives a Status (never a throw, abort or sanitizer report). An accepted
// manifest must describe a stream the loader can trust: every tensor inside it, chunks tiling it exactly, and
// info_json valid JSON.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  vitrine::Manifest m;
  if (!vitrine::parse_manifest(text, &m).ok()) return 0;
  for (const vitrine::TensorInfo& t : m.tensors)
    if (t.offset % 64 || t.bytes > m.stream_size || t.offset > m.stream_size - t.bytes) __builtin_trap();
  uint64_t total = 0;
  for (const vitrine::ChunkInfo& c : m.chunks) {
    if (c.size == 0 || c.size > m.chunk_size) __builtin_trap();
    total += c.size;
  }
  if (total != m.stream_size) __builtin_trap();
  if (!nlohmann::json::accept(m.info_json)) __builtin_trap();
  return 0;
}
