// Language identification (see language.h).
#include "engine/language.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/audio/mel.h"
#include "engine/core/error.h"
#include "engine/model/decoder.h"
#include "engine/model/encoder.h"

namespace wn {

std::vector<LanguageProbability> language_probabilities(const float* logits,
                                                        const SpecialTokens& special) {
  const int n = special.n_languages;
  const float* row = logits + special.first_language;
  float max_value = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < n; ++i) max_value = row[i] > max_value ? row[i] : max_value;
  std::vector<LanguageProbability> out(static_cast<size_t>(n));
  double total = 0;
  for (int i = 0; i < n; ++i) {
    const double w = row[i] > -std::numeric_limits<float>::infinity()
                         ? std::exp(static_cast<double>(row[i]) - max_value)
                         : 0.0;  // NaN and -inf weigh nothing
    out[static_cast<size_t>(i)].index = i;
    out[static_cast<size_t>(i)].probability = static_cast<float>(w);
    total += w;
  }
  for (LanguageProbability& p : out) {
    p.probability = total > 0 ? static_cast<float>(p.probability / total) : 0.0f;
    p.code = language_code(p.index);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const LanguageProbability& a, const LanguageProbability& b) {
                     return a.probability > b.probability;
                   });
  return out;
}

std::vector<LanguageProbability> detect_language(const Model& model, AudioSamples samples,
                                                 const CancellationFlag* cancel) {
  const size_t n_samples = samples.size();
  if (n_samples > 0 && !samples.has_data()) {
    throw Error(ErrorCode::kInvalidArgument,
                "samples is null but n_samples is " + std::to_string(n_samples));
  }
  const float* floats = samples.floats();  // int16 samples are always finite
  for (size_t i = 0; floats != nullptr && i < n_samples; ++i) {
    if (!std::isfinite(floats[i])) {
      throw Error(ErrorCode::kInvalidAudio,
                  "sample " + std::to_string(i) + " is not finite; expected values in [-1, 1]");
    }
  }
  const SpecialTokens special = SpecialTokens::for_vocab_size(model.hparams().n_vocab);
  if (!special.multilingual) {
    LanguageProbability en;
    en.code = "en";
    en.probability = 1.0f;
    return {en};
  }
  // As the reference's documented use (log_mel_spectrogram(pad_or_trim(audio))):
  // the log-mel of the first 30 s alone, its clamp maximum included.
  const size_t n_used = std::min(n_samples, static_cast<size_t>(kWindowFrames) * kHopLength);
  const HParams& hp = model.hparams();
  LogMelSpectrogram mel(samples.first(n_used), model.mel_filters(), hp.n_mels, model.n_fft_bins(),
                        &model.pool(), cancel);
  std::vector<float> window(static_cast<size_t>(hp.n_mels) * kWindowFrames);
  mel.window(0, window.data());
  std::vector<float> encoded(static_cast<size_t>(hp.n_audio_ctx) * hp.n_audio_state);
  Encoder encoder(model);
  encoder.encode(window.data(), encoded.data(), cancel);
  Decoder decoder(model);
  decoder.set_audio(encoded.data());
  throw_if_cancelled(cancel);
  return language_probabilities(decoder.forward(&special.sot, 1), special);
}

}  // namespace wn
