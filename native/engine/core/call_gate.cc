// A model's queue of calls (see call_gate.h).
#include "engine/core/call_gate.h"

#include <map>
#include <string>
#include <utility>

#include "engine/core/error.h"

namespace wn {

struct CallGate::Ticket::State {
  struct Entry {
    bool ready = false;    // start_when_admitted() was called
    bool running = false;  // admitted: holds a slot
    std::function<bool()> start;
  };
  std::mutex mutex;
  std::map<uint64_t, Entry> entries;  // every ticket not yet left, oldest first
  uint64_t next_number = 0;
  int running = 0;
  int limit = CallGate::kDefaultLimit;

  // Gives free slots to the oldest waiting tickets, in order, as long as they
  // are ready (one that is not yet holds up the queue behind it: its call is
  // about to say how it starts). Under `mutex`.
  void admit() {
    for (auto it = entries.begin(); it != entries.end() && running < limit;) {
      Entry& e = it->second;
      if (e.running) {
        ++it;
        continue;
      }
      if (!e.ready) break;
      if (e.start && !e.start()) {  // could not start: the slot stays free
        it = entries.erase(it);
        continue;
      }
      e.start = nullptr;
      e.running = true;
      running++;
      ++it;
    }
  }

  // Takes ticket `number` out (freeing its slot if it holds one). Under `mutex`.
  void remove(uint64_t number) {
    auto it = entries.find(number);
    if (it == entries.end()) return;
    if (it->second.running) running--;
    entries.erase(it);
    admit();
  }
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
  state_->entries.emplace(ticket.number_, Ticket::State::Entry{});
  return ticket;
}

CallGate::Ticket::Ticket(Ticket&& other) noexcept
    : state_(std::move(other.state_)), number_(other.number_) {
  other.state_.reset();
}

CallGate::Ticket& CallGate::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    leave();
    state_ = std::move(other.state_);
    number_ = other.number_;
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
    state_->remove(number_);
  }
  state_.reset();
}

void CallGate::Ticket::start_when_admitted(std::function<bool()> start) {
  if (!state_) return;
  std::lock_guard<std::mutex> lock(state_->mutex);
  auto it = state_->entries.find(number_);
  if (it == state_->entries.end() || it->second.ready) return;
  it->second.ready = true;
  it->second.start = std::move(start);
  state_->admit();
}

std::function<bool()> CallGate::Ticket::withdrawer() const {
  std::shared_ptr<State> state = state_;
  const uint64_t number = number_;
  return [state, number] {
    if (!state) return false;
    std::lock_guard<std::mutex> lock(state->mutex);
    auto it = state->entries.find(number);
    if (it == state->entries.end() || it->second.running) return false;
    state->remove(number);
    return true;
  };
}

}  // namespace wn
