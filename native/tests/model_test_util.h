// What the model tests compare between two models, or two ways of loading
// one: the encoder's output for a log-mel window, and the decoder's
// teacher-forced logits over it for a few tokens.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/model/decoder.h"
#include "engine/model/encoder.h"
#include "engine/model/model.h"

namespace wn_test {

struct ModelOutputs {
  std::vector<float> encoded, logits;
};

// sot, a timestamp and some text tokens, then eot (tiny.en's ids).
inline const std::vector<int32_t>& forced_tokens() {
  static const std::vector<int32_t> tokens = {50257, 50363, 220, 383, 1000, 2000, 30000, 50256};
  return tokens;
}

// The encoder on `mel`, then the logits of every token of `tokens` fed at
// once, over `audio` when given (another model's encoder output, so that a
// decoder is compared alone), else over this encoder output.
inline ModelOutputs encode_and_logits(const wn::Model& model, const std::vector<float>& mel,
                                      const std::vector<float>* audio = nullptr,
                                      const std::vector<int32_t>& tokens = forced_tokens()) {
  const wn::HParams& hp = model.hparams();
  ModelOutputs o;
  o.encoded.resize(size_t(hp.n_audio_ctx) * hp.n_audio_state);
  wn::Encoder(model).encode(mel.data(), o.encoded.data());
  wn::Decoder decoder(model);
  decoder.set_audio(audio ? audio->data() : o.encoded.data());
  const float* l = decoder.forward(tokens.data(), (int)tokens.size(), /*all_logits=*/true);
  o.logits.assign(l, l + tokens.size() * size_t(hp.n_vocab));
  return o;
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace wn_test
