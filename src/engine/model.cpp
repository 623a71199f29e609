// The forward pass of ViT-like families, written to read like the papers and HF's modeling code:
//   tokens = [(CLS), (DIST), (REGISTERS), patch_embed(x)] + positions;  (pre-norm)
//   for each block:  x += ls1 · Attention(LN1(x));  x += ls2 · MLP(LN2(x))
//   last_hidden_state = LN(x) (or x without a final norm);  logits = classifier(pooled last_hidden_state)
// What differs between families is data in the Architecture (families/*.cpp set it), not copies of this loop.
#include "model.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "alloc.h"
#include "families/family.h"
#include "kernels/kernels.h"
#include "posembed.h"
#include "sha256.h"
#include "threadpool.h"

namespace vitrine {

namespace {

// IEEE binary16 → binary32 (exact: every half is a float).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf, NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal half: normalise
    int e = -1;
    do { mant <<= 1; ++e; } while (!(mant & 0x400));
    bits = sign | (uint32_t(112 - e) << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// docs/FORMAT.md "Head files", backbone fingerprint: a line of the architecture's sizes, then every backbone row of
// one dimension (name, length, f32 bytes) in table order. Only 1-D rows: every encoding keeps them f32 (f16 and
// int8 change matrices only), and training moves them (biases, norms), so they tell checkpoints apart.
std::string backbone_fingerprint(const Architecture& a, const TensorTable& table) {
  std::string text = "vitrine-backbone 1\nfamily " + a.family_name + " hidden " + std::to_string(a.hidden) + " layers " +
                     std::to_string(a.layers) + " heads " + std::to_string(a.heads) + " intermediate " +
                     std::to_string(a.intermediate) + " patch " + std::to_string(a.patch) + " image " +
                     std::to_string(a.image_size) + " channels " + std::to_string(a.channels) + "\n";
  for (const TensorSlot& row : table.rows()) {
    if (row.shape.size() != 1 || !*row.data) continue;
    if (row.name.rfind("classifier.", 0) == 0 || row.name.rfind("distillation_classifier.", 0) == 0 ||
        row.name.rfind("head.", 0) == 0)
      continue;
    text += row.name + " " + std::to_string(row.shape[0]) + "\n";
    text.append(reinterpret_cast<const char*>(*row.data), size_t(row.shape[0]) * sizeof(float));
  }
  return sha256_hex(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

}  // namespace

namespace {

// The MLP runs over blocks of this many tokens. Each of its ops is row-wise, so a block's rows come out exactly as
// they would from the whole sequence at once, while its widest activations (fc1's output and fc2's packed input,
// [rows, 4D]) are a block's: at DINOv2-B's 1370 tokens 3 MB each instead of 17 MB. A multiple of the GEMM's
// 4-row blocks; a 256-row block still gives every thread hundreds of column panels.
constexpr int kMlpBlockTokens = 256;

// Heads per pass of the attention: the qkv Linear computes q, k, v of this many heads at a time (their columns
// from linear_columns, whole GEMM panels), the attention runs on them, then the next heads; the qkv rows held at
// once are [T, 3·g·head_dim] instead of [T, 3D] (at DINOv2-B's 1370 tokens 1 MB instead of 12.6 MB): the fewest
// heads whose columns are whole panels (all when no divisor of the head count gives that). Up to one MLP block of
// tokens all heads at once: [T, 3D] is then no larger than the MLP block's [T, 4D] in the same buffer, and one
// GEMM over every column keeps the thread split of short sequences.
int heads_per_pass(const Architecture& a, int tokens) {
  if (tokens <= kMlpBlockTokens) return a.heads;
  const int hd = a.hidden / a.heads;
  for (int g = 1; g < a.heads; ++g)
    if (a.heads % g == 0 && (g * hd) % kernels::kGemmNR == 0) return g;
  return a.heads;
}

// Where each tensor (manifest order) lives once f16 tensors are expanded to f32 in the stream itself: in
// offset order, each at the first 64-byte boundary past the previous one's expanded end, never before its
// own stream offset. Returns the bytes that layout needs (stream_size when no tensor is f16: then every
// tensor stays where it is).
uint64_t expanded_layout(const Manifest& m, std::vector<uint64_t>* offsets) {
  std::vector<size_t> order(m.tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return m.tensors[a].offset < m.tensors[b].offset; });
  offsets->assign(m.tensors.size(), 0);
  uint64_t end = 0;
  for (size_t i : order) {
    const TensorInfo& t = m.tensors[i];
    const uint64_t at = std::max((end + 63) / 64 * 64, t.offset);
    (*offsets)[i] = at;
    end = at + (t.dtype == DType::F16 ? 2 * t.bytes : t.bytes);
  }
  return std::max(end, m.stream_size);
}

}  // namespace

uint64_t bound_stream_bytes(const Manifest& m) {
  std::vector<uint64_t> offsets;
  return expanded_layout(m, &offsets);
}

Status bind_model(const Manifest& m, uint8_t* stream, Model* model) {
  model->arch = m.arch;
  model->extra_weight_bytes = 0;
  // f16 tensors become f32 in place: the stream was allocated with bound_stream_bytes(), so tensors move
  // (and widen) towards the end, last tensor first. A tensor's destination never starts before its source
  // and ends before the next tensor's destination, so nothing still unread is overwritten; inside an f16
  // tensor the last element goes first for the same reason (float i is written at or after half i's bytes).
  // Peak and steady memory are those of the f32 model: the f16 stream is never held beside its expansion.
  std::vector<uint64_t> at;
  expanded_layout(m, &at);
  std::vector<size_t> order(m.tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return m.tensors[a].offset > m.tensors[b].offset; });
  for (size_t i : order) {
    const TensorInfo& t = m.tensors[i];
    if (t.dtype == DType::F16) {
      const uint8_t* src = stream + t.offset;
      float* dst = reinterpret_cast<float*>(stream + at[i]);
      for (size_t e = t.bytes / 2; e-- > 0;) {
        uint16_t h;
        std::memcpy(&h, src + 2 * e, 2);
        dst[e] = half_to_float(h);
      }
    } else if (at[i] != t.offset) {
      std::memmove(stream + at[i], stream + t.offset, static_cast<size_t>(t.bytes));
    }
  }
  const TensorTable table = tensor_table(m.arch, model);
  std::vector<void*> storage(table.rows().size(), nullptr);  // what prepare_linear may rewrite, per row
  // parse_manifest already proved that every row's tensor exists with its shape and an allowed dtype.
  for (size_t r = 0; r < table.rows().size(); ++r) {
    const TensorSlot& row = table.rows()[r];
    auto it = m.tensor_index.find(row.name);
    if (it == m.tensor_index.end())
      return Status::Err(Code::Manifest, "manifest: missing tensor \"" + row.name + "\"");
    const TensorInfo& t = m.tensors[it->second];
    uint8_t* data = stream + at[it->second];
    if (t.dtype == DType::I8) {
      const size_t scale = m.tensor_index.at(row.name + ".scale");
      row.linear->qweight = reinterpret_cast<const int8_t*>(data);
      row.linear->wscale = reinterpret_cast<const float*>(stream + at[scale]);
      *row.data = nullptr;  // the Linear's f32 weight: unused
    } else {
      *row.data = reinterpret_cast<const float*>(data);  // f32, or f16 expanded above
    }
    storage[r] = data;
  }
  model->backbone_fingerprint = backbone_fingerprint(m.arch, table);
  // Repacking comes after every pointer is set: a kernel may look at a Linear's bias too.
  for (size_t r = 0; r < table.rows().size(); ++r)
    if (table.rows()[r].linear) model->extra_weight_bytes += prepare_linear(*table.rows()[r].linear, storage[r]);
  return Status::Ok();
}

uint64_t ActivationSizes::bytes() const {
  return (x + xn + qkv + scratch + logits) * sizeof(float) + packed_input_bytes;
}

ActivationSizes activation_sizes(const Architecture& a, int grid_h, int grid_w, int threads) {
  const uint64_t D = a.hidden, N = uint64_t(grid_h) * grid_w, T = a.prefix_tokens() + N;
  const uint64_t M = std::min<uint64_t>(T, kMlpBlockTokens), CPP = uint64_t(a.channels) * a.patch * a.patch;
  ActivationSizes n;
  n.x = n.xn = T * D;
  // One buffer for what is alive at different times (forward()): the patches [N, C·P·P] before the first block,
  // one pass's q | k | v [T, 3·g·head_dim] from the qkv Linear to the attention, one MLP block's hidden [M, F]
  // (+ SwiGLU's gated [M, I]) in the MLP. The position rows and the attention's output go to xn.
  const uint64_t pass_qkv = T * 3 * uint64_t(heads_per_pass(a, int(T))) * (D / a.heads);
  n.qkv = std::max({N * CPP, pass_qkv, M * a.ffn_rows() + (a.swiglu ? M * a.intermediate : 0)});
  n.scratch = attention_scratch_floats(static_cast<int>(T), a.heads, a.hidden / a.heads, threads);
  n.logits = uint64_t(a.num_labels);
  // linear() packs its input per call (kernels::gemm_packed_a_floats: rows rounded up to 4 × the input width):
  // every token at width D (qkv, attention out, fc1), the patches, or one MLP block at fc2's input width.
  auto packed = [](uint64_t rows, uint64_t width) { return (rows + 3) / 4 * 4 * width * sizeof(float); };
  n.packed_input_bytes = std::max({packed(T, D), packed(N, CPP), packed(M, a.intermediate)});
  return n;
}

namespace {

// Sizes every buffer for a grid_h × grid_w patch grid. Code::Memory when the activations do not fit (alloc.h). The old buffers are released first and the total is probed at once; after a
// failure the state is empty and the next forward (e.g. at the model's own size) prepares again.
Status prepare(const Model& model, int grid_h, int grid_w, int threads, RunState* s) {
  if (s->grid_h == grid_h && s->grid_w == grid_w) return Status::Ok();
  const Architecture& a = model.arch;
  const int T = a.prefix_tokens() + grid_h * grid_w;
  const ActivationSizes need = activation_sizes(a, grid_h, grid_w, threads);
  const std::pair<std::vector<float>*, uint64_t> buffers[] = {
      {&s->x, need.x}, {&s->xn, need.xn}, {&s->qkv, need.qkv}, {&s->scratch, need.scratch}, {&s->logits, need.logits},
  };
  for (const auto& b : buffers) std::vector<float>().swap(*b.first);
  s->grid_h = s->grid_w = s->tokens = 0;
  // Slack for the allocator's per-block headers and alignment, so a forward that passes this check does not fail
  // in the middle.
  if (!can_allocate(need.bytes() + 64 * 1024))
    return Status::Err(Code::Memory, "out of memory: a " + std::to_string(grid_h * a.patch) + "x" +
                                         std::to_string(grid_w * a.patch) + " input needs " + std::to_string(need.bytes()) +
                                         " bytes of activations (" + std::to_string(T) + " tokens)");
  for (const auto& b : buffers) b.first->assign(static_cast<size_t>(b.second), 0.f);
  s->grid_h = grid_h;
  s->grid_w = grid_w;
  s->tokens = T;
  return Status::Ok();
}

// Position rows for a grid_h × grid_w grid into out [prefix + N, D]: the prefix rows (CLS, DIST, where present) as
// stored, then the patch grid — resized when it differs from the training grid (DINOv2 only; parse-time checks
// keep ViT/DeiT at their own size).
void position_rows(const Model& model, int grid_h, int grid_w, float* out) {
  const Architecture& a = model.arch;
  const int D = a.hidden, N = grid_h * grid_w, X = a.position_prefix(), G = a.grid();
  std::copy(model.pos_embed, model.pos_embed + size_t(X) * D, out);
  const float* grid = model.pos_embed + size_t(X) * D;
  // HF skips interpolation only when the token count matches and the input is square.
  if (N == G * G && grid_h == grid_w)
    std::copy(grid, grid + size_t(N) * D, out + size_t(X) * D);
  else
    resize_positions_bicubic(grid, G, G, D, out + size_t(X) * D, grid_h, grid_w, a.interpolate_antialias);
}

// pixels CHW [C, H, W] → patches [N, C·P·P], each row in (c, y, x) order like the conv weight.
void extract_patches(const float* pixels, int C, int H, int W, int P, float* out) {
  const int gh = H / P, gw = W / P;
  for (int py = 0; py < gh; ++py)
    for (int px = 0; px < gw; ++px) {
      float* row = out + (size_t(py) * gw + px) * C * P * P;
      for (int c = 0; c < C; ++c)
        for (int y = 0; y < P; ++y) {
          const float* src = pixels + (size_t(c) * H + py * P + y) * W + px * P;
          std::copy(src, src + P, row + (c * P + y) * P);
        }
    }
}

// Mean of rows [first, end) of a [T, D] matrix. Summed in double: a mean over ~1000 tokens in float drifts
// from PyTorch's pairwise sum.
std::vector<float> mean_tokens(const float* h, int first, int end, int D) {
  std::vector<double> acc(D, 0.0);
  for (int t = first; t < end; ++t)
    for (int d = 0; d < D; ++d) acc[d] += h[size_t(t) * D + d];
  std::vector<float> mean(D);
  for (int d = 0; d < D; ++d) mean[d] = float(acc[d] / (end - first));
  return mean;
}

}  // namespace

void activation_inplace(Activation act, float* x, size_t n) {
  switch (act) {
    case Activation::GeluErf: gelu_erf_inplace(x, n); break;
    case Activation::Relu: relu_inplace(x, n); break;
    case Activation::GeluTanh: gelu_tanh_inplace(x, n); break;
    case Activation::Silu: silu_inplace(x, n); break;
    case Activation::QuickGelu: quick_gelu_inplace(x, n); break;
  }
}

Status forward(const Model& model, ThreadPool* pool, const float* pixels, int height, int width, RunState* s,
               Profile* prof) {
  StageTimer whole(prof, Stage::Other);
  const Architecture& a = model.arch;
  const int D = a.hidden, P = a.patch, H = a.heads, hd = D / H;
  if (height <= 0 || width <= 0 || height % P || width % P)
    return Status::Err(Code::Input, "input " + std::to_string(height) + "x" + std::to_string(width) +
                       " is not a multiple of the patch size " + std::to_string(P));
  if (!a.interpolate_pos && (height != a.image_size || width != a.image_size))
    return Status::Err(Code::Input, "this " + a.family_name + " model takes " + std::to_string(a.image_size) + "x" +
                       std::to_string(a.image_size) + " input, got " + std::to_string(height) + "x" +
                       std::to_string(width));
  if (int64_t(height / P) * (width / P) > 16384) return Status::Err(Code::Input, "input has too many patches");
  Status prepared = prepare(model, height / P, width / P, pool ? pool->size() : 1, s);
  if (!prepared.ok()) return prepared;
  const int N = s->grid_h * s->grid_w, T = s->tokens, X = a.position_prefix(), R = a.registers;
  const int F = a.ffn_rows();

  // ---- embeddings: [CLS?, DIST?] + their positions, REGISTERS (no position), patches + positions ----
  // The patches are built in the qkv buffer, the position rows in xn: nothing else uses them before the first block.
  float* x = s->x.data();
  float* patch_rows = x + size_t(X + R) * D;
  {
    StageTimer t(prof, Stage::PatchEmbed);
    float* patches = s->qkv.data();
    extract_patches(pixels, a.channels, height, width, P, patches);
    linear(pool, patches, N, model.patch, patch_rows, Epilogue::None, prof);
  }
  {
    StageTimer t(prof, Stage::PosEmbed);
    float* pos = s->xn.data();
    position_rows(model, s->grid_h, s->grid_w, pos);
    int prefix = 0;  // CLS and DIST, where the family has them, take position rows 0, 1
    auto add_prefix_token = [&](const float* token) {
      for (int d = 0; d < D; ++d) x[size_t(prefix) * D + d] = token[d] + pos[size_t(prefix) * D + d];
      ++prefix;
    };
    if (a.cls_token) add_prefix_token(model.cls_token);
    if (a.distillation_token) add_prefix_token(model.dist_token);
    for (int r = 0; r < R; ++r)
      std::copy(model.register_tokens + size_t(r) * D, model.register_tokens + size_t(r + 1) * D, x + size_t(X + r) * D);
    residual_add(pool, patch_rows, pos + size_t(X) * D, nullptr, N, D);
  }
  // ---- pre-norm of the embeddings (CLIP's pre_layrnorm), where the family has one ----
  if (model.pre_norm_w) {
    StageTimer t(prof, Stage::LayerNorm);
    layernorm(pool, x, T, D, model.pre_norm_w, model.pre_norm_b, a.eps, x);
  }

  // ---- transformer blocks (pre-LN) ----
  // Each step is a profiled stage (profile.h); `stage` times the statement it wraps.
  auto stage = [prof](Stage st, auto&& step) {
    StageTimer t(prof, st);
    step();
  };
  // GELU (erf) and ReLU run fused in fc1's GEMM epilogue, so their time is fc1's; other activations (and SwiGLU)
  // are the 'gelu' stage.
  const Epilogue mlp_epilogue = a.act == Activation::GeluErf ? Epilogue::GeluErf
                                : a.act == Activation::Relu  ? Epilogue::Relu
                                                             : Epilogue::None;
  // Each branch's output goes where its normalised input was (xn): the attention's once the qkv Linear has taken
  // all of it in (linear_input), attn.out's in place (linear() reads all of its input first), the MLP's a block of
  // rows at a time once fc1 has read those rows. The MLP's hidden rows reuse the qkv buffer, dead after the
  // attention.
  float* hidden = s->qkv.data();
  float* gated = hidden + size_t(std::min(T, kMlpBlockTokens)) * F;
  const int g = heads_per_pass(a, T), gd = g * hd;
  for (const Block& b : model.blocks) {
    stage(Stage::LayerNorm, [&] { layernorm(pool, x, T, D, b.norm1_w, b.norm1_b, a.eps, s->xn.data()); });
    // A block whose Linears are int8 runs attention in integers too (its numbers then carry int8 error anyway).
    const AttentionMath math = b.qkv.qweight ? AttentionMath::Integer : AttentionMath::Float;
    // One 'qkv' stage per block; each pass's attention is its own stage inside it (profile.h: nested stages).
    stage(Stage::Qkv, [&] {
      LinearInput qkv_in;
      linear_input(pool, s->xn.data(), T, b.qkv, &qkv_in, prof);
      for (int h0 = 0; h0 < H; h0 += g) {
        // Heads h0 .. h0 + g - 1: their q, k, v columns side by side ([T, 3·gd], the layout attention() takes).
        const int cols[3] = {h0 * hd, D + h0 * hd, 2 * D + h0 * hd};
        const int all = 0;
        if (g == H) linear_columns(pool, qkv_in, b.qkv, &all, 1, 3 * D, s->qkv.data());
        else linear_columns(pool, qkv_in, b.qkv, cols, 3, gd, s->qkv.data());
        stage(Stage::Attention, [&] {
          attention(pool, s->qkv.data(), T, g, hd, s->xn.data() + size_t(h0) * hd, s->scratch.data(), math, D);
        });
      }
    });
    stage(Stage::AttnOut, [&] { linear(pool, s->xn.data(), T, b.attn_out, s->xn.data(), Epilogue::None, prof); });
    stage(Stage::Residual, [&] { residual_add(pool, x, s->xn.data(), b.ls1, T, D); });

    stage(Stage::LayerNorm, [&] { layernorm(pool, x, T, D, b.norm2_w, b.norm2_b, a.eps, s->xn.data()); });
    // The MLP a block of tokens at a time (kMlpBlockTokens): the same rows, a block's [rows, F] activations.
    for (int r0 = 0; r0 < T; r0 += kMlpBlockTokens) {
      const int rows = std::min(kMlpBlockTokens, T - r0);
      float* rows_xn = s->xn.data() + size_t(r0) * D;
      if (a.swiglu) {
        stage(Stage::Fc1, [&] { linear(pool, rows_xn, rows, b.fc1, hidden, Epilogue::None, prof); });
        stage(Stage::Gelu, [&] { swiglu_rows(hidden, rows, a.intermediate, gated); });
        stage(Stage::Fc2, [&] { linear(pool, gated, rows, b.fc2, rows_xn, Epilogue::None, prof); });
      } else {
        stage(Stage::Fc1, [&] { linear(pool, rows_xn, rows, b.fc1, hidden, mlp_epilogue, prof); });
        if (mlp_epilogue == Epilogue::None)
          stage(Stage::Gelu, [&] { activation_inplace(a.act, hidden, size_t(rows) * F); });
        stage(Stage::Fc2, [&] { linear(pool, hidden, rows, b.fc2, rows_xn, Epilogue::None, prof); });
      }
    }
    stage(Stage::Residual, [&] { residual_add(pool, x, s->xn.data(), b.ls2, T, D); });
  }

  // ---- final LayerNorm: this is HF's last_hidden_state (kept in xn; without a final norm, x itself) ----
  if (model.norm_w) stage(Stage::LayerNorm, [&] { layernorm(pool, x, T, D, model.norm_w, model.norm_b, a.eps, s->xn.data()); });
  s->hidden_out = model.norm_w ? s->xn.data() : x;

  // ---- classifier: logits = classifier(pooled last_hidden_state), the model's own or a head attached in its place ----
  Status classified = classifier_logits(model, pool, s, a.classifier, a.head, model.head, s->logits.data(), prof);
  if (!classified.ok()) return classified;
  if (prof && prof->on) ++prof->forwards;
  return Status::Ok();
}

Status classifier_logits(const Model& model, ThreadPool* pool, RunState* s, Classifier kind, const HeadSpec& head,
                         const std::vector<Linear>& head_layers, float* logits, Profile* prof) {
  StageTimer t(prof, Stage::PoolHead);
  const int D = model.arch.hidden;
  const float* h = s->hidden_out;
  switch (kind) {
    case Classifier::None: break;
    case Classifier::Cls: linear(pool, h, 1, model.classifier, logits, Epilogue::None, prof); break;
    case Classifier::ClsDist: {
      // DeiT with teacher: the mean of the CLS head and the DIST head.
      const int n = model.classifier.out;
      std::vector<float>& tmp = s->head_a;
      tmp.assign(n, 0.f);
      linear(pool, h, 1, model.classifier, logits, Epilogue::None, prof);
      linear(pool, h + D, 1, model.dist_classifier, tmp.data(), Epilogue::None, prof);
      for (int i = 0; i < n; ++i) logits[i] = (logits[i] + tmp[i]) / 2;
      break;
    }
    case Classifier::ClsPatchMean: {
      // HF averages every token after CLS: with registers that includes the register tokens (unlike the
      // "mean" pooling of a custom head, which is patches only).
      s->head_a = mean_tokens(h, 1, s->tokens, D);
      s->head_a.insert(s->head_a.begin(), h, h + D);
      linear(pool, s->head_a.data(), 1, model.classifier, logits, Epilogue::None, prof);
      break;
    }
    case Classifier::Head: {
      Status st = pool_features(model, pool, *s, head.pooling, &s->head_a);
      if (!st.ok()) return st;
      for (size_t k = 0; k < head.layers.size(); ++k) {
        const HeadLayer& L = head.layers[k];
        if (L.kind == HeadLayer::Kind::Linear) {
          s->head_b.assign(L.out, 0.f);
          linear(pool, s->head_a.data(), 1, head_layers[k], s->head_b.data(), Epilogue::None, prof);
          s->head_a.swap(s->head_b);
        } else if (L.kind == HeadLayer::Kind::Relu) {
          relu_inplace(s->head_a.data(), s->head_a.size());
        } else {
          gelu_erf_inplace(s->head_a.data(), s->head_a.size());
        }
      }
      std::copy(s->head_a.begin(), s->head_a.end(), logits);
      break;
    }
  }
  return Status::Ok();
}

Status pool_features(const Model& model, ThreadPool* pool, const RunState& s, Pooling pooling, std::vector<float>* out) {
  const Architecture& a = model.arch;
  const std::vector<Pooling> offered = a.family->poolings(a);
  if (std::find(offered.begin(), offered.end(), pooling) == offered.end())
    return Status::Err(Code::Input, std::string("pooling \"") + pooling_name(pooling) + "\" is not offered by this " +
                                        a.family_name + " model");
  const int D = a.hidden;
  const float* h = s.hidden_out;
  switch (pooling) {
    case Pooling::Cls: out->assign(h, h + D); return Status::Ok();
    case Pooling::Mean: *out = mean_tokens(h, a.prefix_tokens(), s.tokens, D); return Status::Ok();
    case Pooling::ClsMean: {
      std::vector<float> mean = mean_tokens(h, a.prefix_tokens(), s.tokens, D);
      out->assign(h, h + D);
      out->insert(out->end(), mean.begin(), mean.end());
      return Status::Ok();
    }
    default: return a.family->pool(model, pool, s, pooling, out);
  }
}

}  // namespace vitrine
