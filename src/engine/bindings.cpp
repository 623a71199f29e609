// embind glue: the Engine as JavaScript sees it (src/js/index.js wraps this into the public API). Fallible calls
// return null on success or a plain object { code: 'E_…', message } (status.h's code_name), because the WASM
// build has C++ exceptions off; JS turns that into a VitrineError one to one (src/js/errors.js). Addresses are
// plain numbers into Module.HEAPU8; views returned here alias the heap and are valid only until the next engine
// call.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <vector>

#include "engine.h"
#include "families/family.h"
#include "manifest.h"

using namespace emscripten;
using vitrine::Code;
using vitrine::Engine;
using vitrine::Status;

namespace {

val error_value(const Status& st) {
  val e = val::object();
  e.set("code", std::string(vitrine::code_name(st.code)));
  e.set("message", st.error);
  return e;
}
val result(const Status& st) { return st.ok() ? val::null() : error_value(st); }

uintptr_t chunk_target(Engine& e, int i) { return reinterpret_cast<uintptr_t>(e.chunk_target(i)); }
uintptr_t input_buffer(Engine& e, double n) {
  if (!(n >= 0) || n > double(SIZE_MAX / 2)) return 0;
  return reinterpret_cast<uintptr_t>(e.input_buffer(static_cast<size_t>(n)));
}
val begin_load(Engine& e, const std::string& json) { return result(e.begin_load(json)); }
// sizes: a JS array of byte counts for chunks first, first + 1, ...
val commit_chunks(Engine& e, int first, val sizes) {
  const std::vector<double> n = vecFromJSArray<double>(sizes);
  std::vector<size_t> nbytes(n.size());
  for (size_t i = 0; i < n.size(); ++i) {
    if (!(n[i] >= 0)) return error_value(Status::Err(Code::Load, "commitChunks: bad byte count"));
    nbytes[i] = static_cast<size_t>(n[i]);
  }
  return result(e.commit_chunks(first, static_cast<int>(nbytes.size()), nbytes.data()));
}
// The same with the chunks' SHA-256 taken by the caller (Engine::commit_chunks): `digests` is their lowercase hex,
// 64 characters per chunk, concatenated.
val commit_chunks_hashed(Engine& e, int first, val sizes, const std::string& digests) {
  const std::vector<double> n = vecFromJSArray<double>(sizes);
  if (digests.size() != 64 * n.size()) return error_value(Status::Err(Code::Load, "commitChunksHashed: one 64-digit hex digest per chunk"));
  std::vector<size_t> nbytes(n.size());
  std::vector<uint8_t> raw(32 * n.size());
  for (size_t i = 0; i < n.size(); ++i) {
    if (!(n[i] >= 0)) return error_value(Status::Err(Code::Load, "commitChunksHashed: bad byte count"));
    nbytes[i] = static_cast<size_t>(n[i]);
    if (!vitrine::parse_hex32(digests.substr(64 * i, 64), raw.data() + 32 * i))
      return error_value(Status::Err(Code::Load, "commitChunksHashed: digests must be lowercase hex"));
  }
  return result(e.commit_chunks(first, static_cast<int>(nbytes.size()), nbytes.data(), raw.data()));
}
val finish_load(Engine& e) { return result(e.finish_load()); }
// { weights, activations } in bytes (vitrine::memory_need), or { code, message } for a manifest the engine refuses.
val memory_need(const std::string& manifest_json, int threads) {
  vitrine::MemoryNeed need;
  Status st = vitrine::memory_need(manifest_json, threads, &need);
  if (!st.ok()) return error_value(st);
  val out = val::object();
  out.set("weights", double(need.weights));
  out.set("activations", double(need.activations));
  return out;
}
val preprocess(Engine& e, double n, bool exif, double max_pixels) {
  if (!(n >= 0)) return error_value(Status::Err(Code::Image, "preprocess: bad byte count"));
  vitrine::PreprocessOptions o;
  o.apply_exif_orientation = exif;
  if (max_pixels > 0) o.max_pixels = static_cast<int64_t>(max_pixels);
  return result(e.preprocess(static_cast<size_t>(n), o));
}
val pixels(Engine& e) {
  return val(typed_memory_view(size_t(e.pixels_height()) * e.pixels_width() * 3, e.pixels()));
}
uintptr_t pixels_address(Engine& e) { return reinterpret_cast<uintptr_t>(e.pixels()); }
val forward(Engine& e, uintptr_t address, int h, int w) {
  return result(e.forward(reinterpret_cast<const float*>(address), h, w));
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
// A Float32Array, or { code, message } (E_NO_CLASSIFIER for a model without classifier).
val scores(Engine& e) {
  std::vector<float> out;
  Status st = e.scores(&out);
  return st.ok() ? to_f32(out) : error_value(st);
}
// The model's own classifier's scores beside an attached head (Engine::own_scores): a Float32Array, or
// { code, message } (E_NO_CLASSIFIER for a model without a classifier of its own).
val own_scores(Engine& e) {
  std::vector<float> out;
  Status st = e.own_scores(&out);
  return st.ok() ? to_f32(out) : error_value(st);
}
// A Float32Array, or { code, message }.
val pooled(Engine& e, const std::string& mode) {
  vitrine::Pooling p;
  if (!vitrine::parse_pooling(mode, &p)) return error_value(Status::Err(Code::Input, "unknown pooling \"" + mode + "\""));
  std::vector<float> out;
  Status st = e.pooled(p, &out);
  return st.ok() ? to_f32(out) : error_value(st);
}

// A head at `address` (count floats in the input buffer, written by JS): null or { code, message } (E_HEAD).
val attach_head(Engine& e, const std::string& head_json, int num_labels, uintptr_t address, double count) {
  if (!(count >= 0)) return error_value(Status::Err(Code::Head, "head: bad weight count"));
  return result(e.attach_head(head_json, num_labels, reinterpret_cast<const float*>(address), static_cast<size_t>(count)));
}

// { stages: [{ name, ms, calls }] in profile.h's Stage order, forwards }: the totals since profiling was switched on.
val profile(Engine& e) {
  const vitrine::Profile& p = e.profile();
  val stages = val::array();
  for (int i = 0; i < vitrine::Profile::kStages; ++i) {
    val s = val::object();
    s.set("name", std::string(vitrine::stage_name(static_cast<vitrine::Stage>(i))));
    s.set("ms", p.ms[i]);
    s.set("calls", double(p.calls[i]));
    stages.call<void>("push", s);
  }
  val out = val::object();
  out.set("stages", stages);
  out.set("forwards", double(p.forwards));
  return out;
}

// The engine's tensor table for an "architecture" object (JSON text): [{ name, shape, may_i8? }] in stream order, the one
// list the converter writes and the loader checks; or { code, message } naming what the engine refuses.
val tensor_table(const std::string& architecture_json) {
  vitrine::Architecture arch;
  Status st = vitrine::parse_architecture(architecture_json, &arch);
  if (!st.ok()) return error_value(st);
  vitrine::Model scratch;
  const vitrine::TensorTable table = vitrine::tensor_table(arch, &scratch);
  val rows = val::array();
  for (const vitrine::TensorSlot& row : table.rows()) {
    val r = val::object();
    r.set("name", row.name);
    val shape = val::array();
    for (int64_t d : row.shape) shape.call<void>("push", double(d));
    r.set("shape", shape);
    if (row.may_i8) r.set("may_i8", true);  // the converter may store this row as int8 (FORMAT §2)
    rows.call<void>("push", r);
  }
  return rows;
}

// The families this engine knows (families/registry.cpp, the one list); the converter loads a module per name.
val family_names() {
  val out = val::array();
  for (const std::string& name : vitrine::family_list()) out.call<void>("push", name);
  return out;
}

}  // namespace

EMSCRIPTEN_BINDINGS(vitrine) {
  function("tensorTable", &tensor_table);
  function("familyNames", &family_names);
  function("memoryNeed", &memory_need);
  class_<Engine>("Engine")
      .constructor<int>()
      .function("threads", &Engine::threads)
      .function("beginLoad", &begin_load)
      .function("chunkCount", &Engine::chunk_count)
      .function("chunkTarget", &chunk_target)
      .function("chunkExpectedSize", optional_override([](Engine& e, int i) { return double(e.chunk_expected_size(i)); }))
      .function("chunkFile", &Engine::chunk_file)
      .function("commitChunks", &commit_chunks)
      .function("commitChunksHashed", &commit_chunks_hashed)
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
      .function("ownScores", &own_scores)
      .function("pooled", &pooled)
      .function("attachHead", &attach_head)
      .function("detachHead", &Engine::detach_head)
      .function("backboneFingerprint", &Engine::backbone_fingerprint)
      .function("setProfiling", &Engine::set_profiling)
      .function("profile", &profile);
}
