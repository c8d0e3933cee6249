// The transient memory of a transcription, on the random tiny.en: the encoder
// gives the same output for any number of heads per group and from its own
// mel buffer, and its scratch fits in the decoder's cross K/V; the decoder
// computes the same logits from its audio buffer as from outside memory, and
// its self-attention caches take memory only for the positions reached.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "engine/model/decoder.h"
#include "engine/model/encoder.h"
#include "engine/model/model.h"
#include "tests/check.h"
#include "tests/process_memory.h"

namespace {

std::string model_path() {
  return wn_test::shared_dir() + "/models/ggml-tiny.en-random.bin";
}

std::shared_ptr<const wn::Model> load_model() {
  wn::LoadOptions options;
  options.threads = 2;
  return wn::Model::load(model_path(), options);
}

std::vector<float> encode(const wn::Model& model, const std::vector<float>& mel,
                          int heads_per_group) {
  std::vector<float> out(size_t(1500) * 384);
  wn::Encoder(model, nullptr, heads_per_group).encode(mel.data(), out.data());
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(encoder_output_is_the_same_for_any_heads_per_group_and_from_its_mel_buffer) {
  const auto model = load_model();
  const std::vector<float> mel = wn_test::golden_mel();
  const std::vector<float> one = encode(*model, mel, 1);
  for (int group : {2, 3, 6}) CHECK(same_bits(encode(*model, mel, group), one));
  wn::Encoder encoder(*model);
  std::memcpy(encoder.mel_buffer(), mel.data(), mel.size() * sizeof(float));
  std::vector<float> out(one.size());
  encoder.encode(encoder.mel_buffer(), out.data());
  CHECK(same_bits(out, one));
  CHECK_THROWS_CODE(wn::Encoder(*model, nullptr, 4), wn::ErrorCode::kInvalidArgument);
}

// What lets a transcription's window memory be the cross K/V's size: the
// encoder's scratch at one head per group is smaller (all six heads' q/k/v
// at once would not be).
TEST(encoder_scratch_fits_in_the_cross_kv) {
  const auto model = load_model();
  const size_t cross = (wn::Decoder::cross_kv_halves(*model) + 1) / 2;
  const size_t one = wn::Encoder::scratch_floats(*model, 1);
  const int group = wn::Encoder::heads_per_group_within(*model, cross);
  std::printf(
      "  cross K/V %.1f MB; encoder scratch %.1f MB (1 head per group), %.1f MB (%d), %.1f MB "
      "(6)\n",
      cross * 4e-6, one * 4e-6, wn::Encoder::scratch_floats(*model, group) * 4e-6, group,
      wn::Encoder::scratch_floats(*model, 6) * 4e-6);
  CHECK(one < cross);
  CHECK(group >= 1 && 6 % group == 0 && wn::Encoder::scratch_floats(*model, group) <= cross);
  CHECK(wn::Encoder::scratch_floats(*model, 6) > cross);
  CHECK(wn::Encoder::heads_per_group_within(*model, one) == 1);
}

TEST(decoder_reads_its_audio_buffer_like_outside_memory) {
  const auto model = load_model();
  const std::vector<float> encoded = encode(*model, wn_test::golden_mel(), 1);
  const std::vector<int32_t> tokens = {50257, 50363, 220, 383, 1000};
  const int n_vocab = model->hparams().n_vocab;
  wn::Decoder outside(*model);
  outside.set_audio(encoded.data());
  const float* a = outside.forward(tokens.data(), (int)tokens.size(), /*all_logits=*/true);
  const std::vector<float> expected(a, a + tokens.size() * n_vocab);
  wn::Decoder inside(*model);
  inside.set_audio(encoded.data());
  inside.forward(tokens.data(), 2);
  float* buffer = inside.audio_buffer();
  CHECK(inside.n_past() == 0);  // the slots were cleared
  std::memcpy(buffer, encoded.data(), encoded.size() * sizeof(float));
  inside.set_audio(buffer);
  const float* b = inside.forward(tokens.data(), (int)tokens.size(), /*all_logits=*/true);
  CHECK(std::memcmp(b, expected.data(), expected.size() * sizeof(float)) == 0);
}

// Position-major caches: feeding the last 192 positions (256..447, past the
// memory the encoder output and set_audio() touch) adds about their rows,
// 192 x 4 layers x 2 x 384 floats = 2.4 MB; caches laid out per layer, or on
// huge pages, were resident in full after each layer's first token.
TEST(decoder_caches_take_memory_for_the_positions_reached) {
  if (wn_test::resident_bytes() < 0 || wn_test::kSanitizerShadowMemory) {
    std::printf("  skipped: no /proc/self/status, or a sanitizer (inflated RSS)\n");
    return;
  }
  const auto model = load_model();
  const std::vector<float> encoded(size_t(1500) * 384, 0.01f);
  std::vector<uint16_t> cross(wn::Decoder::cross_kv_halves(*model));
  wn::Decoder decoder(*model, 1, cross.data());
  decoder.set_audio(encoded.data());
  const std::vector<int32_t> tokens(256, 220);
  decoder.forward(tokens.data(), 256);
  const long long before = wn_test::resident_bytes();
  decoder.forward(tokens.data(), 192);
  const long long grown = wn_test::resident_bytes() - before;
  const double rows = 192 * 4.0 * 2 * 384 * sizeof(float);
  std::printf("  192 more positions: RSS +%.2f MB (their rows: %.2f MB)\n", grown / 1e6,
              rows / 1e6);
  CHECK(grown > rows * 0.85 && grown < rows * 1.2);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
