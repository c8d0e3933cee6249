// Optional reshaping of a window's segments (beyond the reference, as
// whisper.cpp's options): one segment per window, and a cap on a segment's
// length in characters.
//
// What it is not: word timing. Without word timestamps, the times of a cut
// inside a segment are interpolated: a segment of C characters running from
// `start` to `end` puts the cut before character c at
// start + (end - start) * c / C (characters counted as Unicode code points of
// the text tokens; timestamp tokens count for nothing).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/decode/segments.h"
#include "engine/decode/tokenizer.h"

namespace wn {

// Merges all of split's segments into one, from the first's start to the
// last's end. Tokens between two segments that split_window dropped (blank
// text) are included with empty texts, so the text stays the concatenation of
// the token texts.
void merge_into_one(WindowSplit* split);

// Cuts piece so that no part has more than max_chars characters, at token
// boundaries, or with split_on_word only before a token that starts with a
// space (a word longer than max_chars stays whole). Leading timestamp tokens
// go with the first part, trailing ones with the last. max_chars <= 0: piece
// unchanged. window_ids: the window's tokens (piece indexes them).
std::vector<WindowSegment> split_long_segment(const WindowSegment& piece, const int32_t* window_ids,
                                              const Tokenizer& tokenizer, int max_chars,
                                              bool split_on_word);

// Unicode code points in UTF-8 text (bytes that do not start a character are
// not counted).
int count_code_points(const std::string& text);

}  // namespace wn
