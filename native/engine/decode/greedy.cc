// Greedy decoding of one window (see greedy.h).
#include "engine/decode/greedy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "engine/core/error.h"

namespace wn {

uint64_t Rng::next_u64() {
  state_ += 0x9E3779B97F4A7C15ull;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double Rng::next_unit() {
  return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0);  // / 2^53
}

std::vector<int32_t> window_prompt(const std::vector<int32_t>& sot_sequence, int32_t start_of_prev,
                                   const std::vector<int32_t>& previous_tokens, int max_previous,
                                   const std::vector<int32_t>& prefix) {
  std::vector<int32_t> prompt;
  const size_t n_previous =
      std::min(previous_tokens.size(), static_cast<size_t>(std::max(max_previous, 0)));
  if (n_previous > 0) {
    prompt.push_back(start_of_prev);
    prompt.insert(prompt.end(), previous_tokens.end() - static_cast<std::ptrdiff_t>(n_previous),
                  previous_tokens.end());
  }
  prompt.insert(prompt.end(), sot_sequence.begin(), sot_sequence.end());
  prompt.insert(prompt.end(), prefix.begin(), prefix.end());
  return prompt;
}

std::vector<int32_t> window_prompt(const Tokenizer& tokenizer,
                                   const std::vector<int32_t>& previous_tokens, int max_previous) {
  return window_prompt(tokenizer.sot_sequence(), tokenizer.special().start_of_prev, previous_tokens,
                       max_previous, {});
}

std::vector<int32_t> reference_prefix(const std::vector<int32_t>& prefix, int n_ctx,
                                      int sample_len) {
  // Python's a[-m:] for m = n_ctx // 2 - sample_len: from len - m (at least 0)
  // when m > 0, from -m (at most len) when m <= 0.
  const int64_t n = static_cast<int64_t>(prefix.size());
  const int64_t m = static_cast<int64_t>(n_ctx / 2) - sample_len;
  const int64_t begin = m > 0 ? std::max<int64_t>(n - m, 0) : std::min<int64_t>(-m, n);
  return std::vector<int32_t>(prefix.begin() + begin, prefix.end());
}

float softmax_probability(const float* logits, int n, int32_t id, kernels::Isa isa) {
  if (id < 0 || id >= n || !(logits[id] > -std::numeric_limits<float>::infinity())) return 0;
  return static_cast<float>(std::exp(logits[id] - log_sum_exp(logits, n, isa)));
}

GreedyDecoder::GreedyDecoder(const LogitFilters& filters, int sample_len, int n_ctx)
    : filters_(filters),
      n_vocab_(filters.tokenizer().n_vocab()),
      sample_len_(sample_len),
      n_ctx_(n_ctx),
      filtered_(static_cast<size_t>(n_vocab_)) {
  candidate_ids_.resize(1);  // sample()'s, read by first_possible_token()
}

// A draw from softmax(logits / temperature): the inverse CDF of one uniform
// number over the unnormalised weights exp((l - max) / T), computed once into
// `weights` (n floats of scratch) by the vector kernel (a double exp per
// entry, twice, took ~0.25 ms per sampled token: as long as the choice
// itself). Forbidden (-inf) and NaN entries are skipped (their weights are 0
// or ~1e-38); max_id (the argmax) is the fallback when rounding leaves the
// draw past the last weight.
int32_t draw_token(kernels::Isa isa, const float* logits, int n, int32_t max_id, float temperature,
                   Rng* rng, float* weights) {
  const double total =
      kernels::exp_row(isa, logits, n, logits[max_id], 1.0f / temperature, weights);
  double target = rng->next_unit() * total;
  for (int i = 0; i < n; ++i) {
    if (!(logits[i] > -std::numeric_limits<float>::infinity())) continue;
    target -= weights[i];
    if (target < 0) return i;
  }
  return max_id;
}

SampledToken GreedyDecoder::choose(const float* row, bool row_is_scratch, const int32_t* sampled,
                                   int n_sampled, float temperature, Rng* rng) {
  // The filters mask the row, and their last pass over it also gives its
  // maximum and log-sum-exp: one read of the row after the masks. A row that
  // is not scratch is copied first (it may be shared: a prompt's first row
  // serves every candidate).
  float* logits = filtered_.data();
  if (row_is_scratch) {
    logits = const_cast<float*>(row);  // the caller's scratch, see set_rows_are_scratch
  } else {
    std::memcpy(logits, row, sizeof(float) * filtered_.size());
  }
  const kernels::LogitSummary summary = filters_.apply_and_summarize(logits, sampled, n_sampled);
  int32_t id = summary.max_index;
  if (id < 0) {
    throw Error(ErrorCode::kInternal, "no token is allowed at sampled step " +
                                          std::to_string(n_sampled) +
                                          " (every logit is -inf or NaN after filtering)");
  }
  if (temperature > 0) {
    draw_weights_.resize(static_cast<size_t>(n_vocab_));
    id = draw_token(filters_.isa(), logits, n_vocab_, id, temperature, rng, draw_weights_.data());
  }
  const double logprob = logits[id] - summary.log_sum_exp;
  SampledToken token;
  token.id = id;
  token.logprob = static_cast<float>(logprob);
  token.p = static_cast<float>(std::exp(logprob));
  return token;
}

void GreedyDecoder::decode(const std::vector<int32_t>& prompt, const LogitsFn& logits_fn,
                           const CancellationFlag* cancel, DecodedWindow* out) {
  FedPrompt fed;
  feed_prompt(prompt, -1, logits_fn, cancel, &fed);
  sample(fed, 0.0f, nullptr, logits_fn, cancel, out);
}

void GreedyDecoder::feed_prompt(const std::vector<int32_t>& prompt, int sot_index,
                                const LogitsFn& logits_fn, const CancellationFlag* cancel,
                                FedPrompt* out) {
  const int n_prompt = static_cast<int>(prompt.size());
  if (n_prompt == 0 || n_prompt > n_ctx_) {
    throw Error(ErrorCode::kInvalidArgument, "a window prompt of " + std::to_string(n_prompt) +
                                                 " tokens; expected 1 to " +
                                                 std::to_string(n_ctx_));
  }
  if (sot_index >= n_prompt) {
    throw Error(ErrorCode::kInvalidArgument, "sot index " + std::to_string(sot_index) +
                                                 " is outside a prompt of " +
                                                 std::to_string(n_prompt) + " tokens");
  }
  const int32_t no_speech = filters_.tokenizer().special().no_speech;
  out->n_prompt = n_prompt;
  out->no_speech_prob = 0;
  int fed = 0;
  const float* row = nullptr;
  if (sot_index >= 0 && sot_index + 1 < n_prompt) {
    throw_if_cancelled(cancel);
    row = logits_fn(prompt.data(), sot_index + 1);
    out->no_speech_prob = softmax_probability(row, n_vocab_, no_speech, filters_.isa());
    fed = sot_index + 1;
  }
  throw_if_cancelled(cancel);
  row = logits_fn(prompt.data() + fed, n_prompt - fed);
  if (sot_index == n_prompt - 1)
    out->no_speech_prob = softmax_probability(row, n_vocab_, no_speech, filters_.isa());
  out->first_row.assign(row, row + n_vocab_);
}

float GreedyDecoder::start_sampling(double temperature, bool have_rng, DecodedWindow* out) const {
  if (temperature > 0 && !have_rng) {
    throw Error(ErrorCode::kInvalidArgument, "sampling at temperature " +
                                                 std::to_string(temperature) +
                                                 " needs a random source; got none");
  }
  out->tokens.clear();
  out->tokens.reserve(static_cast<size_t>(std::max(sample_len_, 0)));
  out->ended_with_eot = false;
  out->sum_logprob = 0;
  out->temperature = temperature;
  // The float nearest to temperature (at most the largest float: a huge one
  // samples uniformly among the allowed tokens, as 1 / inf = 0 would).
  return static_cast<float>(
      std::min(temperature, static_cast<double>(std::numeric_limits<float>::max())));
}

void GreedyDecoder::sample(const FedPrompt& prompt, double temperature, Rng* rng,
                           const LogitsFn& logits_fn, const CancellationFlag* cancel,
                           DecodedWindow* out) {
  Rng* const rngs[1] = {rng};
  const SlotsLogitsFn one = [&logits_fn](const int32_t* tokens, const int*, int n) {
    return logits_fn(tokens, n);
  };
  sample_candidates(prompt, temperature, rngs, 1, one, cancel, out);
}

void GreedyDecoder::sample_together(const FedPrompt& prompt, double temperature,
                                    std::vector<Rng>* rngs, const SlotsLogitsFn& logits_fn,
                                    const CancellationFlag* cancel,
                                    std::vector<DecodedWindow>* outs) {
  if (temperature > 0 && (rngs == nullptr || rngs->size() != outs->size())) {
    throw Error(ErrorCode::kInvalidArgument, "sampling candidates at temperature " +
                                                 std::to_string(temperature) +
                                                 " needs one random source per candidate");
  }
  std::vector<Rng*> streams(outs->size(), nullptr);
  for (size_t i = 0; rngs != nullptr && i < streams.size(); ++i) streams[i] = &(*rngs)[i];
  sample_candidates(prompt, temperature, streams.data(), static_cast<int>(outs->size()), logits_fn,
                    cancel, outs->data());
}

void GreedyDecoder::sample_candidates(const FedPrompt& prompt, double temperature, Rng* const* rngs,
                                      int n, const SlotsLogitsFn& logits_fn,
                                      const CancellationFlag* cancel, DecodedWindow* outs) {
  float sampling_temperature = 0;
  for (int i = 0; i < n; ++i) {
    sampling_temperature = start_sampling(temperature, rngs[i] != nullptr, &outs[i]);
  }
  if (candidate_ids_.size() < static_cast<size_t>(n)) candidate_ids_.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    candidate_ids_[static_cast<size_t>(i)].clear();
    candidate_ids_[static_cast<size_t>(i)].reserve(static_cast<size_t>(std::max(sample_len_, 0)));
  }
  // The reference stops after sample_len tokens or once the sequence is longer
  // than n_ctx; the last sampled token is never fed, hence the + 1.
  const int max_sampled = std::min(sample_len_, n_ctx_ + 1 - prompt.n_prompt);
  const int32_t eot = filters_.tokenizer().eot();

  // Each step, every candidate still going chooses from its row (the prompt's
  // first row, shared, at step 0), then those not finished are fed together.
  // No turn on the pool is held across steps: a transcription's steps meet
  // other calls' in the model's StepBatcher, whose pass may run on another
  // call's thread while this one waits for it.
  std::vector<const float*> rows(static_cast<size_t>(n), prompt.first_row.data());
  std::vector<int> going(static_cast<size_t>(n)), fed_slots;
  for (int i = 0; i < n; ++i) going[static_cast<size_t>(i)] = i;
  std::vector<int32_t> fed_tokens;
  for (int step = 0; step < max_sampled && !going.empty(); ++step) {
    fed_tokens.clear();
    fed_slots.clear();
    for (int i : going) {
      DecodedWindow& out = outs[i];
      std::vector<int32_t>& ids = candidate_ids_[static_cast<size_t>(i)];
      const SampledToken token =
          choose(rows[static_cast<size_t>(i)], /*row_is_scratch=*/step > 0 && rows_are_scratch_,
                 ids.data(), step, sampling_temperature, rngs[i]);
      out.sum_logprob += token.logprob;
      if (token.id == eot) {
        out.ended_with_eot = true;
        continue;
      }
      out.tokens.push_back(token);
      ids.push_back(token.id);
      fed_tokens.push_back(token.id);
      fed_slots.push_back(i);
    }
    going = fed_slots;
    if (step + 1 == max_sampled || going.empty()) break;
    throw_if_cancelled(cancel);
    const float* fed_rows =
        logits_fn(fed_tokens.data(), fed_slots.data(), static_cast<int>(fed_slots.size()));
    for (size_t k = 0; k < fed_slots.size(); ++k) {
      rows[static_cast<size_t>(fed_slots[k])] = fed_rows + k * static_cast<size_t>(n_vocab_);
    }
  }
}

}  // namespace wn
