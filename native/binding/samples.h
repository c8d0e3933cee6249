// Audio samples handed over from JavaScript. The binding copies them on the JS
// thread (the caller may reuse, transfer or detach its buffer as soon as the
// call returns) and widens them to float on the worker thread.
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
#include <vector>

#include "engine/model/page_buffer.h"

namespace wn_binding {

// 16 kHz mono floats in [-1, 1], owned: a copied Float32Array as it was, or
// int16 samples widened.
class FloatSamples {
 public:
  const float* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  friend class SampleBuffer;
  wn::PageBuffer copied_;
  std::vector<float> widened_;
  const float* data_ = nullptr;
  size_t size_ = 0;
};

class SampleBuffer {
 public:
  // Throws a JS error with code ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE.
  static SampleBuffer copy_from(const Napi::Value& value);

  size_t size() const { return n_; }
  // The samples as floats (int16 / 32768, as the reference reads PCM). Moves
  // them out: the buffer is empty afterwards.
  FloatSamples take_as_float();

 private:
  bool is_float_ = false;
  size_t n_ = 0;
  // n_ floats, or n_ int16 samples (in (n_ + 1) / 2 floats' room).
  wn::PageBuffer copy_;
};

}  // namespace wn_binding
