// Copies the JS options object into wn::TranscribeOptions (see transcribe_options.h).
#include "binding/transcribe_options.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "binding/js_errors.h"

namespace wn_binding {
namespace {

// The value of an integer option or token id, refused with a typed error when
// the double is not an integer of the type (NaN, Infinity, 2.5, 1e300): casting
// such a double is undefined behaviour. The TypeScript layer checks every
// option's range before it gets here; this keeps the addon safe when called
// around it.
template <typename Int>
Int to_integer(Napi::Env env, double v, const char* key) {
  // [lowest, 2^digits): both bounds are exact doubles, unlike max() of 64 bits.
  const double end = std::ldexp(1.0, std::numeric_limits<Int>::digits);
  if (!(std::trunc(v) == v && v >= static_cast<double>(std::numeric_limits<Int>::lowest()) &&
        v < end)) {
    throw_js_error(
        env, "ERR_INVALID_ARG_VALUE",
        std::string("Expected an integer for options.") + key + ", got " + std::to_string(v));
  }
  return static_cast<Int>(v);
}

template <typename Number>
Number to_number(Napi::Env env, double v, const char* key) {
  if constexpr (std::is_integral_v<Number>) {
    return to_integer<Number>(env, v, key);
  } else {
    return static_cast<Number>(v);
  }
}

// One JS options object; each read leaves `out` unchanged when the field is
// absent or of another type.
class Fields {
 public:
  explicit Fields(Napi::Object object) : object_(object) {}

  void read(const char* key, bool* out) const {
    Napi::Value v = object_.Get(key);
    if (v.IsBoolean()) *out = v.As<Napi::Boolean>().Value();
  }
  template <typename Number>
  void read(const char* key, Number* out) const {
    Napi::Value v = object_.Get(key);
    if (v.IsNumber()) *out = to_number<Number>(v.Env(), v.As<Napi::Number>().DoubleValue(), key);
  }
  void read(const char* key, std::string* out) const {
    Napi::Value v = object_.Get(key);
    if (v.IsString()) *out = v.As<Napi::String>().Utf8Value();
  }
  template <typename Number>
  void read(const char* key, std::vector<Number>* out) const {
    Napi::Value v = object_.Get(key);
    if (!v.IsArray()) return;
    Napi::Array array = v.As<Napi::Array>();
    out->clear();
    for (uint32_t i = 0; i < array.Length(); ++i) {
      Napi::Value item = array.Get(i);
      if (item.IsNumber()) {
        out->push_back(to_number<Number>(item.Env(), item.As<Napi::Number>().DoubleValue(), key));
      }
    }
  }
  // null: the rule is off (nullopt); a number: its value.
  void read(const char* key, std::optional<double>* out) const {
    Napi::Value v = object_.Get(key);
    if (v.IsNull()) *out = std::nullopt;
    if (v.IsNumber()) *out = v.As<Napi::Number>().DoubleValue();
  }
  // A prompt given as text or as token ids.
  void read_text_or_tokens(const char* key, std::string* text, std::vector<int32_t>* tokens) const {
    Napi::Value v = object_.Get(key);
    if (v.IsString()) read(key, text);
    if (v.IsArray()) read(key, tokens);
  }

 private:
  Napi::Object object_;
};

}  // namespace

wn::TranscribeOptions transcribe_options_from_js(const Napi::Value& value) {
  wn::TranscribeOptions o;
  if (!value.IsObject()) return o;
  const Fields f(value.As<Napi::Object>());
  f.read("language", &o.language);
  f.read("translate", &o.translate);
  f.read("temperature", &o.temperatures);
  f.read("bestOf", &o.best_of);
  f.read("beamSize", &o.beam_size);
  f.read("patience", &o.patience);
  f.read("lengthPenalty", &o.length_penalty);
  f.read("seed", &o.seed);
  f.read("maxTokensPerWindow", &o.sample_len);
  f.read("compressionRatioThreshold", &o.compression_ratio_threshold);
  f.read("logprobThreshold", &o.logprob_threshold);
  f.read("noSpeechThreshold", &o.no_speech_threshold);
  f.read("conditionOnPreviousText", &o.condition_on_previous_text);
  f.read_text_or_tokens("initialPrompt", &o.initial_prompt, &o.initial_prompt_tokens);
  f.read_text_or_tokens("prefix", &o.prefix, &o.prefix_tokens);
  f.read("maxInitialTimestamp", &o.max_initial_timestamp);
  f.read("suppressBlank", &o.suppress_blank);
  f.read("suppressTokens", &o.suppress_tokens);
  f.read("withoutTimestamps", &o.without_timestamps);
  f.read("offset", &o.offset);
  f.read("duration", &o.duration);
  f.read("maxSegmentLength", &o.max_segment_length);
  f.read("splitOnWord", &o.split_on_word);
  f.read("singleSegment", &o.single_segment);
  f.read("wordTimestamps", &o.word_timestamps);
  return o;
}

}  // namespace wn_binding
