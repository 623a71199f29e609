// vitrine-image-check: runs image::decode + image::preprocess on files, for the pixel-parity tests
// (wasm-tests/engine/pixels.test.js) and for timing. The same source builds natively and for Node (NODERAWFS), so
// both builds can be held to the same goldens.
//
//   vitrine-image-check [--config JSON|@file] [--no-exif] [--max-pixels N] [--out F.f32] [--decoded F.rgb]
//                       [--repeat N] IMAGE
//   vitrine-image-check --jobs JOBS.json
//
// JOBS.json is an array of {"image", "config", "exif" (default true), "max_pixels", "out", "decoded"}.
// For each image one JSON line is printed: {"image", "ok", "error", "width", "height" (decoded),
// "out_width", "out_height", "decode_ms", "preprocess_ms", "decode_cpu_ms", "preprocess_cpu_ms"} (times: best
// of --repeat runs). --out writes the CHW float32 pixels (little-endian, raw), --decoded the decoded HWC RGB
// bytes. The exit status is 0 when the program itself worked, whatever the images did: an image error is a
// result to compare, not a crash.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "image/image.h"

using nlohmann::json;
using vitrine::Status;
namespace img = vitrine::image;

namespace {

bool read_file(const std::string& path, std::vector<uint8_t>* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  out->clear();
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->insert(out->end(), buf, buf + n);
  std::fclose(f);
  return true;
}

bool write_file(const std::string& path, const void* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

// The preprocess object of docs/FORMAT.md §5 (the same keys as a HF preprocessor_config.json, except that
// size/crop_size must be objects). Missing keys keep the PreprocessConfig defaults.
Status parse_config(const json& j, img::PreprocessConfig* c) {
  if (!j.is_object()) return Status::Err(vitrine::Code::Input, "config: expected a JSON object");
  auto get_bool = [&](const char* k, bool* v) {
    if (j.contains(k) && j[k].is_boolean()) *v = j[k].get<bool>();
  };
  auto get_size = [&](const char* k, img::Size* s) -> Status {
    if (!j.contains(k) || j[k].is_null()) return Status::Ok();
    const json& o = j[k];
    if (!o.is_object()) return Status::Err(vitrine::Code::Input, std::string("config: ") + k + " must be an object");
    *s = img::Size{};
    if (o.contains("shortest_edge") && o["shortest_edge"].is_number_integer()) {
      s->shortest_edge = o["shortest_edge"].get<int>();
    } else if (o.contains("height") && o.contains("width") && o["height"].is_number_integer() &&
               o["width"].is_number_integer()) {
      s->height = o["height"].get<int>();
      s->width = o["width"].get<int>();
    } else {
      return Status::Err(vitrine::Code::Input, std::string("config: ") + k + " needs shortest_edge or height and width");
    }
    return Status::Ok();
  };
  get_bool("do_convert_rgb", &c->do_convert_rgb);
  get_bool("do_resize", &c->do_resize);
  get_bool("do_center_crop", &c->do_center_crop);
  get_bool("do_rescale", &c->do_rescale);
  get_bool("do_normalize", &c->do_normalize);
  Status st = get_size("size", &c->size);
  if (!st.ok()) return st;
  st = get_size("crop_size", &c->crop_size);
  if (!st.ok()) return st;
  if (j.contains("resample") && j["resample"].is_number_integer()) c->resample = j["resample"].get<int>();
  if (j.contains("rescale_factor") && j["rescale_factor"].is_number()) {
    c->rescale_factor = j["rescale_factor"].get<double>();
  }
  for (const char* k : {"image_mean", "image_std"}) {
    if (!j.contains(k)) continue;
    const json& a = j[k];
    if (!a.is_array() || a.size() != 3) return Status::Err(vitrine::Code::Input, std::string("config: ") + k + " needs 3 numbers");
    float* dst = std::strcmp(k, "image_mean") == 0 ? c->image_mean : c->image_std;
    for (int i = 0; i < 3; i++) {
      if (!a[i].is_number()) return Status::Err(vitrine::Code::Input, std::string("config: ") + k + " needs 3 numbers");
      dst[i] = static_cast<float>(a[i].get<double>());  // numpy: np.array(mean, dtype=float32)
    }
  }
  return Status::Ok();
}

struct Job {
  std::string image, out, decoded;
  json config = json::object();
  bool exif = true;
  int64_t max_pixels = 50'000'000;
  int repeat = 1;
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

json run(const Job& job) {
  json r;
  r["image"] = job.image;
  auto fail = [&](const std::string& e) {
    r["ok"] = false;
    r["error"] = e;
    return r;
  };
  std::vector<uint8_t> bytes;
  if (!read_file(job.image, &bytes)) return fail("cannot read " + job.image);
  img::PreprocessConfig config;
  Status st = parse_config(job.config, &config);
  if (!st.ok()) return fail(st.error);
  img::DecodeOptions options;
  options.apply_exif_orientation = job.exif;
  options.max_pixels = job.max_pixels;

  img::Image image;
  std::vector<float> pixels;
  int h = 0, w = 0;
  // Best of `repeat` runs, in wall time and in process CPU time (std::clock; steadier on a busy machine).
  double decode_ms = 1e300, preprocess_ms = 1e300, decode_cpu_ms = 1e300, preprocess_cpu_ms = 1e300;
  auto cpu_ms_since = [](std::clock_t c0) { return 1000.0 * double(std::clock() - c0) / CLOCKS_PER_SEC; };
  for (int i = 0; i < job.repeat; i++) {
    auto t0 = std::chrono::steady_clock::now();
    std::clock_t c0 = std::clock();
    st = img::decode(bytes.data(), bytes.size(), options, &image);
    decode_ms = std::min(decode_ms, ms_since(t0));
    decode_cpu_ms = std::min(decode_cpu_ms, cpu_ms_since(c0));
    if (!st.ok()) return fail(st.error);
    t0 = std::chrono::steady_clock::now();
    c0 = std::clock();
    st = img::preprocess(image, config, &pixels, &h, &w);
    preprocess_ms = std::min(preprocess_ms, ms_since(t0));
    preprocess_cpu_ms = std::min(preprocess_cpu_ms, cpu_ms_since(c0));
    if (!st.ok()) return fail(st.error);
  }
  r["ok"] = true;
  r["width"] = image.width;
  r["height"] = image.height;
  r["out_width"] = w;
  r["out_height"] = h;
  r["decode_ms"] = decode_ms;
  r["preprocess_ms"] = preprocess_ms;
  r["decode_cpu_ms"] = decode_cpu_ms;
  r["preprocess_cpu_ms"] = preprocess_cpu_ms;
  if (!job.out.empty() && !write_file(job.out, pixels.data(), pixels.size() * sizeof(float))) {
    return fail("cannot write " + job.out);
  }
  if (!job.decoded.empty() && !write_file(job.decoded, image.rgb.data(), image.rgb.size())) {
    return fail("cannot write " + job.decoded);
  }
  return r;
}

int usage() {
  std::fprintf(stderr,
               "usage: vitrine-image-check [--config JSON|@file] [--no-exif] [--max-pixels N] [--out F.f32]\n"
               "                           [--decoded F.rgb] [--repeat N] IMAGE\n"
               "       vitrine-image-check --jobs JOBS.json\n");
  return 2;
}

json parse_json_arg(const std::string& arg, bool* ok) {
  std::string text = arg;
  if (!arg.empty() && arg[0] == '@') {
    std::vector<uint8_t> b;
    if (!read_file(arg.substr(1), &b)) {
      *ok = false;
      return json();
    }
    text.assign(b.begin(), b.end());
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  *ok = !j.is_discarded();
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Job> jobs;
  Job single;
  bool have_single = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--jobs") {
      const char* v = next();
      if (!v) return usage();
      bool ok;
      json list = parse_json_arg(std::string("@") + v, &ok);
      if (!ok || !list.is_array()) {
        std::fprintf(stderr, "--jobs: %s is not a JSON array\n", v);
        return 2;
      }
      for (const json& e : list) {
        if (!e.is_object() || !e.contains("image") || !e["image"].is_string()) {
          std::fprintf(stderr, "--jobs: every entry needs an \"image\" string\n");
          return 2;
        }
        Job job;
        job.image = e["image"].get<std::string>();
        if (e.contains("config") && e["config"].is_object()) job.config = e["config"];
        if (e.contains("exif") && e["exif"].is_boolean()) job.exif = e["exif"].get<bool>();
        if (e.contains("max_pixels") && e["max_pixels"].is_number_integer()) {
          job.max_pixels = e["max_pixels"].get<int64_t>();
        }
        if (e.contains("out") && e["out"].is_string()) job.out = e["out"].get<std::string>();
        if (e.contains("decoded") && e["decoded"].is_string()) job.decoded = e["decoded"].get<std::string>();
        if (e.contains("repeat") && e["repeat"].is_number_integer()) job.repeat = e["repeat"].get<int>();
        jobs.push_back(job);
      }
    } else if (a == "--config") {
      const char* v = next();
      bool ok = v != nullptr;
      if (ok) single.config = parse_json_arg(v, &ok);
      if (!ok) {
        std::fprintf(stderr, "--config: not valid JSON\n");
        return 2;
      }
    } else if (a == "--no-exif") {
      single.exif = false;
    } else if (a == "--max-pixels") {
      const char* v = next();
      if (!v) return usage();
      single.max_pixels = std::strtoll(v, nullptr, 10);
    } else if (a == "--out") {
      const char* v = next();
      if (!v) return usage();
      single.out = v;
    } else if (a == "--decoded") {
      const char* v = next();
      if (!v) return usage();
      single.decoded = v;
    } else if (a == "--repeat") {
      const char* v = next();
      if (!v) return usage();
      single.repeat = std::max(1, std::atoi(v));
    } else if (!a.empty() && a[0] == '-') {
      return usage();
    } else {
      single.image = a;
      have_single = true;
    }
  }
  if (have_single) jobs.push_back(single);
  if (jobs.empty()) return usage();
  for (const Job& job : jobs) {
    std::string line = run(job).dump();
    std::printf("%s\n", line.c_str());
  }
  std::fflush(stdout);
  return 0;
}
