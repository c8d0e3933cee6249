// INTERIM one-decoder-per-beam pool (see beam_pool.h).
#include "engine/beam_pool.h"

#include <algorithm>
#include <cstring>

#include "engine/core/error.h"

namespace wn {

DecoderBeamPool::DecoderBeamPool(const Model& model, Decoder* primary, int beam_size)
    : n_vocab_(model.hparams().n_vocab) {
  decoders_.push_back(primary);
  for (int i = 1; i < beam_size; ++i) {
    owned_.push_back(std::make_unique<Decoder>(model));
    decoders_.push_back(owned_.back().get());
  }
  held_.resize(decoders_.size());
}

void DecoderBeamPool::start(const float* encoded, int64_t window_id,
                            const std::vector<int32_t>& prompt) {
  if (window_id != audio_window_) {
    for (auto& d : owned_) d->set_audio(encoded);
    for (size_t i = 1; i < held_.size(); ++i) held_[i].clear();
    audio_window_ = window_id;
  }
  decoders_[0]->truncate(static_cast<int>(prompt.size()));
  held_[0] = prompt;
  for (size_t i = 1; i < decoders_.size(); ++i) {
    // Keep what they share with the new prompt (same audio: still valid).
    const auto mismatch =
        std::mismatch(held_[i].begin(), held_[i].end(), prompt.begin(), prompt.end());
    const int keep = static_cast<int>(mismatch.first - held_[i].begin());
    decoders_[i]->truncate(std::min(keep, decoders_[i]->n_past()));
    held_[i].resize(static_cast<size_t>(decoders_[i]->n_past()));
  }
  row_decoder_.assign(1, 0);  // the prompt's row is the primary's
}

const float* DecoderBeamPool::step(const std::vector<int32_t>& tokens,
                                   const std::vector<int>& parents) {
  const size_t n = tokens.size();
  if (n > decoders_.size() || parents.size() != n) {
    throw Error(ErrorCode::kInternal, "beam step with " + std::to_string(n) + " beams for " +
                                          std::to_string(decoders_.size()) + " decoders");
  }
  // Every beam's full sequence, before any decoder changes.
  targets_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const int p = parents[i];
    if (p < 0 || static_cast<size_t>(p) >= row_decoder_.size()) {
      throw Error(ErrorCode::kInternal, "beam parent " + std::to_string(p) + " out of range");
    }
    targets_[i] = held_[static_cast<size_t>(row_decoder_[static_cast<size_t>(p)])];
    targets_[i].push_back(tokens[i]);
  }
  // The first child of each parent continues in its parent's decoder; the
  // others take the decoders no child continues.
  std::vector<int> assigned(n, -1);
  std::vector<bool> taken(decoders_.size(), false);
  for (size_t i = 0; i < n; ++i) {
    const int d = row_decoder_[static_cast<size_t>(parents[i])];
    if (!taken[static_cast<size_t>(d)]) {
      assigned[i] = d;
      taken[static_cast<size_t>(d)] = true;
    }
  }
  size_t next_free = 0;
  for (size_t i = 0; i < n; ++i) {
    if (assigned[i] >= 0) continue;
    while (taken[next_free]) ++next_free;
    assigned[i] = static_cast<int>(next_free);
    taken[next_free] = true;
  }
  rows_.resize(n * static_cast<size_t>(n_vocab_));
  for (size_t i = 0; i < n; ++i) {
    const size_t d = static_cast<size_t>(assigned[i]);
    std::vector<int32_t>& held = held_[d];
    const auto mismatch =
        std::mismatch(held.begin(), held.end(), targets_[i].begin(), targets_[i].end());
    int keep = static_cast<int>(mismatch.first - held.begin());
    keep = std::min(keep, static_cast<int>(targets_[i].size()) - 1);  // feed at least one
    decoders_[d]->truncate(keep);
    const float* row = decoders_[d]->forward(targets_[i].data() + keep,
                                             static_cast<int>(targets_[i].size()) - keep);
    std::memcpy(rows_.data() + i * static_cast<size_t>(n_vocab_), row,
                sizeof(float) * static_cast<size_t>(n_vocab_));
    held = targets_[i];
  }
  row_decoder_ = assigned;
  return rows_.data();
}

}  // namespace wn
