// The decoder side of word timing (word_alignment.h) on the random-weight
// tiny.en model: which heads are used, and that capturing the heads in
// several passes (a small memory budget) aligns exactly as one pass does.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "engine/decode/tokenizer.h"
#include "engine/model/decoder.h"
#include "engine/model/model.h"
#include "engine/word_alignment.h"

namespace {

std::shared_ptr<const wn::Model> random_model() {
  static std::shared_ptr<const wn::Model> model = [] {
    wn::LoadOptions options;
    options.threads = 2;
    return wn::Model::load(wn_test::shared_dir() + "/models/ggml-tiny.en-random.bin", options);
  }();
  return model;
}

std::vector<float> fake_encoded(const wn::Model& model) {
  const auto& h = model.hparams();
  std::vector<float> v(static_cast<size_t>(h.n_audio_ctx) * h.n_audio_state);
  uint64_t s = 12345;
  for (float& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>(static_cast<int64_t>(s >> 33) % 2001 - 1000) / 500.0f;
  }
  return v;
}

bool same_heads(const std::vector<wn::AttentionHead>& a,
                const std::vector<std::pair<int, int>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].layer != b[i].first || a[i].head != b[i].second) return false;
  }
  return true;
}

}  // namespace

TEST(alignment_heads_by_model) {
  wn::HParams h = random_model()->hparams();  // tiny.en
  CHECK(same_heads(wn::alignment_heads(h),
                   {{1, 0}, {2, 0}, {2, 5}, {3, 0}, {3, 1}, {3, 2}, {3, 3}, {3, 4}}));
  h.n_vocab = 51865;  // tiny
  CHECK(same_heads(wn::alignment_heads(h), {{2, 2}, {3, 0}, {3, 2}, {3, 3}, {3, 4}, {3, 5}}));
  // medium.en and medium: told apart by the vocabulary.
  h.n_text_layer = 24, h.n_text_head = 16, h.n_text_state = 1024, h.n_vocab = 51864;
  CHECK(wn::alignment_heads(h).size() == 18u);
  CHECK(wn::alignment_heads(h).front().layer == 11 && wn::alignment_heads(h).front().head == 4);
  h.n_vocab = 51865;
  CHECK(
      same_heads(wn::alignment_heads(h), {{13, 15}, {15, 4}, {15, 15}, {16, 1}, {20, 0}, {23, 4}}));
  // large-v2 (80 mel bands) and large-v3 (128): same decoder, other heads.
  h.n_text_layer = 32, h.n_text_head = 20, h.n_text_state = 1280;
  CHECK(wn::alignment_heads(h).size() == 23u);
  h.n_mels = 128, h.n_vocab = 51866;
  CHECK(wn::alignment_heads(h).size() == 10u);
  CHECK(wn::alignment_heads(h).back().layer == 25 && wn::alignment_heads(h).back().head == 6);
  // large-v3-turbo: 4 decoder layers of large's width.
  h.n_text_layer = 4;
  CHECK(same_heads(wn::alignment_heads(h), {{2, 4}, {2, 11}, {3, 3}, {3, 6}, {3, 11}, {3, 14}}));
  // Dimensions of no official model (a fine-tune): every head of the last half
  // of the decoder layers, as the reference does.
  h.n_text_layer = 10, h.n_text_head = 4, h.n_text_state = 256;
  const auto other = wn::alignment_heads(h);
  CHECK(other.size() == 5u * 4u);
  CHECK(other.front().layer == 5 && other.front().head == 0);
  CHECK(other.back().layer == 9 && other.back().head == 3);
}

TEST(alignment_in_several_passes_equals_one_pass) {
  const auto model = random_model();
  const wn::Tokenizer tokenizer(model->vocab(), model->hparams().n_vocab);
  const std::vector<float> encoded = fake_encoded(*model);
  wn::Decoder decoder(*model);
  decoder.set_audio(encoded.data());
  const std::vector<int32_t> sot = tokenizer.sot_sequence(0, false, true);
  const std::vector<int32_t> text = tokenizer.encode(" Ask not what your country can do for you.");
  const std::vector<wn::AttentionHead> heads = wn::alignment_heads(model->hparams());
  const int n_frames = 400;
  wn::WindowAlignment one, several;
  CHECK(wn::align_window(&decoder, tokenizer, sot, text, n_frames, heads, nullptr, &one));
  // A budget of one head's plane: eight passes of one head each.
  const size_t plane = (sot.size() + 2 + text.size()) * n_frames;
  CHECK(
      wn::align_window(&decoder, tokenizer, sot, text, n_frames, heads, nullptr, &several, plane));
  CHECK(one.token_frames.size() == text.size() + 1);
  CHECK(several.token_frames == one.token_frames);
  CHECK(several.token_probs == one.token_probs);
  for (size_t i = 1; i < one.token_frames.size(); ++i) {
    CHECK(one.token_frames[i] >= one.token_frames[i - 1]);  // DTW is monotonic
  }
  for (float p : one.token_probs) CHECK(p > 0 && p <= 1);
  CHECK(one.token_frames.back() < n_frames);
  CHECK(decoder.n_past() == 0);  // the pass leaves the decoder reset
  // Nothing to align: no text, or more than the context holds.
  CHECK(!wn::align_window(&decoder, tokenizer, sot, {}, n_frames, heads, nullptr, &one));
  const std::vector<int32_t> too_long(500, text[0]);
  CHECK(!wn::align_window(&decoder, tokenizer, sot, too_long, n_frames, heads, nullptr, &one));
}

int main() {
  return wn_test::run_all();
}
