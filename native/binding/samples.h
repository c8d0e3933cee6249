// Audio samples handed over from JavaScript. The binding copies them on the JS
// thread (the caller may reuse, transfer or detach its buffer as soon as the
// call returns) and widens them to float on the worker thread.
//
// Accepted: Int16Array, Float32Array (in [-1, 1]), and Uint8Array/Buffer
// holding s16le bytes. lib/validate.ts checks all of this first with precise
// messages; the checks here are the last line of defence.
#pragma once

#include <napi.h>

#include <cstdint>
#include <vector>

namespace wn_binding {

class SampleBuffer {
 public:
  // Throws a JS error with code ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE.
  static SampleBuffer copy_from(const Napi::Value& value);

  size_t size() const { return is_float_ ? f32_.size() : s16_.size(); }
  // 16 kHz mono floats in [-1, 1] (int16 / 32768, as the reference reads PCM).
  // Moves the samples out: the buffer is empty afterwards.
  std::vector<float> take_as_float();

 private:
  bool is_float_ = false;
  std::vector<int16_t> s16_;
  std::vector<float> f32_;
};

}  // namespace wn_binding
