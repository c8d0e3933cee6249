// Greedy decoding of one 30 s window (temperature 0, as the reference's
// DecodingTask with GreedyDecoder): feed the prompt, then repeatedly filter the
// last logits row (logit_filters.h), take the argmax, feed it, until eot or the
// sample-length cap.
//
// The logits come from a LogitsFn, so the loop runs on crafted logits in tests;
// in production it wraps Decoder::forward. Beam search (issue 5) will sit beside
// this with a batched source; window_prompt() and DecodedWindow are shared.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/core/cancel.h"
#include "engine/decode/logit_filters.h"
#include "engine/decode/tokenizer.h"

namespace wn {

// Feeds tokens[0..n) after the ones fed before (since the caller last reset the
// source) and returns the logits row [n_vocab] that follows the last of them.
// The pointer must stay valid until the next call.
using LogitsFn = std::function<const float*(const int32_t* tokens, int n)>;

struct SampledToken {
  int32_t id = 0;
  float p = 0;        // exp(logprob)
  float logprob = 0;  // log-softmax of the filtered logits at its step
};

struct DecodedWindow {
  std::vector<SampledToken> tokens;  // sampled tokens, eot excluded
  bool ended_with_eot = false;       // false: stopped by the length cap
  // Sum of the sampled tokens' logprobs, eot's included (the reference's
  // sum_logprobs; avg_logprob = sum_logprob / (tokens.size() + 1)).
  double sum_logprob = 0;
};

// The reference's prompt layout: [<|startofprev|>, last max_previous of
// previous_tokens..., sot_sequence...] when previous_tokens is non-empty, else
// just sot_sequence. max_previous is n_text_ctx / 2 - 1 (223).
std::vector<int32_t> window_prompt(const Tokenizer& tokenizer,
                                   const std::vector<int32_t>& previous_tokens, int max_previous);

class GreedyDecoder {
 public:
  // sample_len: the cap on sampled tokens per window, n_text_ctx / 2 (224).
  // n_ctx: the decoder's context (n_text_ctx, 448): tokens fed never exceed it.
  GreedyDecoder(const LogitFilters& filters, int sample_len, int n_ctx);

  // Decodes one window into *out (its vectors are reused: no allocation per
  // token once they have grown). Polls cancel before every call of logits_fn
  // (throws kAborted). Throws kInvalidArgument when the prompt is empty or
  // longer than n_ctx, kInternal when a row has no finite logit after filtering.
  void decode(const std::vector<int32_t>& prompt, const LogitsFn& logits_fn,
              const CancellationFlag* cancel, DecodedWindow* out);

 private:
  // Filters a copy of row into filtered_ and picks its argmax.
  SampledToken choose(const float* row, int n_sampled);

  const LogitFilters& filters_;
  const int n_vocab_;
  const int sample_len_;
  const int n_ctx_;
  std::vector<float> filtered_;       // [n_vocab]
  std::vector<int32_t> sampled_ids_;  // this window's sampled ids, for the filters
};

}  // namespace wn
