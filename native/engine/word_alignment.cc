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

struct HeadSet {
  int n_mels, n_text_layer, n_text_head, n_text_state;
  bool multilingual;
  std::vector<AttentionHead> heads;
};

// OpenAI's published alignment heads (tiny and tiny.en as REFERENCE.md §3; the
// others from the same published masks, as whisper.cpp also ships them), keyed
// by the dimensions that tell the models apart. large-v1 and large-v2 have the
// same dimensions and vocabulary, so a file cannot say which it is: the table
// uses large-v2's heads, the far more common of the two.
const std::vector<HeadSet>& published_head_sets() {
  // clang-format off
  // Never destroyed (a leaked heap object): a call may still be running on its
  // thread while the process exits and destroys static objects.
  static const std::vector<HeadSet>* const sets = new std::vector<HeadSet>{
      {80, 4, 6, 384, false, {{1, 0}, {2, 0}, {2, 5}, {3, 0}, {3, 1}, {3, 2}, {3, 3}, {3, 4}}},
      {80, 4, 6, 384, true, {{2, 2}, {3, 0}, {3, 2}, {3, 3}, {3, 4}, {3, 5}}},
      {80, 6, 8, 512, false, {{3, 3}, {4, 7}, {5, 1}, {5, 5}, {5, 7}}},
      {80, 6, 8, 512, true, {{3, 1}, {4, 2}, {4, 3}, {4, 7}, {5, 1}, {5, 2}, {5, 4}, {5, 6}}},
      {80, 12, 12, 768, false, {{6, 6}, {7, 0}, {7, 3}, {7, 8}, {8, 2}, {8, 5}, {8, 7}, {9, 0},
                                {9, 4}, {9, 8}, {9, 10}, {10, 0}, {10, 1}, {10, 2}, {10, 3},
                                {10, 6}, {10, 11}, {11, 2}, {11, 4}}},
      {80, 12, 12, 768, true, {{5, 3}, {5, 9}, {8, 0}, {8, 4}, {8, 7}, {8, 8}, {9, 0}, {9, 7},
                               {9, 9}, {10, 5}}},
      {80, 24, 16, 1024, false, {{11, 4}, {14, 1}, {14, 12}, {14, 14}, {15, 4}, {16, 0}, {16, 4},
                                 {16, 9}, {17, 12}, {17, 14}, {18, 7}, {18, 10}, {18, 15},
                                 {20, 0}, {20, 3}, {20, 9}, {20, 14}, {21, 12}}},
      {80, 24, 16, 1024, true, {{13, 15}, {15, 4}, {15, 15}, {16, 1}, {20, 0}, {23, 4}}},
      // large-v2 (also used for large-v1; see above).
      {80, 32, 20, 1280, true, {{10, 12}, {13, 17}, {16, 11}, {16, 12}, {16, 13}, {17, 15},
                                {17, 16}, {18, 4}, {18, 11}, {18, 19}, {19, 11}, {21, 2},
                                {21, 3}, {22, 3}, {22, 9}, {22, 12}, {23, 5}, {23, 7},
                                {23, 13}, {25, 5}, {26, 1}, {26, 12}, {27, 15}}},
      // large-v3, and large-v3-turbo (4 decoder layers).
      {128, 32, 20, 1280, true, {{7, 0}, {10, 17}, {12, 18}, {13, 12}, {16, 1}, {17, 14},
                                 {19, 11}, {21, 4}, {24, 1}, {25, 6}}},
      {128, 4, 20, 1280, true, {{2, 4}, {2, 11}, {3, 3}, {3, 6}, {3, 11}, {3, 14}}},
  };
  // clang-format on
  return *sets;
}

// Row r of a chunk starting at `begin` predicts token begin + r + 1: text
// token k is predicted by row first_text - 1 + k. Its probability is taken
// over the text tokens only (columns below eot), as the reference's.
void record_token_probs(const float* logits, int rows, int begin, size_t first_text,
                        const std::vector<int32_t>& text, int32_t eot, int n_vocab,
                        WindowAlignment* out) {
  for (int r = 0; r < rows; ++r) {
    const int k = begin + r - static_cast<int>(first_text) + 1;
    if (k < 0 || k >= static_cast<int>(text.size())) continue;
    const float* l = logits + static_cast<size_t>(r) * n_vocab;
    const float max_logit = *std::max_element(l, l + eot);
    double sum = 0;
    for (int32_t t = 0; t < eot; ++t) sum += std::exp(static_cast<double>(l[t] - max_logit));
    out->token_probs[static_cast<size_t>(k)] =
        static_cast<float>(std::exp(static_cast<double>(l[text[k]] - max_logit)) / sum);
  }
}

}  // namespace

std::vector<AttentionHead> alignment_heads(const HParams& h) {
  const bool multilingual = h.n_vocab >= 51865;
  for (const HeadSet& set : published_head_sets()) {
    if (set.n_mels == h.n_mels && set.n_text_layer == h.n_text_layer &&
        set.n_text_head == h.n_text_head && set.n_text_state == h.n_text_state &&
        set.multilingual == multilingual) {
      return set.heads;
    }
  }
  std::vector<AttentionHead> heads;
  for (int layer = h.n_text_layer / 2; layer < h.n_text_layer; ++layer) {
    for (int head = 0; head < h.n_text_head; ++head) heads.push_back({layer, head});
  }
  return heads;
}

bool align_window(Decoder* decoder, const Tokenizer& tokenizer,
                  const std::vector<int32_t>& sot_sequence, const std::vector<int32_t>& text,
                  int n_frames, const std::vector<AttentionHead>& heads,
                  const CancellationFlag* cancel, WindowAlignment* out,
                  size_t capture_budget_floats) {
  // The captured weights ([heads][tokens][frames] floats) are held for one
  // group of heads at a time, each group costing one more decoder pass: a
  // model without a published head set aligns with every head of its last
  // half of layers (320 for large), which would otherwise take ~0.4 GB.
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

  const size_t plane = static_cast<size_t>(n_tokens) * n_frames;
  const int heads_per_pass =
      static_cast<int>(std::clamp<size_t>(capture_budget_floats / plane, 1, heads.size()));
  std::vector<float> matrix(plane, 0.0f);  // sum over heads, then the mean
  std::vector<float> weights;              // [group heads][tokens][frames]
  out->token_probs.assign(text.size(), 0.0f);
  for (int first_head = 0; first_head < n_heads; first_head += heads_per_pass) {
    CrossAttentionCapture capture;
    capture.heads.assign(heads.begin() + first_head,
                         heads.begin() + std::min(n_heads, first_head + heads_per_pass));
    capture.n_frames = n_frames;
    const int group = static_cast<int>(capture.heads.size());
    weights.resize(static_cast<size_t>(group) * plane);
    decoder->reset();
    for (int begin = 0; begin < n_tokens; begin += kChunkRows) {
      throw_if_cancelled(cancel);
      const int rows = std::min(kChunkRows, n_tokens - begin);
      const float* logits = decoder->forward(tokens.data() + begin, rows, true, &capture);
      for (int h = 0; h < group; ++h) {
        std::copy_n(capture.weights.data() + static_cast<size_t>(h) * rows * n_frames,
                    static_cast<size_t>(rows) * n_frames,
                    weights.data() + (static_cast<size_t>(h) * n_tokens + begin) * n_frames);
      }
      if (first_head == 0)
        record_token_probs(logits, rows, begin, first_text, text, eot, n_vocab, out);
    }
    const std::vector<float> part = alignment_matrix(weights.data(), group, n_tokens, n_frames);
    for (size_t i = 0; i < plane; ++i) matrix[i] += part[i] * static_cast<float>(group);
  }
  decoder->reset();
  for (float& v : matrix) v /= static_cast<float>(n_heads);

  // Rows from <|notimestamps|> (predicting the first text token) to the last
  // text token (predicting eot): one per text token plus one.
  const int n_rows = static_cast<int>(text.size()) + 1;
  std::vector<float> cost(
      matrix.begin() + static_cast<ptrdiff_t>(first_text - 1) * n_frames,
      matrix.begin() + static_cast<ptrdiff_t>(first_text - 1 + n_rows) * n_frames);
  for (float& c : cost) c = -c;
  out->token_frames = dtw_row_starts(cost.data(), n_rows, n_frames);
  return true;
}

}  // namespace wn
