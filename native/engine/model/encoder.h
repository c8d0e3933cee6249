// The audio encoder (REFERENCE.md §1): log-mel window [n_mels][3000] ->
// [n_audio_ctx][n_audio_state]. An Encoder holds the scratch memory of one
// caller, allocated once and reused for every window.
#pragma once

#include <vector>

#include "engine/core/cancel.h"
#include "engine/model/model.h"

namespace wn {

class Encoder {
 public:
  explicit Encoder(const Model& model);
  // mel: [n_mels][3000]; out: [n_audio_ctx][n_audio_state]. Polls cancel
  // between blocks (throws kAborted).
  void encode(const float* mel, float* out, const CancellationFlag* cancel = nullptr);

 private:
  const Model& model_;
  std::vector<float> patches_, x_, h_, qkv_, attn_, mlp_;  // scratch
};

}  // namespace wn
