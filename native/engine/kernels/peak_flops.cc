// measure_peak_gflops(): this machine's fp32 FMA throughput, measured, so a
// benchmark can state the encoder's GFLOP/s as a share of what the CPU can do.
// Each thread runs independent chains of fused multiply-adds that stay in
// registers (no memory traffic); the best of several timed trials counts.
//
// Not a kernel the model uses. The wide loops are compiled per function with
// target attributes and only called when cpuid says the CPU has them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

#include "engine/kernels/kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
// GCC 12's avx512fintrin.h reductions start from _mm512_undefined_ps and trip
// these warnings inside the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#define WN_PEAK_X86 1
// GCC and Clang compile a wider loop than the file's flags only inside a
// function marked with its target; MSVC emits any intrinsic anywhere.
#if defined(_MSC_VER) && !defined(__clang__)
#define WN_PEAK_TARGET(isa)
#else
#define WN_PEAK_TARGET(isa) __attribute__((target(isa)))
#endif
#endif
#if defined(__aarch64__)
#include <arm_neon.h>  // Advanced SIMD is baseline on AArch64: no target attribute
#define WN_PEAK_NEON 1
#endif

namespace wn {
namespace kernels {
namespace {

// 12 independent accumulator chains: enough to hide FMA latency (4 cycles) on
// two FMA pipes. Every chain feeds the returned sum, so none can be dropped.
#define WN_PEAK_CHAINS(V, SET1, FMA, ADD)                                                \
  V c0 = SET1(0.f), c1 = SET1(1.f), c2 = SET1(2.f), c3 = SET1(3.f), c4 = SET1(4.f),      \
    c5 = SET1(5.f), c6 = SET1(6.f), c7 = SET1(7.f), c8 = SET1(8.f), c9 = SET1(9.f),      \
    c10 = SET1(10.f), c11 = SET1(11.f);                                                  \
  const V mul = SET1(0.999999f), inc = SET1(1e-7f);                                      \
  for (int64_t it = 0; it < iters; ++it) {                                               \
    c0 = FMA(c0, mul, inc);                                                              \
    c1 = FMA(c1, mul, inc);                                                              \
    c2 = FMA(c2, mul, inc);                                                              \
    c3 = FMA(c3, mul, inc);                                                              \
    c4 = FMA(c4, mul, inc);                                                              \
    c5 = FMA(c5, mul, inc);                                                              \
    c6 = FMA(c6, mul, inc);                                                              \
    c7 = FMA(c7, mul, inc);                                                              \
    c8 = FMA(c8, mul, inc);                                                              \
    c9 = FMA(c9, mul, inc);                                                              \
    c10 = FMA(c10, mul, inc);                                                            \
    c11 = FMA(c11, mul, inc);                                                            \
  }                                                                                      \
  const V total = ADD(ADD(ADD(ADD(c0, c1), ADD(c2, c3)), ADD(ADD(c4, c5), ADD(c6, c7))), \
                      ADD(ADD(c8, c9), ADD(c10, c11)));

constexpr int kChains = 12;

#ifdef WN_PEAK_X86
WN_PEAK_TARGET("avx512f") float fma_chains_avx512(int64_t iters) {
  WN_PEAK_CHAINS(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps)
  return _mm512_reduce_add_ps(total);
}

WN_PEAK_TARGET("avx2,fma") float fma_chains_avx2(int64_t iters) {
  WN_PEAK_CHAINS(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps)
  float lanes[8];
  _mm256_storeu_ps(lanes, total);
  return lanes[0] + lanes[7];
}
#endif

#ifdef WN_PEAK_NEON
// vfmaq_f32(c, a, b) = c + a*b; the macro's FMA(acc, mul, inc) is acc*mul + inc.
inline float32x4_t neon_fma(float32x4_t acc, float32x4_t m, float32x4_t inc) {
  return vfmaq_f32(inc, acc, m);
}
float fma_chains_neon(int64_t iters) {
  WN_PEAK_CHAINS(float32x4_t, vdupq_n_f32, neon_fma, vaddq_f32)
  return vaddvq_f32(total);
}
#endif

float scalar_set1(float x) {
  return x;
}
float scalar_fma(float a, float b, float c) {
  return std::fma(a, b, c);
}
float scalar_add(float a, float b) {
  return a + b;
}

float fma_chains_scalar(int64_t iters) {
  WN_PEAK_CHAINS(float, scalar_set1, scalar_fma, scalar_add)
  return total;
}

#undef WN_PEAK_CHAINS

// The widest loop this CPU runs, and how many floats one of its FMAs updates.
struct PeakLoop {
  float (*run)(int64_t iters);
  int lanes;
};

PeakLoop best_loop() {
#ifdef WN_PEAK_X86
  if (isa_supported(Isa::kAvx512)) return {fma_chains_avx512, 16};
  if (isa_supported(Isa::kAvx2)) return {fma_chains_avx2, 8};
#endif
#ifdef WN_PEAK_NEON
  return {fma_chains_neon, 4};
#endif
  return {fma_chains_scalar, 1};
}

// Wall seconds for `threads` threads each running `iters` iterations at once.
double timed_trial(const PeakLoop& loop, int threads, int64_t iters) {
  volatile float sink = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) workers.emplace_back([&] { sink = loop.run(iters); });
  sink = loop.run(iters);
  for (std::thread& w : workers) w.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

extern "C" double measure_peak_gflops(int threads, double seconds) {
  if (threads < 1) threads = 1;
  if (!(seconds > 0)) seconds = 0.2;
  const PeakLoop loop = best_loop();
  // Calibrate: a trial should last about a fifth of the budget, so thread
  // start-up is negligible and the best of >= 5 trials filters out the time
  // slices other processes take on a shared machine.
  // 64-bit counts: long is 32 bits on Windows, where 1L << 40 overflowed.
  int64_t iters = int64_t{1} << 16;
  double t = timed_trial(loop, threads, iters);
  while (t < 0.01 && iters < (int64_t{1} << 40)) {
    iters *= 4;
    t = timed_trial(loop, threads, iters);
  }
  const double target = seconds / 5;
  iters = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(iters) * (target / t)));
  const double flops_per_trial = (double)iters * kChains * loop.lanes * 2.0 * threads;
  double best = 0, spent = 0;
  for (int trial = 0; trial < 5 || spent < seconds; ++trial) {
    const double s = timed_trial(loop, threads, iters);
    spent += s;
    best = std::max(best, flops_per_trial / s);
    if (trial >= 50) break;
  }
  return best * 1e-9;
}

}  // namespace kernels
}  // namespace wn
