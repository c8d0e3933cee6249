// The promise-returning calls that are not transcription: loading a model,
// language detection and the low-level melWindow / encode / logits probes. Each copies its
// inputs in on the JS thread, holds its own reference to the model, and works
// on its own thread with its own Encoder / Decoder state, after waiting its
// turn at the model's CallGate.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "binding/promise_worker.h"
#include "binding/samples.h"
#include "engine/core/call_gate.h"
#include "engine/language.h"
#include "engine/model/model.h"

namespace wn_binding {

using ModelPtr = std::shared_ptr<const wn::Model>;

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, wn::LoadOptions options, int max_concurrent_calls);

 private:
  void Run() override;
  Napi::Value Result(Napi::Env env) override;
  std::string path_;
  wn::LoadOptions options_;
  int max_concurrent_calls_;  // the model's CallGate limit
  ModelPtr model_;
};

// samples, first frame -> the log-mel window [n_mels][3000] the encoder sees
// there (the whole audio's log-mel is computed for its global maximum: a few
// ms per second of audio, hence a thread of its own).
class MelWindowWorker : public PromiseWorker {
 public:
  MelWindowWorker(Napi::Env env, ModelPtr model, wn::CallGate::Ticket ticket, SampleBuffer samples,
                  int64_t first_frame);

 private:
  void Run() override;
  Napi::Value Result(Napi::Env env) override;
  ModelPtr model_;
  SampleBuffer samples_;
  int64_t first_frame_;
  std::vector<float> mel_;
};

// mel [n_mels][3000] -> encoder output [n_audio_ctx][n_audio_state].
class EncodeWorker : public PromiseWorker {
 public:
  EncodeWorker(Napi::Env env, ModelPtr model, wn::CallGate::Ticket ticket, std::vector<float> mel);

 private:
  void Run() override;
  Napi::Value Result(Napi::Env env) override;
  ModelPtr model_;
  std::vector<float> mel_, encoded_;
};

// tokens [n], encoded [n_audio_ctx][n_audio_state] -> logits [n][n_vocab].
class LogitsWorker : public PromiseWorker {
 public:
  LogitsWorker(Napi::Env env, ModelPtr model, wn::CallGate::Ticket ticket,
               std::vector<int32_t> tokens, std::vector<float> encoded);

 private:
  void Run() override;
  Napi::Value Result(Napi::Env env) override;
  ModelPtr model_;
  std::vector<int32_t> tokens_;
  std::vector<float> encoded_, logits_;
};

// samples -> [{language, probability}] over the model's languages, most likely
// first (engine/language.h: the first 30 s window).
class DetectLanguageWorker : public PromiseWorker {
 public:
  DetectLanguageWorker(Napi::Env env, ModelPtr model, wn::CallGate::Ticket ticket,
                       SampleBuffer samples);

 private:
  void Run() override;
  Napi::Value Result(Napi::Env env) override;
  ModelPtr model_;
  SampleBuffer samples_;
  std::vector<wn::LanguageProbability> languages_;
};

}  // namespace wn_binding
