// Copying JS sample arrays into native memory (see samples.h).
#include "binding/samples.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "binding/js_errors.h"
#include "engine/audio/samples.h"

namespace wn_binding {

SampleBuffer SampleBuffer::copy_from(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsTypedArray()) {
    throw_js_error(env, "ERR_INVALID_ARG_TYPE",
                   "Expected Int16Array, Float32Array or Buffer for samples");
  }
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  SampleBuffer out;
  // The elements' address from the typed array itself: array.ArrayBuffer()
  // refuses a view of a SharedArrayBuffer, which is valid audio too.
  void* data = nullptr;
  napi_value buffer = nullptr;
  if (napi_get_typedarray_info(env, array, nullptr, nullptr, &data, &buffer, nullptr) != napi_ok) {
    throw_js_error(env, "ERR_INVALID_ARG_TYPE", "Could not read the samples' typed array");
  }
  // A detached buffer (transferred to a worker, say) reads as no samples:
  // refused, rather than transcribed as empty audio. (A SharedArrayBuffer
  // cannot be detached; the check then fails and says nothing.)
  bool detached = false;
  if (napi_is_detached_arraybuffer(env, buffer, &detached) == napi_ok && detached) {
    throw_js_error(env, "ERR_INVALID_ARG_VALUE",
                   "Expected samples whose ArrayBuffer is not detached (transferred) but "
                   "received a detached one");
  }
  const uint8_t* bytes = static_cast<const uint8_t*>(data);
  const size_t n_bytes = array.ByteLength();
  const auto allocate = [&out, env](size_t n, size_t bytes_each) {
    out.n_ = n;
    // Room in floats, rounded up (int16 samples: two per float).
    out.copy_ = with_js_errors(env, [&] {
      return wn::PageBuffer((n * bytes_each + sizeof(float) - 1) / sizeof(float),
                            wn::PageBuffer::Pages::kPrefaulted);
    });
  };
  switch (array.TypedArrayType()) {
    case napi_int16_array:
      allocate(array.ElementLength(), sizeof(int16_t));
      if (n_bytes) std::memcpy(out.copy_.get(), bytes, n_bytes);
      break;
    case napi_float32_array: {
      // Floats that are 16-bit steps (audio decoded from 16-bit PCM: a WAV
      // file read by readAudioFile, ffmpeg's output of one) are kept as int16,
      // half the memory for the whole call, read back as the same floats.
      // The first samples decide whether to try, so that other audio costs
      // no int16 buffer.
      const size_t n = array.ElementLength();
      const auto* floats = reinterpret_cast<const float*>(bytes);
      constexpr size_t kProbe = 4096;
      std::vector<int16_t> probe(std::min(n, kProbe));
      if (wn::kNarrowIsFast && n > 0 && wn::narrow_to_int16(floats, probe.size(), probe.data())) {
        allocate(n, sizeof(int16_t));
        if (wn::narrow_to_int16(floats, n, reinterpret_cast<int16_t*>(out.copy_.get()))) break;
      }
      out.is_float_ = true;
      allocate(n, sizeof(float));
      if (n_bytes) std::memcpy(out.copy_.get(), bytes, n_bytes);
      break;
    }
    case napi_uint8_array: {
      if (n_bytes % 2 != 0) {
        throw_js_error(env, "ERR_INVALID_ARG_VALUE",
                       "Expected an even byte length for s16le samples but received " +
                           std::to_string(n_bytes));
      }
      // Decoded byte by byte: little-endian on any host, any alignment.
      allocate(n_bytes / 2, sizeof(int16_t));
      auto* s16 = reinterpret_cast<int16_t*>(out.copy_.get());
      for (size_t i = 0; i < out.n_; ++i) {
        s16[i] = static_cast<int16_t>(static_cast<uint16_t>(bytes[2 * i]) |
                                      static_cast<uint16_t>(bytes[2 * i + 1]) << 8);
      }
      break;
    }
    default:
      throw_js_error(env, "ERR_INVALID_ARG_TYPE",
                     "Expected Int16Array, Float32Array or Buffer for samples");
  }
  return out;
}

HeldSamples SampleBuffer::take() {
  HeldSamples out;
  out.copy_ = std::move(copy_);
  out.is_float_ = is_float_;
  out.n_ = n_;
  n_ = 0;
  return out;
}

}  // namespace wn_binding
