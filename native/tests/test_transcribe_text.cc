// The transcript's text against its segments' texts on crafted tokens (no
// model needed): the reference decodes each segment's tokens alone for its
// text and all segments' tokens at once for the whole text (transcribe.py:
// new_segment's tokenizer.decode(text_tokens), and tokenizer.decode(
// all_tokens[len(initial_prompt_tokens):]) at the end).
#include <string>
#include <vector>

#include "check.h"
#include "decode_test_vocab.h"
#include "engine/decode/segments.h"
#include "engine/transcribe.h"

using namespace wn_test;

namespace {

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD
const std::string kEuro = "\xE2\x82\xAC";         // €

// Segments as the window loop emits them: times, text and tokens of each
// piece of split_window.
std::vector<wn::Segment> segments_of(const std::vector<int32_t>& ids) {
  wn::WindowPosition w;
  w.window_frames = 3000;
  w.audio_seconds = 30;
  const wn::WindowSplit split = wn::split_window(ids.data(), ids.size(), fake_tokenizer(), w);
  std::vector<wn::Segment> out;
  for (const wn::WindowSegment& piece : split.segments) {
    wn::Segment s;
    s.start = piece.start;
    s.end = piece.end;
    s.text = piece.text;
    for (size_t i = piece.first_token; i < piece.end_token; ++i) {
      wn::TokenResult t;
      t.id = ids[i];
      t.text = piece.token_texts[i - piece.first_token];
      s.tokens.push_back(t);
    }
    out.push_back(s);
  }
  return out;
}

std::string joined(const std::vector<wn::Segment>& segments) {
  std::string text;
  for (const wn::Segment& s : segments) text += s.text;
  return text;
}

}  // namespace

TEST(a_character_split_across_two_segments_is_whole_in_the_text) {
  // "a€" | "b": € is [E2 82] at the end of the first segment and [AC] at the
  // start of the second, with the timestamp pair between them.
  const std::vector<wn::Segment> segments =
      segments_of({ts(0), 'a', kEuroPrefixToken, ts(50), ts(50), 0xAC, 'b', ts(100)});
  CHECK(segments.size() == 2);
  if (segments.size() != 2) return;
  // Each segment alone, as the reference's segment["text"]: one U+FFFD for the
  // unfinished E2 82, one for the stray AC.
  CHECK(segments[0].text == "a" + kReplacement);
  CHECK(segments[1].text == kReplacement + "b");
  // The whole text decodes the bytes together, as the reference's text.
  CHECK(wn::transcript_text(segments, fake_tokenizer()) == "a" + kEuro + "b");
}

TEST(otherwise_the_text_is_the_segments_texts_joined) {
  const std::vector<wn::Segment> segments =
      segments_of({ts(0), ' ', 'a', kEuroPrefixToken, 0xAC, ts(40), ts(40), kBcToken, '!', ts(90)});
  CHECK(segments.size() == 2);
  CHECK(joined(segments) == " a" + kEuro + "bc!");
  CHECK(wn::transcript_text(segments, fake_tokenizer()) == joined(segments));
  // A character left unfinished by the last segment stays U+FFFD, as in the
  // reference's decode with errors="replace".
  const std::vector<wn::Segment> unfinished = segments_of({ts(0), 'x', kEuroPrefixToken, ts(10)});
  CHECK(wn::transcript_text(unfinished, fake_tokenizer()) == "x" + kReplacement);
  CHECK(wn::transcript_text({}, fake_tokenizer()).empty());
}

int main() {
  return wn_test::run_all();
}
