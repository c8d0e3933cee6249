// Word-level timestamps after the decoder (see word_timing.h).
#include "engine/decode/word_timing.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/python_round.h"

namespace wn {

const char* const kPrependPunctuation = "\"'\u201c\u00bf([{-";
const char* const kAppendPunctuation = "\"'.\u3002,\uff0c!\uff01?\uff1f:\uff1a\u201d)]}\u3001";

namespace {

constexpr const char* kAsciiPunctuation =
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";  // string.punctuation
constexpr const char* kSentenceEndMarks = ".\u3002!\uff01?\uff1f";

// Python's `a in b` for strings: a substring test (the empty string is in every string).
bool is_substring(const std::string& needle, const std::string& haystack) {
  return haystack.find(needle) != std::string::npos;
}

// Python's round(x, 2) closely enough for times (ties are not a concern here).
double round_centiseconds(double seconds) {
  return std::round(seconds * 100.0) / 100.0;
}

}  // namespace

void median_filter(float* row, int n, int width) {
  const int pad = width / 2;
  if (n <= pad || width <= 1) return;
  std::vector<float> padded(static_cast<size_t>(n + 2 * pad));
  for (int i = -pad; i < n + pad; ++i) {
    const int src = i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;  // reflect, edge not repeated
    padded[static_cast<size_t>(i + pad)] = row[src];
  }
  std::vector<float> window(static_cast<size_t>(width));
  for (int i = 0; i < n; ++i) {
    std::copy(padded.begin() + i, padded.begin() + i + width, window.begin());
    std::nth_element(window.begin(), window.begin() + pad, window.end());
    row[i] = window[static_cast<size_t>(pad)];
  }
}

std::vector<float> alignment_matrix(const float* weights, int n_heads, int n_tokens, int n_frames,
                                    int median_width) {
  const size_t plane = static_cast<size_t>(n_tokens) * n_frames;
  std::vector<float> sum(plane, 0.0f);
  std::vector<float> head(plane);
  for (int h = 0; h < n_heads; ++h) {
    const float* w = weights + h * plane;
    for (int f = 0; f < n_frames; ++f) {
      double mean = 0;
      for (int t = 0; t < n_tokens; ++t) mean += w[static_cast<size_t>(t) * n_frames + f];
      mean /= n_tokens;
      double var = 0;
      for (int t = 0; t < n_tokens; ++t) {
        const double dev = w[static_cast<size_t>(t) * n_frames + f] - mean;
        var += dev * dev;
      }
      const double std_dev = std::sqrt(var / n_tokens);
      // The reference divides by 0 here (NaN); a constant column carries no
      // information, so it becomes 0 and leaves the path to the other frames.
      for (int t = 0; t < n_tokens; ++t) {
        const size_t at = static_cast<size_t>(t) * n_frames + f;
        head[at] = std_dev > 0 ? static_cast<float>((w[at] - mean) / std_dev) : 0.0f;
      }
    }
    for (int t = 0; t < n_tokens; ++t) {
      float* row = head.data() + static_cast<size_t>(t) * n_frames;
      median_filter(row, n_frames, median_width);
      float* acc = sum.data() + static_cast<size_t>(t) * n_frames;
      for (int f = 0; f < n_frames; ++f) acc[f] += row[f];
    }
  }
  if (n_heads > 0) {
    for (float& v : sum) v /= static_cast<float>(n_heads);
  }
  return sum;
}

std::vector<int> dtw_row_starts(const float* cost, int n, int m) {
  std::vector<int> starts(static_cast<size_t>(std::max(n, 0)), 0);
  if (n <= 0 || m <= 0) return starts;
  const size_t cols = static_cast<size_t>(m) + 1;
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> total((static_cast<size_t>(n) + 1) * cols, inf);
  std::vector<uint8_t> trace((static_cast<size_t>(n) + 1) * cols, 2);
  total[0] = 0;
  for (size_t j = 1; j <= static_cast<size_t>(m); ++j) {
    for (size_t i = 1; i <= static_cast<size_t>(n); ++i) {
      const float c0 = total[(i - 1) * cols + j - 1];
      const float c1 = total[(i - 1) * cols + j];
      const float c2 = total[i * cols + j - 1];
      float c;
      uint8_t t;
      if (c0 < c1 && c0 < c2) {
        c = c0, t = 0;
      } else if (c1 < c0 && c1 < c2) {
        c = c1, t = 1;
      } else {
        c = c2, t = 2;
      }
      total[i * cols + j] = cost[(i - 1) * static_cast<size_t>(m) + (j - 1)] + c;
      trace[i * cols + j] = t;
    }
  }
  // Back from the end; on the borders only one move is possible.
  for (size_t j = 0; j < cols; ++j) trace[j] = 2;
  for (size_t i = 0; i <= static_cast<size_t>(n); ++i) trace[i * cols] = 1;
  size_t i = static_cast<size_t>(n), j = static_cast<size_t>(m);
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0) starts[i - 1] = static_cast<int>(j - 1);  // ends at the row's first
    const uint8_t t = trace[i * cols + j];
    if (t == 0) {
      --i, --j;
    } else if (t == 1) {
      --i;
    } else {
      --j;
    }
  }
  return starts;
}

bool splits_per_character(const std::string& language) {
  return language == "zh" || language == "ja" || language == "th" || language == "lo" ||
         language == "my" || language == "yue";
}

std::vector<WordSpan> split_words(const Tokenizer& tokenizer, const int32_t* tokens, size_t n,
                                  const std::string& language) {
  // Runs of tokens that complete whole characters (split_tokens_on_unicode).
  std::vector<WordSpan> runs;
  Utf8Assembler utf8;
  WordSpan run;
  for (size_t i = 0; i < n; ++i) {
    utf8.feed(tokenizer.token_bytes(tokens[i]), &run.text);
    run.end = i + 1;
    if (!utf8.has_pending()) {
      runs.push_back(run);
      run = WordSpan();
      run.begin = run.end = i + 1;
    }
  }
  if (run.end > run.begin) {
    utf8.flush(&run.text);  // an unfinished character: U+FFFD, as the segment's text has
    runs.push_back(run);
  }
  if (splits_per_character(language)) return runs;

  // Runs joined into words at spaces and punctuation (split_tokens_on_spaces).
  std::vector<WordSpan> words;
  for (WordSpan& r : runs) {
    const bool with_space = !r.text.empty() && r.text[0] == ' ';
    const bool punctuation = is_substring(python_strip(r.text), kAsciiPunctuation);
    if (with_space || punctuation || words.empty()) {
      words.push_back(std::move(r));
    } else {
      words.back().text += r.text;
      words.back().end = r.end;
    }
  }
  return words;
}

void merge_punctuation(std::vector<TimedWord>* words, const std::string& prepend,
                       const std::string& append) {
  std::vector<TimedWord>& w = *words;
  if (w.size() < 2) return;
  // Prepended marks move forward into the word after them (scanning back).
  size_t j = w.size() - 1;
  for (size_t i = w.size() - 1; i-- > 0;) {
    TimedWord& previous = w[i];
    TimedWord& following = w[j];
    if (!previous.word.empty() && previous.word[0] == ' ' &&
        is_substring(python_strip(previous.word), prepend)) {
      following.word = previous.word + following.word;
      following.begin = previous.begin;
      previous.word.clear();
      previous.end = previous.begin;
    } else {
      j = i;
    }
  }
  // Appended marks move back into the word before them.
  size_t i = 0;
  for (size_t k = 1; k < w.size(); ++k) {
    TimedWord& previous = w[i];
    TimedWord& following = w[k];
    const bool ends_with_space = !previous.word.empty() && previous.word.back() == ' ';
    if (!ends_with_space && is_substring(following.word, append)) {
      previous.word += following.word;
      previous.end = following.end;
      following.word.clear();
      following.begin = following.end;
    } else {
      i = k;
    }
  }
}

double median_word_duration(const std::vector<TimedWord>& words) {
  std::vector<double> durations;
  for (const TimedWord& w : words) {
    const double d = w.end_time - w.start;
    if (d != 0) durations.push_back(d);
  }
  if (durations.empty()) return 0.0;
  std::sort(durations.begin(), durations.end());
  const size_t mid = durations.size() / 2;
  const double median =
      durations.size() % 2 == 1 ? durations[mid] : (durations[mid - 1] + durations[mid]) / 2;
  return std::min(0.7, median);
}

void truncate_long_words_at_sentence_ends(std::vector<TimedWord>* words, double max_duration) {
  std::vector<TimedWord>& w = *words;
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i].end_time - w[i].start <= max_duration) continue;
    if (is_substring(w[i].word, kSentenceEndMarks)) {
      w[i].end_time = w[i].start + max_duration;
    } else if (is_substring(w[i - 1].word, kSentenceEndMarks)) {
      w[i].start = w[i].end_time - max_duration;
    }
  }
}

double clamp_segment_words(std::vector<TimedWord>* words, double* segment_start,
                           double* segment_end, double median_duration, double last_speech_end) {
  std::vector<TimedWord>& w = *words;
  w.erase(std::remove_if(w.begin(), w.end(), [](const TimedWord& x) { return x.word.empty(); }),
          w.end());
  for (TimedWord& x : w) {
    x.start = round_centiseconds(x.start);
    x.end_time = round_centiseconds(x.end_time);
  }
  if (w.empty()) return last_speech_end;
  const double max_duration = 2 * median_duration;
  // After a pause, a first word (or first pair) far longer than usual is
  // mostly silence: keep only its last max_duration.
  const bool first_too_long = w[0].end_time - w[0].start > max_duration;
  const bool pair_too_long = w.size() > 1 && w[1].end_time - w[0].start > 2 * max_duration;
  if (w[0].end_time - last_speech_end > 4 * median_duration && (first_too_long || pair_too_long)) {
    if (w.size() > 1 && w[1].end_time - w[1].start > max_duration) {
      const double boundary = std::max(w[1].end_time / 2, w[1].end_time - max_duration);
      w[0].end_time = w[1].start = boundary;
    }
    w[0].start = std::max(0.0, w[0].end_time - max_duration);
  }
  // The segment's own start wins over a first word that begins well before it.
  if (*segment_start<w[0].end_time&& * segment_start - 0.5> w[0].start) {
    w[0].start = std::max(0.0, std::min(w[0].end_time - median_duration, *segment_start));
  } else {
    *segment_start = w[0].start;
  }
  // And its end over a last word that runs well past it.
  TimedWord& last = w.back();
  if (*segment_end > last.start && *segment_end + 0.5 < last.end_time) {
    last.end_time = std::max(last.start + median_duration, *segment_end);
  } else {
    *segment_end = last.end_time;
  }
  return *segment_end;
}

std::vector<std::vector<TimedWord>> window_words(const Tokenizer& tokenizer, const int32_t* ids,
                                                 std::vector<WindowSegment>* segments,
                                                 const std::vector<int>& token_frames,
                                                 const std::vector<float>& token_probs,
                                                 double time_offset, const std::string& language,
                                                 double* last_speech_end) {
  // Words per segment, timed by the window's text-token index.
  std::vector<std::vector<TimedWord>> words(segments->size());
  std::vector<int32_t> text;
  size_t text_index = 0;  // of the segment's first text token in the window
  for (size_t s = 0; s < segments->size(); ++s) {
    const WindowSegment& seg = (*segments)[s];
    text.clear();
    for (size_t k = seg.first_token; k < seg.end_token; ++k) {
      if (tokenizer.is_text(ids[k])) text.push_back(ids[k]);
    }
    if (text_index + text.size() >= token_frames.size() ||
        text_index + text.size() > token_probs.size()) {
      break;  // the alignment does not cover these tokens
    }
    for (const WordSpan& span : split_words(tokenizer, text.data(), text.size(), language)) {
      TimedWord w;
      w.word = span.text;
      w.begin = text_index + span.begin;
      w.end = text_index + span.end;
      w.start = token_frames[w.begin] * kSecondsPerFrame;
      w.end_time = token_frames[w.end] * kSecondsPerFrame;
      double sum = 0;
      for (size_t k = w.begin; k < w.end; ++k) sum += token_probs[k];
      w.probability = static_cast<float>(sum / static_cast<double>(w.end - w.begin));
      words[s].push_back(std::move(w));
    }
    text_index += text.size();
  }

  // The window-level hacks run over all of its words in order.
  std::vector<TimedWord> all;
  for (const auto& list : words) all.insert(all.end(), list.begin(), list.end());
  const double median_duration = median_word_duration(all);
  if (median_duration > 0) {
    truncate_long_words_at_sentence_ends(&all, 2 * median_duration);
    size_t at = 0;
    for (auto& list : words) {
      for (TimedWord& w : list) w = all[at++];
    }
  }

  // Within the window each segment's clamps see the end of the segment before
  // (add_word_timestamps' own last_speech_timestamp).
  double last_speech = *last_speech_end;
  for (size_t s = 0; s < segments->size(); ++s) {
    merge_punctuation(&words[s], kPrependPunctuation, kAppendPunctuation);
    for (TimedWord& w : words[s]) {
      w.start += time_offset;
      w.end_time += time_offset;
    }
    WindowSegment& seg = (*segments)[s];
    last_speech =
        clamp_segment_words(&words[s], &seg.start, &seg.end, median_duration, last_speech);
  }

  // What transcribe() carries to the next window is get_end() of the window's
  // segments: the end of its last word, which the end clamp may have moved
  // past its segment's end, or the last segment's end when no segment has
  // words. It is taken before the segments below are dropped, as there.
  *last_speech_end = segments->empty() ? *last_speech_end : segments->back().end;
  for (size_t s = segments->size(); s-- > 0;) {
    if (!words[s].empty()) {
      *last_speech_end = words[s].back().end_time;
      break;
    }
  }

  // The reference then clears a segment the clamps left with its start equal
  // to its end (text, tokens and words); this engine drops empty segments.
  size_t kept = 0;
  for (size_t s = 0; s < segments->size(); ++s) {
    if ((*segments)[s].start == (*segments)[s].end) continue;
    if (kept != s) {
      (*segments)[kept] = std::move((*segments)[s]);
      words[kept] = std::move(words[s]);
    }
    ++kept;
  }
  segments->resize(kept);
  words.resize(kept);
  return words;
}

int64_t seek_after_words(int64_t seek_frames, double last_word_end, int64_t next_seek_frames) {
  const double time_offset = static_cast<double>(seek_frames) / 100.0;
  const double shift = round_half_even((last_word_end - time_offset) * 100.0);
  if (!(shift > 0)) return next_seek_frames;
  return seek_frames + static_cast<int64_t>(std::min(shift, 1e15));  // finite, no overflow
}

}  // namespace wn
