// Whole-file transcription: audio -> log-mel -> 30 s windows -> encoder ->
// decoding with the reference's quality fallback -> segments (REFERENCE.md
// §4–5, OpenAI whisper transcribe.py). The host binding calls this on a worker
// thread.
//
// TranscribeOptions is the one documented place for every option; the
// defaults are the reference library's (transcribe() / DecodingOptions).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/audio/samples.h"
#include "engine/core/cancel.h"
#include "engine/decode/tokenizer.h"
#include "engine/model/model.h"

namespace wn {

struct TranscribeOptions {
  // --- language and task (multilingual models; English-only ones ignore them)
  // A language code from Whisper's list ("en", "de", "zh", ...), or "" / "auto"
  // to detect it from the first 30 s window (reference: language=None).
  std::string language = "auto";
  bool translate = false;  // task "translate" (to English) instead of "transcribe"

  // --- sampling and the quality fallback
  // Each window is decoded at temperatures[0]; when the result is too
  // repetitive or too unlikely (thresholds below) it is decoded again at the
  // next temperature. Must be non-empty and each >= 0. Doubles, as the
  // caller gave them: they are reported back unchanged (Segment::temperature)
  // and compared as the reference does (> 0.5 resets the prompt); sampling
  // divides the logits by the float nearest to each (greedy.h).
  std::vector<double> temperatures = {0.0, 0.2, 0.4, 0.6, 0.8, 1.0};
  // Candidates sampled at each temperature > 0; the best by
  // sum_logprob / length is kept. >= 1. 1 as the reference library's
  // transcribe() (DecodingOptions.best_of None); its command line uses 5.
  int best_of = 1;
  uint64_t seed = 0;  // of the sampling RNG: the same seed gives the same result
  // The most tokens sampled per window; 0: n_text_ctx / 2 (224), the reference's default.
  int sample_len = 0;
  // Unset disables a rule (the reference's None).
  std::optional<double> compression_ratio_threshold = 2.4;  // retry when above
  std::optional<double> logprob_threshold = -1.0;           // retry when avg_logprob below
  // A window whose no-speech probability is above this and whose avg_logprob is
  // below logprob_threshold is skipped as silence.
  std::optional<double> no_speech_threshold = 0.6;
  // Beam search at temperature 0 when beam_size > 1 (0 or 1: greedy, the
  // reference library's default; its command line uses 5). Temperatures above
  // 0 always sample best_of candidates instead, as the reference.
  // All beams advance in one batched decoder pass per step.
  int beam_size = 0;
  // Beam search stops once round(beam_size * patience) sequences have
  // finished; unset: 1.0 (the reference's default).
  std::optional<double> patience;
  // Candidate ranking (beams and best_of samples): unset = sum_logprob /
  // length (the reference's None); else sum_logprob / ((5 + length) / 6) ^
  // length_penalty, which must be in [0, 1] as the reference requires.
  std::optional<double> length_penalty;

  // --- prompting
  // Feed the previous windows' text as a <|startofprev|> prompt (at most the
  // last 223 tokens). Whatever the option, the prompt is dropped after a
  // window decoded at a temperature above 0.5 (the reference's reset).
  bool condition_on_previous_text = true;
  // Text placed before the first window's prompt: encoded as
  // encode(" " + trimmed text). Ignored when initial_prompt_tokens is non-empty.
  std::string initial_prompt;
  std::vector<int32_t> initial_prompt_tokens;  // the same, as token ids (< eot)
  // Text forced at the start of every window's output, after the sot
  // sequence (the reference's `prefix`, passed to each window as its
  // transcribe() does; not part of the returned tokens). Encoded as
  // encode(" " + trimmed text); ignored when prefix_tokens is non-empty.
  // Cut as the reference cuts it (decode/greedy.h reference_prefix): whole
  // with the default sample_len, its last 224 - sample_len tokens with a
  // smaller one, without its first sample_len - 224 with a larger one.
  std::string prefix;
  std::vector<int32_t> prefix_tokens;  // the same, as text token ids

  // --- token filters
  // Seconds; the first timestamp may not be later. 0: no limit, as the
  // reference (its `if options.max_initial_timestamp:`).
  double max_initial_timestamp = 1.0;
  bool suppress_blank = true;  // no " " or eot as the first sampled token
  // Ids never sampled. -1 stands for the reference's non-speech symbol set
  // (its default suppress_tokens="-1"); an empty list suppresses nothing extra.
  std::vector<int32_t> suppress_tokens = {-1};
  // No timestamp tokens: the prompt ends with <|notimestamps|> and each window
  // becomes one segment spanning it.
  bool without_timestamps = false;

  // --- what to transcribe and how to cut it
  // Seconds: start here. The reference's clip_timestamps "offset,offset +
  // duration": each end becomes the 10 ms mel frame round(seconds * 100), with
  // Python's round (a half frame goes to the even one: 0.125 s -> frame 12).
  double offset = 0;
  // Seconds after offset to transcribe; 0: to the end. As the reference's clip
  // end, the audio after it is not heard (the encoder gets silence there).
  double duration = 0;
  // Cut segments longer than this many characters (Unicode code points); 0: no
  // limit. See split_long_segment in transcribe.cc for how times are assigned.
  int max_segment_length = 0;
  bool split_on_word = false;   // with max_segment_length: cut only before a word
  bool single_segment = false;  // one segment per 30 s window

  // --- word-level timestamps
  // Time every word from the alignment heads' cross-attention (the
  // reference's word_timestamps; decode/word_timing.h). Costs one more decoder
  // pass per window. As in the reference, segment times may move to their
  // words' and the next window starts after the last word.
  bool word_timestamps = false;
};

struct WordResult {
  std::string word;           // UTF-8, with its leading space; the words spell the segment's text
  double start = 0, end = 0;  // seconds from the start of the audio, inside the segment
  float probability = 0;      // mean of its tokens' probabilities
};

struct TokenResult {
  int32_t id = 0;
  std::string
      text;     // UTF-8; a character split across tokens belongs to the token that completes it
  float p = 0;  // probability of this token under the filtered distribution
};

struct Segment {
  double start = 0, end = 0;        // seconds from the start of the audio
  std::string text;                 // valid UTF-8
  std::vector<TokenResult> tokens;  // text tokens and timestamp tokens as decoded
  std::vector<WordResult> words;    // with word_timestamps only
  // The window's decoding this segment came from (shared by its segments):
  double temperature = 0;        // of the kept decoding: one of options.temperatures, exactly
  double avg_logprob = 0;        // sum_logprob / (sampled tokens + 1)
  double compression_ratio = 0;  // of the window's text
  float no_speech_prob = 0;      // p(<|nospeech|>) at the sot position
};

// Where a transcription's time went (wall clock, milliseconds), measured in
// the run itself: what whisper.cpp prints after a run, and what the benchmark
// reads instead of timing the parts apart from a real transcription.
struct TranscribeTimings {
  double total_ms = 0;
  // Encoder passes (the log-mel windows excluded), each with its window's
  // cross-attention K/V: what is computed once per window from the audio, as
  // whisper.cpp counts its encode time (its encoder graph ends with them).
  double encode_ms = 0;
  int encoder_passes = 0;
  // The decoder: prompts, every sampled step of every candidate and fallback
  // temperature, beam steps, token choice.
  double decode_ms = 0;
  // Tokens the decoder ran on one step at a time after each prompt (a beam
  // step counts each of its beams): decode_ms / decoder_steps is the cost of a
  // token, prompts included.
  int decoder_steps = 0;
  // Of decoder_steps, those that ran in one pass with other calls' steps on
  // the same model (StepBatcher): 0 for a call that ran alone.
  int shared_steps = 0;
  double align_ms = 0;  // word timestamps: the alignment passes and DTW
};

struct TranscribeResult {
  TranscribeTimings timings;
  std::vector<Segment> segments;
  // transcript_text(segments): the whole text, as the reference's result["text"].
  std::string text;
  double duration = 0;   // seconds of audio
  std::string language;  // the language code used ("en" for English-only models)
};

struct TranscribeCallbacks {
  std::function<void(double fraction)> on_progress;  // 0..1, after each window
  std::function<void(const Segment&)> on_segment;    // as each segment is final
  const CancellationFlag* cancel = nullptr;  // polled by the log-mel pass, encoder, decoder steps
};

// The text tokens of all segments, in order, decoded at once: the reference's
// tokenizer.decode(all_tokens[len(initial_prompt_tokens):]) (transcribe.py).
// Each segment's text is its own tokens decoded alone, as the reference's
// segment["text"], so a character whose bytes are split between the last
// token of one segment and the first of the next is U+FFFD in both segments'
// texts but whole here; otherwise this is the segments' texts joined.
std::string transcript_text(const std::vector<Segment>& segments, const Tokenizer& tokenizer);

// samples: 16 kHz mono in [-1, 1] (or int16, engine/audio/samples.h). Throws
// wn::Error (kInvalidAudio for NaN/Inf, kInvalidArgument for an invalid
// option, kAborted when cancelled). Empty audio gives an empty result.
TranscribeResult transcribe(const Model& model, AudioSamples samples,
                            const TranscribeOptions& options, const TranscribeCallbacks& callbacks);
inline TranscribeResult transcribe(const Model& model, const float* samples, size_t n_samples,
                                   const TranscribeOptions& options,
                                   const TranscribeCallbacks& callbacks) {
  return transcribe(model, AudioSamples::of_floats(samples, n_samples), options, callbacks);
}

}  // namespace wn
