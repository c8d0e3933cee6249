// Whole-file transcription (see transcribe.h): the reference's long-form loop
// (OpenAI transcribe(), temperature 0 only) as a sequence of named stages per
// 30 s window: log-mel window -> encoder -> greedy decoding -> segments.
//
// What it is not: the quality fallback, no-speech skipping, beam search and
// word timestamps of issue 5; they will hook in around decode_window().
#include "engine/transcribe.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/audio/mel.h"
#include "engine/core/error.h"
#include "engine/decode/greedy.h"
#include "engine/decode/logit_filters.h"
#include "engine/decode/segments.h"
#include "engine/decode/tokenizer.h"
#include "engine/model/decoder.h"
#include "engine/model/encoder.h"

namespace wn {
namespace {

void check_samples(const float* samples, size_t n_samples) {
  if (n_samples > 0 && samples == nullptr) {
    throw Error(ErrorCode::kInvalidArgument,
                "samples is null but n_samples is " + std::to_string(n_samples));
  }
  for (size_t i = 0; i < n_samples; ++i) {
    if (!std::isfinite(samples[i])) {
      throw Error(ErrorCode::kInvalidAudio, "sample " + std::to_string(i) + " is " +
                                                (std::isnan(samples[i]) ? "NaN" : "infinite") +
                                                "; expected finite values in [-1, 1]");
    }
  }
}

LogitFilterOptions filter_options(const TranscribeOptions& options) {
  if (!(options.max_initial_timestamp >= 0)) {
    throw Error(ErrorCode::kInvalidArgument, "max_initial_timestamp is " +
                                                 std::to_string(options.max_initial_timestamp) +
                                                 "; expected a number of seconds >= 0");
  }
  LogitFilterOptions f;
  f.suppress_blank = options.suppress_blank;
  f.suppress_non_speech = options.suppress_non_speech;
  // round(seconds / 0.02) as the reference; past 30 s it no longer limits anything.
  const double index =
      std::round(std::min(options.max_initial_timestamp, 30.0f) / kSecondsPerTimestamp);
  f.max_initial_timestamp_index = static_cast<int>(index);
  return f;
}

// The state of one transcription: the per-call model state and buffers, reused
// for every window.
class WindowLoop {
 public:
  WindowLoop(const Model& model, const float* samples, size_t n_samples,
             const TranscribeOptions& options, const TranscribeCallbacks& callbacks)
      : model_(model),
        options_(options),
        callbacks_(callbacks),
        tokenizer_(model.vocab(), model.hparams().n_vocab),
        filters_(tokenizer_, filter_options(options)),
        greedy_(filters_, model.hparams().n_text_ctx / 2, model.hparams().n_text_ctx),
        mel_(samples, n_samples, model.mel_filters(), model.hparams().n_mels, model.n_fft_bins(),
             &model.pool()),
        encoder_(model),
        decoder_(model),
        mel_window_(static_cast<size_t>(model.hparams().n_mels) * kWindowFrames),
        encoded_(static_cast<size_t>(model.hparams().n_audio_ctx) * model.hparams().n_audio_state),
        audio_seconds_(static_cast<double>(n_samples) / kSampleRate) {}

  void run(TranscribeResult* result) {
    const int64_t content_frames = mel_.content_frames();
    if (content_frames == 0 && callbacks_.on_progress) callbacks_.on_progress(1.0);  // < 10 ms
    int64_t seek = 0;
    while (seek < content_frames) {
      throw_if_cancelled(callbacks_.cancel);
      const int64_t window_frames = std::min<int64_t>(kWindowFrames, content_frames - seek);
      decode_window(seek);
      WindowPosition position;
      position.seek_frames = seek;
      position.window_frames = window_frames;
      position.audio_seconds = audio_seconds_;
      position.earliest_start = last_end_;
      const WindowSplit split =
          split_window(window_ids_.data(), window_ids_.size(), tokenizer_, position);
      for (const WindowSegment& piece : split.segments) emit_segment(piece, result);
      seek = split.next_seek_frames;
      if (callbacks_.on_progress) {
        callbacks_.on_progress(static_cast<double>(std::min(seek, content_frames)) /
                               content_frames);
      }
    }
  }

 private:
  // Encodes the window at `seek` and decodes it greedily into window_ids_.
  void decode_window(int64_t seek) {
    mel_.window(seek, mel_window_.data());
    encoder_.encode(mel_window_.data(), encoded_.data(), callbacks_.cancel);
    decoder_.set_audio(encoded_.data());
    const int max_previous = model_.hparams().n_text_ctx / 2 - 1;  // 223
    const std::vector<int32_t> prompt = window_prompt(
        tokenizer_, options_.condition_on_previous_text ? history_ : no_history_, max_previous);
    const LogitsFn logits = [this](const int32_t* tokens, int n) {
      return decoder_.forward(tokens, n);
    };
    greedy_.decode(prompt, logits, callbacks_.cancel, &decoded_);
    window_ids_.clear();
    for (const SampledToken& t : decoded_.tokens) window_ids_.push_back(t.id);
  }

  void emit_segment(const WindowSegment& piece, TranscribeResult* result) {
    Segment segment;
    segment.start = piece.start;
    segment.end = piece.end;
    segment.text = piece.text;
    segment.tokens.reserve(piece.end_token - piece.first_token);
    for (size_t i = piece.first_token; i < piece.end_token; ++i) {
      TokenResult token;
      token.id = decoded_.tokens[i].id;
      token.p = decoded_.tokens[i].p;
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
  Tokenizer tokenizer_;
  LogitFilters filters_;
  GreedyDecoder greedy_;
  LogMelSpectrogram mel_;
  Encoder encoder_;
  Decoder decoder_;
  std::vector<float> mel_window_;  // [n_mels][3000]
  std::vector<float> encoded_;     // [n_audio_ctx][n_audio_state]
  DecodedWindow decoded_;
  std::vector<int32_t> window_ids_;
  std::vector<int32_t> history_;  // tokens of the emitted segments, timestamps included
  const std::vector<int32_t> no_history_;
  double audio_seconds_;
  double last_end_ = 0;
};

}  // namespace

TranscribeResult transcribe(const Model& model, const float* samples, size_t n_samples,
                            const TranscribeOptions& options,
                            const TranscribeCallbacks& callbacks) {
  check_samples(samples, n_samples);
  TranscribeResult result;
  result.duration = static_cast<double>(n_samples) / kSampleRate;
  if (n_samples == 0) return result;
  throw_if_cancelled(callbacks.cancel);
  WindowLoop loop(model, samples, n_samples, options, callbacks);
  loop.run(&result);
  return result;
}

}  // namespace wn
