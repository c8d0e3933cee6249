#include "binding/pcm_decode.h"

#include <cmath>
#include <cstdint>

#include "binding/js_errors.h"
#include "engine/audio/pcm.h"

namespace wn_binding {

Napi::Value DecodePcmFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto is_typed = [&](size_t i, napi_typedarray_type type) {
    return info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == type;
  };
  if (!is_typed(0, napi_uint8_array) || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsNumber() || !is_typed(4, napi_float32_array)) {
    throw_js_error(env, "ERR_INVALID_ARG_TYPE",
                   "Expected (data: Uint8Array, codec: number, channels: number, "
                   "firstFrame: number, out: Float32Array)");
  }
  const double codec = info[1].As<Napi::Number>().DoubleValue();
  const double channels = info[2].As<Napi::Number>().DoubleValue();
  const double first = info[3].As<Napi::Number>().DoubleValue();
  // Ranges checked as doubles before any conversion to an integer type (a
  // NaN or 1e300 converted first would be undefined behaviour).
  if (!(codec >= 0 && codec < wn::kPcmCodecCount) || codec != std::floor(codec)) {
    throw_js_error(env, "ERR_INVALID_ARG_VALUE", "Expected codec to be a PCM codec number");
  }
  if (!(channels >= 1 && channels <= 65535) || channels != std::floor(channels)) {
    throw_js_error(env, "ERR_INVALID_ARG_VALUE",
                   "Expected channels to be an integer in [1, 65535]");
  }
  if (!(first >= 0 && first < 9007199254740992.0) || first != std::floor(first)) {
    throw_js_error(env, "ERR_INVALID_ARG_VALUE", "Expected firstFrame to be an integer >= 0");
  }
  const Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
  Napi::Float32Array out = info[4].As<Napi::Float32Array>();
  with_js_errors(env, [&] {
    wn::decode_pcm_frames(data.Data(), data.ByteLength(), static_cast<wn::PcmCodec>(codec),
                          static_cast<int>(channels), static_cast<uint64_t>(first),
                          out.ElementLength(), out.Data());
  });
  return env.Undefined();
}

}  // namespace wn_binding
