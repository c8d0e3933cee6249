// Beam-to-slot bookkeeping for batched beam search (see beam_caches.h).
#include "engine/model/beam_caches.h"

#include <string>

#include "engine/core/error.h"

namespace wn {

void BeamCaches::start(int n_prompt) {
  decoder_->truncate(n_prompt, 0);
  row_slot_.assign(1, 0);
}

const float* BeamCaches::step(const std::vector<int32_t>& tokens, const std::vector<int>& parents) {
  const size_t n = tokens.size();
  const size_t n_slots = static_cast<size_t>(decoder_->n_slots());
  if (n == 0 || n > n_slots || parents.size() != n) {
    throw Error(ErrorCode::kInternal, "beam step with " + std::to_string(n) + " beams and " +
                                          std::to_string(parents.size()) + " parents for " +
                                          std::to_string(n_slots) + " decoder slots");
  }
  for (int p : parents) {
    if (p < 0 || static_cast<size_t>(p) >= row_slot_.size()) {
      throw Error(ErrorCode::kInternal, "beam parent " + std::to_string(p) + " out of range");
    }
  }
  // The first child of each parent continues in the parent's slot.
  slots_.assign(n, -1);
  taken_.assign(n_slots, 0);
  for (size_t i = 0; i < n; ++i) {
    const int slot = row_slot_[static_cast<size_t>(parents[i])];
    if (!taken_[static_cast<size_t>(slot)]) {
      slots_[i] = slot;
      taken_[static_cast<size_t>(slot)] = 1;
    }
  }
  // The others copy their parent into a slot nobody continues. Safe in any
  // order: a copy's source is a taken slot, its destination an untaken one.
  size_t next_free = 0;
  for (size_t i = 0; i < n; ++i) {
    if (slots_[i] >= 0) continue;
    while (taken_[next_free]) ++next_free;
    slots_[i] = static_cast<int>(next_free);
    taken_[next_free] = 1;
    decoder_->copy_sequence(row_slot_[static_cast<size_t>(parents[i])], slots_[i]);
  }
  const float* logits = decoder_->forward_batch(tokens.data(), slots_.data(), static_cast<int>(n));
  row_slot_ = slots_;
  return logits;
}

}  // namespace wn
