#include "binding/resample_worker.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "binding/js_errors.h"
#include "binding/promise_worker.h"
#include "engine/audio/resample.h"

namespace wn_binding {
namespace {

class ResampleWorker : public PromiseWorker {
 public:
  ResampleWorker(Napi::Env env, std::vector<float> input, wn::SampleRange range,
                 std::vector<float> table, wn::PolyphaseFilter filter, int64_t first,
                 Napi::Float32Array out)
      : PromiseWorker(env, "whisper-native:resample"),
        input_(std::move(input)),
        range_(range),
        table_(std::move(table)),
        filter_(filter),
        first_(first),
        out_ref_(Napi::Persistent(out)),
        result_(out.ElementLength()) {
    filter_.table = table_.data();
  }

 private:
  void Run() override {
    wn::polyphase_run(filter_, input_.data(), range_.end - range_.begin, range_.begin, first_,
                      result_.data(), static_cast<int64_t>(result_.size()));
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Float32Array out = out_ref_.Value();
    if (out.ElementLength() == result_.size() && !result_.empty()) {
      std::memcpy(out.Data(), result_.data(), result_.size() * sizeof(float));
    }
    return env.Undefined();
  }

  std::vector<float> input_;  // input samples [range_.begin, range_.end)
  wn::SampleRange range_;
  std::vector<float> table_;
  wn::PolyphaseFilter filter_;
  int64_t first_;
  Napi::Reference<Napi::Float32Array> out_ref_;
  std::vector<float> result_;
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
  const Napi::Float32Array input = info[0].As<Napi::Float32Array>();
  const Napi::Float32Array out = info[8].As<Napi::Float32Array>();
  const auto n_first = static_cast<int64_t>(first);
  const auto n_out = static_cast<int64_t>(out.ElementLength());
  const wn::SampleRange range = with_js_errors(env, [&] {
    wn::check_polyphase_filter(filter);
    return wn::polyphase_input_range(filter, n_first, n_out,
                                     static_cast<int64_t>(input.ElementLength()));
  });
  std::vector<float> samples(input.Data() + range.begin, input.Data() + range.end);
  std::vector<float> taps(filter.table, filter.table + filter.table_size);
  auto* worker =
      new ResampleWorker(env, std::move(samples), range, std::move(taps), filter, n_first, out);
  Napi::Promise promise = worker->promise();
  worker->Start();
  return promise;
}

}  // namespace wn_binding
