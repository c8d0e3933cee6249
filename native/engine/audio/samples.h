// Audio as the engine reads it: 16 kHz mono samples, either floats in [-1, 1]
// or the int16 samples a caller passed, widened as they are read (value /
// 32768, as the reference reads PCM: the same floats a widened copy holds).
// Why not widen int16 audio once up front: the copy would double its memory
// for as long as the call runs, 230 MB of floats for an hour of audio whose
// int16 copy is 115 MB.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wn {

class AudioSamples {
 public:
  AudioSamples() = default;
  static AudioSamples of_floats(const float* samples, size_t n) {
    AudioSamples a;
    a.f32_ = samples;
    a.n_ = n;
    return a;
  }
  static AudioSamples of_int16(const int16_t* samples, size_t n) {
    AudioSamples a;
    a.s16_ = samples;
    a.n_ = n;
    return a;
  }

  size_t size() const { return n_; }
  // Null when the audio is int16 (or there is none).
  const float* floats() const { return f32_; }
  // Null when the audio is floats (or there is none).
  const int16_t* int16() const { return s16_; }
  bool has_data() const { return f32_ != nullptr || s16_ != nullptr; }

  // The first min(n, size()) samples.
  AudioSamples first(size_t n) const {
    AudioSamples a = *this;
    if (n < a.n_) a.n_ = n;
    return a;
  }

  // Sample i as a float (i < size()).
  float operator[](size_t i) const { return f32_ != nullptr ? f32_[i] : widen(s16_[i]); }
  static float widen(int16_t s) { return static_cast<float>(s) / 32768.0f; }

 private:
  const float* f32_ = nullptr;
  const int16_t* s16_ = nullptr;
  size_t n_ = 0;
};

// Writes each of in[0, n) as the int16 it holds (value * 32768) when every one
// holds one, as floats decoded from 16-bit PCM do; then AudioSamples of out
// reads back the same floats, bit for bit, in half the memory. Returns false at
// the first value that does not (between two steps, outside [-1, 1), -0, NaN
// or infinite); out[0, n) is then partly written.
bool narrow_to_int16(const float* in, size_t n, int16_t* out);

// Whether narrow_to_int16 runs vector code here (x86-64's baseline SSE2, or
// arm64's NEON), fast enough for the JS thread (an hour of audio in ~70 ms on
// the x86-64 VM of the README); elsewhere the binding copies floats as they are.
#if defined(__SSE2__) || defined(_M_X64)
#define WN_NARROW_SSE2 1
#elif defined(__aarch64__) || defined(_M_ARM64)
#define WN_NARROW_NEON 1
#endif
#if defined(WN_NARROW_SSE2) || defined(WN_NARROW_NEON)
constexpr bool kNarrowIsFast = true;
#else
constexpr bool kNarrowIsFast = false;
#endif

}  // namespace wn
