// The block-quantized weights (kernels/quant.h): the reference dequantizer on
// hand-built blocks whose values are worked out here (nibble order, high-bit
// order, offsets, minimums, block stride); the quantized panel layout against
// the reference row dequantizer.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/f16.h"
#include "engine/kernels/quant.h"
#include "tests/check.h"

using wn::GgmlType;

namespace {

const GgmlType kTypes[] = {GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                           GgmlType::kQ8_0};

const char* type_name(GgmlType t) {
  switch (t) {
    case GgmlType::kQ4_0:
      return "q4_0";
    case GgmlType::kQ4_1:
      return "q4_1";
    case GgmlType::kQ5_0:
      return "q5_0";
    case GgmlType::kQ5_1:
      return "q5_1";
    case GgmlType::kQ8_0:
      return "q8_0";
    default:
      return "?";
  }
}

struct Rng {
  uint64_t state;
  explicit Rng(uint64_t seed) : state(seed * 0x9e3779b97f4a7c15ull + 1) {}
  uint32_t next() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(state >> 33);
  }
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * (float)(next() * (1.0 / 2147483648.0));
  }
};

void put_u16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back((uint8_t)v);
  b.push_back((uint8_t)(v >> 8));
}

std::vector<float> dequantized(GgmlType type, const std::vector<uint8_t>& blocks, int64_t n) {
  std::vector<float> out((size_t)n);
  wn::kernels::dequantize_row(type, blocks.data(), n, out.data());
  return out;
}

// The weights each test block must produce, worked out by hand from the
// integers it stores (f16 scales that are powers of two, so every value is
// exact).
bool equal(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!(got[i] == want[i])) {
      if (bad++ < 4) std::printf("  %s: weight %zu is %g, expected %g\n", what, i, got[i], want[i]);
    }
  }
  return bad == 0 && got.size() == want.size();
}

TEST(q8_0_block_is_scale_times_int8) {
  std::vector<uint8_t> b;
  put_u16(b, 0x3800);  // d = 0.5
  for (int e = 0; e < 32; ++e) b.push_back((uint8_t)(int8_t)(e - 16));
  put_u16(b, 0xc000);  // second block: d = -2, the extremes of int8
  for (int e = 0; e < 32; ++e) b.push_back((uint8_t)(int8_t)(e % 2 ? 127 : -128));
  std::vector<float> want;
  for (int e = 0; e < 32; ++e) want.push_back((e - 16) * 0.5f);
  for (int e = 0; e < 32; ++e) want.push_back(e % 2 ? -254.0f : 256.0f);
  CHECK(b.size() == 2 * 34);
  CHECK(equal(dequantized(GgmlType::kQ8_0, b, 64), want, "q8_0"));
}

TEST(q4_0_low_nibbles_hold_the_first_half) {
  // Byte j holds weight j in its low nibble and weight j + 16 in its high one.
  std::vector<uint8_t> b;
  put_u16(b, 0x3400);  // d = 0.25
  for (int j = 0; j < 16; ++j) b.push_back((uint8_t)(j | (15 - j) << 4));
  std::vector<float> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = (j - 8) * 0.25f;
    want[j + 16] = ((15 - j) - 8) * 0.25f;
  }
  CHECK(b.size() == 18);
  CHECK(equal(dequantized(GgmlType::kQ4_0, b, 32), want, "q4_0"));
  // Spot values: byte 0 = 0xf0 -> weight 0 is (0 - 8) d = -2, weight 16 is (15 - 8) d = 1.75.
  CHECK(want[0] == -2.0f && want[16] == 1.75f);
}

TEST(q4_1_adds_the_minimum) {
  std::vector<uint8_t> b;
  put_u16(b, 0x4000);  // d = 2
  put_u16(b, 0xbc00);  // m = -1
  for (int j = 0; j < 16; ++j) b.push_back((uint8_t)((j ^ 5) | j << 4));
  std::vector<float> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = (j ^ 5) * 2.0f - 1.0f;
    want[j + 16] = j * 2.0f - 1.0f;
  }
  CHECK(b.size() == 20);
  CHECK(equal(dequantized(GgmlType::kQ4_1, b, 32), want, "q4_1"));
}

// qh bits 0, 9, 20 and 31 (bytes 0x01 0x02 0x10 0x80): the fifth bit of
// weights 0, 9, 20 and 31, read as a little-endian uint32.
const uint8_t kHighBits[4] = {0x01, 0x02, 0x10, 0x80};
bool high_bit_set(int e) {
  return e == 0 || e == 9 || e == 20 || e == 31;
}

TEST(q5_0_high_bits_are_little_endian_per_weight) {
  std::vector<uint8_t> b;
  put_u16(b, 0x3c00);  // d = 1
  b.insert(b.end(), kHighBits, kHighBits + 4);
  for (int j = 0; j < 16; ++j) b.push_back((uint8_t)(j | (15 - j) << 4));
  std::vector<float> want(32);
  for (int e = 0; e < 32; ++e) {
    const int nibble = e < 16 ? e : 15 - (e - 16);
    want[e] = (float)((nibble | (high_bit_set(e) ? 16 : 0)) - 16);
  }
  CHECK(b.size() == 22);
  CHECK(equal(dequantized(GgmlType::kQ5_0, b, 32), want, "q5_0"));
  // Weight 0: nibble 0 with its high bit = 16 - 16 = 0; weight 1: 1 - 16;
  // weight 31: nibble 0 (byte 15's high nibble) with its high bit = 0.
  CHECK(want[0] == 0.0f && want[1] == -15.0f && want[31] == 0.0f && want[20] == 11.0f);
}

TEST(q5_1_high_bits_and_minimum) {
  std::vector<uint8_t> b;
  put_u16(b, 0x3800);  // d = 0.5
  put_u16(b, 0x4200);  // m = 3
  b.insert(b.end(), kHighBits, kHighBits + 4);
  for (int j = 0; j < 16; ++j) b.push_back((uint8_t)(j | j << 4));
  std::vector<float> want(32);
  for (int e = 0; e < 32; ++e) {
    want[e] = ((e % 16) | (high_bit_set(e) ? 16 : 0)) * 0.5f + 3.0f;
  }
  CHECK(b.size() == 24);
  CHECK(equal(dequantized(GgmlType::kQ5_1, b, 32), want, "q5_1"));
  CHECK(want[9] == 15.5f && want[25] == 7.5f);  // 25: nibble 9, no high bit
}

TEST(dequantize_row_checks_its_arguments) {
  std::vector<float> out(64);
  const uint8_t bytes[64] = {};
  CHECK_THROWS_CODE(wn::kernels::dequantize_row(GgmlType::kQ8_0, bytes, 31, out.data()),
                    wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(wn::kernels::dequantize_row(GgmlType::kF16, bytes, 32, out.data()),
                    wn::ErrorCode::kUnsupportedTensorType);
  CHECK(wn::kernels::is_block_quantized(GgmlType::kQ5_1));
  CHECK(!wn::kernels::is_block_quantized(GgmlType::kQ8_1));  // no kernels: not in whisper files
  CHECK(!wn::kernels::is_block_quantized(GgmlType::kQ4_K));
  CHECK(wn::kernels::quant_block_bytes(GgmlType::kQ5_0) == 22);
}

// Random blocks: random quants, scales of either sign (minimums for _1) in
// the range real weights have, as f16.
std::vector<uint8_t> random_blocks(GgmlType type, int64_t n_blocks, Rng& rng) {
  const size_t bytes = wn::kernels::quant_block_bytes(type);
  const bool has_min = type == GgmlType::kQ4_1 || type == GgmlType::kQ5_1;
  std::vector<uint8_t> out;
  out.reserve((size_t)n_blocks * bytes);
  for (int64_t b = 0; b < n_blocks; ++b) {
    put_u16(out, wn::f32_to_f16(rng.uniform(-0.03f, 0.03f)));
    if (has_min) put_u16(out, wn::f32_to_f16(rng.uniform(-0.5f, 0.1f)));
    while (out.size() < (size_t)(b + 1) * bytes) out.push_back((uint8_t)rng.next());
  }
  return out;
}

TEST(quant_panels_hold_the_rows_blocks) {
  Rng rng(21);
  for (GgmlType type : kTypes) {
    for (int nr : {8, 16, 32}) {
      const int n = 2 * nr + 3, k = 96;  // the last panel is partly padding
      const std::vector<uint8_t> rows = random_blocks(type, (int64_t)n * k / 32, rng);
      const std::vector<float> ref = dequantized(type, rows, (int64_t)n * k);
      const size_t panel_bytes = wn::kernels::quant_panel_bytes(type, k, nr);
      CHECK(panel_bytes == (size_t)(k / 32) * nr * wn::kernels::quant_block_bytes(type));
      int bad = 0;
      for (int p = 0; p * nr < n; ++p) {
        std::vector<uint8_t> panel(panel_bytes, 0xee);
        wn::kernels::pack_quant_panel(type, rows.data(), n, k, nr, p, panel.data());
        std::vector<float> out((size_t)k * nr);
        wn::kernels::dequantize_quant_panel(type, panel.data(), k, nr, out.data());
        for (int c = 0; c < nr; ++c) {
          const int j = p * nr + c;
          for (int kk = 0; kk < k; ++kk) {
            const float got = out[(size_t)kk * nr + c];
            const float want = j < n ? ref[(size_t)j * k + kk] : 0.0f;  // padding reads as 0
            bad += std::memcmp(&got, &want, 4) != 0 && !(j >= n && got == 0.0f);
          }
        }
      }
      if (bad) std::printf("  %s nr=%d: %d weights differ\n", type_name(type), nr, bad);
      CHECK(bad == 0);
    }
  }
}

}  // namespace

int main() {
  return wn_test::run_all();
}
