// How many calls of one model run at once: at most `limit` (LoadOptions
// maxConcurrentCalls, 4 by default); the others wait, in the order they were
// made, holding only their copied inputs. The binding gives each model one
// gate and each call a ticket.
//
// Why a limit at all: each running call holds its own window memory (the
// cross-attention K/V and the encoder's scratch: ~15 MB for tiny, ~0.5 GB for
// large-v3), and the calls of a model share its thread pool op by op, so calls
// beyond a few add memory, not throughput. (When calls ran on libuv's thread
// pool, its 4 threads were the limit, and the rest of the process waited.)
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>

#include "engine/core/cancel.h"

namespace wn {

class CallGate {
 public:
  // The default limit: when calls ran on libuv's pool, its 4 threads were.
  static constexpr int kDefaultLimit = 4;
  // How often a waiting call looks at its cancellation flag unwoken.
  static constexpr std::chrono::milliseconds kCancelPoll{100};

  // A call's place in the queue. Leaves it (or frees its running slot) when
  // destroyed; a freed slot goes to the oldest waiting ticket that is ready.
  // A ticket becomes ready, and so can be admitted, through one of two ways:
  // wait() (a thread blocks until its turn) or start_when_admitted() (no
  // thread until its turn: the binding's calls, so that a thousand queued
  // calls are not a thousand blocked threads).
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

    // The call's thread: returns when the call may run. Throws wn::Error
    // kAborted when `cancel` (may be null) is raised first; the ticket has then
    // left the queue. A waiting call notices a raised flag when the gate's
    // waker runs, or at the latest after kCancelPoll.
    void wait(const CancellationFlag* cancel);

    // Runs start() once the ticket is admitted: at once, on this thread, if
    // it is first in line and a slot is free, else on the thread whose ticket
    // frees a slot. It runs under the gate's lock, so it must only start the
    // call (a thread) and never touch the gate; it returns false if it could
    // not, and the slot goes to the next ticket.
    void start_when_admitted(std::function<bool()> start);

    // A function that takes the ticket out of the queue if it has not been
    // admitted yet, and then returns true (its start() will never run); false
    // once it was admitted or has left. Safe from any thread, at any time (it
    // holds the gate's state, not the ticket).
    std::function<bool()> withdrawer() const;

    // A function that wakes the threads in wait() (to look at their
    // cancellation flags): call it after raising one. Safe as withdrawer().
    std::function<void()> waker() const;

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
