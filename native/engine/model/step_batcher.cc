// Decoder steps of concurrent calls in shared passes (see step_batcher.h).
#include "engine/model/step_batcher.h"

#include <algorithm>
#include <exception>

namespace wn {

StepBatcher::Member::Member(StepBatcher* batcher, Decoder* decoder)
    : batcher_(batcher), decoder_(decoder) {
  const std::lock_guard<std::mutex> lock(batcher_->mutex_);
  batcher_->members_ += 1;
}

StepBatcher::Member::~Member() {
  const std::lock_guard<std::mutex> lock(batcher_->mutex_);
  batcher_->members_ -= 1;
  // A pass waiting for this member's step need not wait any longer.
  batcher_->changed_.notify_all();
}

const float* StepBatcher::Member::step(int32_t token, int first_token) {
  decoder_->check_step(token);  // a bad step fails here, in its own call
  StepBatcher& b = *batcher_;
  Request request;
  request.decoder = decoder_;
  request.token = token;
  request.first_token = first_token;
  request.queued = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(b.mutex_);
  b.queued_.push_back(&request);
  b.changed_.notify_all();
  while (!request.done) {
    if (b.running_) {
      b.changed_.wait(lock);
      continue;
    }
    const bool everyone = static_cast<int>(b.queued_.size()) >= std::min(b.members_, kMaxRows);
    const auto deadline = std::max(b.queued_.front()->queued, b.idle_since_) + kGather;
    if (everyone || std::chrono::steady_clock::now() >= deadline) {
      b.run_pass(lock);  // maybe without this request, if more than kMaxRows wait
    } else {
      b.changed_.wait_until(lock, deadline);
    }
  }
  if (request.error) std::rethrow_exception(request.error);
  if (request.shared) shared_steps_ += 1;
  return decoder_->logits();
}

void StepBatcher::run_pass(std::unique_lock<std::mutex>& lock) {
  const size_t n = std::min(queued_.size(), static_cast<size_t>(kMaxRows));
  std::vector<Request*>& pass = pass_requests_;  // only the running thread touches it
  pass.assign(queued_.begin(), queued_.begin() + static_cast<std::ptrdiff_t>(n));
  queued_.erase(queued_.begin(), queued_.begin() + static_cast<std::ptrdiff_t>(n));
  running_ = true;
  lock.unlock();
  std::exception_ptr error;
  try {
    if (n == 1) {
      pass[0]->decoder->forward(&pass[0]->token, 1, /*all_logits=*/false, /*capture=*/nullptr,
                                pass[0]->first_token);
    } else {
      pass_decoders_.clear();
      pass_tokens_.clear();
      pass_first_tokens_.clear();
      for (const Request* r : pass) {
        pass_decoders_.push_back(r->decoder);
        pass_tokens_.push_back(r->token);
        pass_first_tokens_.push_back(r->first_token);
      }
      Decoder::forward_together(pass_decoders_.data(), pass_tokens_.data(),
                                pass_first_tokens_.data(), static_cast<int>(n), &rows_);
    }
  } catch (...) {
    error = std::current_exception();
  }
  lock.lock();
  for (Request* r : pass) {
    r->error = error;
    r->shared = n > 1;
    r->done = true;
  }
  running_ = false;
  idle_since_ = std::chrono::steady_clock::now();
  counts_.passes += 1;
  counts_.steps += static_cast<int64_t>(n);
  changed_.notify_all();
}

StepBatcher::Counts StepBatcher::counts() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

}  // namespace wn
