// Model loading and the decoder's argument checks: load time and packed size
// (printed), the model's name and thread count, resident memory after packing
// (the mapped file must not stay resident next to the packed copy), and
// kInvalidArgument for bad options, token ids and context lengths.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/f16.h"
#include "engine/model/decoder.h"
#include "engine/model/model.h"
#include "tests/check.h"
#include "tests/process_memory.h"

using wn_test::kSanitizerShadowMemory;
using wn_test::resident_bytes;

namespace {

using wn::ErrorCode;

std::string model_path() {
  return wn_test::shared_dir() + "/models/ggml-tiny.en-random.bin";
}

// First in this file, so that no other load ran in the process before: a
// model that is loaded and freed leaves the process's memory as it found it.
// Heap blocks that loading allocates and frees at once are what can break
// this on glibc: freeing a big one raises the heap's mmap threshold, after
// which the next ones stay in the heap's free lists, resident (the stacked
// q|k|v copies once kept ~4 MB there). Within 2.5 MB: the heaps keep a
// little (~0.9 MB with glibc, ~1.8 MB under Wine).
TEST(a_freed_model_leaves_the_memory_as_it_found_it) {
  if (resident_bytes() < 0 || kSanitizerShadowMemory) {
    std::printf("  skipped: no /proc/self/status, or a sanitizer (inflated RSS)\n");
    return;
  }
  const long long before = resident_bytes();
  wn::LoadOptions options;
  options.threads = 2;
  auto model = wn::Model::load(model_path(), options);
  const long long loaded = resident_bytes();
  model.reset();
  const long long after = resident_bytes();
  std::printf("  RSS %.1f MB, loaded %.1f MB, freed %.1f MB\n", before / 1e6, loaded / 1e6,
              after / 1e6);
  CHECK(loaded - before > 70'000'000);
  CHECK(after - before < 2'500'000);
}

TEST(load_reports_name_size_and_time) {
  const long long rss_before = resident_bytes();
  wn::LoadOptions options;
  options.threads = 2;
  const auto t0 = std::chrono::steady_clock::now();
  const auto model = wn::Model::load(model_path(), options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long long rss_after = resident_bytes();
  std::printf("  load %.3f s (%s, %d threads), packed weights %.1f MB, RSS +%.1f MB\n", seconds,
              wn::kernels::isa_name(model->context().isa), model->pool().size(),
              model->weight_bytes() / 1e6, (rss_after - rss_before) / 1e6);
  CHECK(model->type_name() == "tiny.en");
  CHECK(!model->multilingual());
  CHECK(model->pool().size() == 2);
  CHECK(model->vocab().size() == 50257);
  CHECK(model->vocab()[50256] == "<|endoftext|>");
  CHECK(model->mel_filters().size() == size_t(80) * model->n_fft_bins());
  CHECK(model->enc_blocks.size() == 4 && model->dec_blocks.size() == 4);
  // f16 storage: 37.7M weights -> about 75 MB, plus f32 biases and embeddings.
  CHECK(model->weight_bytes() > 70'000'000 && model->weight_bytes() < 100'000'000);
  CHECK(model->tok_emb.n() == 51864 && model->tok_emb.k() == 384);
  CHECK(model->conv1.packed.n() == 384 && model->conv1.packed.k() == 80 * 3);
  // q, k and v per head (6 heads of 64).
  CHECK(model->enc_blocks[0].qkv.size() == 6);
  CHECK(model->enc_blocks[0].qkv[0].packed.n() == 3 * 64);
  CHECK(model->enc_blocks[0].qkv[0].packed.k() == 384);
  CHECK(model->dec_blocks[0].cross_kv.n() == 2 * 384);
  // The key has no bias: the k third of each head's stacked bias is zero.
  bool k_bias_zero = true, q_bias_nonzero = false;
  const std::vector<float>& bias = model->enc_blocks[1].qkv_bias;
  CHECK(bias.size() == 3 * 384);
  for (int h = 0; h < 6; h++) {
    for (int i = 0; i < 64; i++) {
      q_bias_nonzero |= bias[h * 192 + i] != 0.0f;
      k_bias_zero &= bias[h * 192 + 64 + i] == 0.0f;
    }
  }
  CHECK(k_bias_zero && q_bias_nonzero);
  // Packing releases the mapped pages: the file (78 MB) must not stay resident
  // beside the packed copy. (A sanitizer's shadow memory inflates RSS.)
  if (rss_before > 0 && !kSanitizerShadowMemory) {
    CHECK(rss_after - rss_before < (long long)model->weight_bytes() * 5 / 4);
  }
}

// Weights of several models share huge-page slabs; a model that is freed
// while another lives must still give its memory back.
TEST(freeing_one_of_two_models_returns_its_memory) {
  if (resident_bytes() < 0 || kSanitizerShadowMemory) {
    std::printf("  skipped: no /proc/self/status, or a sanitizer (inflated RSS)\n");
    return;
  }
  auto first = wn::Model::load(model_path(), wn::LoadOptions{});
  auto second = wn::Model::load(model_path(), wn::LoadOptions{});
  const long long both = resident_bytes();
  const long long weights = (long long)first->weight_bytes();
  first.reset();
  const long long one = resident_bytes();
  std::printf("  RSS with two models %.1f MB, after freeing one %.1f MB (weights %.1f MB)\n",
              both / 1e6, one / 1e6, weights / 1e6);
  CHECK(both - one > weights * 9 / 10);
  CHECK(second->tok_emb.n() == 51864);  // the other model is untouched
}

TEST(embedding_rows_match_the_file) {
  // tok_emb.row() is what embedding lookups read; compare against the widened
  // f16 source taken straight from the file.
  const wn::ModelFile file = wn::open_model_file(model_path());
  const wn::TensorView* t = file.find("decoder.token_embedding.weight");
  CHECK(t != nullptr);
  if (!t) return;
  const auto model = wn::Model::load(model_path(), wn::LoadOptions{});
  std::vector<float> row(384);
  for (int id : {0, 1, 220, 50256, 51863}) {
    model->tok_emb.row(id, row.data());
    bool equal = true;
    for (int c = 0; c < 384; c++) {
      uint16_t h;
      std::memcpy(&h, t->data + (size_t(id) * 384 + c) * 2, 2);
      equal &= row[c] == wn::f16_to_f32(h);
    }
    CHECK(equal);
  }
}

TEST(bad_options_throw) {
  wn::LoadOptions negative;
  negative.threads = -1;
  CHECK_THROWS_CODE(wn::Model::load(model_path(), negative), ErrorCode::kInvalidArgument);
  for (wn::kernels::Isa isa :
       {wn::kernels::Isa::kAvx2, wn::kernels::Isa::kAvx512, wn::kernels::Isa::kNeon}) {
    if (wn::kernels::isa_supported(isa)) continue;
    wn::LoadOptions unsupported;
    unsupported.isa = isa;
    CHECK_THROWS_CODE(wn::Model::load(model_path(), unsupported), ErrorCode::kInvalidArgument);
  }
  CHECK_THROWS_CODE(wn::Model::load(model_path() + ".missing", wn::LoadOptions{}),
                    ErrorCode::kModelNotFound);
}

TEST(a_raised_cancellation_flag_stops_a_load_before_or_while_it_packs) {
  wn::CancellationFlag raised;
  raised.cancel();
  wn::LoadOptions before;
  before.cancel = &raised;
  CHECK_THROWS_CODE(wn::Model::load(model_path(), before), ErrorCode::kAborted);
  // Raised while the packing jobs run (a load takes ~20 ms on 2 threads
  // here; the flag goes up after ~1 ms): the jobs not yet started are skipped.
  wn::CancellationFlag during;
  wn::LoadOptions options;
  options.threads = 2;
  options.cancel = &during;
  std::thread raiser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    during.cancel();
  });
  CHECK_THROWS_CODE(wn::Model::load(model_path(), options), ErrorCode::kAborted);
  raiser.join();
  // And the same flag, lowered (a new one), loads normally.
  wn::CancellationFlag lowered;
  options.cancel = &lowered;
  CHECK(wn::Model::load(model_path(), options) != nullptr);
}

TEST(decoder_rejects_bad_tokens_and_long_contexts) {
  wn::LoadOptions options;
  options.threads = 1;
  const auto model = wn::Model::load(model_path(), options);
  const wn::HParams& hp = model->hparams();
  wn::Decoder dec(*model);
  CHECK(dec.n_ctx() == 448);
  const int32_t sot = 50257;
  CHECK_THROWS_CODE(dec.forward(&sot, 1), ErrorCode::kInvalidArgument);  // no audio yet

  std::vector<float> encoded(size_t(hp.n_audio_ctx) * hp.n_audio_state, 0.25f);
  dec.set_audio(encoded.data());
  for (int32_t bad : {-1, hp.n_vocab, hp.n_vocab + 1000}) {
    const int32_t tokens[3] = {sot, bad, sot};
    CHECK_THROWS_CODE(dec.forward(tokens, 3), ErrorCode::kInvalidArgument);
    CHECK(dec.n_past() == 0);  // nothing was appended
  }
  CHECK_THROWS_CODE(dec.forward(&sot, 0), ErrorCode::kInvalidArgument);

  std::vector<int32_t> many(hp.n_text_ctx + 1, 220);
  CHECK_THROWS_CODE(dec.forward(many.data(), hp.n_text_ctx + 1), ErrorCode::kInvalidArgument);
  const float* logits = dec.forward(many.data(), hp.n_text_ctx - 2);
  CHECK(logits != nullptr && std::isfinite(logits[0]) && std::isfinite(logits[hp.n_vocab - 1]));
  CHECK(dec.n_past() == hp.n_text_ctx - 2);
  CHECK_THROWS_CODE(dec.forward(many.data(), 3), ErrorCode::kInvalidArgument);
  dec.forward(many.data(), 2);  // exactly fills the context
  CHECK(dec.n_past() == hp.n_text_ctx);
  CHECK_THROWS_CODE(dec.forward(&sot, 1), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(dec.truncate(hp.n_text_ctx + 1), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(dec.truncate(-1), ErrorCode::kInvalidArgument);
  dec.truncate(10);
  CHECK(dec.n_past() == 10);
  dec.reset();
  CHECK(dec.n_past() == 0);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
