// LoadOptions::low_memory: the encoder's matrices stay in the mapped file and
// are packed for each encode. On the random tiny.en and every kernel path, a
// low-memory model's encoder output and logits are bit for bit the default
// model's (f16, and quantized files); after an encode the file's pages are not
// resident in this process; a file truncated or rewritten on disk after load
// makes the next encode throw kModelChanged instead of faulting, while a file
// replaced by rename is fine.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/model/decoder.h"
#include "engine/model/encoder.h"
#include "engine/model/model.h"
#include "format_test_util.h"
#include "ggml_test_writer.h"
#include "tests/check.h"
#include "tests/kernel_test_util.h"
#include "tests/process_memory.h"

using wn::GgmlType;
using wn::kernels::Isa;

namespace {

std::shared_ptr<const wn::Model> load(const std::string& path, Isa isa, bool low_memory) {
  wn::LoadOptions options;
  options.threads = 2;
  options.isa = isa;
  options.low_memory = low_memory;
  return wn::Model::load(path, options);
}

struct Outputs {
  std::vector<float> encoded, logits;
};

// The encoder on `mel` (twice: the second encode packs from the file again),
// then teacher-forced logits on that output.
Outputs run(const wn::Model& model, const std::vector<float>& mel) {
  const wn::HParams& hp = model.hparams();
  Outputs o;
  o.encoded.resize(size_t(hp.n_audio_ctx) * hp.n_audio_state);
  wn::Encoder encoder(model);
  encoder.encode(mel.data(), o.encoded.data());
  std::vector<float> again(o.encoded.size());
  encoder.encode(mel.data(), again.data());
  CHECK(again == o.encoded);
  const std::vector<int32_t> tokens = {50257, 50363, 220, 383, 1000, 2000, 30000, 50256};
  wn::Decoder decoder(model);
  decoder.set_audio(o.encoded.data());
  const float* l = decoder.forward(tokens.data(), (int)tokens.size(), /*all_logits=*/true);
  o.logits.assign(l, l + tokens.size() * size_t(hp.n_vocab));
  return o;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Both loads of one file on one path, compared.
void check_equal_modes(const std::string& path, Isa isa, const std::vector<float>& mel,
                       const char* what) {
  const auto normal = load(path, isa, false);
  const auto low = load(path, isa, true);
  CHECK(!normal->low_memory() && low->low_memory());
  // The encoder's matrices and positional embedding are left in the file.
  CHECK(low->conv1.in_file() && low->conv2.in_file() && low->enc_pos.empty());
  CHECK(low->enc_blocks[3].qkv[5].in_file() && low->enc_blocks[0].fc2.in_file());
  CHECK(!normal->conv1.in_file() && !normal->enc_blocks[0].fc1.in_file());
  const Outputs a = run(*normal, mel);
  const Outputs b = run(*low, mel);
  const double saved = (double)normal->weight_bytes() - (double)low->weight_bytes();
  std::printf("  %-8s %-7s weights %.1f MB default, %.1f MB low memory; encoder %s, logits %s\n",
              what, wn::kernels::isa_name(isa), normal->weight_bytes() / 1e6,
              low->weight_bytes() / 1e6, same_bits(a.encoded, b.encoded) ? "equal" : "DIFFER",
              same_bits(a.logits, b.logits) ? "equal" : "DIFFER");
  CHECK(same_bits(a.encoded, b.encoded));
  CHECK(same_bits(a.logits, b.logits));
  CHECK(saved > 0.15 * normal->weight_bytes());  // the encoder's share (22 % for f16 tiny)
}

TEST(low_memory_equals_default_on_every_path) {
  const std::vector<float> mel = wn_test::golden_mel();
  for (Isa isa : wn_test::supported_isas()) {
    check_equal_modes(wn_test::real_model_path(), isa, mel, "f16");
  }
}

TEST(quantized_low_memory_equals_its_default) {
  if (!wn_test::real_model()) return;
  const std::vector<float> mel = wn_test::golden_mel();
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ5_1, GgmlType::kQ4_0}) {
    const wn_test::ScratchFile file(
        "low-memory-quantized", wn_test::quantize_model(*wn_test::real_model(), type).quantized);
    CHECK(file.ok());
    // The best path, and the portable one for the published types.
    std::vector<Isa> isas = {wn::kernels::best_isa()};
    if (type != GgmlType::kQ4_0) isas.push_back(Isa::kGeneric);
    for (Isa isa : isas) check_equal_modes(file.path(), isa, mel, wn::ggml_type_name(type));
  }
}

// Rss of the mapping that holds `address`, from /proc/self/smaps; -1 if none.
long long mapping_rss_bytes(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const uintptr_t at = reinterpret_cast<uintptr_t>(address);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long long begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx ", &begin, &end) == 2) {  // a mapping's first line
      inside = at >= begin && at < end;
      continue;
    }
    if (inside && line.rfind("Rss:", 0) == 0) return std::stoll(line.substr(4)) * 1024;
  }
  return -1;
}

TEST(encoder_file_pages_are_not_resident_after_an_encode) {
  if (wn_test::resident_bytes() < 0) {
    std::printf("  skipped: no /proc/self/smaps\n");
    return;
  }
  const auto model = load(wn_test::real_model_path(), wn::kernels::best_isa(), true);
  const void* weights = model->enc_blocks[2].fc1.parts[0].data;
  const long long after_load = mapping_rss_bytes(weights);
  std::vector<float> out(size_t(1500) * 384);
  wn::Encoder encoder(*model);
  encoder.encode(wn_test::golden_mel().data(), out.data());
  const long long after_encode = mapping_rss_bytes(weights);
  std::printf(
      "  the model file's mapping: %.0f kB resident after load, %.0f kB after an encode "
      "(the encoder read 17 MB of it)\n",
      after_load / 1e3, after_encode / 1e3);
  CHECK(after_load >= 0 && after_load < 64 * 1024);
  CHECK(after_encode >= 0 && after_encode < 64 * 1024);
}

TEST(a_file_changed_on_disk_throws_model_changed) {
  const wn_test::ScratchFile copy("low-memory-truncated", wn_test::real_model_path());
  CHECK(copy.ok());
  if (!copy.ok()) return;
  const auto model = load(copy.path(), wn::kernels::best_isa(), true);
  const std::vector<float> mel = wn_test::golden_mel();
  std::vector<float> out(size_t(1500) * 384);
  wn::Encoder encoder(*model);
  encoder.encode(mel.data(), out.data());  // unchanged: fine
  std::filesystem::resize_file(copy.path(), std::filesystem::file_size(copy.path()) / 2);
  CHECK_THROWS_CODE(encoder.encode(mel.data(), out.data()), wn::ErrorCode::kModelChanged);
  const std::string message =
      wn_test::error_message([&] { wn::Encoder(*model).encode(mel.data(), out.data()); });
  CHECK(message.find(copy.path()) != std::string::npos);
  CHECK(message.find("lowMemory") != std::string::npos);
  std::printf("  %s\n", message.c_str());
  // Still alive, and a default model never rereads its file.
  const auto normal = load(wn_test::real_model_path(), wn::kernels::best_isa(), false);
  CHECK(normal->low_memory() == false);
}

TEST(a_file_rewritten_in_place_throws_and_one_replaced_by_rename_does_not) {
  const wn_test::ScratchFile rewritten("low-memory-rewritten", wn_test::real_model_path());
  const wn_test::ScratchFile replaced("low-memory-replaced", wn_test::real_model_path());
  const wn_test::ScratchFile replacement("low-memory-replacement", wn_test::real_model_path());
  CHECK(rewritten.ok() && replaced.ok() && replacement.ok());
  const auto a = load(rewritten.path(), wn::kernels::best_isa(), true);
  const auto b = load(replaced.path(), wn::kernels::best_isa(), true);
  const std::vector<float> mel = wn_test::golden_mel();
  std::vector<float> expected(size_t(1500) * 384), out(expected.size());
  wn::Encoder(*b).encode(mel.data(), expected.data());
  // Same size, new contents and modification time.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::fstream f(rewritten.path(), std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(1 << 20);
    f.write("rewritten", 9);
  }
  CHECK_THROWS_CODE(wn::Encoder(*a).encode(mel.data(), out.data()), wn::ErrorCode::kModelChanged);
  // A new file renamed over the path: the model keeps the one it mapped.
  std::filesystem::rename(replacement.path(), replaced.path());
  wn::Encoder(*b).encode(mel.data(), out.data());
  CHECK(same_bits(out, expected));
}

}  // namespace

int main() {
  return wn_test::run_all();
}
