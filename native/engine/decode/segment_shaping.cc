// Segment shaping (see segment_shaping.h).
#include "engine/decode/segment_shaping.h"

#include <string>

namespace wn {

int count_code_points(const std::string& text) {
  int n = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

void merge_into_one(WindowSplit* split) {
  std::vector<WindowSegment>& segs = split->segments;
  if (segs.size() < 2) return;
  WindowSegment merged;
  merged.start = segs.front().start;
  merged.end = segs.back().end;
  merged.first_token = segs.front().first_token;
  merged.end_token = segs.back().end_token;
  size_t next = merged.first_token;
  for (const WindowSegment& s : segs) {
    for (; next < s.first_token; ++next) merged.token_texts.emplace_back();  // a dropped blank
    merged.token_texts.insert(merged.token_texts.end(), s.token_texts.begin(), s.token_texts.end());
    merged.text += s.text;
    next = s.end_token;
  }
  segs.assign(1, std::move(merged));
}

namespace {

// Characters of the unit that starts at token i: the token alone, or with
// split_on_word the word (this token and the following ones up to the next
// that starts with a space or is not text).
int unit_chars(const WindowSegment& piece, const int32_t* ids, const Tokenizer& tok, size_t i,
               bool split_on_word) {
  int chars = count_code_points(piece.token_texts[i - piece.first_token]);
  if (!split_on_word) return chars;
  for (size_t j = i + 1; j < piece.end_token; ++j) {
    const std::string& text = piece.token_texts[j - piece.first_token];
    if (!tok.is_text(ids[j]) || (!text.empty() && text[0] == ' ')) break;
    chars += count_code_points(text);
  }
  return chars;
}

}  // namespace

std::vector<WindowSegment> split_long_segment(const WindowSegment& piece, const int32_t* window_ids,
                                              const Tokenizer& tokenizer, int max_chars,
                                              bool split_on_word) {
  const int total = count_code_points(piece.text);
  if (max_chars <= 0 || total <= max_chars) return {piece};
  // Cut points: token indices where a new part starts, and the characters before them.
  std::vector<size_t> cut_tokens;
  std::vector<int> cut_chars;
  int chars = 0, part_chars = 0;
  for (size_t i = piece.first_token; i < piece.end_token; ++i) {
    if (!tokenizer.is_text(window_ids[i])) continue;
    const std::string& text = piece.token_texts[i - piece.first_token];
    const bool boundary = !split_on_word || (!text.empty() && text[0] == ' ');
    if (boundary && part_chars > 0 &&
        part_chars + unit_chars(piece, window_ids, tokenizer, i, split_on_word) > max_chars) {
      cut_tokens.push_back(i);
      cut_chars.push_back(chars);
      part_chars = 0;
    }
    const int c = count_code_points(text);
    chars += c;
    part_chars += c;
  }
  std::vector<WindowSegment> parts;
  size_t begin = piece.first_token;
  int begin_chars = 0;
  const double span = piece.end - piece.start;
  for (size_t k = 0; k <= cut_tokens.size(); ++k) {
    const size_t end = k < cut_tokens.size() ? cut_tokens[k] : piece.end_token;
    const int end_chars = k < cut_tokens.size() ? cut_chars[k] : total;
    WindowSegment part;
    part.start = k == 0 ? piece.start : piece.start + span * begin_chars / total;
    part.end = k == cut_tokens.size() ? piece.end : piece.start + span * end_chars / total;
    part.first_token = begin;
    part.end_token = end;
    for (size_t i = begin; i < end; ++i) {
      const std::string& text = piece.token_texts[i - piece.first_token];
      part.token_texts.push_back(text);
      if (tokenizer.is_text(window_ids[i])) part.text += text;
    }
    parts.push_back(std::move(part));
    begin = end;
    begin_chars = end_chars;
  }
  return parts;
}

}  // namespace wn
