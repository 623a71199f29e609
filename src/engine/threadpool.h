// A fixed set of worker threads, created once per Engine and reused for every parallel_for of every forward
// pass (creating threads per call would cost more than most of the work items; in WASM a pthread_create can
// even stall until the main thread yields). No global state: each Engine owns its own pool.
//
// threads <= 1, or a build without VITRINE_THREADS (the single-threaded WASM variant), runs every call inline
// on the calling thread.
#pragma once
#include <functional>
#include <memory>

namespace vitrine {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Number of threads that run work, including the calling thread (>= 1).
  int size() const { return size_; }

  // Calls fn(begin, end) on disjoint contiguous ranges that together cover [0, n); the calling thread works
  // too. [0, n) is cut into up to 4 chunks per thread, which the threads claim one at a time: a thread that the
  // OS deschedules (on a shared machine) then delays only its current chunk, not a fixed share of the op.
  // Returns when every chunk is done. A parallel_for issued from inside another one (or while another thread
  // is using the pool) runs inline rather than deadlocking.
  void parallel_for(int n, const std::function<void(int begin, int end)>& fn);

  // Like parallel_for, but also passes which of the size() slots (threads) runs the chunk (0 <= slot <
  // size()), so the caller can hand each slot its own scratch memory. Calls with the same slot never overlap;
  // a slot may receive several chunks.
  void parallel_for_slots(int n, const std::function<void(int slot, int begin, int end)>& fn);

 private:
  struct Impl;
  int size_ = 1;
  // nullptr when running inline. Shared with the workers, which may outlive the pool object (see ~ThreadPool).
  std::shared_ptr<Impl> impl_;
};

// Convenience for ops: run on the pool when there is one, inline otherwise.
inline void parallel_for(ThreadPool* pool, int n, const std::function<void(int, int)>& fn) {
  if (n <= 0) return;
  if (pool) pool->parallel_for(n, fn);
  else fn(0, n);
}
inline int pool_size(ThreadPool* pool) { return pool ? pool->size() : 1; }

}  // namespace vitrine
