// StepBatcher: the decoder steps of concurrent calls in shared passes. Each
// call's rows must be bit for bit what its decoder computes alone, whoever
// shares its passes; calls stepping at once must actually share them; a
// member that leaves, or a bad step, must hold no one up. Runs on the
// random-weight tiny.en model with seeded pseudo-random encoder outputs.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/error.h"
#include "engine/model/decoder.h"
#include "engine/model/model.h"
#include "engine/model/step_batcher.h"
#include "tests/check.h"

namespace {

std::shared_ptr<const wn::Model> load_model() {
  static std::shared_ptr<const wn::Model> model = [] {
    wn::LoadOptions options;
    options.threads = 2;
    return wn::Model::load(wn_test::shared_dir() + "/models/ggml-tiny.en-random.bin", options);
  }();
  return model;
}

// Call c's encoder output: unit-scale pseudo-random values, seeded by c.
std::vector<float> fake_encoded(const wn::Model& model, int c) {
  const auto& h = model.hparams();
  std::vector<float> v(static_cast<size_t>(h.n_audio_ctx) * h.n_audio_state);
  uint64_t s = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(c + 1);
  for (float& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>(static_cast<int64_t>(s >> 33) % 2001 - 1000) / 500.0f;
  }
  return v;
}

// A greedy loop's record: the tokens chosen and a hash of every row's bits.
struct Run {
  std::vector<int32_t> tokens;
  uint64_t rows_hash = 1469598103934665603ull;
  int shared_steps = 0;  // the member's count
  std::string error;
};

void hash_row(const float* row, int n, uint64_t* h) {
  for (int j = 0; j < n; ++j) {
    uint32_t bits;
    std::memcpy(&bits, row + j, sizeof bits);
    *h = (*h ^ bits) * 1099511628211ull;
  }
}

int32_t argmax(const float* row, int n) {
  return static_cast<int32_t>(std::max_element(row, row + n) - row);
}

// Call c decodes `steps` tokens greedily (every other call asking only for
// the logits from eot on, as a step after a timestamp would), through the
// batcher when given one, else by forward() alone.
Run decode(const wn::Model& model, int c, int steps, wn::StepBatcher* batcher) {
  Run run;
  try {
    const int n_vocab = model.hparams().n_vocab;
    const std::vector<float> encoded = fake_encoded(model, c);
    wn::Decoder dec(model);
    dec.set_audio(encoded.data());
    std::vector<int32_t> prompt = {50257, 50363};
    for (int i = 0; i < c; ++i) prompt.push_back(400 + i);
    const float* row = dec.forward(prompt.data(), static_cast<int>(prompt.size()));
    std::unique_ptr<wn::StepBatcher::Member> member;
    if (batcher != nullptr) member = std::make_unique<wn::StepBatcher::Member>(batcher, &dec);
    for (int s = 0; s < steps; ++s) {
      const int32_t token = argmax(row, n_vocab) % 50256;  // stay clear of the specials
      run.tokens.push_back(token);
      const int first = (c % 2 == 1 && s % 3 == 2) ? 50256 : 0;
      row = member ? member->step(token, first)
                   : dec.forward(&token, 1, /*all_logits=*/false, nullptr, first);
      hash_row(row, n_vocab, &run.rows_hash);
    }
    if (member) run.shared_steps = member->shared_steps();
  } catch (const std::exception& e) {
    run.error = e.what();
  }
  return run;
}

TEST(calls_stepping_at_once_share_passes_and_each_gets_its_rows_alone) {
  const auto model = load_model();
  constexpr int kCalls = 4, kSteps = 24;
  std::vector<Run> alone;
  for (int c = 0; c < kCalls; ++c) alone.push_back(decode(*model, c, kSteps, nullptr));
  wn::StepBatcher batcher;
  std::vector<Run> shared(kCalls);
  std::vector<std::thread> threads;
  for (int c = 0; c < kCalls; ++c) {
    threads.emplace_back(
        [&, c] { shared[static_cast<size_t>(c)] = decode(*model, c, kSteps, &batcher); });
  }
  for (std::thread& t : threads) t.join();
  for (int c = 0; c < kCalls; ++c) {
    CHECK(shared[static_cast<size_t>(c)].error.empty());
    CHECK(shared[static_cast<size_t>(c)].tokens == alone[static_cast<size_t>(c)].tokens);
    CHECK(shared[static_cast<size_t>(c)].rows_hash == alone[static_cast<size_t>(c)].rows_hash);
  }
  const wn::StepBatcher::Counts counts = batcher.counts();
  std::printf("  %lld steps in %lld passes\n", static_cast<long long>(counts.steps),
              static_cast<long long>(counts.passes));
  CHECK(counts.steps == kCalls * kSteps);
  // The members count their steps that ran in a pass with others: every step
  // but those of the passes of one (at most one per pass).
  int64_t shared_steps = 0;
  for (const Run& r : shared) shared_steps += r.shared_steps;
  CHECK(shared_steps <= counts.steps);
  CHECK(shared_steps >= counts.steps - counts.passes);
  // The calls run the same loop, so passes take several of them (a pass of
  // one is what a call alone would run): 96 steps took 26-29 passes here,
  // 47 under ThreadSanitizer; a busy machine's late wake-ups split some
  // passes, so the bound asks for a quarter fewer passes than steps.
  CHECK(counts.passes * 4 <= counts.steps * 3);
}

TEST(a_lone_member_steps_alone_and_members_that_leave_hold_no_one_up) {
  const auto model = load_model();
  wn::StepBatcher batcher;
  const Run alone = decode(*model, 0, 6, nullptr);
  const Run lone = decode(*model, 0, 6, &batcher);
  CHECK(lone.tokens == alone.tokens && lone.rows_hash == alone.rows_hash);
  CHECK(lone.shared_steps == 0);
  CHECK(batcher.counts().passes == 6);
  // Calls of 2, 5 and 12 steps at once: the short ones leave while the long
  // one goes on (it would wait kGather per step for a member that never
  // comes, were leaving not seen).
  std::vector<Run> runs(3);
  const int steps[3] = {2, 5, 12};
  std::vector<std::thread> threads;
  for (int c = 0; c < 3; ++c) {
    threads.emplace_back(
        [&, c] { runs[static_cast<size_t>(c)] = decode(*model, c, steps[c], &batcher); });
  }
  for (std::thread& t : threads) t.join();
  for (int c = 0; c < 3; ++c) {
    const Run ref = decode(*model, c, steps[c], nullptr);
    CHECK(runs[static_cast<size_t>(c)].error.empty());
    CHECK(runs[static_cast<size_t>(c)].tokens == ref.tokens);
    CHECK(runs[static_cast<size_t>(c)].rows_hash == ref.rows_hash);
  }
}

TEST(a_bad_step_fails_in_its_own_call_only) {
  const auto model = load_model();
  wn::StepBatcher batcher;
  const std::vector<float> encoded = fake_encoded(*model, 0);
  wn::Decoder dec(*model), silent(*model);
  dec.set_audio(encoded.data());
  const int32_t sot = 50257;
  dec.forward(&sot, 1);
  wn::StepBatcher::Member member(&batcher, &dec);
  CHECK_THROWS_CODE(member.step(-1, 0), wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(member.step(model->hparams().n_vocab, 0), wn::ErrorCode::kInvalidArgument);
  wn::StepBatcher::Member no_audio(&batcher, &silent);
  CHECK_THROWS_CODE(no_audio.step(300, 0), wn::ErrorCode::kInvalidArgument);
  CHECK(dec.n_past() == 1);
  CHECK(member.step(300, 0) != nullptr);  // the member still steps
  CHECK(dec.n_past() == 2);
  CHECK(batcher.counts().steps == 1);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
