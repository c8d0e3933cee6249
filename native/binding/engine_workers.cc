// Model loading, language detection and the encode / logits probes on their
// own threads (see engine_workers.h).
#include "binding/engine_workers.h"

#include <utility>

#include "binding/model_wrap.h"
#include "engine/audio/mel.h"
#include "engine/core/error.h"
#include "engine/model/decoder.h"
#include "engine/model/encoder.h"

namespace wn_binding {

LoadWorker::LoadWorker(Napi::Env env, std::string path, wn::LoadOptions options,
                       int max_concurrent_calls)
    : PromiseWorker(env, "whisper-native:load"),
      path_(std::move(path)),
      options_(options),
      max_concurrent_calls_(max_concurrent_calls) {}

void LoadWorker::Run() {
  options_.cancel = cancel_.get();
  model_ = wn::Model::load(path_, options_);
}

Napi::Value LoadWorker::Result(Napi::Env env) {
  return ModelWrap::NewInstance(env, model_, max_concurrent_calls_);
}

MelWindowWorker::MelWindowWorker(Napi::Env env, ModelPtr model, wn::CallGate::Ticket ticket,
                                 SampleBuffer samples, int64_t first_frame)
    : PromiseWorker(env, "whisper-native:melWindow"),
      model_(std::move(model)),
      samples_(std::move(samples)),
      first_frame_(first_frame) {
  TakeTurnAt(std::move(ticket));
}

void MelWindowWorker::Run() {
  const HeldSamples audio = samples_.take();
  // LogMelSpectrogram rejects NaN/Inf samples (wn::check_finite_samples).
  const int n_mels = model_->hparams().n_mels;
  wn::LogMelSpectrogram mel(audio.view(), model_->mel_filters(), n_mels, model_->n_fft_bins(),
                            &model_->pool(), cancel_.get());
  mel_.resize(static_cast<size_t>(n_mels) * wn::kWindowFrames);
  mel.window(first_frame_, mel_.data());
}

Napi::Value MelWindowWorker::Result(Napi::Env env) {
  return to_float32_array(env, mel_);
}

EncodeWorker::EncodeWorker(Napi::Env env, ModelPtr model, wn::CallGate::Ticket ticket,
                           std::vector<float> mel)
    : PromiseWorker(env, "whisper-native:encode"), model_(std::move(model)), mel_(std::move(mel)) {
  TakeTurnAt(std::move(ticket));
}

void EncodeWorker::Run() {
  const wn::HParams& hp = model_->hparams();
  const size_t expected = static_cast<size_t>(hp.n_mels) * wn::kWindowFrames;
  if (mel_.size() != expected) {
    throw wn::Error(wn::ErrorCode::kInvalidArgument,
                    "Expected a mel of " + std::to_string(hp.n_mels) + " x " +
                        std::to_string(wn::kWindowFrames) + " = " + std::to_string(expected) +
                        " floats but received " + std::to_string(mel_.size()));
  }
  encoded_.resize(static_cast<size_t>(hp.n_audio_ctx) * hp.n_audio_state);
  wn::Encoder encoder(*model_);
  encoder.encode(mel_.data(), encoded_.data(), cancel_.get());
}

Napi::Value EncodeWorker::Result(Napi::Env env) {
  return to_float32_array(env, encoded_);
}

LogitsWorker::LogitsWorker(Napi::Env env, ModelPtr model, wn::CallGate::Ticket ticket,
                           std::vector<int32_t> tokens, std::vector<float> encoded)
    : PromiseWorker(env, "whisper-native:logits"),
      model_(std::move(model)),
      tokens_(std::move(tokens)),
      encoded_(std::move(encoded)) {
  TakeTurnAt(std::move(ticket));
}

void LogitsWorker::Run() {
  const wn::HParams& hp = model_->hparams();
  const size_t expected = static_cast<size_t>(hp.n_audio_ctx) * hp.n_audio_state;
  if (encoded_.size() != expected) {
    throw wn::Error(wn::ErrorCode::kInvalidArgument,
                    "Expected an encoder output of " + std::to_string(hp.n_audio_ctx) + " x " +
                        std::to_string(hp.n_audio_state) + " = " + std::to_string(expected) +
                        " floats but received " + std::to_string(encoded_.size()));
  }
  const int n = static_cast<int>(tokens_.size());
  if (n < 1 || n > hp.n_text_ctx) {
    throw wn::Error(wn::ErrorCode::kInvalidArgument,
                    "Expected 1 to " + std::to_string(hp.n_text_ctx) + " tokens but received " +
                        std::to_string(tokens_.size()));
  }
  wn::Decoder decoder(*model_);
  decoder.set_audio(encoded_.data());
  const float* logits = decoder.forward(tokens_.data(), n, /*all_logits=*/true);
  logits_.assign(logits, logits + static_cast<size_t>(n) * hp.n_vocab);
}

Napi::Value LogitsWorker::Result(Napi::Env env) {
  return to_float32_array(env, logits_);
}

DetectLanguageWorker::DetectLanguageWorker(Napi::Env env, ModelPtr model,
                                           wn::CallGate::Ticket ticket, SampleBuffer samples)
    : PromiseWorker(env, "whisper-native:detectLanguage"),
      model_(std::move(model)),
      samples_(std::move(samples)) {
  TakeTurnAt(std::move(ticket));
}

void DetectLanguageWorker::Run() {
  const HeldSamples audio = samples_.take();
  languages_ = wn::detect_language(*model_, audio.view(), cancel_.get());
}

Napi::Value DetectLanguageWorker::Result(Napi::Env env) {
  Napi::Array out = Napi::Array::New(env, languages_.size());
  for (size_t i = 0; i < languages_.size(); ++i) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("language", languages_[i].code);
    entry.Set("probability", static_cast<double>(languages_[i].probability));
    out.Set(static_cast<uint32_t>(i), entry);
  }
  return out;
}

}  // namespace wn_binding
