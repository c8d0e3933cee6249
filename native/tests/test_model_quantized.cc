// Quantized models end to end. The random tiny.en is re-written by the test
// quantizer (ggml_test_writer.h) with its matrices in each block type, and
// again with those matrices as f32 holding exactly the values the blocks stand
// for. On every kernel path, both load from disk, and the quantized model's
// encoder output (jfk's golden log-mel) and teacher-forced logits must match
// the f32 twin's to float-summation rounding, the argmax of every row must
// agree, its weights must take about the quantized file's bytes (no widened
// copy) and its load must not leave the file's pages resident.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "engine/model/model.h"
#include "format_test_util.h"
#include "ggml_test_writer.h"
#include "model_test_util.h"
#include "tests/check.h"
#include "tests/process_memory.h"

using wn::GgmlType;
using wn::kernels::Isa;

using wn_test::kSanitizerShadowMemory;
using wn_test::resident_bytes;

namespace {

// Summation order is the only difference between the two models: the
// quantized kernels compute with the exact dequantized weights.
constexpr double kTwinTol = 2e-6;

double rel_rms(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < a.size(); i++) {
    const double e = double(a[i]) - double(b[i]);
    err += e * e;
    ref += double(b[i]) * double(b[i]);
  }
  return std::sqrt(err / ref);
}

int argmax(const float* row, int n) {
  return static_cast<int>(std::max_element(row, row + n) - row);
}

std::vector<float> golden_mel() {
  const std::string path = wn_test::shared_dir() + "/golden/jfk.mel.f32";
  std::vector<float> mel(80 * 3000);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(mel.data()), mel.size() * sizeof(float));
  if (!in) mel.clear();
  return mel;
}

void check_type(GgmlType type, const std::vector<Isa>& isas, const std::vector<float>& mel) {
  wn_test::QuantizedPair pair = wn_test::quantize_model(*wn_test::real_model(), type);
  const wn_test::ScratchFile qfile("quantized", pair.quantized);
  const wn_test::ScratchFile ffile("dequantized-f32", pair.dequantized);
  CHECK(qfile.ok() && ffile.ok());
  const size_t file_bytes = pair.quantized.size();
  pair = wn_test::QuantizedPair();  // on disk now; the loads map the files
  const std::vector<int32_t>& tokens = wn_test::forced_tokens();
  const int n_vocab = 51864;
  for (Isa isa : isas) {
    wn::LoadOptions options;
    options.threads = 2;
    options.isa = isa;
    const long long rss_before = resident_bytes();
    const auto q = wn::Model::load(qfile.path(), options);
    const long long rss_after = resident_bytes();
    const auto f = wn::Model::load(ffile.path(), options);
    CHECK(q->tok_emb.type() == type);
    CHECK(q->dec_blocks[0].fc1.type() == type);
    CHECK(q->enc_blocks[3].qkv[0].packed.type() == type &&
          q->conv2.packed.type() == GgmlType::kF16);
    // The quantized blocks and the f32 vectors, as in the file (which also
    // holds the vocabulary and the filterbank): no dequantized copy.
    CHECK(q->weight_bytes() <= file_bytes && q->weight_bytes() > file_bytes * 95 / 100);
    if (rss_before > 0 && !kSanitizerShadowMemory) {
      CHECK(rss_after - rss_before < (long long)q->weight_bytes() * 5 / 4);
    }

    // The decoder compared alone: over the f32 twin's encoder output.
    const wn_test::ModelOutputs twin = wn_test::encode_and_logits(*f, mel);
    const wn_test::ModelOutputs ours = wn_test::encode_and_logits(*q, mel, &twin.encoded);
    const double enc_err = rel_rms(ours.encoded, twin.encoded);
    const double logit_err = rel_rms(ours.logits, twin.logits);
    int argmax_equal = 0;
    for (size_t i = 0; i < tokens.size(); i++) {
      argmax_equal +=
          argmax(&ours.logits[i * n_vocab], n_vocab) == argmax(&twin.logits[i * n_vocab], n_vocab);
    }
    std::printf(
        "  %s %-7s weights %.1f MB (file %.1f MB), RSS +%.1f MB at load; vs f32 twin: encoder "
        "rel RMS %.2g, logits %.2g, argmax %d/%zu\n",
        wn::ggml_type_name(type), wn::kernels::isa_name(isa), q->weight_bytes() / 1e6,
        file_bytes / 1e6, (rss_after - rss_before) / 1e6, enc_err, logit_err, argmax_equal,
        tokens.size());
    CHECK(enc_err <= kTwinTol);
    CHECK(logit_err <= kTwinTol);
    CHECK(argmax_equal == (int)tokens.size());
  }
}

// The portable path runs its encoder ~10x slower, and its quantized kernels
// are the reference dequantizer, the same code for every type
// (test_kernels_quant checks them all), so it runs the two published
// quantized types here; under an emulator (scripts/test-arm64.sh), none.
std::vector<Isa> isas_to_test(GgmlType type) {
  const bool generic = (type == GgmlType::kQ5_1 || type == GgmlType::kQ8_0) &&
                       std::getenv("WN_TEST_EMULATED") == nullptr;
  std::vector<Isa> out;
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
    if (isa == Isa::kGeneric && !generic) continue;
    if (wn::kernels::isa_supported(isa)) out.push_back(isa);
  }
  return out;
}

void check(GgmlType type) {
  if (!wn_test::real_model()) return;
  const std::vector<float> mel = golden_mel();
  CHECK(!mel.empty());
  if (!mel.empty()) check_type(type, isas_to_test(type), mel);
}

TEST(q4_0_model_matches_its_f32_twin) {
  check(GgmlType::kQ4_0);
}
TEST(q4_1_model_matches_its_f32_twin) {
  check(GgmlType::kQ4_1);
}
TEST(q5_0_model_matches_its_f32_twin) {
  check(GgmlType::kQ5_0);
}
TEST(q5_1_model_matches_its_f32_twin) {
  check(GgmlType::kQ5_1);
}
TEST(q8_0_model_matches_its_f32_twin) {
  check(GgmlType::kQ8_0);
}

// The header says which quantization version its blocks follow: the test
// quantizer writes 2 (q5_1: ftype 2009), as whisper.cpp does.
TEST(quantized_header_carries_the_version) {
  if (!wn_test::real_model()) return;
  const wn_test::QuantizedPair pair =
      wn_test::quantize_model(*wn_test::real_model(), GgmlType::kQ5_1);
  const wn::ModelFile file = wn_test::parse_bytes(pair.quantized);
  CHECK(file.hparams.ftype == 9 && file.hparams.qntvr == 2);
  CHECK(file.find("decoder.token_embedding.weight")->type == GgmlType::kQ5_1);
  CHECK(file.find("encoder.conv1.weight")->type == GgmlType::kF16);
  CHECK(file.find("encoder.positional_embedding")->type == GgmlType::kF32);
  CHECK(file.find("encoder.conv1.bias")->type == GgmlType::kF32);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
