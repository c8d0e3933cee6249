// Copying JS sample arrays into native memory (see samples.h).
#include "binding/samples.h"

#include <cstring>
#include <string>
#include <utility>

#include "binding/js_errors.h"

namespace wn_binding {

SampleBuffer SampleBuffer::copy_from(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsTypedArray()) {
    throw_js_error(env, "ERR_INVALID_ARG_TYPE",
                   "Expected Int16Array, Float32Array or Buffer for samples");
  }
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  SampleBuffer out;
  const uint8_t* bytes =
      static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  const size_t n_bytes = array.ByteLength();
  switch (array.TypedArrayType()) {
    case napi_int16_array:
      out.s16_.resize(array.ElementLength());
      if (n_bytes) std::memcpy(out.s16_.data(), bytes, n_bytes);
      break;
    case napi_float32_array:
      out.is_float_ = true;
      out.f32_.resize(array.ElementLength());
      if (n_bytes) std::memcpy(out.f32_.data(), bytes, n_bytes);
      break;
    case napi_uint8_array:
      if (n_bytes % 2 != 0) {
        throw_js_error(env, "ERR_INVALID_ARG_VALUE",
                       "Expected an even byte length for s16le samples but received " +
                           std::to_string(n_bytes));
      }
      // Decoded byte by byte: little-endian on any host, any alignment.
      out.s16_.resize(n_bytes / 2);
      for (size_t i = 0; i < out.s16_.size(); ++i) {
        out.s16_[i] = static_cast<int16_t>(static_cast<uint16_t>(bytes[2 * i]) |
                                           static_cast<uint16_t>(bytes[2 * i + 1]) << 8);
      }
      break;
    default:
      throw_js_error(env, "ERR_INVALID_ARG_TYPE",
                     "Expected Int16Array, Float32Array or Buffer for samples");
  }
  return out;
}

std::vector<float> SampleBuffer::take_as_float() {
  if (is_float_) return std::move(f32_);
  std::vector<float> out(s16_.size());
  for (size_t i = 0; i < s16_.size(); ++i) out[i] = static_cast<float>(s16_[i]) / 32768.0f;
  s16_ = {};
  return out;
}

}  // namespace wn_binding
