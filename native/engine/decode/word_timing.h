// Word-level timestamps from cross-attention, as the reference computes them
// (OpenAI whisper timing.py): the pure steps after the decoder has produced
// the alignment heads' attention weights over a window's text tokens.
//
//   weights [heads][tokens][frames]
//     -> per head: standardise each frame's column over the tokens, median
//        filter each token's row over the frames (width 7), average the heads
//     -> DTW on the negated matrix: a monotonic path token <-> frame
//     -> the frame where the path reaches each token is that token's start
//        (0.02 s per frame: the encoder's positions)
//     -> words (tokenizer's splitting), start/end from their first token and
//        the next word's first token, probability = mean token probability
//     -> the reference's hacks: long words at sentence ends truncated,
//        punctuation merged into neighbours, first/last word of a segment
//        clamped against the segment's own timestamps.
//
// Where this differs from the reference, on purpose: words never straddle
// segments (a window's text is split into words per segment, and punctuation
// merges only within a segment), so each segment's words spell exactly its
// text.
//
// What it is not: running the decoder (engine/word_alignment.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/decode/segments.h"
#include "engine/decode/tokenizer.h"

namespace wn {

constexpr int kMedianFilterWidth = 7;      // the reference's medfilt_width
constexpr double kSecondsPerFrame = 0.02;  // one encoder position (the DTW's time step)

// The reference's median_filter over one row, in place: each value becomes the
// median of the width values centred on it, with reflect padding (the row
// mirrored without repeating its end value). width is odd; a row no longer
// than width / 2 is left as it is.
void median_filter(float* row, int n, int width);

// [heads][n_tokens][n_frames] softmaxed weights -> [n_tokens][n_frames]:
// per head, each frame's column standardised over the tokens (population
// std; a constant column becomes 0), rows median-filtered, then the mean over
// heads.
std::vector<float> alignment_matrix(const float* weights, int n_heads, int n_tokens, int n_frames,
                                    int median_width = kMedianFilterWidth);

// Dynamic time warping over cost [n][m] (row-major) from (0, 0) to
// (n-1, m-1), steps (1,1), (1,0), (0,1), ties broken as the reference's
// dtw_cpu (diagonal only when strictly cheapest, then down, else right).
// Returns, for each row i, the first column of the path in that row.
std::vector<int> dtw_row_starts(const float* cost, int n, int m);

// A word as token indices [begin, end) of a token list, with its text.
struct WordSpan {
  std::string text;
  size_t begin = 0, end = 0;
};

// The reference tokenizer's split_to_word_tokens over text tokens:
// - per character for languages written without spaces (zh, ja, th, lo, my,
//   yue): each run of tokens that completes whole UTF-8 characters is a word;
// - otherwise those runs are joined into words, a new word starting at a run
//   that begins with a space or is punctuation (its stripped text a substring
//   of ASCII punctuation, as Python's `in string.punctuation`).
// Token texts are assembled as segments.h does (a character split across
// tokens belongs to the token completing it), so the words spell the tokens'
// text exactly.
std::vector<WordSpan> split_words(const Tokenizer& tokenizer, const int32_t* tokens, size_t n,
                                  const std::string& language);
bool splits_per_character(const std::string& language);

struct TimedWord {
  std::string word;
  size_t begin = 0, end = 0;  // token indices in the window's text tokens
  double start = 0, end_time = 0;
  float probability = 0;
};

// The reference's default punctuation sets for merge_punctuation().
extern const char* const kPrependPunctuation;  // "'“¿([{-
extern const char* const kAppendPunctuation;   // "'.。,，!！?？:：”)]}、

// The reference's merge_punctuations over one segment's words, in place:
// going backwards, a word that starts with a space and whose stripped text is
// a substring of `prepend` moves into the following word; going forwards, a
// word that is a substring of `append` moves into the previous word unless
// that one ends with a space. A merged-away word is left with empty text and
// an empty token range; the receiving word keeps its own times and
// probability.
void merge_punctuation(std::vector<TimedWord>* words, const std::string& prepend,
                       const std::string& append);

// The window-level statistics the reference's hacks use: the median of the
// nonzero word durations, at most 0.7 s (0 when there is none).
double median_word_duration(const std::vector<TimedWord>& words);

// The reference's sentence-boundary hack over a window's words in order:
// a word longer than max_duration that is a sentence end mark (".。!！?？",
// substring test) is cut to start + max_duration; one following such a mark
// keeps only its last max_duration.
void truncate_long_words_at_sentence_ends(std::vector<TimedWord>* words, double max_duration);

// The reference's per-segment clamps, with absolute times (seconds):
// after a pause (the first word ends more than 4 median durations after
// last_speech_end) a long first word, or first pair, is shortened; then the
// segment's start is kept when the first word starts more than 0.5 s before
// it (the word's start moves to it), else it becomes the word's start, and
// likewise at the end. Words with empty text are dropped first. Returns the
// segment's new end (the next call's last_speech_end) or last_speech_end when
// no word is left.
double clamp_segment_words(std::vector<TimedWord>* words, double* segment_start,
                           double* segment_end, double median_duration, double last_speech_end);

// All of the above for one window, after the DTW. ids: the window's sampled
// tokens; segments: its segments (token ranges into ids, absolute times),
// whose start/end the clamps may move; a segment they leave with its start
// equal to its end is dropped, with its words (the reference clears its text,
// tokens and words). token_frames: the DTW's first frame of each of the
// window's N text tokens (in order across the segments) and one more for the
// eot after them; token_probs: the N text tokens' probabilities. time_offset:
// the window's start in seconds. Returns each remaining segment's words with
// absolute times. *last_speech_end is carried from window to window (the
// reference's last_speech_timestamp): the first segment's clamps see it, and
// it becomes the reference's get_end() of the window's segments, dropped ones
// included: the end of the last word, else the last segment's end (unchanged
// when there is no segment). The reference's next window starts there too
// (seek_after_words()).
std::vector<std::vector<TimedWord>> window_words(const Tokenizer& tokenizer, const int32_t* ids,
                                                 std::vector<WindowSegment>* segments,
                                                 const std::vector<int>& token_frames,
                                                 const std::vector<float>& token_probs,
                                                 double time_offset, const std::string& language,
                                                 double* last_speech_end);

// Where the next window starts after one whose words were timed, as the
// reference's transcribe(): seek_shift = round((last_word_end - time_offset) *
// 100) frames with Python's round (time_offset = seek_frames / 100 s), and
// seek_frames + seek_shift when that shift is > 0; otherwise next_seek_frames
// (the segments' own seek) is kept. last_word_end: get_end() of the window's
// segments, as window_words() leaves it in *last_speech_end.
int64_t seek_after_words(int64_t seek_frames, double last_word_end, int64_t next_seek_frames);

}  // namespace wn
