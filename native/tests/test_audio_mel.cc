// Tests for the audio front end: the FFT against a naive DFT, the log-mel windows
// against OpenAI's own (shared/golden/*.mel.f32) for every golden clip, and the
// edge cases (empty and very short audio, windows past the end, thread pool).
//
// The WAV and model-file readers here are deliberately minimal and independent of
// the engine's format module, so a bug there cannot hide one here.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "engine/audio/fft.h"
#include "engine/audio/mel.h"
#include "engine/core/cancel.h"
#include "engine/core/error.h"
#include "engine/core/thread_pool.h"

namespace {

using cd = std::complex<double>;
constexpr double kPi = 3.14159265358979323846264338327950288;

// --- readers ------------------------------------------------------------------

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

uint32_t le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint16_t le16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// 16-bit PCM mono 16 kHz WAV -> samples / 32768.
std::vector<float> read_wav(const std::string& path) {
  const std::vector<char> bytes = read_bytes(path);
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 ||
      std::memcmp(bytes.data() + 8, "WAVE", 4) != 0) {
    throw std::runtime_error(path + ": not a RIFF/WAVE file");
  }
  bool format_ok = false;
  size_t pos = 12;
  while (pos + 8 <= bytes.size()) {
    const uint32_t size = le32(bytes.data() + pos + 4);
    const char* body = bytes.data() + pos + 8;
    if (size > bytes.size() - pos - 8) throw std::runtime_error(path + ": chunk past the end");
    if (std::memcmp(bytes.data() + pos, "fmt ", 4) == 0 && size >= 16) {
      format_ok = le16(body) == 1 && le16(body + 2) == 1 && le32(body + 4) == 16000 &&
                  le16(body + 14) == 16;
    } else if (std::memcmp(bytes.data() + pos, "data", 4) == 0) {
      if (!format_ok) throw std::runtime_error(path + ": not 16-bit PCM mono 16 kHz");
      std::vector<float> samples(size / 2);
      for (size_t i = 0; i < samples.size(); ++i) {
        samples[i] = static_cast<int16_t>(le16(body + 2 * i)) / 32768.0f;
      }
      return samples;
    }
    pos += 8 + size + (size & 1);
  }
  throw std::runtime_error(path + ": no data chunk");
}

// The mel filterbank stored after the ggml header: int32 n_mel, int32 n_fft, floats.
std::vector<float> read_mel_filters(const std::string& model_path, int* n_mel, int* n_fft) {
  std::ifstream in(model_path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + model_path);
  in.seekg(48);
  int32_t dims[2];
  in.read(reinterpret_cast<char*>(dims), sizeof(dims));
  if (!in || dims[0] <= 0 || dims[0] > 512 || dims[1] <= 0 || dims[1] > 4096) {
    throw std::runtime_error(model_path + ": bad mel filter header");
  }
  std::vector<float> filters(static_cast<size_t>(dims[0]) * dims[1]);
  in.read(reinterpret_cast<char*>(filters.data()), filters.size() * sizeof(float));
  if (!in) throw std::runtime_error(model_path + ": mel filters truncated");
  *n_mel = dims[0];
  *n_fft = dims[1];
  return filters;
}

std::vector<float> read_f32(const std::string& path) {
  const std::vector<char> bytes = read_bytes(path);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

// The value of "key" in a flat JSON object: the raw text after the colon.
std::string json_raw_field(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\"");
  if (at == std::string::npos) return "";
  size_t p = json.find(':', at) + 1;
  while (p < json.size() && std::isspace(static_cast<unsigned char>(json[p]))) ++p;
  if (p < json.size() && json[p] == '"') return json.substr(p + 1, json.find('"', p + 1) - p - 1);
  size_t end = p;
  while (end < json.size() && json[end] != ',' && json[end] != '}' && json[end] != '\n') ++end;
  return json.substr(p, end - p);
}

struct Filters {
  std::vector<float> values;
  int n_mel = 0, n_fft = 0;
};
const Filters& model_filters() {
  static const Filters filters = [] {
    Filters f;
    f.values = read_mel_filters(wn_test::shared_dir() + "/models/ggml-tiny.en-random.bin", &f.n_mel,
                                &f.n_fft);
    return f;
  }();
  return filters;
}

// --- references ---------------------------------------------------------------

std::vector<cd> naive_dft(const std::vector<cd>& x) {
  const size_t n = x.size();
  std::vector<cd> out(n);
  for (size_t k = 0; k < n; ++k) {
    cd sum = 0;
    for (size_t j = 0; j < n; ++j) {
      const double angle = -2.0 * kPi * static_cast<double>((j * k) % n) / static_cast<double>(n);
      sum += x[j] * cd(std::cos(angle), std::sin(angle));
    }
    out[k] = sum;
  }
  return out;
}

// Max |a - b| relative to the largest |b|.
double max_rel_diff(const cd* a, const std::vector<cd>& b, size_t count) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < count; ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / scale;
}

// The log10 mel values of frames [0, n_frames) exactly as the reference defines
// them, written out the slow way: build the padded and reflect-extended signal
// explicitly and take a naive DFT of every frame. out is [n_mel][n_frames].
std::vector<double> naive_log_mel_frames(const std::vector<float>& audio, int64_t n_frames) {
  const Filters& f = model_filters();
  std::vector<double> padded(audio.begin(), audio.end());
  padded.resize(audio.size() + wn::kWindowSamples, 0.0);
  const int64_t len = static_cast<int64_t>(padded.size());
  std::vector<double> extended;  // 200 reflected samples, the signal, 200 reflected samples
  for (int64_t i = -200; i < len + 200; ++i) {
    const int64_t j = i < 0 ? -i : (i >= len ? 2 * (len - 1) - i : i);
    extended.push_back(padded[static_cast<size_t>(j)]);
  }
  std::vector<double> out(static_cast<size_t>(f.n_mel * n_frames));
  for (int64_t t = 0; t < n_frames; ++t) {
    std::vector<cd> frame(400);
    for (int i = 0; i < 400; ++i) {
      const double hann = 0.5 - 0.5 * std::cos(2.0 * kPi * i / 400.0);
      frame[static_cast<size_t>(i)] = extended[static_cast<size_t>(t * 160 + i)] * hann;
    }
    const std::vector<cd> spectrum = naive_dft(frame);
    for (int m = 0; m < f.n_mel; ++m) {
      double mel = 0;
      for (int k = 0; k < f.n_fft; ++k) {
        mel += f.values[static_cast<size_t>(m * f.n_fft + k)] * std::norm(spectrum[k]);
      }
      out[static_cast<size_t>(m * n_frames + t)] = std::log10(std::max(mel, 1e-10));
    }
  }
  return out;
}

std::vector<float> random_audio(size_t n, uint32_t seed, float amplitude) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-amplitude, amplitude);
  std::vector<float> audio(n);
  for (float& x : audio) x = dist(rng);
  return audio;
}

std::vector<float> mel_window(const wn::LogMelSpectrogram& mel, int64_t first_frame) {
  std::vector<float> out(static_cast<size_t>(mel.n_mels()) * wn::kWindowFrames);
  mel.window(first_frame, out.data());
  return out;
}

}  // namespace

// --- FFT ----------------------------------------------------------------------

TEST(complex_fft_matches_naive_dft) {
  std::mt19937 rng(1);
  std::normal_distribution<double> dist;
  for (int n : {1, 2, 3, 4, 5, 7, 8, 9, 16, 25, 27, 60, 75, 200, 243, 360, 400, 31 * 4}) {
    std::vector<cd> x(static_cast<size_t>(n));
    for (cd& v : x) v = cd(dist(rng), dist(rng));
    std::vector<cd> got(x.size());
    wn::ComplexFft(n).forward(x.data(), got.data());
    const double err = max_rel_diff(got.data(), naive_dft(x), x.size());
    if (err > 1e-13) std::printf("  complex n=%d: max rel err %.3g\n", n, err);
    CHECK(err <= 1e-13);
  }
}

TEST(real_fft_matches_naive_dft) {
  std::mt19937 rng(2);
  std::normal_distribution<double> dist;
  for (int n : {2, 4, 6, 16, 50, 60, 250, 400}) {
    wn::RealFft fft(n);
    std::vector<double> x(static_cast<size_t>(n));
    for (double& v : x) v = dist(rng);
    std::vector<cd> got(static_cast<size_t>(fft.bins())), scratch(fft.scratch_size());
    fft.forward(x.data(), got.data(), scratch.data());
    const double err =
        max_rel_diff(got.data(), naive_dft(std::vector<cd>(x.begin(), x.end())), got.size());
    if (err > 1e-13) std::printf("  real n=%d: max rel err %.3g\n", n, err);
    CHECK(err <= 1e-13);
  }
}

TEST(fft_rejects_unsupported_sizes) {
  CHECK_THROWS_CODE(wn::ComplexFft(0), wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(wn::ComplexFft(37), wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(wn::RealFft(25), wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(wn::RealFft(0), wn::ErrorCode::kInvalidArgument);
}

// --- log-mel against OpenAI -----------------------------------------------------

TEST(mel_matches_golden_for_every_clip) {
  const std::string golden_dir = wn_test::shared_dir() + "/golden";
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(golden_dir)) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  CHECK(names.size() >= 7);
  const Filters& f = model_filters();
  for (const std::string& name : names) {
    const std::vector<char> json_bytes = read_bytes(golden_dir + "/" + name + ".json");
    const std::string json(json_bytes.begin(), json_bytes.end());
    const std::string wav = json_raw_field(json, "wav");
    const std::string offset_text = json_raw_field(json, "offset_s");
    const double offset_s = offset_text.empty() ? 0.0 : std::stod(offset_text);
    CHECK(!wav.empty());

    const std::vector<float> audio = read_wav(wn_test::shared_dir() + "/audio/" + wav);
    const std::vector<float> expected = read_f32(golden_dir + "/" + name + ".mel.f32");
    wn::LogMelSpectrogram mel(audio.data(), audio.size(), f.values, f.n_mel, f.n_fft, nullptr);
    const std::vector<float> got =
        mel_window(mel, wn::LogMelSpectrogram::window_offset_frames(offset_s));
    CHECK(got.size() == expected.size());
    if (got.size() != expected.size()) continue;

    double sq_diff = 0, sq_ref = 0, max_abs = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double d = static_cast<double>(got[i]) - expected[i];
      sq_diff += d * d;
      sq_ref += static_cast<double>(expected[i]) * expected[i];
      max_abs = std::max(max_abs, std::fabs(d));
    }
    const double rel_rms = std::sqrt(sq_diff / sq_ref);
    std::printf("  %-32s offset %5.1f s  rel RMS %.3e  max abs %.3e\n", name.c_str(), offset_s,
                rel_rms, max_abs);
    CHECK(rel_rms <= 1e-5);
    CHECK(max_abs <= 1e-3);
  }
}

// --- edge cases ---------------------------------------------------------------

// Short signals exercise the reflect padding at the start (it reads into the zero
// padding when n < 200) and give frames that mix audio and padding.
TEST(mel_matches_naive_reference_for_short_audio) {
  const Filters& f = model_filters();
  for (size_t n : {size_t{1}, size_t{150}, size_t{199}, size_t{200}, size_t{401}, size_t{1234}}) {
    const std::vector<float> audio = random_audio(n, static_cast<uint32_t>(n), 0.5f);
    wn::LogMelSpectrogram mel(audio.data(), n, f.values, f.n_mel, f.n_fft, nullptr);
    // Frames past (n + 200) / 160 hold only padding; checking a few beyond that
    // covers the boundary. The rest of the padded signal is all zeros, so its
    // frames are log10(1e-10) = -10 and the global max is the max of these.
    const int64_t n_frames = static_cast<int64_t>(n + 200) / 160 + 4;
    const std::vector<double> ref = naive_log_mel_frames(audio, n_frames);
    const double ref_max = std::max(-10.0, *std::max_element(ref.begin(), ref.end()));
    CHECK_NEAR(mel.global_max(), ref_max, 1e-5);

    const std::vector<float> got = mel_window(mel, 0);
    double max_abs = 0;
    for (int m = 0; m < f.n_mel; ++m) {
      for (int64_t t = 0; t < n_frames; ++t) {
        const double clamped = std::max(ref[static_cast<size_t>(m * n_frames + t)], ref_max - 8);
        const double diff = got[static_cast<size_t>(m) * wn::kWindowFrames + t] - (clamped + 4) / 4;
        max_abs = std::max(max_abs, std::fabs(diff));
      }
      for (int64_t t = n_frames; t < wn::kWindowFrames; ++t) {
        CHECK(got[static_cast<size_t>(m) * wn::kWindowFrames + t] == mel.silence_value());
      }
    }
    if (max_abs > 1e-5) std::printf("  n=%zu: max abs diff %.3g\n", n, max_abs);
    CHECK(max_abs <= 1e-5);
  }
}

TEST(mel_of_empty_audio_is_uniform_silence) {
  const Filters& f = model_filters();
  wn::LogMelSpectrogram mel(nullptr, 0, f.values, f.n_mel, f.n_fft, nullptr);
  CHECK(mel.content_frames() == 0);
  CHECK(mel.total_frames() == 3000);
  CHECK_NEAR(mel.global_max(), -10.0, 1e-6);
  const std::vector<float> got = mel_window(mel, 0);
  for (float v : got) CHECK(v == got[0]);
  CHECK_NEAR(got[0], (-10.0 + 4.0) / 4.0, 1e-6);
}

TEST(mel_window_past_the_end_is_silence) {
  const Filters& f = model_filters();
  const std::vector<float> audio = random_audio(16000 * 3, 7, 0.3f);
  wn::LogMelSpectrogram mel(audio.data(), audio.size(), f.values, f.n_mel, f.n_fft, nullptr);
  CHECK(mel.content_frames() == 300);
  CHECK(mel.total_frames() == 3300);
  // The clamp floor sits above -10 for loud audio, so silence is the floor itself.
  CHECK_NEAR(mel.silence_value(), (mel.global_max() - 8.0 + 4.0) / 4.0, 1e-6);
  for (int64_t start : {mel.total_frames(), mel.total_frames() + 123456, INT64_MAX}) {
    const std::vector<float> got = mel_window(mel, start);
    for (float v : got) CHECK(v == mel.silence_value());
  }
  // A window straddling the end: audio frames first, then only silence.
  const std::vector<float> got = mel_window(mel, 200);
  CHECK(got[0] != mel.silence_value());
  for (int m = 0; m < f.n_mel; ++m) {
    for (int t = 110; t < wn::kWindowFrames; ++t) {
      CHECK(got[static_cast<size_t>(m) * wn::kWindowFrames + t] == mel.silence_value());
    }
  }
}

TEST(mel_with_thread_pool_equals_serial) {
  const Filters& f = model_filters();
  const std::vector<float> audio = read_wav(wn_test::shared_dir() + "/audio/jfk.wav");
  wn::ThreadPool pool(2);
  wn::LogMelSpectrogram serial(audio.data(), audio.size(), f.values, f.n_mel, f.n_fft, nullptr);
  wn::LogMelSpectrogram pooled(audio.data(), audio.size(), f.values, f.n_mel, f.n_fft, &pool);
  CHECK(serial.global_max() == pooled.global_max());
  for (int64_t start : {int64_t{0}, int64_t{550}}) {
    const std::vector<float> a = mel_window(serial, start), b = mel_window(pooled, start);
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  }
}

// Int16 audio is widened as it is read (AudioSamples): the same spectrogram,
// bit for bit, as its floats widened up front, also where frames reflect
// about the audio's ends (short audio, the first and last frames).
TEST(mel_of_int16_samples_equals_mel_of_their_floats) {
  const Filters& f = model_filters();
  wn::ThreadPool pool(2);
  std::vector<float> jfk = read_wav(wn_test::shared_dir() + "/audio/jfk.wav");
  std::vector<float> noise = random_audio(1000, 5, 0.5f);
  for (std::vector<float>* audio : {&jfk, &noise}) {
    std::vector<int16_t> s16(audio->size());
    for (size_t i = 0; i < s16.size(); ++i) {
      s16[i] = static_cast<int16_t>(
          std::lround(std::clamp((*audio)[i], -1.0f, 32767.0f / 32768) * 32768));
      (*audio)[i] = wn::AudioSamples::widen(s16[i]);
    }
    wn::LogMelSpectrogram floats(audio->data(), audio->size(), f.values, f.n_mel, f.n_fft, &pool);
    wn::LogMelSpectrogram int16(wn::AudioSamples::of_int16(s16.data(), s16.size()), f.values,
                                f.n_mel, f.n_fft, &pool);
    CHECK(floats.global_max() == int16.global_max());
    for (int64_t start : {int64_t{0}, int64_t{3}, int64_t{550}}) {
      const std::vector<float> a = mel_window(floats, start), b = mel_window(int16, start);
      CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    }
  }
  // Each sample widened as the binding once widened a copy: value / 32768.
  for (int v : {-32768, -1, 0, 1, 12345, 32767}) {
    CHECK(wn::AudioSamples::widen(static_cast<int16_t>(v)) == static_cast<float>(v) / 32768.0f);
  }
  CHECK_THROWS_CODE(wn::LogMelSpectrogram(wn::AudioSamples::of_int16(nullptr, 10), f.values,
                                          f.n_mel, f.n_fft, nullptr),
                    wn::ErrorCode::kInvalidArgument);
}

// Floats that are 16-bit steps narrow to the int16 they hold, and widen back
// to the same bits; anything else is refused at its first value.
TEST(floats_of_16_bit_steps_narrow_to_int16_and_back) {
  // 21 values: two blocks of the vector path (8 each) and a scalar tail.
  std::vector<float> steps;
  for (int rep = 0; rep < 3; ++rep) {
    for (int v : {-32768, -12345, -1, 0, 1, 255, 32767}) steps.push_back(v / 32768.0f);
  }
  std::vector<int16_t> out(steps.size());
  CHECK(wn::narrow_to_int16(steps.data(), steps.size(), out.data()));
  for (size_t i = 0; i < steps.size(); ++i) {
    const float back = wn::AudioSamples::widen(out[i]);
    CHECK(std::memcmp(&back, &steps[i], sizeof back) == 0);
  }
  // Between steps, 1.0 (one past the last step), -0 (would come back +0),
  // NaN, infinity: each refused, wherever it is.
  for (float bad : {0.5f / 32768, 1.0f, -1.0f - 1.0f / 32768, -0.0f, std::nanf(""), INFINITY,
                    -INFINITY, 1e30f}) {
    for (size_t at : {size_t{3}, size_t{12}, size_t{20}}) {
      std::vector<float> audio = steps;
      audio[at] = bad;
      CHECK(!wn::narrow_to_int16(audio.data(), audio.size(), out.data()));
    }
  }
  CHECK(wn::narrow_to_int16(nullptr, 0, nullptr));
  // A WAV file's samples (16-bit PCM read as value / 32768) are all steps.
  const std::vector<float> jfk = read_wav(wn_test::shared_dir() + "/audio/jfk.wav");
  std::vector<int16_t> s16(jfk.size());
  CHECK(wn::narrow_to_int16(jfk.data(), jfk.size(), s16.data()));
}

TEST(mel_rejects_bad_input) {
  const Filters& f = model_filters();
  std::vector<float> audio = random_audio(1000, 3, 0.1f);
  audio[500] = std::nanf("");
  CHECK_THROWS_CODE(
      wn::LogMelSpectrogram(audio.data(), audio.size(), f.values, f.n_mel, f.n_fft, nullptr),
      wn::ErrorCode::kInvalidAudio);
  audio[500] = INFINITY;
  CHECK_THROWS_CODE(
      wn::LogMelSpectrogram(audio.data(), audio.size(), f.values, f.n_mel, f.n_fft, nullptr),
      wn::ErrorCode::kInvalidAudio);
  audio[500] = 0.0f;
  CHECK_THROWS_CODE(
      wn::LogMelSpectrogram(audio.data(), audio.size(), f.values, f.n_mel, 200, nullptr),
      wn::ErrorCode::kInvalidArgument);
  const std::vector<float> short_filters(f.values.begin(), f.values.end() - 1);
  CHECK_THROWS_CODE(
      wn::LogMelSpectrogram(audio.data(), audio.size(), short_filters, f.n_mel, f.n_fft, nullptr),
      wn::ErrorCode::kInvalidArgument);
  wn::LogMelSpectrogram mel(audio.data(), audio.size(), f.values, f.n_mel, f.n_fft, nullptr);
  std::vector<float> out(static_cast<size_t>(f.n_mel) * wn::kWindowFrames);
  CHECK_THROWS_CODE(mel.window(-1, out.data()), wn::ErrorCode::kInvalidArgument);
}

// Pass 1 (the global max over all the audio, ~340 ms for 20 minutes) polls the
// caller's flag between its chunks of frames: a raised flag stops it, on the
// pool or not, and a lowered one changes nothing.
TEST(mel_pass_over_the_audio_polls_the_cancellation_flag) {
  const Filters& f = model_filters();
  const std::vector<float> audio = random_audio(size_t{5} * 60 * wn::kSampleRate, 11, 0.3f);
  wn::ThreadPool pool(2);
  wn::CancellationFlag raised, lowered;
  raised.cancel();
  for (wn::ThreadPool* p : {static_cast<wn::ThreadPool*>(nullptr), &pool}) {
    CHECK_THROWS_CODE(
        wn::LogMelSpectrogram(audio.data(), audio.size(), f.values, f.n_mel, f.n_fft, p, &raised),
        wn::ErrorCode::kAborted);
    wn::LogMelSpectrogram with_flag(audio.data(), audio.size(), f.values, f.n_mel, f.n_fft, p,
                                    &lowered);
    wn::LogMelSpectrogram without(audio.data(), audio.size(), f.values, f.n_mel, f.n_fft, p);
    CHECK(with_flag.global_max() == without.global_max());
  }
}

TEST(window_offset_frames_rounds_to_frames) {
  CHECK(wn::LogMelSpectrogram::window_offset_frames(0.0) == 0);
  CHECK(wn::LogMelSpectrogram::window_offset_frames(30.0) == 3000);
  CHECK(wn::LogMelSpectrogram::window_offset_frames(12.344) == 1234);
  CHECK(wn::LogMelSpectrogram::window_offset_frames(12.346) == 1235);
}

int main() {
  return wn_test::run_all();
}
