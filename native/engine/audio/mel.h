// The log-mel front end (REFERENCE.md §4): 16 kHz mono samples (floats, or
// int16 widened as they are read: engine/audio/samples.h) -> the
// [n_mels][3000] windows the encoder reads.
//
// The reference pads the whole signal with 30 s of zeros, computes one log-mel
// spectrogram, clamps it at (global max - 8) and cuts windows from it. Storing
// that spectrogram costs ~115 MB per hour of audio, so this class makes two
// passes instead: the constructor finds the global max (nothing stored), and
// window() computes just the frames asked for. Frames are computed the same way
// in both passes, so the result equals the one-shot computation exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/audio/fft.h"
#include "engine/audio/samples.h"
#include "engine/core/cancel.h"
#include "engine/core/thread_pool.h"

namespace wn {

constexpr int kSampleRate = 16000;
constexpr int kHopLength = 160;      // samples per frame: 100 frames per second
constexpr int kFftSize = 400;        // 25 ms window, 201 frequency bins
constexpr int kWindowFrames = 3000;  // frames per 30 s window
constexpr int kWindowSamples = kWindowFrames * kHopLength;  // 480000

// Throws kInvalidAudio naming the first NaN or infinite sample ("sample 12 is
// NaN; expected finite values in [-1, 1]"): the one check of the audio every
// entry point (transcription, the mel window) applies.
void check_finite_samples(const float* samples, size_t n);
// The same for any audio (int16 samples are always finite); also throws
// kInvalidArgument for samples without data.
void check_finite_samples(const AudioSamples& samples);

class LogMelSpectrogram {
 public:
  // samples (n of them) must outlive this object. filters is [n_mels][n_fft_bins]
  // (n_fft_bins must be 201). pool may be null.
  // filters is kept by reference and must outlive this object too. Runs pass 1
  // (the global max) here, polling cancel (may be null) between its chunks of
  // frames: the pass over 20 minutes of audio takes ~340 ms. Throws
  // kInvalidAudio for a NaN or infinite sample, kInvalidArgument for filters
  // of the wrong shape and kAborted when cancelled.
  LogMelSpectrogram(AudioSamples samples, const std::vector<float>& filters, int n_mels,
                    int n_fft_bins, ThreadPool* pool, const CancellationFlag* cancel = nullptr);
  LogMelSpectrogram(const float* samples, size_t n, const std::vector<float>& filters, int n_mels,
                    int n_fft_bins, ThreadPool* pool, const CancellationFlag* cancel = nullptr)
      : LogMelSpectrogram(AudioSamples::of_floats(samples, n), filters, n_mels, n_fft_bins, pool,
                          cancel) {}

  int n_mels() const { return n_mels_; }
  // Frames that hold audio: n / 160 (the reference's mel.shape[-1] - 3000).
  int64_t content_frames() const;
  float global_max() const { return max_log_; }  // log10 scale, before clamping

  // out[n_mels][kWindowFrames] = frames [first_frame, first_frame + 3000) of the
  // padded spectrogram; frames past the padded signal's end are the log-mel of
  // digital silence (as the padding itself).
  void window(int64_t first_frame, float* out) const;

  // The first frame of the window that starts `seconds` into the audio: round(seconds * 100).
  static int64_t window_offset_frames(double seconds);
  // Frames of the padded spectrogram: (n + 480000) / 160 (the reference drops the last STFT frame).
  int64_t total_frames() const { return total_frames_; }
  // What window() writes for a frame of digital silence: max(-10, global max - 8), scaled.
  float silence_value() const;

 private:
  struct FrameScratch;
  using FrameRangeFn =
      std::function<void(int64_t begin, int64_t end, FrameScratch& scratch, int thread_index)>;
  // Calls fn on consecutive chunks of [begin, end), spread over the pool when
  // there is one; polls cancel (may be null) before each chunk.
  void for_frame_chunks(int64_t begin, int64_t end, const FrameRangeFn& fn,
                        const CancellationFlag* cancel = nullptr) const;
  // out[m * out_stride] = log10(max(mel_m, 1e-10)) of frame t, for every mel band m.
  void frame_log_mel(int64_t t, FrameScratch& scratch, float* out, size_t out_stride) const;

  AudioSamples samples_;
  size_t n_samples_;
  const std::vector<float>& filters_;
  int n_mels_;
  int n_fft_bins_;
  ThreadPool* pool_;
  float max_log_ = -1e30f;

  RealFft fft_;
  std::vector<double> hann_;         // periodic Hann window, kFftSize values
  std::vector<int> band_first_bin_;  // per mel band: its first non-zero filter bin
  std::vector<int> band_end_bin_;    // ... and one past its last (band_first_bin_ if none)
  int64_t padded_samples_ = 0;       // n + kWindowSamples
  int64_t total_frames_ = 0;         // padded_samples_ / kHopLength
  int64_t first_silent_frame_ = 0;   // every frame from here on sees only zero samples
};

}  // namespace wn
