// Whole-file transcription (see transcribe.h): the reference's long-form loop
// (OpenAI transcribe()) as a sequence of named stages per 30 s window:
//
//   next window -> encode -> (detect language, once) -> decode with fallback
//   -> skip silence | split into segments -> shape -> emit -> update prompt
//
// Beam search advances all beams in one batched decoder pass per step
// (model/beam_caches.h).
// Word timestamps: a teacher-forced alignment pass per window
// (word_alignment.h, decode/word_timing.h).
#include "engine/transcribe.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>

#include "engine/audio/mel.h"
#include "engine/core/error.h"
#include "engine/core/python_round.h"
#include "engine/decode/beam_search.h"
#include "engine/decode/greedy.h"
#include "engine/decode/logit_filters.h"
#include "engine/decode/quality.h"
#include "engine/decode/segment_shaping.h"
#include "engine/decode/segments.h"
#include "engine/decode/tokenizer.h"
#include "engine/decode/word_timing.h"
#include "engine/language.h"
#include "engine/model/beam_caches.h"
#include "engine/model/decoder.h"
#include "engine/model/encoder.h"
#include "engine/model/step_batcher.h"
#include "engine/word_alignment.h"

namespace wn {
namespace {

// Adds the milliseconds from construction to destruction to *total_ms (so a
// stage that throws still counts up to the throw).
class ScopedTimer {
 public:
  explicit ScopedTimer(double* total_ms)
      : total_ms_(total_ms), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() {
    *total_ms_ +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
            .count();
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  double* total_ms_;
  std::chrono::steady_clock::time_point start_;
};

void invalid(const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, what);
}

// Everything checkable without the model; the rest is checked where it is used.
void check_options(const TranscribeOptions& o) {
  if (!(o.max_initial_timestamp >= 0)) {
    invalid("max_initial_timestamp is " + std::to_string(o.max_initial_timestamp) +
            "; expected a number of seconds >= 0");
  }
  if (o.temperatures.empty()) invalid("temperatures is empty; expected at least one value");
  for (double t : o.temperatures) {
    if (!(t >= 0) || !std::isfinite(t)) {
      invalid("a temperature is " + std::to_string(t) + "; expected a finite value >= 0");
    }
  }
  if (o.best_of < 1) invalid("best_of is " + std::to_string(o.best_of) + "; expected >= 1");
  if (o.sample_len < 0) {
    invalid("sample_len is " + std::to_string(o.sample_len) +
            "; expected >= 0 (0: n_text_ctx / 2)");
  }
  if (o.beam_size < 0) {
    invalid("beam_size is " + std::to_string(o.beam_size) + "; expected >= 0 (0 or 1: greedy)");
  }
  if (o.length_penalty && !(*o.length_penalty >= 0 && *o.length_penalty <= 1)) {
    invalid("length_penalty is " + std::to_string(*o.length_penalty) +
            "; expected a value between 0 and 1 (the reference's alpha)");
  }
  if (o.patience && !(*o.patience > 0 && std::isfinite(*o.patience))) {
    invalid("patience is " + std::to_string(*o.patience) + "; expected a number > 0");
  }
  if (!(o.offset >= 0) || !std::isfinite(o.offset)) {
    invalid("offset is " + std::to_string(o.offset) + "; expected seconds >= 0");
  }
  if (!(o.duration >= 0) || !std::isfinite(o.duration)) {
    invalid("duration is " + std::to_string(o.duration) +
            "; expected seconds >= 0 (0: to the end)");
  }
  if (o.max_segment_length < 0) {
    invalid("max_segment_length is " + std::to_string(o.max_segment_length) +
            "; expected >= 0 (0: no limit)");
  }
}

LogitFilterOptions filter_options(const TranscribeOptions& options, const kernels::Context& ctx) {
  LogitFilterOptions f;
  f.kernels = ctx;
  f.suppress_blank = options.suppress_blank;
  f.suppress_non_speech = false;
  for (int32_t id : options.suppress_tokens) {
    if (id == -1) {
      f.suppress_non_speech = true;
    } else {
      f.extra_suppressed.push_back(id);  // LogitFilters checks the range
    }
  }
  f.timestamps = !options.without_timestamps;
  f.max_initial_timestamp_index = max_initial_timestamp_index(options.max_initial_timestamp);
  return f;
}

// encode(" " + text.strip()), as the reference encodes a prompt or prefix
// given as text; nothing for empty text (the default). Blank text is not
// empty: as in the reference, it is the space token alone.
std::vector<int32_t> encode_as_reference(const std::string& text, const Tokenizer& tok) {
  if (text.empty()) return {};
  return tok.encode(" " + python_strip(text));
}

// The initial prompt's tokens: the ids as given, or the text encoded.
std::vector<int32_t> initial_prompt_tokens(const TranscribeOptions& o, const Tokenizer& tok) {
  if (o.initial_prompt_tokens.empty()) return encode_as_reference(o.initial_prompt, tok);
  for (int32_t id : o.initial_prompt_tokens) {
    if (!tok.is_text(id) && !tok.is_timestamp(id)) {
      invalid("initial prompt token " + std::to_string(id) + " is not a text or timestamp token");
    }
  }
  return o.initial_prompt_tokens;
}

// The prefix's tokens: the ids as given (text only), or the text encoded.
std::vector<int32_t> prefix_tokens(const TranscribeOptions& o, const Tokenizer& tok) {
  if (o.prefix_tokens.empty()) return encode_as_reference(o.prefix, tok);
  for (int32_t id : o.prefix_tokens) {
    if (!tok.is_text(id)) invalid("prefix token " + std::to_string(id) + " is not text");
  }
  return o.prefix_tokens;
}

// The mel frames [begin, end) to transcribe: offset / duration within the audio.
struct FrameRange {
  int64_t begin = 0, end = 0;
};

// Seconds -> a mel frame as the reference turns its clip_timestamps into seek
// points: round(seconds * FRAMES_PER_SECOND), Python's round (a half frame to
// the even one). Clamped so that absurd values cannot overflow.
int64_t seconds_to_frame(double seconds, int64_t max_frame) {
  const double frame = round_half_even(seconds * 100.0);
  return frame >= static_cast<double>(max_frame) ? max_frame : static_cast<int64_t>(frame);
}

// offset and duration are the reference's clip_timestamps "offset,offset + duration":
// both ends are rounded from seconds, so the end is round(offset + duration), not
// begin + round(duration).
FrameRange frames_to_transcribe(const TranscribeOptions& o, int64_t content_frames) {
  FrameRange r;
  r.begin = seconds_to_frame(o.offset, content_frames);
  r.end = content_frames;
  if (o.duration > 0) r.end = seconds_to_frame(o.offset + o.duration, content_frames);
  return r;
}

int sample_len(const Model& model, const TranscribeOptions& o) {
  return o.sample_len > 0 ? o.sample_len : model.hparams().n_text_ctx / 2;
}

// A decoder slot per beam, or per best_of candidate when some temperature
// samples (their caches cost memory only as far as they are filled).
int decoder_slots(const TranscribeOptions& o) {
  int slots = std::max(1, o.beam_size);
  for (double t : o.temperatures) {
    if (t > 0) slots = std::max(slots, o.best_of);
  }
  return slots;
}

// One window's kept decoding and how it was judged.
struct WindowDecoding {
  DecodedWindow decoded;
  WindowQuality quality;
};

// The state of one transcription: the per-call model state and buffers, reused
// for every window.
class WindowLoop {
 public:
  WindowLoop(const Model& model, AudioSamples samples, const TranscribeOptions& options,
             const TranscribeCallbacks& callbacks)
      : model_(model),
        options_(options),
        callbacks_(callbacks),
        tokenizer_(model.vocab(), model.hparams().n_vocab),
        filters_(tokenizer_, filter_options(options, model.context())),
        sampler_(filters_, sample_len(model, options), model.hparams().n_text_ctx),
        mel_(samples, model.mel_filters(), model.hparams().n_mels, model.n_fft_bins(),
             &model.pool(), callbacks.cancel),
        heads_per_group_(
            Encoder::heads_per_group_within(model, (Decoder::cross_kv_halves(model) + 1) / 2)),
        window_memory_(std::max(Encoder::scratch_floats(model, heads_per_group_),
                                (Decoder::cross_kv_halves(model) + 1) / 2),
                       PageBuffer::Pages::kSmall),
        encoder_(model, window_memory_.get(), heads_per_group_),
        decoder_(model, decoder_slots(options), reinterpret_cast<uint16_t*>(window_memory_.get())),
        rng_(options.seed),
        audio_seconds_(static_cast<double>(samples.size()) / kSampleRate) {
    // Every window writes all of it (the cross K/V): huge pages over its whole
    // huge pages (the K/V is streamed per token), small ones for the tail.
    window_memory_.use_huge_pages(window_memory_.size());
    thresholds_.compression_ratio = options.compression_ratio_threshold;
    thresholds_.logprob = options.logprob_threshold;
    thresholds_.no_speech = options.no_speech_threshold;
    history_ = initial_prompt_tokens(options, tokenizer_);
    prefix_ = reference_prefix(prefix_tokens(options, tokenizer_), model.hparams().n_text_ctx,
                               sample_len(model, options));
    choose_language_if_given();
    // decoder_.forward()'s rows are scratch until its next pass.
    sampler_.set_rows_are_scratch(true);
    if (options.word_timestamps) alignment_heads_ = alignment_heads(model.hparams());
    if (options.beam_size > 1) {
      BeamSearchOptions b;
      b.beam_size = options.beam_size;
      b.patience = options.patience.value_or(1.0);
      b.length_penalty = options.length_penalty;
      beam_ = std::make_unique<BeamSearchDecoder>(filters_, sample_len(model, options),
                                                  model.hparams().n_text_ctx, b);
      beam_->set_rows_are_scratch(true);  // forward_batch()'s rows, as the sampler's
      beam_caches_ = std::make_unique<BeamCaches>(&decoder_);
    }
  }

  void run(TranscribeResult* result) {
    timings_ = &result->timings;
    const FrameRange range = frames_to_transcribe(options_, mel_.content_frames());
    const double end_seconds = std::min(audio_seconds_, range.end / 100.0);
    if (range.end <= range.begin && callbacks_.on_progress) callbacks_.on_progress(1.0);
    int64_t seek = range.begin;
    while (seek < range.end) {
      throw_if_cancelled(callbacks_.cancel);
      const int64_t window_frames = std::min<int64_t>(kWindowFrames, range.end - seek);
      if (language_index_ < 0 &&
          !(seek == 0 && (range.end >= mel_.content_frames() || range.end >= kWindowFrames))) {
        // The reference detects on the audio's first 30 s (pad_or_trim(mel)),
        // whatever part of it is transcribed: that window, whole, when the
        // first one transcribed is not it.
        encode_window(0, mel_.content_frames());
        detect_language_here();
      }
      encode_window(seek, range.end);
      if (language_index_ < 0) detect_language_here();
      const WindowDecoding window = decode_with_fallback();
      if (is_silence(window.quality, thresholds_)) {
        seek += window_frames;
      } else {
        WindowPosition position;
        position.seek_frames = seek;
        position.window_frames = window_frames;
        position.audio_seconds = end_seconds;
        position.earliest_start = last_end_;
        WindowSplit split =
            split_window(window_ids_.data(), window_ids_.size(), tokenizer_, position);
        if (options_.single_segment) merge_into_one(&split);
        pieces_.clear();
        for (const WindowSegment& piece : split.segments) {
          for (WindowSegment& part :
               split_long_segment(piece, window_ids_.data(), tokenizer_,
                                  options_.max_segment_length, options_.split_on_word)) {
            pieces_.push_back(std::move(part));
          }
        }
        words_.assign(pieces_.size(), {});
        if (options_.word_timestamps) {
          const ScopedTimer timer(&timings_->align_ms);
          time_words(position, &split.next_seek_frames);
        }
        for (size_t i = 0; i < pieces_.size(); ++i)
          emit_segment(pieces_[i], words_[i], window, result);
        // The reference drops the prompt after a window it had to sample hot.
        if (!options_.condition_on_previous_text || window.quality.temperature > 0.5) {
          history_.clear();
        }
        seek = split.next_seek_frames;
      }
      if (callbacks_.on_progress) {
        callbacks_.on_progress(static_cast<double>(std::min(seek, range.end) - range.begin) /
                               static_cast<double>(range.end - range.begin));
      }
    }
    result->text = transcript_text(result->segments, tokenizer_);
    // "" when a multilingual model never saw a window to detect the language on.
    if (language_index_ >= 0) {
      result->language = tokenizer_.special().multilingual ? language_code(language_index_) : "en";
    }
  }

 private:
  void choose_language_if_given() {
    if (!tokenizer_.special().multilingual) {
      language_index_ = 0;  // English-only models have no language token
      return;
    }
    if (options_.language.empty() || options_.language == "auto") return;  // detect later
    const int index = language_index(options_.language);
    if (index < 0 || index >= tokenizer_.special().n_languages) {
      invalid("language \"" + options_.language + "\" is not one of this model's " +
              std::to_string(tokenizer_.special().n_languages) + " languages");
    }
    language_index_ = index;
  }

  // The reference detects once, before the first window, and keeps the answer.
  void detect_language_here() {
    const ScopedTimer timer(&timings_->decode_ms);
    const int32_t sot = tokenizer_.special().sot;
    throw_if_cancelled(callbacks_.cancel);
    const float* row = decoder_.forward(&sot, 1);
    language_index_ = language_probabilities(row, tokenizer_.special()).front().index;
    decoder_.reset();
  }

  // end_frame: where the audio to transcribe ends. When that is before the
  // audio's end (offset + duration), the encoder must not hear what follows,
  // as the reference's clip end (its mel_segment stops there and is padded):
  // those frames become the log-mel of silence, as past the audio's end.
  void encode_window(int64_t seek, int64_t end_frame) {
    float* mel = encoder_.mel_buffer();
    mel_.window(seek, mel);
    if (end_frame < mel_.content_frames()) {
      const int64_t keep = std::clamp<int64_t>(end_frame - seek, 0, kWindowFrames);
      const float silence = mel_.silence_value();
      for (int m = 0; m < mel_.n_mels(); ++m) {
        float* row = mel + static_cast<size_t>(m) * kWindowFrames;
        std::fill(row + keep, row + kWindowFrames, silence);
      }
    }
    float* encoded = decoder_.audio_buffer();
    const ScopedTimer timer(&timings_->encode_ms);
    encoder_.encode(mel, encoded, callbacks_.cancel);
    timings_->encoder_passes += 1;
    decoder_.set_audio(encoded);  // cross-attention K/V, once per window
  }

  // Decodes the encoded window at each temperature in turn until the result
  // passes the quality rules (or the temperatures run out: the last is kept).
  WindowDecoding decode_with_fallback() {
    const ScopedTimer timer(&timings_->decode_ms);
    decoder_.reset();
    const std::vector<int32_t> sot_sequence =
        tokenizer_.sot_sequence(language_index_, options_.translate, !options_.without_timestamps);
    const int max_previous = model_.hparams().n_text_ctx / 2 - 1;  // 223
    const size_t n_previous = std::min(history_.size(), static_cast<size_t>(max_previous));
    const std::vector<int32_t> prompt = window_prompt(
        sot_sequence, tokenizer_.special().start_of_prev, history_, max_previous, prefix_);
    const int sot_index = n_previous > 0 ? static_cast<int>(n_previous) + 1 : 0;
    const LogitsFn feed = [this](const int32_t* tokens, int n) {
      return decoder_.forward(tokens, n);
    };
    FedPrompt fed;
    sampler_.feed_prompt(prompt, sot_index, feed, callbacks_.cancel, &fed);
    WindowDecoding kept;
    for (double temperature : options_.temperatures) {
      if (temperature == 0 && beam_) {
        beam_caches_->start(fed.n_prompt);
        const BatchLogitsFn step = [this](const std::vector<int32_t>& tokens,
                                          const std::vector<int>& parents) {
          timings_->decoder_steps += static_cast<int>(tokens.size());
          return beam_caches_->step(tokens, parents);
        };
        beam_->decode(fed, step, callbacks_.cancel, &kept.decoded);
      } else {
        sample_candidates(fed, temperature);
        std::swap(kept.decoded, candidates_[best_candidate(candidates_, options_.length_penalty)]);
      }
      kept.quality = measure_window(kept.decoded, tokenizer_, fed.no_speech_prob);
      if (!needs_fallback(kept.quality, thresholds_)) break;
    }
    window_ids_.clear();
    for (const SampledToken& t : kept.decoded.tokens) window_ids_.push_back(t.id);
    return kept;
  }

  // One candidate at temperature 0, best_of above it; each starts from the
  // fed prompt (the decoder's cache is cut back to it). One candidate's steps
  // go through the model's StepBatcher, so that concurrent calls on the model
  // share their decoder passes (each row as it would be alone). Several
  // candidates (best_of) are sampled together in their own passes, each in a
  // decoder slot of its own and drawing from a random stream of its own
  // (taken from the call's, so a seed still gives one result).
  void sample_candidates(const FedPrompt& fed, double temperature) {
    const size_t n_candidates = temperature > 0 ? static_cast<size_t>(options_.best_of) : 1;
    candidates_.resize(n_candidates);
    decoder_.truncate(fed.n_prompt);
    if (n_candidates > 1) {
      for (int slot = 1; slot < static_cast<int>(n_candidates); ++slot) {
        decoder_.copy_sequence(0, slot);  // the prompt's rows (the cache's prefix is kept)
      }
      candidate_rngs_.clear();
      for (size_t i = 0; i < n_candidates; ++i) candidate_rngs_.emplace_back(rng_.next_u64());
      const SlotsLogitsFn steps = [this](const int32_t* tokens, const int* slots, int n) {
        timings_->decoder_steps += n;
        return decoder_.forward_batch(tokens, slots, n);
      };
      sampler_.sample_together(fed, temperature, &candidate_rngs_, steps, callbacks_.cancel,
                               &candidates_);
      return;
    }
    StepBatcher::Member steps(&model_.step_batcher(), &decoder_);
    const LogitsFn logits = [this, &steps](const int32_t* tokens, int n) {
      timings_->decoder_steps += n;
      const float* row = nullptr;
      for (int i = 0; i < n; ++i) row = steps.step(tokens[i], sampler_.first_possible_token());
      return row;
    };
    sampler_.sample(fed, temperature, &rng_, logits, callbacks_.cancel, &candidates_[0]);
    timings_->shared_steps += steps.shared_steps();
  }

  // Words for this window's segments (pieces_ -> words_), the reference's
  // add_word_timestamps; a segment the word clamps leave without length is
  // dropped there. Then the segments and words are kept ordered, inside the
  // audio and each word inside its segment. The next window starts after the
  // last word unless the window ended on a lone timestamp.
  void time_words(const WindowPosition& position, int64_t* next_seek_frames) {
    if (pieces_.empty()) return;
    std::vector<int32_t> text;
    for (const WindowSegment& piece : pieces_) {
      for (size_t k = piece.first_token; k < piece.end_token; ++k) {
        if (tokenizer_.is_text(window_ids_[k])) text.push_back(window_ids_[k]);
      }
    }
    const int n_frames = static_cast<int>(std::clamp<int64_t>(
        position.window_frames / kFramesPerTimestamp, 1, model_.hparams().n_audio_ctx));
    const std::vector<int32_t> sot_sequence =
        tokenizer_.sot_sequence(language_index_, options_.translate, /*timestamps=*/true);
    WindowAlignment alignment;
    if (!align_window(&decoder_, tokenizer_, sot_sequence, text, n_frames, alignment_heads_,
                      callbacks_.cancel, &alignment)) {
      return;
    }
    const double time_offset = position.seek_frames / 100.0;
    const std::string language =
        tokenizer_.special().multilingual ? language_code(language_index_) : "en";
    const std::vector<std::vector<TimedWord>> timed =
        window_words(tokenizer_, window_ids_.data(), &pieces_, alignment.token_frames,
                     alignment.token_probs, time_offset, language, &last_speech_end_);
    words_.assign(pieces_.size(), {});  // window_words() may have dropped some
    double earliest = std::max(position.earliest_start, 0.0);
    for (size_t i = 0; i < pieces_.size(); ++i) {
      WindowSegment& piece = pieces_[i];
      piece.start = std::max(piece.start, earliest);
      piece.end = std::clamp(piece.end, piece.start, std::max(position.audio_seconds, piece.start));
      double previous_end = piece.start;
      for (const TimedWord& t : timed[i]) {
        WordResult w;
        w.word = t.word;
        w.start = std::clamp(t.start, previous_end, piece.end);
        w.end = std::clamp(t.end_time, w.start, piece.end);
        w.probability = t.probability;
        previous_end = w.end;
        words_[i].push_back(std::move(w));
      }
      earliest = piece.end;
    }
    // The reference seeks to get_end() of the window's segments, the value it
    // also carries as last_speech_timestamp: window_words() left it in
    // last_speech_end_ (pieces_ was not empty), from its words before the
    // clamps above, as the reference has none.
    const int32_t* ids = window_ids_.data();
    const size_t n = window_ids_.size();
    const bool single_timestamp_ending =
        n >= 2 && !tokenizer_.is_timestamp(ids[n - 2]) && tokenizer_.is_timestamp(ids[n - 1]);
    if (!single_timestamp_ending) {
      *next_seek_frames =
          seek_after_words(position.seek_frames, last_speech_end_, *next_seek_frames);
    }
  }

  void emit_segment(const WindowSegment& piece, std::vector<WordResult>& words,
                    const WindowDecoding& window, TranscribeResult* result) {
    Segment segment;
    segment.start = piece.start;
    segment.end = piece.end;
    segment.words = std::move(words);
    segment.text = piece.text;
    segment.temperature = window.quality.temperature;
    segment.avg_logprob = window.quality.avg_logprob;
    segment.compression_ratio = window.quality.compression_ratio;
    segment.no_speech_prob = window.quality.no_speech_prob;
    segment.tokens.reserve(piece.end_token - piece.first_token);
    for (size_t i = piece.first_token; i < piece.end_token; ++i) {
      TokenResult token;
      token.id = window.decoded.tokens[i].id;
      token.p = window.decoded.tokens[i].p;
      token.text = piece.token_texts[i - piece.first_token];
      history_.push_back(token.id);
      segment.tokens.push_back(std::move(token));
    }
    // Only the last max_previous tokens are ever used; keep the history bounded.
    const size_t keep = static_cast<size_t>(model_.hparams().n_text_ctx);
    if (history_.size() > 2 * keep) history_.erase(history_.begin(), history_.end() - keep);
    last_end_ = segment.end;
    if (callbacks_.on_segment) callbacks_.on_segment(segment);
    result->segments.push_back(std::move(segment));
  }

  const Model& model_;
  const TranscribeOptions& options_;
  const TranscribeCallbacks& callbacks_;
  TranscribeTimings* timings_ = nullptr;  // the result's, set by run()
  QualityThresholds thresholds_;
  Tokenizer tokenizer_;
  LogitFilters filters_;
  GreedyDecoder sampler_;
  LogMelSpectrogram mel_;
  // The encoder's scratch (with the log-mel window: Encoder::mel_buffer()) and
  // the decoder's cross-attention K/V in the same pages: the scratch is dead
  // once a window is encoded, and the K/V (set from the encoder's output, not
  // its scratch) is dead once the window is decoded, before the next encode.
  // Sharing saves the smaller of the two (~6 MB for tiny) at the peak, and no
  // pages are handed back and re-faulted per window. The encoder's output
  // lies in the decoder's self-attention caches (Decoder::audio_buffer()),
  // dead from one window's set_audio() to the next window's first token.
  // The encoder computes attention as many heads at once as fit in the K/V's
  // size (Encoder::heads_per_group_within).
  int heads_per_group_;
  PageBuffer window_memory_;
  Encoder encoder_;
  Decoder decoder_;
  Rng rng_;
  std::unique_ptr<BeamSearchDecoder> beam_;  // beam_size > 1 only
  std::unique_ptr<BeamCaches> beam_caches_;  // beam_size > 1 only
  int language_index_ = -1;                  // -1: not known yet (detected on the first window)
  std::vector<DecodedWindow> candidates_;
  std::vector<Rng> candidate_rngs_;  // best_of > 1: one stream per candidate
  std::vector<int32_t> window_ids_;
  std::vector<WindowSegment> pieces_;           // the window's final segments
  std::vector<std::vector<WordResult>> words_;  // their words (word_timestamps)
  std::vector<AttentionHead> alignment_heads_;
  double last_speech_end_ = 0;    // the reference's last_speech_timestamp
  std::vector<int32_t> history_;  // the prompt for the next window, timestamps included
  std::vector<int32_t> prefix_;   // forced after each window's sot sequence
  double audio_seconds_;
  double last_end_ = 0;
};

}  // namespace

std::string transcript_text(const std::vector<Segment>& segments, const Tokenizer& tokenizer) {
  std::vector<int32_t> ids;
  for (const Segment& segment : segments) {
    for (const TokenResult& token : segment.tokens) ids.push_back(token.id);
  }
  return tokenizer.decode(ids);  // text tokens only: timestamps are skipped, as the reference's
}

TranscribeResult transcribe(const Model& model, AudioSamples samples,
                            const TranscribeOptions& options,
                            const TranscribeCallbacks& callbacks) {
  check_finite_samples(samples);
  check_options(options);
  TranscribeResult result;
  result.duration = static_cast<double>(samples.size()) / kSampleRate;
  if (samples.size() == 0) {
    // No window to detect a language on; an English-only model needs none.
    if (!model.multilingual()) result.language = "en";
    return result;
  }
  {
    const ScopedTimer timer(&result.timings.total_ms);  // stops before the return
    throw_if_cancelled(callbacks.cancel);
    WindowLoop loop(model, samples, options, callbacks);
    loop.run(&result);
  }
  return result;
}

}  // namespace wn
