// LoadOptions::low_memory: the encoder's matrices stay in the model file and
// are read (pread) and packed for each encode. On the random tiny.en and every
// kernel path, a low-memory model's encoder output and logits are bit for bit
// the default model's (f16, and quantized files); the model keeps no mapping
// of its file; a file truncated or rewritten on disk after load makes the
// next encode throw kModelChanged, and so does one truncated while encodes
// read it (a short read, where a mapping would raise SIGBUS), while a file
// replaced by rename is fine. FileReader's reads, on their own.
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
#include "model_test_util.h"
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

// encode_and_logits, after a first encode: the second packs from the file
// again (low memory), and must give the same output.
wn_test::ModelOutputs run(const wn::Model& model, const std::vector<float>& mel) {
  const wn_test::ModelOutputs o = wn_test::encode_and_logits(model, mel);
  std::vector<float> again(o.encoded.size());
  wn::Encoder(model).encode(mel.data(), again.data());
  CHECK(again == o.encoded);
  return o;
}

using wn_test::same_bits;

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
  const wn_test::ModelOutputs a = run(*normal, mel);
  const wn_test::ModelOutputs b = run(*low, mel);
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

// Whether /proc/self/maps has a mapping of the file at `path`.
bool file_is_mapped(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  const std::string name = std::filesystem::canonical(path).string();
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() >= name.size() &&
        line.compare(line.size() - name.size(), name.size(), name) == 0)
      return true;
  }
  return false;
}

TEST(a_low_memory_model_keeps_no_mapping_of_its_file) {
  if (!std::filesystem::exists("/proc/self/maps")) {
    std::printf("  skipped: no /proc/self/maps\n");
    return;
  }
  const wn_test::ScratchFile copy("low-memory-unmapped", wn_test::real_model_path());
  CHECK(copy.ok());
  const auto model = load(copy.path(), wn::kernels::best_isa(), true);
  const bool after_load = file_is_mapped(copy.path());
  std::vector<float> out(size_t(1500) * 384);
  wn::Encoder encoder(*model);
  encoder.encode(wn_test::golden_mel().data(), out.data());
  const bool after_encode = file_is_mapped(copy.path());
  std::printf("  the model file mapped: %s after load, %s after an encode\n",
              after_load ? "yes" : "no", after_encode ? "yes" : "no");
  CHECK(!after_load && !after_encode);
  CHECK(model->low_memory() && model->enc_blocks[2].fc1.parts[0].offset > 0);
}

TEST(file_reader_reads_the_open_file_and_reports_short_reads) {
  const std::vector<uint8_t> bytes = [] {
    std::vector<uint8_t> b(100000);
    for (size_t i = 0; i < b.size(); ++i) b[i] = (uint8_t)(i * 7 + i / 256);
    return b;
  }();
  for (bool on_disk : {true, false}) {
    const wn_test::ScratchFile file("file-reader", bytes);
    CHECK(file.ok());
    auto reader = wn::FileReader::open(on_disk ? wn::FileBytes::map_file(file.path())
                                               : wn::FileBytes::from_buffer(bytes));
    std::vector<uint8_t> got(5000);
    CHECK(reader->read_at(12345, got.data(), got.size()));
    CHECK(std::memcmp(got.data(), bytes.data() + 12345, got.size()) == 0);
    CHECK(reader->read_at(bytes.size() - 10, got.data(), 10));
    CHECK(!reader->read_at(bytes.size() - 10, got.data(), 11));  // past the end
    CHECK(!reader->read_at(bytes.size() + 1, got.data(), 1));
    CHECK(reader->read_at(bytes.size(), got.data(), 0));
    CHECK(reader->unchanged_on_disk());
    if (!on_disk) continue;
    // The mapping is gone (only the reader holds the file); the file is cut.
    if (!wn_test::try_resize(file.path(), 50000)) {
      CHECK(!wn_test::kFilesInUseWritable);  // Windows: a file in use stays whole
      CHECK(reader->unchanged_on_disk() && reader->read_at(60000, got.data(), 10));
      continue;
    }
    CHECK(!reader->unchanged_on_disk());
    CHECK(reader->read_at(40000, got.data(), 5000));
    CHECK(std::memcmp(got.data(), bytes.data() + 40000, 5000) == 0);
    CHECK(!reader->read_at(48000, got.data(), 5000));  // crosses the new end
    CHECK(!reader->read_at(60000, got.data(), 10));
  }
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
  if (!wn_test::try_resize(copy.path(), std::filesystem::file_size(copy.path()) / 2)) {
    // Windows: the file cannot change while the model holds it.
    CHECK(!wn_test::kFilesInUseWritable);
    encoder.encode(mel.data(), out.data());
    std::printf("  the OS refused to cut a model file in use\n");
    return;
  }
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
  if (wn_test::try_write_at(rewritten.path(), 1 << 20, "rewritten", 9)) {
    CHECK_THROWS_CODE(wn::Encoder(*a).encode(mel.data(), out.data()), wn::ErrorCode::kModelChanged);
  } else {
    CHECK(!wn_test::kFilesInUseWritable);  // Windows: refused while in use
    wn::Encoder(*a).encode(mel.data(), out.data());
    CHECK(same_bits(out, expected));
  }
  // A new file renamed over the path: the model keeps the one it opened.
  // (Windows may refuse to replace a file in use: then nothing changed.)
  const bool renamed = wn_test::try_rename(replacement.path(), replaced.path());
  CHECK(renamed || !wn_test::kFilesInUseWritable);
  wn::Encoder(*b).encode(mel.data(), out.data());
  CHECK(same_bits(out, expected));
}

// The file cut while encodes read it: between an encode's check of the file
// and its reads is a window a mapping would fault in. Every encode must
// return the right output (the cut came after its reads) or throw
// kModelChanged, and the process must live.
TEST(a_file_truncated_while_encoding_throws_model_changed) {
  const std::vector<float> mel = wn_test::golden_mel();
  std::vector<float> expected(size_t(1500) * 384);
  wn::Encoder(*load(wn_test::real_model_path(), wn::kernels::best_isa(), true))
      .encode(mel.data(), expected.data());
  int completed = 0, changed = 0, short_reads = 0, cuts_refused = 0;
  for (int round = 0; round < 4; ++round) {
    const wn_test::ScratchFile copy("low-memory-racing", wn_test::real_model_path());
    CHECK(copy.ok());
    const auto model = load(copy.path(), wn::kernels::best_isa(), true);
    std::thread cutter([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5 + 25 * round));
      // Past the header and vocabulary, before every encoder weight.
      if (!wn_test::try_resize(copy.path(), 1 << 20)) cuts_refused++;  // Windows
    });
    std::vector<float> out(expected.size());
    wn::Encoder encoder(*model);
    for (int i = 0; i < 6; ++i) {
      try {
        encoder.encode(mel.data(), out.data());
        CHECK(same_bits(out, expected));
        completed++;
      } catch (const wn::Error& e) {
        CHECK(e.code() == wn::ErrorCode::kModelChanged);
        changed++;
        // Cut after the encode's check: its reads came up short.
        if (std::string(e.what()).find("no longer holds") != std::string::npos) short_reads++;
      }
    }
    cutter.join();
  }
  std::printf("  %d encodes completed, %d threw kModelChanged (%d of them on a short read)\n",
              completed, changed, short_reads);
  // Each round's first encode checks the file within a millisecond of the
  // cutter's start, then reads for 100+ ms: the cut (5 to 80 ms) lands in
  // its reads. Where the OS refuses to cut a file in use, nothing changes.
  if (wn_test::kFilesInUseWritable) {
    CHECK(short_reads > 0 && cuts_refused == 0);
  } else {
    CHECK(cuts_refused == 4 && changed == 0 && completed == 24);
  }
}

}  // namespace

int main() {
  return wn_test::run_all();
}
