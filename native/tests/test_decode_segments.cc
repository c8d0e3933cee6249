// UTF-8 assembly across tokens, the fake vocabulary's BPE, and the splitting of
// a window's tokens into segments with the next seek (no model needed). The
// expected segments and seeks are worked out by hand from the reference's
// transcribe() loop in the comments.
#include <string>
#include <vector>

#include "check.h"
#include "decode_test_vocab.h"
#include "engine/decode/segments.h"
#include "engine/decode/tokenizer.h"

using namespace wn_test;

namespace {

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD
const std::string kEuro = "\xE2\x82\xAC";         // €

// Feeds each chunk and returns what each call emitted, then what flush emitted.
std::vector<std::string> assemble(const std::vector<std::string>& chunks) {
  wn::Utf8Assembler utf8;
  std::vector<std::string> out;
  for (const std::string& chunk : chunks) {
    std::string piece;
    utf8.feed(chunk, &piece);
    out.push_back(piece);
  }
  std::string rest;
  utf8.flush(&rest);
  out.push_back(rest);
  return out;
}

wn::WindowPosition window_at(int64_t seek, int64_t frames, double audio_seconds) {
  wn::WindowPosition w;
  w.seek_frames = seek;
  w.window_frames = frames;
  w.audio_seconds = audio_seconds;
  return w;
}

wn::WindowSplit split(const std::vector<int32_t>& ids, const wn::WindowPosition& w) {
  return wn::split_window(ids.data(), ids.size(), fake_tokenizer(), w);
}

}  // namespace

// --- UTF-8 -------------------------------------------------------------------------

TEST(a_character_split_over_two_tokens_belongs_to_the_second) {
  const auto out = assemble({"a\xE2\x82", "\xAC!"});
  CHECK(out == std::vector<std::string>({"a", kEuro + "!", ""}));
}

TEST(a_character_split_over_three_tokens_belongs_to_the_third) {
  const auto out = assemble({"\xE2", "\x82", "\xAC"});
  CHECK(out == std::vector<std::string>({"", "", kEuro, ""}));
}

TEST(ill_formed_bytes_become_replacement_characters) {
  // A lead byte followed by ASCII: one U+FFFD for the unfinished character.
  CHECK(assemble({"\xE2\x82", "A"}) == std::vector<std::string>({"", kReplacement + "A", ""}));
  // A stray continuation byte, and bytes that never start a character.
  CHECK(assemble({"\x80", "\xC0\xAF", "\xFF"}) ==
        std::vector<std::string>({kReplacement, kReplacement + kReplacement, kReplacement, ""}));
  // A surrogate (ED A0 80): ED cannot be followed by A0, so three replacements.
  CHECK(assemble({"\xED\xA0\x80"})[0] == kReplacement + kReplacement + kReplacement);
  // An unfinished character at the end is flushed as one U+FFFD.
  CHECK(assemble({"ok\xF0\x9F"}) == std::vector<std::string>({"ok", kReplacement}));
  // Four-byte characters pass through whole.
  CHECK(assemble({"\xF0\x9F", "\x8E\xB5"})[1] == "\xF0\x9F\x8E\xB5");
}

// --- the fake vocabulary's BPE --------------------------------------------------------

TEST(bpe_merges_the_lowest_id_pair_first) {
  const wn::Tokenizer& tok = fake_tokenizer();
  CHECK(tok.encode(" ") == std::vector<int32_t>({' '}));
  CHECK(tok.encode("ab") == std::vector<int32_t>({kAbToken}));  // the piece is a token
  // "abc": "bc" (261) has a lower id than "ab" (262), so it merges first.
  CHECK(tok.encode("abc") == std::vector<int32_t>({'a', kBcToken}));
  // " (" is one piece and one token; "x (" splits into "x" and " (".
  CHECK(tok.encode("x (") == std::vector<int32_t>({'x', kSpaceParenToken}));
  CHECK(tok.encode(kEuro) == std::vector<int32_t>({kEuroPrefixToken, 0xAC}));
  CHECK(tok.decode(tok.encode("abc (x) " + kEuro)) == "abc (x) " + kEuro);
  CHECK(tok.token_bytes(ts(62)) == "<|1.24|>");
  CHECK(tok.token_bytes(tok.special().start_of_prev) == "<|startofprev|>");
  CHECK(tok.token_bytes(tok.special().first_language) == "<|en|>");
}

// --- segments and seek ------------------------------------------------------------------

TEST(pairs_then_a_single_timestamp_ending) {
  // <|0.00|> a b <|1.00|><|1.00|> c <|2.00|>: a pair at index 4, then text and
  // one timestamp at the end: two segments, and the next window starts a full
  // window later.
  const auto s = split({ts(0), 'a', 'b', ts(50), ts(50), 'c', ts(100)}, window_at(0, 3000, 30));
  CHECK(s.segments.size() == 2);
  if (s.segments.size() == 2) {
    CHECK(s.segments[0].start == 0.0 && s.segments[0].end == 1.0 && s.segments[0].text == "ab");
    CHECK(s.segments[0].first_token == 0 && s.segments[0].end_token == 4);
    CHECK(s.segments[0].token_texts ==
          std::vector<std::string>({"<|0.00|>", "a", "b", "<|1.00|>"}));
    CHECK(s.segments[1].start == 1.0 && s.segments[1].end == 2.0 && s.segments[1].text == "c");
    CHECK(s.segments[1].first_token == 4 && s.segments[1].end_token == 7);
  }
  CHECK(s.next_seek_frames == 3000);
}

TEST(pairs_ending_in_a_pair_seek_to_the_last_segment_end) {
  // <|0.00|> a <|1.00|><|1.04|> b <|2.00|><|2.08|>: segments 0-1.00 and
  // 1.04-2.00; the next window starts at the last complete segment's end,
  // 2.00 s = frame 200 (timestamp 100 * 2 frames).
  const auto s = split({ts(0), 'a', ts(50), ts(52), 'b', ts(100), ts(104)}, window_at(0, 3000, 30));
  CHECK(s.segments.size() == 2);
  if (s.segments.size() == 2) {
    CHECK_NEAR(s.segments[1].start, 1.04, 1e-12);
    CHECK(s.segments[1].end == 2.0 && s.segments[1].text == "b");
  }
  CHECK(s.next_seek_frames == 200);
}

TEST(an_unfinished_tail_is_dropped_and_decoded_again) {
  // <|0.00|> a <|1.00|><|1.00|> b c: the tail "bc" has no closing timestamp;
  // seek to 1.00 s (frame 100) so the next window decodes it again.
  const auto s = split({ts(0), 'a', ts(50), ts(50), 'b', 'c'}, window_at(500, 3000, 60));
  CHECK(s.segments.size() == 1);
  if (s.segments.size() == 1) {
    CHECK(s.segments[0].start == 5.0 && s.segments[0].end == 6.0);  // offset by seek 500
  }
  CHECK(s.next_seek_frames == 600);
}

TEST(no_timestamps_make_one_segment_over_the_window) {
  // Text only, in a last window of 1100 frames (11 s): one segment 0-11 s,
  // clamped to the audio's 10.995 s; the next seek passes the window.
  const auto s = split({'h', 'i'}, window_at(0, 1100, 10.995));
  CHECK(s.segments.size() == 1);
  if (s.segments.size() == 1) {
    CHECK(s.segments[0].start == 0.0 && s.segments[0].end == 10.995);
    CHECK(s.segments[0].text == "hi");
  }
  CHECK(s.next_seek_frames == 1100);
}

TEST(a_single_timestamp_sets_the_segment_end) {
  // <|0.00|> a b <|1.50|>: no pair; the last timestamp ends the segment (1.5 s)
  // but the seek still moves a whole window.
  const auto s = split({ts(0), 'a', 'b', ts(75)}, window_at(3000, 3000, 90));
  CHECK(s.segments.size() == 1);
  if (s.segments.size() == 1) {
    CHECK(s.segments[0].start == 30.0 && s.segments[0].end == 31.5);
    CHECK(s.segments[0].end_token == 4);
  }
  CHECK(s.next_seek_frames == 6000);
  // Only <|0.00|>: it does not shorten the segment (the reference's rule).
  const auto z = split({ts(0), 'a'}, window_at(0, 3000, 30));
  CHECK(z.segments.size() == 1 && z.segments[0].end == 30.0);
}

TEST(blank_zero_length_and_out_of_range_segments_are_dropped) {
  // " " then "a": the blank first segment goes; the second stays.
  const auto blank = split({ts(0), ' ', ts(50), ts(50), 'a', ts(100)}, window_at(0, 3000, 30));
  CHECK(blank.segments.size() == 1 && blank.segments[0].text == "a");
  // An empty window (eot at once) gives nothing and still moves on.
  const auto empty = split({}, window_at(100, 900, 10));
  CHECK(empty.segments.empty() && empty.next_seek_frames == 1000);
  // Audio of 1.2 s: the first segment is cut at 1.2 s, the second starts after it.
  const auto cut = split({ts(0), 'a', ts(75), ts(75), 'b', ts(100)}, window_at(0, 120, 1.2));
  CHECK(cut.segments.size() == 1 && cut.segments[0].end == 1.2);
  // A segment that would start before the previous one's end starts at that end.
  wn::WindowPosition w = window_at(0, 3000, 30);
  w.earliest_start = 0.5;
  const auto late = split({ts(0), 'a', ts(50), ts(50), 'b', ts(100)}, w);
  CHECK(late.segments.size() == 2 && late.segments[0].start == 0.5);
}

TEST(a_character_split_across_tokens_in_a_segment) {
  // "€" as [E2 82][AC]: the first token's text is empty, the second holds "€";
  // an unfinished character at the end of a segment is flushed as U+FFFD onto
  // its last text token.
  const auto s =
      split({ts(0), kEuroPrefixToken, 0xAC, ts(50), ts(50), 'x', kEuroPrefixToken, ts(100)},
            window_at(0, 3000, 30));
  CHECK(s.segments.size() == 2);
  if (s.segments.size() == 2) {
    CHECK(s.segments[0].text == kEuro);
    CHECK(s.segments[0].token_texts[1].empty() && s.segments[0].token_texts[2] == kEuro);
    CHECK(s.segments[1].text == "x" + kReplacement);
    CHECK(s.segments[1].token_texts[2] == kReplacement);
  }
}

TEST(whitespace_is_what_python_strips) {
  CHECK(!wn::has_visible_text(""));
  CHECK(!wn::has_visible_text(" \t\n\x1f"));
  CHECK(!wn::has_visible_text("\xC2\xA0\xE3\x80\x80\xE2\x80\x83"));  // NBSP, ideographic, em space
  CHECK(wn::has_visible_text(" a "));
  CHECK(wn::has_visible_text("\xC2\xA0\xE2\x99\xAA"));  // NBSP then a note
  CHECK(wn::has_visible_text("\xEF\xBF\xBD"));          // U+FFFD is visible
}

TEST(the_seek_always_moves_forward) {
  // Tokens no rule-abiding decoder makes (a pair at <|0.00|>) must not loop.
  const auto s = split({ts(0), ts(0), 'a'}, window_at(0, 3000, 30));
  CHECK(s.next_seek_frames > 0);
}

int main() {
  return wn_test::run_all();
}
