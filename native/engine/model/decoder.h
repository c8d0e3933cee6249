// The text decoder (REFERENCE.md §1) with its per-call state: the self-attention
// KV cache and the cross-attention keys/values of the current audio window,
// computed once per window by set_audio().
//
// Memory: the caches are allocated at construction (self K/V: n_text_layer ×
// n_text_ctx × d each; cross K/V: n_text_layer × n_audio_ctx × 2d). Row scratch
// grows to the largest token batch seen and is then reused, so steady-state
// forward() calls allocate nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model/model.h"
#include "engine/model/page_buffer.h"

namespace wn {

class Decoder {
 public:
  explicit Decoder(const Model& model);

  // encoded: [n_audio_ctx][n_audio_state]. Computes every layer's cross K/V and
  // clears the self-attention cache.
  void set_audio(const float* encoded);
  // Forgets the self-attention cache (a new token sequence on the same audio).
  void reset() { n_past_ = 0; }
  // Keeps only the first n tokens of the cache (0 <= n <= n_past(), else
  // kInvalidArgument).
  void truncate(int n);
  int n_past() const { return n_past_; }
  int n_ctx() const;  // capacity: n_text_ctx

  // Feeds tokens[0..n) at positions n_past()..n_past()+n-1 and appends them to
  // the cache. Returns logits: [n][n_vocab] when all_logits, else the last
  // token's row [n_vocab]. The pointer stays valid until the next call.
  // Throws kInvalidArgument for n < 1, a token id outside [0, n_vocab), when the
  // context would exceed n_ctx(), or before the first set_audio().
  const float* forward(const int32_t* tokens, int n, bool all_logits = false);

 private:
  void check_input(const int32_t* tokens, int n) const;
  void reserve_rows(int n);  // grows the row scratch (only ever grows)
  void embed(const int32_t* tokens, int n);
  void self_attention(int layer, int n);
  void cross_attention(int layer, int n);
  void mlp(const DecoderBlock& b, int n);
  float* self_k(int layer) { return self_k_ + int64_t{layer} * n_ctx_ * d_; }
  float* self_v(int layer) { return self_v_ + int64_t{layer} * n_ctx_ * d_; }
  float* cross_kv(int layer) { return cross_kv_ + int64_t{layer} * n_audio_ctx_ * 2 * d_; }

  const Model& model_;
  int d_, n_ctx_, n_audio_ctx_, n_vocab_, n_head_;
  int n_past_ = 0;
  int rows_ = 0;  // rows the scratch below holds
  bool has_audio_ = false;
  // The caches, in one allocation: rows are written before they are read, and
  // the pages of positions never reached cost no resident memory.
  PageBuffer caches_;
  float* self_k_;    // per layer [n_text_ctx][d]
  float* self_v_;    // per layer [n_text_ctx][d]
  float* cross_kv_;  // per layer [n_audio_ctx][2d]: k | v
  // Row scratch: [rows_][d], [rows_][d], [rows_][3d], [rows_][d], [rows_][4d].
  std::vector<float> x_, h_, qkv_, attn_, mlp_;
  std::vector<float> logits_;  // [rows][n_vocab] of the last forward()
};

}  // namespace wn
