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

constexpr int kLanes = 8;

template <typename To, typename From>
To bit_cast_value(From from) {
  static_assert(sizeof(To) == sizeof(From), "same size");
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

// exp(x) for x <= 0 (and -inf -> ~0), within ~2 ulp: x = n ln2 + r with
// |r| <= ln2/2, exp(r) by its degree-6 Taylor polynomial, 2^n by building the
// float's exponent. Plain arithmetic, so loops over it vectorize.
inline float exp_nonpositive(float x) {
  x = x < -87.0f ? -87.0f : x;  // below this 2^n leaves the normal range; exp is ~1e-38
  constexpr float kLog2e = 1.44269504f;
  constexpr float kRoundShift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float shifted = x * kLog2e + kRoundShift;
  const float n = shifted - kRoundShift;
  const int32_t n_int = bit_cast_value<int32_t>(shifted) - bit_cast_value<int32_t>(kRoundShift);
  const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;  // ln 2 split in two
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * bit_cast_value<float>((n_int + 127) << 23);
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

void enforce_timestamp_pairs(float* logits, const SpecialTokens& s, const int32_t* sampled,
                             int n_sampled) {
  const bool last_was_timestamp = n_sampled >= 1 && sampled[n_sampled - 1] >= s.timestamp_begin;
  // The reference counts "no penultimate token" as a timestamp: a lone first
  // timestamp opens a segment, so text must follow it.
  const bool penultimate_was_timestamp =
      n_sampled < 2 || sampled[n_sampled - 2] >= s.timestamp_begin;
  if (!last_was_timestamp) return;
  if (penultimate_was_timestamp) {
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

void prefer_timestamps_when_likely(float* logits, const SpecialTokens& s) {
  // log_softmax subtracts the same constant from both sides of the reference's
  // comparison, so comparing raw logits is the same test.
  const double timestamp_mass =
      log_sum_exp(logits + s.timestamp_begin, s.timestamp_end - s.timestamp_begin);
  const float best_other = max_logit(logits, s.timestamp_begin);
  if (timestamp_mass > best_other) forbid_range(logits, 0, s.timestamp_begin);
}

void apply_timestamp_rules(float* logits, const SpecialTokens& s, const int32_t* sampled,
                           int n_sampled, int max_initial_timestamp_index) {
  forbid_no_timestamps(logits, s);
  enforce_timestamp_pairs(logits, s, sampled, n_sampled);
  enforce_monotonic_timestamps(logits, s, sampled, n_sampled);
  enforce_initial_timestamp(logits, s, n_sampled, max_initial_timestamp_index);
  prefer_timestamps_when_likely(logits, s);
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
  suppress_blank_at_start(logits, blank_ids_, n_sampled);
  suppress_token_ids(logits, always_suppressed_);
  if (options_.timestamps) {
    apply_timestamp_rules(logits, tokenizer_.special(), sampled, n_sampled,
                          options_.max_initial_timestamp_index);
  }
}

int32_t argmax_logit(const float* logits, int n) {
  const float best_value = max_logit(logits, n);
  if (!(best_value > kNegInf)) return -1;
  for (int i = 0; i < n; ++i) {
    if (logits[i] == best_value) return i;
  }
  return -1;
}

float max_logit(const float* logits, int n) {
  // Eight independent lanes so the compiler can vectorize without fast-math;
  // "a > b ? a : b" skips NaN.
  float lane[kLanes];
  for (float& m : lane) m = kNegInf;
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lane[j] = logits[i + j] > lane[j] ? logits[i + j] : lane[j];
  }
  float best = kNegInf;
  for (; i < n; ++i) best = logits[i] > best ? logits[i] : best;
  for (float m : lane) best = m > best ? m : best;
  return best;
}

double log_sum_exp(const float* logits, int n) {
  const float max_value = max_logit(logits, n);
  if (!(max_value > kNegInf)) return -std::numeric_limits<double>::infinity();
  // Blocks: exp into a small buffer (a plain map, which vectorizes), then a
  // float sum in eight lanes, added into a double per block; ~1e-6 relative.
  constexpr int kBlock = 1024;
  float terms[kBlock];
  double sum = 0;
  for (int begin = 0; begin < n; begin += kBlock) {
    const int len = std::min(kBlock, n - begin);
    const float* x = logits + begin;
    for (int k = 0; k < len; ++k) terms[k] = exp_nonpositive(x[k] - max_value);
    float lane[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
    int k = 0;
    for (; k + kLanes <= len; k += kLanes) {
      for (int j = 0; j < kLanes; ++j) lane[j] += terms[k + j];
    }
    for (; k < len; ++k) lane[0] += terms[k];
    for (float v : lane) sum += v;
  }
  if (!std::isfinite(sum)) {
    // NaN logits: count them as -inf, the slow careful way.
    sum = 0;
    for (int k = 0; k < n; ++k) {
      if (logits[k] > kNegInf) sum += std::exp(static_cast<double>(logits[k]) - max_value);
    }
  }
  return max_value + std::log(sum);
}

}  // namespace wn
