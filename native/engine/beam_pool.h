// INTERIM: the decoder side of beam search (decode/beam_search.h) with one
// Decoder per beam. Each step feeds every live beam's token through its own
// decoder (beam_size single-token passes instead of one batched pass), and a
// beam that continues another beam's sequence gets a free decoder truncated to
// the longest prefix it shares with that sequence, then fed the rest: a
// reorder by recomputation, since the model's Decoder offers no cache copy.
//
// What it is not: the target design (issue 5 asks for one batched decoder pass
// per step with KV caches reordered in place); that needs a batched
// Decoder::forward in model/, which belongs to the model module. Memory: one
// full set of decoder caches per beam.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/decode/beam_search.h"
#include "engine/model/decoder.h"
#include "engine/model/model.h"

namespace wn {

class DecoderBeamPool {
 public:
  // primary: the caller's decoder, which feeds the prompt; beam_size - 1 more
  // are created here.
  DecoderBeamPool(const Model& model, Decoder* primary, int beam_size);

  // Prepares a search on the primary decoder's audio: the other decoders get
  // the same encoded window (computed once per window: pass the same
  // `window_id` again to skip it) and the primary is truncated back to prompt.
  void start(const float* encoded, int64_t window_id, const std::vector<int32_t>& prompt);

  // The BatchLogitsFn of beam_search.h.
  const float* step(const std::vector<int32_t>& tokens, const std::vector<int>& parents);

 private:
  std::vector<Decoder*> decoders_;
  std::vector<std::unique_ptr<Decoder>> owned_;
  std::vector<std::vector<int32_t>> held_;  // the tokens each decoder's cache holds
  std::vector<int> row_decoder_;            // the decoder of each row of the last step
  std::vector<std::vector<int32_t>> targets_;
  std::vector<float> rows_;
  int n_vocab_;
  int64_t audio_window_ = -1;
};

}  // namespace wn
