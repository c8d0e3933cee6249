// Multilingual token layouts end to end, on small generated models (d = 8,
// one block each side, the real vocabulary sizes 51865 and 51866). The final
// LayerNorm is set to output a constant vector and one language token's
// embedding is aligned with it, so every decoder row favours that language:
// detection must find it, and transcription must use it.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "engine/audio/mel.h"
#include "engine/core/error.h"
#include "engine/core/f16.h"
#include "engine/decode/tokenizer.h"
#include "engine/format/ggml_file.h"
#include "engine/language.h"
#include "engine/model/model.h"
#include "engine/transcribe.h"
#include "ggml_test_writer.h"

namespace {

void poke_f32(std::vector<uint8_t>& bytes, size_t at, float v) {
  std::memcpy(&bytes[at], &v, 4);
}

// A generated model with n_vocab tokens whose decoder favours language index
// `favoured` at every step.
// n_mels 128 with 51866 tokens is large-v3's layout. The writer's filterbank
// gives mel band m the single FFT bin m + 1.
std::shared_ptr<const wn::Model> model_favouring(int32_t n_vocab, int favoured,
                                                 int32_t n_mels = 80) {
  using namespace wn_test;
  TestModel m = make_test_model({n_vocab, 1500, 8, 2, 1, 448, 8, 2, 1, n_mels, 1});
  m.tokens = wn::open_model_file(shared_dir() + "/models/ggml-tiny.en-random.bin").vocab;
  TestLayout at;
  std::vector<uint8_t> bytes = write_test_model(m, &at);
  auto data_of = [&](const std::string& name) {
    for (size_t i = 0; i < m.tensors.size(); ++i)
      if (m.tensors[i].name == name) return at.data[i];
    return size_t(0);
  };
  for (int k = 0; k < 8; ++k) {
    poke_f32(bytes, data_of("decoder.ln.weight") + 4 * k, 0.0f);  // LN output = bias
    poke_f32(bytes, data_of("decoder.ln.bias") + 4 * k, 1.0f);
  }
  const wn::SpecialTokens s = wn::SpecialTokens::for_vocab_size(n_vocab);
  const size_t row = data_of("decoder.token_embedding.weight") +
                     static_cast<size_t>(s.first_language + favoured) * 8 * 2;
  for (int k = 0; k < 8; ++k) {
    const uint16_t one = wn::f32_to_f16(1.0f);  // logit 8; the pattern gives |logit| <= 2
    std::memcpy(&bytes[row + 2 * k], &one, 2);
  }
  wn::LoadOptions options;
  options.threads = 2;
  return wn::Model::load(wn::parse_model_file(wn::FileBytes::from_buffer(std::move(bytes))),
                         options);
}

std::vector<float> quiet_audio(double seconds) {
  std::vector<float> out(static_cast<size_t>(seconds * 16000));
  for (size_t i = 0; i < out.size(); ++i) out[i] = 0.1f * static_cast<float>((i * 7919) % 13) / 13;
  return out;
}

wn::TranscribeOptions fast() {
  wn::TranscribeOptions o;
  o.temperatures = {0.0};
  o.no_speech_threshold.reset();
  return o;
}

}  // namespace

TEST(detects_the_favoured_language_with_99_languages) {
  const auto model = model_favouring(51865, wn::language_index("de"));
  CHECK(model->multilingual());
  const std::vector<float> audio = quiet_audio(2);
  const auto langs = wn::detect_language(*model, audio.data(), audio.size());
  CHECK(langs.size() == 99);
  if (langs.empty()) return;
  CHECK(langs[0].code == "de" && langs[0].probability > 0.5f);
  for (size_t i = 1; i < langs.size(); ++i) CHECK(langs[i].probability <= langs[i - 1].probability);

  const wn::TranscribeResult detected =
      wn::transcribe(*model, audio.data(), audio.size(), fast(), {});
  CHECK(detected.language == "de");
  wn::TranscribeOptions fr = fast();
  fr.language = "fr";
  fr.translate = true;
  CHECK(wn::transcribe(*model, audio.data(), audio.size(), fr, {}).language == "fr");
  fr.language = "yue";  // the 100th language: large-v3 only
  CHECK_THROWS_CODE(wn::transcribe(*model, audio.data(), audio.size(), fr, {}),
                    wn::ErrorCode::kInvalidArgument);
  wn::TranscribeOptions nothing = fast();
  nothing.offset = 10;  // past the end: no window, nothing to detect on
  CHECK(wn::transcribe(*model, audio.data(), audio.size(), nothing, {}).language.empty());
  fr.language = "xx";
  CHECK_THROWS_CODE(wn::transcribe(*model, audio.data(), audio.size(), fr, {}),
                    wn::ErrorCode::kInvalidArgument);
}

TEST(detects_on_the_first_30_s_whatever_offset_and_duration_say) {
  // The reference detects on pad_or_trim(mel) (the audio's first 30 s) before
  // its window loop; a window elsewhere (offset) or cut short (duration) takes
  // one more encoder pass of that first window. (The generated model favours
  // one language whatever the audio, so this checks the path, not the window.)
  const auto model = model_favouring(51865, wn::language_index("de"));
  const std::vector<float> audio = quiet_audio(40);
  for (const auto& [offset, duration] :
       std::vector<std::pair<double, double>>{{35, 0}, {0, 5}, {31, 3}, {0, 35}}) {
    wn::TranscribeOptions o = fast();
    o.sample_len = 8;
    o.offset = offset;
    o.duration = duration;
    const wn::TranscribeResult r = wn::transcribe(*model, audio.data(), audio.size(), o, {});
    CHECK(r.language == "de");
    for (const wn::Segment& s : r.segments) CHECK(s.start >= offset && s.end <= 40.0);
  }
}

TEST(detects_cantonese_with_the_large_v3_layout) {
  const auto model = model_favouring(51866, wn::language_index("yue"));
  const std::vector<float> audio = quiet_audio(2);
  const auto langs = wn::detect_language(*model, audio.data(), audio.size());
  CHECK(langs.size() == 100);
  if (!langs.empty()) CHECK(langs[0].code == "yue");
  wn::TranscribeOptions o = fast();
  o.without_timestamps = true;
  const wn::TranscribeResult r = wn::transcribe(*model, audio.data(), audio.size(), o, {});
  CHECK(r.language == "yue");
  for (const wn::Segment& s : r.segments) {
    for (const wn::TokenResult& t : s.tokens) CHECK(t.id < 50257);  // text only, no timestamps
  }
}

TEST(large_v3_layout_end_to_end_with_128_mel_bands) {
  const auto model = model_favouring(51866, wn::language_index("ja"), 128);
  CHECK(model->hparams().n_mels == 128);
  CHECK(model->mel_filters().size() == 128u * 201u);
  // A 4040 Hz tone is FFT bin 101 (40 Hz per bin): with the file's filters
  // only band 100 sees it, a band that exists only with 128 of them.
  std::vector<float> tone(32000);
  constexpr double kPi = 3.14159265358979323846;  // M_PI is POSIX, not C++
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = 0.5f * std::sin(2 * kPi * 4040.0 * i / 16000);
  wn::LogMelSpectrogram mel(tone.data(), tone.size(), model->mel_filters(), 128,
                            model->n_fft_bins(), &model->pool());
  std::vector<float> window(128u * wn::kWindowFrames);
  mel.window(0, window.data());
  int loudest = -1;
  float loudest_value = -1e30f;
  for (int band = 0; band < 128; ++band) {
    const float v = window[static_cast<size_t>(band) * wn::kWindowFrames + 50];  // 0.5 s in
    if (v > loudest_value) loudest_value = v, loudest = band;
  }
  CHECK(loudest == 100);

  const std::vector<float> audio = quiet_audio(3);
  wn::TranscribeOptions o = fast();
  o.sample_len = 16;
  o.word_timestamps = true;
  const wn::TranscribeResult r = wn::transcribe(*model, audio.data(), audio.size(), o, {});
  CHECK(r.language == "ja");
  double previous_end = 0;
  for (const wn::Segment& s : r.segments) {
    CHECK(s.start >= previous_end && s.end >= s.start && s.end <= 3.0);
    previous_end = s.end;
    std::string spelled;
    for (const wn::WordResult& w : s.words) spelled += w.word;
    CHECK(spelled == s.text);  // per-character words for Japanese
  }
  size_t n_words = 0;
  for (const wn::Segment& s : r.segments) n_words += s.words.size();
  std::printf("  %zu segments, %zu words\n", r.segments.size(), n_words);
  CHECK(n_words > 0);
  const auto langs = wn::detect_language(*model, audio.data(), audio.size());
  CHECK(langs.size() == 100 && langs[0].code == "ja");
}

int main() {
  return wn_test::run_all();
}
