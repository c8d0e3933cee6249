// The audio encoder (REFERENCE.md §1): log-mel window [n_mels][2*n_audio_ctx] ->
// [n_audio_ctx][n_audio_state]. An Encoder holds the scratch memory of one
// caller, allocated once and reused for every window; the weights are the
// model's, shared.
#pragma once

#include "engine/core/cancel.h"
#include "engine/model/model.h"
#include "engine/model/page_buffer.h"

namespace wn {

class Encoder {
 public:
  // scratch: optional memory of scratch_floats(model) floats that the caller
  // owns and that is dead between encode() calls (a transcription lends the
  // decoder's cross-attention K/V storage: the two are never live at once).
  // Without it the encoder allocates its own and returns the pages to the OS
  // after each encode().
  explicit Encoder(const Model& model, float* scratch = nullptr);
  static size_t scratch_floats(const Model& model);
  // mel: [n_mels][2*n_audio_ctx] (3000 frames); out: [n_audio_ctx][n_audio_state],
  // also used as the residual stream while encoding. Polls cancel between
  // blocks (throws kAborted).
  void encode(const float* mel, float* out, const CancellationFlag* cancel = nullptr);
  // Bytes of scratch memory this encoder holds.
  size_t scratch_bytes() const;

 private:
  // x = GELU(conv2(GELU(conv1(mel)))) + positional embedding.
  void stem(const float* mel, float* x);
  // x += attn(ln(x)); x += mlp(ln(x)).
  void block(const EncoderBlock& b, float* x);
  void attention(const EncoderBlock& b, float* x);
  void mlp(const EncoderBlock& b, float* x);

  const Model& model_;
  int n_ctx_, n_frames_, d_, n_mels_;
  int chunk_width_;  // floats per row of chunk_
  // Scratch: one allocation, carved into three arrays, each reused for more
  // than one purpose (see encoder.cc). Every element is written before it is read.
  PageBuffer own_scratch_;  // empty when the caller lent the scratch
  float* h_;                // [n_ctx][d]: LayerNorm output, then attention output
  float* qkv_;    // [3 * n_head][n_ctx][d_head]: q, k, v per head; conv1's output in the stem
  float* chunk_;  // [kChunkRows][chunk_width_]: MLP hidden or im2col patches; transposed keys
};

}  // namespace wn
