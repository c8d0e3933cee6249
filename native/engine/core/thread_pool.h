// A persistent pool of worker threads, one per model, sized by the `threads`
// option. Operations split their work with parallel_for; no thread is created
// per operation.
//
// Several transcriptions may share one model (and so one pool) at once: each
// parallel_for call holds the pool for its duration, or a Turn holds it for
// several (a decoder step, an encoder block), so concurrent callers take turns
// and every caller gets correct results.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace wn {

// A non-owning reference to a callable `void(int64_t task, int thread_index)`:
// two pointers, never a heap allocation (std::function allocates for a lambda
// capturing more than two references, and the decoder issues dozens of
// parallel_for calls per token). Valid only while the referenced callable is:
// pass it down, never store it.
class TaskFn {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, TaskFn>>>
  TaskFn(const F& f)  // NOLINT: implicit, as std::function's
      : object_(&f), call_([](const void* o, int64_t task, int thread) {
          (*static_cast<const F*>(o))(task, thread);
        }) {}
  void operator()(int64_t task, int thread_index) const { call_(object_, task, thread_index); }

 private:
  const void* object_;
  void (*call_)(const void*, int64_t, int);
};

class ThreadPool {
  struct Impl;

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
  void parallel_for(int64_t n_tasks, TaskFn fn);

  // Holds the pool for the calling thread from construction to destruction:
  // its parallel_for calls in between run without taking the pool again, and
  // other threads' calls wait until the turn ends. Why: callers that share a
  // pool otherwise alternate op by op, and every change of hands wakes a
  // sleeping caller (tens of microseconds); a decoder step is 33 ops, so 4
  // transcriptions at once on one model had ~11 % less throughput than one
  // after another. A turn per decoder step or encoder block changes hands
  // ~30x less often. A Turn on a thread that already holds one, or of no pool
  // (null), is a no-op.
  class Turn {
   public:
    explicit Turn(ThreadPool* pool);
    ~Turn();
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    ThreadPool::Impl* held_ = nullptr;  // null when nested in a turn of the same pool
  };

  // Turns over a loop of small steps (a beam search's token steps; the greedy
  // and sampled steps of concurrent calls share passes instead: StepBatcher):
  // next_step() at the top of every step keeps the pool held from one step to
  // the next until the turn has lasted kStepTurn, then hands it over between
  // two steps. Why not a turn per step: each hand-over costs the waking of the
  // call that takes it, and at ~1.3 ms per tiny.en step that made the 56 test
  // clips, all made at once on one model, take 1.09x the time of one call
  // after another; turns of 5 ms 1.04-1.10x, of 20 ms 1.03-1.04x (this noisy
  // 2-core VM, greedy steps, before they shared passes). 20 ms is still far
  // below what a user could notice of a call's progress.
  class SteppedTurn {
   public:
    static constexpr std::chrono::milliseconds kStepTurn{20};
    explicit SteppedTurn(ThreadPool* pool) : pool_(pool) {}
    void next_step();

   private:
    ThreadPool* pool_;
    std::optional<Turn> turn_;
    std::chrono::steady_clock::time_point taken_;
  };

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wn
