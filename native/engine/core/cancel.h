// A cancellation flag raised by the host (AbortSignal, model close) and polled
// by the engine during the log-mel pass, inside encoder blocks and before
// every decoder step.
#pragma once

#include <atomic>

#include "engine/core/error.h"

namespace wn {

class CancellationFlag {
 public:
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  void throw_if_cancelled() const {
    if (cancelled()) throw Error(ErrorCode::kAborted, "the operation was aborted");
  }

 private:
  std::atomic<bool> cancelled_{false};
};

// Polls a flag that may be absent.
inline void throw_if_cancelled(const CancellationFlag* flag) {
  if (flag) flag->throw_if_cancelled();
}

}  // namespace wn
