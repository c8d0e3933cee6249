// A persistent pool of worker threads, one per model, sized by the `threads`
// option. Operations split their work with parallel_for; no thread is created
// per operation.
//
// Several transcriptions may share one model (and so one pool) at once: each
// parallel_for call holds the pool for its duration, so concurrent callers
// interleave op by op and every caller gets correct results.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace wn {

class ThreadPool {
 public:
  // n_threads >= 1 is the total parallelism, counting the calling thread:
  // the pool starts n_threads - 1 workers.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;

  // Runs fn(task, thread_index) for every task in [0, n_tasks), spread over the
  // calling thread and the workers; returns when all have run. thread_index is
  // in [0, size()) and unique among concurrently running calls of fn, so it can
  // index per-thread scratch space. An exception thrown by fn is rethrown here
  // (the first one; remaining tasks are skipped).
  void parallel_for(int64_t n_tasks, const std::function<void(int64_t task, int thread_index)>& fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wn
