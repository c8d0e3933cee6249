// The audio encoder (REFERENCE.md §1): log-mel window [n_mels][2*n_audio_ctx] ->
// [n_audio_ctx][n_audio_state]. An Encoder holds the scratch memory of one
// caller, allocated once and reused for every window; the weights are the
// model's, shared.
#pragma once

#include <vector>

#include "engine/core/cancel.h"
#include "engine/model/model.h"

namespace wn {

class Encoder {
 public:
  explicit Encoder(const Model& model);
  // mel: [n_mels][2*n_audio_ctx] (3000 frames); out: [n_audio_ctx][n_audio_state],
  // also used as the residual stream while encoding. Polls cancel between
  // blocks (throws kAborted).
  void encode(const float* mel, float* out, const CancellationFlag* cancel = nullptr);

 private:
  // x = GELU(conv2(GELU(conv1(mel)))) + positional embedding.
  void stem(const float* mel, float* x);
  // x += attn(ln(x)); x += mlp(ln(x)).
  void block(const EncoderBlock& b, float* x);

  const Model& model_;
  int n_ctx_, n_frames_, d_, n_mels_;
  // Scratch, each reused for more than one purpose (see encoder.cc):
  std::vector<float> h_;    // [n_ctx][d]: LayerNorm output, then attention output
  std::vector<float> qkv_;  // [n_ctx][3d]: q|k|v; conv im2col patches in the stem
  std::vector<float> mlp_;  // [n_ctx][4d]: MLP hidden; conv1 output in the stem
};

}  // namespace wn
