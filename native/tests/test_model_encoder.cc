// The encoder's guards: a model whose n_audio_ctx does not fit Whisper's 30 s
// window is refused before anything reads the window, and a raised
// cancellation flag stops the encoder inside a block (between head groups,
// between the attention and the MLP, between MLP row chunks), not only
// between blocks.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "engine/core/cancel.h"
#include "engine/core/error.h"
#include "engine/model/encoder.h"
#include "engine/model/model.h"
#include "format_test_util.h"
#include "ggml_test_writer.h"

namespace wn {

// Encoder's friend (encoder.h): runs one step of an encode alone, with the
// flag encode() would have stored for it.
struct EncoderTestAccess {
  template <typename Step>
  static void run(Encoder& e, const CancellationFlag* cancel, Step step) {
    e.cancel_ = cancel;
    try {
      step();
    } catch (...) {
      e.cancel_ = nullptr;
      throw;
    }
    e.cancel_ = nullptr;
  }
  static void stem(Encoder& e, const float* mel, float* x, const CancellationFlag* cancel) {
    run(e, cancel, [&] { e.stem(mel, x); });
  }
  static void block(Encoder& e, const EncoderBlock& b, float* x, const CancellationFlag* cancel) {
    run(e, cancel, [&] { e.block(b, x); });
  }
  static void attention(Encoder& e, const EncoderBlock& b, float* x,
                        const CancellationFlag* cancel) {
    run(e, cancel, [&] { e.attention(b, x); });
  }
  static void mlp(Encoder& e, const EncoderBlock& b, float* x, const CancellationFlag* cancel) {
    run(e, cancel, [&] { e.mlp(b, x); });
  }
};

}  // namespace wn

namespace {

using wn::EncoderTestAccess;
using wn::ErrorCode;

std::shared_ptr<const wn::Model> load_test_model(const wn_test::Header& header) {
  wn::LoadOptions options;
  options.threads = 2;
  return wn::Model::load(wn::parse_model_file(wn::FileBytes::from_buffer(
                             wn_test::write_test_model(wn_test::make_test_model(header)))),
                         options);
}

// The tests' small model (n_audio_ctx 6) loads, as it must for the tests
// that never encode; an Encoder over it would have read 2 x 6 frames of a
// 3000-frame window, and one with n_audio_ctx 2000 4000 frames (past its end).
TEST(an_encoder_refuses_a_model_whose_audio_ctx_is_not_1500) {
  for (int32_t n_audio_ctx : {6, 2000}) {
    wn_test::Header h = wn_test::tiny_test_model().header;
    h[wn_test::kNAudioCtx] = n_audio_ctx;
    const auto model = load_test_model(h);
    CHECK(model->hparams().n_audio_ctx == n_audio_ctx);
    CHECK_THROWS_CODE(wn::Encoder(*model), ErrorCode::kModelFormat);
    CHECK_THROWS_CODE(wn::Encoder::scratch_floats(*model), ErrorCode::kModelFormat);
    const std::string message = wn_test::error_message([&] { wn::Encoder encoder(*model); });
    CHECK(wn_test::contains(message, "n_audio_ctx is " + std::to_string(n_audio_ctx)));
    CHECK(wn_test::contains(message, "1500 audio positions"));
  }
}

// d 64 in 2 heads, one block each side, n_audio_ctx 1500: 2 head groups of
// one head, 7 MLP chunks of up to 240 rows.
std::shared_ptr<const wn::Model> one_block_model() {
  return load_test_model({20, 1500, 64, 2, 1, 5, 64, 2, 1, 80, 1});
}

std::vector<float> pattern(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.01f * static_cast<float>(static_cast<int>(i % 23) - 11);
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A raised flag stops each step of an encode at its first poll, before it
// writes to the residual stream: the stem, a block, its attention (before the
// first head group) and its MLP (between the attention and the MLP, before
// the first row chunk). Polled only between blocks, each ran to its end.
TEST(a_raised_flag_stops_the_encoder_inside_a_block) {
  const auto model = one_block_model();
  const wn::HParams& hp = model->hparams();
  wn::Encoder encoder(*model, nullptr, /*heads_per_group=*/1);
  const wn::EncoderBlock& b = model->enc_blocks[0];
  const std::vector<float> mel = pattern(size_t(hp.n_mels) * 2 * hp.n_audio_ctx);
  const std::vector<float> start = pattern(size_t(hp.n_audio_ctx) * hp.n_audio_state);
  wn::CancellationFlag raised, lowered;
  raised.cancel();

  std::vector<float> x = start;
  CHECK_THROWS_CODE(EncoderTestAccess::stem(encoder, mel.data(), x.data(), &raised),
                    ErrorCode::kAborted);
  CHECK(same_bits(x, start));
  CHECK_THROWS_CODE(EncoderTestAccess::block(encoder, b, x.data(), &raised), ErrorCode::kAborted);
  CHECK(same_bits(x, start));
  CHECK_THROWS_CODE(EncoderTestAccess::attention(encoder, b, x.data(), &raised),
                    ErrorCode::kAborted);
  CHECK(same_bits(x, start));
  CHECK_THROWS_CODE(EncoderTestAccess::mlp(encoder, b, x.data(), &raised), ErrorCode::kAborted);
  CHECK(same_bits(x, start));

  // A lowered flag (or none) changes nothing: the block runs, the same
  // bits either way.
  EncoderTestAccess::block(encoder, b, x.data(), &lowered);
  CHECK(!same_bits(x, start));
  std::vector<float> again = start;
  EncoderTestAccess::block(encoder, b, again.data(), nullptr);
  CHECK(same_bits(again, x));
}

// The whole encode: a raised flag throws, a lowered one gives the output of
// no flag at all.
TEST(encode_with_a_lowered_flag_equals_encode_without) {
  const auto model = one_block_model();
  const wn::HParams& hp = model->hparams();
  const std::vector<float> mel = pattern(size_t(hp.n_mels) * 2 * hp.n_audio_ctx);
  std::vector<float> with_flag(size_t(hp.n_audio_ctx) * hp.n_audio_state);
  std::vector<float> without(with_flag.size());
  wn::CancellationFlag raised, lowered;
  raised.cancel();
  wn::Encoder encoder(*model);
  CHECK_THROWS_CODE(encoder.encode(mel.data(), with_flag.data(), &raised), ErrorCode::kAborted);
  encoder.encode(mel.data(), with_flag.data(), &lowered);
  encoder.encode(mel.data(), without.data());
  CHECK(same_bits(with_flag, without));
}

// At medium's width (d 1024) every row layout the encoder makes itself (the
// LayerNorm and attention outputs, d; conv2's patches, 3d; the MLP's hidden
// rows, 4d) would put its rows 4 KiB apart, so each is padded by a cache line
// (padded_stride in encoder.cc). Where rows lie must change no bit of the
// output: the same encode with the padding turned off (the golden tests'
// tiny model is never padded) gives the same floats.
TEST(rows_padded_against_cache_aliasing_give_the_same_bits) {
  const auto model = load_test_model({20, 1500, 1024, 16, 1, 5, 1024, 16, 1, 80, 1});
  const wn::HParams& hp = model->hparams();
  const std::vector<float> mel = pattern(size_t(hp.n_mels) * 2 * hp.n_audio_ctx);
  std::vector<float> padded_out(size_t(hp.n_audio_ctx) * hp.n_audio_state);
  std::vector<float> plain_out(padded_out.size());
  wn::Encoder padded(*model);
  const size_t padded_bytes = padded.scratch_bytes();
  struct PadAgainOnExit {
    ~PadAgainOnExit() { wn::internal::encoder_pads_rows = true; }
  } pad_again;
  wn::internal::encoder_pads_rows = false;
  wn::Encoder plain(*model);
  // d + 16 floats per row of h and attn, 4d + 16 per hidden row, 3d + 16 per patch row.
  CHECK(padded_bytes > plain.scratch_bytes() + 2 * 1500 * 16 * sizeof(float));
  padded.encode(mel.data(), padded_out.data());
  plain.encode(mel.data(), plain_out.data());
  CHECK(same_bits(padded_out, plain_out));
  // Not a degenerate output that any layout would give.
  const auto [lo, hi] = std::minmax_element(plain_out.begin(), plain_out.end());
  CHECK(*lo < -0.1f && *hi > 0.1f);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
