// Greedy decoding of one window (see greedy.h).
#include "engine/decode/greedy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/core/error.h"

namespace wn {

std::vector<int32_t> window_prompt(const Tokenizer& tokenizer,
                                   const std::vector<int32_t>& previous_tokens, int max_previous) {
  std::vector<int32_t> prompt;
  const size_t n_previous =
      std::min(previous_tokens.size(), static_cast<size_t>(std::max(max_previous, 0)));
  if (n_previous > 0) {
    prompt.push_back(tokenizer.special().start_of_prev);
    prompt.insert(prompt.end(), previous_tokens.end() - static_cast<std::ptrdiff_t>(n_previous),
                  previous_tokens.end());
  }
  const std::vector<int32_t> sot = tokenizer.sot_sequence();
  prompt.insert(prompt.end(), sot.begin(), sot.end());
  return prompt;
}

GreedyDecoder::GreedyDecoder(const LogitFilters& filters, int sample_len, int n_ctx)
    : filters_(filters),
      n_vocab_(filters.tokenizer().n_vocab()),
      sample_len_(sample_len),
      n_ctx_(n_ctx),
      filtered_(static_cast<size_t>(n_vocab_)) {
  sampled_ids_.reserve(static_cast<size_t>(std::max(sample_len, 0)));
}

SampledToken GreedyDecoder::choose(const float* row, int n_sampled) {
  std::memcpy(filtered_.data(), row, sizeof(float) * filtered_.size());
  filters_.apply(filtered_.data(), sampled_ids_.data(), n_sampled);
  const int32_t id = argmax_logit(filtered_.data(), n_vocab_);
  if (id < 0) {
    throw Error(ErrorCode::kInternal, "no token is allowed at sampled step " +
                                          std::to_string(n_sampled) +
                                          " (every logit is -inf or NaN after filtering)");
  }
  const double logprob = filtered_[id] - log_sum_exp(filtered_.data(), n_vocab_);
  SampledToken token;
  token.id = id;
  token.logprob = static_cast<float>(logprob);
  token.p = static_cast<float>(std::exp(logprob));
  return token;
}

void GreedyDecoder::decode(const std::vector<int32_t>& prompt, const LogitsFn& logits_fn,
                           const CancellationFlag* cancel, DecodedWindow* out) {
  const int n_prompt = static_cast<int>(prompt.size());
  if (n_prompt == 0 || n_prompt > n_ctx_) {
    throw Error(ErrorCode::kInvalidArgument, "a window prompt of " + std::to_string(n_prompt) +
                                                 " tokens; expected 1 to " +
                                                 std::to_string(n_ctx_));
  }
  out->tokens.clear();
  out->tokens.reserve(static_cast<size_t>(std::max(sample_len_, 0)));
  out->ended_with_eot = false;
  out->sum_logprob = 0;
  sampled_ids_.clear();

  // The reference stops after sample_len tokens or once the sequence is longer
  // than n_ctx; the last sampled token is never fed, hence the + 1.
  const int max_sampled = std::min(sample_len_, n_ctx_ + 1 - n_prompt);
  const int32_t eot = filters_.tokenizer().eot();

  throw_if_cancelled(cancel);
  const float* row = logits_fn(prompt.data(), n_prompt);
  for (int step = 0; step < max_sampled; ++step) {
    const SampledToken token = choose(row, step);
    out->sum_logprob += token.logprob;
    if (token.id == eot) {
      out->ended_with_eot = true;
      return;
    }
    out->tokens.push_back(token);
    sampled_ids_.push_back(token.id);
    if (step + 1 == max_sampled) break;
    throw_if_cancelled(cancel);
    row = logits_fn(&token.id, 1);
  }
}

}  // namespace wn
