// ThreadPool (engine/core/thread_pool.h): every task runs once, thread indices
// are in range and never shared by two running tasks, exceptions reach the
// caller, and concurrent callers sharing one pool all get their own results.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/thread_pool.h"
#include "engine/core/thread_pool_internal.h"
#include "tests/check.h"

// Every allocation in this test program is counted, to check that a
// parallel_for call allocates nothing.
std::atomic<long> g_allocations{0};

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

TEST(a_call_allocates_nothing_whatever_the_task_captures) {
  wn::ThreadPool pool(2);
  double a = 1, b = 2, c = 3, d = 4, e = 5;  // a capture too big for std::function's buffer
  std::vector<double> out(64);
  pool.parallel_for(64, [&](int64_t t, int) { out[t] = a + b + c + d + e + t; });  // warm-up
  const long before = g_allocations.load();
  for (int repeat = 0; repeat < 100; ++repeat) {
    pool.parallel_for(64, [&](int64_t t, int) { out[t] = a + b + c + d + e + t + repeat; });
  }
  CHECK(g_allocations.load() == before);
  CHECK(out[63] == 15 + 63 + 99);
}

TEST(every_task_runs_exactly_once) {
  for (int threads : {1, 2, 3}) {
    wn::ThreadPool pool(threads);
    CHECK(pool.size() == threads);
    for (int64_t n : {0, 1, 2, 5, 1000}) {
      std::vector<std::atomic<int>> runs(n);
      for (auto& r : runs) r = 0;
      pool.parallel_for(n, [&](int64_t task, int) { runs[task]++; });
      int wrong = 0;
      for (auto& r : runs) wrong += r.load() != 1;
      CHECK(wrong == 0);
    }
  }
}

TEST(thread_index_is_in_range_and_exclusive) {
  wn::ThreadPool pool(3);
  std::vector<std::atomic<int>> in_use(3);
  for (auto& u : in_use) u = 0;
  std::atomic<int> violations{0};
  pool.parallel_for(3000, [&](int64_t, int index) {
    if (index < 0 || index >= 3) {
      violations++;
      return;
    }
    if (in_use[index].fetch_add(1) != 0) violations++;
    volatile int spin = 0;
    for (int i = 0; i < 200; ++i) spin = spin + i;
    in_use[index].fetch_sub(1);
  });
  CHECK(violations.load() == 0);
}

TEST(single_thread_pool_runs_on_caller) {
  wn::ThreadPool pool(1);
  const auto caller = std::this_thread::get_id();
  std::atomic<int> elsewhere{0};
  pool.parallel_for(10, [&](int64_t, int index) {
    if (std::this_thread::get_id() != caller || index != 0) elsewhere++;
  });
  CHECK(elsewhere.load() == 0);
}

TEST(first_exception_is_rethrown_and_pool_stays_usable) {
  wn::ThreadPool pool(2);
  bool caught = false;
  try {
    pool.parallel_for(100, [&](int64_t task, int) {
      if (task == 17) throw std::runtime_error("task 17 failed");
    });
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "task 17 failed";
  }
  CHECK(caught);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(100, [&](int64_t task, int) { sum += task; });
  CHECK(sum.load() == 4950);
}

TEST(concurrent_callers_each_get_their_results) {
  wn::ThreadPool pool(2);
  const int kCallers = 3, kRounds = 200;
  std::vector<int64_t> totals(kCallers, 0);
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int r = 0; r < kRounds; ++r) {
        std::atomic<int64_t> sum{0};
        pool.parallel_for(64, [&](int64_t task, int) { sum += task + c; });
        totals[c] += sum.load();
      }
    });
  }
  for (auto& t : callers) t.join();
  for (int c = 0; c < kCallers; ++c) CHECK(totals[c] == (int64_t)kRounds * (2016 + 64 * c));
}

TEST(nested_call_runs_inline_on_the_same_thread_index) {
  for (int threads : {1, 2}) {
    for (int outer_tasks : {1, 8}) {
      wn::ThreadPool pool(threads);
      std::atomic<int> mismatches{0}, inner_runs{0};
      pool.parallel_for(outer_tasks, [&](int64_t, int outer_index) {
        pool.parallel_for(4, [&](int64_t, int inner_index) {
          if (inner_index != outer_index) mismatches++;
          inner_runs++;
        });
      });
      CHECK(inner_runs.load() == 4 * outer_tasks);
      CHECK(mismatches.load() == 0);
    }
  }
}

TEST(a_turn_holds_the_pool_across_calls_and_others_wait_for_its_end) {
  wn::ThreadPool pool(2);
  std::atomic<bool> other_ran{false};
  std::thread other;
  {
    const wn::ThreadPool::Turn turn(&pool);
    const wn::ThreadPool::Turn nested(&pool);  // a no-op, not a deadlock
    other = std::thread([&] {
      pool.parallel_for(4, [&](int64_t, int) {});
      other_ran = true;
    });
    // The turn's own calls run (on both threads), the other thread's waits.
    for (int op = 0; op < 20; ++op) {
      std::atomic<int> tasks{0};
      pool.parallel_for(64, [&](int64_t, int) { tasks.fetch_add(1); });
      CHECK(tasks.load() == 64);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    CHECK(!other_ran.load());
  }
  other.join();
  CHECK(other_ran.load());
}

TEST(a_turn_inside_a_task_or_of_no_pool_takes_nothing) {
  wn::ThreadPool pool(2);
  const wn::ThreadPool::Turn none(nullptr);
  std::atomic<int> inner{0};
  pool.parallel_for(4, [&](int64_t, int) {
    const wn::ThreadPool::Turn turn(&pool);  // from inside a task: would deadlock if it locked
    pool.parallel_for(3, [&](int64_t, int) { inner.fetch_add(1); });
  });
  CHECK(inner.load() == 12);
}

TEST(stepped_turns_hand_the_pool_over_between_steps_once_a_turn_is_long) {
  wn::ThreadPool pool(2);
  constexpr auto kTurn = wn::ThreadPool::SteppedTurn::kStepTurn;
  std::atomic<bool> other_ran{false};
  std::thread other;
  bool ran_while_stepping = false, ran_during_first_turn = false;
  {
    wn::ThreadPool::SteppedTurn turns(&pool);
    const auto start = std::chrono::steady_clock::now();
    for (int step = 0; std::chrono::steady_clock::now() - start < 20 * kTurn; ++step) {
      turns.next_step();
      if (step == 0) {
        other = std::thread([&] {
          pool.parallel_for(4, [&](int64_t, int) {});
          other_ran = true;
        });
      }
      pool.parallel_for(8, [&](int64_t, int) {});
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      if (std::chrono::steady_clock::now() - start < kTurn / 2 && other_ran.load()) {
        ran_during_first_turn = true;
      }
    }
    ran_while_stepping = other_ran.load();
  }  // (the turn ends here: a failing run still joins below)
  other.join();
  // The other call got in while the steps went on, not in the middle of the
  // first turn.
  CHECK(ran_while_stepping);
  CHECK(!ran_during_first_turn);
}

TEST(rejects_zero_threads) {
  CHECK_THROWS_CODE(wn::ThreadPool(0), wn::ErrorCode::kInvalidArgument);
}

// A worker that cannot start (std::thread throws, as at a container's pids
// limit): the constructor stops the workers it started and throws a typed
// error, where it used to destroy their state under them (std::terminate on
// the joinable threads, or a hang). Starts 1-3 succeed, the 4th fails.
TEST(a_thread_that_cannot_start_fails_the_pool_with_a_typed_error) {
  static std::atomic<int> starts{0};
  starts = 0;
  wn::internal::thread_pool_before_start = [](int) {
    if (++starts == 4) {
      throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again));
    }
  };
  std::string message;
  {
    struct Unhook {  // also when the pool throws something else
      ~Unhook() { wn::internal::thread_pool_before_start = nullptr; }
    } unhook;
    try {
      wn::ThreadPool pool(8);
    } catch (const wn::Error& e) {
      CHECK(e.code() == wn::ErrorCode::kOutOfMemory);
      message = e.what();
    }
  }
  CHECK(starts.load() == 4);  // no start after the failed one
  CHECK(message.find("8 threads were asked for") != std::string::npos);
  CHECK(message.find("refused to start more than 4") != std::string::npos);
  // The process is fine: a pool of 8 starts and runs.
  wn::ThreadPool pool(8);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(1000, [&](int64_t task, int) { sum += task; });
  CHECK(sum.load() == 499500);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
