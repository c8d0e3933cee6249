// A transcription on its own thread with progress and segment events posted to
// the JS thread (see transcribe_worker.h).
#include "binding/transcribe_worker.h"

#include <utility>
#include <vector>

namespace wn_binding {

Napi::Object segment_to_js(Napi::Env env, const wn::Segment& segment, bool with_words) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("start", segment.start);
  out.Set("end", segment.end);
  out.Set("text", Napi::String::New(env, segment.text));
  Napi::Array tokens = Napi::Array::New(env, segment.tokens.size());
  for (size_t i = 0; i < segment.tokens.size(); ++i) {
    const wn::TokenResult& t = segment.tokens[i];
    Napi::Object token = Napi::Object::New(env);
    token.Set("id", t.id);
    token.Set("text", Napi::String::New(env, t.text));
    token.Set("p", static_cast<double>(t.p));
    tokens.Set(static_cast<uint32_t>(i), token);
  }
  out.Set("tokens", tokens);
  out.Set("temperature", segment.temperature);
  out.Set("avgLogprob", segment.avg_logprob);
  out.Set("compressionRatio", segment.compression_ratio);
  out.Set("noSpeechProb", static_cast<double>(segment.no_speech_prob));
  if (with_words) {
    Napi::Array words = Napi::Array::New(env, segment.words.size());
    for (size_t i = 0; i < segment.words.size(); ++i) {
      const wn::WordResult& w = segment.words[i];
      Napi::Object word = Napi::Object::New(env);
      word.Set("word", Napi::String::New(env, w.word));
      word.Set("start", w.start);
      word.Set("end", w.end);
      word.Set("probability", static_cast<double>(w.probability));
      words.Set(static_cast<uint32_t>(i), word);
    }
    out.Set("words", words);
  }
  return out;
}

Napi::Object TranscribeWorker::Start(Napi::Env env, ModelPtr model, wn::CallGate::Ticket ticket,
                                     SampleBuffer samples, const wn::TranscribeOptions& options,
                                     Napi::Value on_progress, Napi::Value on_segment) {
  auto* worker =
      new TranscribeWorker(env, std::move(model), std::move(ticket), std::move(samples), options);
  Napi::Object job;
  try {
    if (on_progress.IsFunction()) {
      worker->on_progress_ = Napi::Persistent(on_progress.As<Napi::Function>());
      worker->want_progress_ = true;
    }
    if (on_segment.IsFunction()) {
      worker->on_segment_ = Napi::Persistent(on_segment.As<Napi::Function>());
      worker->want_segments_ = true;
    }
    // The flag outlives the worker: abort() may be called after the call settled.
    job = Napi::Object::New(env);
    job.Set("promise", worker->deferred_.Promise());
    job.Set("abort", worker->MakeAbortFunction(env, worker->cancel_));
  } catch (...) {
    // Not started: nothing else owns it, and its turn at the model's gate
    // must be given up (its ticket's destructor), or the calls queued after
    // it would wait for good.
    delete worker;
    throw;
  }
  worker->ThreadWorker::Start();
  return job;
}

TranscribeWorker::TranscribeWorker(Napi::Env env, ModelPtr model, wn::CallGate::Ticket ticket,
                                   SampleBuffer samples, const wn::TranscribeOptions& options)
    : ThreadWorker(env, "whisper-native:transcribe"),
      model_(std::move(model)),
      samples_(std::move(samples)),
      options_(options),
      deferred_(Napi::Promise::Deferred::New(env)) {
  TakeTurnAt(std::move(ticket));
}

void TranscribeWorker::Execute() {
  try {
    const HeldSamples audio = samples_.take();
    wn::TranscribeCallbacks callbacks;
    callbacks.cancel = cancel_.get();
    if (want_progress_) {
      callbacks.on_progress = [this](double fraction) {
        Post([this, fraction](Napi::Env env) {
          CallBack(on_progress_, Napi::Number::New(env, fraction));
        });
      };
    }
    if (want_segments_) {
      callbacks.on_segment = [this](const wn::Segment& segment) {
        Post([this, segment](Napi::Env env) {
          CallBack(on_segment_, segment_to_js(env, segment, options_.word_timestamps));
        });
      };
    }
    result_ = wn::transcribe(*model_, audio.view(), options_, callbacks);
  } catch (...) {
    failed_ = true;
    error_ = describe_current_exception();
  }
}

// Calls a user callback; if it throws, remembers the first error, stops the
// engine and rejects with that error at the end.
void TranscribeWorker::CallBack(const Napi::FunctionReference& fn, Napi::Value arg) {
  if (fn.IsEmpty() || !callback_error_.IsEmpty()) return;
  try {
    fn.Call({arg});
  } catch (const Napi::Error& e) {
    callback_error_ = Napi::Persistent(e.Value().As<Napi::Value>());
    cancel_->cancel();
  }
}

void TranscribeWorker::OnDone(Napi::Env env) {
  if (!callback_error_.IsEmpty()) {
    deferred_.Reject(callback_error_.Value());
    return;
  }
  if (failed_) {
    deferred_.Reject(make_js_error(env, error_).Value());
    return;
  }
  try {
    Napi::Object out = Napi::Object::New(env);
    Napi::Array segments = Napi::Array::New(env, result_.segments.size());
    for (size_t i = 0; i < result_.segments.size(); ++i) {
      segments.Set(static_cast<uint32_t>(i),
                   segment_to_js(env, result_.segments[i], options_.word_timestamps));
    }
    out.Set("segments", segments);
    out.Set("text", Napi::String::New(env, result_.text));
    out.Set("duration", result_.duration);
    out.Set("language", Napi::String::New(env, result_.language));
    const wn::TranscribeTimings& t = result_.timings;
    Napi::Object timings = Napi::Object::New(env);
    timings.Set("totalMs", t.total_ms);
    timings.Set("encodeMs", t.encode_ms);
    timings.Set("encoderPasses", t.encoder_passes);
    timings.Set("decodeMs", t.decode_ms);
    timings.Set("decoderSteps", t.decoder_steps);
    timings.Set("sharedSteps", t.shared_steps);
    timings.Set("alignMs", t.align_ms);
    out.Set("timings", timings);
    deferred_.Resolve(out);
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  } catch (...) {
    deferred_.Reject(make_js_error(env, describe_current_exception()).Value());
  }
}

}  // namespace wn_binding
