// Cutting one window's decoded tokens into timed segments, and choosing where
// the next window starts, as OpenAI's transcribe() does (REFERENCE.md §5):
//
// - Two timestamps in a row close one segment and open the next; each segment
//   runs from its first token's timestamp to its last one's.
// - A window that ends with text then one timestamp ("single timestamp
//   ending") also closes its last segment there; the next window starts a full
//   window later (nothing more was said in this one).
// - Otherwise the unfinished tail after the last pair is dropped and the next
//   window starts at the last complete segment's end timestamp.
// - A window without any pair is one segment from the window's start to its
//   last timestamp (or to the window's end), and the next window starts a full
//   window later.
//
// Beyond the reference: times are clamped into [0, audio length] and after the
// previous segment's end, and segments that end up empty or zero-length are
// dropped, so segments always come out ordered and non-overlapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/decode/tokenizer.h"

namespace wn {

struct WindowPosition {
  int64_t seek_frames = 0;    // the window's first mel frame (100 per second)
  int64_t window_frames = 0;  // frames of audio it covers: min(3000, content_frames - seek)
  double audio_seconds = 0;   // length of the whole audio; segments are clamped into it
  double earliest_start = 0;  // end of the last segment already emitted
};

struct WindowSegment {
  double start = 0, end = 0;  // seconds from the start of the audio
  size_t first_token = 0;     // the segment is tokens [first_token, end_token)
  size_t end_token = 0;       // of the window
  std::string text;           // valid UTF-8
  // One per token of the range: the characters that token completes, or a
  // special token's name ("<|1.24|>", relative to the window like the token).
  std::vector<std::string> token_texts;
};

struct WindowSplit {
  std::vector<WindowSegment> segments;  // ordered, non-overlapping, non-empty
  int64_t next_seek_frames = 0;         // always > the window's seek_frames
};

// ids: the window's sampled tokens without eot.
WindowSplit split_window(const int32_t* ids, size_t n, const Tokenizer& tokenizer,
                         const WindowPosition& window);

// Whether text holds anything but whitespace (the reference drops segments whose
// text.strip() is empty).
bool has_visible_text(const std::string& text);
// Python's str.strip() on UTF-8 text: without the leading and trailing
// characters str.isspace() counts as whitespace (Unicode spaces included).
std::string python_strip(const std::string& text);

}  // namespace wn
