// Alignment heads and the teacher-forced alignment pass (see word_alignment.h).
#include "engine/word_alignment.h"

#include <algorithm>
#include <cmath>

#include "engine/decode/word_timing.h"

namespace wn {
namespace {

// Rows per decoder call: bounds the logits buffer (rows × n_vocab floats)
// while the whole sequence is fed.
constexpr int kChunkRows = 16;

}  // namespace

std::vector<AttentionHead> alignment_heads(const HParams& h) {
  const bool multilingual = h.n_vocab >= 51865;
  const bool tiny_dims = h.n_text_layer == 4 && h.n_text_head == 6 && h.n_text_state == 384;
  if (tiny_dims && !multilingual) {
    return {{1, 0}, {2, 0}, {2, 5}, {3, 0}, {3, 1}, {3, 2}, {3, 3}, {3, 4}};
  }
  if (tiny_dims && multilingual) return {{2, 2}, {3, 0}, {3, 2}, {3, 3}, {3, 4}, {3, 5}};
  std::vector<AttentionHead> heads;
  for (int layer = h.n_text_layer / 2; layer < h.n_text_layer; ++layer) {
    for (int head = 0; head < h.n_text_head; ++head) heads.push_back({layer, head});
  }
  return heads;
}

bool align_window(Decoder* decoder, const Tokenizer& tokenizer,
                  const std::vector<int32_t>& sot_sequence, const std::vector<int32_t>& text,
                  int n_frames, const std::vector<AttentionHead>& heads,
                  const CancellationFlag* cancel, WindowAlignment* out) {
  std::vector<int32_t> tokens = sot_sequence;
  tokens.push_back(tokenizer.special().no_timestamps);
  const size_t first_text = tokens.size();
  tokens.insert(tokens.end(), text.begin(), text.end());
  tokens.push_back(tokenizer.eot());
  if (text.empty() || heads.empty() || static_cast<int>(tokens.size()) > decoder->n_ctx()) {
    return false;
  }
  const int n_tokens = static_cast<int>(tokens.size());
  const int n_heads = static_cast<int>(heads.size());
  const int32_t eot = tokenizer.eot();
  const int n_vocab = tokenizer.n_vocab();

  // weights [heads][tokens][frames], filled chunk by chunk.
  std::vector<float> weights(static_cast<size_t>(n_heads) * n_tokens * n_frames);
  out->token_probs.assign(text.size(), 0.0f);
  CrossAttentionCapture capture;
  capture.heads = heads;
  capture.n_frames = n_frames;
  decoder->reset();
  for (int begin = 0; begin < n_tokens; begin += kChunkRows) {
    throw_if_cancelled(cancel);
    const int rows = std::min(kChunkRows, n_tokens - begin);
    const float* logits = decoder->forward(tokens.data() + begin, rows, true, &capture);
    for (int h = 0; h < n_heads; ++h) {
      std::copy_n(capture.weights.data() + static_cast<size_t>(h) * rows * n_frames,
                  static_cast<size_t>(rows) * n_frames,
                  weights.data() + (static_cast<size_t>(h) * n_tokens + begin) * n_frames);
    }
    // Row r predicts token r + 1: text token k is predicted by row first_text - 1 + k.
    // Its probability is taken over the text tokens only, as the reference's.
    for (int r = 0; r < rows; ++r) {
      const int row = begin + r;
      const int k = row - static_cast<int>(first_text) + 1;
      if (k < 0 || k >= static_cast<int>(text.size())) continue;
      const float* l = logits + static_cast<size_t>(r) * n_vocab;
      const float max_logit = *std::max_element(l, l + eot);
      double sum = 0;
      for (int32_t t = 0; t < eot; ++t) sum += std::exp(static_cast<double>(l[t] - max_logit));
      out->token_probs[static_cast<size_t>(k)] =
          static_cast<float>(std::exp(static_cast<double>(l[text[k]] - max_logit)) / sum);
    }
  }
  decoder->reset();

  // Rows from <|notimestamps|> (predicting the first text token) to the last
  // text token (predicting eot): one per text token plus one.
  const std::vector<float> matrix = alignment_matrix(weights.data(), n_heads, n_tokens, n_frames);
  const int n_rows = static_cast<int>(text.size()) + 1;
  std::vector<float> cost(
      matrix.begin() + static_cast<ptrdiff_t>(first_text - 1) * n_frames,
      matrix.begin() + static_cast<ptrdiff_t>(first_text - 1 + n_rows) * n_frames);
  for (float& c : cost) c = -c;
  out->token_frames = dtw_row_starts(cost.data(), n_rows, n_frames);
  return true;
}

}  // namespace wn
