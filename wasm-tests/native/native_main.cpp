// vitrine-native: the engine built natively, driven from the command line. The test suite runs the same golden
// checks through it as through the two WASM builds, and it serves as a fast reference while developing kernels.
//   vitrine-native info <modeldir>
//   vitrine-native forward <modeldir> <pixels.npy> <outdir> [--threads N]
//   vitrine-native preprocess <modeldir> <image> <out.npy> [--no-exif]
//   vitrine-native classify <modeldir> <image> [--threads N] [--no-exif]
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine.h"
#include "npy.h"

using vitrine::Engine;
using vitrine::Status;

namespace {

Status read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Err(vitrine::Code::Input, path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return Status::Ok();
}

// Streams each chunk file straight into the engine's weight buffer, as the JS loader does.
Status load_model(Engine& engine, const std::string& dir) {
  std::string manifest;
  Status st = read_file(dir + "/manifest.json", &manifest);
  if (!st.ok()) return st;
  st = engine.begin_load(manifest);
  if (!st.ok()) return st;
  for (int i = 0; i < engine.chunk_count(); ++i) {
    const std::string file = engine.chunk_file(i);
    FILE* f = std::fopen((dir + "/" + file).c_str(), "rb");
    if (!f) {
      engine.abort_load();
      return Status::Err(vitrine::Code::Input, "chunk " + std::to_string(i) + " (" + file + "): file is missing");
    }
    const size_t want = engine.chunk_expected_size(i);
    size_t got = std::fread(engine.chunk_target(i), 1, want, f);
    if (got == want && std::fgetc(f) != EOF) got = want + 1;  // longer than the manifest says
    std::fclose(f);
    st = engine.commit_chunk(i, got);
    if (!st.ok()) {
      engine.abort_load();
      return st;
    }
  }
  return engine.finish_load();
}

int fail(const Status& st) {
  std::fprintf(stderr, "%s\n", st.error.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  int threads = 1;
  bool exif = true;
  std::vector<std::string> pos;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--threads" && i + 1 < args.size()) threads = std::atoi(args[++i].c_str());
    else if (args[i] == "--no-exif") exif = false;
    else pos.push_back(args[i]);
  }
  if (pos.size() < 2) {
    std::fprintf(stderr, "usage: vitrine-native info|forward|preprocess|classify <modeldir> ...\n");
    return 2;
  }
  Engine engine(threads);
  Status st = load_model(engine, pos[1]);
  if (!st.ok()) return fail(st);
  const std::string& cmd = pos[0];
  if (cmd == "info") {
    std::printf("%s\n", engine.info_json().c_str());
    return 0;
  }
  if (cmd == "forward" && pos.size() == 4) {
    std::vector<float> pixels;
    std::vector<int64_t> shape;
    st = vitrine::npy::read_f32(pos[2], &pixels, &shape);
    if (!st.ok()) return fail(st);
    if (shape.size() < 3) return fail(Status::Err(vitrine::Code::Input, pos[2] + ": expected [1,C,H,W] or [C,H,W] pixels"));
    const int h = int(shape[shape.size() - 2]), w = int(shape[shape.size() - 1]);
    st = engine.forward(pixels.data(), h, w);
    if (!st.ok()) return fail(st);
    st = vitrine::npy::write_f32(pos[3] + "/last_hidden_state.npy", engine.last_hidden_state(),
                                 {engine.num_tokens(), engine.hidden_size()});
    if (st.ok() && engine.logits())
      st = vitrine::npy::write_f32(pos[3] + "/logits.npy", engine.logits(), {engine.num_labels()});
    // HF's pooled outputs, under HF's names, when the model has them.
    for (auto [pooling, file] : {std::pair{vitrine::Pooling::Pooler, "pooler_output"},
                                 std::pair{vitrine::Pooling::Projection, "image_embeds"}}) {
      std::vector<float> v;
      if (st.ok() && engine.pooled(pooling, &v).ok())  // not an error: the model does not have that output
        st = vitrine::npy::write_f32(pos[3] + "/" + file + ".npy", v.data(), {int64_t(v.size())});
    }
    return st.ok() ? 0 : fail(st);
  }
  if ((cmd == "preprocess" && pos.size() == 4) || (cmd == "classify" && pos.size() == 3)) {
    std::string bytes;
    st = read_file(pos[2], &bytes);
    if (!st.ok()) return fail(st);
    uint8_t* in = engine.input_buffer(bytes.size());
    if (!in) return fail(vitrine::Status::Err(vitrine::Code::Memory, "out of memory for a " + std::to_string(bytes.size()) + "-byte image"));
    std::memcpy(in, bytes.data(), bytes.size());
    vitrine::PreprocessOptions options;
    options.apply_exif_orientation = exif;
    st = engine.preprocess(bytes.size(), options);
    if (!st.ok()) return fail(st);
    if (cmd == "preprocess")
      st = vitrine::npy::write_f32(pos[3], engine.pixels(), {3, engine.pixels_height(), engine.pixels_width()});
    else
      st = engine.forward(engine.pixels(), engine.pixels_height(), engine.pixels_width());
    if (!st.ok()) return fail(st);
    if (cmd == "classify") {
      std::vector<float> s;
      st = engine.scores(&s);
      if (!st.ok()) return fail(st);
      std::printf("{\"scores\":[");
      for (size_t i = 0; i < s.size(); ++i) std::printf("%s%.9g", i ? "," : "", s[i]);
      std::printf("]}\n");
    }
    return 0;
  }
  std::fprintf(stderr, "unknown command or wrong arguments: %s\n", cmd.c_str());
  return 2;
}
