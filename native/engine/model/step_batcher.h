// Concurrent transcriptions on one model share their decoder steps. A decoder
// step is bound by memory: it streams every decoder weight (~60 MB for tiny)
// to compute one row. Two calls stepping apart read them twice; in one pass
// (Decoder::forward_together) the weights cross the memory bus once for both,
// so a server's concurrent calls decode at a fraction of the cost per token.
//
// How: a call's sampling loop joins as a Member; each step() queues the call's
// token, and the first caller to find the decoder idle runs one pass over the
// queued steps (up to max_rows) on its own thread while the others wait. So
// that the steps of calls in the same loop meet, a pass starts once every
// member has queued its step, or when the first queued one has waited
// kGather since the last pass (a member busy elsewhere does not hold the
// others back for longer).
//
// Results do not depend on who shares a pass: forward_together() gives each
// row bit for bit what the decoder computes for that call alone.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "engine/model/decoder.h"

namespace wn {

class StepBatcher {
 public:
  // The most steps one pass takes. Past ~8 rows the projections are bound by
  // arithmetic rather than memory, so longer passes only delay their calls.
  static constexpr int kMaxRows = 8;
  // How long queued steps wait, after the previous pass, for the members yet
  // to queue theirs: a token's choice takes ~20-40 us between steps, a
  // sampled one (temperature > 0) up to ~0.5 ms.
  static constexpr std::chrono::microseconds kGather{500};

  StepBatcher() = default;
  StepBatcher(const StepBatcher&) = delete;
  StepBatcher& operator=(const StepBatcher&) = delete;

  // A decoding loop on `decoder` (one-token steps of its slot 0), from
  // construction to destruction. One thread uses a Member.
  class Member {
   public:
    Member(StepBatcher* batcher, Decoder* decoder);
    ~Member();
    Member(const Member&) = delete;
    Member& operator=(const Member&) = delete;

    // decoder->forward(&token, 1, false, nullptr, first_token), maybe in one
    // pass with other members' steps; returns the decoder's logits row (valid
    // until its next pass). Errors as forward()'s, thrown before queueing.
    const float* step(int32_t token, int first_token);
    // Of this member's steps, those that ran in a pass with other calls' steps.
    int shared_steps() const { return shared_steps_; }

   private:
    StepBatcher* batcher_;
    Decoder* decoder_;
    int shared_steps_ = 0;
  };

  // Passes run and the steps they took, since construction (for tests and
  // the benchmark: steps / passes is the sharing achieved).
  struct Counts {
    int64_t passes = 0;
    int64_t steps = 0;
  };
  Counts counts() const;

 private:
  struct Request {
    Decoder* decoder = nullptr;
    int32_t token = 0;
    int first_token = 0;
    std::chrono::steady_clock::time_point queued;
    bool done = false;
    bool shared = false;  // its pass had other steps too
    std::exception_ptr error;
  };
  // Runs one pass over the first queued requests; called and returns with
  // `lock` held, releases it during the pass.
  void run_pass(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mutex_;
  std::condition_variable changed_;  // a request queued or done, a member left
  int members_ = 0;
  std::vector<Request*> queued_;
  bool running_ = false;
  std::chrono::steady_clock::time_point idle_since_{};
  // The running pass's: its scratch and arguments, reused (no allocation per
  // pass once grown).
  DecoderRows rows_;
  std::vector<Request*> pass_requests_;
  std::vector<Decoder*> pass_decoders_;
  std::vector<int32_t> pass_tokens_;
  std::vector<int> pass_first_tokens_;
  Counts counts_;
};

}  // namespace wn
