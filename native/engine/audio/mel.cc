// LogMelSpectrogram (mel.h): the reference's log-mel recipe (REFERENCE.md §4),
// computed frame by frame in double and stored as float.
//
// Frame t of the reference's centred STFT covers samples [160 t - 200, 160 t + 200)
// of the padded signal (the audio followed by 480000 zeros), reflect-padded by 200
// at both ends. Beyond the audio every sample is zero, so from frame
// first_silent_frame_ on every frame is the log-mel of digital silence: pass 1
// computes only the frames before it, and window() writes the silence value for
// the rest without transforming anything.
#include "engine/audio/mel.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <string>

#include "engine/core/error.h"

namespace wn {

void check_finite_samples(const float* samples, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(samples[i])) {
      throw Error(ErrorCode::kInvalidAudio, "sample " + std::to_string(i) + " is " +
                                                (std::isnan(samples[i]) ? "NaN" : "infinite") +
                                                "; expected finite values in [-1, 1]");
    }
  }
}

void check_finite_samples(const AudioSamples& samples) {
  if (samples.size() > 0 && !samples.has_data()) {
    throw Error(ErrorCode::kInvalidArgument,
                "audio samples are null but n = " + std::to_string(samples.size()));
  }
  if (samples.floats() != nullptr) check_finite_samples(samples.floats(), samples.size());
}

namespace {

constexpr int kFftBins = kFftSize / 2 + 1;  // 201
constexpr int kHalfWindow = kFftSize / 2;   // centring: the frame starts 200 before its hop
constexpr double kMelFloor = 1e-10;         // log10 argument floor of the reference
constexpr float kClampRange = 8.0f;         // log-mel dynamic range kept below the global max
constexpr int64_t kFramesPerTask = 64;      // a task of the pool: ~64 FFTs, large next to its cost

constexpr double kPi = 3.14159265358979323846264338327950288;

// The value a frame of digital silence has before clamping: log10 of the floor,
// computed the way frame_log_mel computes every value so the two agree bit for bit.
float silence_log() {
  return static_cast<float>(std::log10(kMelFloor));
}

}  // namespace

// Per-thread working memory for one frame, allocated once per call, never per frame.
struct LogMelSpectrogram::FrameScratch {
  std::vector<double> frame = std::vector<double>(kFftSize);
  std::vector<std::complex<double>> spectrum = std::vector<std::complex<double>>(kFftBins);
  std::vector<std::complex<double>> fft_work;
  std::vector<double> power = std::vector<double>(kFftBins);
  std::vector<float> band_logs;  // one frame's log-mel values, for pass 1
  FrameScratch(const RealFft& fft, int n_mels)
      : fft_work(fft.scratch_size()), band_logs(static_cast<size_t>(n_mels)) {}
};

LogMelSpectrogram::LogMelSpectrogram(AudioSamples samples, const std::vector<float>& filters,
                                     int n_mels, int n_fft_bins, ThreadPool* pool,
                                     const CancellationFlag* cancel)
    : samples_(samples),
      n_samples_(samples.size()),
      filters_(filters),
      n_mels_(n_mels),
      n_fft_bins_(n_fft_bins),
      pool_(pool),
      fft_(kFftSize) {
  if (n_fft_bins != kFftBins) {
    throw Error(ErrorCode::kInvalidArgument, "mel filters have " + std::to_string(n_fft_bins) +
                                                 " frequency bins, expected " +
                                                 std::to_string(kFftBins));
  }
  if (n_mels < 1 || filters.size() != static_cast<size_t>(n_mels) * kFftBins) {
    throw Error(ErrorCode::kInvalidArgument, "mel filters: expected " + std::to_string(n_mels) +
                                                 " x " + std::to_string(kFftBins) +
                                                 " values, got " + std::to_string(filters.size()));
  }
  check_finite_samples(samples);
  const size_t n = samples.size();

  hann_.resize(kFftSize);
  for (int i = 0; i < kFftSize; ++i) {  // periodic: the period is kFftSize, not kFftSize - 1
    hann_[static_cast<size_t>(i)] = 0.5 - 0.5 * std::cos(2.0 * kPi * i / kFftSize);
  }
  // Each mel filter is non-zero on a short run of bins; the product skips the rest.
  // Skipping exact zeros leaves every sum unchanged.
  band_first_bin_.assign(static_cast<size_t>(n_mels), 0);
  band_end_bin_.assign(static_cast<size_t>(n_mels), 0);
  for (int m = 0; m < n_mels; ++m) {
    const float* row = filters.data() + static_cast<size_t>(m) * kFftBins;
    int first = 0, end = 0;
    while (first < kFftBins && row[first] == 0.0f) ++first;
    for (int k = first; k < kFftBins; ++k) {
      if (row[k] != 0.0f) end = k + 1;
    }
    band_first_bin_[static_cast<size_t>(m)] = first;
    band_end_bin_[static_cast<size_t>(m)] = std::max(first, end);
  }

  padded_samples_ = static_cast<int64_t>(n) + kWindowSamples;
  total_frames_ = padded_samples_ / kHopLength;
  // The first t with 160 t - 200 >= n: its whole frame lies in the zero padding.
  first_silent_frame_ = std::min(
      total_frames_, (static_cast<int64_t>(n) + kHalfWindow + kHopLength - 1) / kHopLength);

  // Pass 1: the global max. Each thread keeps its own running max.
  const int n_threads = pool_ ? pool_->size() : 1;
  std::vector<float> thread_max(static_cast<size_t>(n_threads), -1e30f);
  for_frame_chunks(
      0, first_silent_frame_,
      [&](int64_t begin, int64_t end, FrameScratch& scratch, int thread_index) {
        float& best = thread_max[static_cast<size_t>(thread_index)];
        for (int64_t t = begin; t < end; ++t) {
          frame_log_mel(t, scratch, scratch.band_logs.data(), 1);
          for (float v : scratch.band_logs) best = std::max(best, v);
        }
      },
      cancel);
  for (float v : thread_max) max_log_ = std::max(max_log_, v);
  if (first_silent_frame_ < total_frames_) max_log_ = std::max(max_log_, silence_log());
}

int64_t LogMelSpectrogram::content_frames() const {
  return static_cast<int64_t>(n_samples_) / kHopLength;
}

int64_t LogMelSpectrogram::window_offset_frames(double seconds) {
  return static_cast<int64_t>(std::llround(seconds * (kSampleRate / kHopLength)));
}

float LogMelSpectrogram::silence_value() const {
  const float clamped = std::max(silence_log(), max_log_ - kClampRange);
  return (clamped + 4.0f) / 4.0f;
}

void LogMelSpectrogram::window(int64_t first_frame, float* out) const {
  if (first_frame < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "mel window start frame must be >= 0, got " + std::to_string(first_frame));
  }
  const float floor = max_log_ - kClampRange;
  const float silence = silence_value();
  // The first n_computed frames need a transform; the rest are silence. (Written so
  // that no first_frame, however large, overflows.)
  const int64_t n_computed =
      first_frame >= first_silent_frame_
          ? 0
          : std::min<int64_t>(kWindowFrames, first_silent_frame_ - first_frame);

  for_frame_chunks(0, n_computed,
                   [&](int64_t begin, int64_t end, FrameScratch& scratch, int /*thread_index*/) {
                     for (int64_t f = begin; f < end; ++f) {
                       float* column = out + f;
                       frame_log_mel(first_frame + f, scratch, column, kWindowFrames);
                       for (int m = 0; m < n_mels_; ++m) {
                         float& v = column[static_cast<size_t>(m) * kWindowFrames];
                         v = (std::max(v, floor) + 4.0f) / 4.0f;
                       }
                     }
                   });
  for (int m = 0; m < n_mels_; ++m) {
    float* row = out + static_cast<size_t>(m) * kWindowFrames;
    std::fill(row + n_computed, row + kWindowFrames, silence);
  }
}

void LogMelSpectrogram::for_frame_chunks(int64_t begin, int64_t end, const FrameRangeFn& fn,
                                         const CancellationFlag* cancel) const {
  if (end <= begin) return;
  const int64_t n_tasks = (end - begin + kFramesPerTask - 1) / kFramesPerTask;
  if (pool_ == nullptr || n_tasks == 1) {
    // Chunk by chunk too, so that the flag is polled as often as on the pool.
    FrameScratch scratch(fft_, n_mels_);
    for (int64_t chunk_begin = begin; chunk_begin < end; chunk_begin += kFramesPerTask) {
      throw_if_cancelled(cancel);
      fn(chunk_begin, std::min(end, chunk_begin + kFramesPerTask), scratch, 0);
    }
    return;
  }
  std::vector<FrameScratch> scratch(static_cast<size_t>(pool_->size()),
                                    FrameScratch(fft_, n_mels_));
  // A task that throws kAborted makes parallel_for skip the remaining ones.
  pool_->parallel_for(n_tasks, [&](int64_t task, int thread_index) {
    throw_if_cancelled(cancel);
    const int64_t chunk_begin = begin + task * kFramesPerTask;
    const int64_t chunk_end = std::min(end, chunk_begin + kFramesPerTask);
    fn(chunk_begin, chunk_end, scratch[static_cast<size_t>(thread_index)], thread_index);
  });
}

void LogMelSpectrogram::frame_log_mel(int64_t t, FrameScratch& scratch, float* out,
                                      size_t out_stride) const {
  const int64_t start = t * kHopLength - kHalfWindow;
  const int64_t n = static_cast<int64_t>(n_samples_);
  double* frame = scratch.frame.data();
  if (start >= 0 && start + kFftSize <= n && samples_.floats() != nullptr) {
    // The common case: all inside the audio.
    const float* src = samples_.floats() + start;
    for (int i = 0; i < kFftSize; ++i) frame[i] = static_cast<double>(src[i]) * hann_[i];
  } else if (start >= 0 && start + kFftSize <= n) {
    const int16_t* src = samples_.int16() + start;
    for (int i = 0; i < kFftSize; ++i) {
      frame[i] = static_cast<double>(AudioSamples::widen(src[i])) * hann_[i];
    }
  } else {
    for (int i = 0; i < kFftSize; ++i) {
      // Reflect about the padded signal's first and last samples (the edge sample
      // itself is not repeated), then read the audio or the zero padding.
      int64_t j = start + i;
      if (j < 0) j = -j;
      if (j >= padded_samples_) j = 2 * (padded_samples_ - 1) - j;
      const double x = j < n ? static_cast<double>(samples_[static_cast<size_t>(j)]) : 0.0;
      frame[i] = x * hann_[i];
    }
  }

  fft_.forward(frame, scratch.spectrum.data(), scratch.fft_work.data());
  double* power = scratch.power.data();
  for (int k = 0; k < kFftBins; ++k) power[k] = std::norm(scratch.spectrum[k]);

  for (int m = 0; m < n_mels_; ++m) {
    const float* row = filters_.data() + static_cast<size_t>(m) * kFftBins;
    double mel = 0.0;
    for (int k = band_first_bin_[m]; k < band_end_bin_[m]; ++k) mel += row[k] * power[k];
    out[static_cast<size_t>(m) * out_stride] =
        static_cast<float>(std::log10(std::max(mel, kMelFloor)));
  }
}

}  // namespace wn
