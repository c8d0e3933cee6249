// How many calls of one model run at once: at most `limit` (LoadOptions
// maxConcurrentCalls, 4 by default); the others wait, in the order they were
// made, holding only their copied inputs and no thread. The binding gives
// each model one gate and each call a ticket, and starts a call's thread when
// the gate admits it.
//
// Why a limit at all: each running call holds its own window memory (the
// cross-attention K/V and the encoder's scratch: ~15 MB for tiny, ~0.5 GB for
// large-v3), and the running calls already keep the model's threads busy
// (their decoder steps share passes: StepBatcher), so calls beyond a few add
// memory, not throughput (8 at once measured no faster than 4). (When calls
// ran on libuv's thread pool, its 4 threads were the limit, and the rest of
// the process waited.)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

namespace wn {

class CallGate {
 public:
  // The default limit: when calls ran on libuv's pool, its 4 threads were.
  static constexpr int kDefaultLimit = 4;

  // A call's place in the queue. Leaves it (or frees its running slot) when
  // destroyed; a freed slot goes to the oldest waiting ticket that is ready,
  // i.e. whose start_when_admitted() has been called (a ticket not yet ready
  // holds up the ones behind it: its call is about to say how it starts).
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

    // Runs start() once the ticket is admitted: at once, on this thread, if
    // it is first in line and a slot is free, else on the thread whose ticket
    // frees a slot (so no thread waits for a turn). It runs under the gate's lock, so it must only
    // start the call (a thread) and never touch the gate; it returns false if it could not, and the
    // slot goes to the next ticket.
    void start_when_admitted(std::function<bool()> start);

    // A function that takes the ticket out of the queue if it has not been
    // admitted yet, and then returns true (its start() will never run); false
    // once it was admitted or has left. Safe from any thread, at any time (it
    // holds the gate's state, not the ticket).
    std::function<bool()> withdrawer() const;

   private:
    friend class CallGate;
    struct State;
    void leave();
    std::shared_ptr<State> state_;
    uint64_t number_ = 0;
  };

  // limit >= 1 (else kInvalidArgument).
  explicit CallGate(int limit = kDefaultLimit);
  int limit() const;
  // The JS thread, when a call is made: the next place in the queue.
  Ticket take_ticket();

 private:
  std::shared_ptr<Ticket::State> state_;
};

}  // namespace wn
