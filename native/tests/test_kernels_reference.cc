// Every kernel op on every ISA path this CPU supports, against naive
// double-precision implementations written here, at sizes below, at and above
// the micro-tile sizes, with f16 and f32 weights, every epilogue, causal
// offsets, and 1 and 2 threads.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/f16.h"
#include "engine/core/thread_pool.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/kernels_internal.h"
#include "tests/check.h"
#include "tests/kernel_test_util.h"

using wn::GgmlType;
using wn::kernels::Context;
using wn::kernels::Epilogue;
using wn::kernels::Isa;
using wn::kernels::PackedWeights;
using wn_test::gelu_ref;
using wn_test::Rng;
using wn_test::supported_isas;

namespace {

// Weights in both storage types; `widened` is what the kernels must compute
// with (f16 rounding applied).
struct TestWeights {
  std::vector<uint16_t> f16;
  std::vector<float> f32;
  std::vector<float> widened;
};

TestWeights make_weights(Rng& rng, GgmlType type, int n, int k) {
  TestWeights w;
  w.f32 = rng.vec((size_t)n * k);
  if (type == GgmlType::kF16) {
    w.f16.resize(w.f32.size());
    for (size_t i = 0; i < w.f32.size(); ++i) w.f16[i] = wn::f32_to_f16(w.f32[i]);
    w.widened.resize(w.f32.size());
    for (size_t i = 0; i < w.f16.size(); ++i) w.widened[i] = wn::f16_to_f32(w.f16[i]);
  } else {
    w.widened = w.f32;
  }
  return w;
}

struct LinearCase {
  int m, n, k;
  GgmlType type;
};

// Checks linear() for one shape on every ISA, with 1 and 2 threads and an
// epilogue chosen by `variant`, against a double-precision reference.
void check_linear_case(const LinearCase& lc, int variant, wn::ThreadPool& pool2) {
  const int m = lc.m, n = lc.n, k = lc.k;
  Rng rng(1000003u * m + 1009u * n + k + (lc.type == GgmlType::kF16 ? 7 : 0));
  const TestWeights w = make_weights(rng, lc.type, n, k);
  const int64_t lda = k + 3, ldc = n + 5;
  const std::vector<float> a = rng.vec((size_t)m * lda);
  const std::vector<float> bias = rng.vec(n);
  const std::vector<float> c0 = rng.vec((size_t)m * ldc);
  Epilogue ep;
  ep.bias = (variant % 5 == 1 || variant % 5 == 2 || variant % 5 == 3) ? bias.data() : nullptr;
  ep.gelu = variant % 5 == 2 || variant % 5 == 4;
  ep.accumulate = variant % 5 == 3 || variant % 5 == 4;

  // Reference, and a per-element error scale (sum of |terms|).
  const wn_test::LinearReference r =
      wn_test::linear_reference(a, lda, m, w.widened, n, k, ep, c0, ldc);
  const std::vector<double>& ref = r.value;
  const std::vector<double>& scale = r.scale;
  const void* src = lc.type == GgmlType::kF16 ? (const void*)w.f16.data() : w.f32.data();
  for (Isa isa : supported_isas()) {
    const PackedWeights pw = PackedWeights::pack(isa, lc.type, src, n, k);
    for (int threads : {1, 2}) {
      Context ctx;
      ctx.isa = isa;
      ctx.pool = threads == 2 ? &pool2 : nullptr;
      std::vector<float> c = c0;
      wn::kernels::linear(ctx, a.data(), lda, m, pw, c.data(), ldc, ep);
      int bad = 0;
      double worst = 0;
      for (int i = 0; i < m; ++i) {
        for (int j = 0; j < ldc; ++j) {
          const float got = c[i * ldc + j];
          if (j >= n) {  // padding columns must be untouched
            if (got != c0[i * ldc + j]) bad++;
            continue;
          }
          const double err = std::fabs(got - ref[(size_t)i * n + j]) / scale[(size_t)i * n + j];
          worst = std::max(worst, err);
          if (!(err <= 2e-6)) bad++;
        }
      }
      if (bad) {
        std::printf("  linear %s %s m=%d n=%d k=%d variant=%d threads=%d: %d bad, worst %.3g\n",
                    wn::kernels::isa_name(isa), lc.type == GgmlType::kF16 ? "f16" : "f32", m, n, k,
                    variant, threads, bad, worst);
      }
      CHECK(bad == 0);
    }
  }
}

TEST(linear_matches_double_reference_at_tile_edges) {
  wn::ThreadPool pool2(2);
  int variant = 0;
  for (GgmlType type : {GgmlType::kF16, GgmlType::kF32}) {
    for (int m : {1, 2, 7, 16, 33}) {
      for (int n : {1, 15, 16, 17, 384, 1536}) {
        for (int k : {3, 80, 240, 384, 1152}) check_linear_case({m, n, k, type}, variant++, pool2);
      }
    }
  }
}

TEST(linear_matches_double_reference_at_encoder_sizes) {
  wn::ThreadPool pool2(2);
  check_linear_case({1500, 384, 384, GgmlType::kF16}, 2, pool2);
  check_linear_case({1500, 17, 1152, GgmlType::kF16}, 3, pool2);
  check_linear_case({1500, 33, 80, GgmlType::kF32}, 4, pool2);
}

// A decoder's few rows against a matrix of many panels and megabytes (as the
// token embedding is) are split into shrinking groups of panels
// (guided_groups in kernels.cc): every column is still computed, correctly,
// and to the same bits on any number of threads, the group boundaries
// differing with it.
TEST(linear_of_a_streamed_matrix_gives_the_same_bits_on_any_threads) {
  const int n = 12000, k = 384;  // 375 to 1500 panels, 9.2 MB of f16
  wn::ThreadPool pool2(2), pool3(3), pool8(8);
  for (int m : {1, 3}) check_linear_case({m, n, k, GgmlType::kF16}, /*variant=*/1, pool2);
  Rng rng(77);
  const TestWeights w = make_weights(rng, GgmlType::kF16, n, k);
  for (Isa isa : supported_isas()) {
    const PackedWeights pw = PackedWeights::pack(isa, GgmlType::kF16, w.f16.data(), n, k);
    for (int m : {1, 3, 8}) {
      const std::vector<float> a = rng.vec((size_t)m * k);
      std::vector<float> alone((size_t)m * n);
      wn::kernels::linear(Context{isa, nullptr}, a.data(), k, m, pw, alone.data(), n, Epilogue{});
      for (wn::ThreadPool* pool : {&pool2, &pool3, &pool8}) {
        for (int first : {0, 5000}) {
          std::vector<float> c((size_t)m * n, 0.0f);
          wn::kernels::linear(Context{isa, pool}, a.data(), k, m, pw, c.data(), n, Epilogue{},
                              first);
          const int from = first / pw.panel_width() * pw.panel_width();
          int bad = 0;
          for (int i = 0; i < m; ++i) {
            for (int j = from; j < n; ++j) {
              bad += std::memcmp(&c[(size_t)i * n + j], &alone[(size_t)i * n + j], 4) != 0;
            }
          }
          if (bad) {
            std::printf("  streamed linear %s m=%d threads=%d first=%d: %d differ\n",
                        wn::kernels::isa_name(isa), m, pool->size(), first, bad);
          }
          CHECK(bad == 0);
        }
      }
    }
  }
}

// Column blocks (Epilogue::block_width): every element is the one linear()
// computes without them, stored in its block, and nothing else is written.
TEST(linear_column_blocks_store_each_block_as_a_matrix) {
  wn::ThreadPool pool2(2);
  for (GgmlType type : {GgmlType::kF16, GgmlType::kF32}) {
    for (const auto& [m, n, k] :
         {std::tuple<int, int, int>{7, 128, 40}, {61, 384, 96}, {1500, 1152, 384}}) {
      Rng rng(31u * m + n + k);
      const TestWeights w = make_weights(rng, type, n, k);
      const std::vector<float> a = rng.vec((size_t)m * k);
      const std::vector<float> bias = rng.vec(n);
      const void* src = type == GgmlType::kF16 ? (const void*)w.f16.data() : w.f32.data();
      for (Isa isa : supported_isas()) {
        const PackedWeights pw = PackedWeights::pack(isa, type, src, n, k);
        for (int threads : {1, 2}) {
          const Context ctx{isa, threads == 2 ? &pool2 : nullptr};
          Epilogue ep{bias.data(), /*gelu=*/true};
          std::vector<float> plain((size_t)m * n);
          wn::kernels::linear(ctx, a.data(), k, m, pw, plain.data(), n, ep);
          const int width = 64, ld = width + 3;
          const int64_t stride = (int64_t)m * ld + 11;
          std::vector<float> blocks((size_t)(stride * (n / width)), -7.0f);
          ep.block_width = width;
          ep.block_stride = stride;
          wn::kernels::linear(ctx, a.data(), k, m, pw, blocks.data(), ld, ep);
          int bad = 0;
          for (int64_t at = 0; at < (int64_t)blocks.size(); ++at) {
            const int64_t b = at / stride, i = at % stride / ld, j = at % stride % ld;
            const bool inside = at % stride < (int64_t)m * ld && j < width;
            const float want = inside ? plain[i * n + b * width + j] : -7.0f;
            if (blocks[at] != want) bad++;
          }
          if (bad) {
            std::printf("  column blocks %s m=%d n=%d k=%d threads=%d: %d bad\n",
                        wn::kernels::isa_name(isa), m, n, k, threads, bad);
          }
          CHECK(bad == 0);
        }
      }
    }
  }
  // Widths that would split a panel, that do not divide n, or blocks that overlap.
  const Context ctx{Isa::kGeneric, nullptr};
  std::vector<float> a(4 * 8, 1.0f), c(4096);
  Rng rng(5);
  const TestWeights w = make_weights(rng, GgmlType::kF32, 128, 8);
  const PackedWeights pw = PackedWeights::pack(Isa::kGeneric, GgmlType::kF32, w.f32.data(), 128, 8);
  for (const auto& [width, stride] : {std::pair<int, int64_t>{32, 512}, {96, 512}, {64, 64 * 3}}) {
    Epilogue ep;
    ep.block_width = width;
    ep.block_stride = stride;
    CHECK_THROWS_CODE(wn::kernels::linear(ctx, a.data(), 8, 4, pw, c.data(), 64, ep),
                      wn::ErrorCode::kInvalidArgument);
  }
}

TEST(packed_weights_rows_and_errors) {
  Rng rng(5);
  const int n = 37, k = 19;
  for (GgmlType type : {GgmlType::kF16, GgmlType::kF32}) {
    const TestWeights w = make_weights(rng, type, n, k);
    const void* src = type == GgmlType::kF16 ? (const void*)w.f16.data() : w.f32.data();
    for (Isa isa : supported_isas()) {
      const PackedWeights pw = PackedWeights::pack(isa, type, src, n, k);
      CHECK(pw.n() == n && pw.k() == k && pw.isa() == isa);
      CHECK(pw.bytes() >= (size_t)n * k * (type == GgmlType::kF16 ? 2 : 4));
      std::vector<float> row(k);
      bool same = true;
      for (int i = 0; i < n; ++i) {
        pw.row(i, row.data());
        same = same && std::memcmp(row.data(), &w.widened[(size_t)i * k], k * sizeof(float)) == 0;
      }
      CHECK(same);
      CHECK_THROWS_CODE(pw.row(n, row.data()), wn::ErrorCode::kInvalidArgument);
      std::vector<float> a(k), c(n);
      CHECK_THROWS_CODE(wn::kernels::linear(Context{isa, nullptr}, a.data(), k - 1, 1, pw, c.data(),
                                            n, Epilogue{}),
                        wn::ErrorCode::kInvalidArgument);
    }
  }
  const uint8_t q[256] = {};  // K-quants have no kernels (the block types: test_kernels_quant)
  CHECK_THROWS_CODE(PackedWeights::pack(Isa::kGeneric, GgmlType::kQ4_K, q, 1, 256),
                    wn::ErrorCode::kUnsupportedTensorType);
  CHECK_THROWS_CODE(PackedWeights::pack(Isa::kGeneric, GgmlType::kF32, q, 0, 4),
                    wn::ErrorCode::kInvalidArgument);
  PackedWeights empty;
  std::vector<float> a(4), c(4);
  CHECK_THROWS_CODE(wn::kernels::linear(Context{}, a.data(), 4, 1, empty, c.data(), 4, Epilogue{}),
                    wn::ErrorCode::kInvalidArgument);
}

// The panel layout as the scalar packer wrote it before the f16 path got its
// 8x8 transposes: panel p, element (kk, jj) = W[p*nr + jj][kk], zero past n.
std::vector<uint8_t> reference_panels(const uint8_t* src, size_t es, int n, int k, int nr) {
  const int n_panels = (n + nr - 1) / nr;
  std::vector<uint8_t> out((size_t)n_panels * k * nr * es, 0);
  for (int p = 0; p < n_panels; ++p) {
    for (int jj = 0; jj < nr && p * nr + jj < n; ++jj) {
      const uint8_t* row = src + (size_t)(p * nr + jj) * k * es;
      for (int kk = 0; kk < k; ++kk) {
        std::memcpy(&out[(((size_t)p * k + kk) * nr + jj) * es], row + (size_t)kk * es, es);
      }
    }
  }
  return out;
}

TEST(packed_panels_equal_the_reference_layout_from_unaligned_sources) {
  Rng rng(11);
  for (GgmlType type : {GgmlType::kF16, GgmlType::kF32}) {
    const size_t es = type == GgmlType::kF16 ? 2 : 4;
    for (int n : {1, 8, 13, 32, 64, 100}) {
      for (int k : {1, 7, 8, 9, 64, 385}) {
        const TestWeights w = make_weights(rng, type, n, k);
        std::vector<uint8_t> storage((size_t)n * k * es + 1);  // a record at an odd address
        std::memcpy(storage.data() + 1,
                    type == GgmlType::kF16 ? (const void*)w.f16.data() : (const void*)w.f32.data(),
                    (size_t)n * k * es);
        for (Isa isa : supported_isas()) {
          const PackedWeights pw = PackedWeights::pack(isa, type, storage.data() + 1, n, k);
          const std::vector<uint8_t> ref =
              reference_panels(storage.data() + 1, es, n, k, pw.panel_width());
          const bool same = pw.impl()->data_bytes == ref.size() &&
                            std::memcmp(pw.impl()->base, ref.data(), ref.size()) == 0;
          if (!same) {
            std::printf("  %s %s n=%d k=%d: panels differ\n", wn::kernels::isa_name(isa),
                        type == GgmlType::kF16 ? "f16" : "f32", n, k);
          }
          CHECK(same);
        }
      }
    }
  }
}

// allocate_in(): the same panels in the caller's memory, which it leaves to
// the caller (a free of it here would be a double free of the vector's).
TEST(packed_weights_in_caller_storage) {
  Rng rng(12);
  const int n = 70, k = 40;
  const TestWeights w = make_weights(rng, GgmlType::kF16, n, k);
  for (Isa isa : supported_isas()) {
    const PackedWeights own = PackedWeights::pack(isa, GgmlType::kF16, w.f16.data(), n, k);
    const size_t bytes = PackedWeights::storage_bytes(isa, GgmlType::kF16, n, k);
    CHECK(bytes == own.bytes());
    std::vector<uint8_t> storage(bytes + 64);
    uint8_t* aligned =
        storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
    {
      PackedWeights lent = PackedWeights::allocate_in(aligned, isa, GgmlType::kF16, n, k);
      lent.pack_panels(w.f16.data(), 0, lent.n_panels());
      CHECK(lent.impl()->base == aligned && lent.bytes() == bytes);
      CHECK(std::memcmp(aligned, own.impl()->base, bytes) == 0);
    }
    // Another shape in the same memory.
    PackedWeights again = PackedWeights::allocate_in(aligned, isa, GgmlType::kF16, k, 16);
    again.pack_panels(w.f16.data(), 0, again.n_panels());
    std::vector<float> row(16);
    again.row(k - 1, row.data());
    CHECK(std::memcmp(row.data(), &w.widened[(size_t)(k - 1) * 16], 16 * sizeof(float)) == 0);
    CHECK_THROWS_CODE(PackedWeights::allocate_in(aligned + 4, isa, GgmlType::kF16, n, k),
                      wn::ErrorCode::kInvalidArgument);
  }
}

// pack_panel_rows(): panels packed from copies of their own rows alone (what
// a low-memory encoder reads from the file), f16 and f32, the last panel
// partial, are the panels pack() makes.
TEST(panels_pack_from_their_own_rows) {
  Rng rng(31);
  const int n = 100, k = 48;
  for (GgmlType type : {GgmlType::kF16, GgmlType::kF32}) {
    const TestWeights w = make_weights(rng, type, n, k);
    const uint8_t* src = type == GgmlType::kF16
                             ? reinterpret_cast<const uint8_t*>(w.f16.data())
                             : reinterpret_cast<const uint8_t*>(w.widened.data());
    const size_t row_bytes = (size_t)k * (type == GgmlType::kF16 ? 2 : 4);
    for (Isa isa : supported_isas()) {
      const PackedWeights whole = PackedWeights::pack(isa, type, src, n, k);
      PackedWeights parts = PackedWeights::allocate(isa, type, n, k);
      const int nr = parts.panel_width();
      for (int p0 = 0; p0 < parts.n_panels(); p0 += 2) {
        const int p1 = std::min(parts.n_panels(), p0 + 2);
        const int rows = std::min(n, p1 * nr) - p0 * nr;
        const std::vector<uint8_t> own(src + (size_t)p0 * nr * row_bytes,
                                       src + ((size_t)p0 * nr + rows) * row_bytes);
        parts.pack_panel_rows(own.data(), p0, p1);
      }
      CHECK(std::memcmp(parts.impl()->base, whole.impl()->base, whole.bytes()) == 0);
      CHECK_THROWS_CODE(parts.pack_panel_rows(src, 0, parts.n_panels() + 1),
                        wn::ErrorCode::kInvalidArgument);
      CHECK_THROWS_CODE(parts.pack_panel_rows(nullptr, 0, 1), wn::ErrorCode::kInvalidArgument);
    }
  }
}

// linear() from first_column on (the decoder's vocabulary projection after a
// segment's closing timestamp): the panels from the one holding first_column
// compute exactly what a full linear() does, those wholly below it are not
// written, for every ISA, 1 and 2 threads, f16 and f32, the decoder's few
// rows and beams.
TEST(linear_from_a_first_column_leaves_the_panels_below_it_alone) {
  wn::ThreadPool pool2(2);
  for (GgmlType type : {GgmlType::kF16, GgmlType::kF32}) {
    const int n = 2100, k = 384;
    Rng rng(type == GgmlType::kF16 ? 11 : 12);
    const TestWeights w = make_weights(rng, type, n, k);
    const void* src = type == GgmlType::kF16 ? (const void*)w.f16.data() : w.f32.data();
    for (Isa isa : supported_isas()) {
      const PackedWeights pw = PackedWeights::pack(isa, type, src, n, k);
      const int nr = pw.panel_width();
      for (int m : {1, 2, 5}) {
        const std::vector<float> a = rng.vec((size_t)m * k);
        for (int threads : {1, 2}) {
          const Context ctx{isa, threads == 2 ? &pool2 : nullptr};
          std::vector<float> full((size_t)m * n);
          wn::kernels::linear(ctx, a.data(), k, m, pw, full.data(), n, Epilogue{});
          for (int first : {1, nr - 1, nr, 3 * nr + 5, n - 1}) {
            const float sentinel = 12345.0f;
            std::vector<float> part((size_t)m * n, sentinel);
            wn::kernels::linear(ctx, a.data(), k, m, pw, part.data(), n, Epilogue{}, first);
            const int computed_from = first / nr * nr;
            int bad = 0;
            for (int i = 0; i < m; ++i) {
              for (int j = 0; j < n; ++j) {
                const float want = j < computed_from ? sentinel : full[(size_t)i * n + j];
                bad += part[(size_t)i * n + j] != want;
              }
            }
            if (bad) {
              std::printf("  linear first_column %s m=%d first=%d threads=%d: %d bad\n",
                          wn::kernels::isa_name(isa), m, first, threads, bad);
            }
            CHECK(bad == 0);
          }
        }
      }
      std::vector<float> a(k), c(n);
      for (int first : {-1, n}) {
        CHECK_THROWS_CODE(
            wn::kernels::linear(Context{isa, nullptr}, a.data(), k, 1, pw, c.data(), n, {}, first),
            wn::ErrorCode::kInvalidArgument);
      }
    }
  }
}

struct AttentionCase {
  int n_q, n_kv, n_head, d_head, causal_offset;
};

// kv_f16: keys and values stored as f16 (the reference uses the rounded values).
// head_blocks: each head's rows in a block of their own with a gap between
// heads: with kv_f16 the keys and values ([n_head][n_kv][d_head]), as the
// decoder's cross attention stores them; with f32 the queries too, as the
// encoder lays out its q, k and v (HeadStrides).
void check_attention_case(const AttentionCase& ac, bool kv_f16, wn::ThreadPool& pool2,
                          bool head_blocks = false) {
  const int width = ac.n_head * ac.d_head;
  const int64_t ldq = width + 1, ldk = width + 2, ldv = width + 3, ldo = width + 4;
  Rng rng(77u * ac.n_q + 13u * ac.n_kv + ac.d_head);
  // Wide value range so softmax sees large score differences.
  const std::vector<float> q = rng.vec((size_t)ac.n_q * ldq, -3, 3);
  std::vector<float> k = rng.vec((size_t)ac.n_kv * ldk, -3, 3);
  std::vector<float> v = rng.vec((size_t)ac.n_kv * ldv);
  std::vector<uint16_t> k16(k.size()), v16(v.size());
  for (size_t i = 0; i < k.size(); ++i) k16[i] = wn::f32_to_f16(k[i]);
  for (size_t i = 0; i < v.size(); ++i) v16[i] = wn::f32_to_f16(v[i]);
  if (kv_f16) {
    for (size_t i = 0; i < k.size(); ++i) k[i] = wn::f16_to_f32(k16[i]);
    for (size_t i = 0; i < v.size(); ++i) v[i] = wn::f16_to_f32(v16[i]);
  }
  const float scale = 1.0f / std::sqrt((float)ac.d_head);
  std::vector<double> ref((size_t)ac.n_q * width, 0.0);
  std::vector<double> p(ac.n_kv);
  for (int h = 0; h < ac.n_head; ++h) {
    for (int i = 0; i < ac.n_q; ++i) {
      int visible = ac.n_kv;
      if (ac.causal_offset >= 0) visible = std::min(ac.n_kv, ac.causal_offset + i + 1);
      double mx = -1e300, sum = 0;
      for (int t = 0; t < visible; ++t) {
        double dot = 0;
        for (int e = 0; e < ac.d_head; ++e) {
          dot += (double)q[i * ldq + h * ac.d_head + e] * k[t * ldk + h * ac.d_head + e];
        }
        p[t] = dot * scale;
        mx = std::max(mx, p[t]);
      }
      for (int t = 0; t < visible; ++t) sum += (p[t] = std::exp(p[t] - mx));
      for (int t = 0; t < visible; ++t) {
        for (int e = 0; e < ac.d_head; ++e) {
          ref[(size_t)i * width + h * ac.d_head + e] += p[t] / sum * v[t * ldv + h * ac.d_head + e];
        }
      }
    }
  }
  for (Isa isa : supported_isas()) {
    for (int threads : {1, 2}) {
      const Context ctx{isa, threads == 2 ? &pool2 : nullptr};
      std::vector<float> out((size_t)ac.n_q * ldo, 42.0f);
      if (kv_f16 && head_blocks) {
        const int64_t stride = (int64_t)ac.n_kv * ac.d_head + 5;
        std::vector<uint16_t> kb((size_t)(stride * ac.n_head), 0x7e00), vb(kb.size(), 0x7e00);
        for (int h = 0; h < ac.n_head; ++h) {
          for (int t = 0; t < ac.n_kv; ++t) {
            for (int e = 0; e < ac.d_head; ++e) {
              kb[h * stride + t * ac.d_head + e] = k16[t * ldk + h * ac.d_head + e];
              vb[h * stride + t * ac.d_head + e] = v16[t * ldv + h * ac.d_head + e];
            }
          }
        }
        wn::kernels::attention(ctx, q.data(), ldq, ac.n_q, kb.data(), ac.d_head, vb.data(),
                               ac.d_head, ac.n_kv, ac.n_head, ac.d_head, scale, ac.causal_offset,
                               out.data(), ldo, stride, stride);
      } else if (head_blocks) {
        // Gaps of NaN between the blocks: a read outside its head would show.
        const int64_t q_stride = (int64_t)ac.n_q * ac.d_head + 3;
        const int64_t kv_stride = (int64_t)ac.n_kv * ac.d_head + 5;
        std::vector<float> qb((size_t)(q_stride * ac.n_head), NAN);
        std::vector<float> kb((size_t)(kv_stride * ac.n_head), NAN), vb(kb.size(), NAN);
        for (int h = 0; h < ac.n_head; ++h) {
          for (int e = 0; e < ac.d_head; ++e) {
            for (int i = 0; i < ac.n_q; ++i) {
              qb[h * q_stride + i * ac.d_head + e] = q[i * ldq + h * ac.d_head + e];
            }
            for (int t = 0; t < ac.n_kv; ++t) {
              kb[h * kv_stride + t * ac.d_head + e] = k[t * ldk + h * ac.d_head + e];
              vb[h * kv_stride + t * ac.d_head + e] = v[t * ldv + h * ac.d_head + e];
            }
          }
        }
        wn::kernels::attention(ctx, qb.data(), ac.d_head, ac.n_q, kb.data(), ac.d_head, vb.data(),
                               ac.d_head, ac.n_kv, ac.n_head, ac.d_head, scale, ac.causal_offset,
                               out.data(), ldo, /*key_scratch=*/nullptr,
                               {q_stride, kv_stride, kv_stride});
      } else if (kv_f16) {
        wn::kernels::attention(ctx, q.data(), ldq, ac.n_q, k16.data(), ldk, v16.data(), ldv,
                               ac.n_kv, ac.n_head, ac.d_head, scale, ac.causal_offset, out.data(),
                               ldo);
      } else {
        wn::kernels::attention(ctx, q.data(), ldq, ac.n_q, k.data(), ldk, v.data(), ldv, ac.n_kv,
                               ac.n_head, ac.d_head, scale, ac.causal_offset, out.data(), ldo);
      }
      int bad = 0;
      double worst = 0;
      for (int i = 0; i < ac.n_q; ++i) {
        for (int j = 0; j < ldo; ++j) {
          const float got = out[i * ldo + j];
          if (j >= width) {
            if (got != 42.0f) bad++;
            continue;
          }
          const double err = std::fabs(got - ref[(size_t)i * width + j]);
          worst = std::max(worst, err);
          if (!(err <= 3e-6)) bad++;
        }
      }
      if (bad) {
        std::printf(
            "  attention %s%s%s n_q=%d n_kv=%d heads=%d d=%d causal=%d threads=%d: %d bad, "
            "worst %.3g\n",
            wn::kernels::isa_name(isa), kv_f16 ? " f16 K/V" : "",
            head_blocks ? " in head blocks" : "", ac.n_q, ac.n_kv, ac.n_head, ac.d_head,
            ac.causal_offset, threads, bad, worst);
      }
      CHECK(bad == 0);
    }
  }
}

TEST(attention_matches_double_reference) {
  wn::ThreadPool pool2(2);
  const AttentionCase cases[] = {
      {1, 1, 1, 64, -1},
      {1, 1500, 6, 64, -1},
      {1, 37, 6, 64, 36},
      {5, 17, 6, 64, 12},
      {5, 1500, 6, 64, -1},  // a beam search's rows on a window's cross K/V
      // Rows that see every key, batched 4, 3 and 2 at a time (AVX-512),
      // key counts that are not a multiple of 4.
      {4, 37, 6, 64, -1},
      {3, 1501, 6, 64, -1},
      {2, 70, 6, 64, -1},
      {3, 0, 6, 64, -1},  // no keys at all: zeros
      {3, 3, 2, 64, 0},
      {16, 16, 1, 64, 0},
      {33, 33, 2, 64, 0},
      {70, 90, 6, 64, -1},
      {200, 300, 2, 64, -1},
      {64, 64, 3, 24, 0},
      {17, 31, 2, 7, -1},
      {40, 40, 1, 64, 0},
      {129, 200, 1, 64, 71},
      // Many key tiles of the running softmax (64 keys on AVX-512, 32 on
      // AVX2, 16 on NEON); causal rows that end before, inside and after a
      // tile boundary, and blocks whose rows see different tiles.
      {30, 1100, 2, 64, -1},
      {48, 1030, 1, 64, 1000},
      {25, 600, 2, 64, 500},
  };
  for (const auto& ac : cases) {
    check_attention_case(ac, /*kv_f16=*/false, pool2);
    check_attention_case(ac, /*kv_f16=*/true, pool2);
    check_attention_case(ac, /*kv_f16=*/true, pool2, /*head_blocks=*/true);
    check_attention_case(ac, /*kv_f16=*/false, pool2, /*head_blocks=*/true);
  }
}

TEST(attention_rejects_head_layouts_that_overlap) {
  const Context ctx{Isa::kGeneric, nullptr};
  std::vector<float> q(2 * 64), out(2 * 64);
  std::vector<uint16_t> kv(10 * 64);
  // Two heads of 32 over 10 keys: column ranges need rows of >= 64, blocks a
  // stride of >= 10 rows.
  CHECK_THROWS_CODE(wn::kernels::attention(ctx, q.data(), 64, 1, kv.data(), 32, kv.data(), 64, 10,
                                           2, 32, 1.0f, -1, out.data(), 64),
                    wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(wn::kernels::attention(ctx, q.data(), 64, 1, kv.data(), 32, kv.data(), 32, 10,
                                           2, 32, 1.0f, -1, out.data(), 64, 9 * 32, 10 * 32),
                    wn::ErrorCode::kInvalidArgument);
  wn::kernels::attention(ctx, q.data(), 64, 1, kv.data(), 32, kv.data(), 32, 10, 2, 32, 1.0f, -1,
                         out.data(), 64, 10 * 32, 10 * 32);
  CHECK(std::isfinite(out[0]));
}

TEST(layer_norm_matches_double_reference) {
  wn::ThreadPool pool2(2);
  for (int m : {1, 7, 33, 300}) {
    for (int n : {1, 15, 16, 17, 384}) {
      Rng rng(m * 31 + n);
      const int64_t ld = n + 2;
      const std::vector<float> x = rng.vec((size_t)m * ld, 4, 6);  // mean far from 0
      const std::vector<float> gamma = rng.vec(n), beta = rng.vec(n);
      const float eps = 1e-5f;
      for (Isa isa : supported_isas()) {
        for (int threads : {1, 2}) {
          const Context ctx{isa, threads == 2 ? &pool2 : nullptr};
          std::vector<float> y = x;  // in place
          wn::kernels::layer_norm(ctx, y.data(), ld, m, n, gamma.data(), beta.data(), eps, y.data(),
                                  ld);
          int bad = 0;
          for (int i = 0; i < m; ++i) {
            double mean = 0, var = 0;
            for (int j = 0; j < n; ++j) mean += x[i * ld + j];
            mean /= n;
            for (int j = 0; j < n; ++j) var += (x[i * ld + j] - mean) * (x[i * ld + j] - mean);
            var /= n;
            for (int j = 0; j < n; ++j) {
              const double r = (x[i * ld + j] - mean) / std::sqrt(var + eps) * gamma[j] + beta[j];
              if (!(std::fabs(y[i * ld + j] - r) <= 2e-5 * (1 + std::fabs(r)))) bad++;
            }
            for (int j = n; j < ld; ++j) bad += y[i * ld + j] != x[i * ld + j];
          }
          if (bad)
            std::printf("  layer_norm %s m=%d n=%d: %d bad\n", wn::kernels::isa_name(isa), m, n,
                        bad);
          CHECK(bad == 0);
        }
      }
    }
  }
}

TEST(gelu_matches_double_erf) {
  wn::ThreadPool pool2(2);
  Rng rng(9);
  std::vector<float> x = rng.vec(100003, -12, 12);
  const float specials[] = {0.0f,  -0.0f, 1e-30f, -1e-30f, 1e-3f, -1e-3f, 0.5f,   -0.5f, 3.0f,
                            -3.0f, 5.0f,  -5.0f,  9.0f,    -9.0f, 20.0f,  -20.0f, 80.0f, -80.0f};
  std::copy(std::begin(specials), std::end(specials), x.begin());
  for (Isa isa : supported_isas()) {
    for (int n : {1, 7, 15, 16, 17, 33, 100003}) {
      const Context ctx{isa, n > 100 ? &pool2 : nullptr};
      std::vector<float> y(x.begin(), x.begin() + n);
      wn::kernels::gelu(ctx, y.data(), n);
      int bad = 0;
      double worst = 0;
      for (int i = 0; i < n; ++i) {
        const double r = gelu_ref(x[i]);
        const double err = std::fabs(y[i] - r);
        worst = std::max(worst, err / (std::fabs(r) + 1e-30));
        // Relative accuracy 1e-6, widened in the negative tail by the
        // problem's own conditioning: rounding x/sqrt(2) to float moves
        // erfc(-x/sqrt(2)) by ~x^2 * 2^-23 relative. 1e-37 absolute for
        // values that underflow float.
        const double tol = std::fabs(r) * (1e-6 + 1.2e-7 * (double)x[i] * x[i]) + 1e-37;
        if (!(err <= tol)) bad++;
      }
      if (bad)
        std::printf("  gelu %s n=%d: %d bad, worst rel %.3g\n", wn::kernels::isa_name(isa), n, bad,
                    worst);
      CHECK(bad == 0);
    }
  }
}

TEST(add_and_f16_to_f32_are_exact) {
  wn::ThreadPool pool2(2);
  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[i] = (uint16_t)i;
  Rng rng(3);
  for (Isa isa : supported_isas()) {
    for (int threads : {1, 2}) {
      const Context ctx{isa, threads == 2 ? &pool2 : nullptr};
      std::vector<float> out(65536);
      wn::kernels::f16_to_f32(ctx, all.data(), out.data(), 65536);
      int bad = 0;
      for (int i = 0; i < 65536; ++i) {
        const float r = wn::f16_to_f32((uint16_t)i);
        if (std::isnan(r) ? !std::isnan(out[i]) : std::memcmp(&r, &out[i], 4) != 0) bad++;
      }
      CHECK(bad == 0);
      for (int n : {1, 15, 16, 17, 70001}) {
        const std::vector<float> x = rng.vec(n), y0 = rng.vec(n);
        std::vector<float> y = y0;
        wn::kernels::add(ctx, y.data(), x.data(), n);
        int wrong = 0;
        for (int i = 0; i < n; ++i) wrong += y[i] != y0[i] + x[i];
        CHECK(wrong == 0);
      }
    }
  }
}

TEST(f32_to_f16_rounds_like_the_scalar_reference) {
  wn::ThreadPool pool2(2);
  Rng rng(11);
  // Every half widened (exact round trips), then random floats over the
  // normal, subnormal and overflowing ranges (ties included by the density).
  std::vector<float> x;
  for (int i = 0; i < 65536; ++i) x.push_back(wn::f16_to_f32((uint16_t)i));
  for (float hi : {1e-7f, 1e-4f, 1.0f, 300.0f, 70000.0f}) {
    const std::vector<float> r = rng.vec(20001, -hi, hi);
    x.insert(x.end(), r.begin(), r.end());
  }
  for (Isa isa : supported_isas()) {
    for (int threads : {1, 2}) {
      const Context ctx{isa, threads == 2 ? &pool2 : nullptr};
      std::vector<uint16_t> out(x.size());
      wn::kernels::f32_to_f16(ctx, x.data(), out.data(), (int64_t)x.size());
      int bad = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        if (std::isnan(x[i])) {
          bad += (out[i] & 0x7c00u) != 0x7c00u || (out[i] & 0x3ffu) == 0;  // any NaN
        } else {
          bad += out[i] != wn::f32_to_f16(x[i]);
        }
      }
      if (bad) std::printf("  f32_to_f16 %s: %d bad\n", wn::kernels::isa_name(isa), bad);
      CHECK(bad == 0);
    }
  }
}

// The passes over a row of logits: sizes around the vector width and the
// 512-entry blocks of max_index, NaN and -inf entries (masked tokens), ties
// (the first index wins), a row with nothing allowed, and +inf.
TEST(f32_to_f16_rows_narrows_a_strided_block_and_nothing_else) {
  wn::ThreadPool pool2(2);
  Rng rng(5);
  const int rows = 700, cols = 64;
  const int64_t ld_src = 768, ld_dst = 70;
  const std::vector<float> src = rng.vec((size_t)rows * ld_src, -4, 4);
  for (Isa isa : supported_isas()) {
    for (wn::ThreadPool* pool : {(wn::ThreadPool*)nullptr, &pool2}) {
      std::vector<uint16_t> dst((size_t)rows * ld_dst, 0xabcd);
      wn::kernels::f32_to_f16_rows(Context{isa, pool}, src.data() + 64, ld_src, rows, cols,
                                   dst.data(), ld_dst);
      int bad = 0;
      for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < ld_dst; ++j) {
          const uint16_t want = j < cols ? wn::f32_to_f16(src[i * ld_src + 64 + j]) : 0xabcd;
          bad += dst[i * ld_dst + j] != want;
        }
      }
      CHECK(bad == 0);
    }
  }
  std::vector<uint16_t> small(4);
  CHECK_THROWS_CODE(wn::kernels::f32_to_f16_rows(Context{}, src.data(), 2, 2, 4, small.data(), 4),
                    wn::ErrorCode::kInvalidArgument);
}

TEST(summarize_logits_and_log_sum_exp_match_double_reference) {
  Rng rng(17);
  const float inf = INFINITY;
  for (Isa isa : supported_isas()) {
    for (int n : {1, 7, 16, 31, 33, 511, 512, 513, 1501, 51864}) {
      std::vector<float> x = rng.vec((size_t)n, -30, 12);
      for (int i = 0; i < n; i += 3) x[(size_t)i] = -inf;  // masked
      if (n > 5) x[5] = NAN;
      // Ties: the maximum at two places, the first must win.
      const int first = n / 3, second = n - 1;
      if (n > 8 && first != 5 && first % 3 != 0) {
        x[(size_t)first] = 20.0f;
        x[(size_t)second] = 20.0f;
      }
      int want_index = -1;
      float want_max = -inf;
      for (int i = 0; i < n; ++i) {
        if (x[(size_t)i] > want_max) {
          want_max = x[(size_t)i];
          want_index = i;
        }
      }
      double sum = 0;
      for (int i = 0; i < n; ++i) {
        if (x[(size_t)i] > -inf) sum += std::exp((double)x[(size_t)i] - want_max);
      }
      const wn::kernels::LogitSummary got = wn::kernels::summarize_logits(isa, x.data(), n);
      const double lse = wn::kernels::log_sum_exp(isa, x.data(), n);
      CHECK(want_index < 0
                ? std::isinf(got.log_sum_exp)
                : std::fabs(got.log_sum_exp - lse) <= 1e-6 * std::max(1.0, std::fabs(lse)));
      const bool ok = got.max_index == want_index && got.max_value == want_max &&
                      (want_index < 0 ? std::isinf(lse) && lse < 0
                                      : std::fabs(lse - (want_max + std::log(sum))) <=
                                            1e-6 * std::max(1.0, std::fabs(lse)));
      if (!ok) {
        std::printf("  %s n=%d: index %d (want %d), max %g (want %g), lse %.9g (want %.9g)\n",
                    wn::kernels::isa_name(isa), n, got.max_index, want_index, got.max_value,
                    want_max, lse, want_max + std::log(sum));
      }
      CHECK(ok);
    }
    // Increasing block maxima (every block rescales the sum) and a +inf
    // after finite blocks, in one pass.
    std::vector<float> rising((size_t)2000);
    for (int i = 0; i < 2000; ++i) rising[(size_t)i] = 0.01f * i;
    double rising_sum = 0;
    for (float v : rising) rising_sum += std::exp((double)v - rising.back());
    const wn::kernels::LogitSummary r = wn::kernels::summarize_logits(isa, rising.data(), 2000);
    CHECK(r.max_index == 1999);
    CHECK_NEAR(r.log_sum_exp, rising.back() + std::log(rising_sum), 1e-5);
    rising[1500] = inf;
    CHECK(wn::kernels::summarize_logits(isa, rising.data(), 2000).log_sum_exp == inf);
    CHECK(wn::kernels::summarize_logits(isa, rising.data(), 2000).max_index == 1500);
    const float none[3] = {-inf, NAN, -inf};
    CHECK(wn::kernels::summarize_logits(isa, none, 3).max_index == -1);
    CHECK(std::isinf(wn::kernels::summarize_logits(isa, none, 3).log_sum_exp));
    CHECK(std::isinf(wn::kernels::log_sum_exp(isa, none, 3)));
    CHECK(wn::kernels::summarize_logits(isa, none, 0).max_index == -1);
    const float big[4] = {1.0f, inf, 2.0f, -inf};
    CHECK(wn::kernels::summarize_logits(isa, big, 4).max_index == 1);
    CHECK(wn::kernels::log_sum_exp(isa, big, 4) == inf);
  }
}

// Rows of more than one part (16K logits each, at most 8 parts): the pool's
// threads summarise parts, the parts are merged in order. The result must
// match a double reference, take the first maximum across parts, and be the
// same whether the parts ran on one thread or two.
TEST(summarize_logits_parts_merge_like_one_pass) {
  Rng rng(23);
  const float inf = INFINITY;
  wn::ThreadPool pool2(2);
  for (Isa isa : supported_isas()) {
    for (int n : {16385, 40000, 51864, 200003}) {
      for (int where : {0, 1, 2, 3, 4}) {
        std::vector<float> x = rng.vec((size_t)n, -30, 12);
        switch (where) {
          case 0:  // max in the first part
            x[10] = 25.0f;
            break;
          case 1:  // max in the last part
            x[(size_t)n - 2] = 25.0f;
            break;
          case 2:
            x[100] = x[(size_t)n - 100] = 25.0f;  // a tie across parts
            break;
          case 3:  // the first part all masked, the max later
            for (int i = 0; i < 16384 && i < n; ++i) x[(size_t)i] = (i % 2) ? -inf : NAN;
            x[(size_t)n / 2] = 25.0f;
            break;
          case 4:  // +inf after finite parts
            x[(size_t)n - 3] = inf;
            break;
        }
        float want_max = -inf;
        int want_index = -1;
        for (int i = 0; i < n; ++i) {
          if (x[(size_t)i] > want_max) want_max = x[(size_t)i], want_index = i;
        }
        const wn::kernels::LogitSummary one =
            wn::kernels::summarize_logits(Context{isa, nullptr}, x.data(), n);
        const wn::kernels::LogitSummary two =
            wn::kernels::summarize_logits(Context{isa, &pool2}, x.data(), n);
        CHECK(one.max_index == want_index && one.max_value == want_max);
        CHECK(two.max_index == one.max_index && two.max_value == one.max_value);
        CHECK(std::memcmp(&two.log_sum_exp, &one.log_sum_exp, sizeof(double)) == 0);
        if (where == 4) {
          CHECK(one.log_sum_exp == inf);
          continue;
        }
        double sum = 0;
        for (int i = 0; i < n; ++i) {
          if (x[(size_t)i] > -inf) sum += std::exp((double)x[(size_t)i] - want_max);
        }
        const double want = want_max + std::log(sum);
        if (!(std::fabs(one.log_sum_exp - want) <= 1e-6 * std::fabs(want))) {
          std::printf("  %s n=%d case %d: lse %.9g, want %.9g\n", wn::kernels::isa_name(isa), n,
                      where, one.log_sum_exp, want);
          CHECK(false);
        }
      }
    }
  }
}

// first_above: the first index above a threshold, NaN never, at every
// position relative to the 4-vector steps, from any start.
// A sampling step's weights: exp((x - max) * scale) per entry, and their sum,
// against double precision; -inf and NaN entries weigh (almost) nothing.
TEST(exp_row_matches_double_reference) {
  Rng rng(23);
  int bad = 0;
  for (Isa isa : supported_isas()) {
    for (int n : {1, 15, 16, 17, 1023, 1024, 1025, 51864}) {
      for (float scale : {1.0f, 1.0f / 0.6f, 1.0f / 0.2f, 1e-30f}) {
        std::vector<float> x = rng.vec((size_t)n, -40, 10);
        for (int i = 1; i < n; i += 4) x[(size_t)i] = -INFINITY;
        if (n > 6) x[6] = NAN;
        float shift = -INFINITY;
        for (float v : x) shift = v > shift ? v : shift;
        std::vector<float> out((size_t)n, -1.0f);
        const double sum = wn::kernels::exp_row(isa, x.data(), n, shift, scale, out.data());
        double want_sum = 0;
        for (int i = 0; i < n; ++i) {
          const float v = x[(size_t)i];
          const double want = v > -INFINITY ? std::exp(((double)v - shift) * scale) : 0.0;
          want_sum += want;
          const double got = out[(size_t)i];
          // Float rounds the argument (x - shift) * scale twice: a relative
          // error of the weight ~1e-7 per unit of the argument, plus the exp's.
          const double arg = v > -INFINITY ? std::fabs(((double)v - shift) * scale) : 0.0;
          if (!(std::fabs(got - want) <= 3e-7 * (1 + arg) * want + 1e-37)) {
            if (bad++ < 5) {
              std::printf("  %s n=%d scale=%g x[%d]=%g: %.9g, want %.9g\n",
                          wn::kernels::isa_name(isa), n, scale, i, v, got, want);
            }
          }
        }
        if (!(std::fabs(sum - want_sum) <= 1e-6 * want_sum)) {
          if (bad++ < 5) {
            std::printf("  %s n=%d scale=%g: sum %.9g, want %.9g\n", wn::kernels::isa_name(isa), n,
                        scale, sum, want_sum);
          }
        }
      }
    }
  }
  CHECK(bad == 0);
}

TEST(first_above_finds_the_first_entry_over_a_threshold) {
  Rng rng(21);
  for (Isa isa : supported_isas()) {
    for (int n : {0, 1, 15, 16, 17, 63, 64, 65, 200, 51864}) {
      std::vector<float> x = rng.vec((size_t)n + 1, -10, 0);
      for (int i = 0; i < n; i += 7) x[i] = NAN;
      for (int i = 3; i < n; i += 11) x[i] = -INFINITY;
      for (int trial = 0; trial < 6; ++trial) {
        std::vector<float> y = x;
        const int hit = n == 0 ? 0 : (int)(rng.next() % (uint32_t)n);
        if (n > 0 && trial % 2 == 0) y[hit] = 5.0f;  // one entry above 1
        const float threshold = trial < 4 ? 1.0f : -1e30f;
        for (int from : {0, n / 3, n}) {
          int want = n;
          for (int i = from; i < n; ++i) {
            if (y[i] > threshold) {
              want = i;
              break;
            }
          }
          const int got = wn::kernels::first_above(isa, y.data(), from, n, threshold);
          if (got != want) {
            std::printf("  first_above %s n=%d from=%d threshold=%g: got %d, want %d\n",
                        wn::kernels::isa_name(isa), n, from, threshold, got, want);
          }
          CHECK(got == want);
        }
      }
    }
  }
}

// setenv/unsetenv are POSIX; the Windows C runtime has _putenv_s (an empty
// value removes the variable).
void set_env(const char* name, const char* value) {
#ifdef _WIN32
  _putenv_s(name, value);
#else
  setenv(name, value, 1);
#endif
}
void unset_env(const char* name) {
#ifdef _WIN32
  _putenv_s(name, "");
#else
  unsetenv(name);
#endif
}

TEST(isa_selection_follows_environment) {
  CHECK(wn::kernels::isa_supported(Isa::kGeneric));
  CHECK(wn::kernels::isa_supported(wn::kernels::best_isa()));
  CHECK(std::string(wn::kernels::isa_name(Isa::kAvx512)) == "avx512");
  set_env("WHISPER_NATIVE_ISA", "generic");
  CHECK(wn::kernels::selected_isa() == Isa::kGeneric);
  set_env("WHISPER_NATIVE_ISA", "sse9");
  CHECK_THROWS_CODE(wn::kernels::selected_isa(), wn::ErrorCode::kInvalidArgument);
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
    set_env("WHISPER_NATIVE_ISA", wn::kernels::isa_name(isa));
    if (wn::kernels::isa_supported(isa)) {
      CHECK(wn::kernels::selected_isa() == isa);
    } else {
      CHECK_THROWS_CODE(wn::kernels::selected_isa(), wn::ErrorCode::kInvalidArgument);
    }
  }
  unset_env("WHISPER_NATIVE_ISA");
  CHECK(wn::kernels::selected_isa() == wn::kernels::best_isa());
}

// The peak is a measurement, so only its plausibility is checked: positive and
// finite, and at least one scalar FMA per nanosecond (any CPU this runs on
// does far more), and not above 64 FMA lanes x 2 pipes x 10 GHz per thread.
TEST(measure_peak_gflops_is_plausible) {
  const double one = wn::kernels::measure_peak_gflops(1, 0.05);
  std::printf("  peak fp32: %.1f GFLOP/s (1 thread)\n", one);
  CHECK(std::isfinite(one));
  CHECK(one > 0.0);
  if (std::getenv("WN_TEST_EMULATED") != nullptr) {
    // An emulator (qemu-user, scripts/test-arm64.sh) runs FMAs in software,
    // far below any real CPU, so the lower bound says nothing there.
    std::printf("  WN_TEST_EMULATED: lower bound not checked under emulation\n");
  } else {
    CHECK(one >= 2.0);
  }
  CHECK(one <= 2560.0);
}

TEST(measure_read_bandwidth_is_plausible) {
  const double one = wn::kernels::measure_read_bandwidth(1, 8, 0.05);
  const double two = wn::kernels::measure_read_bandwidth(2, 8, 0.05);
  std::printf("  read bandwidth over 8 MB: %.1f GB/s (1 thread), %.1f GB/s (2 threads)\n", one,
              two);
  CHECK(std::isfinite(one) && std::isfinite(two));
  // Anything from an emulator's crawl to a cache's speed is possible; below
  // 0.01 GB/s or above 10 TB/s the probe measured something else.
  CHECK(one > 0.01 && two > 0.01);
  CHECK(one < 10000.0 && two < 10000.0);
}

}  // namespace

int main() {
  std::printf("ISA paths tested:");
  for (Isa isa : supported_isas()) std::printf(" %s", wn::kernels::isa_name(isa));
  std::printf("\n");
  return wn_test::run_all();
}
