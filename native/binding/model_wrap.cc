// The model object's methods (see model_wrap.h). Arguments arrive already
// validated by lib/validate.ts; the guards here only keep a misuse of the raw
// binding from crashing the process.
#include "binding/model_wrap.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "binding/samples.h"
#include "binding/transcribe_options.h"
#include "binding/transcribe_worker.h"
#include "engine/audio/mel.h"
#include "engine/core/error.h"

namespace wn_binding {
namespace {

struct ClassData {
  Napi::FunctionReference constructor;
};

std::vector<float> copy_float32_array(const Napi::Value& value, const char* what) {
  if (!value.IsTypedArray() ||
      value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw_js_error(value.Env(), "ERR_INVALID_ARG_TYPE",
                   std::string("Expected Float32Array for ") + what);
  }
  Napi::Float32Array array = value.As<Napi::Float32Array>();
  return std::vector<float>(array.Data(), array.Data() + array.ElementLength());
}

Napi::Object hparams_to_js(Napi::Env env, const wn::HParams& hp) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("nVocab", hp.n_vocab);
  out.Set("nAudioCtx", hp.n_audio_ctx);
  out.Set("nAudioState", hp.n_audio_state);
  out.Set("nAudioHead", hp.n_audio_head);
  out.Set("nAudioLayer", hp.n_audio_layer);
  out.Set("nTextCtx", hp.n_text_ctx);
  out.Set("nTextState", hp.n_text_state);
  out.Set("nTextHead", hp.n_text_head);
  out.Set("nTextLayer", hp.n_text_layer);
  out.Set("nMels", hp.n_mels);
  out.Set("ftype", hp.ftype);
  return out;
}

}  // namespace

Napi::Function ModelWrap::DefineClass(Napi::Env env) {
  Napi::Function ctor = Napi::ObjectWrap<ModelWrap>::DefineClass(
      env, "NativeModel",
      {InstanceMethod<&ModelWrap::Info>("info"), InstanceMethod<&ModelWrap::MelWindow>("melWindow"),
       InstanceMethod<&ModelWrap::Encode>("encode"), InstanceMethod<&ModelWrap::Logits>("logits"),
       InstanceMethod<&ModelWrap::DetectLanguage>("detectLanguage"),
       InstanceMethod<&ModelWrap::Transcribe>("transcribe"),
       InstanceMethod<&ModelWrap::Close>("close"),
       InstanceAccessor<&ModelWrap::IsClosed>("closed")});
  auto* data = new ClassData{Napi::Persistent(ctor)};
  env.SetInstanceData<ClassData>(data);
  return ctor;
}

Napi::Object ModelWrap::NewInstance(Napi::Env env, ModelPtr model, int max_concurrent_calls) {
  Napi::Object object = env.GetInstanceData<ClassData>()->constructor.New({});
  ModelWrap* wrap = ModelWrap::Unwrap(object);
  wrap->model_ = std::move(model);
  wrap->gate_ = wn::CallGate(max_concurrent_calls);
  return object;
}

// Constructed empty (= closed); only NewInstance gives it a model.
ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {}

const ModelPtr& ModelWrap::model(Napi::Env env) const {
  if (!model_) throw_js_error(env, "ERR_MODEL_CLOSED", "The model is closed");
  return model_;
}

Napi::Value ModelWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const wn::Model& m = *model(env);
  Napi::Object out = Napi::Object::New(env);
  out.Set("type", m.type_name());
  out.Set("multilingual", m.multilingual());
  out.Set("isa", wn::kernels::isa_name(m.context().isa));
  out.Set("threads", m.pool().size());
  out.Set("weightBytes", static_cast<double>(m.weight_bytes()));
  out.Set("lowMemory", m.low_memory());
  out.Set("maxConcurrentCalls", gate_.limit());
  out.Set("hparams", hparams_to_js(env, m.hparams()));
  return out;
}

// melWindow(samples, offsetSeconds): Promise<Float32Array> [n_mels][3000].
Napi::Value ModelWrap::MelWindow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SampleBuffer samples = SampleBuffer::copy_from(info[0]);
  const double offset = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0.0;
  if (!std::isfinite(offset) || offset < 0) {
    throw_js_error(env, "ERR_INVALID_ARG_VALUE", "Expected a finite number >= 0 for offsetSeconds");
  }
  // Clamped before the conversion (1e300 s would overflow it): any frame past
  // the audio's end is a window of padding alike.
  const double frame = std::min(offset * wn::kSampleRate / wn::kHopLength, 0x1p52);
  const auto first_frame = static_cast<int64_t>(std::llround(frame));
  // By value, after the arguments (reading them may run the caller's code,
  // which may close the model): the call keeps the model alive.
  auto* worker =
      new MelWindowWorker(env, model(env), gate_.take_ticket(), std::move(samples), first_frame);
  Napi::Promise promise = worker->promise();
  worker->Start();
  return promise;
}

// encode(mel: Float32Array): Promise<Float32Array>
Napi::Value ModelWrap::Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* worker =
      new EncodeWorker(env, model(env), gate_.take_ticket(), copy_float32_array(info[0], "mel"));
  Napi::Promise promise = worker->promise();
  worker->Start();
  return promise;
}

// logits(tokens: Int32Array, encoded: Float32Array): Promise<Float32Array>
Napi::Value ModelWrap::Logits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelPtr m = model(env);
  if (!info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw_js_error(env, "ERR_INVALID_ARG_TYPE", "Expected Int32Array for tokens");
  }
  Napi::Int32Array tokens = info[0].As<Napi::Int32Array>();
  std::vector<int32_t> token_ids(tokens.Data(), tokens.Data() + tokens.ElementLength());
  auto* worker = new LogitsWorker(env, m, gate_.take_ticket(), std::move(token_ids),
                                  copy_float32_array(info[1], "encoded"));
  Napi::Promise promise = worker->promise();
  worker->Start();
  return promise;
}

// detectLanguage(samples): Promise<{language, probability}[]>
Napi::Value ModelWrap::DetectLanguage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelPtr m = model(env);
  auto* worker =
      new DetectLanguageWorker(env, m, gate_.take_ticket(), SampleBuffer::copy_from(info[0]));
  Napi::Promise promise = worker->promise();
  worker->Start();
  return promise;
}

// transcribe(samples, options, onProgress?, onSegment?): { promise, abort }
Napi::Value ModelWrap::Transcribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // The options first: reading them may run the caller's getters, which may
  // close the model; then the model, by value.
  SampleBuffer samples = SampleBuffer::copy_from(info[0]);
  const wn::TranscribeOptions options = transcribe_options_from_js(info[1]);
  const ModelPtr m = model(env);
  return TranscribeWorker::Start(env, m, gate_.take_ticket(), std::move(samples), options, info[2],
                                 info[3]);
}

Napi::Value ModelWrap::Close(const Napi::CallbackInfo& info) {
  model_.reset();
  return info.Env().Undefined();
}

Napi::Value ModelWrap::IsClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !model_);
}

}  // namespace wn_binding
