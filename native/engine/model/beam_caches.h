// The decoder side of beam search (decode/beam_search.h): maps live beams to
// the slots of one multi-slot Decoder and advances all of them with one
// batched pass per step (Decoder::forward_batch).
//
// Reordering is a slot permutation: when the beams are re-ranked, the first
// child of a beam continues in its parent's slot without copying anything;
// each further child takes a slot no child continues and copies the parent's
// sequence into it with Decoder::copy_sequence, which copies only the rows
// after the two sequences' common prefix (the prompt and every token the
// beams still share are never copied).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model/decoder.h"

namespace wn {

class BeamCaches {
 public:
  // decoder: needs at least as many slots as the search has beams.
  explicit BeamCaches(Decoder* decoder) : decoder_(decoder) {}

  // Starts a search from slot 0's first n_prompt tokens (the fed prompt,
  // whose last row the search begins with); slot 0 is cut back to them.
  void start(int n_prompt);

  // The BatchLogitsFn of beam_search.h: beam i continues the sequence of row
  // parents[i] of the previous call (the prompt's single row at first) and
  // appends tokens[i]. Returns logits [tokens.size()][n_vocab].
  const float* step(const std::vector<int32_t>& tokens, const std::vector<int>& parents);

 private:
  Decoder* decoder_;
  std::vector<int> row_slot_;  // the slot of each row of the last step
  std::vector<int> slots_;     // this step's slot per beam
  std::vector<char> taken_;    // per slot: continued by a beam of this step
};

}  // namespace wn
