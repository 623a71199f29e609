// The chunk path of Engine loading (docs/FORMAT.md §8): begin_load on a valid converted model, then a fuzzed
// sequence of chunk commits (right or corrupted bytes, right or wrong lengths, indices in or out of range, runs
// of chunks hashed four at a time), finish_load, abort and reload. Checked on every run:
//   - nothing crashes; wrong lengths and corrupted bytes are refused with a Status, right ones accepted;
//   - finish_load succeeds only when every chunk was committed with its right bytes;
//   - a failed or aborted load leaves the previously loaded model working (forward still succeeds).
// The model folder (manifest.json + chunk files, small chunks) comes from $VITRINE_FUZZ_MODEL; tools/fuzz/run.mjs
// converts a fixture into it, so the target follows whatever the converter and engine agree on.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine.h"

namespace {

std::string manifest_text;
std::vector<std::vector<uint8_t>> chunk_bytes;
int image_size = 0;

bool read_file(const std::string& path, std::vector<uint8_t>* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->insert(out->end(), buf, buf + n);
  std::fclose(f);
  return true;
}

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "fuzz-chunks: %s\n", message.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("VITRINE_FUZZ_MODEL");
  if (!dir) {
    std::fprintf(stderr, "fuzz-chunks: set VITRINE_FUZZ_MODEL to a converted model folder (tools/fuzz/run.mjs does)\n");
    std::exit(1);
  }
  std::vector<uint8_t> text;
  if (!read_file(std::string(dir) + "/manifest.json", &text)) fail(std::string(dir) + "/manifest.json: cannot read");
  manifest_text.assign(text.begin(), text.end());
  const auto j = nlohmann::json::parse(manifest_text, nullptr, false);
  if (j.is_discarded()) fail("manifest.json is not JSON");
  image_size = j["architecture"]["image_size"].get<int>();
  for (const auto& c : j["chunks"]) {
    chunk_bytes.emplace_back();
    if (!read_file(std::string(dir) + "/" + c["file"].get<std::string>(), &chunk_bytes.back()))
      fail("cannot read chunk " + c["file"].get<std::string>());
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  vitrine::Engine engine(1 + in.ConsumeIntegralInRange<int>(0, 2));
  const int n = static_cast<int>(chunk_bytes.size());
  bool model_loaded = false;
  std::vector<bool> good(n, false);  // chunks of the pending load committed with their right bytes
  auto begin = [&] {
    if (!engine.begin_load(manifest_text).ok()) fail("begin_load refused the converted model");
    if (engine.chunk_count() != n) fail("chunk_count differs from the manifest");
    good.assign(n, false);
  };
  // Fill chunk i with its bytes, optionally corrupted at one fuzzed position; returns whether it stays intact.
  auto fill = [&](int i, bool corrupt) {
    uint8_t* target = engine.chunk_target(i);
    if (!target) fail("chunk_target(" + std::to_string(i) + ") is null during a load");
    if (engine.chunk_expected_size(i) != chunk_bytes[i].size()) fail("chunk_expected_size differs from the file");
    std::memcpy(target, chunk_bytes[i].data(), chunk_bytes[i].size());
    if (!corrupt) return true;
    const size_t at = in.ConsumeIntegralInRange<size_t>(0, chunk_bytes[i].size() - 1);
    const uint8_t x = in.ConsumeIntegralInRange<uint8_t>(1, 255);
    target[at] ^= x;
    return false;
  };
  auto check_model = [&] {
    if (engine.loaded() != model_loaded) fail("loaded() changed without a successful finish_load");
    if (!model_loaded) return;
    std::vector<float> pixels(size_t(3) * image_size * image_size, 0.25f);
    if (!engine.forward(pixels.data(), image_size, image_size).ok()) fail("the loaded model stopped working");
  };
  begin();
  bool pending = true;
  for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
    switch (in.ConsumeIntegralInRange<int>(0, 6)) {
      case 0: {  // one chunk, right or corrupted bytes, right or wrong length, any index
        const int i = in.ConsumeIntegralInRange<int>(-2, n + 1);
        if (i < 0 || i >= n || !pending) {
          if (pending && engine.chunk_target(i)) fail("chunk_target of an out-of-range index is not null");
          if (engine.commit_chunk(i, in.ConsumeIntegral<uint16_t>()).ok()) fail("commit of a bad index accepted");
          break;
        }
        const bool intact = fill(i, in.ConsumeBool());
        const bool right_size = in.ConsumeBool();
        const size_t nbytes = right_size ? chunk_bytes[i].size() : in.ConsumeIntegral<size_t>();
        const bool ok = engine.commit_chunk(i, nbytes).ok();
        const bool should = intact && nbytes == chunk_bytes[i].size();
        if (ok != should) fail("commit_chunk(" + std::to_string(i) + ") returned " + (ok ? "ok" : "an error") +
                               " for " + (intact ? "intact" : "corrupted") + " bytes, " + std::to_string(nbytes) + " bytes");
        if (ok) good[i] = true;
        break;
      }
      case 1: {  // a run of chunks in one call
        if (!pending) break;
        const int first = in.ConsumeIntegralInRange<int>(-1, n);
        const int count = in.ConsumeIntegralInRange<int>(-1, 9);
        if (first < 0 || count < 1 || first + count > n) {
          std::vector<size_t> sizes(count > 0 ? count : 1, 64);
          if (engine.commit_chunks(first, count, sizes.data()).ok()) fail("commit_chunks out of range accepted");
          break;
        }
        std::vector<size_t> sizes(count);
        std::vector<bool> should(count);
        for (int k = 0; k < count; ++k) {
          const bool intact = fill(first + k, in.ConsumeIntegralInRange<int>(0, 3) == 0);
          const bool right_size = in.ConsumeIntegralInRange<int>(0, 3) != 0;
          sizes[k] = right_size ? chunk_bytes[first + k].size() : in.ConsumeIntegralInRange<size_t>(0, 1 << 20);
          should[k] = intact && sizes[k] == chunk_bytes[first + k].size();
        }
        const bool ok = engine.commit_chunks(first, count, sizes.data()).ok();
        bool all = true;
        for (int k = 0; k < count; ++k) {
          all = all && should[k];
          if (should[k]) good[first + k] = true;  // chunks that passed stay committed
        }
        if (ok != all) fail("commit_chunks result does not match the chunks' bytes and lengths");
        break;
      }
      case 2: {  // every chunk not yet committed, with its right bytes
        if (!pending) break;
        for (int i = 0; i < n; ++i)
          if (!good[i]) {
            fill(i, false);
            if (!engine.commit_chunk(i, chunk_bytes[i].size()).ok()) fail("an intact chunk was refused");
            good[i] = true;
          }
        break;
      }
      case 3: {  // finish
        bool complete = pending;
        for (int i = 0; i < n; ++i) complete = complete && good[i];
        const bool ok = engine.finish_load().ok();
        if (ok != complete) fail(std::string("finish_load ") + (ok ? "succeeded with" : "failed without") + " missing chunks");
        if (ok) model_loaded = true;
        // A finish, whatever its outcome, ends a complete load; a refused incomplete one keeps it pending.
        pending = pending && !ok;
        check_model();
        break;
      }
      case 4:  // abort
        engine.abort_load();
        pending = false;
        check_model();
        break;
      case 5:  // a new load replaces any pending one
        begin();
        pending = true;
        break;
      case 6:  // queries with any index never touch memory outside the stream
        for (int i : {-1, n, in.ConsumeIntegral<int>()}) {
          if (i >= 0 && i < n) continue;
          if (engine.chunk_target(i) || engine.chunk_expected_size(i) || !engine.chunk_file(i).empty())
            fail("a query with an out-of-range index answered");
        }
        break;
    }
  }
  check_model();
  return 0;
}
