// The reference's decoding rules on crafted logits (no model): suppression,
// the timestamp rules, the greedy loop (eot, the 224-token cap, cancellation,
// probabilities). Every expected token is worked out by hand in the comments.
#include <cmath>
#include <limits>
#include <vector>

#include "check.h"
#include "decode_test_vocab.h"
#include "engine/core/cancel.h"
#include "engine/core/error.h"
#include "engine/decode/greedy.h"
#include "engine/decode/logit_filters.h"

using namespace wn_test;

namespace {

constexpr float kBackground = -100.0f;  // far below every logit a test sets
const float kNegInf = -std::numeric_limits<float>::infinity();

std::vector<float> background_row() {
  return std::vector<float>(kTestVocab, kBackground);
}

const wn::LogitFilters& default_filters() {
  static const wn::LogitFilters filters(fake_tokenizer(), wn::LogitFilterOptions{});
  return filters;
}

// Applies the default filter chain to row after `sampled` and returns the argmax.
int32_t choose(std::vector<float> row, const std::vector<int32_t>& sampled) {
  default_filters().apply(row.data(), sampled.data(), static_cast<int>(sampled.size()));
  return wn::argmax_logit(row.data(), kTestVocab);
}

// A logits source that returns scripted rows, one per call, and counts the
// tokens fed to it.
struct ScriptedLogits {
  std::vector<std::vector<float>> rows;
  size_t calls = 0;
  int tokens_fed = 0;
  wn::LogitsFn fn() {
    return [this](const int32_t*, int n) {
      tokens_fed += n;
      const size_t i = calls < rows.size() ? calls : rows.size() - 1;
      calls++;
      return rows[i].data();
    };
  }
};

}  // namespace

// --- the special-token layout ---------------------------------------------------

TEST(special_tokens_english_layout) {
  const wn::SpecialTokens s = wn::SpecialTokens::for_vocab_size(51864);
  CHECK(!s.multilingual);
  CHECK(s.eot == 50256 && s.sot == 50257 && s.translate == 50357 && s.transcribe == 50358);
  CHECK(s.start_of_lm == 50359 && s.start_of_prev == 50360 && s.no_speech == 50361);
  CHECK(s.no_timestamps == 50362 && s.timestamp_begin == 50363 && s.timestamp_end == 51864);
}

TEST(special_tokens_multilingual_layouts) {
  const wn::SpecialTokens m = wn::SpecialTokens::for_vocab_size(51865);
  CHECK(m.multilingual && m.n_languages == 99);
  CHECK(m.eot == 50257 && m.sot == 50258 && m.first_language == 50259);
  CHECK(m.translate == 50358 && m.no_timestamps == 50363 && m.timestamp_begin == 50364);
  const wn::SpecialTokens v3 = wn::SpecialTokens::for_vocab_size(51866);
  CHECK(v3.n_languages == 100 && v3.translate == 50359 && v3.timestamp_begin == 50365);
  CHECK(v3.timestamp_end - v3.timestamp_begin == 1501);
  CHECK_THROWS_CODE(wn::SpecialTokens::for_vocab_size(50000), wn::ErrorCode::kModelFormat);
}

// --- the first sampled step ---------------------------------------------------------

TEST(first_step_is_a_timestamp_no_later_than_one_second) {
  std::vector<float> row = background_row();
  row['a'] = 30;     // text: forbidden at the first step
  row[kEot] = 25;    // eot: forbidden (blank and initial rule)
  row[ts(60)] = 20;  // 1.20 s: above max_initial_timestamp
  row[ts(51)] = 15;  // 1.02 s: just above
  row[ts(50)] = 5;   // 1.00 s: the latest allowed
  row[ts(3)] = 4;
  CHECK(choose(row, {}) == ts(50));

  std::vector<float> filtered = row;
  default_filters().apply(filtered.data(), nullptr, 0);
  CHECK(filtered['a'] == kNegInf && filtered[kEot] == kNegInf && filtered[ts(51)] == kNegInf);
  CHECK(filtered[ts(50)] == 5 && filtered[ts(0)] == kBackground);
}

TEST(initial_timestamp_cap_follows_the_option) {
  wn::LogitFilterOptions options;
  options.max_initial_timestamp_index = 5;  // 0.10 s
  const wn::LogitFilters filters(fake_tokenizer(), options);
  std::vector<float> row = background_row();
  row[ts(6)] = 10;
  row[ts(5)] = 2;
  filters.apply(row.data(), nullptr, 0);
  CHECK(wn::argmax_logit(row.data(), kTestVocab) == ts(5));
  options.max_initial_timestamp_index = -1;  // no cap
  const wn::LogitFilters uncapped(fake_tokenizer(), options);
  std::vector<float> row2 = background_row();
  row2[ts(1500)] = 10;
  uncapped.apply(row2.data(), nullptr, 0);
  CHECK(wn::argmax_logit(row2.data(), kTestVocab) == ts(1500));
}

TEST(initial_timestamp_index_from_seconds_as_the_reference) {
  // DecodingTask: `if options.max_initial_timestamp:` then
  // round(max_initial_timestamp / precision), precision = 30 / 1500.
  // 0 is falsy there: no cap at all (whisper.cpp also treats 0 as none).
  CHECK(wn::max_initial_timestamp_index(0.0) < 0);
  CHECK(wn::max_initial_timestamp_index(1.0) == 50);
  CHECK(wn::max_initial_timestamp_index(0.3) == 15);
  // Python's round() sends halves to the even integer:
  // round(0.01 / 0.02) = round(0.5) = 0, round(0.05 / 0.02) = round(2.5) = 2,
  // round(1.01 / 0.02) = round(50.5) = 50, round(0.03 / 0.02) = round(1.5) = 2.
  CHECK(wn::max_initial_timestamp_index(0.01) == 0);
  CHECK(wn::max_initial_timestamp_index(0.05) == 2);
  CHECK(wn::max_initial_timestamp_index(1.01) == 50);
  CHECK(wn::max_initial_timestamp_index(0.03) == 2);
  CHECK(wn::max_initial_timestamp_index(0.55) == 28);  // 27.500000000000004
  // Past the window it limits nothing, and never overflows.
  CHECK(wn::max_initial_timestamp_index(1e30) >= 1500);
}

// --- pairs and monotonic timestamps ---------------------------------------------------

TEST(after_a_lone_opening_timestamp_text_follows) {
  std::vector<float> row = background_row();
  row[ts(30)] = 50;  // timestamps are forbidden after [<|0.20|>]
  row['x'] = 1;
  CHECK(choose(row, {ts(10)}) == 'x');
}

TEST(after_two_timestamps_text_follows) {
  std::vector<float> row = background_row();
  row[ts(30)] = 50;
  row[ts(20)] = 49;
  row['y'] = 1;
  CHECK(choose(row, {ts(0), 'a', ts(20), ts(20)}) == 'y');
}

TEST(after_a_closing_timestamp_no_text_but_eot_allowed) {
  // [<|0.20|> a <|0.40|>]: text is forbidden; eot and timestamps >= 0.40 stay.
  std::vector<float> row = background_row();
  row['a'] = 50;
  row[kEot] = 3;
  row[ts(30)] = 2;  // below the closing timestamp: forbidden by monotonicity
  CHECK(choose(row, {ts(10), 'a', ts(20)}) == kEot);

  std::vector<float> row2 = background_row();
  row2['a'] = 50;
  row2[ts(19)] = 45;  // earlier than the closing timestamp: forbidden
  row2[ts(20)] = 40;  // equal: allowed right after a closing timestamp
  row2[ts(21)] = 30;
  CHECK(choose(row2, {ts(10), 'a', ts(20)}) == ts(20));
}

TEST(inside_a_segment_the_next_timestamp_is_strictly_later) {
  // [<|0.20|> a]: a timestamp must be > 0.20 s.
  std::vector<float> row = background_row();
  row[ts(5)] = 50;
  row[ts(10)] = 49;  // equal to the opening timestamp: a zero-length segment
  row[ts(11)] = 3;
  row['b'] = 2;
  // ts(11) is the only timestamp left; logsumexp over timestamps ~ 3 > 2, so
  // the probability rule also forbids 'b'.
  CHECK(choose(row, {ts(10), 'a'}) == ts(11));
  std::vector<float> filtered = row;
  const std::vector<int32_t> sampled = {ts(10), 'a'};
  default_filters().apply(filtered.data(), sampled.data(), 2);
  CHECK(filtered[ts(10)] == kNegInf && filtered[ts(5)] == kNegInf && filtered['b'] == kNegInf);
}

TEST(timestamp_rule_functions_alone) {
  const wn::SpecialTokens& s = fake_tokenizer().special();
  std::vector<float> row(kTestVocab, 0.0f);
  wn::forbid_no_timestamps(row.data(), s);
  CHECK(row[s.no_timestamps] == kNegInf);
  const int32_t sampled[] = {ts(4), 'q', ts(9), ts(12), 'r'};
  std::vector<float> m(kTestVocab, 0.0f);
  wn::enforce_monotonic_timestamps(m.data(), s, sampled, 5);
  CHECK(m[ts(12)] == kNegInf && m[ts(13)] == 0.0f && m[ts(0)] == kNegInf && m['r'] == 0.0f);
  std::vector<float> p(kTestVocab, 0.0f);
  wn::enforce_timestamp_pairs(p.data(), s, sampled, 4);  // ends with <|0.18|><|0.24|>
  CHECK(p[ts(20)] == kNegInf && p['z'] == 0.0f && p[kEot] == 0.0f);
  std::vector<float> c(kTestVocab, 0.0f);
  wn::enforce_timestamp_pairs(c.data(), s, sampled, 3);  // ends with q <|0.18|>
  CHECK(c['z'] == kNegInf && c[kEot] == 0.0f && c[ts(20)] == 0.0f);
}

TEST(after_a_closing_timestamp_the_first_possible_token_is_eot) {
  const wn::LogitFilters& f = default_filters();
  const std::vector<int32_t> closing = {ts(0), 'a', ts(5)};
  CHECK(f.first_possible_token(closing.data(), 3) == kEot);
  CHECK(f.first_possible_token(closing.data(), 2) == 0);  // after text: anything
  const std::vector<int32_t> pair = {ts(0), 'a', ts(5), ts(5)};
  CHECK(f.first_possible_token(pair.data(), 4) == 0);     // after a pair: text again
  CHECK(f.first_possible_token(closing.data(), 1) == 0);  // a lone opening timestamp
  CHECK(f.first_possible_token(nullptr, 0) == 0);
  wn::LogitFilterOptions no_timestamps;
  no_timestamps.timestamps = false;
  const wn::LogitFilters plain(fake_tokenizer(), no_timestamps);
  CHECK(plain.first_possible_token(closing.data(), 3) == 0);
  // Whatever the logits below it, the rules forbid them there.
  std::vector<float> row = background_row();
  row['z'] = 50.0f;
  row[kEot] = 1.0f;
  f.apply(row.data(), closing.data(), 3);
  for (int32_t id = 0; id < kEot; ++id) CHECK(row[id] == kNegInf);
}

// While sampling, the source can ask the decoder which logits it may leave
// out: after the closing timestamp, all below eot.
TEST(sampling_tells_the_source_the_first_possible_token) {
  wn::GreedyDecoder greedy(default_filters(), 224, 448);
  std::vector<std::vector<float>> rows(4, background_row());
  rows[0]['a'] = 10;    // 'a' (the prompt's row gave <|0.00|>)
  rows[1][ts(5)] = 10;  // <|0.10|> closes the segment
  rows[2][kEot] = 10;   // eot
  rows[3][kEot] = 10;
  std::vector<int32_t> hints;
  size_t call = 0;
  const wn::LogitsFn source = [&](const int32_t*, int) {
    hints.push_back(greedy.first_possible_token());
    return rows[std::min(call++, rows.size() - 1)].data();
  };
  wn::FedPrompt prompt;
  prompt.first_row = background_row();
  prompt.first_row[ts(0)] = 10;
  prompt.n_prompt = 1;
  wn::DecodedWindow out;
  greedy.sample(prompt, 0.0, nullptr, source, nullptr, &out);
  CHECK(out.tokens.size() == 3 && out.tokens[2].id == ts(5) && out.ended_with_eot);
  CHECK(hints == std::vector<int32_t>({0, 0, kEot}));
}

// --- the timestamp-probability rule -----------------------------------------------------

TEST(timestamps_win_when_their_total_probability_beats_the_best_text) {
  // Four timestamps at 4.0: logsumexp = 4 + ln 4 = 5.386 > 5.0 (the text token).
  std::vector<float> row = background_row();
  row['t'] = 5.0f;
  for (int k = 50; k < 54; ++k) row[ts(k)] = 4.0f;
  CHECK(choose(row, {ts(0), 'a'}) == ts(50));  // ties: the first

  // Two timestamps at 4.0: 4 + ln 2 = 4.693 < 5.0, so the text token stays.
  std::vector<float> row2 = background_row();
  row2['t'] = 5.0f;
  row2[ts(50)] = 4.0f;
  row2[ts(51)] = 4.0f;
  CHECK(choose(row2, {ts(0), 'a'}) == 't');
}

// --- suppression ------------------------------------------------------------------------

TEST(blank_is_suppressed_at_the_first_step_only) {
  wn::LogitFilterOptions options;
  options.timestamps = false;  // isolate suppress_blank from the initial-timestamp rule
  const wn::LogitFilters filters(fake_tokenizer(), options);
  CHECK(filters.blank_ids() == std::vector<int32_t>({' ', kEot}));
  std::vector<float> row = background_row();
  row[kEot] = 10;
  row[' '] = 9;
  row['a'] = 8;
  std::vector<float> first = row;
  filters.apply(first.data(), nullptr, 0);
  CHECK(wn::argmax_logit(first.data(), kTestVocab) == 'a');
  const int32_t sampled[] = {'a'};
  std::vector<float> second = row;
  filters.apply(second.data(), sampled, 1);
  CHECK(wn::argmax_logit(second.data(), kTestVocab) == kEot);
}

TEST(special_tokens_are_always_suppressed) {
  const wn::SpecialTokens& s = fake_tokenizer().special();
  const std::vector<int32_t>& suppressed = default_filters().always_suppressed();
  auto contains = [&](int32_t id) {
    for (int32_t x : suppressed) {
      if (x == id) return true;
    }
    return false;
  };
  for (int32_t id : {s.sot, s.first_language, s.first_language + 98, s.translate, s.transcribe,
                     s.start_of_lm, s.start_of_prev, s.no_speech}) {
    CHECK(contains(id));
  }
  CHECK(!contains(s.eot) && !contains(ts(0)) && !contains('a'));

  std::vector<float> row = background_row();
  row[s.start_of_prev] = 90;
  row[s.no_speech] = 80;
  row[s.no_timestamps] = 70;
  row[s.sot] = 60;
  row['k'] = 1;
  CHECK(choose(row, {ts(0), 'a', 'b'}) == 'k');
}

TEST(non_speech_symbols_are_suppressed_as_the_reference_builds_them) {
  const std::vector<int32_t> ids = fake_tokenizer().non_speech_tokens();
  auto contains = [&](int32_t id) {
    for (int32_t x : ids) {
      if (x == id) return true;
    }
    return false;
  };
  CHECK(contains('('));                                  // "(" is one token
  CHECK(contains(kSpaceParenToken));                     // " (" is one token
  CHECK(contains(kDashToken) && contains(kQuoteToken));  // first tokens of " -" and " '"
  CHECK(contains(kMusicPrefixToken));                    // "♪" = [E2 99][AA]: its first token
  CHECK(contains(kSpaceE2Token));  // " ♪" = [20 E2][99][AA]: its first token
  CHECK(contains('"') && contains('~') && contains('@'));
  CHECK(!contains(' '));  // " #" encodes to [" ", "#"]: two tokens, so " " is not added
  CHECK(!contains('-'));  // "--" and "-(" take two tokens in this vocabulary
  CHECK(!contains('a') && !contains(kEuroPrefixToken));
  CHECK(!contains(0xAA));  // the tail of ♪ is not its first token

  std::vector<float> row = background_row();
  row['('] = 9;
  row[kSpaceParenToken] = 8;
  row['w'] = 1;
  CHECK(choose(row, {ts(0), 'a'}) == 'w');
}

// --- the greedy loop ----------------------------------------------------------------------

TEST(greedy_stops_at_eot_and_reports_probabilities) {
  ScriptedLogits source;
  std::vector<float> r0 = background_row();
  r0[ts(0)] = 10;
  std::vector<float> r1 = background_row();
  r1['h'] = 10;
  r1['i'] = 10 - std::log(3.0f);  // p('h') = 3/4 at this step (timestamps ~ e^-110)
  std::vector<float> r2 = background_row();
  r2['i'] = 10;
  std::vector<float> r3 = background_row();
  r3[ts(40)] = 10;
  std::vector<float> r4 = background_row();
  r4[kEot] = 10;
  source.rows = {r0, r1, r2, r3, r4, background_row()};

  wn::GreedyDecoder greedy(default_filters(), 224, 448);
  wn::DecodedWindow out;
  const std::vector<int32_t> prompt = {kSot};
  greedy.decode(prompt, source.fn(), nullptr, &out);
  CHECK(out.ended_with_eot);
  CHECK(out.tokens.size() == 4);
  CHECK(out.tokens.size() == 4 && out.tokens[0].id == ts(0) && out.tokens[1].id == 'h' &&
        out.tokens[2].id == 'i' && out.tokens[3].id == ts(40));
  CHECK(source.calls == 5);  // the prompt, then one call per token before eot
  CHECK_NEAR(out.tokens[1].p, 0.75, 1e-5);
  double sum = 0;
  for (const wn::SampledToken& t : out.tokens) {
    CHECK(t.p > 0 && t.p <= 1);
    CHECK_NEAR(std::exp(t.logprob), t.p, 1e-6);
    sum += t.logprob;
  }
  CHECK(out.sum_logprob <= sum + 1e-9);                    // eot's logprob is included and is <= 0
  CHECK_NEAR(out.sum_logprob, sum + std::log(1.0), 1e-3);  // eot is almost certain here
}

TEST(greedy_caps_a_window_at_224_tokens) {
  // Always 'a' (after the forced first timestamp): never eot.
  ScriptedLogits source;
  std::vector<float> row = background_row();
  row['a'] = 10;
  row[ts(0)] = 5;
  source.rows = {row};
  wn::GreedyDecoder greedy(default_filters(), 224, 448);
  wn::DecodedWindow out;
  const std::vector<int32_t> prompt = {kSot};
  greedy.decode(prompt, source.fn(), nullptr, &out);
  CHECK(!out.ended_with_eot);
  CHECK(out.tokens.size() == 224);
  CHECK(out.tokens.size() == 224 && out.tokens[0].id == ts(0) && out.tokens[223].id == 'a');
  CHECK(source.calls == 224);       // the last token is never fed
  CHECK(source.tokens_fed == 224);  // 1 prompt token + 223 sampled
}

TEST(greedy_never_feeds_more_than_the_context) {
  ScriptedLogits source;
  std::vector<float> row = background_row();
  row['a'] = 10;
  row[ts(0)] = 5;
  source.rows = {row};
  wn::GreedyDecoder greedy(default_filters(), 224, 448);
  wn::DecodedWindow out;
  std::vector<int32_t> prompt(300, 'p');  // longer than any real prompt
  greedy.decode(prompt, source.fn(), nullptr, &out);
  CHECK(out.tokens.size() == 149);  // the reference stops once 449 tokens exist
  CHECK(source.tokens_fed == 448);
  CHECK_THROWS_CODE(greedy.decode(std::vector<int32_t>(449, 'p'), source.fn(), nullptr, &out),
                    wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(greedy.decode({}, source.fn(), nullptr, &out), wn::ErrorCode::kInvalidArgument);
}

TEST(greedy_polls_cancellation_before_every_step) {
  wn::CancellationFlag flag;
  std::vector<float> row = background_row();
  row['a'] = 10;
  row[ts(0)] = 5;
  int calls = 0;
  const wn::LogitsFn source = [&](const int32_t*, int) {
    if (++calls == 7) flag.cancel();  // raised during the 7th decoder step
    return row.data();
  };
  wn::GreedyDecoder greedy(default_filters(), 224, 448);
  wn::DecodedWindow out;
  CHECK_THROWS_CODE(greedy.decode({kSot}, source, &flag, &out), wn::ErrorCode::kAborted);
  CHECK(calls == 7);  // no step ran after the flag was raised
  CHECK_THROWS_CODE(greedy.decode({kSot}, source, &flag, &out), wn::ErrorCode::kAborted);
  CHECK(calls == 7);  // an already raised flag stops before the first step
}

TEST(prompt_layout_follows_the_reference) {
  const wn::Tokenizer& tok = fake_tokenizer();
  CHECK(wn::window_prompt(tok, {}, 223) == std::vector<int32_t>({kSot}));
  std::vector<int32_t> previous;
  for (int i = 0; i < 300; ++i) previous.push_back(i);
  const std::vector<int32_t> prompt = wn::window_prompt(tok, previous, 223);
  CHECK(prompt.size() == 225);
  CHECK(prompt.front() == tok.special().start_of_prev && prompt.back() == kSot);
  CHECK(prompt[1] == 300 - 223 && prompt[223] == 299);
}

TEST(prompt_layout_with_a_task_sequence_and_a_prefix) {
  const wn::Tokenizer& tok = fake_tokenizer();
  const int32_t sop = tok.special().start_of_prev;
  const std::vector<int32_t> sot_seq = {kSot, tok.special().no_timestamps};
  // [startofprev, last 2 of previous, sot sequence, prefix]
  CHECK(wn::window_prompt(sot_seq, sop, {1, 2, 3}, 2, {'h', 'i'}) ==
        std::vector<int32_t>({sop, 2, 3, kSot, tok.special().no_timestamps, 'h', 'i'}));
  // No previous tokens: no startofprev.
  CHECK(wn::window_prompt(sot_seq, sop, {}, 223, {'h'}) ==
        std::vector<int32_t>({kSot, tok.special().no_timestamps, 'h'}));
}

TEST(prefix_is_cut_as_the_reference_slices_it) {
  // prefix[-(n_ctx // 2 - sample_len):] with n_ctx 448.
  const std::vector<int32_t> p = {10, 11, 12, 13, 14, 15};
  using V = std::vector<int32_t>;
  CHECK(wn::reference_prefix(p, 448, 224) == p);                    // [-0:]: all of it
  CHECK(wn::reference_prefix(p, 448, 220) == V({12, 13, 14, 15}));  // the last 4
  CHECK(wn::reference_prefix(p, 448, 100) == p);                    // the last 124: all of these
  CHECK(wn::reference_prefix(p, 448, 226) == V({12, 13, 14, 15}));  // [2:]: the first 2 dropped
  CHECK(wn::reference_prefix(p, 448, 230) == V());                  // [6:]: nothing left
  CHECK(wn::reference_prefix(p, 448, 1000) == V());
  CHECK(wn::reference_prefix({}, 448, 220) == V());
  CHECK(wn::reference_prefix(p, 449, 223) == V({15}));  // n_ctx // 2 rounds down
}

// The fused step (filters, then maximum, index and log-sum-exp from the last
// rule's pass) must give what the separate passes give: the same row, the
// same argmax, the same log-sum-exp; on every kernel path.
TEST(apply_and_summarize_equals_apply_then_argmax_and_log_sum_exp) {
  struct Case {
    const char* what;
    std::vector<float> row;
    std::vector<int32_t> sampled;
  };
  std::vector<Case> cases;
  {
    Case c{"timestamps win: text forbidden", background_row(), {ts(0), 'a'}};
    c.row['t'] = 5.0f;
    for (int k = 50; k < 54; ++k) c.row[ts(k)] = 4.0f;
    cases.push_back(c);
  }
  {
    Case c{"text wins", background_row(), {ts(0), 'a'}};
    c.row['t'] = 5.0f;
    c.row[ts(50)] = 4.0f;
    c.row[ts(51)] = 4.5f;
    cases.push_back(c);
  }
  {
    Case c{"a text and a timestamp logit tie: the text one, first", background_row(), {ts(0)}};
    c.row['t'] = 3.0f;
    c.row[ts(9)] = 3.0f;
    cases.push_back(c);
  }
  {
    Case c{"first step: only timestamps", background_row(), {}};
    c.row['x'] = 9.0f;
    c.row[ts(3)] = 1.0f;
    cases.push_back(c);
  }
  {
    Case c{"spread values with NaN", background_row(), {ts(0), 'q', 'r'}};
    for (int i = 0; i < kTestVocab; ++i) c.row[i] = std::sin(0.37 * i) * 6.0f;
    c.row[7] = std::numeric_limits<float>::quiet_NaN();
    cases.push_back(c);
  }
  for (wn::kernels::Isa isa : {wn::kernels::Isa::kGeneric, wn::kernels::Isa::kAvx2,
                               wn::kernels::Isa::kAvx512, wn::kernels::Isa::kNeon}) {
    if (!wn::kernels::isa_supported(isa)) continue;
    for (bool timestamps : {true, false}) {
      wn::LogitFilterOptions options;
      options.timestamps = timestamps;
      options.kernels.isa = isa;
      const wn::LogitFilters filters(fake_tokenizer(), options);
      for (const Case& c : cases) {
        std::vector<float> separate = c.row, fused = c.row;
        const int n = static_cast<int>(c.sampled.size());
        filters.apply(separate.data(), c.sampled.data(), n);
        const wn::kernels::LogitSummary got =
            filters.apply_and_summarize(fused.data(), c.sampled.data(), n);
        bool same_row = true;
        for (int i = 0; i < kTestVocab; ++i) {
          same_row &=
              (separate[i] == fused[i]) || (std::isnan(separate[i]) && std::isnan(fused[i]));
        }
        const int32_t want_id = wn::argmax_logit(separate.data(), kTestVocab);
        const double want_lse = wn::log_sum_exp(separate.data(), kTestVocab);
        const bool ok = same_row && got.max_index == want_id &&
                        std::fabs(got.log_sum_exp - want_lse) <= 1e-6 * std::fabs(want_lse) + 1e-9;
        if (!ok) {
          std::printf("  %s (%s, timestamps %d): id %d vs %d, lse %.9g vs %.9g, row %s\n", c.what,
                      wn::kernels::isa_name(isa), timestamps, got.max_index, want_id,
                      got.log_sum_exp, want_lse, same_row ? "same" : "differs");
        }
        CHECK(ok);
      }
    }
  }
}

TEST(argmax_and_log_sum_exp_edge_cases) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float values[] = {nan, 1.0f, 3.0f, 3.0f, kNegInf};
  CHECK(wn::argmax_logit(values, 5) == 2);
  CHECK_NEAR(wn::log_sum_exp(values + 1, 3), 3.0 + std::log(2.0 + std::exp(-2.0)), 1e-6);
  const float none[] = {kNegInf, nan};
  CHECK(wn::argmax_logit(none, 2) == -1);
  CHECK(std::isinf(wn::log_sum_exp(none, 2)));
}

TEST(log_sum_exp_matches_a_double_computation) {
  // Logits spread like a decoder's (-30..+20), some forbidden, an odd length
  // so every code path (blocks, lanes, tail) runs.
  std::vector<float> x(51864 + 5);
  uint32_t state = 12345;
  for (float& v : x) {
    state = state * 1664525u + 1013904223u;
    v = -30.0f + 50.0f * static_cast<float>(state >> 8) / 16777216.0f;
  }
  for (size_t i = 0; i < x.size(); i += 7) x[i] = kNegInf;
  float max_value = kNegInf;
  for (float v : x) max_value = std::max(max_value, v);
  double sum = 0;
  for (float v : x) {
    if (v > kNegInf) sum += std::exp(static_cast<double>(v) - max_value);
  }
  const double expected = max_value + std::log(sum);
  CHECK_NEAR(wn::log_sum_exp(x.data(), static_cast<int>(x.size())), expected,
             1e-6 * std::fabs(expected) + 1e-6);
  CHECK(wn::max_logit(x.data(), static_cast<int>(x.size())) == max_value);
  // Very negative shifted values underflow to zero instead of misbehaving.
  const float far[] = {0.0f, -200.0f, -1e30f};
  CHECK_NEAR(wn::log_sum_exp(far, 3), 0.0, 1e-7);
}

int main() {
  return wn_test::run_all();
}
