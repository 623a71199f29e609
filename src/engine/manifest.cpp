// Validation of manifest.json (docs/FORMAT.md). Every value's type is checked before it is read (fields.h), and
// each error names the field or tensor it is about. The tensors a model needs come from its family's tensor
// table (families/), the one list of them.
#include "manifest.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "families/family.h"
#include "fields.h"

namespace vitrine {
namespace {

using json = nlohmann::json;

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

Status manifest_error(const std::string& message) { return Status::Err(Code::Manifest, "manifest: " + message); }

// `at` says where the head came from, for its errors: inside a manifest, or a head file given to a loaded model.
Status parse_head(const json& j, Architecture* a, const HeadSource& at) {
  auto error = [&](const std::string& message) { return Status::Err(at.code, at.prefix + message); };
  if (!j.is_object()) return error(at.where + " must be an object");
  Fields h(j, at.where, at.code, at.prefix);
  h.only({"pooling", "layers", "output"});
  std::string pooling, output;
  if (h.string("pooling", &pooling)) {
    const std::vector<Pooling> offered = a->family->poolings(*a);
    std::string names;
    for (Pooling p : offered) names += std::string(names.empty() ? "\"" : ", \"") + pooling_name(p) + "\"";
    if (!parse_pooling(pooling, &a->head.pooling) ||
        std::find(offered.begin(), offered.end(), a->head.pooling) == offered.end())
      h.fail("pooling must be one of " + names + " (family \"" + a->family_name + "\"), got \"" + pooling + "\"");
  }
  if (h.string("output", &output)) {
    if (output == "softmax") a->head.sigmoid = false;
    else if (output == "sigmoid") a->head.sigmoid = true;
    else h.fail("output must be \"softmax\" or \"sigmoid\"");
  }
  if (!h.status().ok()) return h.status();
  int width = a->family->pooled_width(*a, a->head.pooling);
  const json* layers = h.get("layers");
  if (!layers || !layers->is_array() || layers->empty())
    return error(at.where + ": \"layers\" must be a non-empty array");
  for (size_t k = 0; k < layers->size(); ++k) {
    const json& lj = (*layers)[k];
    if (!lj.is_object()) return error(at.where + ".layers[" + std::to_string(k) + "] must be an object");
    Fields lf(lj, at.where + ".layers[" + std::to_string(k) + "]", at.code, at.prefix);
    HeadLayer L;
    std::string type;
    lf.string("type", &type);
    if (type == "linear") {
      lf.only({"type", "in", "out"});
      L.kind = HeadLayer::Kind::Linear;
      lf.integer("in", &L.in, 1, 1 << 20);
      lf.integer("out", &L.out, 1, 1 << 20);
      if (lf.status().ok() && L.in != width)
        lf.fail("\"in\" = " + std::to_string(L.in) + " but the previous layer gives " + std::to_string(width));
      width = L.out;
    } else if (type == "relu" || type == "gelu") {
      lf.only({"type"});
      L.kind = type == "relu" ? HeadLayer::Kind::Relu : HeadLayer::Kind::Gelu;
    } else if (lf.status().ok()) {
      lf.fail("unknown layer type \"" + type + "\" (linear, relu, gelu)");
    }
    if (!lf.status().ok()) return lf.status();
    a->head.layers.push_back(L);
  }
  if (width != a->num_labels)
    return error(at.where + ": the last layer gives " + std::to_string(width) +
                          " outputs but num_labels is " + std::to_string(a->num_labels));
  return Status::Ok();
}

// The keys every family shares are read here; the family module reads its own (Family::parse).
Status parse_architecture(const json& j, Architecture* a) {
  if (!j.is_object()) return manifest_error("\"architecture\" must be an object");
  Fields f(j, "architecture");
  if (f.string("family", &a->family_name)) {
    a->family = find_family(a->family_name);
    if (!a->family) f.fail("unknown family \"" + a->family_name + "\" (" + family_names() + ")");
  }
  const int64_t big = 1 << 16;
  f.integer("hidden_size", &a->hidden, 1, big);
  f.integer("num_hidden_layers", &a->layers, 1, 1024);
  f.integer("num_attention_heads", &a->heads, 1, 1024);
  f.integer("intermediate_size", &a->intermediate, 1, 1 << 18);
  f.integer("patch_size", &a->patch, 1, 1024);
  f.integer("image_size", &a->image_size, 1, 1 << 14);
  f.integer("num_channels", &a->channels, 1, 16);
  double eps = 0;
  if (f.number("layer_norm_eps", &eps)) {
    if (eps <= 0 || eps > 1) f.fail("\"layer_norm_eps\" must be in (0, 1]");
    a->eps = static_cast<float>(eps);
  }
  std::string act;
  if (f.string("hidden_act", &act)) {
    if (act == "gelu") a->act = Activation::GeluErf;
    else if (act == "gelu_new" || act == "gelu_pytorch_tanh") a->act = Activation::GeluTanh;
    else if (act == "relu") a->act = Activation::Relu;
    else if (act == "silu" || act == "swish") a->act = Activation::Silu;
    else if (act == "quick_gelu") a->act = Activation::QuickGelu;
    else f.fail("unsupported hidden_act \"" + act + "\"");
  }
  f.boolean("qkv_bias", &a->qkv_bias);
  std::string cls;
  if (f.string("classifier", &cls)) {
    if (cls == "none") a->classifier = Classifier::None;
    else if (cls == "cls") a->classifier = Classifier::Cls;
    else if (cls == "cls+dist") a->classifier = Classifier::ClsDist;
    else if (cls == "cls+patchmean") a->classifier = Classifier::ClsPatchMean;
    else if (cls == "head") a->classifier = Classifier::Head;
    else f.fail("unknown classifier \"" + cls + "\"");
  }
  f.integer("num_labels", &a->num_labels, 0, 1 << 20);
  const json* head = f.get("head", /*required=*/false);
  if (!f.status().ok()) return f.status();
  Status st = a->family->parse(f, a);
  f.only_read();
  if (!f.status().ok()) return f.status();
  if (!st.ok()) return st;

  if (a->hidden % a->heads != 0) return manifest_error("architecture: num_attention_heads must divide hidden_size");
  if (a->image_size % a->patch != 0) return manifest_error("architecture: patch_size must divide image_size");
  if (a->classifier == Classifier::None && a->num_labels != 0)
    return manifest_error("architecture: classifier \"none\" must have num_labels 0");
  if (a->classifier != Classifier::None && a->num_labels < 1)
    return manifest_error("architecture: a classifier needs num_labels >= 1");
  if (a->classifier == Classifier::Head) {
    if (!head) return manifest_error("architecture: classifier \"head\" needs a \"head\" object");
    return parse_head(*head, a, kManifestHead);
  }
  if (head) return manifest_error("architecture: \"head\" is only allowed with classifier \"head\"");
  return Status::Ok();
}

Status parse_size(const json& j, const char* what, image::Size* s) {
  if (!j.is_object()) return Status::Err(Code::Manifest, std::string("manifest: preprocess.") + what + " must be an object");
  Fields f(j, std::string("preprocess.") + what);
  if (j.contains("shortest_edge")) {
    f.only({"shortest_edge"});
    f.integer("shortest_edge", &s->shortest_edge, 1, 1 << 14);
    s->height = s->width = 0;
  } else {
    f.only({"height", "width"});
    f.integer("height", &s->height, 1, 1 << 14);
    f.integer("width", &s->width, 1, 1 << 14);
    s->shortest_edge = 0;
  }
  return f.status();
}

Status parse_preprocess(const json& j, image::PreprocessConfig* p, std::string* processor) {
  if (!j.is_object()) return Status::Err(Code::Manifest, "manifest: \"preprocess\" must be an object");
  Fields f(j, "preprocess");
  f.only({"processor", "do_convert_rgb", "do_resize", "size", "resample", "do_center_crop", "crop_size", "do_rescale",
          "rescale_factor", "do_normalize", "image_mean", "image_std"});
  f.string("processor", processor);
  f.boolean("do_convert_rgb", &p->do_convert_rgb);
  f.boolean("do_resize", &p->do_resize);
  f.integer("resample", &p->resample, 0, 5);
  f.boolean("do_center_crop", &p->do_center_crop);
  f.boolean("do_rescale", &p->do_rescale);
  f.number("rescale_factor", &p->rescale_factor);
  f.boolean("do_normalize", &p->do_normalize);
  if (!f.status().ok()) return f.status();
  if (const json* s = f.get("size")) {
    Status st = parse_size(*s, "size", &p->size);
    if (!st.ok()) return st;
  } else {
    return f.status();
  }
  if (p->do_center_crop) {
    const json* c = f.get("crop_size");
    if (!c) return f.status();
    Status st = parse_size(*c, "crop_size", &p->crop_size);
    if (!st.ok()) return st;
    if (p->crop_size.shortest_edge) return Status::Err(Code::Manifest, "manifest: preprocess.crop_size must be {height, width}");
  }
  for (const char* key : {"image_mean", "image_std"}) {
    const json* v = f.get(key);
    if (!v) return f.status();
    if (!v->is_array() || v->size() != 3) return Status::Err(Code::Manifest, std::string("manifest: preprocess.") + key + " must be 3 numbers");
    float* dst = std::string(key) == "image_mean" ? p->image_mean : p->image_std;
    for (int c = 0; c < 3; ++c) {
      const json& x = (*v)[c];
      if (!x.is_number() || !std::isfinite(x.get<double>()) || std::fabs(x.get<double>()) > 1e30)
        return Status::Err(Code::Manifest, std::string("manifest: preprocess.") + key + " must be 3 finite numbers");
      dst[c] = x.get<float>();
    }
  }
  for (int c = 0; c < 3; ++c)
    if (!(p->image_std[c] > 0)) return Status::Err(Code::Manifest, "manifest: preprocess.image_std must be positive");
  return Status::Ok();
}

// nlohmann parses iteratively but copies and serialises values recursively, so a manifest nested thousands of
// levels deep (say in "metadata") would overflow the stack (1 MB in the WASM build). Manifests nest 4 levels.
constexpr int kMaxJsonDepth = 64;

bool nested_too_deep(const std::string& text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace

bool parse_hex32(const std::string& hex, uint8_t out[32]) {
  if (hex.size() != 64) return false;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (int i = 0; i < 32; ++i) {
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

Status parse_architecture(const std::string& text, Architecture* a) {
  if (nested_too_deep(text))
    return manifest_error("architecture nests arrays/objects deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return manifest_error("architecture is not valid JSON");
  return parse_architecture(j, a);
}

Status parse_head(const std::string& text, Architecture* a, const HeadSource& at) {
  if (nested_too_deep(text))
    return Status::Err(at.code, at.prefix + at.where + " nests arrays/objects deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Err(at.code, at.prefix + at.where + " is not valid JSON");
  a->head = HeadSpec{};
  return parse_head(j, a, at);
}

Status parse_manifest(const std::string& text, Manifest* m) {
  if (nested_too_deep(text))
    return manifest_error("manifest.json nests arrays/objects deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Err(Code::Manifest, "manifest: manifest.json is not valid JSON");
  if (!j.is_object()) return Status::Err(Code::Manifest, "manifest: manifest.json must hold a JSON object");
  Fields top(j, "top level");
  std::string format;
  if (!top.string("format", &format)) return top.status();
  if (format != "vitrine") return Status::Err(Code::Manifest, "manifest: \"format\" is \"" + format + "\", expected \"vitrine\"");
  const json* version = top.get("version");
  if (!version) return top.status();
  if (!version->is_number_integer() || version->get<int64_t>() != 1)
    return Status::Err(Code::Manifest, "manifest: unsupported format version " + version->dump() + " (this reader knows 1)");
  top.string("name", &m->name);
  int64_t alignment = 0;
  if (top.integer("alignment", &alignment, 1, 1 << 20) && alignment != 64)
    top.fail("\"alignment\" must be 64");
  int64_t chunk_size = 0, stream_size = 0;
  top.integer("chunk_size", &chunk_size, 64, int64_t(1) << 40);
  top.integer("stream_size", &stream_size, 1, int64_t(1) << 40);
  if (!top.status().ok()) return top.status();
  if (chunk_size % 64) return Status::Err(Code::Manifest, "manifest: \"chunk_size\" must be a multiple of 64");
  m->chunk_size = chunk_size;
  m->stream_size = stream_size;

  const json* arch = top.get("architecture");
  if (!arch) return top.status();
  Status st = parse_architecture(*arch, &m->arch);
  if (!st.ok()) return st;
  const json* pre = top.get("preprocess");
  if (!pre) return top.status();
  st = parse_preprocess(*pre, &m->preprocess, &m->processor);
  if (!st.ok()) return st;

  const json* labels = top.get("labels");
  if (!labels) return top.status();
  if (!labels->is_array()) return Status::Err(Code::Manifest, "manifest: \"labels\" must be an array of strings");
  for (const json& l : *labels) {
    if (!l.is_string()) return Status::Err(Code::Manifest, "manifest: \"labels\" must be an array of strings");
    m->labels.push_back(l.get<std::string>());
  }
  if (!m->labels.empty() && static_cast<int>(m->labels.size()) != m->arch.num_labels)
    return Status::Err(Code::Manifest, "manifest: " + std::to_string(m->labels.size()) + " labels but num_labels is " +
                       std::to_string(m->arch.num_labels));

  // ---- tensors: each expected one present with the exact shape, nothing else, aligned, in range, disjoint ----
  const json* tensors = top.get("tensors");
  if (!tensors) return top.status();
  if (!tensors->is_array()) return Status::Err(Code::Manifest, "manifest: \"tensors\" must be an array");
  for (size_t i = 0; i < tensors->size(); ++i) {
    const json& tj = (*tensors)[i];
    if (!tj.is_object()) return Status::Err(Code::Manifest, "manifest: tensors[" + std::to_string(i) + "] must be an object");
    Fields f(tj, "tensors[" + std::to_string(i) + "]");
    f.only({"name", "dtype", "shape", "offset"});
    TensorInfo t;
    std::string dtype;
    f.string("name", &t.name);
    f.string("dtype", &dtype);
    int64_t offset = 0;
    f.integer("offset", &offset, 0, int64_t(1) << 40);
    if (!f.status().ok()) return f.status();
    uint64_t element_bytes = 4;
    if (dtype == "f32") t.dtype = DType::F32;
    else if (dtype == "f16") t.dtype = DType::F16, element_bytes = 2;
    else if (dtype == "i8") t.dtype = DType::I8, element_bytes = 1;
    else return Status::Err(Code::Manifest, "manifest: tensor \"" + t.name + "\": unknown dtype \"" + dtype + "\" (f32, f16, i8)");
    const json* shape = f.get("shape");
    if (!shape) return f.status();
    if (!shape->is_array() || shape->size() > 8)
      return Status::Err(Code::Manifest, "manifest: tensor \"" + t.name + "\": shape must be an array of at most 8 sizes");
    uint64_t count = 1;
    for (const json& d : *shape) {
      if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > (int64_t(1) << 32))
        return Status::Err(Code::Manifest, "manifest: tensor \"" + t.name + "\": shape entries must be positive integers");
      t.shape.push_back(d.get<int64_t>());
      count *= static_cast<uint64_t>(d.get<int64_t>());
      if (count > (uint64_t(1) << 38)) return Status::Err(Code::Manifest, "manifest: tensor \"" + t.name + "\": too large");
    }
    t.offset = static_cast<uint64_t>(offset);
    t.bytes = count * element_bytes;
    if (t.offset % 64) return Status::Err(Code::Manifest, "manifest: tensor \"" + t.name + "\": offset " + std::to_string(t.offset) + " is not 64-byte aligned");
    if (t.offset + t.bytes > m->stream_size)
      return Status::Err(Code::Manifest, "manifest: tensor \"" + t.name + "\": bytes [" + std::to_string(t.offset) + "," +
                         std::to_string(t.offset + t.bytes) + ") past the end of the stream (" +
                         std::to_string(m->stream_size) + ")");
    if (m->tensor_index.count(t.name)) return Status::Err(Code::Manifest, "manifest: tensor \"" + t.name + "\" is listed twice");
    m->tensor_index[t.name] = m->tensors.size();
    m->tensors.push_back(std::move(t));
  }
  Model scratch;
  const TensorTable table = tensor_table(m->arch, &scratch);
  std::set<std::string> expected_names;
  for (const TensorSlot& row : table.rows()) {
    expected_names.insert(row.name);
    auto it = m->tensor_index.find(row.name);
    if (it == m->tensor_index.end()) return Status::Err(Code::Manifest, "manifest: missing tensor \"" + row.name + "\"");
    const TensorInfo& t = m->tensors[it->second];
    if (t.shape != row.shape)
      return Status::Err(Code::Manifest, "manifest: tensor \"" + row.name + "\": shape " + shape_str(t.shape) + " but the architecture needs " + shape_str(row.shape));
    if (t.dtype != DType::I8) continue;
    if (!row.may_i8)
      return Status::Err(Code::Manifest, "manifest: tensor \"" + row.name + "\": dtype \"i8\" is allowed only for Linear weights (the blocks' attn.qkv, attn.out, mlp.fc1, mlp.fc2, the patch projection and the classifier)");
    // An i8 weight carries its per-output-channel scales as the f32 tensor "<name>.scale" [out].
    const std::string scale_name = row.name + ".scale";
    auto sc = m->tensor_index.find(scale_name);
    if (sc == m->tensor_index.end())
      return Status::Err(Code::Manifest, "manifest: missing tensor \"" + scale_name + "\" (the scales of i8 tensor \"" + row.name + "\")");
    const TensorInfo& s = m->tensors[sc->second];
    const std::vector<int64_t> scale_shape{row.shape[0]};
    if (s.dtype != DType::F32 || s.shape != scale_shape)
      return Status::Err(Code::Manifest, "manifest: tensor \"" + scale_name + "\": must be f32 of shape " + shape_str(scale_shape) + " (one scale per output channel of \"" + row.name + "\")");
    expected_names.insert(scale_name);
  }
  for (const TensorInfo& t : m->tensors)
    if (!expected_names.count(t.name)) return Status::Err(Code::Manifest, "manifest: unexpected tensor \"" + t.name + "\"");
  std::vector<const TensorInfo*> by_offset;
  for (const TensorInfo& t : m->tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i - 1]->offset + by_offset[i - 1]->bytes > by_offset[i]->offset)
      return Status::Err(Code::Manifest, "manifest: tensors \"" + by_offset[i - 1]->name + "\" and \"" + by_offset[i]->name + "\" overlap");

  // ---- chunks ----
  const json* chunks = top.get("chunks");
  if (!chunks) return top.status();
  if (!chunks->is_array()) return Status::Err(Code::Manifest, "manifest: \"chunks\" must be an array");
  const uint64_t count = (m->stream_size + m->chunk_size - 1) / m->chunk_size;
  if (chunks->size() != count)
    return Status::Err(Code::Manifest, "manifest: " + std::to_string(chunks->size()) + " chunks listed but stream_size/chunk_size needs " + std::to_string(count));
  for (size_t i = 0; i < chunks->size(); ++i) {
    const json& cj = (*chunks)[i];
    if (!cj.is_object()) return Status::Err(Code::Manifest, "manifest: chunks[" + std::to_string(i) + "] must be an object");
    Fields f(cj, "chunks[" + std::to_string(i) + "]");
    f.only({"file", "size", "sha256"});
    ChunkInfo c;
    std::string sha;
    int64_t size = 0;
    f.string("file", &c.file);
    f.integer("size", &size, 1, int64_t(1) << 40);
    f.string("sha256", &sha);
    if (!f.status().ok()) return f.status();
    if (c.file.empty() || c.file.find('/') != std::string::npos || c.file.find('\\') != std::string::npos || c.file == "." || c.file == "..")
      return Status::Err(Code::Manifest, "manifest: chunks[" + std::to_string(i) + "]: file \"" + c.file + "\" must be a plain file name");
    const uint64_t want = i + 1 < count ? m->chunk_size : m->stream_size - (count - 1) * m->chunk_size;
    c.size = static_cast<uint64_t>(size);
    if (c.size != want)
      return Status::Err(Code::Manifest, "manifest: chunks[" + std::to_string(i) + "]: size " + std::to_string(c.size) + " but the stream layout needs " + std::to_string(want));
    if (!parse_hex32(sha, c.sha256))
      return Status::Err(Code::Manifest, "manifest: chunks[" + std::to_string(i) + "]: sha256 must be 64 lowercase hex digits");
    m->chunks.push_back(std::move(c));
  }

  // What the JS side reports as model.info: facts only, in the manifest's own vocabulary.
  json info;
  info["name"] = m->name;
  info["family"] = m->arch.family_name;
  info["hidden_size"] = m->arch.hidden;
  info["num_hidden_layers"] = m->arch.layers;
  info["num_attention_heads"] = m->arch.heads;
  info["intermediate_size"] = m->arch.intermediate;
  info["patch_size"] = m->arch.patch;
  info["image_size"] = m->arch.image_size;
  info["num_register_tokens"] = m->arch.registers;
  info["use_distillation_token"] = m->arch.distillation_token;
  info["interpolate_pos_encoding"] = m->arch.interpolate_pos;
  info["classifier"] = (*arch)["classifier"];
  info["num_labels"] = m->arch.num_labels;
  info["labels"] = m->labels;
  info["preprocess"] = *pre;
  info["stream_size"] = m->stream_size;
  info["chunk_size"] = m->chunk_size;
  info["num_chunks"] = m->chunks.size();
  if (m->arch.classifier == Classifier::Head) info["head"] = (*arch)["head"];
  info["poolings"] = json::array();
  for (Pooling p : m->arch.family->poolings(m->arch)) info["poolings"].push_back(pooling_name(p));
  auto md = j.find("metadata");
  if (md != j.end() && md->is_object()) info["metadata"] = *md;
  m->info_json = info.dump();
  return Status::Ok();
}

}  // namespace vitrine
