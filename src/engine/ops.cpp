// ops.h on top of kernels/: this file decides how work is split over the thread pool and which kernel twin
// runs (kernels::dispatch: WASM SIMD in WASM builds, plain C++ elsewhere). The plain reference loops that
// the forward pass was first validated with stay here as the fallback for shapes the kernels do not take
// (a Linear used before prepare_linear, odd head sizes) — and as the check program's ground truth.
#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "kernels/kernels.h"
#include "profile.h"
#include "threadpool.h"

namespace vitrine {

namespace {

// Depth slices of at most this many k per GEMM pass: a slice of one 8-wide panel is then <= 32 KiB (L1 is
// 48 KiB here) and x's slice for 197 tokens <= 800 KiB (L2 is 2 MiB). Only fc2 (k = 4·D) is ever cut.
constexpr int kMaxDepthSlice = 1024;

// The int8 GEMM takes rows this many packed-A bytes at a time (a multiple of 4 rows): each thread's panels then
// re-read a slice of A that stays in L2 (2 MiB here) instead of streaming all of A from memory once per panel,
// which at DINOv2's 1370 tokens (2.1 MiB of A at k = 768, 8.4 MiB at k = 3072) made the GEMM bandwidth-bound
// and two threads contend for it. The weight panels are re-read once per slice instead (8 rows of k per panel).
constexpr size_t kI8RowSliceBytes = 512 * 1024;

// Below this many multiply-adds a parallel_for costs more than it saves.
constexpr double kMinParallelMacs = 200e3;

// Attention's keys per tile (kernels.h): sequences of at least kAttentionTiledFrom tokens take keys
// kAttentionKeyTile at a time with the online softmax; shorter ones one tile (the plain softmax). Up to 1370
// tokens no key tile measured faster than one tile (docs/KERNELS.md, "Long sequences"), so the switch is where
// the one-tile score tile (8 queries x T floats = 32·T bytes) reaches the 48 KiB L1; a 256-key tile is 8 KiB.
constexpr int kAttentionTiledFrom = 1536;
constexpr int kAttentionKeyTile = 256;
int attention_key_tile_for(int tokens) { return tokens >= kAttentionTiledFrom ? kAttentionKeyTile : 0; }

}  // namespace

namespace {

// What prepare_linear keeps for an int8 Linear: the packed panels (in the weight's own slot when the layout
// allows, else a copy) and the scales padded to whole panels. ~0.25x the f32 weight's bytes.
struct PackedI8 {
  std::unique_ptr<int8_t[]> owned;  // only when not packed in place
  const int8_t* panels = nullptr;
  std::vector<float> scale;
};

size_t prepare_linear_i8(Linear& L, int8_t* storage) {
  using namespace kernels;
  auto p = std::make_shared<PackedI8>();
  size_t bytes = 0;
  if (storage && L.out % kGemmNR == 0 && L.in % kGemmI8KStep == 0) {
    std::vector<int8_t> tmp(static_cast<size_t>(kGemmNR) * L.in);
    gemm_i8_pack_inplace(storage, L.out, L.in, tmp.data());
    p->panels = storage;
  } else {
    bytes += gemm_i8_packed_bytes(L.out, L.in);
    p->owned.reset(new int8_t[gemm_i8_packed_bytes(L.out, L.in)]);
    gemm_i8_pack(L.qweight, L.out, L.in, p->owned.get());
    p->panels = p->owned.get();
  }
  p->scale.assign(static_cast<size_t>(gemm_panels(L.out)) * kGemmNR, 0.0f);
  std::copy(L.wscale, L.wscale + L.out, p->scale.begin());
  bytes += p->scale.size() * sizeof(float);
  L.packed = std::static_pointer_cast<void>(p);
  return bytes;
}

}  // namespace

size_t prepare_linear(Linear& L, void* weight_storage) {
  using namespace kernels;
  if (L.out <= 0 || L.in <= 0) return 0;
  if (L.qweight) return L.wscale ? prepare_linear_i8(L, static_cast<int8_t*>(weight_storage)) : 0;
  if (!L.weight) return 0;
  if (weight_storage && L.out % kGemmNR == 0) {
    // The packed panels have exactly the weight's size: rewrite the weight's own slot, no extra memory.
    std::vector<float> tmp(static_cast<size_t>(kGemmNR) * L.in);
    gemm_pack_inplace(static_cast<float*>(weight_storage), L.out, L.in, tmp.data());
    L.packed = std::shared_ptr<void>(weight_storage, [](void*) {});  // non-owning: the stream owns it
    return 0;
  }
  // Odd output counts (small classifier heads): a zero-padded copy.
  auto packed = std::shared_ptr<float>(new float[gemm_packed_floats(L.out, L.in)], std::default_delete<float[]>());
  gemm_pack(L.weight, L.out, L.in, packed.get());
  L.packed = std::static_pointer_cast<void>(packed);
  return gemm_packed_floats(L.out, L.in) * sizeof(float);
}

namespace {

// The reference Linear on PyTorch's [out, in] layout.
void linear_plain(ThreadPool* pool, const float* x, int rows, const Linear& L, float* y, Epilogue ep) {
  const int in = L.in, out = L.out;
  // In place (ops.h): row r's outputs would overwrite its inputs while they are still being read.
  std::vector<float> copy;
  if (x == y) {
    copy.assign(x, x + static_cast<size_t>(rows) * in);
    x = copy.data();
  }
  parallel_for(pool, rows, [&](int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const float* xr = x + static_cast<size_t>(r) * in;
      float* yr = y + static_cast<size_t>(r) * out;
      for (int o = 0; o < out; ++o) {
        const float* w = L.weight + static_cast<size_t>(o) * in;
        // Four partial sums: breaks the add dependency chain so the loop is not latency-bound.
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int k = 0;
        for (; k + 4 <= in; k += 4) {
          s0 += xr[k] * w[k];
          s1 += xr[k + 1] * w[k + 1];
          s2 += xr[k + 2] * w[k + 2];
          s3 += xr[k + 3] * w[k + 3];
        }
        for (; k < in; ++k) s0 += xr[k] * w[k];
        float v = (s0 + s1) + (s2 + s3);
        if (L.bias) v += L.bias[o];
        yr[o] = kernels::apply_epilogue(v, ep);
      }
    }
  });
}

// The int8 Linear without packed panels: each row quantized by the plain twin and dotted with qweight in int32,
// the same arithmetic as the integer GEMM.
void linear_i8_unprepared(ThreadPool* pool, const LinearInput& in, const Linear& L, float* y, Epilogue ep) {
  using namespace kernels;
  const int K = L.in, depth = gemm_i8_depth(K);
  parallel_for(pool, in.rows, [&](int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      const int16_t* blk = in.qa.get() + static_cast<size_t>(r / 4) * 4 * depth;
      for (int o = 0; o < L.out; ++o) {
        const int8_t* w = L.qweight + static_cast<size_t>(o) * K;
        int32_t acc = 0;
        for (int kk = 0; kk < K; ++kk) acc += int32_t(blk[(kk / 2) * 8 + (r % 4) * 2 + kk % 2]) * w[kk];
        const float v = static_cast<float>(acc) * (in.qscale[r] * L.wscale[o]);
        y[static_cast<size_t>(r) * L.out + o] = apply_epilogue(v + (L.bias ? L.bias[o] : 0.0f), ep);
      }
    }
  });
}

}  // namespace

void linear_input(ThreadPool* pool, const float* x, int rows, const Linear& L, LinearInput* in, Profile* prof) {
  using namespace kernels;
  const int K = L.in, blocks = gemm_row_blocks(rows);
  const double macs = static_cast<double>(rows) * L.out * K;
  in->rows = rows;
  in->k = K;
  if (L.qweight) {
    // x quantized per row into packed int16 blocks for the integer GEMM.
    in->qa.reset(new int16_t[gemm_i8_packed_a_values(rows, K)]);
    in->qscale.reset(new float[static_cast<size_t>(blocks) * 4]);
    auto quantize = [&](int b0, int b1) {
      dispatch::gemm_i8_quantize_a(x, K, rows, K, b0, b1, in->qa.get(), in->qscale.get(), kGemmI8Max);
    };
    StageTimer t(prof, Stage::Quantize);
    if (macs < kMinParallelMacs) quantize(0, blocks);
    else parallel_for(pool, blocks, quantize);
    return;
  }
  // x packed into 4-row blocks for the micro-kernel; per call (x changes every call), a few hundred KiB.
  in->packed.reset(new float[gemm_packed_a_floats(rows, K)]);
  auto pack = [&](int b0, int b1) { dispatch::gemm_pack_a(x, K, rows, K, b0, b1, in->packed.get()); };
  if (macs < kMinParallelMacs) pack(0, blocks);
  else parallel_for(pool, blocks, pack);
}

void linear_columns(ThreadPool* pool, const LinearInput& in, const Linear& L, const int* col0, int ranges, int cols,
                    float* y, Epilogue ep) {
  using namespace kernels;
  const int K = in.k, rows = in.rows, per = gemm_panels(cols);
  const size_t ldy = static_cast<size_t>(ranges) * cols;
  // Threads claim chunks of contiguous column panels (across the ranges): each chunk reads all of x (from L2)
  // but only its panels of the weights, and writes disjoint columns of y. `each(p0, p1, fn)` hands fn the pieces
  // of [p0, p1) range by range: (range, first panel in it, end panel in it).
  auto each = [&](int p0, int p1, auto&& fn) {
    for (int p = p0; p < p1;) {
      const int j = p / per, q0 = p % per, q1 = std::min(per, q0 + (p1 - p));
      fn(j, q0, q1);
      p += q1 - q0;
    }
  };
  const double macs = static_cast<double>(rows) * ranges * cols * K;
  auto split = [&](auto&& run) {
    if (macs < kMinParallelMacs) run(0, ranges * per);
    else parallel_for(pool, ranges * per, run);
  };
  if (L.qweight) {
    const auto* prepared = static_cast<const PackedI8*>(L.packed.get());
    const size_t depth = gemm_i8_depth(K);
    // Rows a slice of A at a time (kI8RowSliceBytes).
    const int slice_rows = static_cast<int>(std::max<size_t>(4, kI8RowSliceBytes / (depth * sizeof(int16_t)) / 4 * 4));
    split([&](int p0, int p1) {
      each(p0, p1, [&](int j, int q0, int q1) {
        GemmI8Args a;
        a.n = cols;
        a.k = K;
        a.packed = prepared->panels + static_cast<size_t>(col0[j] / kGemmNR) * kGemmNR * depth;
        a.w_scale = prepared->scale.data() + col0[j];
        a.bias = L.bias ? L.bias + col0[j] : nullptr;
        a.ep = ep;
        a.ldy = ldy;
        for (int r0 = 0; r0 < rows; r0 += slice_rows) {
          a.m = std::min(slice_rows, rows - r0);
          a.a = in.qa.get() + static_cast<size_t>(r0) * depth;  // r0 is a multiple of 4: a whole packed block
          a.a_scale = in.qscale.get() + r0;
          a.y = y + static_cast<size_t>(j) * cols + static_cast<size_t>(r0) * ldy;
          dispatch::gemm_i8(a, q0, q1);
        }
      });
    });
  } else {
    const int slices = (K + kMaxDepthSlice - 1) / kMaxDepthSlice;
    const int slice = ((K + slices - 1) / slices + 3) / 4 * 4;
    const float* packed = static_cast<const float*>(L.packed.get());
    split([&](int p0, int p1) {
      each(p0, p1, [&](int j, int q0, int q1) {
        GemmArgs a;
        a.m = rows;
        a.n = cols;
        a.a_stride = static_cast<size_t>(4) * K;
        a.panel_stride = static_cast<size_t>(kGemmNR) * K;
        a.ldy = ldy;
        a.y = y + static_cast<size_t>(j) * cols;
        const float* panels = packed + static_cast<size_t>(col0[j] / kGemmNR) * a.panel_stride;
        for (int k0 = 0; k0 < K; k0 += slice) {
          a.k = std::min(slice, K - k0);
          a.a = in.packed.get() + static_cast<size_t>(k0) * 4;
          a.packed = panels + static_cast<size_t>(k0) * kGemmNR;
          const bool last = k0 + a.k >= K;
          a.accumulate = k0 > 0;
          a.bias = last && L.bias ? L.bias + col0[j] : nullptr;
          a.ep = last ? ep : Epilogue::None;
          dispatch::gemm(a, q0, q1);
        }
      });
    });
  }
}

void linear(ThreadPool* pool, const float* x, int rows, const Linear& L, float* y, Epilogue ep, Profile* prof) {
  if (rows <= 0) return;
  if (!L.qweight && !L.packed) {
    linear_plain(pool, x, rows, L, y, ep);
    return;
  }
  LinearInput in;
  linear_input(pool, x, rows, L, &in, prof);
  if (!L.packed) {
    linear_i8_unprepared(pool, in, L, y, ep);
    return;
  }
  const int all = 0;
  linear_columns(pool, in, L, &all, 1, L.out, y, ep);
}

void layernorm(ThreadPool* pool, const float* x, int rows, int dim, const float* gamma, const float* beta, float eps,
               float* y) {
  parallel_for(pool, rows, [&](int r0, int r1) {
    const size_t off = static_cast<size_t>(r0) * dim;
    kernels::dispatch::layernorm(x + off, r1 - r0, dim, gamma, beta, eps, y + off);
  });
}

namespace {

size_t attention_f32_slot_floats(int tokens, int head_dim) {
  return kernels::attention_packed_k_floats(tokens, head_dim) + kernels::attention_packed_v_floats(tokens, head_dim) +
         kernels::attention_tile_floats(tokens, head_dim, attention_key_tile_for(tokens));
}

// The integer kernel's packed K/V (int16 + scales) and tile; smaller than the f32 slot for every head size,
// but sized on its own so neither depends on the other's layout.
size_t attention_i8_slot_floats(int tokens, int head_dim) {
  return kernels::attention_i8_packed_k_floats(tokens, head_dim) +
         kernels::attention_i8_packed_v_floats(tokens, head_dim) +
         kernels::attention_i8_tile_floats(tokens, head_dim, attention_key_tile_for(tokens));
}

// One pool slot serves either kernel (a model's blocks all take the same one, but nothing relies on that).
size_t attention_slot_floats(int tokens, int head_dim) {
  return std::max(attention_f32_slot_floats(tokens, head_dim), attention_i8_slot_floats(tokens, head_dim));
}

// Reference attention (any head size): one score row per pool slot.
void attention_plain(ThreadPool* pool, const float* qkv, int tokens, int heads, int head_dim, float* out, size_t ldo,
                     float* scratch) {
  const int D = heads * head_dim;
  const size_t stride = static_cast<size_t>(3) * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const size_t slot_floats = attention_slot_floats(tokens, head_dim);
  auto body = [&](int slot, int i0, int i1) {
    float* s = scratch + static_cast<size_t>(slot) * slot_floats;
    for (int item = i0; item < i1; ++item) {
      const int h = item / tokens, t = item % tokens;
      const float* q = qkv + t * stride + static_cast<size_t>(h) * head_dim;
      float mx = -std::numeric_limits<float>::infinity();
      for (int j = 0; j < tokens; ++j) {
        const float* k = qkv + j * stride + D + static_cast<size_t>(h) * head_dim;
        float d = 0;
        for (int c = 0; c < head_dim; ++c) d += q[c] * k[c];
        s[j] = d * scale;
        mx = std::max(mx, s[j]);
      }
      // Subtracting the row max keeps exp() in range (the numerically stable softmax).
      float sum = 0;
      for (int j = 0; j < tokens; ++j) {
        s[j] = std::exp(s[j] - mx);
        sum += s[j];
      }
      const float inv = 1.0f / sum;
      float* o = out + t * ldo + static_cast<size_t>(h) * head_dim;
      for (int c = 0; c < head_dim; ++c) o[c] = 0;
      for (int j = 0; j < tokens; ++j) {
        const float* v = qkv + j * stride + 2 * D + static_cast<size_t>(h) * head_dim;
        const float p = s[j] * inv;
        for (int c = 0; c < head_dim; ++c) o[c] += p * v[c];
      }
    }
  };
  if (pool) pool->parallel_for_slots(heads * tokens, body);
  else body(0, 0, heads * tokens);
}

}  // namespace

size_t attention_scratch_floats(int tokens, int heads, int head_dim, int threads) {
  // Per pool slot: the head's packed K and V and one score tile (the plain fallback needs less).
  return static_cast<size_t>(std::max(threads, 1)) * attention_slot_floats(tokens, head_dim);
}

void attention(ThreadPool* pool, const float* qkv, int tokens, int heads, int head_dim, float* out, float* scratch,
               AttentionMath math, size_t ldo) {
  using namespace kernels;
  const int D = heads * head_dim;
  if (ldo == 0) ldo = D;
  const bool integer = math == AttentionMath::Integer && attention_i8_supported(head_dim);
  if (!integer && head_dim % kGemmNR != 0) {
    attention_plain(pool, qkv, tokens, heads, head_dim, out, ldo, scratch);
    return;
  }
  const size_t ld = static_cast<size_t>(3) * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int threads = pool_size(pool);
  // Work items are (head, query chunk). Whole heads when they divide evenly among the threads (K and V are
  // packed once per head); otherwise each head is cut into `threads` query chunks so the split stays even,
  // at the price of packing a head's K/V once per chunk.
  const int chunks = heads % threads == 0 ? 1 : threads;
  const int items = heads * chunks;
  const size_t slot_floats = attention_slot_floats(tokens, head_dim);
  const int key_tile = attention_key_tile_for(tokens);
  auto body = [&](int slot, int i0, int i1) {
    float* pk = scratch + static_cast<size_t>(slot) * slot_floats;
    float* pv = pk + (integer ? attention_i8_packed_k_floats(tokens, head_dim) : attention_packed_k_floats(tokens, head_dim));
    float* tile = pv + (integer ? attention_i8_packed_v_floats(tokens, head_dim) : attention_packed_v_floats(tokens, head_dim));
    const AttentionI8Head packed = attention_i8_head(tokens, head_dim, pk, pv);
    int packed_head = -1;
    for (int item = i0; item < i1; ++item) {
      const int h = item / chunks, c = item % chunks;
      const float* base = qkv + static_cast<size_t>(h) * head_dim;
      if (h != packed_head) {
        if (integer) {
          attention_i8_pack_k(base + D, ld, packed);
          attention_i8_pack_v(base + 2 * D, ld, packed);
        } else {
          attention_pack_k(base + D, ld, tokens, head_dim, pk);
          attention_pack_v(base + 2 * D, ld, tokens, head_dim, pv);
        }
        packed_head = h;
      }
      const int q0 = static_cast<int>(static_cast<int64_t>(tokens) * c / chunks);
      const int q1 = static_cast<int>(static_cast<int64_t>(tokens) * (c + 1) / chunks);
      float* o = out + static_cast<size_t>(h) * head_dim;
      if (integer) dispatch::attention_i8_rows(base, ld, packed, scale, key_tile, q0, q1, o, ldo, tile);
      else dispatch::attention_rows(base, pk, pv, ld, tokens, head_dim, scale, key_tile, q0, q1, o, ldo, tile);
    }
  };
  if (pool) pool->parallel_for_slots(items, body);
  else body(0, 0, items);
}

void gelu_erf_inplace(float* x, size_t n) { kernels::dispatch::gelu(x, n); }

void relu_inplace(float* x, size_t n) { kernels::dispatch::relu(x, n); }

void gelu_tanh_inplace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
  }
}

void silu_inplace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = x[i] / (1.f + std::exp(-x[i]));
}

void quick_gelu_inplace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = x[i] / (1.f + std::exp(-1.702f * x[i]));
}

void swiglu_rows(const float* ab, int rows, int width, float* out) { kernels::dispatch::swiglu(ab, rows, width, out); }

void residual_add(ThreadPool* pool, float* x, const float* y, const float* scale, int rows, int dim) {
  parallel_for(pool, rows, [&](int r0, int r1) {
    const size_t off = static_cast<size_t>(r0) * dim;
    kernels::dispatch::residual_add(x + off, y + off, scale, r1 - r0, dim);
  });
}

}  // namespace vitrine
