// Temperature sampling, the seeded RNG, the no-speech probability and the
// quality rules of the fallback (candidate ranking, retry, silence), on crafted
// logits and crafted numbers; expected values worked out by hand from the
// reference's rules (decoding.py / transcribe.py).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "decode_test_vocab.h"
#include "engine/core/error.h"
#include "engine/decode/compression_ratio.h"
#include "engine/decode/greedy.h"
#include "engine/decode/logit_filters.h"
#include "engine/decode/quality.h"
#include "engine/decode/segments.h"

using namespace wn_test;

namespace {

constexpr float kBackground = -100.0f;

std::vector<float> background_row() {
  return std::vector<float>(kTestVocab, kBackground);
}

// No timestamp rules and no blank suppression: the rows below decide alone.
const wn::LogitFilters& plain_filters() {
  static const wn::LogitFilters filters = [] {
    wn::LogitFilterOptions o;
    o.timestamps = false;
    o.suppress_blank = false;
    return wn::LogitFilters(fake_tokenizer(), o);
  }();
  return filters;
}

// Row 0 offers 'a' with p = 3/4 and 'b' with p = 1/4; every later row says eot.
struct TwoChoiceSource {
  std::vector<float> first = background_row(), then_eot = background_row();
  TwoChoiceSource() {
    first['a'] = 0.0f;
    first['b'] = -std::log(3.0f);
    then_eot[kEot] = 0.0f;
  }
  wn::LogitsFn fn() {
    return [this](const int32_t*, int) { return then_eot.data(); };
  }
  wn::FedPrompt prompt() const {
    wn::FedPrompt p;
    p.first_row = first;
    p.n_prompt = 1;
    return p;
  }
};

double fraction_of_a(double temperature, uint64_t seed, int draws) {
  TwoChoiceSource source;
  wn::GreedyDecoder decoder(plain_filters(), 224, 448);
  wn::Rng rng(seed);
  wn::DecodedWindow out;
  int n_a = 0;
  for (int i = 0; i < draws; ++i) {
    decoder.sample(source.prompt(), temperature, &rng, source.fn(), nullptr, &out);
    CHECK(out.tokens.size() == 1 && out.ended_with_eot);
    if (out.tokens[0].id == 'a') n_a++;
  }
  return static_cast<double>(n_a) / draws;
}

}  // namespace

TEST(rng_is_deterministic_and_uniform) {
  wn::Rng a(42), b(42), c(43);
  bool all_same = true, any_differs = false;
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    const double x = a.next_unit();
    all_same = all_same && x == b.next_unit();
    any_differs = any_differs || x != c.next_unit();
    CHECK(x >= 0 && x < 1);
    sum += x;
  }
  CHECK(all_same);
  CHECK(any_differs);
  CHECK_NEAR(sum / 10000, 0.5, 0.02);
}

TEST(sampling_follows_softmax_of_logits_over_temperature) {
  // T = 1: p(a) = 3/4. T = 0.5: weights 3^2 : 1, p(a) = 0.9. T = 0: always a.
  CHECK_NEAR(fraction_of_a(1.0, 7, 1500), 0.75, 0.04);  // ~3.5 standard deviations
  CHECK_NEAR(fraction_of_a(0.5, 7, 1500), 0.90, 0.03);
  CHECK_NEAR(fraction_of_a(0.0, 7, 50), 1.0, 0.0);
}

TEST(sampled_logprobs_are_those_of_temperature_one) {
  TwoChoiceSource source;
  wn::GreedyDecoder decoder(plain_filters(), 224, 448);
  wn::Rng rng(1);
  wn::DecodedWindow out;
  bool saw_a = false, saw_b = false;
  for (int i = 0; i < 200 && !(saw_a && saw_b); ++i) {
    decoder.sample(source.prompt(), 0.5, &rng, source.fn(), nullptr, &out);
    const double expected = out.tokens[0].id == 'a' ? std::log(0.75) : std::log(0.25);
    CHECK_NEAR(out.tokens[0].logprob, expected, 1e-5);
    CHECK_NEAR(out.sum_logprob, expected, 1e-5);  // + log p(eot) = 0
    CHECK(out.temperature == 0.5);
    saw_a = saw_a || out.tokens[0].id == 'a';
    saw_b = saw_b || out.tokens[0].id == 'b';
  }
  CHECK(saw_a && saw_b);
}

TEST(the_reported_temperature_is_exactly_the_one_given) {
  // 0.2 is no float: the decoding and its quality carry the caller's double
  // (JS reads 0.2, not 0.20000000298), while the draws divide by the float
  // nearest to it, so they are those of 0.2f.
  std::vector<float> row = background_row();
  for (int c = 'a'; c <= 'z'; ++c) row[c] = 0.1f * static_cast<float>(c - 'a');  // never eot
  const wn::LogitsFn source = [&](const int32_t*, int) { return row.data(); };
  wn::FedPrompt prompt;
  prompt.first_row = row;
  prompt.n_prompt = 1;
  wn::GreedyDecoder decoder(plain_filters(), 40, 448);
  std::vector<int32_t> draws[2];
  const double temperatures[2] = {0.2, static_cast<double>(0.2f)};
  for (int r = 0; r < 2; ++r) {
    wn::Rng rng(11);
    wn::DecodedWindow out;
    decoder.sample(prompt, temperatures[r], &rng, source, nullptr, &out);
    CHECK(out.temperature == temperatures[r]);
    CHECK(wn::measure_window(out, fake_tokenizer(), 0).temperature == temperatures[r]);
    for (const wn::SampledToken& t : out.tokens) draws[r].push_back(t.id);
  }
  CHECK(draws[0].size() == 40 && draws[0] == draws[1]);
}

// With rows that are the source's scratch, a step filters the row in place
// (no copy) and chooses exactly what it chooses on a copy.
TEST(scratch_rows_are_filtered_in_place_with_the_same_choices) {
  std::vector<float> row = background_row();
  for (int c = 'a'; c <= 'z'; ++c) row[c] = 0.05f * static_cast<float>(c - 'a');
  const int32_t suppressed = plain_filters().always_suppressed().front();
  row[suppressed] = 50.0f;  // would win if it were not suppressed
  std::vector<float> scratch;
  const wn::LogitsFn source = [&](const int32_t*, int) {
    scratch = row;  // a fresh row each pass, as the decoder's scratch
    return scratch.data();
  };
  wn::FedPrompt prompt;
  prompt.first_row = row;
  prompt.n_prompt = 1;
  std::vector<int32_t> tokens[2];
  for (int mode = 0; mode < 2; ++mode) {
    wn::GreedyDecoder decoder(plain_filters(), 20, 448);
    decoder.set_rows_are_scratch(mode == 1);
    wn::Rng rng(3);
    wn::DecodedWindow out;
    decoder.sample(prompt, 0.7, &rng, source, nullptr, &out);
    for (const wn::SampledToken& t : out.tokens) tokens[mode].push_back(t.id);
    // In place: the source's last row carries the mask; on a copy it does not.
    CHECK((scratch[suppressed] == -INFINITY) == (mode == 1));
  }
  CHECK(tokens[0].size() == 20 && tokens[0] == tokens[1]);
  CHECK(prompt.first_row[suppressed] == 50.0f);  // the shared first row is never touched
}

TEST(same_seed_gives_the_same_samples) {
  std::vector<float> row = background_row();
  for (int c = 'a'; c <= 'z'; ++c) row[c] = 0.0f;  // 26 equally likely letters, never eot
  const wn::LogitsFn source = [&](const int32_t*, int) { return row.data(); };
  wn::FedPrompt prompt;
  prompt.first_row = row;
  prompt.n_prompt = 1;
  wn::GreedyDecoder decoder(plain_filters(), 30, 448);
  std::vector<int32_t> runs[3];
  const uint64_t seeds[3] = {5, 5, 6};
  for (int r = 0; r < 3; ++r) {
    wn::Rng rng(seeds[r]);
    wn::DecodedWindow out;
    decoder.sample(prompt, 1.0f, &rng, source, nullptr, &out);
    CHECK(out.tokens.size() == 30);
    for (const wn::SampledToken& t : out.tokens) runs[r].push_back(t.id);
  }
  CHECK(runs[0] == runs[1]);
  CHECK(runs[0] != runs[2]);
  wn::GreedyDecoder d(plain_filters(), 30, 448);
  wn::DecodedWindow out;
  CHECK_THROWS_CODE(d.sample(prompt, 1.0f, nullptr, source, nullptr, &out),
                    wn::ErrorCode::kInvalidArgument);
}

// The row after a sequence, a function of the sequence alone: five letters
// with logits drawn from a hash of it, and eot more likely the longer it is,
// so candidates diverge and end at different steps.
std::vector<float> row_after(const std::vector<int32_t>& sequence) {
  std::vector<float> row = background_row();
  uint64_t h = 1469598103934665603ull;
  for (int32_t t : sequence) h = (h ^ static_cast<uint64_t>(t)) * 1099511628211ull;
  for (int c = 'a'; c <= 'e'; ++c) {
    h = h * 6364136223846793005ull + 1442695040888963407ull;
    row[c] = static_cast<float>((h >> 40) % 1000) / 250.0f;  // 0 to 4
  }
  row[kEot] = -2.0f + 0.4f * static_cast<float>(sequence.size());
  return row;
}

// best_of candidates sampled together (one call per step for all that are
// going) are each what sample() gives alone with the candidate's generator.
TEST(candidates_sampled_together_are_each_what_sampling_alone_gives) {
  wn::FedPrompt prompt;
  prompt.first_row = row_after({});
  prompt.n_prompt = 1;
  constexpr int kCandidates = 5;
  for (double temperature : {0.0, 0.6, 1.0}) {
    wn::GreedyDecoder decoder(plain_filters(), 40, 448);
    std::vector<wn::DecodedWindow> alone(kCandidates);
    for (int i = 0; i < kCandidates; ++i) {
      std::vector<int32_t> sequence;
      std::vector<float> row;
      const wn::LogitsFn source = [&](const int32_t* tokens, int n) {
        sequence.insert(sequence.end(), tokens, tokens + n);
        row = row_after(sequence);
        return row.data();
      };
      wn::Rng rng(100 + i);
      decoder.sample(prompt, temperature, &rng, source, nullptr, &alone[i]);
    }
    std::vector<std::vector<int32_t>> sequences(kCandidates);
    std::vector<float> rows;
    int calls = 0;
    bool only_going = true;
    const wn::SlotsLogitsFn together_source = [&](const int32_t* tokens, const int* slots, int n) {
      ++calls;
      rows.clear();
      for (int k = 0; k < n; ++k) {
        std::vector<int32_t>& seq = sequences[static_cast<size_t>(slots[k])];
        // A finished candidate is never fed again.
        const wn::DecodedWindow& a = alone[static_cast<size_t>(slots[k])];
        only_going &= seq.size() < a.tokens.size();
        seq.push_back(tokens[k]);
        const std::vector<float> r = row_after(seq);
        rows.insert(rows.end(), r.begin(), r.end());
      }
      return rows.data();
    };
    std::vector<wn::Rng> rngs;
    for (int i = 0; i < kCandidates; ++i) rngs.emplace_back(100 + i);
    std::vector<wn::DecodedWindow> together(kCandidates);
    decoder.sample_together(prompt, temperature, &rngs, together_source, nullptr, &together);
    size_t shortest = 1000, longest = 0;
    bool distinct = false;
    for (int i = 0; i < kCandidates; ++i) {
      const wn::DecodedWindow& a = alone[i];
      const wn::DecodedWindow& t = together[i];
      CHECK(t.tokens.size() == a.tokens.size());
      bool same = t.tokens.size() == a.tokens.size() && t.ended_with_eot == a.ended_with_eot &&
                  t.sum_logprob == a.sum_logprob && t.temperature == temperature;
      for (size_t k = 0; same && k < a.tokens.size(); ++k) {
        same = t.tokens[k].id == a.tokens[k].id && t.tokens[k].logprob == a.tokens[k].logprob;
      }
      CHECK(same);
      shortest = std::min(shortest, a.tokens.size());
      longest = std::max(longest, a.tokens.size());
      distinct |= i > 0 && a.tokens.size() != alone[0].tokens.size();
    }
    CHECK(only_going);
    CHECK(calls == static_cast<int>(longest));  // one call per step, not per candidate
    if (temperature > 0) CHECK(distinct && shortest < longest);  // they diverged and ended apart
  }
  wn::GreedyDecoder d(plain_filters(), 40, 448);
  std::vector<wn::DecodedWindow> outs(2);
  std::vector<wn::Rng> one(1, wn::Rng(1));
  const wn::SlotsLogitsFn none = [](const int32_t*, const int*, int) -> const float* {
    return nullptr;
  };
  CHECK_THROWS_CODE(d.sample_together(prompt, 0.5, &one, none, nullptr, &outs),
                    wn::ErrorCode::kInvalidArgument);  // a stream per candidate
}

TEST(no_speech_probability_comes_from_the_sot_row) {
  const wn::SpecialTokens& s = fake_tokenizer().special();
  std::vector<float> sot_row = background_row(), last_row = background_row();
  sot_row[s.no_speech] = 0.0f;
  sot_row['x'] = std::log(3.0f);  // p(nospeech) = 1/4 at the sot position
  last_row[s.no_speech] = 5.0f;   // must not be used
  std::vector<int> fed;
  const wn::LogitsFn source = [&](const int32_t*, int n) {
    fed.push_back(n);
    return fed.size() == 1 ? sot_row.data() : last_row.data();
  };
  wn::GreedyDecoder decoder(plain_filters(), 224, 448);
  wn::FedPrompt out;
  // [startofprev, p, q, sot, prefix r, s]: sot at index 3; fed as 4 + 2 tokens.
  decoder.feed_prompt({s.start_of_prev, 'p', 'q', kSot, 'r', 's'}, 3, source, nullptr, &out);
  CHECK(fed == std::vector<int>({4, 2}));
  CHECK_NEAR(out.no_speech_prob, 0.25, 1e-6);
  CHECK(out.n_prompt == 6 && out.first_row[s.no_speech] == 5.0f);
  // sot last: one call, and its row is both the sot row and the first row.
  fed.clear();
  decoder.feed_prompt({s.start_of_prev, 'p', kSot}, 2, source, nullptr, &out);
  CHECK(fed == std::vector<int>({3}));
  CHECK_NEAR(out.no_speech_prob, 0.25, 1e-6);
  // No sot index: no no-speech probability.
  fed.clear();
  decoder.feed_prompt({kSot}, -1, source, nullptr, &out);
  CHECK(out.no_speech_prob == 0);
  CHECK_THROWS_CODE(decoder.feed_prompt({kSot}, 1, source, nullptr, &out),
                    wn::ErrorCode::kInvalidArgument);
}

TEST(average_logprob_counts_eot) {
  wn::DecodedWindow w;
  w.tokens.resize(3);
  w.sum_logprob = -2.0;
  CHECK_NEAR(wn::average_logprob(w), -0.5, 1e-12);  // -2 / (3 + 1)
}

TEST(fallback_triggers_follow_the_reference) {
  const wn::QualityThresholds t;  // 2.4, -1.0, 0.6
  wn::WindowQuality q;
  q.avg_logprob = -0.5;
  q.compression_ratio = 1.5;
  q.no_speech_prob = 0.1;
  CHECK(!wn::needs_fallback(q, t));
  q.compression_ratio = 2.5;  // too repetitive
  CHECK(wn::needs_fallback(q, t));
  q.compression_ratio = 2.4;  // not above: fine
  CHECK(!wn::needs_fallback(q, t));
  q.avg_logprob = -1.2;  // too unlikely
  CHECK(wn::needs_fallback(q, t));
  q.no_speech_prob = 0.7;  // ... but silence: no retry
  CHECK(!wn::needs_fallback(q, t));
  q.compression_ratio = 3.0;  // silence overrides repetition too (as the reference)
  CHECK(!wn::needs_fallback(q, t));
  wn::QualityThresholds no_logprob = t;
  no_logprob.logprob.reset();  // then no silence exemption either
  CHECK(wn::needs_fallback(q, no_logprob));
  wn::QualityThresholds none;
  none.compression_ratio.reset();
  none.logprob.reset();
  none.no_speech.reset();
  CHECK(!wn::needs_fallback(q, none));
}

TEST(silence_needs_high_no_speech_and_low_logprob) {
  const wn::QualityThresholds t;
  wn::WindowQuality q;
  q.no_speech_prob = 0.7;
  q.avg_logprob = -1.5;
  CHECK(wn::is_silence(q, t));
  q.avg_logprob = -0.9;  // confident text: keep it
  CHECK(!wn::is_silence(q, t));
  q.avg_logprob = -1.0;  // not above the threshold: still silence
  CHECK(wn::is_silence(q, t));
  q.no_speech_prob = 0.5;  // not above 0.6
  CHECK(!wn::is_silence(q, t));
  wn::QualityThresholds no_logprob = t;
  no_logprob.logprob.reset();
  q.no_speech_prob = 0.9;
  q.avg_logprob = 0;
  CHECK(wn::is_silence(q, no_logprob));
  wn::QualityThresholds no_ns = t;
  no_ns.no_speech.reset();
  CHECK(!wn::is_silence(q, no_ns));
}

TEST(candidates_rank_by_length_normalised_logprob) {
  auto candidate = [](double sum, size_t length) {
    wn::DecodedWindow w;
    w.sum_logprob = sum;
    w.tokens.resize(length);
    return w;
  };
  // A: -2.0 / 4 = -0.5; B: -1.8 / 2 = -0.9; C: -3.0 / 10 = -0.3 -> C.
  const std::vector<wn::DecodedWindow> c = {candidate(-2.0, 4), candidate(-1.8, 2),
                                            candidate(-3.0, 10)};
  CHECK(wn::best_candidate(c, std::nullopt) == 2);
  // length_penalty 0: penalty ((5 + n) / 6)^0 = 1, the raw sums: B.
  CHECK(wn::best_candidate(c, 0.0) == 1);
  // length_penalty 1: A -2/1.5 = -1.333, B -1.8/(7/6) = -1.543, C -3/2.5 = -1.2 -> C.
  CHECK_NEAR(wn::candidate_score(-1.8, 2, 1.0), -1.8 * 6 / 7, 1e-12);
  CHECK(wn::best_candidate(c, 1.0) == 2);
  // An empty candidate never wins over a non-empty one.
  CHECK(wn::best_candidate({candidate(-0.1, 0), candidate(-5, 5)}, std::nullopt) == 1);
}

TEST(measure_window_scores_a_loop_as_repetitive) {
  wn::DecodedWindow loop, speech;
  const std::string looped =
      "  I think that I think that I think that I think that I think that "
      "I think that I think that I think that I think that  ";
  const std::string said = " And so my fellow Americans, ask not what your country can do for you";
  for (unsigned char ch : looped) loop.tokens.push_back({ch, 1.0f, 0.0f});
  for (unsigned char ch : said) speech.tokens.push_back({ch, 1.0f, 0.0f});
  loop.tokens.push_back({ts(3), 1.0f, 0.0f});  // timestamps are not text
  loop.sum_logprob = -10;
  const wn::WindowQuality q = wn::measure_window(loop, fake_tokenizer(), 0.3f);
  CHECK(q.compression_ratio > 2.4);
  CHECK_NEAR(q.avg_logprob, -10.0 / (looped.size() + 2), 1e-12);
  CHECK(q.no_speech_prob == 0.3f);
  CHECK(wn::measure_window(speech, fake_tokenizer(), 0).compression_ratio < 2.4);
  CHECK(wn::default_temperatures() == std::vector<double>({0.0, 0.2, 0.4, 0.6, 0.8, 1.0}));
}

TEST(measure_window_strips_the_text_as_python_does) {
  // The reference's text is tokenizer.decode(tokens).strip(): str.strip()
  // removes Unicode whitespace too (U+3000, U+00A0, U+2003, U+0085, \x1c..\x1f)
  // before the compression ratio is taken.
  const std::string core = "abcabcabcabcabcabcabcabc";
  const std::string padded = "\xE3\x80\x80\xC2\xA0\x1c " + core + " \xE2\x80\x83\xC2\x85";
  wn::DecodedWindow w;
  for (unsigned char ch : padded) w.tokens.push_back({ch, 1.0f, 0.0f});
  CHECK(wn::measure_window(w, fake_tokenizer(), 0).compression_ratio ==
        wn::compression_ratio(core));
  CHECK(wn::python_strip(padded) == core);
  CHECK(wn::python_strip(" \t\n ") == "");
  CHECK(wn::python_strip("\xE2\x80\x8B x") == "\xE2\x80\x8B x");  // U+200B is not a space
}

int main() {
  return wn_test::run_all();
}
