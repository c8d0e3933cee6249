// A model's queue of calls (see call_gate.h).
#include "engine/core/call_gate.h"

#include <string>
#include <utility>

#include "engine/core/error.h"

namespace wn {

struct CallGate::Ticket::State {
  std::mutex mutex;
  std::condition_variable changed;
  std::set<uint64_t> waiting;  // ticket numbers, oldest first
  uint64_t next_number = 0;
  int running = 0;
  int limit = CallGate::kDefaultLimit;
};

CallGate::CallGate(int limit) : state_(std::make_shared<Ticket::State>()) {
  if (limit < 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "CallGate: the limit must be >= 1, got " + std::to_string(limit));
  }
  state_->limit = limit;
}

int CallGate::limit() const {
  return state_->limit;
}

CallGate::Ticket CallGate::take_ticket() {
  Ticket ticket;
  ticket.state_ = state_;
  std::lock_guard<std::mutex> lock(state_->mutex);
  ticket.number_ = state_->next_number++;
  state_->waiting.insert(ticket.number_);
  return ticket;
}

CallGate::Ticket::Ticket(Ticket&& other) noexcept
    : state_(std::move(other.state_)), number_(other.number_), running_(other.running_) {
  other.state_.reset();
}

CallGate::Ticket& CallGate::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    leave();
    state_ = std::move(other.state_);
    number_ = other.number_;
    running_ = other.running_;
    other.state_.reset();
  }
  return *this;
}

CallGate::Ticket::~Ticket() {
  leave();
}

void CallGate::Ticket::leave() {
  if (!state_) return;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (running_) {
      state_->running--;
    } else {
      state_->waiting.erase(number_);
    }
  }
  state_->changed.notify_all();
  state_.reset();
}

std::function<void()> CallGate::Ticket::waker() const {
  std::shared_ptr<State> state = state_;
  return [state] {
    if (!state) return;
    // Under the mutex: a waiter between its look at the flag and its wait
    // holds it, so the wake-up cannot fall in between and be lost.
    { std::lock_guard<std::mutex> lock(state->mutex); }
    state->changed.notify_all();
  };
}

void CallGate::Ticket::wait(const CancellationFlag* cancel) {
  if (!state_ || running_) return;
  std::unique_lock<std::mutex> lock(state_->mutex);
  while (state_->running >= state_->limit || *state_->waiting.begin() != number_) {
    if (cancel && cancel->cancelled()) {
      lock.unlock();
      leave();
      throw Error(ErrorCode::kAborted, "the operation was aborted");
    }
    state_->changed.wait_for(lock, kCancelPoll);
  }
  state_->waiting.erase(number_);
  state_->running++;
  running_ = true;
  lock.unlock();
  // The next in line may be able to run too.
  state_->changed.notify_all();
}

}  // namespace wn
