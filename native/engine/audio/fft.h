// Fast Fourier transforms for the log-mel front end, in double precision.
//
// ComplexFft: a mixed-radix Cooley-Tukey transform (radix 4, 2, 3, 5 butterflies
// written out; any other prime factor up to kMaxGenericRadix through a generic
// butterfly). RealFft: a real-input transform of even size n computed with one
// complex transform of size n/2. Plans are immutable after construction, so one
// plan can serve any number of threads at once; each caller brings its scratch.
//
// This is not a general FFT library: forward transforms only, no normalisation,
// sizes fixed at plan time.
#pragma once

#include <complex>
#include <cstddef>
#include <vector>

namespace wn {

class ComplexFft {
 public:
  // Largest prime factor the generic butterfly handles (its temporaries live on the stack).
  static constexpr int kMaxGenericRadix = 31;

  // n >= 1 whose prime factors are all <= kMaxGenericRadix; throws kInvalidArgument otherwise.
  explicit ComplexFft(int n);

  int size() const { return n_; }

  // out[k] = sum_j in[j] * exp(-2 pi i j k / n), for k in [0, n). in and out hold n values
  // each and must not overlap.
  void forward(const std::complex<double>* in, std::complex<double>* out) const;

 private:
  // One recursion level: transforms the n_ / stride values in[0], in[stride], ...
  // into out[0 .. n_ / stride), using factors_[stage..].
  void transform(const std::complex<double>* in, size_t stride, std::complex<double>* out,
                 size_t stage) const;
  // Combines p sub-transforms of length m (stored one after another in out) into one of
  // length p * m; twiddle_step = n_ / (p * m).
  void butterfly(std::complex<double>* out, int p, size_t m, size_t twiddle_step) const;

  int n_;
  std::vector<int> factors_;                    // radices in the order the recursion applies them
  std::vector<std::complex<double>> twiddles_;  // twiddles_[j] = exp(-2 pi i j / n)
};

class RealFft {
 public:
  // n even and n / 2 a valid ComplexFft size; throws kInvalidArgument otherwise.
  explicit RealFft(int n);

  int size() const { return n_; }
  int bins() const { return n_ / 2 + 1; }
  // Complex values of scratch space forward() needs.
  size_t scratch_size() const { return static_cast<size_t>(n_ / 2); }

  // out[k] = sum_j in[j] * exp(-2 pi i j k / n) for k in [0, n/2] (the other half is the
  // conjugate mirror). in: n values; out: bins() values; scratch: scratch_size() values.
  void forward(const double* in, std::complex<double>* out, std::complex<double>* scratch) const;

 private:
  int n_;
  ComplexFft half_;
  std::vector<std::complex<double>> twiddles_;  // twiddles_[k] = exp(-2 pi i k / n), k <= n/2
};

}  // namespace wn
