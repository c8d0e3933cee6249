// Window quality rules (see quality.h).
#include "engine/decode/quality.h"

#include <cmath>
#include <limits>
#include <string>

#include "engine/decode/compression_ratio.h"
#include "engine/decode/segments.h"

namespace wn {

double average_logprob(const DecodedWindow& window) {
  return window.sum_logprob / static_cast<double>(window.tokens.size() + 1);
}

WindowQuality measure_window(const DecodedWindow& window, const Tokenizer& tokenizer,
                             float no_speech_prob) {
  std::vector<int32_t> ids;
  ids.reserve(window.tokens.size());
  for (const SampledToken& t : window.tokens) ids.push_back(t.id);
  WindowQuality q;
  q.avg_logprob = average_logprob(window);
  q.compression_ratio = compression_ratio(python_strip(tokenizer.decode(ids)));
  q.no_speech_prob = no_speech_prob;
  q.temperature = window.temperature;
  return q;
}

bool needs_fallback(const WindowQuality& q, const QualityThresholds& t) {
  bool retry = false;
  if (t.compression_ratio && q.compression_ratio > *t.compression_ratio) retry = true;
  if (t.logprob && q.avg_logprob < *t.logprob) retry = true;
  if (t.no_speech && q.no_speech_prob > *t.no_speech && t.logprob && q.avg_logprob < *t.logprob) {
    retry = false;
  }
  return retry;
}

bool is_silence(const WindowQuality& q, const QualityThresholds& t) {
  if (!t.no_speech) return false;
  bool skip = q.no_speech_prob > *t.no_speech;
  if (t.logprob && q.avg_logprob > *t.logprob) skip = false;
  return skip;
}

double candidate_score(double sum_logprob, size_t length, std::optional<double> length_penalty) {
  const double n = static_cast<double>(length);
  const double penalty = length_penalty ? std::pow((5.0 + n) / 6.0, *length_penalty) : n;
  if (penalty == 0) return -std::numeric_limits<double>::infinity();
  return sum_logprob / penalty;
}

size_t best_candidate(const std::vector<DecodedWindow>& candidates,
                      std::optional<double> length_penalty) {
  size_t best = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < candidates.size(); ++i) {
    const double s =
        candidate_score(candidates[i].sum_logprob, candidates[i].tokens.size(), length_penalty);
    if (s > best_score) {
      best_score = s;
      best = i;
    }
  }
  return best;
}

std::vector<double> default_temperatures() {
  return {0.0, 0.2, 0.4, 0.6, 0.8, 1.0};
}

}  // namespace wn
