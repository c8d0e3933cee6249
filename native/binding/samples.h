// Audio samples handed over from JavaScript. The binding copies them on the JS
// thread (the caller may reuse, transfer or detach its buffer as soon as the
// call returns); int16 samples stay int16, widened by the engine as it reads
// them (engine/audio/samples.h).
//
// The copy goes to memory the OS maps in one go (wn::PageBuffer, prefaulted
// pages; no zero-filling by the program first): an hour of Float32Array
// audio (230 MB) copied into a std::vector took ~135 ms of the JS thread,
// most of it zeroing the vector and faulting in its 4 KiB pages one by one.
//
// Accepted: Int16Array, Float32Array (in [-1, 1]), and Uint8Array/Buffer
// holding s16le bytes. lib/validate.ts checks all of this first with precise
// messages; the checks here are the last line of defence.
#pragma once

#include <napi.h>

#include <cstdint>

#include "engine/audio/samples.h"
#include "engine/model/page_buffer.h"

namespace wn_binding {

// 16 kHz mono samples, owned: a copied Float32Array, or int16 samples (of an
// Int16Array, of s16le bytes, or of a Float32Array whose values are all 16-bit
// steps), which the engine widens as it reads them (an hour of such audio
// stays 115 MB, instead of 230 MB of floats).
class HeldSamples {
 public:
  wn::AudioSamples view() const {
    if (is_float_) return wn::AudioSamples::of_floats(copy_.get(), n_);
    return wn::AudioSamples::of_int16(reinterpret_cast<const int16_t*>(copy_.get()), n_);
  }

 private:
  friend class SampleBuffer;
  wn::PageBuffer copy_;
  bool is_float_ = false;
  size_t n_ = 0;
};

class SampleBuffer {
 public:
  // Throws a JS error with code ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE.
  static SampleBuffer copy_from(const Napi::Value& value);

  size_t size() const { return n_; }
  // Moves the samples out: the buffer is empty afterwards.
  HeldSamples take();

 private:
  bool is_float_ = false;
  size_t n_ = 0;
  // n_ floats, or n_ int16 samples (in (n_ + 1) / 2 floats' room).
  wn::PageBuffer copy_;
};

}  // namespace wn_binding
