// Window tokens -> segments and the next seek (see segments.h).
#include "engine/decode/segments.h"

#include <algorithm>

namespace wn {
namespace {

constexpr double kFramesPerSecond = 100.0;  // mel frames: 16000 Hz / hop 160

// A run of tokens with window-relative times, before text and clamping.
struct Slice {
  size_t begin, end;
  double start, end_time;
};

struct SliceResult {
  std::vector<Slice> slices;
  int64_t seek_advance_frames;
};

// The reference's slicing (OpenAI transcribe(): consecutive timestamps,
// single_timestamp_ending, the seek advance).
SliceResult slice_tokens(const int32_t* ids, size_t n, const Tokenizer& tok,
                         int64_t window_frames) {
  auto is_ts = [&](size_t i) { return tok.is_timestamp(ids[i]); };
  const bool single_timestamp_ending = n >= 2 && !is_ts(n - 2) && is_ts(n - 1);
  std::vector<size_t> cuts;  // index of the second token of each timestamp pair
  for (size_t i = 0; i + 1 < n; ++i) {
    if (is_ts(i) && is_ts(i + 1)) cuts.push_back(i + 1);
  }

  SliceResult result;
  if (cuts.empty()) {
    double duration = window_frames / kFramesPerSecond;
    for (size_t i = n; i-- > 0;) {
      if (is_ts(i)) {
        // As the reference: a lone <|0.00|> does not shorten the segment.
        if (ids[i] != tok.timestamp_begin()) duration = tok.timestamp_seconds(ids[i]);
        break;
      }
    }
    result.slices.push_back({0, n, 0.0, duration});
    result.seek_advance_frames = window_frames;
    return result;
  }

  if (single_timestamp_ending) cuts.push_back(n);
  size_t begin = 0;
  double previous_end = 0;
  for (size_t cut : cuts) {
    // The first token of the first slice is a timestamp whenever the initial
    // rule held; fall back to the previous end for arbitrary input.
    const double start = is_ts(begin) ? tok.timestamp_seconds(ids[begin]) : previous_end;
    const double end = tok.timestamp_seconds(ids[cut - 1]);
    result.slices.push_back({begin, cut, start, end});
    previous_end = end;
    begin = cut;
  }
  if (single_timestamp_ending) {
    result.seek_advance_frames = window_frames;
  } else {
    // ids[begin - 1] is the end timestamp of the last complete segment.
    result.seek_advance_frames =
        static_cast<int64_t>(ids[begin - 1] - tok.timestamp_begin()) * kFramesPerTimestamp;
  }
  return result;
}

// Fills the segment's text and per-token texts from tokens [begin, end).
void assemble_text(const int32_t* ids, const Tokenizer& tok, WindowSegment* seg) {
  Utf8Assembler utf8;
  size_t last_text_token = SIZE_MAX;
  for (size_t i = seg->first_token; i < seg->end_token; ++i) {
    std::string piece;
    if (tok.is_text(ids[i])) {
      utf8.feed(tok.token_bytes(ids[i]), &piece);
      seg->text += piece;
      last_text_token = seg->token_texts.size();
    } else {
      piece = tok.token_bytes(ids[i]);
    }
    seg->token_texts.push_back(std::move(piece));
  }
  if (utf8.has_pending()) {
    std::string rest;
    utf8.flush(&rest);  // an unfinished character at the segment's end
    seg->text += rest;
    seg->token_texts[last_text_token] += rest;
  }
}

}  // namespace

namespace {

// Python's str.isspace() set: ASCII \t..\r, \x1c..\x1f and space, and the
// Unicode spaces U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029,
// U+202F, U+205F, U+3000.
bool is_python_space(uint32_t cp) {
  return cp == ' ' || (cp >= '\t' && cp <= '\r') || (cp >= 0x1C && cp <= 0x1F) || cp == 0x85 ||
         cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// The code point at text[i] and its length in bytes (text is valid UTF-8; a
// stray byte counts as one non-space character).
uint32_t code_point_at(const std::string& text, size_t i, int* len) {
  const uint8_t b = static_cast<uint8_t>(text[i]);
  *len = b < 0x80 ? 1 : b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  if (i + *len > text.size()) *len = 1;
  if (*len == 1) return b < 0x80 ? b : 0xFFFD;
  uint32_t cp = *len == 2 ? b & 0x1F : *len == 3 ? b & 0x0F : b & 0x07;
  for (int k = 1; k < *len; ++k) cp = (cp << 6) | (static_cast<uint8_t>(text[i + k]) & 0x3F);
  return cp;
}

}  // namespace

std::string python_strip(const std::string& text) {
  size_t begin = 0;
  while (begin < text.size()) {
    int len = 0;
    if (!is_python_space(code_point_at(text, begin, &len))) break;
    begin += static_cast<size_t>(len);
  }
  // From the end: find the last non-space character's end.
  size_t end = begin;
  for (size_t i = begin; i < text.size();) {
    int len = 0;
    const bool space = is_python_space(code_point_at(text, i, &len));
    i += static_cast<size_t>(len);
    if (!space) end = i;
  }
  return text.substr(begin, end - begin);
}

bool has_visible_text(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    int len = 0;
    if (!is_python_space(code_point_at(text, i, &len))) return true;
    i += static_cast<size_t>(len);
  }
  return false;
}

WindowSplit split_window(const int32_t* ids, size_t n, const Tokenizer& tokenizer,
                         const WindowPosition& window) {
  const SliceResult sliced = slice_tokens(ids, n, tokenizer, window.window_frames);
  const double offset = window.seek_frames / kFramesPerSecond;

  WindowSplit split;
  double earliest = std::max(window.earliest_start, 0.0);
  for (const Slice& slice : sliced.slices) {
    // The reference clears zero-length or blank segments.
    if (slice.start == slice.end_time) continue;
    WindowSegment seg;
    seg.first_token = slice.begin;
    seg.end_token = slice.end;
    assemble_text(ids, tokenizer, &seg);
    if (!has_visible_text(seg.text)) continue;
    seg.start = std::max(offset + slice.start, earliest);
    seg.end = std::min(offset + slice.end_time, window.audio_seconds);
    if (!(seg.end > seg.start)) continue;
    earliest = seg.end;
    split.segments.push_back(std::move(seg));
  }
  // A window always moves the seek forward (rule-abiding tokens always do;
  // this guards against looping forever on anything else).
  const int64_t advance = sliced.seek_advance_frames > 0
                              ? sliced.seek_advance_frames
                              : std::max<int64_t>(window.window_frames, 1);
  split.next_seek_frames = window.seek_frames + advance;
  return split;
}

}  // namespace wn
