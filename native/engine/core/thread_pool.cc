// ThreadPool: persistent workers that share each parallel_for call's tasks.
//
// How a call runs: the caller takes the pool (call_mutex, so concurrent
// callers serialise op by op), publishes the job and opens it; workers that
// notice join it, and every participant, the caller included, pulls task
// indices from one atomic counter until none are left. The caller then closes
// the job and waits only for the workers that joined; a worker that wakes
// late (descheduled on a busy machine) finds the job closed and skips it, so
// the caller never waits for a thread that has not started.
//
// Why spin first: the decoder issues dozens of small ops per token, and a
// condition-variable wake-up costs tens of microseconds; workers (and the
// caller waiting for them) spin briefly on the atomics before sleeping.
//
// What it is not: a general task scheduler (no nesting, no futures).
#include "engine/core/thread_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/thread_pool_internal.h"
#include "engine/core/thread_scratch.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#define WN_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define WN_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define WN_CPU_RELAX() ((void)0)
#endif

namespace wn {

namespace internal {
void (*thread_pool_before_start)(int worker_index) = nullptr;
}  // namespace internal

namespace {

// How long a waiting thread spins before it sleeps. Long enough to cover the
// gap between two consecutive small ops, short enough not to burn a core when
// the pool is idle.
constexpr auto kSpinBudget = std::chrono::microseconds(200);

// Spins until pred() holds or the budget runs out; returns pred().
template <typename Pred>
bool spin_until(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinBudget;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (pred()) return true;
      WN_CPU_RELAX();
    }
    if (std::chrono::steady_clock::now() >= deadline) return pred();
  }
}

}  // namespace

// The job state word: generation in the high 32 bits, "open" in bit 31,
// the number of workers currently inside the job in the low bits.
constexpr uint64_t kOpen = 1ull << 31;
constexpr uint64_t kActiveMask = kOpen - 1;
inline uint32_t generation_of(uint64_t state) {
  return (uint32_t)(state >> 32);
}

// The pool and thread index of the task this thread is running, if any: a
// parallel_for issued from inside a task of the same pool runs inline (on
// that task's thread index) instead of deadlocking on call_mutex.
thread_local const void* tls_pool = nullptr;
thread_local int tls_thread_index = 0;
// The pool whose call_mutex this thread holds for a Turn, if any.
thread_local const void* tls_turn_pool = nullptr;

struct InsideTask {
  const void* saved_pool;
  int saved_index;
  InsideTask(const void* pool, int index) : saved_pool(tls_pool), saved_index(tls_thread_index) {
    tls_pool = pool;
    tls_thread_index = index;
  }
  ~InsideTask() {
    tls_pool = saved_pool;
    tls_thread_index = saved_index;
  }
};

struct ThreadPool::Impl {
  int n_threads = 1;
  std::vector<std::thread> workers;
  std::mutex call_mutex;  // held by one parallel_for at a time

  // The current job (valid while it is open or has active workers).
  const TaskFn* fn = nullptr;
  int64_t n_tasks = 0;
  std::atomic<int64_t> next_task{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;

  std::atomic<uint64_t> state{0};
  std::atomic<bool> stopping{false};
  std::mutex sleep_mutex;
  std::condition_variable work_ready;  // a new generation or stopping
  std::condition_variable work_done;   // closed job, no active workers

  // Pulls tasks until none are left or one failed.
  void run_tasks(int thread_index) {
    for (;;) {
      if (failed.load(std::memory_order_relaxed)) return;
      const int64_t task = next_task.fetch_add(1, std::memory_order_relaxed);
      if (task >= n_tasks) return;
      try {
        const InsideTask inside(this, thread_index);
        (*fn)(task, thread_index);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!failed.load()) first_error = std::current_exception();
        failed.store(true);
      }
    }
  }

  // Joins the open job of the state last read, if it is still open.
  bool try_join(uint64_t seen_state) {
    uint64_t cur = seen_state;
    while ((cur & kOpen) && generation_of(cur) == generation_of(seen_state)) {
      if (state.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) return true;
    }
    return false;
  }

  void leave() {
    const uint64_t before = state.fetch_sub(1, std::memory_order_acq_rel);
    if ((before & kActiveMask) == 1 && !(before & kOpen)) {
      std::lock_guard<std::mutex> lock(sleep_mutex);
      work_done.notify_all();
    }
  }

  // Wakes every worker to stop and waits for them to exit.
  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(sleep_mutex);
      stopping.store(true, std::memory_order_release);
    }
    work_ready.notify_all();
    for (auto& t : workers) t.join();
  }

  void worker_loop(int thread_index) {
    uint32_t seen = 0;
    for (;;) {
      const auto has_news = [&] {
        return generation_of(state.load(std::memory_order_acquire)) != seen ||
               stopping.load(std::memory_order_acquire);
      };
      if (!spin_until(has_news)) {
        std::unique_lock<std::mutex> lock(sleep_mutex);
        work_ready.wait(lock, has_news);
      }
      if (stopping.load(std::memory_order_acquire)) {
        release_thread_scratch();  // see thread_scratch.h: not at thread exit
        return;
      }
      const uint64_t st = state.load(std::memory_order_acquire);
      seen = generation_of(st);
      if (try_join(st)) {
        run_tasks(thread_index);
        leave();
      }
    }
  }
};

ThreadPool::ThreadPool(int n_threads) : impl_(new Impl) {
  if (n_threads < 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "ThreadPool: n_threads must be >= 1, got " + std::to_string(n_threads));
  }
  Impl* impl = impl_.get();
  impl->n_threads = n_threads;
  impl->workers.reserve(n_threads - 1);
  for (int i = 1; i < n_threads; ++i) {
    try {
      if (internal::thread_pool_before_start) internal::thread_pool_before_start(i);
      impl->workers.emplace_back([impl, i] { impl->worker_loop(i); });
    } catch (const std::system_error& e) {
      // The workers already started sleep on impl's condition variable:
      // destroying it (or their std::thread objects, still joinable) under
      // them would hang or terminate the process. Stop them first.
      impl->stop_workers();
      // i threads run: the caller and workers 1 ... i - 1.
      throw Error(ErrorCode::kOutOfMemory, std::to_string(n_threads) +
                                               " threads were asked for, but the system refused " +
                                               "to start more than " + std::to_string(i) + " (" +
                                               e.what() + "); ask for fewer threads");
    } catch (...) {
      impl->stop_workers();
      throw;
    }
  }
}

ThreadPool::~ThreadPool() {
  impl_->stop_workers();
}

int ThreadPool::size() const {
  return impl_->n_threads;
}

void ThreadPool::parallel_for(int64_t n_tasks, TaskFn fn) {
  if (n_tasks <= 0) return;
  if (tls_pool == impl_.get()) {  // nested call from one of our own tasks
    const int index = tls_thread_index;
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, index);
    return;
  }
  // Inside this thread's Turn the pool is already ours.
  std::unique_lock<std::mutex> call_lock(impl_->call_mutex, std::defer_lock);
  if (tls_turn_pool != impl_.get()) call_lock.lock();
  Impl& s = *impl_;
  if (s.workers.empty() || n_tasks == 1) {
    const InsideTask inside(&s, 0);
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  s.fn = &fn;
  s.n_tasks = n_tasks;
  s.next_task.store(0, std::memory_order_relaxed);
  s.failed.store(false, std::memory_order_relaxed);
  s.first_error = nullptr;
  {
    // Under the lock so that a worker about to sleep cannot miss the news.
    std::lock_guard<std::mutex> lock(s.sleep_mutex);
    const uint32_t gen = generation_of(s.state.load(std::memory_order_relaxed)) + 1;
    s.state.store(((uint64_t)gen << 32) | kOpen, std::memory_order_release);
  }
  s.work_ready.notify_all();

  s.run_tasks(0);

  // Close the job: late workers will not join; wait for those inside.
  s.state.fetch_and(~kOpen, std::memory_order_acq_rel);
  const auto all_left = [&] {
    return (s.state.load(std::memory_order_acquire) & kActiveMask) == 0;
  };
  if (!spin_until(all_left)) {
    std::unique_lock<std::mutex> lock(s.sleep_mutex);
    s.work_done.wait(lock, all_left);
  }
  s.fn = nullptr;
  if (s.failed.load()) std::rethrow_exception(s.first_error);
}

ThreadPool::Turn::Turn(ThreadPool* pool) {
  if (pool == nullptr) return;
  Impl* impl = pool->impl_.get();
  // Nested in a turn of the same pool, or called from inside one of its tasks
  // (where parallel_for runs inline): nothing to take.
  if (tls_turn_pool == impl || tls_pool == impl) return;
  impl->call_mutex.lock();
  tls_turn_pool = impl;
  held_ = impl;
}

ThreadPool::Turn::~Turn() {
  if (!held_) return;
  tls_turn_pool = nullptr;
  held_->call_mutex.unlock();
}

void ThreadPool::SteppedTurn::next_step() {
  if (pool_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (turn_ && now - taken_ < kStepTurn) return;
  turn_.reset();  // a waiting call may take the pool here
  turn_.emplace(pool_);
  taken_ = std::chrono::steady_clock::now();
}

}  // namespace wn
