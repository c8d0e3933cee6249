// Beam search (see beam_search.h).
#include "engine/decode/beam_search.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "engine/core/error.h"
#include "engine/core/python_round.h"
#include "engine/core/thread_pool.h"
#include "engine/decode/quality.h"
#include "engine/kernels/kernels.h"

namespace wn {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// True when (value a, id a) ranks before (value b, id b): larger value, then
// lower id; NaN ranks last.
bool ranks_before(float a, int32_t id_a, float b, int32_t id_b) {
  const bool a_nan = std::isnan(a), b_nan = std::isnan(b);
  if (a_nan != b_nan) return b_nan;
  if (a != b && !a_nan) return a > b;
  return id_a < id_b;
}

// Puts id into the ranked list, keeping at most k entries.
void insert_ranked(const float* row, int32_t id, int k, std::vector<int32_t>* ids) {
  auto at = ids->begin();
  while (at != ids->end() && ranks_before(row[*at], *at, row[id], id)) ++at;
  ids->insert(at, id);
  if (static_cast<int>(ids->size()) > k) ids->pop_back();
}

// The k best entries of row[0..n) (largest first, ties by lower id). Once the
// list is full, an entry scanned later (a higher id) enters it exactly when
// its value is above the list's last (equal values lose on the id, NaN ranks
// last), so the vocabulary is skipped a few vectors at a time
// (kernels::first_above) up to the next such entry: a scalar pass over the
// 51864+ logits of every beam was ~10% of a beam-search step.
void top_k(const float* row, int n, int k, kernels::Isa isa, std::vector<int32_t>* ids) {
  ids->clear();
  int32_t i = 0;
  for (; i < n && static_cast<int>(ids->size()) < k; ++i) insert_ranked(row, i, k, ids);
  while (i < n) {
    const float last = row[ids->back()];
    if (std::isnan(last)) {  // anything but a NaN ranks before it: one at a time
      if (!std::isnan(row[i])) insert_ranked(row, i, k, ids);
      ++i;
      continue;
    }
    i = kernels::first_above(isa, row, i, n, last);
    if (i >= n) break;
    insert_ranked(row, i, k, ids);
    ++i;
  }
}

// round(beam_size * patience) with Python's round (halves to even), as the
// reference; clamped so that absurd values cannot overflow the int.
int max_beam_candidates(int beam_size, double patience) {
  const double n = round_half_even(static_cast<double>(beam_size) * patience);
  if (!(n >= 0)) return 0;  // negative or NaN: rejected by the constructor
  return n > 1e9 ? 1000000000 : static_cast<int>(n);
}

}  // namespace

BeamSearchDecoder::BeamSearchDecoder(const LogitFilters& filters, int sample_len, int n_ctx,
                                     const BeamSearchOptions& options)
    : filters_(filters),
      n_vocab_(filters.tokenizer().n_vocab()),
      sample_len_(sample_len),
      n_ctx_(n_ctx),
      options_(options),
      max_candidates_(max_beam_candidates(options.beam_size, options.patience)),
      filtered_(static_cast<size_t>(n_vocab_)) {
  if (options.beam_size < 1 || max_candidates_ < 1 || !std::isfinite(options.patience)) {
    throw Error(ErrorCode::kInvalidArgument,
                "beam search with beam_size " + std::to_string(options.beam_size) +
                    " and patience " + std::to_string(options.patience) +
                    "; expected beam_size >= 1 and round(beam_size * patience) >= 1");
  }
}

// Adds the beam_size + 1 best continuations of beam `beam` to candidates_.
// row_is_scratch: filter the row where it lies (see set_rows_are_scratch).
void BeamSearchDecoder::expand(const float* row, bool row_is_scratch, int beam, int n_sampled) {
  const DecodedWindow& b = beams_[static_cast<size_t>(beam)];
  float* logits = filtered_.data();
  if (row_is_scratch) {
    logits = const_cast<float*>(row);  // the caller's scratch, see set_rows_are_scratch
  } else {
    std::memcpy(logits, row, sizeof(float) * filtered_.size());
  }
  sampled_.clear();
  for (const SampledToken& t : b.tokens) sampled_.push_back(t.id);
  const double lse = filters_.apply_and_summarize(logits, sampled_.data(), n_sampled).log_sum_exp;
  top_k(logits, n_vocab_, options_.beam_size + 1, filters_.isa(), &best_);
  for (int32_t id : best_) {
    Candidate c;
    c.parent = beam;
    c.token = id;
    c.logprob = static_cast<float>(logits[id] - lse);
    c.score = b.sum_logprob + c.logprob;
    candidates_.push_back(c);
  }
}

void BeamSearchDecoder::decode(const FedPrompt& prompt, const BatchLogitsFn& logits_fn,
                               const CancellationFlag* cancel, DecodedWindow* out) {
  const int32_t eot = filters_.tokenizer().eot();
  const int max_sampled = std::min(sample_len_, n_ctx_ + 1 - prompt.n_prompt);
  finished_.clear();
  beams_.assign(1, DecodedWindow());  // all beams start as the prompt: one row
  const float* rows = prompt.first_row.data();
  // The steps hold the model's pool in turns of several steps (the beams'
  // choice and the next pass): other calls on it wait between steps. (Greedy
  // steps meet other calls' in the model's StepBatcher instead.)
  ThreadPool::SteppedTurn turns(filters_.context().pool);
  for (int step = 0; step < max_sampled; ++step) {
    turns.next_step();
    candidates_.clear();
    // The prompt's first row is shared (every temperature's search starts
    // from it); later rows are the decoder's.
    const bool scratch = rows_are_scratch_ && step > 0;
    for (size_t b = 0; b < beams_.size(); ++b) {
      expand(rows + b * static_cast<size_t>(n_vocab_), scratch, static_cast<int>(b), step);
    }
    std::stable_sort(candidates_.begin(), candidates_.end(),
                     [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    next_beams_.clear();
    step_tokens_.clear();
    step_parents_.clear();
    std::vector<DecodedWindow> newly_finished;
    for (const Candidate& c : candidates_) {
      DecodedWindow seq = beams_[static_cast<size_t>(c.parent)];
      seq.sum_logprob = c.score;
      if (c.token == eot) {
        seq.ended_with_eot = true;
        newly_finished.push_back(std::move(seq));
        continue;
      }
      seq.tokens.push_back({c.token, std::exp(c.logprob), c.logprob});
      next_beams_.push_back(std::move(seq));
      step_tokens_.push_back(c.token);
      step_parents_.push_back(c.parent);
      if (static_cast<int>(next_beams_.size()) == options_.beam_size) break;
    }
    for (DecodedWindow& f : newly_finished) {
      if (static_cast<int>(finished_.size()) >= max_candidates_) break;
      finished_.push_back(std::move(f));
    }
    std::swap(beams_, next_beams_);
    if (static_cast<int>(finished_.size()) >= max_candidates_) break;
    if (step + 1 == max_sampled || beams_.empty()) break;
    throw_if_cancelled(cancel);
    rows = logits_fn(step_tokens_, step_parents_);
  }
  finalize();
  *out = finished_[best_candidate(finished_, options_.length_penalty)];
}

// Not enough finished sequences: the live beams fill up the list, best first.
void BeamSearchDecoder::finalize() {
  if (static_cast<int>(finished_.size()) >= options_.beam_size) return;
  std::vector<size_t> order(beams_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return beams_[a].sum_logprob > beams_[b].sum_logprob;
  });
  for (size_t i : order) {
    if (static_cast<int>(finished_.size()) >= options_.beam_size) break;
    finished_.push_back(beams_[i]);
  }
  if (finished_.empty()) finished_.emplace_back();  // nothing at all (max_sampled <= 0)
}

}  // namespace wn
