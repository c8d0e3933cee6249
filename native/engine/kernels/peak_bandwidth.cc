// measure_read_bandwidth(): how fast this machine streams a buffer of a given
// size from memory (or from whatever cache level holds it), measured, so a
// benchmark can state the decoder's achieved GB/s as a share of it. The
// decoder reads every weight it has (and the window's cross-attention K/V)
// once per token, so its time per token cannot beat bytes / this figure.
//
// Each thread sums its own contiguous slice with the widest vector loads the
// CPU has; the buffer is filled first, so every page exists before timing.
// Not a kernel the model uses: like measure_peak_gflops, the wide loops are
// compiled per function with target attributes and only called when cpuid
// says the CPU has them.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "engine/kernels/kernels_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#define WN_BW_X86 1
#if defined(_MSC_VER) && !defined(__clang__)
#define WN_BW_TARGET(isa)
#else
#define WN_BW_TARGET(isa) __attribute__((target(isa)))
#endif
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#define WN_BW_NEON 1
#endif

namespace wn {
namespace kernels {
namespace {

// Sums of p[0, n) (n a multiple of 64 floats) in four independent chains, so
// the adds never limit the loads. The result only keeps the loop alive.
#ifdef WN_BW_X86
WN_BW_TARGET("avx512f") float sum_avx512(const float* p, size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
  }
  const float sum =
      _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  _mm256_zeroupper();
  return sum;
}

WN_BW_TARGET("avx2") float sum_avx2(const float* p, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  _mm256_zeroupper();
  return lanes[0] + lanes[7];
}
#endif

#ifdef WN_BW_NEON
float sum_neon(const float* p, size_t n) {
  float32x4_t a0 = vdupq_n_f32(0.f), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 16) {
    a0 = vaddq_f32(a0, vld1q_f32(p + i));
    a1 = vaddq_f32(a1, vld1q_f32(p + i + 4));
    a2 = vaddq_f32(a2, vld1q_f32(p + i + 8));
    a3 = vaddq_f32(a3, vld1q_f32(p + i + 12));
  }
  return vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
}
#endif

float sum_scalar(const float* p, size_t n) {
  float acc[8] = {};
  for (size_t i = 0; i < n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
  }
  float total = 0;
  for (float a : acc) total += a;
  return total;
}

using SumFn = float (*)(const float*, size_t);

SumFn best_sum() {
#ifdef WN_BW_X86
  if (isa_supported(Isa::kAvx512)) return sum_avx512;
  if (isa_supported(Isa::kAvx2)) return sum_avx2;
#endif
#ifdef WN_BW_NEON
  return sum_neon;
#endif
  return sum_scalar;
}

// Wall seconds for `threads` threads to read their slices of buf once, all at once.
double timed_pass(SumFn sum, const float* buf, size_t slice, int threads) {
  volatile float sink = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) {
    workers.emplace_back([&, t] { sink = sum(buf + t * slice, slice); });
  }
  sink = sum(buf, slice);
  for (std::thread& w : workers) w.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

extern "C" double measure_read_bandwidth(int threads, double megabytes, double seconds) {
  threads = std::max(1, threads);
  if (!(megabytes >= 1)) megabytes = 1;
  if (!(seconds > 0)) seconds = 0.2;
  // Whole 256-byte lines per thread (the widest loop's stride).
  const size_t slice =
      std::max<size_t>(64, (size_t)(megabytes * 1e6 / sizeof(float) / threads) / 64 * 64);
  const size_t floats = slice * threads;
  AlignedBytes storage = aligned_bytes(floats * sizeof(float));
  float* buf = reinterpret_cast<float*>(storage.get());
  for (size_t i = 0; i < floats; ++i) buf[i] = (float)(i & 1023);
  const SumFn sum = best_sum();
  timed_pass(sum, buf, slice, threads);  // warm: the level that holds it, the TLB
  double best = 0, spent = 0;
  for (int pass = 0; pass < 5 || spent < seconds; ++pass) {
    const double s = timed_pass(sum, buf, slice, threads);
    spent += s;
    best = std::max(best, floats * sizeof(float) / s);
    if (pass >= 200) break;
  }
  return best * 1e-9;
}

}  // namespace kernels
}  // namespace wn
