// The reference's logit rules (see logit_filters.h). Every rule only writes
// -inf; none renormalizes, so the order of application matters only for the
// last rule, which reads the others' result, exactly as in the reference.
#include "engine/decode/logit_filters.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/core/error.h"
#include "engine/core/python_round.h"

namespace wn {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void forbid_range(float* logits, int32_t begin, int32_t end) {
  for (int32_t i = std::max(begin, 0); i < end; ++i) logits[i] = kNegInf;
}

}  // namespace

void suppress_token_ids(float* logits, const std::vector<int32_t>& ids) {
  for (int32_t id : ids) logits[id] = kNegInf;
}

void suppress_blank_at_start(float* logits, const std::vector<int32_t>& blank_ids, int n_sampled) {
  if (n_sampled == 0) suppress_token_ids(logits, blank_ids);
}

void forbid_no_timestamps(float* logits, const SpecialTokens& s) {
  logits[s.no_timestamps] = kNegInf;
}

bool timestamp_closes_segment(const SpecialTokens& s, const int32_t* sampled, int n_sampled) {
  return n_sampled >= 2 && sampled[n_sampled - 1] >= s.timestamp_begin &&
         sampled[n_sampled - 2] < s.timestamp_begin;
}

void enforce_timestamp_pairs(float* logits, const SpecialTokens& s, const int32_t* sampled,
                             int n_sampled) {
  const bool last_was_timestamp = n_sampled >= 1 && sampled[n_sampled - 1] >= s.timestamp_begin;
  // The reference counts "no penultimate token" as a timestamp: a lone first
  // timestamp opens a segment, so text must follow it.
  if (!last_was_timestamp) return;
  if (!timestamp_closes_segment(s, sampled, n_sampled)) {
    forbid_range(logits, s.timestamp_begin, s.timestamp_end);
  } else {
    forbid_range(logits, 0, s.eot);  // text; eot stays allowed
  }
}

void enforce_monotonic_timestamps(float* logits, const SpecialTokens& s, const int32_t* sampled,
                                  int n_sampled) {
  int32_t last_timestamp = -1;
  for (int i = n_sampled - 1; i >= 0; --i) {
    if (sampled[i] >= s.timestamp_begin) {
      last_timestamp = sampled[i];
      break;
    }
  }
  if (last_timestamp < 0) return;
  const bool last_was_timestamp = sampled[n_sampled - 1] >= s.timestamp_begin;
  const bool penultimate_was_timestamp =
      n_sampled < 2 || sampled[n_sampled - 2] >= s.timestamp_begin;
  const int32_t first_allowed =
      (last_was_timestamp && !penultimate_was_timestamp) ? last_timestamp : last_timestamp + 1;
  forbid_range(logits, s.timestamp_begin, std::min(first_allowed, s.timestamp_end));
}

void enforce_initial_timestamp(float* logits, const SpecialTokens& s, int n_sampled,
                               int max_initial_timestamp_index) {
  if (n_sampled != 0) return;
  forbid_range(logits, 0, s.timestamp_begin);
  if (max_initial_timestamp_index >= 0) {
    const int64_t last_allowed = int64_t{s.timestamp_begin} + max_initial_timestamp_index;
    if (last_allowed + 1 < s.timestamp_end) {
      forbid_range(logits, static_cast<int32_t>(last_allowed + 1), s.timestamp_end);
    }
  }
}

kernels::LogitSummary prefer_timestamps_when_likely(float* logits, const SpecialTokens& s,
                                                    int n_vocab, const kernels::Context& ctx) {
  if (s.timestamp_end != n_vocab) {
    // Ids past the timestamps (none in Whisper's layouts) would count as text.
    throw Error(ErrorCode::kInternal, "logit filters: the vocabulary does not end with timestamps");
  }
  // log_softmax subtracts the same constant from both sides of the reference's
  // comparison, so comparing raw logits is the same test. The text part
  // [0, timestamp_begin) and the timestamps are summarised apart, in one pass.
  const kernels::LogitSummary text = kernels::summarize_logits(ctx, logits, s.timestamp_begin);
  kernels::LogitSummary times = kernels::summarize_logits(ctx, logits + s.timestamp_begin,
                                                          s.timestamp_end - s.timestamp_begin);
  if (times.max_index >= 0) times.max_index += s.timestamp_begin;
  if (times.log_sum_exp > text.max_value) {  // the rule: text is forbidden
    forbid_range(logits, 0, s.timestamp_begin);
    return times;
  }
  kernels::LogitSummary all = text;
  if (times.max_value > text.max_value) {  // ties: the first index, a text one
    all.max_value = times.max_value;
    all.max_index = times.max_index;
  }
  const double hi = std::max(text.log_sum_exp, times.log_sum_exp);
  const double lo = std::min(text.log_sum_exp, times.log_sum_exp);
  all.log_sum_exp = std::isinf(hi) ? hi : hi + std::log1p(std::exp(lo - hi));
  return all;
}

void apply_timestamp_masks(float* logits, const SpecialTokens& s, const int32_t* sampled,
                           int n_sampled, int max_initial_timestamp_index) {
  forbid_no_timestamps(logits, s);
  enforce_timestamp_pairs(logits, s, sampled, n_sampled);
  enforce_monotonic_timestamps(logits, s, sampled, n_sampled);
  enforce_initial_timestamp(logits, s, n_sampled, max_initial_timestamp_index);
}

int max_initial_timestamp_index(double seconds) {
  // The reference: no cap when the option is 0 (`if options.max_initial_timestamp:`),
  // else Python's round(seconds / precision), precision = 30 s / 1500 positions.
  // Past 30 s it no longer limits anything.
  if (!(seconds > 0)) return -1;
  constexpr double kPrecision = 30.0 / 1500;
  return static_cast<int>(round_half_even(std::min(seconds, 31.0) / kPrecision));
}

LogitFilters::LogitFilters(const Tokenizer& tokenizer, const LogitFilterOptions& options)
    : tokenizer_(tokenizer), options_(options) {
  std::vector<int32_t> ids = tokenizer.special_tokens_to_suppress();
  if (options.suppress_non_speech) {
    const std::vector<int32_t> non_speech = tokenizer.non_speech_tokens();
    ids.insert(ids.end(), non_speech.begin(), non_speech.end());
  }
  for (int32_t id : options.extra_suppressed) {
    if (id < 0 || id >= tokenizer.n_vocab()) {
      throw Error(ErrorCode::kInvalidArgument, "suppressed token id " + std::to_string(id) +
                                                   " is outside [0, " +
                                                   std::to_string(tokenizer.n_vocab()) + ")");
    }
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  always_suppressed_ = std::move(ids);
  if (options.suppress_blank) blank_ids_ = tokenizer.blank_tokens();
}

void LogitFilters::apply(float* logits, const int32_t* sampled, int n_sampled) const {
  apply_and_summarize(logits, sampled, n_sampled);
}

int32_t LogitFilters::first_possible_token(const int32_t* sampled, int n_sampled) const {
  if (options_.timestamps && timestamp_closes_segment(tokenizer_.special(), sampled, n_sampled)) {
    return tokenizer_.eot();
  }
  return 0;
}

kernels::LogitSummary LogitFilters::apply_and_summarize(float* logits, const int32_t* sampled,
                                                        int n_sampled) const {
  suppress_blank_at_start(logits, blank_ids_, n_sampled);
  suppress_token_ids(logits, always_suppressed_);
  const int n = tokenizer_.n_vocab();
  if (!options_.timestamps) return kernels::summarize_logits(context(), logits, n);
  const SpecialTokens& s = tokenizer_.special();
  apply_timestamp_masks(logits, s, sampled, n_sampled, options_.max_initial_timestamp_index);
  return prefer_timestamps_when_likely(logits, s, n, context());
}

int32_t argmax_logit(const float* logits, int n, kernels::Isa isa) {
  return kernels::summarize_logits(isa, logits, n).max_index;
}

float max_logit(const float* logits, int n, kernels::Isa isa) {
  return kernels::summarize_logits(isa, logits, n).max_value;
}

double log_sum_exp(const float* logits, int n, kernels::Isa isa) {
  return kernels::log_sum_exp(isa, logits, n);
}

}  // namespace wn
