// vitrine-kernel-bench: single-kernel timings (GFLOP/s of the GEMM on ViT-shaped problems, attention, LayerNorm)
// for tuning the micro-kernels without a model, then a per-op profile of one encoder layer of ViT-S/16 and
// ViT-B/16 through ops.h at 1 and 2 threads (where the time of a forward pass goes).
// Usage: vitrine-kernel-bench [repeats] [--profile-only | --long | --attention | --attention-tiles | --gemm |
//                              --gemm-orders]
//   --long: one ViT-B layer at 197 and at 1370 tokens (DINOv2-B/14 at 518²), 1 thread;
//   --attention: ops.h attention() next to the qkv linear() at 197 and 1370 tokens, ViT-B (12 heads of 64),
//     f32 and integer (int8 qkv), 1 thread and, in the mt build, 2 threads (JSON lines for tools/bench.mjs
//     --attention);
//   --attention-tiles: one ViT-B layer's attention per key-tile size, 197 … 1370 tokens, 1 thread;
//   --gemm: ops.h linear() f32 vs int8 on ViT-B shapes, 1 thread (JSON lines for tools/bench.mjs --gemm);
//   --gemm-orders: the f32 micro-kernel under different depth blockings / loop orders, and the int8 kernel.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <string>
#include <random>
#include <vector>

#include "ops.h"
#include "threadpool.h"
#include "kernels/kernels.h"

using namespace vitrine;
using namespace vitrine::kernels;

namespace {
double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

// One transformer block through ops.h, each op timed separately (best of `repeats` per op).
void profile_layer(const char* name, int T, int D, int heads, int I, int threads, int repeats) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> U(-1.0f, 1.0f);
  ThreadPool pool(threads);
  auto rnd = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = U(rng) * 0.1f;
    return v;
  };
  std::vector<float> wqkv = rnd(size_t(3) * D * D), wo = rnd(size_t(D) * D), w1 = rnd(size_t(I) * D), w2 = rnd(size_t(D) * I);
  std::vector<float> bqkv = rnd(3 * D), bo = rnd(D), b1 = rnd(I), b2 = rnd(D), g = rnd(D), b = rnd(D);
  auto make = [](std::vector<float>& w, const std::vector<float>& bias, int out, int in) {
    Linear L;
    L.weight = w.data();
    L.bias = bias.data();
    L.out = out;
    L.in = in;
    prepare_linear(L, w.data());
    return L;
  };
  Linear qkv = make(wqkv, bqkv, 3 * D, D), proj = make(wo, bo, D, D), fc1 = make(w1, b1, I, D), fc2 = make(w2, b2, D, I);
  std::vector<float> x = rnd(size_t(T) * D), xn(x.size()), q(size_t(T) * 3 * D), at(x.size()), pr(x.size()), h(size_t(T) * I);
  std::vector<float> scratch(attention_scratch_floats(T, heads, D / heads, pool.size()));
  struct Op { const char* what; double flop; std::function<void()> run; double best = 1e30; };
  std::vector<Op> ops = {
      {"layernorm", 0, [&] { layernorm(&pool, x.data(), T, D, g.data(), b.data(), 1e-6f, xn.data()); }},
      {"qkv linear", 2.0 * T * D * 3 * D, [&] { linear(&pool, xn.data(), T, qkv, q.data()); }},
      {"attention", 4.0 * T * T * D, [&] { attention(&pool, q.data(), T, heads, D / heads, at.data(), scratch.data()); }},
      {"proj linear", 2.0 * T * D * D, [&] { linear(&pool, at.data(), T, proj, pr.data()); }},
      {"residual", 0, [&] { residual_add(&pool, x.data(), pr.data(), nullptr, T, D); }},
      {"layernorm", 0, [&] { layernorm(&pool, x.data(), T, D, g.data(), b.data(), 1e-6f, xn.data()); }},
      {"fc1+gelu", 2.0 * T * D * I, [&] { linear(&pool, xn.data(), T, fc1, h.data(), Epilogue::GeluErf); }},
      {"fc2", 2.0 * T * I * D, [&] { linear(&pool, h.data(), T, fc2, pr.data()); }},
      {"residual", 0, [&] { residual_add(&pool, x.data(), pr.data(), nullptr, T, D); }},
  };
  for (int r = 0; r < repeats; ++r) {
    for (Op& op : ops) {
      const double t0 = now_ms();
      op.run();
      op.best = std::min(op.best, now_ms() - t0);
    }
  }
  double total = 0, flop = 0;
  for (const Op& op : ops) total += op.best, flop += op.flop;
  std::printf("\n%s layer (T=%d, D=%d, heads=%d, I=%d), %d thread(s): %.2f ms/layer, %.1f GFLOP/s/thread\n", name, T, D,
              heads, I, pool.size(), total, flop / (total * 1e-3) * 1e-9 / pool.size());
  for (const Op& op : ops) {
    std::printf("  %-12s %7.3f ms  %5.1f%%", op.what, op.best, 100 * op.best / total);
    if (op.flop > 0) std::printf("  %5.1f GFLOP/s/thread", op.flop / (op.best * 1e-3) * 1e-9 / pool.size());
    std::printf("\n");
  }
}

// GEMM loop orders on the same micro-kernel, timed round-robin so machine noise hits all alike (medians):
//   panel-outer: depth slices <= 1024, per slice all row blocks of one panel (the panel slice stays in L1);
//   rows-outer KC: depth slices of KC, per slice one 4-row block against every panel (A's 4·KC block stays
//   in L1, panel slices stream from L2).
void gemm_orders(int repeats) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> U(-1.0f, 1.0f);
  struct Shape { int m, n, k; const char* what; };
  const Shape shapes[] = {{197, 2304, 768, "ViT-B qkv"}, {197, 3072, 768, "ViT-B fc1"}, {197, 768, 3072, "ViT-B fc2"},
                          {197, 768, 768, "ViT-B proj"}, {197, 1152, 384, "ViT-S qkv"}};
  for (const Shape& s : shapes) {
    std::vector<float> x(size_t(s.m) * s.k), w(size_t(s.n) * s.k), packed(gemm_packed_floats(s.n, s.k)),
        pa(gemm_packed_a_floats(s.m, s.k)), y(size_t(s.m) * s.n);
    for (auto& v : x) v = U(rng);
    for (auto& v : w) v = U(rng);
    gemm_pack(w.data(), s.n, s.k, packed.data());
    auto sliced = [&](int slice, bool rows_outer, int nc_panels = 1 << 30) {
      dispatch::gemm_pack_a(x.data(), s.k, s.m, s.k, 0, gemm_row_blocks(s.m), pa.data());
      for (int k0 = 0; k0 < s.k; k0 += slice) {
        GemmArgs a;
        a.m = s.m; a.n = s.n; a.k = std::min(slice, s.k - k0); a.a = pa.data() + size_t(k0) * 4;
        a.a_stride = size_t(4) * s.k; a.packed = packed.data() + size_t(k0) * kGemmNR;
        a.panel_stride = size_t(kGemmNR) * s.k; a.accumulate = k0 > 0; a.y = y.data(); a.ldy = s.n;
        if (!rows_outer) { dispatch::gemm(a, 0, gemm_panels(s.n)); continue; }
        for (int p0 = 0; p0 < gemm_panels(s.n); p0 += nc_panels)
          for (int b = 0; b < gemm_row_blocks(s.m); ++b) {
            GemmArgs r = a;
            r.m = std::min(4, s.m - 4 * b); r.a = a.a + b * a.a_stride; r.y = y.data() + size_t(4 * b) * s.n;
            dispatch::gemm(r, p0, std::min(gemm_panels(s.n), p0 + nc_panels));
          }
      }
    };
    // The int8 GEMM on the same shape: per-row quantization of x + integer GEMM (weights quantized once).
    std::vector<int8_t> qw(size_t(s.n) * s.k), qpacked(gemm_i8_packed_bytes(s.n, s.k));
    std::vector<float> sw(size_t(gemm_panels(s.n)) * kGemmNR, 0.0f), sa(size_t(gemm_row_blocks(s.m)) * 4);
    std::vector<int16_t> qa(gemm_i8_packed_a_values(s.m, s.k));
    quantize_weights_i8(w.data(), s.n, s.k, qw.data(), sw.data());
    gemm_i8_pack(qw.data(), s.n, s.k, qpacked.data());
    auto int8 = [&] {
      dispatch::gemm_i8_quantize_a(x.data(), s.k, s.m, s.k, 0, gemm_row_blocks(s.m), qa.data(), sa.data(), kGemmI8Max);
      GemmI8Args a;
      a.m = s.m; a.n = s.n; a.k = s.k; a.a = qa.data(); a.a_scale = sa.data(); a.packed = qpacked.data();
      a.w_scale = sw.data(); a.y = y.data(); a.ldy = s.n;
      dispatch::gemm_i8(a, 0, gemm_panels(s.n));
    };
    struct V { const char* name; std::function<void()> run; std::vector<double> t; };
    std::vector<V> vs = {{"panel-outer k<=1024", [&] { sliced(s.k > 1024 ? (s.k + 1) / 2 : s.k, false); }, {}},
                         {"panel-outer KC=256", [&] { sliced(256, false); }, {}},
                         {"rows-outer KC=256", [&] { sliced(256, true); }, {}},
                         {"rows-outer KC=256 NC=512", [&] { sliced(256, true, 64); }, {}},
                         {"rows-outer KC=256 NC=256", [&] { sliced(256, true, 32); }, {}},
                         {"rows-outer KC=512 NC=256", [&] { sliced(512, true, 32); }, {}},
                         {"int8 (GOP/s)", int8, {}}};
    for (int r = 0; r < repeats; ++r)
      for (V& v : vs) {
        const double t0 = now_ms();
        v.run();
        v.t.push_back(now_ms() - t0);
      }
    const double gflop = 2.0 * s.m * s.n * s.k * 1e-9;
    for (V& v : vs) {
      std::sort(v.t.begin(), v.t.end());
      std::printf("gemm-order %-10s %-26s median %5.1f best %5.1f GFLOP/s  x%.2f vs first\n", s.what, v.name,
                  gflop / (v.t[v.t.size() / 2] * 1e-3), gflop / (v.t[0] * 1e-3), vs[0].t[vs[0].t.size() / 2] / v.t[v.t.size() / 2]);
    }
  }
}

// The attention kernel (K/V packing included) for one ViT-B layer, 12 heads of 64, at several sequence lengths,
// with one key tile (plain softmax) and with key tiles of 32 … 256 (online softmax); timed round-robin so the
// machine's noise hits every variant alike; median and best GFLOP/s, and the median time relative to one tile.
void attention_tiles(int repeats) {
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> U(-1.0f, 1.0f);
  const int H = 12, hd = 64, D = H * hd;
  const int tiles[] = {0, 32, 64, 128, 256, 512};
  for (int T : {197, 257, 577, 1025, 1370}) {
    std::vector<float> qkv(size_t(T) * 3 * D), out(size_t(T) * D);
    for (auto& v : qkv) v = U(rng);
    std::vector<float> pk(attention_packed_k_floats(T, hd)), pv(attention_packed_v_floats(T, hd));
    std::vector<std::vector<double>> t(std::size(tiles));
    for (int r = 0; r < repeats; ++r)
      for (size_t v = 0; v < std::size(tiles); ++v) {
        std::vector<float> tile(attention_tile_floats(T, hd, tiles[v]));
        const double t0 = now_ms();
        for (int h = 0; h < H; ++h) {
          attention_pack_k(qkv.data() + D + h * hd, 3 * D, T, hd, pk.data());
          attention_pack_v(qkv.data() + 2 * D + h * hd, 3 * D, T, hd, pv.data());
          dispatch::attention_rows(qkv.data() + h * hd, pk.data(), pv.data(), 3 * D, T, hd, 0.125f, tiles[v], 0, T,
                                   out.data() + h * hd, D, tile.data());
        }
        t[v].push_back(now_ms() - t0);
      }
    const double gflop = 4.0 * T * T * D * 1e-9;
    for (auto& v : t) std::sort(v.begin(), v.end());
    const double base = t[0][t[0].size() / 2];
    for (size_t v = 0; v < std::size(tiles); ++v) {
      const double med = t[v][t[v].size() / 2];
      std::printf("attention T=%4d key_tile=%4d  median %7.2f ms  %5.1f GFLOP/s (best %5.1f)  x%.2f vs one tile\n", T,
                  tiles[v], med, gflop / (med * 1e-3), gflop / (t[v][0] * 1e-3), base / med);
    }
  }
}

// ops.h attention() for one ViT-B layer (12 heads of 64; K/V packing and the thread split included) at the
// sequence lengths of ViT-B/16 at 224² and DINOv2-B/14 at 518², in f32 and in integers (the int8 models'
// path), each next to the qkv linear() of its own dtype on the same tokens and pool, so each attention rate
// reads against the GEMM it sits beside; all four timed round-robin (median), one JSON line per (tokens,
// threads, math) ("@@ATTN {...}": tools/bench.mjs --attention reads them).
void attention_rate(int repeats) {
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> U(-1.0f, 1.0f);
  const int H = 12, hd = 64, D = H * hd;
  std::vector<float> w(size_t(3) * D * D), b(3 * D), wscale(3 * D);
  for (auto& v : w) v = U(rng) * 0.05f;
  for (auto& v : b) v = U(rng);
  std::vector<int8_t> qw(w.size());
  quantize_weights_i8(w.data(), 3 * D, D, qw.data(), wscale.data());
  Linear qkv, qkv8;
  qkv.weight = w.data();
  qkv.bias = qkv8.bias = b.data();
  qkv.out = qkv8.out = 3 * D;
  qkv.in = qkv8.in = D;
  qkv8.qweight = qw.data();
  qkv8.wscale = wscale.data();
  prepare_linear(qkv, w.data());
  prepare_linear(qkv8, qw.data());
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    if (pool.size() != threads) continue;  // the st build runs 1 thread only
    for (int T : {197, 1370}) {
      std::vector<float> x(size_t(T) * D), q(size_t(T) * 3 * D), out(size_t(T) * D);
      for (auto& v : x) v = U(rng);
      std::vector<float> scratch(attention_scratch_floats(T, H, hd, pool.size()));
      struct Row { const char* math; const Linear* L; AttentionMath am; std::vector<double> ta, tg; };
      Row rows[2] = {{"f32", &qkv, AttentionMath::Float, {}, {}}, {"int8", &qkv8, AttentionMath::Integer, {}, {}}};
      for (int r = 0; r < repeats + 1; ++r)
        for (Row& row : rows) {
          const double t0 = now_ms();
          linear(&pool, x.data(), T, *row.L, q.data());
          const double t1 = now_ms();
          attention(&pool, q.data(), T, H, hd, out.data(), scratch.data(), row.am);
          const double t2 = now_ms();
          if (r == 0) continue;  // warm-up
          row.tg.push_back(t1 - t0);
          row.ta.push_back(t2 - t1);
        }
      for (Row& row : rows) {
        std::sort(row.ta.begin(), row.ta.end());
        std::sort(row.tg.begin(), row.tg.end());
        const double ma = row.ta[row.ta.size() / 2], mg = row.tg[row.tg.size() / 2];
        const double fa = 4.0 * T * T * D, fg = 2.0 * T * D * 3 * D;
        std::printf("@@ATTN {\"tokens\":%d,\"heads\":%d,\"head_dim\":%d,\"threads\":%d,\"math\":\"%s\","
                    "\"attention_ms\":%.3f,\"attention_gflops\":%.2f,\"qkv_ms\":%.3f,\"qkv_gflops\":%.2f}\n",
                    T, H, hd, threads, row.math, ma, fa / ma * 1e-6, mg, fg / mg * 1e-6);
      }
    }
  }
}

// The engine's Linear (ops.h, 1 thread) on ViT-B/16 shapes with f32 and with int8 weights, timed
// round-robin; one JSON line per shape ("@@GEMM {...}": tools/bench.mjs --gemm reads them).
void gemm_linear(int repeats) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> U(-1.0f, 1.0f);
  struct Shape { int m, n, k; const char* what; Epilogue ep; };
  const Shape shapes[] = {{197, 2304, 768, "qkv", Epilogue::None}, {197, 768, 768, "proj", Epilogue::None},
                          {197, 3072, 768, "fc1+gelu", Epilogue::GeluErf}, {197, 768, 3072, "fc2", Epilogue::None}};
  double sum_f = 0, sum_q = 0, flop_all = 0;
  for (const Shape& s : shapes) {
    std::vector<float> x(size_t(s.m) * s.k), w(size_t(s.n) * s.k), b(s.n), y(size_t(s.m) * s.n), sw(s.n);
    for (auto& v : x) v = U(rng);
    for (auto& v : w) v = U(rng) * 0.05f;
    for (auto& v : b) v = U(rng);
    std::vector<int8_t> qw(w.size());
    quantize_weights_i8(w.data(), s.n, s.k, qw.data(), sw.data());
    Linear f, q;
    f.weight = w.data(); f.bias = q.bias = b.data(); f.out = q.out = s.n; f.in = q.in = s.k;
    q.qweight = qw.data(); q.wscale = sw.data();
    prepare_linear(f, w.data());
    prepare_linear(q, qw.data());
    std::vector<double> tf, tq;
    for (int r = 0; r < repeats + 1; ++r) {
      double t0 = now_ms();
      linear(nullptr, x.data(), s.m, f, y.data(), s.ep);
      double t1 = now_ms();
      linear(nullptr, x.data(), s.m, q, y.data(), s.ep);
      double t2 = now_ms();
      if (r == 0) continue;  // warm-up
      tf.push_back(t1 - t0);
      tq.push_back(t2 - t1);
    }
    std::sort(tf.begin(), tf.end());
    std::sort(tq.begin(), tq.end());
    const double mf = tf[tf.size() / 2], mq = tq[tq.size() / 2], flop = 2.0 * s.m * s.n * s.k;
    sum_f += mf; sum_q += mq; flop_all += flop;
    std::printf("@@GEMM {\"shape\":\"ViT-B %s\",\"m\":%d,\"n\":%d,\"k\":%d,\"f32_ms\":%.3f,\"int8_ms\":%.3f,"
                "\"f32_gflops\":%.2f,\"int8_gops\":%.2f}\n", s.what, s.m, s.n, s.k, mf, mq, flop / mf * 1e-6, flop / mq * 1e-6);
  }
  std::printf("@@GEMM {\"shape\":\"ViT-B layer (4 linears)\",\"f32_ms\":%.3f,\"int8_ms\":%.3f,\"f32_gflops\":%.2f,"
              "\"int8_gops\":%.2f}\n", sum_f, sum_q, flop_all / sum_f * 1e-6, flop_all / sum_q * 1e-6);
}

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 20;
  const bool profile_only = argc > 2 && std::string(argv[2]) == "--profile-only";
  if (argc > 2 && std::string(argv[2]) == "--gemm") {
    gemm_linear(repeats);
    return 0;
  }
  if (argc > 2 && std::string(argv[2]) == "--attention") {
    attention_rate(repeats);
    return 0;
  }
  if (argc > 2 && std::string(argv[2]) == "--attention-tiles") {
    attention_tiles(repeats);
    return 0;
  }
  if (argc > 2 && std::string(argv[2]) == "--gemm-orders") {
    gemm_orders(repeats);
    return 0;
  }
  if (profile_only) {
    for (int threads : {1, 2}) {
      profile_layer("ViT-S/16", 197, 384, 6, 1536, threads, repeats);
      profile_layer("DINOv2-S/14", 257, 384, 6, 1536, threads, repeats);
      profile_layer("ViT-B/16", 197, 768, 12, 3072, threads, repeats);
    }
    return 0;
  }
  if (argc > 2 && std::string(argv[2]) == "--long") {
    // Long sequences: DINOv2-B/14 at 518² (37² patches + CLS = 1370 tokens), where attention is T² work,
    // next to the same layer at 197 tokens.
    profile_layer("ViT-B/16", 197, 768, 12, 3072, 1, repeats);
    profile_layer("DINOv2-B/14 518", 1370, 768, 12, 3072, 1, repeats);
    return 0;
  }
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
        std::vector<float> pa(gemm_packed_a_floats(s.m, s.k));
        dispatch::gemm_pack_a(x.data(), s.k, s.m, s.k, 0, gemm_row_blocks(s.m), pa.data());
        GemmArgs a;
        a.m = s.m; a.n = s.n; a.k = s.k; a.a = pa.data(); a.a_stride = size_t(4) * s.k; a.packed = packed.data();
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
    std::vector<float> tile(attention_tile_floats(T, hd, 0));
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
      const double t0 = now_ms();
      for (int h = 0; h < H; ++h) {
        attention_pack_k(qkv.data() + D + h * hd, 3 * D, T, hd, pk.data());
        attention_pack_v(qkv.data() + 2 * D + h * hd, 3 * D, T, hd, pv.data());
        dispatch::attention_rows(qkv.data() + h * hd, pk.data(), pv.data(), 3 * D, T, hd, 0.125f, 0, 0, T,
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
    // Chunk verification at load: four 4 MiB chunks, one after the other vs. four lanes at once.
    const size_t chunk = size_t(4) << 20;
    std::vector<uint8_t> bytes(4 * chunk, 0x5a);
    const uint8_t* data[4] = {bytes.data(), bytes.data() + chunk, bytes.data() + 2 * chunk, bytes.data() + 3 * chunk};
    uint8_t digest[4][32];
    for (const auto& tw : {std::make_pair("scalar", sha256_x4_scalar), std::make_pair("dispatch", dispatch::sha256_x4)}) {
      best = 1e30;
      for (int r = 0; r < 3; ++r) {
        const double t0 = now_ms();
        tw.second(data, chunk, digest);
        best = std::min(best, now_ms() - t0);
      }
      std::printf("sha256 x4 (%s) 4 x 4 MiB: %.1f ms  %.0f MB/s\n", tw.first, best, 4 * chunk / (best * 1e-3) / 1e6);
    }
  }
  for (int threads : {1, 2}) {
    profile_layer("ViT-S/16", 197, 384, 6, 1536, threads, repeats);
    profile_layer("ViT-B/16", 197, 768, 12, 3072, threads, repeats);
  }
  return 0;
}
