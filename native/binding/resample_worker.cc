#include "binding/resample_worker.h"

#include <cmath>
#include <cstdint>

#include "binding/js_errors.h"

namespace wn_binding {
namespace {

class ResampleWorker : public PromiseWorker {
 public:
  ResampleWorker(Napi::Env env, Napi::Float32Array input, Napi::Float32Array table,
                 Napi::Float32Array out, wn::PolyphaseFilter filter, int64_t first)
      : PromiseWorker(env, "whisper-native:resample"),
        input_ref_(Napi::Persistent(input)),
        table_ref_(Napi::Persistent(table)),
        out_ref_(Napi::Persistent(out)),
        input_(input.Data()),
        n_input_(static_cast<int64_t>(input.ElementLength())),
        out_(out.Data()),
        n_out_(static_cast<int64_t>(out.ElementLength())),
        filter_(filter),
        first_(first) {}

 private:
  void Run() override { wn::polyphase_run(filter_, input_, n_input_, 0, first_, out_, n_out_); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

  // Keep the three arrays (and so their memory) alive until the promise settles.
  Napi::Reference<Napi::Float32Array> input_ref_, table_ref_, out_ref_;
  const float* input_;
  int64_t n_input_;
  float* out_;
  int64_t n_out_;
  wn::PolyphaseFilter filter_;
  int64_t first_;
};

bool is_float32_array(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
}

}  // namespace

Napi::Value ResampleRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!is_float32_array(info[0]) || !is_float32_array(info[1]) || !info[2].IsNumber() ||
      !info[3].IsNumber() || !info[4].IsNumber() || !info[5].IsNumber() || !info[6].IsBoolean() ||
      !info[7].IsNumber() || !is_float32_array(info[8])) {
    throw_js_error(env, "ERR_INVALID_ARG_TYPE",
                   "Expected (input: Float32Array, table: Float32Array, tapsPerPhase, halfTaps, "
                   "up, down, exact: boolean, first: number, out: Float32Array)");
  }
  const Napi::Float32Array table = info[1].As<Napi::Float32Array>();
  wn::PolyphaseFilter filter;
  filter.table = table.Data();
  filter.table_size = static_cast<int64_t>(table.ElementLength());
  filter.taps_per_phase = info[2].As<Napi::Number>().Int32Value();
  filter.half_taps = info[3].As<Napi::Number>().Int32Value();
  filter.up = info[4].As<Napi::Number>().DoubleValue();
  filter.down = info[5].As<Napi::Number>().DoubleValue();
  filter.exact = info[6].As<Napi::Boolean>().Value();
  const double first = info[7].As<Napi::Number>().DoubleValue();
  if (!(first >= 0 && first < 9007199254740992.0) || first != std::floor(first)) {
    throw_js_error(env, "ERR_INVALID_ARG_VALUE", "Expected first to be an integer >= 0");
  }
  with_js_errors(env, [&] { wn::check_polyphase_filter(filter); });
  auto* worker =
      new ResampleWorker(env, info[0].As<Napi::Float32Array>(), table,
                         info[8].As<Napi::Float32Array>(), filter, static_cast<int64_t>(first));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace wn_binding
