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

// One job at a time. The caller publishes the job under the mutex and bumps `generation`; workers notice it
// either while spinning briefly (cheap wake-up for the ~100 back-to-back parallel_for calls of a forward pass)
// or, after the spin, blocked on the condition variable (so an idle Engine does not burn a core).
//
// Chunks are claimed from `ticket` = generation << 32 | next chunk index, by compare-and-swap, so a worker
// that wakes late can never claim a chunk of a newer job with an older job's description. The caller waits
// only for chunks that were actually claimed (`active`), never for a particular worker: a worker the OS does
// not schedule — or, in WASM, a pthread that has not started yet because it needs the main thread's event
// loop — cannot stall or deadlock a parallel_for; the caller then simply runs every chunk itself.
struct ThreadPool::Impl {
  std::mutex mu;
  std::condition_variable start_cv, done_cv;
  std::atomic<uint64_t> generation{0};
  std::atomic<uint64_t> ticket{0};  // generation << 32 | next chunk to claim
  std::atomic<int> active{0};       // threads that may be running a chunk of the current job
  std::atomic<bool> busy{false};    // a job is running: nested or concurrent calls run inline
  bool stop = false;
  // The current job; written under `mu` before `generation` changes, read under `mu` by workers.
  const std::function<void(int, int, int)>* job = nullptr;
  int job_n = 0, job_chunks = 0;
  std::vector<std::thread> workers;

  // Spinning is bounded: long enough to cover the gap between two consecutive ops, short enough not to matter
  // when the machine is shared.
  static constexpr int kSpin = 20000;

  // Claims and runs chunks of job `gen` until none is left (or a newer job replaced it).
  void run_chunks(int slot, uint32_t gen, const std::function<void(int, int, int)>& fn, int n, int chunks) {
    for (;;) {
      // Announce first, then claim: the caller, once every chunk is claimed, waits for `active` to drain, so
      // it can never miss a chunk that is being claimed right now.
      active.fetch_add(1);
      uint64_t t = ticket.load();
      bool claimed = false;
      while (static_cast<uint32_t>(t >> 32) == gen && static_cast<int>(t & 0xffffffffu) < chunks) {
        if (ticket.compare_exchange_weak(t, t + 1)) {
          claimed = true;
          break;
        }
      }
      if (claimed) {
        const int c = static_cast<int>(t & 0xffffffffu);
        fn(slot, range_begin(c, chunks, n), range_begin(c + 1, chunks, n));
      }
      if (active.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lock(mu);
        done_cv.notify_all();
      }
      if (!claimed) return;
    }
  }

  void worker_loop(int slot) {
    uint64_t seen = 0;
    for (;;) {
      bool have = false;
      for (int i = 0; i < kSpin; ++i) {
        if (generation.load(std::memory_order_acquire) != seen) { have = true; break; }
      }
      const std::function<void(int, int, int)>* fn;
      int n, chunks;
      {
        std::unique_lock<std::mutex> lock(mu);
        if (!have) start_cv.wait(lock, [&] { return stop || generation.load() != seen; });
        if (stop) return;
        seen = generation.load();
        fn = job;
        n = job_n;
        chunks = job_chunks;
      }
      // `fn` stays valid while this thread holds a claimed chunk: the caller does not return before that.
      if (fn) run_chunks(slot, static_cast<uint32_t>(seen), *fn, n, chunks);
    }
  }
};

ThreadPool::ThreadPool(int threads) {
  size_ = std::max(1, threads);
  if (size_ == 1) return;
  impl_ = std::make_shared<Impl>();
  impl_->workers.reserve(size_ - 1);
  for (int slot = 1; slot < size_; ++slot) {
    std::shared_ptr<Impl> impl = impl_;
    impl_->workers.emplace_back([impl, slot] { impl->worker_loop(slot); });
  }
}

ThreadPool::~ThreadPool() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->start_cv.notify_all();
  // Detach rather than join: in WASM a worker whose pthread never got started (it needs the main thread's
  // event loop, which a blocking join would never give back) would make join wait forever. Each worker holds
  // its own reference to Impl, sees `stop` whenever it runs, and exits; no job can be in flight here.
  for (auto& t : impl_->workers) t.detach();
}

void ThreadPool::parallel_for_slots(int n, const std::function<void(int, int, int)>& fn) {
  if (n <= 0) return;
  if (!impl_ || n == 1 || impl_->busy.exchange(true, std::memory_order_acquire)) {
    fn(0, 0, n);
    return;
  }
  Impl& p = *impl_;
  const int chunks = std::min(n, size_ * kChunksPerThread);
  uint32_t gen;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.job = &fn;
    p.job_n = n;
    p.job_chunks = chunks;
    gen = static_cast<uint32_t>(p.generation.load() + 1);
    p.ticket.store(static_cast<uint64_t>(gen) << 32);
    p.generation.store(gen);  // only the low 32 bits matter: they tag the tickets
  }
  p.start_cv.notify_all();
  p.run_chunks(0, gen, fn, n, chunks);
  // Every chunk is claimed now; wait for the ones still running on workers.
  bool done = false;
  for (int i = 0; i < Impl::kSpin; ++i) {
    if (p.active.load() == 0) { done = true; break; }
  }
  if (!done) {
    std::unique_lock<std::mutex> lock(p.mu);
    p.done_cv.wait(lock, [&] { return p.active.load() == 0; });
  }
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.job = nullptr;  // a worker waking after this finds no job
  }
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
