#include "engine.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "alloc.h"
#include "families/family.h"
#include "image/image.h"
#include "kernels/kernels.h"
#include "manifest.h"
#include "model.h"
#include "sha256.h"
#include "threadpool.h"

namespace vitrine {

// Everything one model owns: its validated manifest, the weight stream (one 64-byte-aligned block that chunks are
// copied into and tensors are used from in place), the bound model and its activations.
struct ModelState {
  Manifest manifest;
  uint8_t* stream = nullptr;
  std::vector<bool> committed;
  Model model;
  RunState run;
  bool has_output = false;
  // While a head is attached: the model's own classifier (run beside the head by own_scores, restored by
  // detach_head) and the head's weights.
  struct OwnClassifier {
    Classifier classifier;
    int num_labels;
    HeadSpec head;
    std::vector<Linear> head_layers;
  };
  std::unique_ptr<OwnClassifier> own;
  std::unique_ptr<float[]> head_weights;
  ~ModelState() { std::free(stream); }
};

Engine::Engine(int threads) : pool_(std::make_unique<ThreadPool>(threads < 1 ? 1 : threads)) {}
Engine::~Engine() = default;

int Engine::threads() const { return pool_->size(); }

// The stream begin_load allocates: room for f16 tensors to be expanded to f32 in place (bind_model), whole
// 64-byte lines.
static uint64_t stream_alloc_bytes(const Manifest& m) { return (bound_stream_bytes(m) + 63) / 64 * 64; }

Status memory_need(const std::string& manifest_json, int threads, MemoryNeed* out) {
  Manifest m;
  Status st = parse_manifest(manifest_json, &m);
  if (!st.ok()) return st;
  const int grid = m.arch.grid();
  out->weights = stream_alloc_bytes(m);
  out->activations = activation_sizes(m.arch, grid, grid, threads < 1 ? 1 : threads).bytes();
  return Status::Ok();
}

Status Engine::begin_load(const std::string& manifest_json) {
  pending_.reset();
  auto state = std::make_unique<ModelState>();
  Status st = parse_manifest(manifest_json, &state->manifest);
  if (!st.ok()) return st;
  // The stream is the only weight buffer.
  const uint64_t bytes = stream_alloc_bytes(state->manifest);
  if (bytes > SIZE_MAX / 2) return Status::Err(Code::Memory, "weights of " + std::to_string(bytes) + " bytes do not fit in memory");
  state->stream = static_cast<uint8_t*>(std::aligned_alloc(64, static_cast<size_t>(bytes)));
  if (!state->stream)
    return Status::Err(Code::Memory, "out of memory: could not allocate " + std::to_string(bytes) + " bytes for the weights");
  // The tail past stream_size is padding; zero it so nothing reads garbage.
  std::memset(state->stream + state->manifest.stream_size, 0, bytes - state->manifest.stream_size);
  state->committed.assign(state->manifest.chunks.size(), false);
  pending_ = std::move(state);
  return Status::Ok();
}

int Engine::chunk_count() const { return pending_ ? static_cast<int>(pending_->manifest.chunks.size()) : 0; }

uint8_t* Engine::chunk_target(int index) {
  if (!pending_ || index < 0 || index >= chunk_count()) return nullptr;
  return pending_->stream + uint64_t(index) * pending_->manifest.chunk_size;
}

size_t Engine::chunk_expected_size(int index) const {
  if (!pending_ || index < 0 || index >= chunk_count()) return 0;
  return static_cast<size_t>(pending_->manifest.chunks[index].size);
}

std::string Engine::chunk_file(int index) const {
  if (!pending_ || index < 0 || index >= chunk_count()) return "";
  return pending_->manifest.chunks[index].file;
}

Status Engine::commit_chunk(int index, size_t nbytes) { return commit_chunks(index, 1, &nbytes); }

Status Engine::commit_chunks(int first, int count, const size_t* nbytes, const uint8_t* given) {
  if (!pending_) return Status::Err(Code::Load, "no load in progress (call begin_load first)");
  if (count < 1) return Status::Err(Code::Load, "no chunks to commit");
  for (int index : {first, first + count - 1})
    if (index < 0 || index >= chunk_count())
      return Status::Err(Code::Load, "chunk index " + std::to_string(index) + " is out of range");
  const auto& info = pending_->manifest.chunks;
  auto what = [&](int index) { return "chunk " + std::to_string(index) + " (" + info[index].file + "): "; };
  std::vector<Status> errors(count);
  std::vector<int> sized;  // chunks of the right length: only these are hashed and compared
  for (int j = 0; j < count; ++j) {
    const int index = first + j;
    if (nbytes[j] != info[index].size)
      errors[j] = Status::Err(Code::ChunkSize, what(index) + "expected " + std::to_string(info[index].size) +
                                                   " bytes, got " + std::to_string(nbytes[j]) +
                                                   (nbytes[j] < info[index].size ? " (truncated)" : ""));
    else
      sized.push_back(index);
  }
  std::vector<std::array<uint8_t, 32>> digests(count);
  if (given) {
    for (int j = 0; j < count; ++j) std::memcpy(digests[j].data(), given + 32 * size_t(j), 32);
  } else {
    // Hashed four at a time when the sizes are equal (all but a model's last chunk are), the groups spread
    // over the pool's threads.
    std::vector<std::vector<int>> groups;
    for (int index : sized) {
      if (groups.empty() || groups.back().size() == 4 || info[groups.back()[0]].size != info[index].size)
        groups.emplace_back();
      groups.back().push_back(index);
    }
    pool_->parallel_for(static_cast<int>(groups.size()), [&](int begin, int end) {
      for (int g = begin; g < end; ++g) {
        const std::vector<int>& group = groups[g];
        const size_t size = static_cast<size_t>(info[group[0]].size);
        if (group.size() == 4) {
          const uint8_t* data[4];
          uint8_t digest[4][32];
          for (int l = 0; l < 4; ++l) data[l] = chunk_target(group[l]);
          kernels::dispatch::sha256_x4(data, size, digest);
          for (int l = 0; l < 4; ++l) std::memcpy(digests[group[l] - first].data(), digest[l], 32);
        } else {
          for (int index : group) sha256(chunk_target(index), size, digests[index - first].data());
        }
      }
    });
  }
  for (int index : sized) {
    if (std::memcmp(digests[index - first].data(), info[index].sha256, 32) != 0)
      errors[index - first] =
          Status::Err(Code::ChunkHash, what(index) + "SHA-256 mismatch (file is corrupt or was tampered with)");
    else
      pending_->committed[index] = true;
  }
  for (const Status& e : errors)
    if (!e.ok()) return e;
  return Status::Ok();
}

Status Engine::finish_load() {
  if (!pending_) return Status::Err(Code::Load, "no load in progress (call begin_load first)");
  for (size_t i = 0; i < pending_->committed.size(); ++i)
    if (!pending_->committed[i])
      return Status::Err(Code::Load, "chunk " + std::to_string(i) + " (" + pending_->manifest.chunks[i].file + ") was never loaded");
  Status st = bind_model(pending_->manifest, pending_->stream, &pending_->model);
  if (!st.ok()) {
    pending_.reset();
    return st;
  }
  active_ = std::move(pending_);
  return Status::Ok();
}

void Engine::abort_load() { pending_.reset(); }

bool Engine::loaded() const { return active_ != nullptr; }

std::string Engine::info_json() const {
  if (!active_) return "{}";
  std::string info = active_->manifest.info_json;
  // Append the runtime facts to the manifest facts (info_json is a JSON object: replace its closing brace).
  info.pop_back();
  // What a head file records about its backbone: the width each pooling gives, and the fingerprint.
  const Architecture& a = active_->manifest.arch;
  std::string widths;
  for (Pooling p : a.family->poolings(a))
    widths += std::string(widths.empty() ? "" : ",") + "\"" + pooling_name(p) + "\":" + std::to_string(a.family->pooled_width(a, p));
  info += ",\"pooled_widths\":{" + widths + "},\"backbone_fingerprint\":\"" + active_->model.backbone_fingerprint + "\"";
  info += ",\"threads\":" + std::to_string(threads()) +
          ",\"weight_bytes\":" + std::to_string(bound_stream_bytes(active_->manifest) + active_->model.extra_weight_bytes) + "}";
  return info;
}

uint8_t* Engine::input_buffer(size_t nbytes) {
  // Round up to whole floats so the buffer can hold pixels too.
  if (nbytes > SIZE_MAX / 2) return nullptr;
  const size_t n = (nbytes + 3) / 4 * 4 + 4;
  if (n > input_.capacity()) {
    std::vector<uint8_t>().swap(input_);
    if (!can_allocate(n)) return nullptr;  // alloc.h
  }
  input_.resize(n);
  return input_.data();
}

Status Engine::preprocess(size_t nbytes, const PreprocessOptions& options) {
  if (!active_) return Status::Err(Code::Load, "no model is loaded");
  if (nbytes == 0) return Status::Err(Code::Image, "image: the file is empty (0 bytes)");
  if (nbytes > input_.size()) return Status::Err(Code::Image, "image: " + std::to_string(nbytes) + " bytes claimed but the input buffer holds fewer");
  image::DecodeOptions decode_options;
  decode_options.apply_exif_orientation = options.apply_exif_orientation;
  decode_options.max_pixels = options.max_pixels;
  image::Image img;
  Status st = image::decode(input_.data(), nbytes, decode_options, &img);
  if (!st.ok()) return st;
  std::vector<float> pixels;
  int h = 0, w = 0;
  st = image::preprocess(img, active_->manifest.preprocess, &pixels, &h, &w);
  if (!st.ok()) return st;
  pixels_.swap(pixels);
  pixels_h_ = h;
  pixels_w_ = w;
  return Status::Ok();
}

const float* Engine::pixels() const { return pixels_.data(); }
int Engine::pixels_height() const { return pixels_h_; }
int Engine::pixels_width() const { return pixels_w_; }

Status Engine::forward(const float* pixels, int height, int width) {
  if (!active_) return Status::Err(Code::Load, "no model is loaded");
  if (!pixels) return Status::Err(Code::Input, "forward: no pixels");
  active_->has_output = false;
  Status st = vitrine::forward(active_->model, pool_.get(), pixels, height, width, &active_->run, &profile_);
  if (!st.ok()) return st;
  // A NaN/Inf in the output means the input carried one: report it instead of returning garbage labels.
  for (float v : active_->run.logits)
    if (!std::isfinite(v)) return Status::Err(Code::Input, "forward: the output is not finite (NaN or Inf in the input pixels?)");
  active_->has_output = true;
  return Status::Ok();
}

void Engine::set_profiling(bool on) {
  if (on && !profile_.on) profile_ = Profile{};
  profile_.on = on;
}

const float* Engine::last_hidden_state() const {
  return active_ && active_->has_output ? active_->run.hidden_out : nullptr;
}
int Engine::num_tokens() const { return active_ && active_->has_output ? active_->run.tokens : 0; }
int Engine::hidden_size() const { return active_ ? active_->manifest.arch.hidden : 0; }
const float* Engine::logits() const {
  return active_ && active_->has_output && active_->model.arch.num_labels ? active_->run.logits.data() : nullptr;
}
int Engine::num_labels() const { return active_ ? active_->model.arch.num_labels : 0; }

namespace {

// out = softmax(z[0, n)), or the sigmoid of each logit when `sigmoid`.
void probabilities(const float* z, int n, bool sigmoid, std::vector<float>* out) {
  std::vector<float>& p = *out;
  p.assign(n, 0.f);
  if (sigmoid) {
    for (int i = 0; i < n; ++i) p[i] = 1.f / (1.f + std::exp(-z[i]));
    return;
  }
  float mx = z[0];
  for (int i = 1; i < n; ++i) mx = std::max(mx, z[i]);
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += p[i] = std::exp(z[i] - mx);
  for (int i = 0; i < n; ++i) p[i] = float(p[i] / sum);
}

// A classifier's output is sigmoid when it has one logit or is a head that says so.
bool sigmoid_output(Classifier kind, int num_labels, const HeadSpec& head) {
  return num_labels == 1 || (kind == Classifier::Head && head.sigmoid);
}

}  // namespace

Status Engine::scores(std::vector<float>* out) const {
  if (active_ && !active_->model.arch.num_labels)
    return Status::Err(Code::NoClassifier, "model \"" + active_->manifest.name +
                                               "\" has no classifier; use embed() or forward()");
  const float* z = logits();
  if (!z) return Status::Err(Code::Input, "scores: no forward pass has run");
  const Architecture& a = active_->model.arch;
  probabilities(z, a.num_labels, sigmoid_output(a.classifier, a.num_labels, a.head), out);
  return Status::Ok();
}

Status Engine::own_scores(std::vector<float>* out) {
  if (!active_ || !active_->own) return scores(out);  // no head attached: the active classifier is the model's own
  const ModelState::OwnClassifier& own = *active_->own;
  if (!own.num_labels)
    return Status::Err(Code::NoClassifier, "model \"" + active_->manifest.name +
                                               "\" has no classifier of its own beside the attached head");
  if (!active_->has_output) return Status::Err(Code::Input, "scores: no forward pass has run");
  std::vector<float> z(own.num_labels);
  Status st = classifier_logits(active_->model, pool_.get(), &active_->run, own.classifier, own.head, own.head_layers,
                                z.data(), &profile_);
  if (!st.ok()) return st;
  for (float v : z)
    if (!std::isfinite(v)) return Status::Err(Code::Input, "own classifier: the output is not finite");
  probabilities(z.data(), own.num_labels, sigmoid_output(own.classifier, own.num_labels, own.head), out);
  return Status::Ok();
}

Status Engine::pooled(Pooling pooling, std::vector<float>* out) const {
  if (!active_ || !active_->has_output) return Status::Err(Code::Input, "pooled: no forward pass has run");
  return pool_features(active_->model, pool_.get(), active_->run, pooling, out);
}

Status Engine::attach_head(const std::string& head_json, int num_labels, const float* weights, size_t count) {
  if (!active_) return Status::Err(Code::Load, "no model is loaded");
  auto head_error = [](const std::string& message) { return Status::Err(Code::Head, "head: " + message); };
  if (num_labels < 1) return head_error("a head needs at least one output");
  // Checked like a manifest's head, against this backbone: pooling offered, first layer = pooled width.
  Architecture a = active_->model.arch;
  a.classifier = Classifier::Head;
  a.num_labels = num_labels;
  Status st = parse_head(head_json, &a, kAttachedHead);
  if (!st.ok()) return st;
  size_t need = 0;
  for (const HeadLayer& L : a.head.layers)
    if (L.kind == HeadLayer::Kind::Linear) need += size_t(L.out) * L.in + L.out;
  if (count != need)
    return head_error(std::to_string(count) + " weight values given, the layers need " + std::to_string(need));
  if (!weights) return head_error("no weights");
  for (size_t i = 0; i < count; ++i)
    if (!std::isfinite(weights[i])) return head_error("weight value " + std::to_string(i) + " is not finite");
  std::unique_ptr<float[]> storage(new (std::nothrow) float[count]);
  if (!storage) return Status::Err(Code::Memory, "out of memory for the head's " + std::to_string(count) + " weights");
  std::memcpy(storage.get(), weights, count * sizeof(float));
  std::vector<Linear> layers(a.head.layers.size());
  float* at = storage.get();
  for (size_t k = 0; k < a.head.layers.size(); ++k) {
    const HeadLayer& h = a.head.layers[k];
    if (h.kind != HeadLayer::Kind::Linear) continue;
    Linear& L = layers[k];
    L.out = h.out;
    L.in = h.in;
    L.weight = at;
    L.bias = at + size_t(h.out) * h.in;
    prepare_linear(L, at);
    at += size_t(h.out) * h.in + h.out;
  }
  // Nothing can fail from here: swap the head in.
  Model& model = active_->model;
  if (!active_->own)
    active_->own.reset(new ModelState::OwnClassifier{model.arch.classifier, model.arch.num_labels, model.arch.head,
                                                     std::move(model.head)});
  model.arch.classifier = Classifier::Head;
  model.arch.num_labels = num_labels;
  model.arch.head = a.head;
  model.head = std::move(layers);
  active_->head_weights = std::move(storage);
  active_->run.logits.assign(num_labels, 0.f);
  active_->has_output = false;
  return Status::Ok();
}

void Engine::detach_head() {
  if (!active_ || !active_->own) return;
  Model& model = active_->model;
  ModelState::OwnClassifier& own = *active_->own;
  model.arch.classifier = own.classifier;
  model.arch.num_labels = own.num_labels;
  model.arch.head = own.head;
  model.head = std::move(own.head_layers);
  active_->own.reset();
  active_->head_weights.reset();
  active_->run.logits.assign(model.arch.num_labels, 0.f);
  active_->has_output = false;
}

std::string Engine::backbone_fingerprint() const { return active_ ? active_->model.backbone_fingerprint : ""; }

}  // namespace vitrine
