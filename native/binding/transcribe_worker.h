// One transcription call: wn::transcribe on the call's own thread (see
// thread_worker.h), after its turn at the model's CallGate, with progress and
// segments delivered to the JS thread in the order the engine produced them;
// the promise settles only after the last of them. A per-call
// CancellationFlag is raised by the abort() function handed back to JS
// (AbortSignal, model close), when a JS callback throws, or when the
// environment goes away.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>

#include "binding/engine_workers.h"
#include "binding/js_errors.h"
#include "binding/samples.h"
#include "binding/thread_worker.h"
#include "engine/core/call_gate.h"
#include "engine/core/cancel.h"
#include "engine/transcribe.h"

namespace wn_binding {

class TranscribeWorker : public ThreadWorker {
 public:
  // Starts the call and returns { promise, abort }. on_progress(fraction) and
  // on_segment(segment) may be empty functions.
  static Napi::Object Start(Napi::Env env, ModelPtr model, wn::CallGate::Ticket ticket,
                            SampleBuffer samples, const wn::TranscribeOptions& options,
                            Napi::Value on_progress, Napi::Value on_segment);

 private:
  TranscribeWorker(Napi::Env env, ModelPtr model, wn::CallGate::Ticket ticket, SampleBuffer samples,
                   const wn::TranscribeOptions& options);

  void Execute() override;
  void Cancel() override { cancel_->cancel(); }
  void OnNotRun(const ErrorInfo& error) override {
    failed_ = true;
    error_ = error;
  }
  void OnDone(Napi::Env env) override;
  void CallBack(const Napi::FunctionReference& fn, Napi::Value arg);

  ModelPtr model_;
  SampleBuffer samples_;
  wn::TranscribeOptions options_;
  std::shared_ptr<wn::CancellationFlag> cancel_ = std::make_shared<wn::CancellationFlag>();
  Napi::FunctionReference on_progress_, on_segment_;
  // Set before the thread starts, read on it: events nobody listens to are not sent.
  bool want_progress_ = false, want_segments_ = false;
  Napi::Promise::Deferred deferred_;
  wn::TranscribeResult result_;
  bool failed_ = false;
  ErrorInfo error_;
  Napi::Reference<Napi::Value> callback_error_;  // what a throwing JS callback threw
};
// {start, end, text, tokens: [{id, text, p}], ..., words?: [{word, start, end, probability}]}
// (words only with_words: the call asked for word timestamps).
Napi::Object segment_to_js(Napi::Env env, const wn::Segment& segment, bool with_words);

}  // namespace wn_binding
