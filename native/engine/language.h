// Spoken-language identification as the reference does it (OpenAI whisper
// decoding.py detect_language): encode the first 30 s window, run the decoder
// on [sot] alone, and take the softmax of that row over the language tokens
// only (every other token masked out).
//
// What it is not: a separate model. English-only models have no language
// tokens; for them detect_language returns {"en", 1} without running anything
// (the reference raises instead).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/audio/samples.h"
#include "engine/core/cancel.h"
#include "engine/decode/tokenizer.h"
#include "engine/model/model.h"

namespace wn {

struct LanguageProbability {
  std::string code;  // "en", "de", ... (language_code(index))
  int index = 0;     // language token = first_language + index
  float probability = 0;
};

// softmax over logits[first_language .. first_language + n_languages) of a
// decoder row; sorted by probability, highest first (ties: lower index first).
std::vector<LanguageProbability> language_probabilities(const float* logits,
                                                        const SpecialTokens& special);

// samples: 16 kHz mono in [-1, 1] (or int16, engine/audio/samples.h); only the
// first 30 s are used (shorter audio is padded as in transcription). Throws
// wn::Error (kInvalidAudio for NaN/Inf, kAborted when cancelled).
std::vector<LanguageProbability> detect_language(const Model& model, AudioSamples samples,
                                                 const CancellationFlag* cancel = nullptr);
inline std::vector<LanguageProbability> detect_language(const Model& model, const float* samples,
                                                        size_t n_samples,
                                                        const CancellationFlag* cancel = nullptr) {
  return detect_language(model, AudioSamples::of_floats(samples, n_samples), cancel);
}

}  // namespace wn
