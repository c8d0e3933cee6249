#include "engine/audio/resample.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#endif

#include "engine/core/error.h"

namespace wn {
namespace {

// Σ input[start + k] * taps[k] for k in [from, to): lib/resample.ts's dot(),
// operation for operation: four partial sums, sum j taking the taps k with
// k - from = j (mod 4), the rest into the first, combined as (0+1)+(2+3).
// Each product of two floats is exact in a double, so a fused multiply-add
// (which a compiler may form) gives the same sums.
double dot(const float* input, int64_t start, const float* taps, int64_t from, int64_t to) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t k = from;
  for (; k + 4 <= to; k += 4) {
    s0 += static_cast<double>(input[start + k]) * taps[k];
    s1 += static_cast<double>(input[start + k + 1]) * taps[k + 1];
    s2 += static_cast<double>(input[start + k + 2]) * taps[k + 2];
    s3 += static_cast<double>(input[start + k + 3]) * taps[k + 3];
  }
  for (; k < to; ++k) s0 += static_cast<double>(input[start + k]) * taps[k];
  return (s0 + s1) + (s2 + s3);
}

#if defined(__SSE2__) || defined(_M_X64)
#define WN_RESAMPLE_SSE2 1
// dot() of two outputs at once over all `width` taps, from input and taps
// already widened to doubles (exactly; widening in the loop cost more than
// the products): the same four partial sums each, as lanes of two-double
// vectors. Eight independent sums also hide the adds' latency.
void dot2(const double* input_a, const double* taps_a, const double* input_b, const double* taps_b,
          int64_t width, double* a, double* b) {
  __m128d a01 = _mm_setzero_pd(), a23 = _mm_setzero_pd();
  __m128d b01 = _mm_setzero_pd(), b23 = _mm_setzero_pd();
  int64_t k = 0;
  for (; k + 4 <= width; k += 4) {
    a01 = _mm_add_pd(a01, _mm_mul_pd(_mm_loadu_pd(input_a + k), _mm_loadu_pd(taps_a + k)));
    a23 = _mm_add_pd(a23, _mm_mul_pd(_mm_loadu_pd(input_a + k + 2), _mm_loadu_pd(taps_a + k + 2)));
    b01 = _mm_add_pd(b01, _mm_mul_pd(_mm_loadu_pd(input_b + k), _mm_loadu_pd(taps_b + k)));
    b23 = _mm_add_pd(b23, _mm_mul_pd(_mm_loadu_pd(input_b + k + 2), _mm_loadu_pd(taps_b + k + 2)));
  }
  double sa[4], sb[4];
  _mm_storeu_pd(sa, a01);
  _mm_storeu_pd(sa + 2, a23);
  _mm_storeu_pd(sb, b01);
  _mm_storeu_pd(sb + 2, b23);
  for (; k < width; ++k) {
    sa[0] += input_a[k] * taps_a[k];
    sb[0] += input_b[k] * taps_b[k];
  }
  *a = (sa[0] + sa[1]) + (sa[2] + sa[3]);
  *b = (sb[0] + sb[1]) + (sb[2] + sb[3]);
}

// Outputs widened at a time: their inputs (~3 per output at 44.1 kHz, plus
// the taps) as doubles stay in L1/L2.
constexpr int64_t kWideBlockOutputs = 1024;
#endif

// Where output j falls in the input: PolyphaseFilter.locate(j), on the same
// doubles.
struct Located {
  int64_t base;
  int64_t row;
  double weight;
};

Located locate(const PolyphaseFilter& f, int64_t output) {
  const double j = static_cast<double>(output);
  if (f.exact) {
    const double scaled = j * f.down;
    const double base = std::floor(scaled / f.up);
    // An exact integer either way (fused or not).
    return {static_cast<int64_t>(base), static_cast<int64_t>(scaled - base * f.up), 0.0};
  }
  const double time = j * f.down / f.up;
  const double base = std::floor(time);
  const double fractional_row = (time - base) * kInterpolatedPhases;  // exact scaling
  const double row =
      std::min(std::floor(fractional_row), static_cast<double>(kInterpolatedPhases - 1));
  return {static_cast<int64_t>(base), static_cast<int64_t>(row), fractional_row - row};
}

// PolyphaseFilter.run() for one output.
void run_one(const PolyphaseFilter& f, const float* input, int64_t n_input, int64_t offset,
             int64_t output, float* out) {
  const int64_t width = f.taps_per_phase;
  const Located at = locate(f, output);
  const int64_t start = at.base - f.half_taps + 1 - offset;
  const int64_t from = std::max<int64_t>(0, -start);
  const int64_t to = std::min<int64_t>(width, n_input - start);
  const float* row_a = f.table + at.row * width;
  const double a = dot(input, start, row_a, from, to);
  const double b = at.weight != 0 ? dot(input, start, row_a + width, from, to) : 0;
  // The JS rounds weight * (b - a) before adding: keep a compiler from
  // fusing the two into one multiply-add, which rounds once.
  volatile double step = at.weight * (b - a);
  *out = static_cast<float>(a + step);
}

// Outputs at or beyond this index would leave doubles' exact integers (j * down).
constexpr double kMaxOutputIndex = 9007199254740992.0;  // 2^53

// Output indices whose input times j * down stay exact in doubles (and so
// convert to int64_t without overflow).
void check_output_range(const PolyphaseFilter& f, int64_t first, int64_t n_out) {
  const double end = static_cast<double>(first) + static_cast<double>(n_out);
  if (first < 0 || n_out < 0 || end >= kMaxOutputIndex || end * f.down >= kMaxOutputIndex) {
    throw Error(ErrorCode::kInvalidArgument, "polyphase filter: outputs out of range");
  }
}

}  // namespace

void check_polyphase_filter(const PolyphaseFilter& f) {
  const auto invalid = [](const std::string& what) {
    throw Error(ErrorCode::kInvalidArgument, "polyphase filter: " + what);
  };
  if (f.table == nullptr) invalid("no table");
  if (f.half_taps < 1 || f.half_taps > (1 << 20) || f.taps_per_phase != 2 * f.half_taps) {
    invalid("taps per phase " + std::to_string(f.taps_per_phase) + " is not twice half_taps " +
            std::to_string(f.half_taps));
  }
  if (!(f.up >= 1 && f.down >= 1 && f.up <= 1e7 && f.down <= 1e7) || f.up != std::floor(f.up) ||
      f.down != std::floor(f.down)) {
    invalid("up and down must be integers in [1, 1e7]");
  }
  const double rows = f.exact ? f.up : kInterpolatedPhases + 1;
  if (static_cast<double>(f.table_size) < rows * f.taps_per_phase) {
    invalid("a table of " + std::to_string(f.table_size) + " floats is smaller than its " +
            std::to_string(static_cast<int64_t>(rows)) + " rows of " +
            std::to_string(f.taps_per_phase) + " taps");
  }
}

SampleRange polyphase_input_range(const PolyphaseFilter& f, int64_t first, int64_t n_out,
                                  int64_t n_input) {
  if (n_out <= 0 || n_input <= 0) return {};
  check_output_range(f, first, n_out);
  // Input positions grow with the output index: the first output reads the
  // earliest samples, the last the latest.
  const int64_t lo = locate(f, first).base - f.half_taps + 1;
  const int64_t hi = locate(f, first + n_out - 1).base + f.half_taps + 1;
  SampleRange r;
  r.begin = std::min(n_input, std::max<int64_t>(0, lo));
  r.end = std::max(r.begin, std::min(n_input, hi));
  return r;
}

void polyphase_run(const PolyphaseFilter& f, const float* input, int64_t n_input, int64_t offset,
                   int64_t first, float* out, int64_t n_out) {
  if (n_out <= 0) return;
  check_output_range(f, first, n_out);
  const int64_t width = f.taps_per_phase;
  int64_t n = 0;
#ifdef WN_RESAMPLE_SSE2
  // Exact tables (every common rate): outputs whose taps all fall inside the
  // input two at a time, on the table and a block of input widened to doubles.
  if (f.exact && n_out >= 2) {
    const std::vector<double> taps(f.table, f.table + static_cast<int64_t>(f.up) * width);
    std::vector<double> wide;
    for (int64_t b0 = 0; b0 < n_out; b0 += kWideBlockOutputs) {
      const int64_t b1 = std::min(n_out, b0 + kWideBlockOutputs);
      // The block's inputs that exist, [lo, hi) in `input` (sample offset + i).
      const SampleRange r = polyphase_input_range(f, first + b0, b1 - b0, offset + n_input);
      const int64_t lo = std::max(r.begin, offset) - offset;
      const int64_t hi = r.end - offset;
      if (hi > lo) wide.assign(input + lo, input + hi);
      n = b0;
      for (; n + 2 <= b1; n += 2) {
        const Located p = locate(f, first + n), q = locate(f, first + n + 1);
        const int64_t start_p = p.base - f.half_taps + 1 - offset;
        const int64_t start_q = q.base - f.half_taps + 1 - offset;
        if (start_p < lo || start_q < lo || start_p + width > hi || start_q + width > hi) {
          run_one(f, input, n_input, offset, first + n, out + n);
          run_one(f, input, n_input, offset, first + n + 1, out + n + 1);
          continue;
        }
        double a, b;
        dot2(wide.data() + (start_p - lo), taps.data() + p.row * width,
             wide.data() + (start_q - lo), taps.data() + q.row * width, width, &a, &b);
        // run_one's a + 0 * (0 - a) is a: a sum that starts at +0 is never -0.
        out[n] = static_cast<float>(a);
        out[n + 1] = static_cast<float>(b);
      }
      if (n < b1) run_one(f, input, n_input, offset, first + n, out + n);
    }
    return;
  }
#endif
  for (; n < n_out; ++n) run_one(f, input, n_input, offset, first + n, out + n);
}

}  // namespace wn
