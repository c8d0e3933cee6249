// The whisper-native addon's entry point: module exports, version and CPU
// (ISA) information. What each export does is typed in lib/binding.ts.
#include <napi.h>

#include <string>
#include <utility>

#include "binding/engine_workers.h"
#include "binding/js_errors.h"
#include "binding/model_wrap.h"
#include "binding/pcm_decode.h"
#include "binding/resample_worker.h"
#include "engine/core/call_gate.h"
#include "engine/kernels/kernels.h"

namespace wn_binding {
namespace {

// loadModel(path: string, threads: number, lowMemory: boolean, maxConcurrentCalls: number):
//   { promise: Promise<NativeModel>, abort(): void }
Napi::Value LoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_js_error(env, "ERR_INVALID_ARG_TYPE", "Expected string for path");
  wn::LoadOptions options;
  options.threads = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  if (options.threads < 0) throw_js_error(env, "ERR_INVALID_ARG_VALUE", "Expected threads >= 0");
  options.low_memory = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  const int max_calls =
      info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : wn::CallGate::kDefaultLimit;
  if (max_calls < 1) {
    throw_js_error(env, "ERR_INVALID_ARG_VALUE", "Expected maxConcurrentCalls >= 1");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  // open() would read the path only up to its first NUL: another file.
  if (path.find('\0') != std::string::npos) {
    throw_js_error(env, "ERR_INVALID_ARG_VALUE", "Expected a path without NUL characters");
  }
  auto* worker = new LoadWorker(env, std::move(path), options, max_calls);
  Napi::Object job = Napi::Object::New(env);
  job.Set("promise", worker->promise());
  job.Set("abort", worker->AbortFunction(env));
  worker->Start();
  return job;
}

// supportedIsas(): string[]: the kernel paths this CPU and build can run, slowest first.
Napi::Value SupportedIsas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  using wn::kernels::Isa;
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
    if (wn::kernels::isa_supported(isa)) out.Set(out.Length(), wn::kernels::isa_name(isa));
  }
  return out;
}

// bestIsa(): the path a model uses when WHISPER_NATIVE_ISA is not set.
Napi::Value BestIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), wn::kernels::isa_name(wn::kernels::best_isa()));
}

// measurePeakGflops(threads, seconds): this CPU's fp32 FMA throughput, for the
// benchmark's "% of peak" figure. Synchronous by design: a bench-only probe that
// must own the cores while it measures; the library itself never calls it.
Napi::Value MeasurePeakGflops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber()) {
    throw_js_error(env, "ERR_INVALID_ARG_TYPE", "Expected (threads: number, seconds: number)");
  }
  const int threads = info[0].As<Napi::Number>().Int32Value();
  const double seconds = info[1].As<Napi::Number>().DoubleValue();
  if (threads < 1 || threads > 256 || !(seconds > 0 && seconds <= 60)) {
    throw_js_error(env, "ERR_INVALID_ARG_VALUE",
                   "Expected threads in [1, 256] and seconds in (0, 60]");
  }
  return Napi::Number::New(env, wn::kernels::measure_peak_gflops(threads, seconds));
}

// measureReadBandwidth(threads, megabytes, seconds): GB/s at which `threads`
// threads stream a buffer of that size, for the benchmark's decoder figure
// (a token reads every decoder weight once). Synchronous, bench only, as above.
Napi::Value MeasureReadBandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    throw_js_error(env, "ERR_INVALID_ARG_TYPE",
                   "Expected (threads: number, megabytes: number, seconds: number)");
  }
  const int threads = info[0].As<Napi::Number>().Int32Value();
  const double megabytes = info[1].As<Napi::Number>().DoubleValue();
  const double seconds = info[2].As<Napi::Number>().DoubleValue();
  if (threads < 1 || threads > 256 || !(megabytes >= 1 && megabytes <= 4096) ||
      !(seconds > 0 && seconds <= 60)) {
    throw_js_error(env, "ERR_INVALID_ARG_VALUE",
                   "Expected threads in [1, 256], megabytes in [1, 4096] and seconds in (0, 60]");
  }
  return Napi::Number::New(env, wn::kernels::measure_read_bandwidth(threads, megabytes, seconds));
}

}  // namespace
}  // namespace wn_binding

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace wn_binding;
  exports.Set("loadModel", Napi::Function::New<LoadModel>(env, "loadModel"));
  exports.Set("supportedIsas", Napi::Function::New<SupportedIsas>(env, "supportedIsas"));
  exports.Set("bestIsa", Napi::Function::New<BestIsa>(env, "bestIsa"));
  exports.Set("measurePeakGflops",
              Napi::Function::New<MeasurePeakGflops>(env, "measurePeakGflops"));
  exports.Set("measureReadBandwidth",
              Napi::Function::New<MeasureReadBandwidth>(env, "measureReadBandwidth"));
  exports.Set("decodePcmFrames", Napi::Function::New<DecodePcmFrames>(env, "decodePcmFrames"));
  exports.Set("resampleRun", Napi::Function::New<ResampleRun>(env, "resampleRun"));
  exports.Set("NativeModel", ModelWrap::DefineClass(env));
  exports.Set("napiVersion", NAPI_VERSION);
  return exports;
}

}  // namespace

NODE_API_MODULE(whisper_native, Init)
