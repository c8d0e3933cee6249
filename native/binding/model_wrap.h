// The JS object around a loaded model: std::shared_ptr<const wn::Model>. Every
// call in flight holds its own copy of that pointer, so close() only drops this
// object's reference: the weights are freed when the last running call ends,
// never while one uses them. Its calls take their turns at one CallGate.
#pragma once

#include <napi.h>

#include "binding/engine_workers.h"
#include "engine/core/call_gate.h"

namespace wn_binding {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  // A new JS model object owning a reference to `model`, running at most
  // max_concurrent_calls of its calls at once.
  static Napi::Object NewInstance(Napi::Env env, ModelPtr model, int max_concurrent_calls);

  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  // Throws ERR_MODEL_CLOSED after close().
  const ModelPtr& model(Napi::Env env) const;

  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value MelWindow(const Napi::CallbackInfo& info);
  Napi::Value Encode(const Napi::CallbackInfo& info);
  Napi::Value Logits(const Napi::CallbackInfo& info);
  Napi::Value DetectLanguage(const Napi::CallbackInfo& info);
  Napi::Value Transcribe(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value IsClosed(const Napi::CallbackInfo& info);

  ModelPtr model_;
  // Calls of this model wait here for their turn to run.
  wn::CallGate gate_;
};

}  // namespace wn_binding
