// Word-level timing after the decoder (decode/word_timing.h) on crafted
// matrices and token lists; every expected value is worked out by hand from
// the reference's timing.py in the comments.
#include <string>
#include <vector>

#include "check.h"
#include "decode_test_vocab.h"
#include "engine/decode/segments.h"
#include "engine/decode/word_timing.h"

using namespace wn_test;

namespace {

wn::TimedWord word(const std::string& text, size_t begin, size_t end, double start, double end_time,
                   float p = 0.5f) {
  wn::TimedWord w;
  w.word = text;
  w.begin = begin;
  w.end = end;
  w.start = start;
  w.end_time = end_time;
  w.probability = p;
  return w;
}

std::vector<int32_t> bytes_of(const std::string& s) {
  std::vector<int32_t> ids;
  for (unsigned char c : s) ids.push_back(c);
  return ids;
}

}  // namespace

TEST(median_filter_width_3_reflects_at_the_edges) {
  // Padded [5 | 1 5 2 8 3 | 8]; medians of (5,1,5) (1,5,2) (5,2,8) (2,8,3) (8,3,8).
  std::vector<float> row = {1, 5, 2, 8, 3};
  wn::median_filter(row.data(), 5, 3);
  CHECK(row == std::vector<float>({5, 2, 5, 3, 8}));
}

TEST(median_filter_width_7_and_short_rows) {
  // Padded [4 3 2 | 1 2 3 4 5 | 4 3 2]: every window of 7 has median 3.
  std::vector<float> row = {1, 2, 3, 4, 5};
  wn::median_filter(row.data(), 5, 7);
  CHECK(row == std::vector<float>({3, 3, 3, 3, 3}));
  // No longer than width / 2: left as it is (the reference returns x).
  std::vector<float> short_row = {9, 1, 5};
  wn::median_filter(short_row.data(), 3, 7);
  CHECK(short_row == std::vector<float>({9, 1, 5}));
}

TEST(alignment_matrix_standardises_over_tokens_then_averages_heads) {
  // Head 0: column 0 (.5, .1): mean .3, std .2 -> (1, -1); column 1 (.2, .6)
  // -> (-1, 1); column 2 constant -> 0. Head 1: columns 0 and 1 constant -> 0;
  // column 2 (.6, 0): mean .3, std .3 -> (1, -1). Mean of the two heads.
  const std::vector<float> weights = {.5f, .2f, .3f, .1f, .6f, .3f,  // head 0 [2][3]
                                      .2f, .2f, .6f, .2f, .2f, 0.f};
  const std::vector<float> m = wn::alignment_matrix(weights.data(), 2, 2, 3, /*median_width=*/1);
  const std::vector<float> expected = {.5f, -.5f, .5f, -.5f, .5f, -.5f};
  CHECK(m.size() == expected.size());
  for (size_t i = 0; i < expected.size() && i < m.size(); ++i) CHECK_NEAR(m[i], expected[i], 1e-5);
}

TEST(dtw_follows_the_cheap_cells) {
  // Cumulative costs (1-based, borders inf): row 1: 0 9 18 27; row 2: 9 0 0 9;
  // row 3: 18 9 18 0, where (3,3) takes the left move on the 0/0 tie. Back
  // from (3,4): diagonal to (2,3), left to (2,2), diagonal to (1,1), then (0,0):
  // path (0,0) (1,1) (1,2) (2,3): rows start at columns 0, 1, 3.
  const std::vector<float> cost = {0, 9, 9, 9,  //
                                   9, 0, 0, 9,  //
                                   9, 9, 9, 0};
  CHECK(wn::dtw_row_starts(cost.data(), 3, 4) == std::vector<int>({0, 1, 3}));
}

TEST(dtw_ties_prefer_the_horizontal_move_as_the_reference) {
  // All zeros 2x2: at (2,2) the three predecessors tie, so the trace says
  // "left": back to (2,1), then up to (1,1): row 1 starts at column 0.
  const std::vector<float> cost = {0, 0, 0, 0};
  CHECK(wn::dtw_row_starts(cost.data(), 2, 2) == std::vector<int>({0, 0}));
  // One row: it starts at the first frame.
  const std::vector<float> one = {3, 1, 2};
  CHECK(wn::dtw_row_starts(one.data(), 1, 3) == std::vector<int>({0}));
}

TEST(words_split_at_spaces_and_punctuation) {
  // Runs " ", "H", "i", ",", " ", "t", ...: a run starting with a space or
  // made of punctuation starts a word; the others join the word before.
  const std::vector<int32_t> ids = bytes_of(" Hi, there");
  const auto words = wn::split_words(fake_tokenizer(), ids.data(), ids.size(), "en");
  CHECK(words.size() == 3);
  if (words.size() != 3) return;
  CHECK(words[0].text == " Hi" && words[0].begin == 0 && words[0].end == 3);
  CHECK(words[1].text == "," && words[1].begin == 3 && words[1].end == 4);
  CHECK(words[2].text == " there" && words[2].begin == 4 && words[2].end == 10);
}

TEST(words_per_character_for_languages_without_spaces) {
  // kEuroPrefixToken + byte 0xAC complete "€" together; "a" follows.
  const std::vector<int32_t> ids = {kEuroPrefixToken, 0xAC, 'a'};
  const auto zh = wn::split_words(fake_tokenizer(), ids.data(), ids.size(), "zh");
  CHECK(zh.size() == 2);
  if (zh.size() == 2) {
    CHECK(zh[0].text == "\xE2\x82\xAC" && zh[0].begin == 0 && zh[0].end == 2);
    CHECK(zh[1].text == "a" && zh[1].begin == 2 && zh[1].end == 3);
  }
  // In English the two runs form one word (no space before "a").
  const auto en = wn::split_words(fake_tokenizer(), ids.data(), ids.size(), "en");
  CHECK(en.size() == 1 &&
        en[0].text ==
            "\xE2\x82\xAC"
            "a" &&
        en[0].end == 3);
  // An unfinished character at the end becomes U+FFFD, as in the segment text.
  const std::vector<int32_t> cut = {'a', 0xE2};
  const auto unfinished = wn::split_words(fake_tokenizer(), cut.data(), cut.size(), "ja");
  CHECK(unfinished.size() == 2 && unfinished[1].text == "\xEF\xBF\xBD");
}

TEST(punctuation_merges_as_the_reference) {
  // Backwards: ' "' starts with a space and '"' is in the prepend set: it moves
  // into 'hi'. Forwards: "" (the emptied word) is a substring of anything and
  // merges harmlessly; '"' and '.' are in the append set and join ' "hi'.
  std::vector<wn::TimedWord> w = {word(" He", 0, 1, 0.0, 0.2), word(" said", 1, 2, 0.2, 0.4),
                                  word(" \"", 2, 3, 0.4, 0.5), word("hi", 3, 4, 0.5, 0.7, 0.9f),
                                  word("\"", 4, 5, 0.7, 0.8),  word(".", 5, 6, 0.8, 0.9)};
  wn::merge_punctuation(&w, wn::kPrependPunctuation, wn::kAppendPunctuation);
  CHECK(w[0].word == " He" && w[1].word == " said" && w[2].word.empty());
  CHECK(w[3].word == " \"hi\".");
  CHECK(w[3].begin == 2 && w[3].end == 6);
  CHECK(w[3].start == 0.5 && w[3].end_time == 0.7 && w[3].probability == 0.9f);  // its own
  CHECK(w[4].word.empty() && w[4].begin == w[4].end);
  CHECK(w[5].word.empty() && w[5].begin == w[5].end);
  // A word ending with a space takes nothing.
  std::vector<wn::TimedWord> spaced = {word(" a ", 0, 1, 0, 1), word(",", 1, 2, 1, 2)};
  wn::merge_punctuation(&spaced, wn::kPrependPunctuation, wn::kAppendPunctuation);
  CHECK(spaced[0].word == " a " && spaced[1].word == ",");
}

TEST(long_words_at_sentence_ends_are_cut) {
  // max 1.0: "." lasts 2 and is a mark -> ends at 1 + 1; " b" lasts 3 after a
  // mark -> keeps its last second.
  std::vector<wn::TimedWord> w = {word(" a", 0, 1, 0, 1), word(".", 1, 2, 1, 3),
                                  word(" b", 2, 3, 3, 6)};
  wn::truncate_long_words_at_sentence_ends(&w, 1.0);
  CHECK(w[1].start == 1 && w[1].end_time == 2);
  CHECK(w[2].start == 5 && w[2].end_time == 6);
  CHECK(w[0].start == 0 && w[0].end_time == 1);
}

TEST(median_duration_ignores_zero_lengths_and_caps_at_0_7) {
  std::vector<wn::TimedWord> w = {word("a", 0, 1, 0, 0.2), word("b", 1, 2, 0.2, 0.2),
                                  word("c", 2, 3, 0.2, 0.6), word("d", 3, 4, 0.6, 1.6)};
  CHECK_NEAR(wn::median_word_duration(w), 0.4, 1e-12);  // of .2 .4 1.0
  w.pop_back();
  CHECK_NEAR(wn::median_word_duration(w), 0.3, 1e-12);  // (.2 + .4) / 2
  CHECK_NEAR(wn::median_word_duration({word("x", 0, 1, 0, 5)}), 0.7, 1e-12);
  CHECK(wn::median_word_duration({}) == 0.0);
}

TEST(segment_clamps_prefer_the_segment_times_for_overlong_edge_words) {
  // Start: 1.0 < 1.5 and 1.0 - 0.5 > 0.2 -> the word starts at min(1.5 - .3, 1.0).
  // End: 2.0 > 1.5 and 2.5 < 3.0 -> the word ends at max(1.5 + .3, 2.0).
  std::vector<wn::TimedWord> w = {word(" a", 0, 1, 0.2, 1.5), word(" b", 1, 2, 1.5, 3.0)};
  double start = 1.0, end = 2.0;
  const double last = wn::clamp_segment_words(&w, &start, &end, 0.3, 1.4);
  CHECK(start == 1.0 && end == 2.0 && last == 2.0);
  CHECK_NEAR(w[0].start, 1.0, 1e-12);
  CHECK_NEAR(w[1].end_time, 2.0, 1e-12);
}

TEST(segment_clamps_otherwise_take_the_word_times) {
  // Start: 1.0 - 0.5 > 1.1 fails -> the segment starts at 1.1; end: 2.5 < 1.9
  // fails -> the segment ends at 1.9. The empty word is dropped first.
  std::vector<wn::TimedWord> w = {word(" a", 0, 1, 1.1, 1.5), word("", 1, 1, 1.5, 1.5),
                                  word(" b", 1, 2, 1.5, 1.9)};
  double start = 1.0, end = 2.0;
  const double last = wn::clamp_segment_words(&w, &start, &end, 0.3, 0.9);
  CHECK(w.size() == 2);
  CHECK_NEAR(start, 1.1, 1e-12);
  CHECK_NEAR(end, 1.9, 1e-12);
  CHECK_NEAR(last, 1.9, 1e-12);
}

TEST(segment_clamps_shorten_a_long_first_pair_after_a_pause) {
  // median .3, max .6; 3.0 - 0 > 1.2 and the first word lasts 2 > .6. The
  // second lasts 1 > .6: boundary max(4/2, 4 - .6) = 3.4; the first word
  // starts at 3.4 - .6 = 2.8 and so does the segment (-0.5 > 2.8 fails).
  std::vector<wn::TimedWord> w = {word(" a", 0, 1, 1.0, 3.0), word(" b", 1, 2, 3.0, 4.0)};
  double start = 0.0, end = 4.0;
  wn::clamp_segment_words(&w, &start, &end, 0.3, 0.0);
  CHECK_NEAR(w[0].end_time, 3.4, 1e-9);
  CHECK_NEAR(w[1].start, 3.4, 1e-9);
  CHECK_NEAR(w[0].start, 2.8, 1e-9);
  CHECK_NEAR(start, 2.8, 1e-9);
  CHECK_NEAR(end, 4.0, 1e-9);
}

// The segments of a window of 30 s at 10 s (of 100 s of audio) sampled as ids.
wn::WindowSplit split_window_at_10s(const std::vector<int32_t>& ids) {
  wn::WindowPosition position;
  position.seek_frames = 1000;
  position.window_frames = 3000;
  position.audio_seconds = 100;
  return wn::split_window(ids.data(), ids.size(), fake_tokenizer(), position);
}

TEST(window_words_time_each_segment_from_the_alignment) {
  // Segments " a" (0.00-0.20) and " b." (0.20-0.40) of a window at 10 s.
  // Text tokens ' ' 'a' ' ' 'b' '.' start at frames 0 5 10 15 40, eot at 45.
  // Words: " a" frames 0-10 -> 0.0-0.2 s (p (.9 + .7) / 2); " b" 10-40 ->
  // 0.2-0.8 (p (.5 + .3) / 2); "." 40-45. Median of .2 .6 .1 = .2; nothing
  // is cut at a sentence end (" b" is not a mark, nor is " a" before it).
  // "." joins " b" with " b"'s times. Clamps: segment 0 keeps [10.0, 10.2];
  // segment 1 takes its word's end, 10.8 (10.4 + .5 < 10.8 fails).
  const std::vector<int32_t> ids = {ts(0), ' ', 'a', ts(10), ts(10), ' ', 'b', '.', ts(20)};
  wn::WindowSplit split = split_window_at_10s(ids);
  CHECK(split.segments.size() == 2);
  if (split.segments.size() != 2) return;
  double last_speech = 0;
  const auto words =
      wn::window_words(fake_tokenizer(), ids.data(), &split.segments, {0, 5, 10, 15, 40, 45},
                       {.9f, .7f, .5f, .3f, .1f}, 10.0, "en", &last_speech);
  CHECK(words.size() == 2 && words[0].size() == 1 && words[1].size() == 1);
  if (words.size() != 2 || words[0].size() != 1 || words[1].size() != 1) return;
  CHECK(words[0][0].word == " a");
  CHECK_NEAR(words[0][0].start, 10.0, 1e-9);
  CHECK_NEAR(words[0][0].end_time, 10.2, 1e-9);
  CHECK_NEAR(words[0][0].probability, 0.8, 1e-6);
  CHECK(words[1][0].word == " b.");
  CHECK_NEAR(words[1][0].start, 10.2, 1e-9);
  CHECK_NEAR(words[1][0].end_time, 10.8, 1e-9);
  CHECK_NEAR(words[1][0].probability, 0.4, 1e-6);
  CHECK_NEAR(split.segments[0].start, 10.0, 1e-9);
  CHECK_NEAR(split.segments[0].end, 10.2, 1e-9);
  CHECK_NEAR(split.segments[1].start, 10.2, 1e-9);
  CHECK_NEAR(split.segments[1].end, 10.8, 1e-9);
  CHECK_NEAR(last_speech, 10.8, 1e-9);
}

TEST(window_words_carry_the_last_word_end_as_the_reference_get_end) {
  // Segments " a" (0.00-0.20) and " b" (0.20-0.40) of a window at 10 s. Text
  // tokens ' ' 'a' ' ' 'b' start at frames 0 5 15 20, eot at 55: " a"
  // 10.0-10.3, " b" 10.3-11.1; median of .3 .8 = .55. Segment 0 ends at its
  // word's end, 10.3. Segment 1: 10.4 > 10.3 and 10.4 + .5 < 11.1, so it keeps
  // its end, 10.4, and its last word ends at max(10.3 + .55, 10.4) = 10.85,
  // past it. transcribe() carries get_end() of the segments, that word's end
  // (the segment's end would be 10.4), and the next window starts there.
  const std::vector<int32_t> ids = {ts(0), ' ', 'a', ts(10), ts(10), ' ', 'b', ts(20)};
  wn::WindowSplit split = split_window_at_10s(ids);
  CHECK(split.segments.size() == 2);
  if (split.segments.size() != 2) return;
  std::vector<wn::WindowSegment> segments = split.segments;
  double last_speech = 0;
  const auto words = wn::window_words(fake_tokenizer(), ids.data(), &segments, {0, 5, 15, 20, 55},
                                      {.9f, .7f, .5f, .3f}, 10.0, "en", &last_speech);
  CHECK(words.size() == 2 && words[1].size() == 1);
  if (words.size() != 2 || words[1].size() != 1) return;
  CHECK_NEAR(segments[0].end, 10.3, 1e-9);
  CHECK_NEAR(segments[1].start, 10.3, 1e-9);
  CHECK_NEAR(segments[1].end, 10.4, 1e-9);
  CHECK_NEAR(words[1][0].end_time, 10.85, 1e-9);
  CHECK_NEAR(last_speech, 10.85, 1e-9);
  CHECK(wn::seek_after_words(1000, last_speech, split.next_seek_frames) == 1085);

  // No segment with words (the alignment covers none of the tokens): get_end()
  // falls back to the last segment's end.
  segments = split.segments;
  last_speech = 3.0;
  const auto none =
      wn::window_words(fake_tokenizer(), ids.data(), &segments, {0}, {}, 10.0, "en", &last_speech);
  CHECK(none.size() == 2 && none[0].empty() && none[1].empty());
  CHECK_NEAR(last_speech, 10.4, 1e-9);
}

TEST(window_words_drop_a_segment_the_clamps_leave_without_length) {
  // Segments " a" (0.00-0.20) and " b" (0.20-0.40) of a window at 10 s. Text
  // tokens ' ' 'a' ' ' 'b' start at frames 0 0 0 5, eot at 20: " a" lasts
  // nothing at 10.0, " b" 10.0-10.4; median .4 (zero lengths ignored).
  // Segment 0: 10.0 < 10.0 fails, so it starts at its word's start, and
  // 10.2 + .5 < 10.0 fails, so it ends at its word's end: 10.0-10.0, which the
  // reference clears (text, tokens, words) and this engine drops. Segment 1
  // takes its word's times, 10.0-10.4, and keeps its word.
  const std::vector<int32_t> ids = {ts(0), ' ', 'a', ts(10), ts(10), ' ', 'b', ts(20)};
  wn::WindowSplit split = split_window_at_10s(ids);
  CHECK(split.segments.size() == 2);
  if (split.segments.size() != 2) return;
  double last_speech = 0;
  const auto words =
      wn::window_words(fake_tokenizer(), ids.data(), &split.segments, {0, 0, 0, 5, 20},
                       {.9f, .7f, .5f, .3f}, 10.0, "en", &last_speech);
  CHECK(split.segments.size() == 1 && words.size() == 1);
  if (split.segments.size() != 1 || words.size() != 1) return;
  CHECK(split.segments[0].text == " b");
  CHECK_NEAR(split.segments[0].start, 10.0, 1e-9);
  CHECK_NEAR(split.segments[0].end, 10.4, 1e-9);
  CHECK(words[0].size() == 1 && words[0][0].word == " b");
  CHECK_NEAR(last_speech, 10.4, 1e-9);
}

TEST(the_seek_after_words_is_the_reference_seek_shift) {
  // seek_shift = round((last word end - time_offset) * 100), Python's round.
  CHECK(wn::seek_after_words(0, 0.125, 3000) == 12);  // 12.5 -> 12 (llround: 13)
  CHECK(wn::seek_after_words(0, 0.135, 3000) == 14);  // 13.5 -> 14 (0.135 * 100 is 13.5)
  CHECK(wn::seek_after_words(3000, 32.5, 6000) == 3250);
  // The shift counts from the window's start: 30 s + 12.5 frames -> 3012.
  CHECK(wn::seek_after_words(3000, 30.125, 6000) == 3012);
  // A shift that rounds to 0 (or below) keeps the segments' seek.
  CHECK(wn::seek_after_words(3000, 30.004, 4500) == 4500);
  CHECK(wn::seek_after_words(3000, 29.5, 4500) == 4500);
}

int main() {
  return wn_test::run_all();
}
