// Whole-file transcription: audio -> log-mel -> 30 s windows -> encoder ->
// greedy decoding with timestamp rules -> segments (REFERENCE.md §4–5).
// The host binding calls this on a worker thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/cancel.h"
#include "engine/model/model.h"

namespace wn {

struct TranscribeOptions {
  // Feed the previous windows' text as a <|startofprev|> prompt (reference default).
  bool condition_on_previous_text = true;
  float max_initial_timestamp = 1.0f;  // seconds; the first timestamp may not be later
  bool suppress_blank = true;          // no " " or eot as the first sampled token
  bool suppress_non_speech = true;     // the reference's default suppress_tokens="-1"
};

struct TokenResult {
  int32_t id = 0;
  std::string text;  // UTF-8; a character split across tokens belongs to the token that completes it
  float p = 0;       // probability of this token under the filtered distribution
};

struct Segment {
  double start = 0, end = 0;  // seconds from the start of the audio
  std::string text;           // valid UTF-8
  std::vector<TokenResult> tokens;  // text tokens and timestamp tokens as decoded
};

struct TranscribeResult {
  std::vector<Segment> segments;
  double duration = 0;  // seconds of audio
};

struct TranscribeCallbacks {
  std::function<void(double fraction)> on_progress;     // 0..1, after each window
  std::function<void(const Segment&)> on_segment;       // as each segment is final
  const CancellationFlag* cancel = nullptr;             // polled before each decoder step
};

// samples: 16 kHz mono in [-1, 1]. Throws wn::Error (kInvalidAudio for NaN/Inf,
// kAborted when cancelled). Empty audio gives an empty result.
TranscribeResult transcribe(const Model& model, const float* samples, size_t n_samples,
                            const TranscribeOptions& options, const TranscribeCallbacks& callbacks);

}  // namespace wn
