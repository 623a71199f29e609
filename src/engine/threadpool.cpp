#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <cstdint>

#ifdef VITRINE_THREADS
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#endif

namespace vitrine {

namespace {
// Range r of R near-equal contiguous ranges of [0, n).
inline int range_begin(int r, int R, int n) { return static_cast<int>(static_cast<int64_t>(n) * r / R); }
// Chunks per thread: enough that a descheduled thread leaves little behind, few enough that each chunk still
// amortises its call (a GEMM chunk of ViT-S's 48 output panels is 6 panels at 2 threads).
constexpr int kChunksPerThread = 4;
}  // namespace

#ifdef VITRINE_THREADS

// One job at a time. The caller publishes the job and bumps `generation` under the mutex; workers notice it
// either while spinning briefly (cheap wake-up for the ~100 back-to-back parallel_for calls of a forward pass)
// or, after the spin, blocked on the condition variable (so an idle Engine does not burn a core). Every state
// change happens under the mutex, so a waiter that checks its predicate under the mutex never misses a wake-up.
struct ThreadPool::Impl {
  std::mutex mu;
  std::condition_variable start_cv, done_cv;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> remaining{0};   // workers not done with the current job yet
  std::atomic<int> next_chunk{0};  // next chunk of the current job to claim
  std::atomic<bool> busy{false};   // a job is running: nested or concurrent calls run inline
  bool stop = false;
  const std::function<void(int, int, int)>* job = nullptr;
  int job_n = 0, job_chunks = 0;
  std::vector<std::thread> workers;

  // Spinning is bounded: long enough to cover the gap between two consecutive ops, short enough not to matter
  // when the machine is shared.
  static constexpr int kSpin = 20000;

  // Claims chunks until none is left.
  void run_chunks(int slot) {
    for (;;) {
      const int c = next_chunk.fetch_add(1, std::memory_order_relaxed);
      if (c >= job_chunks) return;
      (*job)(slot, range_begin(c, job_chunks, job_n), range_begin(c + 1, job_chunks, job_n));
    }
  }

  void finish_one() {
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu);
      done_cv.notify_one();
    }
  }

  void worker_loop(int slot) {
    uint64_t seen = 0;
    for (;;) {
      bool have = false;
      for (int i = 0; i < kSpin; ++i) {
        if (generation.load(std::memory_order_acquire) != seen) { have = true; break; }
      }
      {
        std::unique_lock<std::mutex> lock(mu);
        if (!have) start_cv.wait(lock, [&] { return stop || generation.load() != seen; });
        if (stop) return;
        seen = generation.load();
      }
      run_chunks(slot);
      finish_one();
    }
  }
};

ThreadPool::ThreadPool(int threads) {
  size_ = std::max(1, threads);
  if (size_ == 1) return;
  impl_ = std::make_unique<Impl>();
  impl_->workers.reserve(size_ - 1);
  for (int slot = 1; slot < size_; ++slot) {
    impl_->workers.emplace_back([this, slot] { impl_->worker_loop(slot); });
  }
}

ThreadPool::~ThreadPool() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->start_cv.notify_all();
  for (auto& t : impl_->workers) t.join();
}

void ThreadPool::parallel_for_slots(int n, const std::function<void(int, int, int)>& fn) {
  if (n <= 0) return;
  if (!impl_ || n == 1 || impl_->busy.exchange(true, std::memory_order_acquire)) {
    fn(0, 0, n);
    return;
  }
  Impl& p = *impl_;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.job = &fn;
    p.job_n = n;
    p.job_chunks = std::min(n, size_ * kChunksPerThread);
    p.next_chunk.store(0, std::memory_order_relaxed);
    // Every worker wakes for every job (even when there is no chunk left for it) so that `remaining` counts
    // all of them; this keeps the protocol simple and costs nothing measurable at 2-4 threads.
    p.remaining.store(size_ - 1, std::memory_order_relaxed);
    p.generation.fetch_add(1, std::memory_order_release);
  }
  p.start_cv.notify_all();
  p.run_chunks(0);
  bool done = false;
  for (int i = 0; i < Impl::kSpin; ++i) {
    if (p.remaining.load(std::memory_order_acquire) == 0) { done = true; break; }
  }
  if (!done) {
    std::unique_lock<std::mutex> lock(p.mu);
    p.done_cv.wait(lock, [&] { return p.remaining.load(std::memory_order_acquire) == 0; });
  }
  p.job = nullptr;
  p.busy.store(false, std::memory_order_release);
}

#else  // !VITRINE_THREADS

struct ThreadPool::Impl {};

ThreadPool::ThreadPool(int threads) { size_ = 1; }
ThreadPool::~ThreadPool() = default;

void ThreadPool::parallel_for_slots(int n, const std::function<void(int, int, int)>& fn) {
  if (n > 0) fn(0, 0, n);
}

#endif

void ThreadPool::parallel_for(int n, const std::function<void(int, int)>& fn) {
  parallel_for_slots(n, [&fn](int, int begin, int end) { fn(begin, end); });
}

}  // namespace vitrine
