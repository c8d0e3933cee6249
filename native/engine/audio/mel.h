// The log-mel front end (REFERENCE.md §4): 16 kHz mono float samples -> the
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
#include <vector>

#include "engine/core/thread_pool.h"

namespace wn {

constexpr int kSampleRate = 16000;
constexpr int kHopLength = 160;      // samples per frame: 100 frames per second
constexpr int kFftSize = 400;        // 25 ms window, 201 frequency bins
constexpr int kWindowFrames = 3000;  // frames per 30 s window
constexpr int kWindowSamples = kWindowFrames * kHopLength;  // 480000

class LogMelSpectrogram {
 public:
  // samples (n of them) must outlive this object. filters is [n_mels][n_fft_bins]
  // (n_fft_bins must be 201). pool may be null.
  LogMelSpectrogram(const float* samples, size_t n, const std::vector<float>& filters, int n_mels,
                    int n_fft_bins, ThreadPool* pool);

  int n_mels() const { return n_mels_; }
  // Frames that hold audio: n / 160 (the reference's mel.shape[-1] - 3000).
  int64_t content_frames() const;
  float global_max() const { return max_log_; }  // log10 scale, before clamping

  // out[n_mels][kWindowFrames] = frames [first_frame, first_frame + 3000) of the
  // padded spectrogram; frames past the padded signal's end are the log-mel of
  // digital silence (as the padding itself).
  void window(int64_t first_frame, float* out) const;

 private:
  const float* samples_;
  size_t n_samples_;
  const std::vector<float>& filters_;
  int n_mels_;
  int n_fft_bins_;
  ThreadPool* pool_;
  float max_log_ = -1e30f;
};

}  // namespace wn
