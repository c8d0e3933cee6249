// Mixed-radix Cooley-Tukey FFT (decimation in time, recursive, out of place) and
// the real-input transform built on it. See fft.h for what this is and is not.
//
// Recursion: a transform of length N = p * m splits the input by residue mod p
// into p interleaved sub-sequences, transforms each (length m) into consecutive
// blocks of the output, then one butterfly pass per output index k < m combines
// the p blocks: X[k + q m] = sum_r W_N^(r k) * Sub_r[k] * W_p^(r q). All
// twiddles of every level are powers of W_n for the plan's full n, so one table
// of n values serves the whole recursion.
#include "engine/audio/fft.h"

#include <cmath>
#include <string>

#include "engine/core/error.h"

namespace wn {

namespace {

using cd = std::complex<double>;

constexpr double kPi = 3.14159265358979323846264338327950288;

// exp(-2 pi i j / n), computed directly from the angle (no recurrence) so that
// every entry is correctly rounded to within an ulp or two.
std::vector<cd> unit_roots(int n, int count) {
  std::vector<cd> roots(static_cast<size_t>(count));
  for (int j = 0; j < count; ++j) {
    const double angle = -2.0 * kPi * static_cast<double>(j) / static_cast<double>(n);
    roots[static_cast<size_t>(j)] = cd(std::cos(angle), std::sin(angle));
  }
  return roots;
}

// Radices for n: 4s first (fewest passes), then 2, 3, 5, then any other primes.
std::vector<int> factorize(int n) {
  std::vector<int> factors;
  while (n % 4 == 0) {
    factors.push_back(4);
    n /= 4;
  }
  for (int p = 2; n > 1; ++p) {
    while (n % p == 0) {
      if (p > ComplexFft::kMaxGenericRadix) {
        throw Error(ErrorCode::kInvalidArgument,
                    "FFT size has prime factor " + std::to_string(p) +
                        ", expected factors <= " + std::to_string(ComplexFft::kMaxGenericRadix));
      }
      factors.push_back(p);
      n /= p;
    }
  }
  return factors;
}

// Multiplication by -i, used by the radix-4 butterfly.
inline cd times_minus_i(cd z) {
  return cd(z.imag(), -z.real());
}

}  // namespace

ComplexFft::ComplexFft(int n) : n_(n) {
  if (n < 1) {
    throw Error(ErrorCode::kInvalidArgument, "FFT size must be >= 1, got " + std::to_string(n));
  }
  factors_ = factorize(n);
  twiddles_ = unit_roots(n, n);
}

void ComplexFft::forward(const cd* in, cd* out) const {
  if (factors_.empty()) {  // n == 1
    out[0] = in[0];
    return;
  }
  transform(in, 1, out, 0);
}

void ComplexFft::transform(const cd* in, size_t stride, cd* out, size_t stage) const {
  const int p = factors_[stage];
  const size_t m = static_cast<size_t>(n_) / stride / static_cast<size_t>(p);
  if (m == 1) {
    for (int r = 0; r < p; ++r) out[r] = in[static_cast<size_t>(r) * stride];
  } else {
    for (int r = 0; r < p; ++r) {
      transform(in + static_cast<size_t>(r) * stride, stride * static_cast<size_t>(p),
                out + static_cast<size_t>(r) * m, stage + 1);
    }
  }
  butterfly(out, p, m, stride);
}

void ComplexFft::butterfly(cd* out, int p, size_t m, size_t twiddle_step) const {
  const cd* tw = twiddles_.data();
  switch (p) {
    case 2:
      for (size_t k = 0; k < m; ++k) {
        const cd t0 = out[k];
        const cd t1 = out[k + m] * tw[k * twiddle_step];
        out[k] = t0 + t1;
        out[k + m] = t0 - t1;
      }
      return;
    case 3: {
      const double sin60 = std::sqrt(3.0) / 2.0;
      for (size_t k = 0; k < m; ++k) {
        const cd t0 = out[k];
        const cd t1 = out[k + m] * tw[k * twiddle_step];
        const cd t2 = out[k + 2 * m] * tw[2 * k * twiddle_step];
        const cd sum = t1 + t2;
        const cd rot = times_minus_i(t1 - t2) * sin60;  // -i sin60 (t1 - t2)
        const cd base = t0 - 0.5 * sum;
        out[k] = t0 + sum;
        out[k + m] = base + rot;
        out[k + 2 * m] = base - rot;
      }
      return;
    }
    case 4:
      for (size_t k = 0; k < m; ++k) {
        const cd t0 = out[k];
        const cd t1 = out[k + m] * tw[k * twiddle_step];
        const cd t2 = out[k + 2 * m] * tw[2 * k * twiddle_step];
        const cd t3 = out[k + 3 * m] * tw[3 * k * twiddle_step];
        const cd s02 = t0 + t2, d02 = t0 - t2;
        const cd s13 = t1 + t3, d13 = times_minus_i(t1 - t3);  // -i (t1 - t3)
        out[k] = s02 + s13;
        out[k + m] = d02 + d13;
        out[k + 2 * m] = s02 - s13;
        out[k + 3 * m] = d02 - d13;
      }
      return;
    case 5: {
      const double c1 = std::cos(2.0 * kPi / 5.0), c2 = std::cos(4.0 * kPi / 5.0);
      const double s1 = std::sin(2.0 * kPi / 5.0), s2 = std::sin(4.0 * kPi / 5.0);
      for (size_t k = 0; k < m; ++k) {
        const cd t0 = out[k];
        const cd t1 = out[k + m] * tw[k * twiddle_step];
        const cd t2 = out[k + 2 * m] * tw[2 * k * twiddle_step];
        const cd t3 = out[k + 3 * m] * tw[3 * k * twiddle_step];
        const cd t4 = out[k + 4 * m] * tw[4 * k * twiddle_step];
        const cd a1 = t1 + t4, b1 = t1 - t4, a2 = t2 + t3, b2 = t2 - t3;
        const cd even1 = t0 + c1 * a1 + c2 * a2;  // real-cosine part of outputs 1 and 4
        const cd even2 = t0 + c2 * a1 + c1 * a2;  // ... of outputs 2 and 3
        const cd odd1 = times_minus_i(s1 * b1 + s2 * b2);
        const cd odd2 = times_minus_i(s2 * b1 - s1 * b2);
        out[k] = t0 + a1 + a2;
        out[k + m] = even1 + odd1;
        out[k + 4 * m] = even1 - odd1;
        out[k + 2 * m] = even2 + odd2;
        out[k + 3 * m] = even2 - odd2;
      }
      return;
    }
    default: {
      // Any other prime p: a direct p-point DFT per k, O(p^2).
      const size_t root_step = static_cast<size_t>(n_ / p);  // W_n^(root_step) = W_p
      cd t[kMaxGenericRadix];
      for (size_t k = 0; k < m; ++k) {
        for (int r = 0; r < p; ++r) {
          t[r] =
              out[k + static_cast<size_t>(r) * m] * tw[static_cast<size_t>(r) * k * twiddle_step];
        }
        for (int q = 0; q < p; ++q) {
          cd sum = t[0];
          for (int r = 1; r < p; ++r)
            sum += t[r] * tw[static_cast<size_t>((r * q) % p) * root_step];
          out[k + static_cast<size_t>(q) * m] = sum;
        }
      }
      return;
    }
  }
}

namespace {
// The complex size behind a real transform of size n; validates n.
int half_size_of_real_fft(int n) {
  if (n < 2 || n % 2 != 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "real FFT size must be even and >= 2, got " + std::to_string(n));
  }
  return n / 2;
}
}  // namespace

RealFft::RealFft(int n) : n_(n), half_(half_size_of_real_fft(n)) {
  twiddles_ = unit_roots(n, n / 2 + 1);
}

// Real transform of even n through a complex one of M = n/2: pack
// z[j] = x[2j] + i x[2j+1] and take Z = FFT(z). With E and O the transforms of the
// even and odd samples, E[k] = (Z[k] + conj Z[M-k]) / 2, O[k] = (Z[k] - conj Z[M-k]) / (2i)
// and X[k] = E[k] + W_n^k O[k]. Indices k and M-k need the same two values of Z, so the
// pair is finished together and the post-processing runs in place in out.
void RealFft::forward(const double* in, cd* out, cd* scratch) const {
  const int half = n_ / 2;
  for (int j = 0; j < half; ++j) scratch[j] = cd(in[2 * j], in[2 * j + 1]);
  half_.forward(scratch, out);  // out[0 .. half) = Z

  const cd z0 = out[0];
  out[0] = cd(z0.real() + z0.imag(), 0.0);     // E[0] + O[0]
  out[half] = cd(z0.real() - z0.imag(), 0.0);  // E[0] - O[0]
  for (int k = 1; k <= half / 2; ++k) {
    const int mirror = half - k;
    const cd zk = out[k], zm = std::conj(out[mirror]);
    const cd even = 0.5 * (zk + zm);
    const cd odd = cd(0.0, -0.5) * (zk - zm);  // (zk - zm) / (2i)
    const cd rotated = twiddles_[static_cast<size_t>(k)] * odd;
    out[k] = even + rotated;
    // X[M-k] = conj(E[k]) + W_n^(M-k) conj(O[k]) and W_n^(M-k) = -conj(W_n^k).
    out[mirror] = std::conj(even - rotated);
  }
}

}  // namespace wn
