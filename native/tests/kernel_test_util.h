// Helpers shared by the kernel tests: the ISA paths this CPU runs, seeded
// random values, and the double-precision reference of linear() that every
// GEMM path is checked against.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/kernels/kernels.h"

namespace wn_test {

inline std::vector<wn::kernels::Isa> supported_isas() {
  using wn::kernels::Isa;
  std::vector<Isa> out;
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
    if (wn::kernels::isa_supported(isa)) out.push_back(isa);
  }
  return out;
}

// Deterministic uniform values in [lo, hi).
struct Rng {
  uint64_t state;
  explicit Rng(uint64_t seed) : state(seed * 0x9e3779b97f4a7c15ull + 1) {}
  uint64_t step() { return state = state * 6364136223846793005ull + 1442695040888963407ull; }
  uint32_t next() { return (uint32_t)(step() >> 33); }
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * (float)((step() >> 40) * (1.0 / 16777216.0));
  }
  std::vector<float> vec(size_t n, float lo = -1, float hi = 1) {
    std::vector<float> v(n);
    for (auto& x : v) x = uniform(lo, hi);
    return v;
  }
};

inline double gelu_ref(double x) {
  return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
}

// epilogue(a · Wᵀ) in double for W [n][k] given as floats (already widened
// or dequantized); scale is the sum of |terms| per output, the yardstick for
// float rounding. c0: c's contents before the call (read when accumulating).
struct LinearReference {
  std::vector<double> value, scale;  // [m][n]
};

inline LinearReference linear_reference(const std::vector<float>& a, int64_t lda, int m,
                                        const std::vector<float>& w, int n, int k,
                                        const wn::kernels::Epilogue& ep,
                                        const std::vector<float>& c0, int64_t ldc) {
  LinearReference r;
  r.value.resize((size_t)m * n);
  r.scale.resize((size_t)m * n);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double dot = 0, mag = 0;
      for (int kk = 0; kk < k; ++kk) {
        const double t = (double)a[i * lda + kk] * w[(size_t)j * k + kk];
        dot += t;
        mag += std::fabs(t);
      }
      if (ep.bias) {
        dot += ep.bias[j];
        mag += std::fabs(ep.bias[j]);
      }
      if (ep.gelu) dot = gelu_ref(dot);
      if (ep.accumulate) dot += c0.empty() ? 0.0 : c0[i * ldc + j];
      r.value[(size_t)i * n + j] = dot;
      r.scale[(size_t)i * n + j] = mag + 1.0;
    }
  }
  return r;
}

}  // namespace wn_test
