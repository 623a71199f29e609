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
  std::atomic<int> remaining{0};   // ranges of the current job not finished yet
  std::atomic<bool> busy{false};   // a job is running: nested or concurrent calls run inline
  bool stop = false;
  const std::function<void(int, int, int)>* job = nullptr;
  int job_n = 0, job_ranges = 0;
  std::vector<std::thread> workers;

  // Spinning is bounded: long enough to cover the gap between two consecutive ops, short enough not to matter
  // when the machine is shared.
  static constexpr int kSpin = 20000;

  void run_range(int slot) {
    if (slot < job_ranges) {
      (*job)(slot, range_begin(slot, job_ranges, job_n), range_begin(slot + 1, job_ranges, job_n));
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
      run_range(slot);
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
  const int ranges = std::min(n, size_);
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.job = &fn;
    p.job_n = n;
    p.job_ranges = ranges;
    // Every worker wakes for every job (even those with no range) so that `remaining` counts all of them;
    // this keeps the protocol simple and costs nothing measurable at 2-4 threads.
    p.remaining.store(size_ - 1, std::memory_order_relaxed);
    p.generation.fetch_add(1, std::memory_order_release);
  }
  p.start_cv.notify_all();
  p.run_range(0);
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
