// The decoder's multi-slot pass (forward_batch, copy_sequence) and the beam
// bookkeeping on top of it (BeamCaches), checked against the single-sequence
// forward(): a batched step of B sequences must give each sequence the logits
// it gets alone, before and after the beams are re-ranked. Runs on the
// random-weight tiny.en model with a seeded pseudo-random encoder output.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/kernels/kernels.h"
#include "engine/model/beam_caches.h"
#include "engine/model/decoder.h"
#include "engine/model/model.h"
#include "tests/check.h"

namespace {

// Batched and single passes do the same arithmetic per row; only a GEMM's
// blocking over rows may change the summation order.
constexpr double kTol = 1e-4;

std::shared_ptr<const wn::Model> load_model() {
  static std::shared_ptr<const wn::Model> model =
      wn::Model::load(wn_test::shared_dir() + "/models/ggml-tiny.en-random.bin", wn::LoadOptions{});
  return model;
}

// An encoder output of unit-scale values (a LayerNorm's output range).
std::vector<float> fake_encoded(const wn::Model& model) {
  const auto& h = model.hparams();
  std::vector<float> v(static_cast<size_t>(h.n_audio_ctx) * h.n_audio_state);
  uint64_t s = 0x9E3779B97F4A7C15ull;
  for (float& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>(static_cast<int64_t>(s >> 33) % 2001 - 1000) / 500.0f;
  }
  return v;
}

// The logits row after the whole sequence, computed by a fresh one-slot decoder.
std::vector<float> alone(const wn::Model& model, const std::vector<float>& encoded,
                         const std::vector<int32_t>& sequence) {
  wn::Decoder dec(model);
  dec.set_audio(encoded.data());
  const float* row = dec.forward(sequence.data(), static_cast<int>(sequence.size()));
  return std::vector<float>(row, row + model.hparams().n_vocab);
}

double max_diff(const float* a, const std::vector<float>& b) {
  double worst = 0;
  for (size_t i = 0; i < b.size(); ++i) worst = std::max(worst, std::fabs(double{a[i]} - b[i]));
  return worst;
}

const std::vector<int32_t> kPrompt = {50257, 50363, 464, 2068};  // sot <|0.00|> " The" " quick"

TEST(batched_step_matches_single_sequences) {
  const auto model = load_model();
  const int n_vocab = model->hparams().n_vocab;
  const std::vector<float> encoded = fake_encoded(*model);
  wn::Decoder dec(*model, 3);
  dec.set_audio(encoded.data());
  dec.forward(kPrompt.data(), static_cast<int>(kPrompt.size()));
  dec.copy_sequence(0, 1);
  dec.copy_sequence(0, 2);
  CHECK(dec.sequence(2) == kPrompt);
  const int32_t tokens[3] = {7586, 11687, 318};
  const int slots[3] = {2, 0, 1};  // rows need not follow slot order
  const float* rows = dec.forward_batch(tokens, slots, 3);
  for (int i = 0; i < 3; ++i) {
    std::vector<int32_t> seq = kPrompt;
    seq.push_back(tokens[i]);
    const double diff = max_diff(rows + int64_t{i} * n_vocab, alone(*model, encoded, seq));
    CHECK(diff <= kTol);
    CHECK(dec.sequence(slots[i]) == seq);
  }
}

TEST(beam_steps_with_reorders_match_single_sequences) {
  const auto model = load_model();
  const int n_vocab = model->hparams().n_vocab;
  const std::vector<float> encoded = fake_encoded(*model);
  wn::Decoder dec(*model, 4);
  dec.set_audio(encoded.data());
  // Feed the prompt plus a token the search must cut away again.
  std::vector<int32_t> fed = kPrompt;
  fed.push_back(999);
  dec.forward(fed.data(), static_cast<int>(fed.size()));
  wn::BeamCaches beams(&dec);
  beams.start(static_cast<int>(kPrompt.size()));
  CHECK(dec.n_past(0) == static_cast<int>(kPrompt.size()));

  // Each step: the beams' parents (rows of the previous step) and new tokens.
  // Step 2 drops beam 2 and forks beam 0 twice; step 3 reverses the order.
  const std::vector<std::vector<int>> parents = {{0, 0, 0, 0}, {0, 0, 1, 3}, {3, 2, 1, 0}};
  const std::vector<std::vector<int32_t>> tokens = {
      {11, 13, 257, 290}, {340, 341, 342, 343}, {50256 - 1, 1000, 2000, 3000}};
  std::vector<std::vector<int32_t>> sequences = {kPrompt};
  for (size_t step = 0; step < parents.size(); ++step) {
    std::vector<std::vector<int32_t>> next;
    for (size_t i = 0; i < parents[step].size(); ++i) {
      next.push_back(sequences[static_cast<size_t>(parents[step][i])]);
      next.back().push_back(tokens[step][i]);
    }
    const float* rows = beams.step(tokens[step], parents[step]);
    for (size_t i = 0; i < next.size(); ++i) {
      const double diff = max_diff(rows + i * n_vocab, alone(*model, encoded, next[i]));
      if (diff > kTol) std::printf("  step %zu beam %zu: max |diff| %g\n", step, i, diff);
      CHECK(diff <= kTol);
    }
    sequences = next;
  }
}

TEST(copy_sequence_keeps_the_shared_prefix_and_replaces_the_rest) {
  const auto model = load_model();
  const int n_vocab = model->hparams().n_vocab;
  const std::vector<float> encoded = fake_encoded(*model);
  wn::Decoder dec(*model, 2);
  dec.set_audio(encoded.data());
  std::vector<int32_t> a = kPrompt, b = kPrompt;
  a.insert(a.end(), {100, 101, 102});
  b.insert(b.end(), {200, 201});
  dec.forward(a.data(), static_cast<int>(a.size()));
  // Slot 1 gets b by copying slot 0's prompt rows, then feeding the rest.
  dec.copy_sequence(0, 1);
  dec.truncate(static_cast<int>(kPrompt.size()), 1);
  const int32_t b_rest[2] = {200, 201};
  for (int32_t t : b_rest) {
    const int slot = 1;
    dec.forward_batch(&t, &slot, 1);
  }
  CHECK(dec.sequence(1) == b);
  // Now slot 0 becomes b (common prefix: the prompt) and slot 1 stays b.
  dec.copy_sequence(1, 0);
  CHECK(dec.sequence(0) == b);
  const int32_t next[2] = {300, 301};
  const int slots[2] = {0, 1};
  const float* rows = dec.forward_batch(next, slots, 2);
  for (int i = 0; i < 2; ++i) {
    std::vector<int32_t> seq = b;
    seq.push_back(next[i]);
    CHECK(max_diff(rows + int64_t{i} * n_vocab, alone(*model, encoded, seq)) <= kTol);
  }
}

TEST(cross_attention_capture_is_a_softmax_over_the_window_and_changes_nothing) {
  const auto model = load_model();
  const int n_vocab = model->hparams().n_vocab;
  const std::vector<float> encoded = fake_encoded(*model);
  wn::Decoder dec(*model);
  dec.set_audio(encoded.data());
  const int n = static_cast<int>(kPrompt.size());
  const float* plain = dec.forward(kPrompt.data(), n, true);
  const std::vector<float> expected(plain, plain + int64_t{n} * n_vocab);
  dec.reset();
  wn::CrossAttentionCapture capture;
  capture.heads = {{0, 0}, {3, 5}};
  capture.n_frames = 37;
  const float* logits = dec.forward(kPrompt.data(), n, true, &capture);
  CHECK(max_diff(logits, expected) == 0.0);
  CHECK(capture.weights.size() == 2u * n * 37);
  bool rows_sum_to_one = true, differ_by_head = false;
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < n; ++i) {
      double sum = 0;
      for (int t = 0; t < 37; ++t) {
        const float w = capture.weights[(static_cast<size_t>(h) * n + i) * 37 + t];
        if (!(w >= 0)) rows_sum_to_one = false;
        sum += w;
        if (h == 1 && w != capture.weights[static_cast<size_t>(i) * 37 + t]) differ_by_head = true;
      }
      if (std::fabs(sum - 1.0) > 1e-5) rows_sum_to_one = false;
    }
  }
  CHECK(rows_sum_to_one);
  CHECK(differ_by_head);
  capture.heads = {{4, 0}};  // tiny has layers 0..3
  dec.reset();
  CHECK_THROWS_CODE(dec.forward(kPrompt.data(), n, true, &capture),
                    wn::ErrorCode::kInvalidArgument);
  capture.heads = {{0, 0}};
  capture.n_frames = 1501;
  CHECK_THROWS_CODE(dec.forward(kPrompt.data(), n, true, &capture),
                    wn::ErrorCode::kInvalidArgument);
}

TEST(forward_batch_rejects_bad_slots) {
  const auto model = load_model();
  const std::vector<float> encoded = fake_encoded(*model);
  wn::Decoder dec(*model, 2);
  const int32_t tokens[2] = {1, 2};
  const int same[2] = {1, 1};
  const int outside[2] = {0, 2};
  CHECK_THROWS_CODE(dec.forward_batch(tokens, same, 2), wn::ErrorCode::kInvalidArgument);
  dec.set_audio(encoded.data());
  CHECK_THROWS_CODE(dec.forward_batch(tokens, same, 2), wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(dec.forward_batch(tokens, outside, 2), wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(dec.copy_sequence(0, 5), wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(wn::Decoder(*model, 0), wn::ErrorCode::kInvalidArgument);
  CHECK(dec.n_past(0) == 0 && dec.n_past(1) == 0);  // nothing was fed
}

}  // namespace

// A step whose filters forbid every token below first_token needs only the
// logits from there on: those match the full row's exactly (the same
// arithmetic), the ones below come back -inf.
TEST(forward_from_first_token_computes_the_rest_of_the_row_alone) {
  const auto model = load_model();
  const std::vector<float> encoded = fake_encoded(*model);
  const int n_vocab = model->hparams().n_vocab;
  const std::vector<float> full = alone(*model, encoded, kPrompt);
  wn::Decoder dec(*model);
  dec.set_audio(encoded.data());
  const int first = 50256;  // eot
  const float* row = dec.forward(kPrompt.data(), static_cast<int>(kPrompt.size()),
                                 /*all_logits=*/false, nullptr, first);
  bool below = true, same = true;
  for (int j = 0; j < first; ++j) below &= row[j] == -INFINITY;
  for (int j = first; j < n_vocab; ++j) same &= row[j] == full[static_cast<size_t>(j)];
  CHECK(below);
  CHECK(same);
}

// Concurrent transcriptions share passes (forward_together): each decoder's
// row must be bit for bit what it gets alone, on every kernel path, whatever
// rows share the pass, including one that asks for fewer logits
// (first_token) and decoders at different positions.
void check_together_matches_alone(wn::kernels::Isa isa) {
  if (!wn::kernels::isa_supported(isa)) {
    std::printf("  %s: not supported here, skipped\n", wn::kernels::isa_name(isa));
    return;
  }
  wn::LoadOptions options;
  options.isa = isa;
  options.threads = 2;
  const auto model =
      wn::Model::load(wn_test::shared_dir() + "/models/ggml-tiny.en-random.bin", options);
  const int n_vocab = model->hparams().n_vocab;
  std::vector<float> encoded = fake_encoded(*model);
  constexpr int kCalls = 4;
  // Each call: its own audio (the encoded window shifted), prompt and tokens.
  std::vector<std::unique_ptr<wn::Decoder>> together, apart;
  std::vector<std::vector<float>> audio;
  for (int c = 0; c < kCalls; ++c) {
    std::vector<float> a = encoded;
    std::rotate(a.begin(), a.begin() + 997 * c, a.end());
    audio.push_back(std::move(a));
  }
  for (int c = 0; c < kCalls; ++c) {
    for (auto* set : {&together, &apart}) {
      set->push_back(std::make_unique<wn::Decoder>(*model));
      set->back()->set_audio(audio[static_cast<size_t>(c)].data());
      std::vector<int32_t> prompt = kPrompt;
      for (int i = 0; i < c; ++i) prompt.push_back(300 + i);  // different positions
      set->back()->forward(prompt.data(), static_cast<int>(prompt.size()));
    }
  }
  wn::DecoderRows rows;
  bool same = true, cut = true;
  for (int step = 0; step < 3; ++step) {
    // Passes of 4, then 3 and 2 of the calls (not always from the first).
    const int n = kCalls - step;
    std::vector<wn::Decoder*> decoders;
    std::vector<int32_t> tokens;
    std::vector<int> first_tokens;
    for (int i = 0; i < n; ++i) {
      const int c = (i + step) % kCalls;
      decoders.push_back(together[static_cast<size_t>(c)].get());
      tokens.push_back(1000 + 37 * c + step);
      first_tokens.push_back(c == 1 ? 50257 : 0);
    }
    wn::Decoder::forward_together(decoders.data(), tokens.data(), first_tokens.data(), n, &rows);
    for (int i = 0; i < n; ++i) {
      const int c = (i + step) % kCalls;
      const float* alone_row = apart[static_cast<size_t>(c)]->forward(
          &tokens[static_cast<size_t>(i)], 1, false, nullptr, first_tokens[static_cast<size_t>(i)]);
      const float* row = decoders[static_cast<size_t>(i)]->logits();
      same &= std::memcmp(row, alone_row, sizeof(float) * n_vocab) == 0;
      if (first_tokens[static_cast<size_t>(i)] > 0) cut &= row[50256] == -INFINITY;
      same &= decoders[static_cast<size_t>(i)]->sequence(0) ==
              apart[static_cast<size_t>(c)]->sequence(0);
    }
  }
  std::printf("  %s: %s\n", wn::kernels::isa_name(isa), same && cut ? "bit for bit" : "DIFFERENT");
  CHECK(same);
  CHECK(cut);
}

TEST(forward_together_gives_each_decoder_its_row_alone_on_every_path) {
  for (wn::kernels::Isa isa : {wn::kernels::Isa::kGeneric, wn::kernels::Isa::kAvx2,
                               wn::kernels::Isa::kAvx512, wn::kernels::Isa::kNeon}) {
    check_together_matches_alone(isa);
  }
}

TEST(forward_together_rejects_bad_passes) {
  const auto model = load_model();
  const std::vector<float> encoded = fake_encoded(*model);
  wn::Decoder a(*model), b(*model), silent(*model);
  a.set_audio(encoded.data());
  b.set_audio(encoded.data());
  wn::DecoderRows rows;
  const int32_t tokens[2] = {300, 301};
  const int first[2] = {0, 0};
  wn::Decoder* twice[2] = {&a, &a};
  CHECK_THROWS_CODE(wn::Decoder::forward_together(twice, tokens, first, 2, &rows),
                    wn::ErrorCode::kInvalidArgument);
  wn::Decoder* no_audio[2] = {&a, &silent};
  CHECK_THROWS_CODE(wn::Decoder::forward_together(no_audio, tokens, first, 2, &rows),
                    wn::ErrorCode::kInvalidArgument);
  const int32_t bad[2] = {300, -1};
  wn::Decoder* pair[2] = {&a, &b};
  CHECK_THROWS_CODE(wn::Decoder::forward_together(pair, bad, first, 2, &rows),
                    wn::ErrorCode::kInvalidArgument);
  CHECK(a.n_past() == 0 && b.n_past() == 0);  // nothing was fed
}

int main() {
  return wn_test::run_all();
}
