// vitrine-kernel-bench: single-kernel timings (GFLOP/s of the GEMM on ViT-shaped problems, attention, LayerNorm)
// for tuning the micro-kernels without a model. Usage: vitrine-kernel-bench [repeats]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "kernels.h"

using namespace vitrine;
using namespace vitrine::kernels;

namespace {
double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 20;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> U(-1.0f, 1.0f);
  struct Shape { int m, n, k; const char* what; };
  const Shape shapes[] = {{197, 2304, 768, "ViT-B qkv"},  {197, 768, 768, "ViT-B proj"},
                          {197, 3072, 768, "ViT-B fc1"},  {197, 768, 3072, "ViT-B fc2"},
                          {197, 1152, 384, "ViT-S qkv"},  {197, 384, 1536, "ViT-S fc2"}};
  for (const Shape& s : shapes) {
    std::vector<float> x(static_cast<size_t>(s.m) * s.k), w(static_cast<size_t>(s.n) * s.k), b(s.n);
    for (auto& v : x) v = U(rng);
    for (auto& v : w) v = U(rng);
    for (auto& v : b) v = U(rng);
    std::vector<float> packed(gemm_packed_floats(s.n, s.k)), y(static_cast<size_t>(s.m) * s.n);
    gemm_pack(w.data(), s.n, s.k, packed.data());
    for (Epilogue ep : {Epilogue::None, Epilogue::GeluErf}) {
      double best = 1e30;
      for (int r = 0; r < repeats; ++r) {
        const double t0 = now_ms();
        GemmArgs a;
        a.m = s.m; a.n = s.n; a.k = s.k; a.x = x.data(); a.ldx = s.k; a.packed = packed.data();
        a.panel_stride = size_t(kGemmNR) * s.k; a.bias = b.data(); a.ep = ep; a.y = y.data(); a.ldy = s.n;
        dispatch::gemm(a, 0, gemm_panels(s.n));
        best = std::min(best, now_ms() - t0);
      }
      const double gflop = 2.0 * s.m * s.n * s.k * 1e-9;
      std::printf("gemm %-11s m=%d n=%d k=%d %s: %.2f ms  %.1f GFLOP/s\n", s.what, s.m, s.n, s.k,
                  ep == Epilogue::None ? "     " : "+gelu", best, gflop / (best * 1e-3));
    }
  }
  // Attention, one layer of ViT-B: 12 heads of 64, 197 tokens.
  {
    const int T = 197, H = 12, hd = 64, D = H * hd;
    std::vector<float> qkv(static_cast<size_t>(T) * 3 * D), out(static_cast<size_t>(T) * D);
    for (auto& v : qkv) v = U(rng);
    std::vector<float> pk(attention_packed_k_floats(T, hd)), pv(attention_packed_v_floats(T, hd));
    std::vector<float> tile(attention_tile_floats(T));
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
      const double t0 = now_ms();
      for (int h = 0; h < H; ++h) {
        attention_pack_k(qkv.data() + D + h * hd, 3 * D, T, hd, pk.data());
        attention_pack_v(qkv.data() + 2 * D + h * hd, 3 * D, T, hd, pv.data());
        dispatch::attention_rows(qkv.data() + h * hd, pk.data(), pv.data(), 3 * D, T, hd, 0.125f, 0, T,
                                 out.data() + h * hd, D, tile.data());
      }
      best = std::min(best, now_ms() - t0);
    }
    const double gflop = 4.0 * T * T * hd * H * 1e-9;
    std::printf("attention ViT-B layer: %.2f ms  %.1f GFLOP/s\n", best, gflop / (best * 1e-3));
  }
  {
    const int T = 197, D = 768;
    std::vector<float> x(static_cast<size_t>(T) * D), g(D, 1.0f), b(D, 0.0f), y(x.size());
    for (auto& v : x) v = U(rng);
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
      const double t0 = now_ms();
      dispatch::layernorm(x.data(), T, D, g.data(), b.data(), 1e-6f, y.data());
      best = std::min(best, now_ms() - t0);
    }
    std::printf("layernorm 197x768: %.3f ms\n", best);
    best = 1e30;
    std::vector<float> h(static_cast<size_t>(T) * 3072);
    for (auto& v : h) v = U(rng);
    for (int r = 0; r < repeats; ++r) {
      const double t0 = now_ms();
      dispatch::gelu(h.data(), h.size());
      best = std::min(best, now_ms() - t0);
    }
    std::printf("gelu 197x3072: %.3f ms\n", best);
  }
  return 0;
}
