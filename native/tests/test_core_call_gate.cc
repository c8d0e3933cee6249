// CallGate (engine/core/call_gate.h): no more than its limit of calls run at
// once, waiting calls start in the order their tickets were taken (not the
// order they asked to start), a withdrawn call leaves the queue without taking
// a slot, and a ticket destroyed unused leaves no hole that blocks the calls
// behind it. Calls are admitted as the binding admits them: a start function
// runs when the ticket's turn comes (here it starts a thread, or records).
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "engine/core/call_gate.h"
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
    holders.back().start_when_admitted([] { return true; });
  }
  return holders;
}

// `calls` calls through a gate of `limit`, each on a thread its start
// function starts, running ~`ms` and then giving its slot back (from its own
// thread, which so admits the next call). Returns the most that ran at once.
int most_at_once(int limit, int calls, int ms) {
  CallGate gate(limit);
  std::vector<CallGate::Ticket> tickets;
  for (int i = 0; i < calls; ++i) tickets.push_back(gate.take_ticket());
  std::vector<std::thread> threads(static_cast<size_t>(calls));
  std::atomic<int> running{0}, most{0}, finished{0};
  for (int i = 0; i < calls; ++i) {
    tickets[i].start_when_admitted([&, i] {
      threads[i] = std::thread([&, i] {
        const int now = running.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        running.fetch_sub(1);
        tickets[i] = CallGate::Ticket();  // the slot goes back
        finished.fetch_add(1);
      });
      return true;
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (finished.load() < calls && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(finished.load() == calls);
  for (std::thread& t : threads) {
    if (t.joinable()) t.join();
  }
  return most.load();
}

TEST(never_more_than_the_limit_run_at_once_and_all_run) {
  const int most = most_at_once(kLimit, 3 * kLimit, 5);
  CHECK(most <= kLimit);
  CHECK(most >= 2);  // the gate does not serialize below its limit
}

TEST(a_limit_of_one_runs_calls_one_after_another_and_zero_is_refused) {
  CHECK(CallGate(1).limit() == 1);
  CHECK(most_at_once(1, 6, 3) == 1);
  CHECK_THROWS_CODE(CallGate(0), wn::ErrorCode::kInvalidArgument);
}

TEST(waiting_calls_start_in_the_order_their_tickets_were_taken) {
  CallGate gate;
  std::vector<CallGate::Ticket> holders = fill_every_slot(gate);
  const int waiters = 6;
  std::vector<CallGate::Ticket> tickets;
  for (int i = 0; i < waiters; ++i) tickets.push_back(gate.take_ticket());
  // Start functions run under the gate's lock, one at a time.
  std::vector<int> order;
  // Asked to start last to first: the order of asking must not decide.
  for (int i = waiters - 1; i >= 0; --i) {
    tickets[i].start_when_admitted([&order, i] {
      order.push_back(i);
      return true;
    });
  }
  CHECK(order.empty());  // every slot is held
  // One slot at a time: each release admits exactly the oldest waiter.
  for (int freed = 0; freed < waiters; ++freed) {
    if (freed < kLimit) {
      holders.pop_back();
    } else {
      tickets[freed - kLimit] = CallGate::Ticket();
    }
    CHECK(order.size() == static_cast<size_t>(freed + 1));
  }
  for (int i = 0; i < waiters; ++i) CHECK(order[i] == i);
}

TEST(a_ticket_not_yet_asked_to_start_holds_up_the_tickets_behind_it) {
  CallGate gate(1);
  CallGate::Ticket first = gate.take_ticket();
  CallGate::Ticket second = gate.take_ticket();
  bool second_ran = false;
  second.start_when_admitted([&] { return second_ran = true; });
  CHECK(!second_ran);  // the slot is free, but the older ticket comes first
  bool first_ran = false;
  first.start_when_admitted([&] { return first_ran = true; });
  CHECK(first_ran && !second_ran);
  first = CallGate::Ticket();
  CHECK(second_ran);
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

TEST(a_call_withdrawn_from_another_thread_leaves_the_queue_behind_it_free) {
  CallGate gate;
  std::vector<CallGate::Ticket> holders = fill_every_slot(gate);
  CallGate::Ticket withdrawn = gate.take_ticket();
  CallGate::Ticket next = gate.take_ticket();
  bool withdrawn_ran = false, next_ran = false;
  withdrawn.start_when_admitted([&] { return withdrawn_ran = true; });
  next.start_when_admitted([&] { return next_ran = true; });
  bool took_out = false;
  std::thread aborter([&, withdraw = withdrawn.withdrawer()] { took_out = withdraw(); });
  aborter.join();
  CHECK(took_out);
  // It held no slot and is out of the queue: one freed slot admits the next.
  holders.pop_back();
  CHECK(next_ran);
  CHECK(!withdrawn_ran);
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
  bool admitted = false;
  waiting.start_when_admitted([&] { return admitted = true; });
  CHECK(!admitted);
  holders.pop_back();
  CHECK(admitted);
}

TEST(a_ticket_dropped_before_its_turn_does_not_block_the_queue) {
  CallGate gate;
  std::vector<CallGate::Ticket> holders = fill_every_slot(gate);
  {
    CallGate::Ticket dropped = gate.take_ticket();  // a call that never started
  }
  CallGate::Ticket behind = gate.take_ticket();
  bool admitted = false;
  behind.start_when_admitted([&] { return admitted = true; });
  holders.pop_back();
  CHECK(admitted);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
