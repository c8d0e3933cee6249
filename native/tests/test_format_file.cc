// Tests of the ggml container parser (engine/format): the real random tiny.en
// file, file mapping, type sizes, and small written models corrupted one field
// at a time. Cutting files short is test_format_truncation.cc; which tensors a
// model needs is test_model_weights.cc.
//
//   test_format_file                    run the tests
//   test_format_file --write-seed PATH  write the tiny valid model (a fuzz seed)
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#ifndef _WIN32
#include <sys/stat.h>
#endif

#include "check.h"
#include "format_test_util.h"
#include "ggml_test_writer.h"
#include "process_memory.h"

using wn::ErrorCode;
using wn::GgmlType;
using namespace wn_test;

namespace {

void check_view(const wn::ModelFile& f, const char* name, GgmlType type, std::vector<int64_t> ne) {
  const wn::TensorView* t = f.find(name);
  CHECK(t != nullptr);
  if (!t) return;
  CHECK(t->type == type);
  CHECK(t->n_dims == (int)ne.size());
  for (size_t d = 0; d < ne.size(); ++d) CHECK(t->ne[d] == ne[d]);
}

// Writes the tiny model with `edit` applied to its bytes and parses it.
template <class Edit>
wn::ModelFile parse_edited(Edit edit) {
  TestLayout at;
  std::vector<uint8_t> bytes = write_test_model(tiny_test_model(), &at);
  edit(bytes, at);
  return parse_bytes(std::move(bytes));
}

size_t record_of(const TestModel& m, const std::string& name) {
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    if (m.tensors[i].name == name) return i;
  }
  std::abort();
}

}  // namespace

TEST(real_model_header_filters_and_vocab) {
  if (!real_model()) return;
  const wn::ModelFile& f = *real_model();
  const wn::HParams& h = f.hparams;
  CHECK(h.n_vocab == 51864 && h.n_audio_ctx == 1500 && h.n_audio_state == 384);
  CHECK(h.n_audio_head == 6 && h.n_audio_layer == 4 && h.n_text_ctx == 448);
  CHECK(h.n_text_state == 384 && h.n_text_head == 6 && h.n_text_layer == 4);
  CHECK(h.n_mels == 80 && h.ftype == 1 && h.qntvr == 0);
  CHECK(f.n_mel_filters == 80 && f.n_fft_bins == 201);
  CHECK(f.mel_filters.size() == 80u * 201u);
  // Slaney-normalised triangles: non-negative, each row ~2/80, peaks rising.
  double total = 0;
  int previous_peak = -1;
  bool non_negative = true, peaks_rise = true;
  for (int m = 0; m < 80; ++m) {
    const float* row = &f.mel_filters[m * 201];
    int peak = 0;
    for (int k = 0; k < 201; ++k) {
      non_negative = non_negative && row[k] >= 0.0f;
      total += row[k];
      if (row[k] > row[peak]) peak = k;
    }
    peaks_rise = peaks_rise && peak >= previous_peak;
    previous_peak = peak;
  }
  CHECK(non_negative);
  CHECK(peaks_rise);
  CHECK_NEAR(total, 2.0, 0.01);
  CHECK(f.vocab.size() == 50257);
  CHECK(f.vocab[0] == "!");
  CHECK(f.vocab[198] == "\n");
  CHECK(f.vocab[220] == " ");
  CHECK(f.vocab[50256] == "<|endoftext|>");
}

TEST(real_model_tensor_records) {
  if (!real_model()) return;
  const wn::ModelFile& f = *real_model();
  CHECK(f.tensors.size() == 167);
  CHECK(f.index.size() == 167);
  CHECK(f.tensors[0].name == "encoder.positional_embedding");
  check_view(f, "encoder.positional_embedding", GgmlType::kF32, {384, 1500});
  check_view(f, "encoder.conv1.weight", GgmlType::kF16, {3, 80, 384});
  check_view(f, "encoder.conv1.bias", GgmlType::kF32, {1, 384});
  check_view(f, "encoder.conv2.weight", GgmlType::kF16, {3, 384, 384});
  check_view(f, "encoder.blocks.3.mlp.0.weight", GgmlType::kF16, {384, 1536});
  check_view(f, "encoder.blocks.0.mlp.2.weight", GgmlType::kF16, {1536, 384});
  check_view(f, "decoder.positional_embedding", GgmlType::kF32, {384, 448});
  check_view(f, "decoder.token_embedding.weight", GgmlType::kF16, {384, 51864});
  check_view(f, "decoder.blocks.2.cross_attn_ln.bias", GgmlType::kF32, {384});
  check_view(f, "decoder.ln.weight", GgmlType::kF32, {384});
  CHECK(f.find("decoder.blocks.4.mlp.0.weight") == nullptr);
  const wn::TensorView* emb = f.find("decoder.token_embedding.weight");
  CHECK(emb && emb->nbytes == 384ull * 51864 * 2 && emb->n_elements() == 384ll * 51864);
}

// Records follow one another with no padding; the first starts after the
// vocabulary at 586,836 and the last one's data ends the file.
TEST(real_model_records_tile_the_file) {
  if (!real_model()) return;
  const wn::ModelFile& f = *real_model();
  const uint8_t* base = f.bytes->data();
  size_t expected_start = 586836;
  for (const wn::TensorView& t : f.tensors) {
    const size_t header = 12 + 4 * (size_t)t.n_dims + t.name.size();
    CHECK((size_t)(t.data - base) == expected_start + header);
    expected_start = (size_t)(t.data - base) + t.nbytes;
  }
  CHECK(expected_start == f.bytes->size());
  CHECK(f.bytes->size() == 77705316);
}

TEST(map_file_reports_missing_directory_and_empty) {
  const std::string missing = temp_dir() + "/no-such-model.bin";
  CHECK_THROWS_CODE(wn::FileBytes::map_file(missing), ErrorCode::kModelNotFound);
  CHECK(contains(error_message([&] { wn::FileBytes::map_file(missing); }), missing));
  CHECK_THROWS_CODE(wn::FileBytes::map_file(temp_dir()), ErrorCode::kModelNotFound);
  CHECK_THROWS_CODE(wn::open_model_file(missing), ErrorCode::kModelNotFound);
  const std::string empty = temp_dir() + "/test_format_empty.bin";
  std::FILE* out = std::fopen(empty.c_str(), "wb");
  CHECK(out != nullptr);
  if (!out) return;
  std::fclose(out);
  CHECK_THROWS_CODE(wn::FileBytes::map_file(empty), ErrorCode::kModelTruncated);
  CHECK(contains(error_message([&] { wn::FileBytes::map_file(empty); }), "is empty"));
  std::remove(empty.c_str());
}

// A FIFO given as the model path: opening it for reading used to block until a
// writer came (forever); now it is refused at once as a directory is. The
// watchdog turns a regression into a failure rather than a hung test run.
TEST(map_file_refuses_a_fifo_without_blocking) {
#ifndef _WIN32
  const std::string fifo = temp_dir() + "/test_format_fifo";
  std::remove(fifo.c_str());
  CHECK(::mkfifo(fifo.c_str(), 0600) == 0);
  std::atomic<bool> returned{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 1000 && !returned.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (returned.load()) return;
    std::printf("FAIL map_file_refuses_a_fifo_without_blocking: map_file(fifo) blocked 10 s\n");
    std::fflush(stdout);
    std::_Exit(1);
  });
  CHECK_THROWS_CODE(wn::FileBytes::map_file(fifo), ErrorCode::kModelNotFound);
  CHECK(contains(error_message([&] { wn::FileBytes::map_file(fifo); }), "is not a regular file"));
  CHECK_THROWS_CODE(wn::open_model_file(fifo), ErrorCode::kModelNotFound);
  returned = true;
  watchdog.join();
  std::remove(fifo.c_str());
#endif
}

TEST(mapped_file_matches_read_and_survives_release) {
  if (real_model_bytes().empty()) return;
  const wn::ModelFile f = wn::open_model_file(real_model_path());
  CHECK(f.bytes->size() == real_model_bytes().size());
  CHECK(std::memcmp(f.bytes->data(), real_model_bytes().data(), 4096) == 0);
  // Released pages are dropped from memory, yet reading them again faults
  // the same bytes back in from the file.
  const wn::TensorView* emb = f.find("decoder.token_embedding.weight");
  CHECK(emb != nullptr);
  if (!emb) return;
  const size_t offset = (size_t)(emb->data - f.bytes->data());
  f.bytes->release_range(emb->data, emb->nbytes);
  f.bytes->release_range(f.bytes->data(), f.bytes->size() + 12345);  // clamped, not a crash
  CHECK(std::memcmp(emb->data, real_model_bytes().data() + offset, emb->nbytes) == 0);
  const wn::ModelFile tiny = parse_bytes(write_test_model(tiny_test_model()));
  tiny.bytes->release_range(tiny.bytes->data(), tiny.bytes->size());  // owned: a no-op
  CHECK(tiny.bytes->data()[0] == 0x6c);
}

// A release reaches out to the 2 MiB boundaries around its range (Linux): a
// kernel may map a large folio of the file whole when one of its pages
// faults, so the pages around a small tensor must go with it.
TEST(release_drops_the_mapped_pages_out_to_2_mib_boundaries) {
#if defined(__linux__)
  if (real_model_bytes().empty() || kSanitizerShadowMemory) return;
  if (std::getenv("WN_TEST_EMULATED") != nullptr) {
    // qemu-user's resident set is the emulator's, not the guest mapping's.
    std::printf("  WN_TEST_EMULATED: resident memory not checked under emulation\n");
    return;
  }
  const auto bytes = wn::FileBytes::map_file(real_model_path());
  constexpr size_t kMiB = size_t{1} << 20;
  CHECK(bytes->size() > 8 * kMiB);
  const auto touch_first_8_mib = [&] {
    unsigned sum = 0;
    for (size_t at = 0; at < 8 * kMiB; at += 4096)
      sum += static_cast<volatile const uint8_t*>(bytes->data())[at];
    return sum;
  };
  const auto dropped_by = [&](size_t offset, size_t length) {
    touch_first_8_mib();
    const long long before = resident_bytes();
    bytes->release_range(bytes->data() + offset, length);
    return static_cast<double>(before - resident_bytes()) / kMiB;
  };
  // 10 bytes inside [2, 4) MiB: those 2 MiB go.
  const double small = dropped_by(3 * kMiB + 100, 10);
  CHECK(small > 1.9 && small < 2.1);
  // A range across the 4 MiB boundary: [2, 6) MiB.
  const double across = dropped_by(4 * kMiB - 10, 20);
  CHECK(across > 3.9 && across < 4.1);
  // Clamped to the file's whole pages at its start.
  const double first = dropped_by(0, 1);
  CHECK(first > 1.9 && first < 2.1);
  // And the bytes read back the same.
  CHECK(std::memcmp(bytes->data(), real_model_bytes().data(), 8 * kMiB) == 0);
#endif
}

// FileReader::unchanged_on_disk(): a mapped file grown, shrunk or rewritten in
// place is changed; one replaced by rename is another file, the mapping's is
// unchanged.
TEST(mapped_file_knows_whether_it_changed_on_disk) {
  const std::vector<uint8_t> bytes = write_test_model(tiny_test_model());
  const ScratchFile grown("changed-grown", bytes), shrunk("changed-shrunk", bytes),
      rewritten("changed-rewritten", bytes), replaced("changed-replaced", bytes),
      replacement("changed-replacement", bytes);
  CHECK(grown.ok() && shrunk.ok() && rewritten.ok() && replaced.ok() && replacement.ok());
  const auto g = wn::FileReader::open(wn::FileBytes::map_file(grown.path()));
  const auto s = wn::FileReader::open(wn::FileBytes::map_file(shrunk.path()));
  const auto w = wn::FileReader::open(wn::FileBytes::map_file(rewritten.path()));
  const auto r = wn::FileReader::open(wn::FileBytes::map_file(replaced.path()));
  CHECK(g->unchanged_on_disk() && s->unchanged_on_disk() && w->unchanged_on_disk());
  CHECK(g->path() == grown.path());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a new modification time
  const bool grew = wn_test::try_resize(grown.path(), bytes.size() + 100);
  const bool shrank = wn_test::try_resize(shrunk.path(), bytes.size() / 2);
  const bool wrote = wn_test::try_write_at(rewritten.path(), 10, "x", 1);
  // POSIX lets the files change under the readers; Windows refuses.
  CHECK(grew == wn_test::kFilesInUseWritable && shrank == grew && wrote == grew);
  const bool renamed = wn_test::try_rename(replacement.path(), replaced.path());
  CHECK(renamed || !wn_test::kFilesInUseWritable);
  CHECK(g->unchanged_on_disk() == !grew);
  CHECK(s->unchanged_on_disk() == !shrank);
  CHECK(w->unchanged_on_disk() == !wrote);
  CHECK(r->unchanged_on_disk());  // renamed over or not, its file is the same
  CHECK(wn::FileReader::open(wn::FileBytes::from_buffer(bytes))->unchanged_on_disk());  // no file
}

TEST(open_model_file_names_the_path) {
  const std::string path = temp_dir() + "/test_format_not_ggml.bin";
  std::FILE* out = std::fopen(path.c_str(), "wb");
  CHECK(out != nullptr);
  if (!out) return;
  std::fputs("RIFF....WAVEfmt ", out);
  std::fclose(out);
  CHECK_THROWS_CODE(wn::open_model_file(path), ErrorCode::kModelFormat);
  const std::string message = error_message([&] { wn::open_model_file(path); });
  CHECK(contains(message, path));
  CHECK(contains(message, "not a ggml Whisper model file (magic 0x46464952"));
  std::remove(path.c_str());
}

TEST(ggml_type_sizes) {
  uint64_t b = 0;
  CHECK(wn::ggml_type_bytes(GgmlType::kF32, 10, &b) && b == 40);
  CHECK(wn::ggml_type_bytes(GgmlType::kF16, 10, &b) && b == 20);
  CHECK(wn::ggml_type_bytes(GgmlType::kQ4_0, 64, &b) && b == 36);
  CHECK(wn::ggml_type_bytes(GgmlType::kQ4_1, 32, &b) && b == 20);
  CHECK(wn::ggml_type_bytes(GgmlType::kQ5_0, 32, &b) && b == 22);
  CHECK(wn::ggml_type_bytes(GgmlType::kQ5_1, 96, &b) && b == 72);
  CHECK(wn::ggml_type_bytes(GgmlType::kQ8_0, 32, &b) && b == 34);
  CHECK(wn::ggml_type_bytes(GgmlType::kQ8_1, 32, &b) && b == 36);
  CHECK(wn::ggml_type_bytes(GgmlType::kQ2_K, 256, &b) && b == 84);
  CHECK(wn::ggml_type_bytes(GgmlType::kQ3_K, 256, &b) && b == 110);
  CHECK(wn::ggml_type_bytes(GgmlType::kQ4_K, 512, &b) && b == 288);
  CHECK(wn::ggml_type_bytes(GgmlType::kQ5_K, 256, &b) && b == 176);
  CHECK(wn::ggml_type_bytes(GgmlType::kQ6_K, 256, &b) && b == 210);
  CHECK(!wn::ggml_type_bytes(GgmlType::kQ4_0, 33, &b));  // not whole blocks
  CHECK(!wn::ggml_type_bytes(GgmlType::kQ6_K, 32, &b));
  CHECK(!wn::ggml_type_bytes(static_cast<GgmlType>(99), 4, &b));
  CHECK(!wn::ggml_type_bytes(static_cast<GgmlType>(4), 32, &b));  // retired q4_2
  CHECK(!wn::ggml_type_bytes(GgmlType::kF32, -1, &b));
  CHECK(!wn::ggml_type_bytes(GgmlType::kF32, std::numeric_limits<int64_t>::max(), &b));
  CHECK(std::strcmp(wn::ggml_type_name(GgmlType::kQ5_1), "q5_1") == 0);
  CHECK(std::strcmp(wn::ggml_type_name(static_cast<GgmlType>(99)), "unknown") == 0);
}

TEST(tiny_written_model_round_trips) {
  const TestModel m = tiny_test_model();
  TestLayout at;
  const std::vector<uint8_t> bytes = write_test_model(m, &at);
  const wn::ModelFile f = parse_bytes(bytes);
  CHECK(f.hparams.n_vocab == 20 && f.hparams.n_audio_state == 8 && f.hparams.n_text_layer == 1);
  CHECK(f.vocab.size() == m.tokens.size() && f.vocab[0] == " " && f.vocab[5] == "tok5");
  CHECK(f.tensors.size() == m.tensors.size());
  CHECK(f.tensors.size() == 5 + 15 + 2 + 2 + 24 + 2);
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    CHECK(f.tensors[i].name == m.tensors[i].name);
    CHECK((size_t)(f.tensors[i].data - f.bytes->data()) == at.data[i]);
  }
  CHECK(f.mel_filters[0 * 201 + 1] == 0.025f && f.mel_filters[79 * 201 + 80] == 0.025f);
}

TEST(bad_magic_is_a_format_error) {
  for (uint32_t magic : {0x46554747u /* "GGUF" */, 0x67676d6du, 0u, 0x6c6d6767u}) {
    auto edit = [&](std::vector<uint8_t>& b, const TestLayout&) { poke_i32(b, 0, (int32_t)magic); };
    CHECK_THROWS_CODE(parse_edited(edit), ErrorCode::kModelFormat);
  }
  const std::string message = error_message(
      [] { parse_edited([](std::vector<uint8_t>& b, const TestLayout&) { b[0] = 'G'; }); });
  CHECK(contains(message, "not a ggml Whisper model file (magic 0x67676d47, expected 0x67676d6c)"));
}

TEST(each_hparam_out_of_range_is_a_format_error) {
  for (int field = 0; field < kHeaderFields; ++field) {
    for (int32_t value : {0, -1, 1 << 30, std::numeric_limits<int32_t>::min()}) {
      if (field == kFtype && value == 0) continue;  // ftype 0 is valid (all f32)
      auto edit = [&](std::vector<uint8_t>& b, const TestLayout&) {
        poke_i32(b, 4 + 4 * field, value);
      };
      const std::string message = error_message([&] { parse_edited(edit); });
      CHECK_THROWS_CODE(parse_edited(edit), ErrorCode::kModelFormat);
      CHECK(contains(message, header_field_name(field)));
    }
  }
  auto set = [](int field, int32_t value) {
    return [=](std::vector<uint8_t>& b, const TestLayout&) { poke_i32(b, 4 + 4 * field, value); };
  };
  CHECK_THROWS_CODE(parse_edited(set(kNAudioHead, 3)), ErrorCode::kModelFormat);  // 8 % 3
  CHECK_THROWS_CODE(parse_edited(set(kNTextHead, 5)), ErrorCode::kModelFormat);
  CHECK_THROWS_CODE(parse_edited(set(kNMels, 81)), ErrorCode::kModelFormat);
  CHECK_THROWS_CODE(parse_edited(set(kNAudioLayer, 129)), ErrorCode::kModelFormat);
  CHECK_THROWS_CODE(parse_edited(set(kNVocab, (1 << 20) + 1)), ErrorCode::kModelFormat);
  CHECK_THROWS_CODE(parse_edited(set(kFtype, 5)), ErrorCode::kModelFormat);
  CHECK_THROWS_CODE(parse_edited(set(kFtype, 15)), ErrorCode::kModelFormat);
  CHECK_THROWS_CODE(parse_edited(set(kFtype, 3009)), ErrorCode::kModelFormat);
  // A quantized file's header: ftype + 1000 * version, split on read.
  const wn::ModelFile q = parse_edited(set(kFtype, 2009));
  CHECK(q.hparams.ftype == 9 && q.hparams.qntvr == 2);
  CHECK(parse_edited(set(kFtype, 0)).hparams.ftype == 0);
  CHECK(parse_edited(set(kNAudioHead, 8)).hparams.n_audio_head == 8);
}

TEST(quantized_records_need_the_current_quantization_version) {
  // mlp.2 has rows of 32: one q5_1 block per row.
  TestModel m = tiny_test_model();
  m.find("encoder.blocks.0.mlp.2.weight")->type = (int32_t)GgmlType::kQ5_1;
  for (int32_t stored : {9, 1009}) {  // versions 0 and 1 laid blocks out otherwise
    m.header[kFtype] = stored;
    const std::vector<uint8_t> bytes = write_test_model(m);
    CHECK_THROWS_CODE(parse_bytes(bytes), ErrorCode::kUnsupportedTensorType);
    CHECK(contains(error_message([&] { parse_bytes(bytes); }),
                   "tensor 'encoder.blocks.0.mlp.2.weight' (record 16) is q5_1 in a file of "
                   "quantization version " +
                       std::to_string(stored / 1000) + " (header ftype " + std::to_string(stored) +
                       "); this build reads version 2 blocks only"));
  }
  m.header[kFtype] = 2009;
  CHECK(parse_bytes(write_test_model(m)).find("encoder.blocks.0.mlp.2.weight")->nbytes == 8 * 24);
  m.header[kFtype] = 3009;
  CHECK_THROWS_CODE(parse_bytes(write_test_model(m)), ErrorCode::kModelFormat);
  CHECK(contains(error_message([&] { parse_bytes(write_test_model(m)); }),
                 "header field ftype is 3009: quantization version 3 is newer than the one this "
                 "reader knows (2)"));
  // Files without quantized records do not depend on the version.
  for (int32_t stored : {1, 1001, 2001}) {
    TestModel f16 = tiny_test_model();
    f16.header[kFtype] = stored;
    CHECK(parse_bytes(write_test_model(f16)).hparams.ftype == 1);
  }
}

TEST(mel_filterbank_is_checked) {
  auto mel = [](int which, int32_t value) {
    return [=](std::vector<uint8_t>& b, const TestLayout& at) {
      poke_i32(b, at.mel_header + 4 * which, value);
    };
  };
  CHECK_THROWS_CODE(parse_edited(mel(0, 81)), ErrorCode::kModelFormat);
  CHECK_THROWS_CODE(parse_edited(mel(0, 128)), ErrorCode::kModelFormat);
  CHECK_THROWS_CODE(parse_edited(mel(0, -80)), ErrorCode::kModelFormat);
  for (int32_t n_fft : {200, 202, 0, -201, 5000, 1 << 30}) {
    CHECK_THROWS_CODE(parse_edited(mel(1, n_fft)), ErrorCode::kModelFormat);
  }
  CHECK(contains(error_message([&] { parse_edited(mel(1, 200)); }), "200 frequency bins"));
  const uint32_t nan_bits = 0x7fc00000u, inf_bits = 0x7f800000u;
  for (uint32_t bits : {nan_bits, inf_bits}) {
    auto edit = [&](std::vector<uint8_t>& b, const TestLayout& at) {
      poke_i32(b, at.filters + 4 * (3 * 201 + 17), (int32_t)bits);
    };
    CHECK(contains(error_message([&] { parse_edited(edit); }), "value [3][17] is not finite"));
  }
}

TEST(vocabulary_is_checked) {
  auto count = [](int32_t n) {
    return [=](std::vector<uint8_t>& b, const TestLayout& at) { poke_i32(b, at.vocab, n); };
  };
  CHECK_THROWS_CODE(parse_edited(count(21)), ErrorCode::kModelFormat);  // > n_vocab 20
  CHECK_THROWS_CODE(parse_edited(count(-1)), ErrorCode::kModelFormat);
  CHECK_THROWS_CODE(parse_edited(count(1 << 30)), ErrorCode::kModelFormat);
  // Token 0 (" ") claiming more bytes than a token may have.
  CHECK_THROWS_CODE(parse_edited([](std::vector<uint8_t>& b, const TestLayout& at) {
                      poke_i32(b, at.vocab + 4, 5000);
                    }),
                    ErrorCode::kModelFormat);
  // A file that ends in the vocabulary: the last token's length runs past the end.
  TestModel m = tiny_test_model();
  m.tensors.clear();
  std::vector<uint8_t> bytes = write_test_model(m);
  const size_t last_length_at = bytes.size() - m.tokens.back().size() - 4;
  poke_i32(bytes, last_length_at, 1000);
  const std::string message = error_message([&] { parse_bytes(bytes); });
  CHECK_THROWS_CODE(parse_bytes(bytes), ErrorCode::kModelTruncated);
  CHECK(contains(message, "inside the bytes of token 17"));
  // With no tensors at all the container is still well formed (weights.cc
  // reports the missing tensors).
  CHECK(parse_bytes(write_test_model(m)).tensors.empty());
}

TEST(record_header_fields_are_checked) {
  const TestModel m = tiny_test_model();
  const size_t r = record_of(m, "encoder.conv1.bias");  // 2-D: ne at +12 and +16
  auto field = [&](size_t at_offset, int32_t value) {
    return [=](std::vector<uint8_t>& b, const TestLayout& at) {
      poke_i32(b, at.records[r] + at_offset, value);
    };
  };
  for (int32_t n_dims : {0, 5, -1, 1 << 30}) {
    CHECK_THROWS_CODE(parse_edited(field(0, n_dims)), ErrorCode::kModelFormat);
  }
  CHECK(contains(error_message([&] { parse_edited(field(0, 5)); }), "has n_dims 5"));
  for (int32_t name_length : {0, -4, 257, 1 << 30}) {
    CHECK_THROWS_CODE(parse_edited(field(4, name_length)), ErrorCode::kModelFormat);
  }
  for (int32_t type : {99, 4, 5, 15, -1}) {
    CHECK_THROWS_CODE(parse_edited(field(8, type)), ErrorCode::kModelFormat);
  }
  CHECK(contains(error_message([&] { parse_edited(field(8, 99)); }), "unknown ggml type id 99"));
  for (int32_t ne : {0, -3, std::numeric_limits<int32_t>::min()}) {
    CHECK_THROWS_CODE(parse_edited(field(12, ne)), ErrorCode::kModelFormat);
  }
  // A name byte that is not printable.
  CHECK_THROWS_CODE(parse_edited([&](std::vector<uint8_t>& b, const TestLayout& at) {
                      b[at.records[r] + 12 + 8 + 3] = 0;
                    }),
                    ErrorCode::kModelFormat);
}

TEST(tensor_sizes_follow_type_and_shape) {
  // q5_1 rows must be whole blocks of 32: attn.query has rows of 8. (A q5_1
  // file of quantization version 2 says 2009.)
  TestModel m = tiny_test_model(2009);
  m.find("encoder.blocks.0.attn.query.weight")->type = (int32_t)GgmlType::kQ5_1;
  CHECK(contains(error_message([&] { parse_bytes(write_test_model(m)); }),
                 "rows of 8 elements, not a whole number"));
  // mlp.2 has rows of 32: a valid q5_1 tensor, 8 rows x 24 bytes.
  m = tiny_test_model(2009);
  m.find("encoder.blocks.0.mlp.2.weight")->type = (int32_t)GgmlType::kQ5_1;
  const wn::ModelFile f = parse_bytes(write_test_model(m));
  const wn::TensorView* t = f.find("encoder.blocks.0.mlp.2.weight");
  CHECK(t && t->type == GgmlType::kQ5_1 && t->nbytes == 8 * 24);
  // A shape whose element count overflows 64 bits.
  m = tiny_test_model();
  m.find("encoder.conv2.weight")->ne = {1 << 30, 1 << 30, 1 << 30, 1 << 30};
  m.find("encoder.conv2.weight")->data_bytes = 0;
  CHECK_THROWS_CODE(parse_bytes(write_test_model(m)), ErrorCode::kModelFormat);
  // A shape too large for the bytes that are there.
  m = tiny_test_model();
  m.tensors.back().ne = {9};  // decoder.ln.bias: 8 floats written, 9 claimed
  m.tensors.back().data_bytes = 8 * 4;
  CHECK_THROWS_CODE(parse_bytes(write_test_model(m)), ErrorCode::kModelTruncated);
  m.find("decoder.positional_embedding")->ne = {1 << 20, 1 << 20};
  m.find("decoder.positional_embedding")->data_bytes = 64;
  CHECK(contains(error_message([&] { parse_bytes(write_test_model(m)); }),
                 "inside the data of tensor 'decoder.positional_embedding'"));
}

TEST(duplicate_tensor_is_a_format_error) {
  TestModel m = tiny_test_model();
  m.tensors.push_back(m.tensors[3]);
  const std::string message = error_message([&] { parse_bytes(write_test_model(m)); });
  CHECK_THROWS_CODE(parse_bytes(write_test_model(m)), ErrorCode::kModelFormat);
  CHECK(contains(message, "tensor 'encoder.conv2.weight' appears twice"));
}

TEST(trailing_bytes_after_the_last_record_are_truncation) {
  const std::vector<uint8_t> valid = write_test_model(tiny_test_model());
  for (size_t extra = 1; extra <= 11; ++extra) {
    std::vector<uint8_t> bytes = valid;
    bytes.insert(bytes.end(), extra, 0x01);
    CHECK_THROWS_CODE(parse_bytes(bytes), ErrorCode::kModelTruncated);
  }
  // A whole header for a 1-D f32 tensor of 4 named "x", but no data.
  std::vector<uint8_t> bytes = valid;
  for (int32_t v : {1, 1, 0, 4}) put_i32(bytes, v);
  bytes.push_back('x');
  CHECK_THROWS_CODE(parse_bytes(bytes), ErrorCode::kModelTruncated);
  CHECK(contains(error_message([&] { parse_bytes(bytes); }), "inside the data of tensor 'x'"));
}

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write-seed") == 0) {
    const std::vector<uint8_t> bytes = write_test_model(tiny_test_model());
    std::FILE* out = std::fopen(argv[2], "wb");
    if (!out || std::fwrite(bytes.data(), 1, bytes.size(), out) != bytes.size()) return 1;
    std::fclose(out);
    std::printf("wrote %zu bytes to %s\n", bytes.size(), argv[2]);
    return 0;
  }
  return wn_test::run_all();
}
