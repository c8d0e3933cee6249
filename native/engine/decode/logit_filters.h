// The rules the reference applies to a row of logits before a token is chosen
// (OpenAI whisper decoding.py: SuppressBlank, SuppressTokens,
// ApplyTimestampRules; REFERENCE.md §5). Each rule is a small function of
// (logits, the tokens sampled so far in this window, the token layout) that
// sets forbidden entries to -inf; LogitFilters applies them in the reference's
// order. Sampling (greedy now, beam search later) happens after, elsewhere.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/decode/tokenizer.h"
#include "engine/kernels/kernels.h"

namespace wn {

// Sets logits[id] = -inf for every id in ids (ids must be in range).
void suppress_token_ids(float* logits, const std::vector<int32_t>& ids);

// suppress_blank: at the first sampled step only (n_sampled == 0), forbid the
// blank tokens (encode(" ") + eot).
void suppress_blank_at_start(float* logits, const std::vector<int32_t>& blank_ids, int n_sampled);

// --- the timestamp rules, in the order ApplyTimestampRules runs them ---------
// `sampled` are the tokens sampled so far in this window (not the prompt).

// <|notimestamps|> is never sampled.
void forbid_no_timestamps(float* logits, const SpecialTokens& s);

// Timestamps come in pairs, except directly before eot. After a timestamp
// that follows text (a segment's end): no text, so a timestamp or eot follows.
// After two timestamps in a row, or a lone first one: no timestamp.
void enforce_timestamp_pairs(float* logits, const SpecialTokens& s, const int32_t* sampled,
                             int n_sampled);
// True when the last sampled token is a timestamp that follows text: it closes
// a segment, so the next token is a timestamp or eot (no text).
bool timestamp_closes_segment(const SpecialTokens& s, const int32_t* sampled, int n_sampled);

// Timestamps never decrease. Right after a segment's closing timestamp the next
// one may equal it (the next segment starts where this one ended); otherwise it
// must be strictly later, so a segment always has a nonzero length.
void enforce_monotonic_timestamps(float* logits, const SpecialTokens& s, const int32_t* sampled,
                                  int n_sampled);

// At the first sampled step: only timestamps, and none later than
// max_initial_timestamp_index steps (negative: no limit).
void enforce_initial_timestamp(float* logits, const SpecialTokens& s, int n_sampled,
                               int max_initial_timestamp_index);

// The four rules above, in order.
void apply_timestamp_masks(float* logits, const SpecialTokens& s, const int32_t* sampled,
                           int n_sampled, int max_initial_timestamp_index);

// The last rule: when the timestamps' total probability exceeds the best text
// token's, forbid every non-timestamp token. Equivalent to the reference's
// comparison of log-softmax values: logsumexp(timestamp logits) > max(other
// logits). Its pass over the row also yields the maximum, its index and the
// log-sum-exp of what the rule leaves allowed, which it returns. `ctx`: the
// kernel path of that pass (any path decides the same but for float rounding)
// and the pool it may use.
kernels::LogitSummary prefer_timestamps_when_likely(float* logits, const SpecialTokens& s,
                                                    int n_vocab, const kernels::Context& ctx = {});

// The max_initial_timestamp_index for a max_initial_timestamp in seconds, as
// the reference's DecodingTask: -1 (no cap) for 0, else Python's
// round(seconds / 0.02) (halves to even: 0.05 s -> 2).
int max_initial_timestamp_index(double seconds);

struct LogitFilterOptions {
  bool suppress_blank = true;       // reference default
  bool suppress_non_speech = true;  // reference default suppress_tokens="-1"
  bool timestamps = true;           // false: the <|notimestamps|> mode (issue 5)
  // max_initial_timestamp_index(seconds): 50 for the reference's 1.0 s; < 0: none
  int max_initial_timestamp_index = 50;
  std::vector<int32_t> extra_suppressed;  // the user's suppress_tokens (issue 5)
  // The kernel path and pool of the passes over a row of logits (max,
  // argmax, log-sum-exp): the model's, so that a step costs microseconds, not
  // the tenth of a millisecond a scalar pass over 51864 logits takes, and
  // its exponentials (~15 us on one core) are split over the pool's threads.
  kernels::Context kernels;
};

// The reference's filter chain for one tokenizer, with its suppression lists
// computed once (they cost a few BPE encodings).
class LogitFilters {
 public:
  LogitFilters(const Tokenizer& tokenizer, const LogitFilterOptions& options);

  // logits: [n_vocab], modified in place.
  void apply(float* logits, const int32_t* sampled, int n_sampled) const;
  // The same, and the filtered row's maximum, its index and log-sum-exp, with
  // the last rule's own pass over the row serving both (a decoder step reads
  // its row of logits once after the masks).
  kernels::LogitSummary apply_and_summarize(float* logits, const int32_t* sampled,
                                            int n_sampled) const;

  const std::vector<int32_t>& always_suppressed() const { return always_suppressed_; }
  const std::vector<int32_t>& blank_ids() const { return blank_ids_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }
  kernels::Isa isa() const { return options_.kernels.isa; }
  const kernels::Context& context() const { return options_.kernels; }
  // Every token below this is forbidden at the next step whatever its logit
  // (eot after a timestamp that closes a segment, else 0): the decoder need not
  // compute those logits.
  int32_t first_possible_token(const int32_t* sampled, int n_sampled) const;

 private:
  const Tokenizer& tokenizer_;
  LogitFilterOptions options_;
  std::vector<int32_t> always_suppressed_;  // sorted, unique
  std::vector<int32_t> blank_ids_;
};

// Index of the largest logit (the first one on ties; NaN never wins), or -1
// when no entry is above -inf.
int32_t argmax_logit(const float* logits, int n, kernels::Isa isa = kernels::Isa::kGeneric);
// The largest logit, NaN ignored; -inf when there is none.
float max_logit(const float* logits, int n, kernels::Isa isa = kernels::Isa::kGeneric);
// log(sum(exp(logits[i]))), max-shifted, exact to ~1e-6 relative (NaN counts
// as -inf); -inf when all are -inf.
double log_sum_exp(const float* logits, int n, kernels::Isa isa = kernels::Isa::kGeneric);

}  // namespace wn
