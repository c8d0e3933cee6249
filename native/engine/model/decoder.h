// The text decoder (REFERENCE.md §1) with its per-call state: the self-attention
// KV cache and the cross-attention keys/values of the current audio window,
// computed once per window by set_audio().
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model/model.h"

namespace wn {

class Decoder {
 public:
  explicit Decoder(const Model& model);

  // encoded: [n_audio_ctx][n_audio_state]. Computes every layer's cross K/V and
  // clears the self-attention cache.
  void set_audio(const float* encoded);
  // Forgets the self-attention cache (a new token sequence on the same audio).
  void reset() { n_past_ = 0; }
  // Keeps only the first n tokens of the cache (n <= n_past()).
  void truncate(int n);
  int n_past() const { return n_past_; }
  int n_ctx() const;  // capacity: n_text_ctx

  // Feeds tokens[0..n) at positions n_past()..n_past()+n-1 and appends them to
  // the cache. Returns logits: [n][n_vocab] when all_logits, else the last
  // token's row [n_vocab]. The pointer stays valid until the next call.
  // Throws kInvalidArgument for a token id outside [0, n_vocab) or when the
  // context would exceed n_ctx().
  const float* forward(const int32_t* tokens, int n, bool all_logits = false);

 private:
  const Model& model_;
  int n_past_ = 0;
  std::vector<float> self_k_, self_v_;    // per layer [n_text_ctx][d]
  std::vector<float> cross_kv_;           // per layer [n_audio_ctx][2d]: k | v
  std::vector<float> x_, h_, qkv_, attn_, mlp_, logits_;  // scratch
};

}  // namespace wn
