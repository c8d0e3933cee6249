// The base of every promise-returning native call: Run() does the engine work
// on the call's own thread (never the JS thread, see thread_worker.h), then the
// promise resolves with Result() or rejects with a coded error (js_errors.h).
#pragma once

#include <napi.h>

#include <cstring>
#include <memory>
#include <vector>

#include "binding/js_errors.h"
#include "binding/thread_worker.h"
#include "engine/core/cancel.h"

namespace wn_binding {

class PromiseWorker : public ThreadWorker {
 public:
  Napi::Promise promise() { return deferred_.Promise(); }
  // abort(): raises cancel_ (ThreadWorker::MakeAbortFunction).
  Napi::Function AbortFunction(Napi::Env env) { return MakeAbortFunction(env, cancel_); }

 protected:
  PromiseWorker(Napi::Env env, const char* resource_name)
      : ThreadWorker(env, resource_name), deferred_(Napi::Promise::Deferred::New(env)) {}

  virtual void Run() = 0;                         // the call's thread
  virtual Napi::Value Result(Napi::Env env) = 0;  // JS thread, after Run() succeeded

  // Raised when the call must stop early (abort(), or its environment going
  // away); Run() passes it to whatever can stop.
  // Shared: an abort() may come after the worker is gone.
  std::shared_ptr<wn::CancellationFlag> cancel_ = std::make_shared<wn::CancellationFlag>();

 private:
  void Execute() final {
    try {
      Run();
    } catch (...) {
      failed_ = true;
      error_ = describe_current_exception();
    }
  }
  void Cancel() final { cancel_->cancel(); }
  void OnNotRun(const ErrorInfo& error) final {
    failed_ = true;
    error_ = error;
  }
  void OnDone(Napi::Env env) final {
    if (failed_) {
      deferred_.Reject(make_js_error(env, error_).Value());
      return;
    }
    try {
      deferred_.Resolve(Result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(make_js_error(env, describe_current_exception()).Value());
    }
  }

  Napi::Promise::Deferred deferred_;
  bool failed_ = false;
  ErrorInfo error_;
};

// A new Float32Array holding a copy of `values` (JS-heap memory: external
// buffers are not allowed everywhere, e.g. in Electron).
inline Napi::Float32Array to_float32_array(Napi::Env env, const std::vector<float>& values) {
  Napi::Float32Array out = Napi::Float32Array::New(env, values.size());
  if (!values.empty()) std::memcpy(out.Data(), values.data(), values.size() * sizeof(float));
  return out;
}

}  // namespace wn_binding
