// Per-stage wall-clock totals of the forward pass, kept by each Engine (no global state) while switched on
// (Engine::set_profiling, JS model.profile(true)). A stage is timed on the calling thread around its whole
// parallel region, so its time is the wall time the forward spends in it. Stages nest: a stage timed inside
// another (activation quantization inside an int8 Linear) is subtracted from the enclosing one, and 'other' is
// the forward's time outside every named stage, so the stages sum to the forward's wall time.
// Off (the default), a StageTimer costs one branch.
#pragma once
#include <cstdint>

#if defined(__EMSCRIPTEN__)
#include <emscripten.h>
#else
#include <chrono>
#endif

namespace vitrine {

enum class Stage {
  PatchEmbed, PosEmbed, LayerNorm, Qkv, Attention, AttnOut, Fc1, Gelu, Fc2, Quantize, Residual, PoolHead, Other,
  Count
};

// The names JS sees (model.profile().stages[i].name), in Stage order.
inline const char* stage_name(Stage s) {
  static const char* const names[] = {"patch-embed", "pos-embed", "layernorm", "qkv",      "attention",
                                      "attn-out",    "fc1",       "gelu",      "fc2",      "quantize",
                                      "residual",    "pool+head", "other"};
  return names[static_cast<int>(s)];
}

inline double profile_now_ms() {
#if defined(__EMSCRIPTEN__)
  return emscripten_get_now();
#else
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
#endif
}

struct Profile {
  static constexpr int kStages = static_cast<int>(Stage::Count);
  bool on = false;
  double ms[kStages] = {};
  int64_t calls[kStages] = {};
  int64_t forwards = 0;
  double closed_ms = 0;  // time of every stage closed so far: what an enclosing stage subtracts
};

// Times one stage from construction to destruction when `p` is switched on; a null `p` is off.
class StageTimer {
 public:
  StageTimer(Profile* p, Stage s) : p_(p && p->on ? p : nullptr), s_(s) {
    if (p_) {
      t0_ = profile_now_ms();
      closed0_ = p_->closed_ms;
    }
  }
  ~StageTimer() {
    if (!p_) return;
    const double elapsed = profile_now_ms() - t0_;
    const int i = static_cast<int>(s_);
    p_->ms[i] += elapsed - (p_->closed_ms - closed0_);
    p_->calls[i] += 1;
    p_->closed_ms = closed0_ + elapsed;
  }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  Profile* p_;
  Stage s_;
  double t0_ = 0, closed0_ = 0;
};

}  // namespace vitrine
