// CallGate (engine/core/call_gate.h): no more than its limit of calls run at
// once, waiting calls start in the order their tickets were taken, a cancelled
// waiter leaves the queue without taking a slot, and a ticket destroyed
// unused leaves no hole that blocks the calls behind it.
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/core/call_gate.h"
#include "engine/core/cancel.h"
#include "engine/core/error.h"
#include "tests/check.h"

namespace {

using wn::CallGate;
constexpr int kLimit = CallGate::kDefaultLimit;

// Tickets running in every slot of `gate`: later tickets wait.
std::vector<CallGate::Ticket> fill_every_slot(CallGate& gate) {
  std::vector<CallGate::Ticket> holders;
  for (int i = 0; i < gate.limit(); ++i) {
    holders.push_back(gate.take_ticket());
    holders.back().wait(nullptr);
  }
  return holders;
}

// Whether `ticket` is admitted within two seconds of the call. If not, the
// holders' slots are freed so that the waiting thread can end (and the test
// fails instead of hanging).
bool admitted_soon(CallGate::Ticket& ticket, std::vector<CallGate::Ticket>& holders) {
  std::atomic<bool> admitted{false};
  std::thread waiter([&] {
    ticket.wait(nullptr);
    admitted = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!admitted && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const bool in_time = admitted.load();
  if (!in_time) holders.clear();
  waiter.join();
  return in_time;
}

TEST(never_more_than_the_limit_run_at_once_and_all_run) {
  CallGate gate;
  const int calls = 3 * kLimit;
  std::vector<CallGate::Ticket> tickets;
  for (int i = 0; i < calls; ++i) tickets.push_back(gate.take_ticket());
  std::atomic<int> running{0}, most{0}, finished{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < calls; ++i) {
    threads.emplace_back([&, i] {
      tickets[i].wait(nullptr);
      const int now = running.fetch_add(1) + 1;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      running.fetch_sub(1);
      finished.fetch_add(1);
      tickets[i] = CallGate::Ticket();  // the slot goes back
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(finished.load() == calls);
  CHECK(most.load() <= kLimit);
  CHECK(most.load() >= 2);  // the gate does not serialize below its limit
}

TEST(a_limit_of_one_runs_calls_one_after_another_and_zero_is_refused) {
  CallGate gate(1);
  CHECK(gate.limit() == 1);
  std::vector<CallGate::Ticket> tickets;
  for (int i = 0; i < 6; ++i) tickets.push_back(gate.take_ticket());
  std::atomic<int> running{0}, most{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      tickets[i].wait(nullptr);
      const int now = running.fetch_add(1) + 1;
      if (now > most.load()) most = now;
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      running.fetch_sub(1);
      tickets[i] = CallGate::Ticket();
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(most.load() == 1);
  CHECK_THROWS_CODE(CallGate(0), wn::ErrorCode::kInvalidArgument);
}

TEST(waiting_calls_start_in_the_order_their_tickets_were_taken) {
  CallGate gate;
  // Fill every slot, so that the later tickets all wait.
  std::vector<CallGate::Ticket> holders = fill_every_slot(gate);
  const int waiters = 6;
  std::vector<CallGate::Ticket> tickets;
  for (int i = 0; i < waiters; ++i) tickets.push_back(gate.take_ticket());
  std::mutex order_mutex;
  std::vector<int> order;
  std::vector<std::thread> threads;
  // Started last to first: arrival at wait() must not decide the order.
  for (int i = waiters - 1; i >= 0; --i) {
    threads.emplace_back([&, i] {
      tickets[i].wait(nullptr);
      {
        std::lock_guard<std::mutex> lock(order_mutex);
        order.push_back(i);
      }
      tickets[i] = CallGate::Ticket();
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  // One slot at a time: each release admits exactly the oldest waiter.
  holders.resize(kLimit - 1);
  for (std::thread& t : threads) t.join();
  CHECK(order.size() == static_cast<size_t>(waiters));
  for (int i = 0; i < waiters; ++i) CHECK(order[i] == i);
}

TEST(a_cancelled_waiter_throws_aborted_and_the_next_one_runs) {
  CallGate gate;
  std::vector<CallGate::Ticket> holders = fill_every_slot(gate);
  CallGate::Ticket cancelled = gate.take_ticket();
  CallGate::Ticket next = gate.take_ticket();
  wn::CancellationFlag flag;
  std::atomic<bool> threw{false};
  std::thread waiter([&] {
    try {
      cancelled.wait(&flag);
    } catch (const wn::Error& e) {
      threw = e.code() == wn::ErrorCode::kAborted;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  flag.cancel();
  waiter.join();
  CHECK(threw.load());
  // The cancelled ticket held no slot and is out of the queue: freeing one
  // slot admits the ticket behind it.
  holders.pop_back();
  CHECK(admitted_soon(next, holders));
}

TEST(the_waker_lets_a_cancelled_waiter_leave_before_the_poll_would) {
  CallGate gate;
  std::vector<CallGate::Ticket> holders = fill_every_slot(gate);
  CallGate::Ticket waiting = gate.take_ticket();
  const std::function<void()> wake = waiting.waker();
  wn::CancellationFlag flag;
  std::atomic<bool> threw{false};
  std::thread waiter([&] {
    try {
      waiting.wait(&flag);
    } catch (const wn::Error&) {
      threw = true;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it wait
  const auto raised = std::chrono::steady_clock::now();
  flag.cancel();
  wake();
  waiter.join();
  const auto took = std::chrono::steady_clock::now() - raised;
  CHECK(threw.load());
  CHECK(took < CallGate::kCancelPoll / 2);
}

TEST(a_start_runs_at_once_when_a_slot_is_free_else_when_one_frees) {
  CallGate gate(2);
  std::vector<int> started;
  std::vector<CallGate::Ticket> tickets;
  for (int i = 0; i < 4; ++i) tickets.push_back(gate.take_ticket());
  for (int i = 0; i < 4; ++i) {
    tickets[i].start_when_admitted([&started, i] {
      started.push_back(i);
      return true;
    });
  }
  CHECK(started == std::vector<int>({0, 1}));  // two slots: the first two at once
  tickets[1] = CallGate::Ticket();             // a slot frees: the oldest waiting starts
  CHECK(started == std::vector<int>({0, 1, 2}));
  tickets[0] = CallGate::Ticket();
  CHECK(started == std::vector<int>({0, 1, 2, 3}));
}

TEST(a_withdrawn_start_never_runs_and_an_admitted_one_cannot_be_withdrawn) {
  CallGate gate(1);
  CallGate::Ticket running = gate.take_ticket();
  CallGate::Ticket queued = gate.take_ticket();
  CallGate::Ticket behind = gate.take_ticket();
  int runs = 0, queued_runs = 0, behind_runs = 0;
  running.start_when_admitted([&] { return ++runs > 0; });
  queued.start_when_admitted([&] { return ++queued_runs > 0; });
  behind.start_when_admitted([&] { return ++behind_runs > 0; });
  CHECK(!running.withdrawer()());  // admitted already
  const std::function<bool()> withdraw = queued.withdrawer();
  CHECK(withdraw());
  CHECK(!withdraw());  // once only
  running = CallGate::Ticket();
  CHECK(runs == 1);
  CHECK(queued_runs == 0);
  CHECK(behind_runs == 1);  // the slot skipped the withdrawn ticket
}

TEST(a_start_that_fails_gives_its_slot_to_the_next_ticket) {
  CallGate gate(1);
  CallGate::Ticket failing = gate.take_ticket();
  CallGate::Ticket next = gate.take_ticket();
  bool next_ran = false;
  failing.start_when_admitted([] { return false; });
  next.start_when_admitted([&] { return next_ran = true; });
  CHECK(next_ran);
}

TEST(a_full_gate_admits_no_one_until_a_slot_is_freed) {
  CallGate gate;
  std::vector<CallGate::Ticket> holders = fill_every_slot(gate);
  CallGate::Ticket waiting = gate.take_ticket();
  std::atomic<bool> admitted{false};
  std::thread waiter([&] {
    waiting.wait(nullptr);
    admitted = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(!admitted.load());
  holders.pop_back();
  waiter.join();
  CHECK(admitted.load());
}

TEST(a_ticket_dropped_before_its_turn_does_not_block_the_queue) {
  CallGate gate;
  std::vector<CallGate::Ticket> holders = fill_every_slot(gate);
  {
    CallGate::Ticket dropped = gate.take_ticket();  // a call that never started
  }
  CallGate::Ticket behind = gate.take_ticket();
  holders.pop_back();
  CHECK(admitted_soon(behind, holders));
}

TEST(an_already_cancelled_call_that_could_run_at_once_still_runs) {
  // Cancellation is the engine's to act on once a call runs; the gate only
  // stops calls that are waiting.
  CallGate gate;
  wn::CancellationFlag flag;
  flag.cancel();
  CallGate::Ticket ticket = gate.take_ticket();
  bool threw = false;
  try {
    ticket.wait(&flag);
  } catch (const wn::Error&) {
    threw = true;
  }
  CHECK(!threw);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
