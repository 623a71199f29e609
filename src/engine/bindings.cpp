// embind glue: the Engine as JavaScript sees it (src/js/engine.js wraps this into the public API). Fallible calls
// return an error string ('' = ok) because the WASM build has C++ exceptions off. Addresses are plain numbers
// into Module.HEAPU8; views returned here alias the heap and are valid only until the next engine call.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <vector>

#include "engine.h"

using namespace emscripten;
using vitrine::Engine;

namespace {

uintptr_t chunk_target(Engine& e, int i) { return reinterpret_cast<uintptr_t>(e.chunk_target(i)); }
uintptr_t input_buffer(Engine& e, double n) {
  if (!(n >= 0) || n > double(SIZE_MAX / 2)) return 0;
  return reinterpret_cast<uintptr_t>(e.input_buffer(static_cast<size_t>(n)));
}
std::string begin_load(Engine& e, const std::string& json) { return e.begin_load(json).error; }
// sizes: a JS array of byte counts for chunks first, first + 1, ...
std::string commit_chunks(Engine& e, int first, val sizes) {
  const std::vector<double> n = vecFromJSArray<double>(sizes);
  std::vector<size_t> nbytes(n.size());
  for (size_t i = 0; i < n.size(); ++i) {
    if (!(n[i] >= 0)) return "commitChunks: bad byte count";
    nbytes[i] = static_cast<size_t>(n[i]);
  }
  return e.commit_chunks(first, static_cast<int>(nbytes.size()), nbytes.data()).error;
}
std::string finish_load(Engine& e) { return e.finish_load().error; }
std::string preprocess(Engine& e, double n, bool exif, double max_pixels) {
  if (!(n >= 0)) return "preprocess: bad byte count";
  vitrine::PreprocessOptions o;
  o.apply_exif_orientation = exif;
  if (max_pixels > 0) o.max_pixels = static_cast<int64_t>(max_pixels);
  return e.preprocess(static_cast<size_t>(n), o).error;
}
val pixels(Engine& e) {
  return val(typed_memory_view(size_t(e.pixels_height()) * e.pixels_width() * 3, e.pixels()));
}
uintptr_t pixels_address(Engine& e) { return reinterpret_cast<uintptr_t>(e.pixels()); }
std::string forward(Engine& e, uintptr_t address, int h, int w) {
  return e.forward(reinterpret_cast<const float*>(address), h, w).error;
}
val last_hidden_state(Engine& e) {
  const float* p = e.last_hidden_state();
  if (!p) return val::null();
  return val(typed_memory_view(size_t(e.num_tokens()) * e.hidden_size(), p));
}
val logits(Engine& e) {
  const float* p = e.logits();
  if (!p) return val::null();
  return val(typed_memory_view(size_t(e.num_labels()), p));
}
// Owned copies: these are small, and a copy cannot go stale when memory grows.
val to_f32(const std::vector<float>& v) {
  val out = val::global("Float32Array").new_(v.size());
  out.call<void>("set", val(typed_memory_view(v.size(), v.data())));
  return out;
}
val scores(Engine& e) { return to_f32(e.scores()); }
// null for a name that is not a pooling or one the model does not have (infoJson's "poolings" lists them).
val pooled(Engine& e, const std::string& mode) {
  vitrine::Pooling p;
  if (!vitrine::parse_pooling(mode, &p)) return val::null();
  const std::vector<float> v = e.pooled(p);
  return v.empty() ? val::null() : to_f32(v);
}

}  // namespace

EMSCRIPTEN_BINDINGS(vitrine) {
  class_<Engine>("Engine")
      .constructor<int>()
      .function("threads", &Engine::threads)
      .function("beginLoad", &begin_load)
      .function("chunkCount", &Engine::chunk_count)
      .function("chunkTarget", &chunk_target)
      .function("chunkExpectedSize", optional_override([](Engine& e, int i) { return double(e.chunk_expected_size(i)); }))
      .function("chunkFile", &Engine::chunk_file)
      .function("commitChunks", &commit_chunks)
      .function("finishLoad", &finish_load)
      .function("abortLoad", &Engine::abort_load)
      .function("loaded", &Engine::loaded)
      .function("infoJson", &Engine::info_json)
      .function("inputBuffer", &input_buffer)
      .function("preprocess", &preprocess)
      .function("pixels", &pixels)
      .function("pixelsAddress", &pixels_address)
      .function("pixelsHeight", &Engine::pixels_height)
      .function("pixelsWidth", &Engine::pixels_width)
      .function("forward", &forward)
      .function("lastHiddenState", &last_hidden_state)
      .function("numTokens", &Engine::num_tokens)
      .function("hiddenSize", &Engine::hidden_size)
      .function("logits", &logits)
      .function("numLabels", &Engine::num_labels)
      .function("scores", &scores)
      .function("pooled", &pooled);
}
