// Positional embeddings (model.h, PositionTable): kept as f16 when every f32
// value of the file's table is an f16 value (the models converted from
// OpenAI's f16 checkpoints), else as f32. Either way its rows read back as the
// file's floats bit for bit, so a model gives the same encoder output and
// logits: the real random tiny.en with both tables rounded to f16 values (as
// a real model's are) is compared with the same file read with f32 tables.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/f16.h"
#include "engine/model/model.h"
#include "format_test_util.h"
#include "model_test_util.h"
#include "tests/check.h"
#include "tests/kernel_test_util.h"

using wn::ErrorCode;
using wn::PositionTable;

namespace {

float through_f16(float v) {
  return wn::f16_to_f32(wn::f32_to_f16(v));
}

bool same_bits(const float* a, const float* b, size_t n) {
  return std::memcmp(a, b, n * sizeof(float)) == 0;
}

// A table of `rows` x `d` f32 values over `values` (which must outlive it).
wn::TensorView f32_tensor(const std::vector<float>& values, int rows, int d) {
  wn::TensorView t;
  t.name = "positional_embedding";
  t.type = wn::GgmlType::kF32;
  t.n_dims = 2;
  t.ne = {d, rows, 1, 1};
  t.data = reinterpret_cast<const uint8_t*>(values.data());
  t.nbytes = values.size() * sizeof(float);
  return t;
}

TEST(f16_values_are_kept_in_half_the_memory_and_read_back_bit_for_bit) {
  // Normal, subnormal (2^-20), the largest f16, both zeros.
  const std::vector<float> values = {0.5f,      -0.0f,           0.0f, std::ldexp(1.0f, -20), 65504,
                                     -1.09375f, 0.000244140625f, 3.0f};
  for (float v : values) CHECK(through_f16(v) == v);
  PositionTable table;
  table.assign(f32_tensor(values, 4, 2));
  CHECK(table.is_f16());
  CHECK(table.bytes() == values.size() * sizeof(uint16_t));
  const wn::kernels::Context ctx{wn::kernels::best_isa(), nullptr};
  std::vector<float> rows(4);
  table.rows(ctx, 1, 2, rows.data());
  CHECK(same_bits(rows.data(), values.data() + 2, 4));
  CHECK(std::signbit(values[1]));
  std::vector<float> all(8);
  table.rows(ctx, 0, 4, all.data());
  CHECK(same_bits(all.data(), values.data(), 8));
  CHECK(std::signbit(all[1]));  // -0 comes back as -0
}

TEST(other_values_stay_f32) {
  // 0.1 is not an f16 value; one such value keeps the whole table f32.
  std::vector<float> values = {0.5f, 0.25f, 0.1f, 2.0f, 4.0f, 8.0f};
  PositionTable table;
  table.assign(f32_tensor(values, 3, 2));
  CHECK(!table.is_f16());
  CHECK(table.bytes() == values.size() * sizeof(float));
  std::vector<float> out(6);
  table.rows(wn::kernels::Context{}, 0, 3, out.data());
  CHECK(same_bits(out.data(), values.data(), 6));
}

TEST(rows_outside_the_table_are_refused) {
  const std::vector<float> values(6, 1.0f);
  PositionTable table;
  table.assign(f32_tensor(values, 3, 2));
  std::vector<float> out(8);
  const wn::kernels::Context ctx;
  CHECK_THROWS_CODE(table.rows(ctx, 2, 2, out.data()), ErrorCode::kInternal);
  CHECK_THROWS_CODE(table.rows(ctx, -1, 1, out.data()), ErrorCode::kInternal);
  CHECK_THROWS_CODE(table.rows(ctx, 0, -1, out.data()), ErrorCode::kInternal);
  table.rows(ctx, 3, 0, out.data());  // none, at the end: fine
}

// The real model's bytes with every value of the two positional tables
// rounded to f16, then `edit` applied.
template <class Edit>
std::vector<uint8_t> rounded_model(Edit edit) {
  std::vector<uint8_t> bytes = wn_test::real_model_bytes();
  const wn::ModelFile& file = *wn_test::real_model();
  for (const char* name : {"encoder.positional_embedding", "decoder.positional_embedding"}) {
    const wn::TensorView* t = file.find(name);
    const size_t at = static_cast<size_t>(t->data - file.bytes->data());
    for (int64_t i = 0; i < t->n_elements(); ++i) {
      float v;
      std::memcpy(&v, &bytes[at + 4 * i], 4);
      v = through_f16(v);
      std::memcpy(&bytes[at + 4 * i], &v, 4);
    }
  }
  edit(bytes, file);
  return bytes;
}

std::shared_ptr<const wn::Model> load(const std::string& path, bool low_memory) {
  wn::LoadOptions options;
  options.threads = 2;
  options.low_memory = low_memory;
  return wn::Model::load(path, options);
}

TEST(a_model_computes_the_same_with_f16_tables_as_with_f32) {
  if (!wn_test::real_model()) return;
  const wn_test::ScratchFile rounded("positions-f16", rounded_model([](auto&, auto&) {}));
  // The same values, but the decoder's last position (beyond the 8 tokens of
  // encode_and_logits) not an f16 value: that table stays f32.
  const wn_test::ScratchFile f32_decoder(
      "positions-f32", rounded_model([](std::vector<uint8_t>& bytes, const wn::ModelFile& file) {
        const wn::TensorView* t = file.find("decoder.positional_embedding");
        const size_t last_row = static_cast<size_t>(t->data - file.bytes->data()) +
                                4 * size_t(t->ne[0]) * size_t(t->ne[1] - 1);
        const float v = 0.1f;
        std::memcpy(&bytes[last_row], &v, 4);
      }));
  CHECK(rounded.ok() && f32_decoder.ok());
  const auto f16_tables = load(rounded.path(), false);
  const auto f32_dec = load(f32_decoder.path(), false);
  // lowMemory reads the encoder's table from the file as f32 rows.
  const auto f32_enc = load(rounded.path(), true);
  CHECK(f16_tables->enc_pos.is_f16() && f16_tables->dec_pos.is_f16());
  CHECK(!f32_dec->dec_pos.is_f16() && f32_enc->enc_pos.empty());
  // 1500 x 384 and 448 x 384 values at 2 bytes instead of 4.
  CHECK(f32_dec->weight_bytes() - f16_tables->weight_bytes() == 448 * 384 * 2);
  const std::vector<float> mel = wn_test::golden_mel();
  const wn_test::ModelOutputs a = wn_test::encode_and_logits(*f16_tables, mel);
  const wn_test::ModelOutputs b = wn_test::encode_and_logits(*f32_dec, mel);
  const wn_test::ModelOutputs c = wn_test::encode_and_logits(*f32_enc, mel);
  CHECK(wn_test::same_bits(a.encoded, b.encoded) && wn_test::same_bits(a.encoded, c.encoded));
  CHECK(wn_test::same_bits(a.logits, b.logits) && wn_test::same_bits(a.logits, c.logits));
  // The random model's own tables are not f16 values: they stay f32.
  const auto original = load(wn_test::real_model_path(), false);
  CHECK(!original->enc_pos.is_f16() && !original->dec_pos.is_f16());
  CHECK(original->weight_bytes() - f16_tables->weight_bytes() == (1500 + 448) * 384 * 2);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
