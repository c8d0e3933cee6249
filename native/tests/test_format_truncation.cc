// Truncation sweeps: the real model file and a small written one, cut short at
// many offsets (every header byte, spread through the vocabulary, at and
// around record boundaries, inside tensor data, one byte short).
// Every cut must end in wn::Error kModelTruncated or kModelFormat: never a
// crash (run under ASan too), never a success.
#include <algorithm>
#include <set>

#include "check.h"
#include "format_test_util.h"
#include "ggml_test_writer.h"

using wn::ErrorCode;
using namespace wn_test;

namespace {

// Offset of a record's header: its data minus the name, the ne and 3 int32s.
size_t record_start(const wn::ModelFile& f, const wn::TensorView& t) {
  return (size_t)(t.data - f.bytes->data()) - t.name.size() - 4 * (size_t)t.n_dims - 12;
}

// Loads a file cut to `cut` bytes (`load` does it; the uncut file parses to
// `full`). A cut file must fail with kModelTruncated or kModelFormat, except a
// cut exactly between two records: the container cannot tell that from a file
// with fewer tensors, so it must parse to exactly the records before the cut
// (bind_weights then reports the first missing tensor; test_model_weights.cc).
template <class Load>
bool cut_fails_cleanly(Load load, const wn::ModelFile& full, size_t cut) {
  wn::ModelFile part;
  try {
    part = load();
  } catch (const wn::Error& e) {
    if (e.code() == ErrorCode::kModelTruncated || e.code() == ErrorCode::kModelFormat) return true;
    std::printf("  cut at %zu: unexpected %s: %s\n", cut, wn::error_code_name(e.code()), e.what());
    return false;
  }
  // It parsed: the cut must fall where record n (the first one missing) starts.
  const size_t n = part.tensors.size();
  const wn::TensorView* next = n < full.tensors.size() ? &full.tensors[n] : nullptr;
  const bool prefix = next && record_start(full, *next) == cut &&
                      (n == 0 || part.tensors[n - 1].name == full.tensors[n - 1].name);
  if (!prefix) std::printf("  cut at %zu parsed unexpectedly\n", cut);
  return prefix;
}

bool prefix_fails_cleanly(const std::vector<uint8_t>& bytes, const wn::ModelFile& full,
                          size_t cut) {
  auto load = [&] { return parse_bytes(std::vector<uint8_t>(bytes.begin(), bytes.begin() + cut)); };
  return cut_fails_cleanly(load, full, cut);
}

// Offsets at and around the boundaries of a record whose header starts at
// `start` and whose data spans [data, data + nbytes): every field when
// `thorough`, else one in the header, the name and the data.
void add_record_cuts(std::set<size_t>& cuts, size_t start, size_t data, size_t nbytes,
                     bool thorough) {
  if (thorough) {
    for (size_t d : {0, 1, 3, 4, 5, 8, 11, 12, 13, 16, 17}) cuts.insert(start + d);
    for (size_t d : {1, 2, 5}) cuts.insert(data - d);  // inside the name
    for (size_t d : {0, 1, 2, 3, 4, 7}) cuts.insert(data + std::min(d, nbytes - 1));
  } else {
    cuts.insert(start + 6);
    cuts.insert(data - 1);
  }
  cuts.insert(data + nbytes / 2);
  cuts.insert(data + nbytes - 1);
}

}  // namespace

// The real file is cut on disk (a scratch copy, shortened step by step from the
// end), so every cut loads through map_file with no copy of 77 MB in memory.
TEST(real_model_cut_anywhere_fails_cleanly) {
  if (!real_model()) return;
  const wn::ModelFile& f = *real_model();
  const size_t size = f.bytes->size();
  std::set<size_t> cuts;
  // Every byte of the header, the filterbank's start and the vocabulary count.
  for (size_t c = 0; c < 600; ++c) cuts.insert(c);
  const size_t vocab_at = 56 + 80 * 201 * 4;  // 64,376
  for (size_t c = vocab_at - 8; c < vocab_at + 64; ++c) cuts.insert(c);
  // 400 cuts spread through the filterbank and vocabulary, odd stride.
  const size_t first_record = record_start(f, f.tensors[0]);
  for (size_t c = 600; c < first_record; c += (first_record - 600) / 400 + 1) cuts.insert(c);
  // Every field of the first three records (2-D f32, 3-D f16, the [1, 384]
  // conv bias) and the last; a few cuts in every 8th. (Each cut past the
  // vocabulary re-parses its 50,257 tokens, so not every record.)
  const size_t n = f.tensors.size();
  for (size_t i = 0; i < n; ++i) {
    const bool thorough = i < 3 || i + 1 == n;
    if (!thorough && i % 8 != 0) continue;
    const wn::TensorView& t = f.tensors[i];
    add_record_cuts(cuts, record_start(f, t), (size_t)(t.data - f.bytes->data()), t.nbytes,
                    thorough);
  }
  cuts.insert(size - 1);
  ScratchFile scratch("test_format_truncation", real_model_path());
  CHECK(scratch.ok());
  int failures = 0;
  for (auto it = cuts.rbegin(); it != cuts.rend(); ++it) {
    const size_t cut = *it;
    scratch.resize(cut);
    auto load = [&] { return wn::open_model_file(scratch.path()); };
    if (!cut_fails_cleanly(load, f, cut)) ++failures;
  }
  std::printf("  %zu cuts of the real model\n", cuts.size());
  CHECK(cuts.size() > 1000);
  CHECK(failures == 0);
}

// The small file is cheap to copy, so it is cut at every byte of its header,
// vocabulary and record headers; inside the filterbank and tensor data (64 KB
// and 9 KB of numbers) with a stride.
TEST(tiny_model_cut_at_every_field_fails_cleanly) {
  TestLayout at;
  const std::vector<uint8_t> bytes = write_test_model(tiny_test_model(), &at);
  const wn::ModelFile full = parse_bytes(bytes);
  std::vector<bool> in_numbers(bytes.size(), false);
  for (size_t i = at.filters + 8; i + 8 < at.vocab; ++i) in_numbers[i] = true;
  for (const wn::TensorView& t : full.tensors) {
    const size_t data = (size_t)(t.data - full.bytes->data());
    for (size_t i = data + 5; i + 5 < data + t.nbytes; ++i) in_numbers[i] = true;
  }
  int failures = 0, cuts = 0;
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    if (in_numbers[cut] && cut % 97 != 0) continue;
    ++cuts;
    if (!prefix_fails_cleanly(bytes, full, cut)) ++failures;
  }
  std::printf("  %d cuts of the tiny model\n", cuts);
  CHECK(cuts > 2000);
  CHECK(failures == 0);
}

TEST(truncation_messages_name_the_place) {
  TestLayout at;
  const std::vector<uint8_t> bytes = write_test_model(tiny_test_model(), &at);
  auto message_at = [&](size_t cut) {
    return error_message(
        [&] { parse_bytes(std::vector<uint8_t>(bytes.begin(), bytes.begin() + cut)); });
  };
  CHECK(contains(message_at(2), "the file ends at byte 2 inside the magic number (needs 2 more"));
  CHECK(contains(message_at(10), "inside the header (n_audio_ctx)"));
  CHECK(contains(message_at(at.filters + 8), "inside the mel filterbank (needs"));
  CHECK(contains(message_at(at.vocab + 2), "inside the vocabulary size"));
  CHECK(contains(message_at(at.vocab + 4 + 2), "inside the length of token 0"));
  CHECK(contains(message_at(at.records[2] + 5), "inside the header of tensor record 2"));
  CHECK(contains(message_at(at.data[2] - 1), "inside the name of tensor record 2"));
  CHECK(contains(message_at(at.data[2] + 1),
                 "inside the data of tensor 'encoder.conv1.bias' (needs 31 more bytes)"));
}

int main() {
  return wn_test::run_all();
}
