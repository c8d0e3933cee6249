// The block-quantized weights (kernels/quant.h): the reference dequantizer on
// hand-built blocks whose values are worked out here (nibble order, high-bit
// order, offsets, minimums, block stride); the quantized panel layout against
// the reference row dequantizer; and linear() on quantized weights, on every
// ISA path this CPU supports, against double-precision sums over the
// dequantized weights, at shapes below, at and above the tile sizes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/f16.h"
#include "engine/core/thread_pool.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/quant.h"
#include "tests/check.h"
#include "tests/kernel_test_util.h"

using wn::GgmlType;
using wn::kernels::Context;
using wn::kernels::Epilogue;
using wn::kernels::Isa;
using wn::kernels::PackedWeights;

using wn_test::Rng;
using wn_test::supported_isas;

namespace {

const GgmlType kTypes[] = {GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                           GgmlType::kQ8_0};

// The name of a quantized type, for messages (ggml_type_name is in format/,
// which this test does not link).
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

// Outputs off by more than float rounding, and padding columns (j >= n) that
// were written.
int count_bad(const std::vector<float>& c, const std::vector<float>& c0,
              const wn_test::LinearReference& ref, int m, int n, int64_t ldc, double* worst) {
  int bad = 0;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < ldc; ++j) {
      const float got = c[i * ldc + j];
      if (j >= n) {
        bad += got != c0[i * ldc + j];
        continue;
      }
      const double err =
          std::fabs(got - ref.value[(size_t)i * n + j]) / ref.scale[(size_t)i * n + j];
      *worst = std::max(*worst, err);
      bad += !(err <= 2e-6);
    }
  }
  return bad;
}

struct Shape {
  int m, n, k;
};

void check_quant_linear(GgmlType type, const Shape& s, int variant, wn::ThreadPool& pool2) {
  Rng rng(1000003u * s.m + 1009u * s.n + s.k + (uint32_t)type);
  const std::vector<uint8_t> blocks = random_blocks(type, (int64_t)s.n * s.k / 32, rng);
  const std::vector<float> w = dequantized(type, blocks, (int64_t)s.n * s.k);
  const int64_t lda = s.k + 3, ldc = s.n + 5;
  std::vector<float> a((size_t)s.m * lda), bias(s.n), c0((size_t)s.m * ldc);
  for (float& x : a) x = rng.uniform(-1, 1);
  for (float& x : bias) x = rng.uniform(-1, 1);
  for (float& x : c0) x = rng.uniform(-1, 1);
  Epilogue ep;
  ep.bias = variant % 4 != 0 ? bias.data() : nullptr;
  ep.gelu = variant % 4 == 2;
  ep.accumulate = variant % 4 == 3;
  const wn_test::LinearReference ref =
      wn_test::linear_reference(a, lda, s.m, w, s.n, s.k, ep, c0, ldc);
  for (Isa isa : supported_isas()) {
    const PackedWeights pw = PackedWeights::pack(isa, type, blocks.data(), s.n, s.k);
    CHECK(pw.type() == type);
    // As many bytes as the file's blocks, plus the last panel's padding.
    CHECK(pw.bytes() >= blocks.size() && pw.bytes() < blocks.size() + (size_t)s.k / 32 * 34 * 32);
    for (int threads : {1, 2}) {
      const Context ctx{isa, threads == 2 ? &pool2 : nullptr};
      std::vector<float> c = c0;
      wn::kernels::linear(ctx, a.data(), lda, s.m, pw, c.data(), ldc, ep);
      double worst = 0;
      const int bad = count_bad(c, c0, ref, s.m, s.n, ldc, &worst);
      if (bad) {
        std::printf("  linear %s %s m=%d n=%d k=%d variant=%d threads=%d: %d bad, worst %.3g\n",
                    wn::kernels::isa_name(isa), type_name(type), s.m, s.n, s.k, variant, threads,
                    bad, worst);
      }
      CHECK(bad == 0);
    }
  }
}

// Up to 2 x kQuantRows rows (AVX2 6, AVX-512/NEON 16) take the in-register
// path, more rows the widened panel; panel widths are 8, 16 and 32 columns;
// tasks of quantized weights cover up to 384 rows, else blocks of 192.
TEST(quantized_linear_matches_double_reference_at_tile_edges) {
  wn::ThreadPool pool2(2);
  int variant = 0;
  for (GgmlType type : kTypes) {
    for (int m : {1, 2, 3, 4, 7, 9, 16, 17, 50}) {
      for (int n : {1, 8, 17, 33, 100}) {
        for (int k : {32, 96, 384}) check_quant_linear(type, {m, n, k}, variant++, pool2);
      }
    }
  }
}

TEST(quantized_linear_matches_double_reference_at_encoder_sizes) {
  wn::ThreadPool pool2(2);
  int variant = 0;
  for (GgmlType type : kTypes) {
    check_quant_linear(type, {500, 40, 384}, variant++, pool2);   // row blocks of 192, then 116
    check_quant_linear(type, {240, 33, 1536}, variant++, pool2);  // an MLP chunk into fc2
  }
}

// The vocabulary projection of a quantized model: a few rows of a against a
// tall quantized W (2100 rows span several of linear()'s tasks).
TEST(quantized_linear_matches_double_reference_at_vocabulary_shapes) {
  wn::ThreadPool pool2(2);
  for (GgmlType type : kTypes) {
    for (int m : {1, 5, 9, 17}) check_quant_linear(type, {m, 2100, 384}, 0, pool2);
  }
}

// allocate() + pack_panels() over ranges, from several threads, packs what
// pack() does.
TEST(quantized_panels_pack_in_ranges) {
  Rng rng(13);
  wn::ThreadPool pool2(2);
  for (GgmlType type : kTypes) {
    const int n = 700, k = 64;
    const std::vector<uint8_t> blocks = random_blocks(type, (int64_t)n * k / 32, rng);
    for (Isa isa : supported_isas()) {
      const PackedWeights whole = PackedWeights::pack(isa, type, blocks.data(), n, k);
      PackedWeights parts = PackedWeights::allocate(isa, type, n, k);
      CHECK(parts.n_panels() == (n + parts.panel_width() - 1) / parts.panel_width());
      const int step = 3;
      pool2.parallel_for((parts.n_panels() + step - 1) / step, [&](int64_t task, int) {
        const int p0 = (int)task * step;
        parts.pack_panels(blocks.data(), p0, std::min(parts.n_panels(), p0 + step));
      });
      CHECK(parts.bytes() == whole.bytes());
      std::vector<float> r1(k), r2(k);
      bool same = true;
      for (int i = 0; i < n; ++i) {
        whole.row(i, r1.data());
        parts.row(i, r2.data());
        same = same && std::memcmp(r1.data(), r2.data(), (size_t)k * 4) == 0;
      }
      CHECK(same);
      std::vector<float> a(k, 0.5f), c1(n), c2(n);
      wn::kernels::linear(Context{isa, nullptr}, a.data(), k, 1, whole, c1.data(), n, Epilogue{});
      wn::kernels::linear(Context{isa, nullptr}, a.data(), k, 1, parts, c2.data(), n, Epilogue{});
      CHECK(std::memcmp(c1.data(), c2.data(), (size_t)n * 4) == 0);
    }
    PackedWeights p = PackedWeights::allocate(Isa::kGeneric, type, n, k);
    CHECK_THROWS_CODE(p.pack_panels(blocks.data(), 0, p.n_panels() + 1),
                      wn::ErrorCode::kInvalidArgument);
  }
}

TEST(quantized_packed_rows_and_errors) {
  Rng rng(8);
  for (GgmlType type : kTypes) {
    const int n = 37, k = 64;
    const std::vector<uint8_t> blocks = random_blocks(type, (int64_t)n * k / 32, rng);
    const std::vector<float> w = dequantized(type, blocks, (int64_t)n * k);
    for (Isa isa : supported_isas()) {
      const PackedWeights pw = PackedWeights::pack(isa, type, blocks.data(), n, k);
      std::vector<float> row(k);
      bool same = true;
      for (int i = 0; i < n; ++i) {
        pw.row(i, row.data());
        same = same && std::memcmp(row.data(), &w[(size_t)i * k], (size_t)k * 4) == 0;
      }
      CHECK(same);
    }
    // Rows must be whole blocks.
    CHECK_THROWS_CODE(PackedWeights::pack(Isa::kGeneric, type, blocks.data(), 2, 48),
                      wn::ErrorCode::kInvalidArgument);
  }
}

}  // namespace

// linear_rows: each row bit for bit what linear() gives that row alone, for
// every storage type and path, with each epilogue, from a first column, at
// row counts around the apart tiles (1-3 rows) and on 1 or 2 threads.
TEST(linear_rows_gives_each_row_what_a_one_row_call_gives) {
  wn::ThreadPool pool2(2);
  int bad = 0, checked = 0;
  int variant = 0;
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kQ4_0, GgmlType::kQ4_1,
                        GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0}) {
    for (const Shape& s : {Shape{0, 100, 96}, Shape{0, 1000, 384}}) {
      Rng rng(77 + (uint32_t)type + (uint32_t)s.n);
      std::vector<uint8_t> blocks;
      std::vector<uint16_t> halves;
      std::vector<float> floats;
      const void* src = nullptr;
      if (type == GgmlType::kF32) {
        floats = rng.vec((size_t)s.n * s.k, -0.1f, 0.1f);
        src = floats.data();
      } else if (type == GgmlType::kF16) {
        for (float x : rng.vec((size_t)s.n * s.k, -0.1f, 0.1f)) halves.push_back(wn::f32_to_f16(x));
        src = halves.data();
      } else {
        blocks = random_blocks(type, (int64_t)s.n * s.k / 32, rng);
        src = blocks.data();
      }
      const int64_t lda = s.k + 3;
      const std::vector<float> a = rng.vec((size_t)9 * lda), bias = rng.vec((size_t)s.n);
      for (Isa isa : supported_isas()) {
        const PackedWeights pw = PackedWeights::pack(isa, type, src, s.n, s.k);
        for (int m : {1, 2, 3, 4, 5, 7, 9}) {
          Epilogue ep;
          ep.bias = variant % 4 != 0 ? bias.data() : nullptr;
          ep.gelu = variant % 4 == 2;
          ep.accumulate = variant % 4 == 3;
          const int first_column = variant % 3 == 1 ? s.n / 2 : 0;
          ++variant;
          for (int threads : {1, 2}) {
            const Context ctx{isa, threads == 2 ? &pool2 : nullptr};
            std::vector<std::vector<float>> apart, alone;
            std::vector<float*> rows;
            for (int i = 0; i < m; ++i) {
              apart.push_back(rng.vec((size_t)s.n));  // what the rows held before
              alone.push_back(apart.back());
              rows.push_back(apart.back().data());
            }
            wn::kernels::linear_rows(ctx, a.data(), lda, m, pw, rows.data(), ep, first_column);
            for (int i = 0; i < m; ++i) {
              wn::kernels::linear(ctx, a.data() + i * lda, lda, 1, pw, alone[i].data(), s.n, ep,
                                  first_column);
              ++checked;
              if (std::memcmp(apart[i].data(), alone[i].data(), sizeof(float) * s.n) != 0) {
                ++bad;
                std::printf("  %s %s m=%d n=%d k=%d row %d threads=%d: differs\n",
                            wn::kernels::isa_name(isa), type_name(type), m, s.n, s.k, i, threads);
              }
            }
          }
        }
      }
    }
  }
  std::printf("  %d rows compared\n", checked);
  CHECK(checked > 0);
  CHECK(bad == 0);
}

TEST(linear_rows_checks_its_outputs) {
  Rng rng(5);
  const std::vector<float> w = rng.vec(64 * 32), a = rng.vec(2 * 32);
  const PackedWeights pw = PackedWeights::pack(Isa::kGeneric, GgmlType::kF32, w.data(), 64, 32);
  std::vector<float> row(64);
  float* rows[2] = {row.data(), nullptr};
  const Context ctx{Isa::kGeneric, nullptr};
  CHECK_THROWS_CODE(wn::kernels::linear_rows(ctx, a.data(), 32, 2, pw, rows, Epilogue{}),
                    wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(wn::kernels::linear_rows(ctx, a.data(), 32, 1, pw, nullptr, Epilogue{}),
                    wn::ErrorCode::kInvalidArgument);
  Epilogue blocks;
  blocks.block_width = 64;
  blocks.block_stride = 64;
  CHECK_THROWS_CODE(wn::kernels::linear_rows(ctx, a.data(), 32, 1, pw, rows, blocks),
                    wn::ErrorCode::kInvalidArgument);
}

int main() {
  std::printf("ISA paths tested:");
  for (Isa isa : supported_isas()) std::printf(" %s", wn::kernels::isa_name(isa));
  std::printf("\n");
  return wn_test::run_all();
}
