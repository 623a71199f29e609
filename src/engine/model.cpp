// The forward pass of ViT / DeiT / DINOv2 and the CLIP / SigLIP vision towers, written to read like the papers
// and HF's modeling code:
//   tokens = [CLS, (DIST), (REGISTERS), patch_embed(x)] + positions    (SigLIP: no CLS)
//   CLIP: tokens = pre_LN(tokens)
//   for each block:  x += ls1 · Attention(LN1(x));  x += ls2 · MLP(LN2(x))
//   last_hidden_state = LN(x);  logits = classifier(pooled last_hidden_state)
//   CLIP: last_hidden_state = x (no final norm), pooler = LN(x[0]), image_embeds = projection(pooler)
//   SigLIP: pooler = attention-pooling head over last_hidden_state
#include "model.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "posembed.h"
#include "threadpool.h"

namespace vitrine {

Status bind_model(const Manifest& m, uint8_t* stream, Model* model) {
  model->arch = m.arch;
  const Architecture& a = m.arch;
  // parse_manifest already proved that every name below exists with the right shape.
  auto T = [&](const std::string& name) -> float* {
    auto it = m.tensor_index.find(name);
    return it == m.tensor_index.end() ? nullptr : reinterpret_cast<float*>(stream + m.tensors[it->second].offset);
  };
  auto linear = [&](const std::string& prefix, int out, int in, Linear* L) {
    L->weight = T(prefix + ".weight");
    L->bias = T(prefix + ".bias");
    L->out = out;
    L->in = in;
    prepare_linear(*L, T(prefix + ".weight"));
  };
  const int D = a.hidden, F = a.swiglu ? 2 * a.intermediate : a.intermediate;
  model->cls_token = a.cls_token() ? T("embeddings.cls_token") : nullptr;
  model->dist_token = a.distillation_token ? T("embeddings.distillation_token") : nullptr;
  model->register_tokens = a.registers ? T("embeddings.register_tokens") : nullptr;
  model->pos_embed = T("embeddings.position_embeddings");
  // A conv with kernel = stride = P is a Linear over each flattened (c, y, x) patch: weight [D, C, P, P] is
  // already [D, C·P·P] row-major.
  linear("embeddings.patch", D, a.channels * a.patch * a.patch, &model->patch);  // CLIP: bias stays nullptr
  model->pre_norm_w = T("pre_norm.weight");
  model->pre_norm_b = T("pre_norm.bias");
  model->blocks.assign(a.layers, Block{});
  for (int l = 0; l < a.layers; ++l) {
    Block& b = model->blocks[l];
    const std::string p = "layers." + std::to_string(l) + ".";
    b.norm1_w = T(p + "norm1.weight");
    b.norm1_b = T(p + "norm1.bias");
    linear(p + "attn.qkv", 3 * D, D, &b.qkv);
    if (!a.qkv_bias) b.qkv.bias = nullptr;
    linear(p + "attn.out", D, D, &b.attn_out);
    b.ls1 = a.layer_scale ? T(p + "ls1") : nullptr;
    b.norm2_w = T(p + "norm2.weight");
    b.norm2_b = T(p + "norm2.bias");
    linear(p + "mlp.fc1", F, D, &b.fc1);
    linear(p + "mlp.fc2", D, a.intermediate, &b.fc2);
    b.ls2 = a.layer_scale ? T(p + "ls2") : nullptr;
  }
  model->norm_w = T("norm.weight");
  model->norm_b = T("norm.bias");
  if (a.projection_dim) linear("projection", a.projection_dim, D, &model->projection);
  if (a.family == Family::Siglip) {
    // nn.MultiheadAttention keeps q, k, v in one in_proj [3D, D]: the probe needs q only, the tokens k and v.
    PoolHead& h = model->pool;
    float* in_w = T("pool.attn.qkv.weight");
    const float* in_b = T("pool.attn.qkv.bias");
    h.probe = T("pool.probe");
    h.q = Linear{in_w, in_b, D, D, nullptr};
    prepare_linear(h.q, in_w);
    h.kv = Linear{in_w + size_t(D) * D, in_b + D, 2 * D, D, nullptr};
    prepare_linear(h.kv, in_w + size_t(D) * D);
    linear("pool.attn.out", D, D, &h.out);
    h.norm_w = T("pool.norm.weight");
    h.norm_b = T("pool.norm.bias");
    linear("pool.mlp.fc1", a.intermediate, D, &h.fc1);
    linear("pool.mlp.fc2", D, a.intermediate, &h.fc2);
  }
  switch (a.classifier) {
    case Classifier::None: break;
    case Classifier::Cls: linear("classifier", a.num_labels, D, &model->classifier); break;
    case Classifier::ClsDist:
      linear("classifier", a.num_labels, D, &model->classifier);
      linear("distillation_classifier", a.num_labels, D, &model->dist_classifier);
      break;
    case Classifier::ClsPatchMean: linear("classifier", a.num_labels, 2 * D, &model->classifier); break;
    case Classifier::Head:
      model->head.assign(a.head.layers.size(), Linear{});
      for (size_t k = 0; k < a.head.layers.size(); ++k) {
        const HeadLayer& h = a.head.layers[k];
        if (h.kind == HeadLayer::Kind::Linear) linear("head." + std::to_string(k), h.out, h.in, &model->head[k]);
      }
      break;
  }
  return Status::Ok();
}

namespace {

// Floats attention_pool() works in: k and v of every token, then q, context, attention output, its norm, the MLP
// hidden row and the scores.
size_t attention_pool_scratch_floats(const Architecture& a, int T) {
  return size_t(T) * 2 * a.hidden + 4 * size_t(a.hidden) + a.intermediate + T;
}

// Sizes every buffer for a grid_h × grid_w patch grid and builds that grid's position table.
void prepare(const Model& model, int grid_h, int grid_w, int threads, RunState* s) {
  if (s->grid_h == grid_h && s->grid_w == grid_w) return;
  const Architecture& a = model.arch;
  const int D = a.hidden, N = grid_h * grid_w, T = a.prefix_tokens() + N;
  const int F = a.swiglu ? 2 * a.intermediate : a.intermediate;
  s->grid_h = grid_h;
  s->grid_w = grid_w;
  s->tokens = T;
  s->x.assign(size_t(T) * D, 0.f);
  s->xn.assign(size_t(T) * D, 0.f);
  s->qkv.assign(size_t(T) * 3 * D, 0.f);
  s->attn.assign(size_t(T) * D, 0.f);
  s->proj.assign(size_t(T) * D, 0.f);
  s->hidden.assign(size_t(T) * F, 0.f);
  s->gated.assign(a.swiglu ? size_t(T) * a.intermediate : 0, 0.f);
  s->patches.assign(size_t(N) * a.channels * a.patch * a.patch, 0.f);
  s->scratch.assign(attention_scratch_floats(T, a.heads, D / a.heads, threads), 0.f);
  s->logits.assign(a.num_labels, 0.f);
  s->pooler.assign(a.family == Family::Clip || a.family == Family::Siglip ? D : 0, 0.f);
  s->embeds.assign(a.projection_dim, 0.f);
  s->pool_scratch.assign(a.family == Family::Siglip ? attention_pool_scratch_floats(a, T) : 0, 0.f);
  // Position rows: the prefix rows (CLS, DIST) as stored, then the patch grid — resized when it differs from the
  // training grid (DINOv2 only; parse-time checks keep ViT/DeiT at their own size).
  const int X = a.position_prefix(), G = a.grid();
  s->pos.assign(size_t(X + N) * D, 0.f);
  std::copy(model.pos_embed, model.pos_embed + size_t(X) * D, s->pos.begin());
  const float* grid = model.pos_embed + size_t(X) * D;
  // HF skips interpolation only when the token count matches and the input is square.
  if (N == G * G && grid_h == grid_w)
    std::copy(grid, grid + size_t(N) * D, s->pos.begin() + size_t(X) * D);
  else
    resize_positions_bicubic(grid, G, G, D, s->pos.data() + size_t(X) * D, grid_h, grid_w, a.interpolate_antialias);
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

void activation_inplace(Activation act, float* x, size_t n) {
  switch (act) {
    case Activation::GeluErf: gelu_erf_inplace(x, n); break;
    case Activation::Relu: relu_inplace(x, n); break;
    case Activation::GeluTanh: gelu_tanh_inplace(x, n); break;
    case Activation::Silu: silu_inplace(x, n); break;
    case Activation::QuickGelu: quick_gelu_inplace(x, n); break;
  }
}

// SiglipMultiheadAttentionPoolingHead on the final tokens h [T, D] → out [D]: one query (the probe) attends over
// all tokens with nn.MultiheadAttention's in_proj / out_proj, then out = a + MLP(LN(a)).
void attention_pool(const Model& model, ThreadPool* pool, const float* h, int T, float* scratch, float* out) {
  const Architecture& a = model.arch;
  const PoolHead& p = model.pool;
  const int D = a.hidden, H = a.heads, hd = D / H;
  float* kv = scratch;  // [T, 2D]
  float *q = kv + size_t(T) * 2 * D, *ctx = q + D, *att = ctx + D, *xn = att + D, *mid = xn + D;
  float* scores = mid + a.intermediate;
  linear(pool, p.probe, 1, p.q, q);
  linear(pool, h, T, p.kv, kv);
  const float scale = 1.f / std::sqrt(float(hd));
  for (int head = 0; head < H; ++head) {
    const float* qh = q + head * hd;
    float mx = -INFINITY;
    for (int t = 0; t < T; ++t) {
      const float* k = kv + size_t(t) * 2 * D + head * hd;
      float dot = 0.f;
      for (int d = 0; d < hd; ++d) dot += qh[d] * k[d];
      scores[t] = dot * scale;
      mx = std::max(mx, scores[t]);
    }
    double sum = 0;
    for (int t = 0; t < T; ++t) sum += scores[t] = std::exp(scores[t] - mx);
    for (int d = 0; d < hd; ++d) {
      double acc = 0;
      for (int t = 0; t < T; ++t) acc += double(scores[t]) * kv[size_t(t) * 2 * D + D + head * hd + d];
      ctx[head * hd + d] = float(acc / sum);
    }
  }
  linear(pool, ctx, 1, p.out, att);
  layernorm(pool, att, 1, D, p.norm_w, p.norm_b, a.eps, xn);
  linear(pool, xn, 1, p.fc1, mid);
  activation_inplace(a.act, mid, a.intermediate);
  linear(pool, mid, 1, p.fc2, out);
  for (int d = 0; d < D; ++d) out[d] += att[d];
}

}  // namespace

Status forward(const Model& model, ThreadPool* pool, const float* pixels, int height, int width, RunState* s) {
  const Architecture& a = model.arch;
  const int D = a.hidden, P = a.patch, H = a.heads, hd = D / H;
  if (height <= 0 || width <= 0 || height % P || width % P)
    return Status::Err("input " + std::to_string(height) + "x" + std::to_string(width) +
                       " is not a multiple of the patch size " + std::to_string(P));
  if (!a.interpolate_pos && (height != a.image_size || width != a.image_size))
    return Status::Err("this " + a.family_name + " model takes " + std::to_string(a.image_size) + "x" +
                       std::to_string(a.image_size) + " input, got " + std::to_string(height) + "x" +
                       std::to_string(width));
  if (int64_t(height / P) * (width / P) > 16384) return Status::Err("input has too many patches");
  prepare(model, height / P, width / P, pool ? pool->size() : 1, s);
  const int N = s->grid_h * s->grid_w, T = s->tokens, X = a.position_prefix(), R = a.registers;
  const int F = a.swiglu ? 2 * a.intermediate : a.intermediate;

  // ---- embeddings: [CLS, DIST?] + their positions, REGISTERS (no position), patches + positions ----
  float* x = s->x.data();
  const float* pos = s->pos.data();
  if (model.cls_token)
    for (int d = 0; d < D; ++d) x[d] = model.cls_token[d] + pos[d];
  if (a.distillation_token)
    for (int d = 0; d < D; ++d) x[D + d] = model.dist_token[d] + pos[D + d];
  for (int r = 0; r < R; ++r)
    std::copy(model.register_tokens + size_t(r) * D, model.register_tokens + size_t(r + 1) * D, x + size_t(X + r) * D);
  float* patch_rows = x + size_t(X + R) * D;
  extract_patches(pixels, a.channels, height, width, P, s->patches.data());
  linear(pool, s->patches.data(), N, model.patch, patch_rows);
  for (int i = 0; i < N; ++i)
    for (int d = 0; d < D; ++d) patch_rows[size_t(i) * D + d] += pos[size_t(X + i) * D + d];

  if (model.pre_norm_w) layernorm(pool, x, T, D, model.pre_norm_w, model.pre_norm_b, a.eps, x);

  // ---- transformer blocks (pre-norm) ----
  for (const Block& b : model.blocks) {
    layernorm(pool, x, T, D, b.norm1_w, b.norm1_b, a.eps, s->xn.data());
    linear(pool, s->xn.data(), T, b.qkv, s->qkv.data());
    attention(pool, s->qkv.data(), T, H, hd, s->attn.data(), s->scratch.data());
    linear(pool, s->attn.data(), T, b.attn_out, s->proj.data());
    residual_add(x, s->proj.data(), b.ls1, T, D);

    layernorm(pool, x, T, D, b.norm2_w, b.norm2_b, a.eps, s->xn.data());
    if (a.swiglu) {
      linear(pool, s->xn.data(), T, b.fc1, s->hidden.data());
      swiglu_rows(s->hidden.data(), T, a.intermediate, s->gated.data());
      linear(pool, s->gated.data(), T, b.fc2, s->proj.data());
    } else {
      const Epilogue ep = a.act == Activation::GeluErf ? Epilogue::GeluErf
                          : a.act == Activation::Relu  ? Epilogue::Relu
                                                       : Epilogue::None;
      linear(pool, s->xn.data(), T, b.fc1, s->hidden.data(), ep);
      if (ep == Epilogue::None) activation_inplace(a.act, s->hidden.data(), size_t(T) * F);
      linear(pool, s->hidden.data(), T, b.fc2, s->proj.data());
    }
    residual_add(x, s->proj.data(), b.ls2, T, D);
  }

  // ---- HF's last_hidden_state (kept in xn) and pooler_output ----
  if (a.family == Family::Clip) {
    // CLIP: the encoder output as is; only the CLS row goes through post_layernorm, then the projection.
    std::copy(x, x + size_t(T) * D, s->xn.begin());
    layernorm(pool, x, 1, D, model.norm_w, model.norm_b, a.eps, s->pooler.data());
    if (a.projection_dim) linear(pool, s->pooler.data(), 1, model.projection, s->embeds.data());
  } else {
    layernorm(pool, x, T, D, model.norm_w, model.norm_b, a.eps, s->xn.data());
    if (a.family == Family::Siglip) attention_pool(model, pool, s->xn.data(), T, s->pool_scratch.data(), s->pooler.data());
  }
  const float* h = s->xn.data();

  // ---- classifier ----
  switch (a.classifier) {
    case Classifier::None: break;
    case Classifier::Cls: linear(pool, h, 1, model.classifier, s->logits.data()); break;
    case Classifier::ClsDist: {
      // DeiT with teacher: the mean of the CLS head and the DIST head.
      std::vector<float>& tmp = s->head_a;
      tmp.assign(a.num_labels, 0.f);
      linear(pool, h, 1, model.classifier, s->logits.data());
      linear(pool, h + D, 1, model.dist_classifier, tmp.data());
      for (int i = 0; i < a.num_labels; ++i) s->logits[i] = (s->logits[i] + tmp[i]) / 2;
      break;
    }
    case Classifier::ClsPatchMean: {
      // HF averages every token after CLS: with registers that includes the register tokens (unlike the
      // "mean" pooling of a custom head, which is patches only).
      s->head_a = mean_tokens(h, 1, T, D);
      s->head_a.insert(s->head_a.begin(), h, h + D);
      linear(pool, s->head_a.data(), 1, model.classifier, s->logits.data());
      break;
    }
    case Classifier::Head: {
      Pooling pooling = Pooling::Cls;
      parse_pooling(a.head.pooling, &pooling);  // validated by parse_manifest
      s->head_a = pool_features(model, *s, pooling);
      for (size_t k = 0; k < a.head.layers.size(); ++k) {
        const HeadLayer& L = a.head.layers[k];
        if (L.kind == HeadLayer::Kind::Linear) {
          s->head_b.assign(L.out, 0.f);
          linear(pool, s->head_a.data(), 1, model.head[k], s->head_b.data());
          s->head_a.swap(s->head_b);
        } else if (L.kind == HeadLayer::Kind::Relu) {
          relu_inplace(s->head_a.data(), s->head_a.size());
        } else {
          gelu_erf_inplace(s->head_a.data(), s->head_a.size());
        }
      }
      std::copy(s->head_a.begin(), s->head_a.end(), s->logits.begin());
      break;
    }
  }
  return Status::Ok();
}

std::vector<float> pool_features(const Model& model, const RunState& s, Pooling pooling) {
  const int D = model.arch.hidden;
  const float* h = s.xn.data();
  switch (pooling) {
    case Pooling::Cls: return std::vector<float>(h, h + D);
    case Pooling::Mean: return mean_tokens(h, model.arch.prefix_tokens(), s.tokens, D);
    case Pooling::ClsMean: {
      std::vector<float> out(h, h + D);
      const std::vector<float> mean = mean_tokens(h, model.arch.prefix_tokens(), s.tokens, D);
      out.insert(out.end(), mean.begin(), mean.end());
      return out;
    }
    case Pooling::Pooler: return s.pooler;
    case Pooling::Projection: return s.embeds;
  }
  return {};
}

}  // namespace vitrine
