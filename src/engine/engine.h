// One Engine = one loaded model + its thread pool + its buffers. No global state: two Engines in one process
// (or one WASM module) are independent. JavaScript drives it through bindings.cpp; the native test driver
// (native_main.cpp) drives the same class directly.
//
// Loading follows docs/FORMAT.md §8: begin_load() validates the whole manifest and only then allocates the
// stream buffer; the caller copies each chunk straight to chunk_target(i) and calls commit_chunk(i) (or
// commit_chunks for a run of them, hashed four at a time per thread), which checks length and SHA-256; finish_load() binds the tensors and swaps the new model in. Until
// finish_load() succeeds, a previously loaded model keeps working, and a failed load frees what it took.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pooling.h"
#include "profile.h"
#include "status.h"

namespace vitrine {

class ThreadPool;
struct Manifest;

// The engine memory a model takes at least, from its manifest alone (validated as begin_load does): the weight
// stream as allocated (f16 widened to f32) and the activations of one forward at the model's own image size on
// `threads` threads. Packed copies of weights that some kernels make are not counted (a lower bound).
struct MemoryNeed {
  uint64_t weights = 0, activations = 0;
};
Status memory_need(const std::string& manifest_json, int threads, MemoryNeed* out);
struct Model;
struct ModelState;

struct PreprocessOptions {
  bool apply_exif_orientation = true;  // false = what HF does (PIL does not rotate): exact parity mode
  int64_t max_pixels = 50'000'000;     // images with more pixels are refused from the header alone
};

class Engine {
 public:
  explicit Engine(int threads);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  int threads() const;

  // ---- loading ----
  Status begin_load(const std::string& manifest_json);
  int chunk_count() const;
  uint8_t* chunk_target(int index);          // nullptr if no load is in progress or index is out of range
  size_t chunk_expected_size(int index) const;
  std::string chunk_file(int index) const;    // the chunk's file name from the manifest
  Status commit_chunk(int index, size_t nbytes);
  // Commits chunks first .. first + count - 1 with the given byte counts; the error, if any, is the one of the
  // lowest failing index. Chunks that passed stay committed. `digests` (32 bytes per chunk), when given, are the
  // SHA-256 of the bytes the caller copied to chunk_target(), taken by a faster hasher of the platform (the
  // browser's WebCrypto runs off the engine's threads): they are compared with the manifest's instead of hashing
  // the chunks again, so a wrong chunk is still Code::ChunkHash.
  Status commit_chunks(int first, int count, const size_t* nbytes, const uint8_t* digests = nullptr);
  Status finish_load();
  void abort_load();
  bool loaded() const;
  std::string info_json() const;             // the active model's facts (family, sizes, labels, poolings, ...)

  // ---- inputs ----
  // A buffer owned by the engine for the caller to fill (encoded image bytes, or CHW float pixels); nullptr when
  // that much memory cannot be had (the caller reports Code::Memory).
  uint8_t* input_buffer(size_t nbytes);

  // Decode + preprocess `nbytes` of encoded image in the input buffer with the model's preprocess config.
  Status preprocess(size_t nbytes, const PreprocessOptions& options);
  const float* pixels() const;               // CHW, normalised, valid after preprocess()
  int pixels_height() const;
  int pixels_width() const;

  // Forward on CHW pixels (pointer may be pixels() or input_buffer()). height/width must be multiples of the
  // patch size; ViT/DeiT need exactly image_size.
  Status forward(const float* pixels, int height, int width);
  const float* last_hidden_state() const;    // [num_tokens, hidden], after the final LayerNorm (if the family has one)
  int num_tokens() const;
  int hidden_size() const;
  const float* logits() const;               // [num_labels] or nullptr when the model has no classifier
  int num_labels() const;
  // Scores from the last forward: softmax over logits, or sigmoid when there is one logit or the head says so.
  // Code::NoClassifier for a model without classifier.
  Status scores(std::vector<float>* out) const;
  // Scores of the model's own classifier on the last forward while a head is attached in its place (without one,
  // scores()): the same last_hidden_state, so the backbone does not run again, and the same numbers scores() gives
  // after detach_head() and a forward. Code::NoClassifier when the model has no classifier of its own.
  Status own_scores(std::vector<float>* out);
  // Pooled embedding of the last forward; Code::Input for a pooling the model does not offer (info "poolings").
  Status pooled(Pooling pooling, std::vector<float>* out) const;

  // ---- heads (docs/FORMAT.md "Head files") ----
  // Replaces the loaded model's classifier with a head: `head_json` is an architecture.head object (pooling,
  // layers, output) giving `num_labels` outputs; `weights` holds each linear layer's weight [out, in] then bias
  // [out], layer after layer (`count` floats, copied). The forward pass runs it as it runs a manifest's
  // `classifier: "head"`. Code::Head for anything refused; the model is then unchanged.
  Status attach_head(const std::string& head_json, int num_labels, const float* weights, size_t count);
  // Back to the model's own classifier (a no-op without an attached head).
  void detach_head();
  std::string backbone_fingerprint() const;  // "" when no model is loaded

  // ---- stage profile (profile.h) ----
  // Switching on starts the totals from zero; they accumulate over every forward until switched off (and stay
  // readable then). Kept across model loads: it belongs to this engine, not to the weights.
  void set_profiling(bool on);
  const Profile& profile() const { return profile_; }

 private:
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<ModelState> active_;
  std::unique_ptr<ModelState> pending_;
  std::vector<uint8_t> input_;
  std::vector<float> pixels_;
  int pixels_h_ = 0, pixels_w_ = 0;
  Profile profile_;
};

}  // namespace vitrine
