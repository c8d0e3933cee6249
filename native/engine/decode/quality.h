// The reference's judgement of a decoded window (OpenAI whisper transcribe.py
// decode_with_fallback and the no-speech check, decoding.py's
// MaximumLikelihoodRanker): which of several sampled candidates to keep, when
// to retry the window at the next temperature, and when to skip it as
// silence. Pure functions of numbers, so every rule is tested on crafted
// values; transcribe.cc runs the decoder around them.
#pragma once

#include <optional>
#include <vector>

#include "engine/decode/greedy.h"
#include "engine/decode/tokenizer.h"

namespace wn {

// What the fallback rules look at, for one decoded window.
struct WindowQuality {
  double avg_logprob = 0;        // sum_logprob / (sampled tokens + 1)
  double compression_ratio = 0;  // of the window's text (compression_ratio.h)
  float no_speech_prob = 0;
  double temperature = 0;
};

// Each threshold unset disables its rule, as None does in the reference.
struct QualityThresholds {
  std::optional<double> compression_ratio = 2.4;
  std::optional<double> logprob = -1.0;
  std::optional<double> no_speech = 0.6;
};

// avg_logprob as the reference computes it: sum_logprob / (len(tokens) + 1),
// the +1 standing for eot (counted even when the window hit the length cap).
double average_logprob(const DecodedWindow& window);

// The measures of a candidate: its text (text tokens only, stripped of
// surrounding whitespace, as the reference's tokenizer.decode(...).strip())
// goes into the compression ratio.
WindowQuality measure_window(const DecodedWindow& window, const Tokenizer& tokenizer,
                             float no_speech_prob);

// Retry at the next temperature: too repetitive (ratio above its threshold) or
// too unlikely (avg_logprob below its threshold), unless the window looks like
// silence (no_speech_prob above its threshold and avg_logprob below the
// logprob threshold), which no retry would fix.
bool needs_fallback(const WindowQuality& q, const QualityThresholds& t);

// Skip the window as silence: no_speech_prob above its threshold, unless
// avg_logprob is above the logprob threshold (the model was confident anyway).
bool is_silence(const WindowQuality& q, const QualityThresholds& t);

// The reference's ranking of candidates (MaximumLikelihoodRanker): score =
// sum_logprob / penalty, penalty = length (the sampled tokens without eot)
// when length_penalty is unset, else ((5 + length) / 6) ^ length_penalty.
// Returns the index of the best score (the first on ties); an empty candidate
// (length 0) scores -inf, as sum/0 does in numpy for a negative sum.
double candidate_score(double sum_logprob, size_t length, std::optional<double> length_penalty);
size_t best_candidate(const std::vector<DecodedWindow>& candidates,
                      std::optional<double> length_penalty);

// The reference's default temperature schedule: 0, 0.2, ..., 1.0.
std::vector<double> default_temperatures();

}  // namespace wn
