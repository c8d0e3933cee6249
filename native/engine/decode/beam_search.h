// Beam search over one window, following the reference's BeamSearchDecoder
// (OpenAI whisper decoding.py) step by step:
//
// - every live beam's row is filtered (logit_filters.h, with that beam's own
//   sampled tokens), log-softmaxed, and its beam_size + 1 best tokens become
//   candidates scored by the beam's sum_logprob + the token's logprob;
// - candidates are ranked by score (ties: earlier beam, then lower token id);
//   going down the list, eot candidates are collected as newly finished and the
//   others become the next beams until beam_size of them are live;
// - newly finished sequences join the finished list (best first) until it
//   holds max_candidates = round(beam_size * patience); the search ends then,
//   or at the sample-length / context cap;
// - if fewer than beam_size sequences finished, the live beams fill up the
//   list, best first (unfinished: no eot logprob);
// - the result is the finished sequence with the best
//   sum_logprob / length penalty (quality.h best_candidate).
//
// What it is not: the decoder pass. Logits come from a BatchLogitsFn that
// feeds one token per live beam after reordering its caches, so tests drive
// the search with crafted rows and the caller decides how the caches move.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/core/cancel.h"
#include "engine/decode/greedy.h"
#include "engine/decode/logit_filters.h"

namespace wn {

// One decoder step for the live beams: beam i continues the sequence that row
// parents[i] of the previous call held (the first call's single row is the
// prompt's) and appends tokens[i]. Returns logits [tokens.size()][n_vocab],
// row i for beam i, valid until the next call. The caller reorders its
// per-beam caches accordingly (a parent may have several children or none).
using BatchLogitsFn = std::function<const float*(const std::vector<int32_t>& tokens,
                                                 const std::vector<int>& parents)>;

struct BeamSearchOptions {
  int beam_size = 5;
  double patience = 1.0;  // max_candidates = round(beam_size * patience), Python's round
  std::optional<double> length_penalty;  // the ranking's (quality.h)
};

class BeamSearchDecoder {
 public:
  // sample_len / n_ctx as GreedyDecoder. Throws kInvalidArgument for
  // beam_size < 1 or round(beam_size * patience) < 1.
  BeamSearchDecoder(const LogitFilters& filters, int sample_len, int n_ctx,
                    const BeamSearchOptions& options);

  // Searches from a fed prompt (its first_row predicts the first token).
  // *out gets the best sequence; finished() lists every candidate ranked.
  // Polls cancel before every call of logits_fn (throws kAborted).
  void decode(const FedPrompt& prompt, const BatchLogitsFn& logits_fn,
              const CancellationFlag* cancel, DecodedWindow* out);

  // The final candidate list of the last decode(), in the reference's order.
  const std::vector<DecodedWindow>& finished() const { return finished_; }

  // The engine's decoder returns rows that are its scratch until its next
  // pass: with this set, each beam's row is filtered where it lies instead of
  // being copied first (the prompt's first row, shared, is still copied). Off
  // by default: a BatchLogitsFn may return the same rows twice, as the
  // crafted-logit tests do.
  void set_rows_are_scratch(bool scratch) { rows_are_scratch_ = scratch; }

 private:
  struct Candidate {
    int parent = 0;
    int32_t token = 0;
    float logprob = 0;
    double score = 0;  // parent's sum_logprob + logprob
  };
  void expand(const float* row, bool row_is_scratch, int beam, int n_sampled);
  void finalize();

  const LogitFilters& filters_;
  const int n_vocab_, sample_len_, n_ctx_;
  const BeamSearchOptions options_;
  const int max_candidates_;
  std::vector<float> filtered_;
  std::vector<int32_t> sampled_, best_;  // per-beam scratch of expand()
  std::vector<Candidate> candidates_;
  std::vector<DecodedWindow> beams_, next_beams_;  // live beams (tokens without eot)
  std::vector<int32_t> step_tokens_;
  std::vector<int> step_parents_;
  std::vector<DecodedWindow> finished_;
  bool rows_are_scratch_ = false;
};

}  // namespace wn
