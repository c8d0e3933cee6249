// The audio encoder (REFERENCE.md §1): log-mel window [n_mels][2*n_audio_ctx] ->
// [n_audio_ctx][n_audio_state]. An Encoder holds the scratch memory of one
// caller, allocated once and reused for every window; the weights are the
// model's, shared.
#pragma once

#include <vector>

#include "engine/core/cancel.h"
#include "engine/model/model.h"
#include "engine/model/page_buffer.h"

namespace wn {

class Encoder {
 public:
  // scratch: optional memory of scratch_floats(model, heads_per_group) floats
  // that the caller owns and that is dead between encode() calls (a
  // transcription lends the decoder's cross-attention K/V storage: the two are
  // never live at once). Without it the encoder allocates its own and returns
  // the pages to the OS after each encode().
  // heads_per_group: attention heads computed at once (a divisor of
  // n_audio_head): more need more scratch (their q, k and v) and split the
  // work into fewer, bigger calls. The output is the same for any.
  explicit Encoder(const Model& model, float* scratch = nullptr, int heads_per_group = 1);
  static size_t scratch_floats(const Model& model, int heads_per_group = 1);
  // The most heads per group whose scratch fits in `floats` (at least 1).
  static int heads_per_group_within(const Model& model, size_t floats);
  // Memory for the log-mel window [n_mels][2*n_audio_ctx] in the scratch: the
  // caller may write the window here and pass it to encode(), so that it costs
  // no memory of its own. encode() overwrites it once read.
  float* mel_buffer() { return mel_; }
  // mel: [n_mels][2*n_audio_ctx] (3000 frames); out: [n_audio_ctx][n_audio_state],
  // also used as the residual stream while encoding. Polls cancel between
  // blocks and, inside the stem and each block, between its steps (a head
  // group, the MLP's row chunks): throws kAborted.
  void encode(const float* mel, float* out, const CancellationFlag* cancel = nullptr);
  // Bytes of scratch memory this encoder holds.
  size_t scratch_bytes() const;

 private:
  friend struct EncoderTestAccess;  // native/tests: runs a block's steps alone

  // x = GELU(conv2(GELU(conv1(mel)))) + positional embedding.
  void stem(const float* mel, float* x);
  // x += attn(ln(x)); x += mlp(ln(x)).
  void block(const EncoderBlock& b, float* x);
  void attention(const EncoderBlock& b, float* x);
  void mlp(const EncoderBlock& b, float* x);
  // Makes matrices[0, n) ready for GEMMs, ready(i) until the next stage():
  // the model's packed copies, or, for matrices left in the file (low
  // memory), read from it and packed into the staging memory side by side
  // by the pool.
  void stage(const EncoderMatrix* const* matrices, size_t n);
  const kernels::PackedWeights& ready(size_t i) const { return *ready_[i]; }

  const Model& model_;
  int n_ctx_, n_frames_, d_, n_mels_;
  int heads_per_group_;
  // encode()'s flag, for the duration of the call. Why inside blocks too: a
  // block takes 30-40 ms on tiny and far longer on large models, so polling
  // only between blocks delayed an abort by as much.
  const CancellationFlag* cancel_ = nullptr;
  // Scratch: one allocation, carved into arrays that each serve more than one
  // purpose (see scratch_layout in encoder.cc). Every element is written
  // before it is read.
  PageBuffer own_scratch_;  // empty when the caller lent the scratch
  float* h_;                // [n_ctx][d], rows ld_ apart: LayerNorm output
  float* attn_;             // [n_ctx][d], rows ld_ apart: attention output (conv1's output,
                            // [2 n_ctx][d] unpadded, spans h_ and attn_)
  // Row strides in floats (>= their row widths; see padded_stride in encoder.cc):
  // of h_ and attn_, of the MLP's hidden rows and of conv2's im2col patches.
  int64_t ld_, ld_hidden_, ld_patches_;
  float* work_;  // a head group's q/k/v and keys; MLP hidden rows; im2col patches
  float* mel_;   // mel_buffer(), inside work_ behind conv1's patches
  // Low memory: where matrices are packed from the file (staging_bytes in
  // encoder.cc), and the state of stage(), kept to reuse its allocations.
  // One task of stage(): panels [p0, p1) of a part, from its rows at
  // [offset, offset + bytes) in the file.
  struct PackTask {
    kernels::PackedWeights* part;
    uint64_t offset, bytes;
    int p0, p1;
  };
  unsigned char* staging_;
  size_t staging_bytes_;
  std::vector<const kernels::PackedWeights*> ready_;
  std::vector<kernels::PackedWeights> staged_, parts_;
  std::vector<PackTask> tasks_;
  std::vector<const EncoderMatrix*> heads_;
};

namespace internal {
// Test-only seam: false makes the Encoders constructed afterwards lay out their
// rows unpadded (padded_stride in encoder.cc), so that a test can check that
// the padding changes no bit of the output. Nothing in the engine sets it.
extern bool encoder_pads_rows;
}  // namespace internal

}  // namespace wn
