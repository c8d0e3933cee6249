// The decoder side of word-level timestamps (decode/word_timing.h has the
// rest): which cross-attention heads align text with audio, and one teacher-
// forced decoder pass over a window's text that records those heads'
// attention weights and the text tokens' probabilities, as the reference's
// find_alignment (OpenAI whisper timing.py) does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/cancel.h"
#include "engine/decode/tokenizer.h"
#include "engine/model/decoder.h"

namespace wn {

// The alignment heads of the model these hparams describe: the reference's
// published set for every official model (tiny … large-v3-turbo, with and
// without .en; large-v1 files get large-v2's set, as the two have the same
// dimensions), otherwise (as the reference does for a model without a set,
// e.g. a fine-tune of other dimensions) every head of the last half of the
// decoder layers.
std::vector<AttentionHead> alignment_heads(const HParams& hparams);

struct WindowAlignment {
  std::vector<int> token_frames;   // DTW start frame of each text token, then of eot
  std::vector<float> token_probs;  // each text token's probability (text columns only)
};

// Runs the decoder (which holds the window's audio; its slot 0 is reset) over
// [sot_sequence..., <|notimestamps|>, text..., eot], records the heads'
// cross-attention over the first n_frames encoder positions, and aligns the
// text to them by DTW. False (and nothing done) when text is empty or the
// sequence exceeds the decoder's context. Polls cancel between chunks.
// capture_budget_floats bounds the attention weights held at once: heads
// beyond it are captured in further passes (same result, more decoder work).
constexpr size_t kCaptureBudgetFloats = size_t{16} << 20;  // 64 MB
bool align_window(Decoder* decoder, const Tokenizer& tokenizer,
                  const std::vector<int32_t>& sot_sequence, const std::vector<int32_t>& text,
                  int n_frames, const std::vector<AttentionHead>& heads,
                  const CancellationFlag* cancel, WindowAlignment* out,
                  size_t capture_budget_floats = kCaptureBudgetFloats);

}  // namespace wn
