// Decoding one 30 s window by sampling, as the reference's DecodingTask with
// GreedyDecoder: feed the prompt, then repeatedly filter the last logits row
// (logit_filters.h), choose a token (the argmax at temperature 0, a draw from
// softmax(logits / T) above), feed it, until eot or the sample-length cap.
// Also the no-speech probability (the reference's, from the raw logits of the
// row at the sot position) and the seeded RNG used for sampling.
//
// The logits come from a LogitsFn, so the loop runs on crafted logits in tests;
// in production it wraps Decoder::forward. Beam search is in beam_search.h;
// window_prompt() and DecodedWindow are shared.
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

// Feeds one token to each of n sequences, tokens[i] to sequence slots[i]
// (distinct), and returns their next logits rows [n][n_vocab], row i for
// slots[i], valid until the next call.
using SlotsLogitsFn = std::function<const float*(const int32_t* tokens, const int* slots, int n)>;

struct SampledToken {
  int32_t id = 0;
  float p = 0;        // exp(logprob)
  float logprob = 0;  // log-softmax of the filtered logits at its step
};

// A deterministic pseudo-random source (SplitMix64): the same seed gives the
// same draws on every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next_u64();
  double next_unit();  // uniform in [0, 1), 53 random bits

 private:
  uint64_t state_;
};

// The state after a window's prompt has been fed: the logits row that predicts
// the first sampled token (a copy, so several candidates can start from it)
// and the prompt's no-speech probability.
struct FedPrompt {
  std::vector<float> first_row;  // [n_vocab]
  int n_prompt = 0;
  // softmax(raw logits at the sot position)[<|nospeech|>]; 0 when the prompt
  // has no sot (the reference computes it only when the tokenizer has one).
  float no_speech_prob = 0;
};

struct DecodedWindow {
  std::vector<SampledToken> tokens;  // sampled tokens, eot excluded
  bool ended_with_eot = false;       // false: stopped by the length cap
  // Sum of the sampled tokens' logprobs, eot's included (the reference's
  // sum_logprobs; avg_logprob = sum_logprob / (tokens.size() + 1)).
  double sum_logprob = 0;
  double temperature = 0;  // as passed to sample() (0 for greedy and beam search)
};

// The reference's prompt layout: [<|startofprev|>, last max_previous of
// previous_tokens..., sot_sequence..., prefix...] when previous_tokens is
// non-empty, else sot_sequence followed by prefix. max_previous is
// n_text_ctx / 2 - 1 (223). sot_sequence defaults to the tokenizer's
// (English, transcribe, timestamps).
std::vector<int32_t> window_prompt(const Tokenizer& tokenizer,
                                   const std::vector<int32_t>& previous_tokens, int max_previous);
std::vector<int32_t> window_prompt(const std::vector<int32_t>& sot_sequence, int32_t start_of_prev,
                                   const std::vector<int32_t>& previous_tokens, int max_previous,
                                   const std::vector<int32_t>& prefix);

// The part of a prefix the reference feeds (_get_initial_tokens):
// prefix[-(n_ctx // 2 - sample_len):] with Python's slicing. So with the
// default sample_len (n_ctx / 2) the bound is 0 and prefix[-0:] keeps the
// whole prefix; a smaller sample_len keeps the last n_ctx / 2 - sample_len
// tokens (all when the prefix is shorter); a larger one drops the first
// sample_len - n_ctx / 2 (nothing is left when the prefix is no longer).
std::vector<int32_t> reference_prefix(const std::vector<int32_t>& prefix, int n_ctx,
                                      int sample_len);

// softmax(logits)[id], max-shifted (NaN counts as -inf).
float softmax_probability(const float* logits, int n, int32_t id,
                          kernels::Isa isa = kernels::Isa::kGeneric);

class GreedyDecoder {
 public:
  // sample_len: the cap on sampled tokens per window, n_text_ctx / 2 (224).
  // n_ctx: the decoder's context (n_text_ctx, 448): tokens fed never exceed it.
  GreedyDecoder(const LogitFilters& filters, int sample_len, int n_ctx);

  // Decodes one window into *out (its vectors are reused: no allocation per
  // token once they have grown). Polls cancel before every call of logits_fn
  // (throws kAborted). Throws kInvalidArgument when the prompt is empty or
  // longer than n_ctx, kInternal when a row has no finite logit after filtering.
  // Greedy: feed_prompt() then sample() at temperature 0.
  void decode(const std::vector<int32_t>& prompt, const LogitsFn& logits_fn,
              const CancellationFlag* cancel, DecodedWindow* out);

  // Feeds the whole prompt (in two calls when its sot is not the last token,
  // so that the sot row's raw logits give the no-speech probability without
  // asking for every row's logits). sot_index: position of sot in prompt, or
  // -1. Same errors as decode().
  void feed_prompt(const std::vector<int32_t>& prompt, int sot_index, const LogitsFn& logits_fn,
                   const CancellationFlag* cancel, FedPrompt* out);

  // Samples one candidate continuation of a fed prompt. The logits source must
  // be positioned right after the prompt (the caller truncates its cache back
  // to prompt.n_prompt tokens between candidates). temperature 0: argmax;
  // > 0: a draw from softmax(filtered / temperature) using rng (required);
  // the logits are divided by the float nearest to temperature, as the
  // reference divides its float32 logits. out->temperature is temperature
  // itself. Logprobs are always those of the filtered logits at temperature
  // 1, as the reference's.
  void sample(const FedPrompt& prompt, double temperature, Rng* rng, const LogitsFn& logits_fn,
              const CancellationFlag* cancel, DecodedWindow* out);

  // sample() for rngs->size() candidates at once (the reference's best_of,
  // which it also samples as one batch): each step feeds every unfinished
  // candidate's token in one call, so the decoder reads its weights once per
  // step for all of them. Candidate i lives in sequence slot i (each
  // positioned right after the prompt by the caller) and draws from
  // (*rngs)[i] alone, so it is exactly what sample() gives with that
  // generator on the same rows. Same errors as sample(); rngs may be null at
  // temperature 0 only.
  void sample_together(const FedPrompt& prompt, double temperature, std::vector<Rng>* rngs,
                       const SlotsLogitsFn& logits_fn, const CancellationFlag* cancel,
                       std::vector<DecodedWindow>* outs);

  // The engine's decoder returns rows that are its scratch until its next
  // pass: with this set, a sampled step filters the row where it lies instead
  // of copying its 51864+ floats first (the prompt's first row, which every
  // candidate starts from, is still copied). Off by default: a LogitsFn may
  // return the same row twice, as the crafted-logit tests do.
  void set_rows_are_scratch(bool scratch) { rows_are_scratch_ = scratch; }

  // During sample(), when the LogitsFn is called: the lowest token the step
  // after the tokens sampled so far can choose (LogitFilters::
  // first_possible_token), so the source may leave the logits below it out.
  int32_t first_possible_token() const {
    const std::vector<int32_t>& sampled = candidate_ids_.front();
    return filters_.first_possible_token(sampled.data(), static_cast<int>(sampled.size()));
  }

 private:
  // Filters a copy of row into filtered_ and picks a token.
  // row_is_scratch: the row may be filtered where it lies (see
  // set_rows_are_scratch); else it is copied first.
  // sampled: the tokens sampled before this step (n_sampled of them).
  SampledToken choose(const float* row, bool row_is_scratch, const int32_t* sampled, int n_sampled,
                      float temperature, Rng* rng);
  // sample() and sample_together(): n candidates, candidate i drawing from
  // rngs[i] (null at temperature 0) into outs[i], fed through logits_fn.
  void sample_candidates(const FedPrompt& prompt, double temperature, Rng* const* rngs, int n,
                         const SlotsLogitsFn& logits_fn, const CancellationFlag* cancel,
                         DecodedWindow* outs);
  // sample()'s start: checks the arguments, clears *out, and returns the float
  // temperature the logits are divided by (see sample()).
  float start_sampling(double temperature, bool have_rng, DecodedWindow* out) const;

  const LogitFilters& filters_;
  const int n_vocab_;
  const int sample_len_;
  const int n_ctx_;
  bool rows_are_scratch_ = false;
  std::vector<float> filtered_;  // [n_vocab]
  // Per candidate (sample() has one), the ids it has sampled in this window,
  // for the filters.
  std::vector<std::vector<int32_t>> candidate_ids_;
  std::vector<float> draw_weights_;  // [n_vocab] at temperatures above 0
};

}  // namespace wn
