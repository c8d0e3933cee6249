// Segment shaping (max_segment_length, split_on_word, single_segment) on a
// crafted window whose tokens are single characters (the fake vocabulary's
// byte tokens), so every cut and interpolated time can be worked out by hand.
#include <string>
#include <vector>

#include "check.h"
#include "decode_test_vocab.h"
#include "engine/decode/segment_shaping.h"

using namespace wn_test;

namespace {

// The window [ts(0), " ab cd e" one byte per token, ts(50)]: one segment from
// 0.0 to 1.0 s, 8 characters.
struct Window {
  std::vector<int32_t> ids;
  wn::WindowSegment piece;
  Window() {
    const std::string text = " ab cd e";
    ids.push_back(ts(0));
    piece.token_texts.push_back("<|0.00|>");
    for (char c : text) {
      ids.push_back(static_cast<unsigned char>(c));
      piece.token_texts.push_back(std::string(1, c));
    }
    ids.push_back(ts(50));
    piece.token_texts.push_back("<|1.00|>");
    piece.start = 0.0;
    piece.end = 1.0;
    piece.first_token = 0;
    piece.end_token = ids.size();
    piece.text = text;
  }
  std::vector<wn::WindowSegment> split(int max_chars, bool on_word) const {
    return wn::split_long_segment(piece, ids.data(), fake_tokenizer(), max_chars, on_word);
  }
};

std::vector<std::string> texts(const std::vector<wn::WindowSegment>& parts) {
  std::vector<std::string> out;
  for (const auto& p : parts) out.push_back(p.text);
  return out;
}

// Every part: token texts line up with its range, text = its text tokens.
void check_parts_cover(const Window& w, const std::vector<wn::WindowSegment>& parts) {
  size_t next = w.piece.first_token;
  double previous_end = w.piece.start;
  for (const auto& p : parts) {
    CHECK(p.first_token == next);
    CHECK(p.token_texts.size() == p.end_token - p.first_token);
    CHECK(p.start == previous_end && p.end > p.start);
    next = p.end_token;
    previous_end = p.end;
  }
  CHECK(next == w.piece.end_token);
  CHECK(previous_end == w.piece.end);
}

}  // namespace

TEST(no_limit_or_short_enough_leaves_the_segment_whole) {
  const Window w;
  CHECK(texts(w.split(0, false)) == std::vector<std::string>({" ab cd e"}));
  CHECK(texts(w.split(8, true)) == std::vector<std::string>({" ab cd e"}));
}

TEST(token_boundary_cuts_interpolate_times_by_characters) {
  const Window w;
  const auto parts = w.split(3, false);
  CHECK(texts(parts) == std::vector<std::string>({" ab", " cd", " e"}));
  check_parts_cover(w, parts);
  if (parts.size() != 3) return;
  CHECK_NEAR(parts[0].end, 3.0 / 8, 1e-12);  // 3 of 8 characters
  CHECK_NEAR(parts[1].end, 6.0 / 8, 1e-12);
  CHECK(parts[0].first_token == 0 && parts[0].end_token == 4);  // the leading timestamp goes first
  CHECK(parts[2].end_token == 10);                              // the trailing one last
  const auto four = w.split(4, false);                          // " ab " | "cd e"
  CHECK(texts(four) == std::vector<std::string>({" ab ", "cd e"}));
  check_parts_cover(w, four);
  if (four.size() == 2) CHECK_NEAR(four[0].end, 0.5, 1e-12);
}

TEST(word_boundary_cuts_only_before_a_space) {
  const Window w;
  CHECK(texts(w.split(4, true)) == std::vector<std::string>({" ab", " cd", " e"}));
  const auto five = w.split(5, true);  // " ab" + " cd" = 6 > 5; " cd" + " e" = 5
  CHECK(texts(five) == std::vector<std::string>({" ab", " cd e"}));
  check_parts_cover(w, five);
  if (five.size() == 2) CHECK_NEAR(five[0].end, 3.0 / 8, 1e-12);
  // A word longer than the limit stays whole.
  CHECK(texts(w.split(2, true)) == std::vector<std::string>({" ab", " cd", " e"}));
  CHECK(texts(w.split(1, false)).size() == 8);
}

TEST(single_segment_merges_a_window_and_keeps_gaps_empty) {
  wn::WindowSplit split;
  wn::WindowSegment a, b;
  a.start = 0.5, a.end = 1.0, a.first_token = 0, a.end_token = 3;
  a.text = " hi", a.token_texts = {"<|0.50|>", " hi", "<|1.00|>"};
  b.start = 2.0, b.end = 3.0, b.first_token = 5, b.end_token = 8;
  b.text = " yo", b.token_texts = {"<|2.00|>", " yo", "<|3.00|>"};
  split.segments = {a, b};
  split.next_seek_frames = 300;
  wn::merge_into_one(&split);
  CHECK(split.segments.size() == 1);
  if (split.segments.size() != 1) return;
  const wn::WindowSegment& m = split.segments[0];
  CHECK(m.start == 0.5 && m.end == 3.0);
  CHECK(m.text == " hi yo");
  CHECK(m.first_token == 0 && m.end_token == 8 && m.token_texts.size() == 8);
  CHECK(m.token_texts.size() == 8 && m.token_texts[3].empty() && m.token_texts[4].empty() &&
        m.token_texts[6] == " yo");
  CHECK(split.next_seek_frames == 300);
}

TEST(characters_are_code_points) {
  CHECK(wn::count_code_points("") == 0);
  CHECK(wn::count_code_points("ab") == 2);
  CHECK(wn::count_code_points("\xC3\xA9\xE2\x82\xAC") == 2);  // é€
  CHECK(wn::count_code_points("\xF0\x9F\x98\x80x") == 2);     // 😀x
}

int main() {
  return wn_test::run_all();
}
