// The SIMD kernels, written once against the small vector vocabulary of
// simd_<isa>.h (V, kW, load, fmadd, ...) and compiled once per ISA by
// kernels_<isa>.cc, which includes this file inside an anonymous namespace
// after defining:
//   kMr          rows of the GEMM micro-tile (kMr x 2 vectors of accumulators)
// simd_attention.inl follows it with the attention kernels.
//
// Not a header: no include guard, internal linkage only.

constexpr int kNr = 2 * simd::kW;  // panel width: two vectors of outputs

inline int imin(int a, int b) {
  return a < b ? a : b;
}

// ---------------------------------------------------------------------------
// Elementwise maths

// e^x for x in about [-87, 88]: x = n ln2 + r with |r| <= ln2/2, e^r by a
// degree-6 polynomial (max rel. error ~1.5e-7), times 2^n built from bits.
inline simd::V exp_v(simd::V x) {
  using namespace simd;
  x = min(max(x, set1(-87.3f)), set1(88.3f));
  const V n = round_nearest(mul(x, set1(1.44269504088896341f)));
  V r = fmadd(n, set1(-0.693359375f), x);
  r = fmadd(n, set1(2.12194440e-4f), r);
  V p = set1(1.9875691500e-4f);
  p = fmadd(p, r, set1(1.3981999507e-3f));
  p = fmadd(p, r, set1(8.3334519073e-3f));
  p = fmadd(p, r, set1(4.1665795894e-2f));
  p = fmadd(p, r, set1(1.6666665459e-1f));
  p = fmadd(p, r, set1(5.0000001201e-1f));
  const V y = fmadd(mul(p, r), r, add(r, set1(1.0f)));
  return mul(y, pow2_int(n));
}

// GELU(x) = 0.5 x erfc(-x/√2). erfc(z) for z >= 0 as t·exp(-z² + P(t)) with
// t = 1/(1 + z/2) and a degree-9 polynomial P (Chebyshev fit, relative error
// ~1e-7 for every z), and 2 - erfc(|z|) for z < 0. Working with erfc keeps the
// relative accuracy in the negative tail where 1 + erf(x/√2) would cancel.
inline simd::V gelu_v(simd::V x) {
  using namespace simd;
  const V z = mul(x, set1(-0.70710678118654752f));
  const V az = abs(z);
  const V t = div(set1(1.0f), fmadd(az, set1(0.5f), set1(1.0f)));
  V p = set1(0.17087277f);
  p = fmadd(p, t, set1(-0.82215223f));
  p = fmadd(p, t, set1(1.48851587f));
  p = fmadd(p, t, set1(-1.13520398f));
  p = fmadd(p, t, set1(0.27886807f));
  p = fmadd(p, t, set1(-0.18628806f));
  p = fmadd(p, t, set1(0.09678418f));
  p = fmadd(p, t, set1(0.37409196f));
  p = fmadd(p, t, set1(1.00002368f));
  p = fmadd(p, t, set1(-1.26551223f));
  // -z² carried as sq + sq_err (exact with an FMA) so large |z| keeps precision.
  const V sq = mul(az, az);
  const V sq_err = fmsub(az, az, sq);
  const V arg = sub(sub(p, sq), sq_err);
  const V ans = mul(t, exp_v(arg));
  const V erfc = select_negative(z, sub(set1(2.0f), ans), ans);
  return mul(mul(set1(0.5f), x), erfc);
}

void gelu_simd(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + simd::kW <= n; i += simd::kW) simd::store(x + i, gelu_v(simd::load(x + i)));
  if (i < n) {
    const int rest = (int)(n - i);
    simd::store_n(x + i, gelu_v(simd::load_n(x + i, rest)), rest);
  }
}

void add_simd(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + simd::kW <= n; i += simd::kW) {
    simd::store(y + i, simd::add(simd::load(y + i), simd::load(x + i)));
  }
  for (; i < n; ++i) y[i] += x[i];
}

void f16_to_f32_simd(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + simd::kW <= n; i += simd::kW) simd::store(dst + i, simd::load_f16(src + i));
  if (i < n) {
    const int rest = (int)(n - i);
    simd::store_n(dst + i, simd::load_f16_n(src + i, rest), rest);
  }
}

void f32_to_f16_simd(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + simd::kW <= n; i += simd::kW) simd::store_f16(dst + i, simd::load(src + i));
  if (i < n) generic_kernels().f32_to_f16(src + i, dst + i, n - i);  // the last few
}

// Two passes over a row that sits in L1: mean, then centred sum of squares
// (no cancellation for rows far from zero mean), then scale and shift.
void layer_norm_row_simd(const float* x, int n, const float* gamma, const float* beta, float eps,
                         float* y) {
  using namespace simd;
  if (gamma == nullptr || beta == nullptr) {
    generic_kernels().layer_norm_row(x, n, gamma, beta, eps, y);
    return;
  }
  const int nv = n / kW * kW;
  V s = zero();
  for (int j = 0; j < nv; j += kW) s = add(s, load(x + j));
  float sum = reduce_add(s);
  for (int j = nv; j < n; ++j) sum += x[j];
  const float mean = sum / n;
  const V vmean = set1(mean);
  V q = zero();
  for (int j = 0; j < nv; j += kW) {
    const V d = sub(load(x + j), vmean);
    q = fmadd(d, d, q);
  }
  float sq = reduce_add(q);
  for (int j = nv; j < n; ++j) sq += (x[j] - mean) * (x[j] - mean);
  const float inv_std = 1.0f / sqrtf(sq / n + eps);  // C sqrtf: no inline C++ copy
  const V vinv = set1(inv_std);
  for (int j = 0; j < nv; j += kW) {
    const V d = mul(sub(load(x + j), vmean), vinv);
    store(y + j, fmadd(d, load(gamma + j), load(beta + j)));
  }
  for (int j = nv; j < n; ++j) y[j] = (x[j] - mean) * inv_std * gamma[j] + beta[j];
}

// ---------------------------------------------------------------------------
// Linear: c = epilogue(a · Wᵀ) over packed panels

template <typename WT>
const WT* panel_ptr(const PackedWeights::Impl& w, int p) {
  return reinterpret_cast<const WT*>(w.base) + (size_t)p * (size_t)w.k * kNr;
}

// Epilogue for one vector of row results at columns [j, j + kW), clipped to n.
inline void store_epilogue_v(simd::V x, int64_t j, int n, const Epilogue& ep, float* c_row) {
  using namespace simd;
  const int cnt = (int)(n - j);
  if (cnt <= 0) return;
  const bool full = cnt >= kW;
  if (ep.bias) x = add(x, full ? load(ep.bias + j) : load_n(ep.bias + j, cnt));
  if (ep.gelu) x = gelu_v(x);
  if (ep.accumulate) x = add(x, full ? load(c_row + j) : load_n(c_row + j, cnt));
  if (full) {
    store(c_row + j, x);
  } else {
    store_n(c_row + j, x, cnt);
  }
}

// R rows x kNr columns of c, full k, accumulators in registers (2R vectors).
// Why fast: per k step one panel row (2 vectors, converted from f16 in the
// register) is reused by R broadcast rows of a: 2R FMAs per 2 loads, and the
// accumulators never leave registers until the fused epilogue. For R <= 3
// (decoder GEMV) 2-4 k streams run on separate accumulators, so at least 8
// FMA chains are in flight and FMA latency does not limit the streaming of
// the panel.
template <int R, typename WT>
void micro_tile(const float* a, int64_t lda, const WT* panel, int k, int64_t j0, int n, float* c,
                int64_t ldc, const Epilogue& ep) {
  using namespace simd;
  constexpr int S = R == 1 ? 4 : R <= 3 ? 2 : 1;
  V acc[S][R][2];
#pragma GCC unroll 16
  for (int s = 0; s < S; ++s) {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[s][r][0] = acc[s][r][1] = zero();
  }
  int kk = 0;
  for (; kk + S <= k; kk += S) {
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) {
      const WT* wp = panel + (size_t)(kk + s) * kNr;
      const V w0 = load_w(wp), w1 = load_w(wp + kW);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const V b = set1(a[r * lda + kk + s]);
        acc[s][r][0] = fmadd(b, w0, acc[s][r][0]);
        acc[s][r][1] = fmadd(b, w1, acc[s][r][1]);
      }
    }
  }
  for (; kk < k; ++kk) {  // k not a multiple of S
    const WT* wp = panel + (size_t)kk * kNr;
    const V w0 = load_w(wp), w1 = load_w(wp + kW);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const V b = set1(a[r * lda + kk]);
      acc[0][r][0] = fmadd(b, w0, acc[0][r][0]);
      acc[0][r][1] = fmadd(b, w1, acc[0][r][1]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    V x0 = acc[0][r][0], x1 = acc[0][r][1];
#pragma GCC unroll 4
    for (int s = 1; s < S; ++s) {
      x0 = add(x0, acc[s][r][0]);
      x1 = add(x1, acc[s][r][1]);
    }
    store_epilogue_v(x0, j0, n, ep, c + r * ldc);
    store_epilogue_v(x1, j0 + kW, n, ep, c + r * ldc);
  }
}

// Rows left over after whole kMr tiles: picks the micro_tile<rem>.
template <int R, typename WT>
void micro_tile_rows(int rows, const float* a, int64_t lda, const WT* panel, int k, int64_t j0,
                     int n, float* c, int64_t ldc, const Epilogue& ep) {
  if (rows == R) {
    micro_tile<R>(a, lda, panel, k, j0, n, c, ldc, ep);
  } else if constexpr (R > 1) {
    micro_tile_rows<R - 1>(rows, a, lda, panel, k, j0, n, c, ldc, ep);
  }
}

// Panels outer, row tiles inner: a panel (k x kNr, f16: 24 KB at k = 384)
// stays in L1 while every row tile of this task's rows streams past it. There
// is no blocking over k: the task's rows of A (48 x k) sit in L2, and at
// Whisper's k <= 1536 the full-k micro-tile measured as fast as any blocked
// variant (k = 1536 was the fastest shape, ~90% of peak), with no partial sums
// to spill.
template <typename WT>
void linear_tile_t(const float* a, int64_t lda, int m, const PackedWeights::Impl& w, int p0, int p1,
                   float* c, int64_t ldc, const Epilogue& ep) {
  for (int p = p0; p < p1; ++p) {
    const WT* panel = panel_ptr<WT>(w, p);
    const int64_t j0 = (int64_t)p * kNr;
    int i = 0;
    for (; i + kMr <= m; i += kMr) {
      micro_tile<kMr>(a + i * lda, lda, panel, w.k, j0, w.n, c + i * ldc, ldc, ep);
    }
    if (i < m) {
      micro_tile_rows<kMr - 1>(m - i, a + i * lda, lda, panel, w.k, j0, w.n, c + i * ldc, ldc, ep);
    }
  }
}

void linear_tile_simd(const float* a, int64_t lda, int m, const PackedWeights::Impl& w, int p0,
                      int p1, float* c, int64_t ldc, const Epilogue& ep) {
  if (w.type == GgmlType::kF16) {
    linear_tile_t<uint16_t>(a, lda, m, w, p0, p1, c, ldc, ep);
  } else {
    linear_tile_t<float>(a, lda, m, w, p0, p1, c, ldc, ep);
  }
}

// ---------------------------------------------------------------------------
// Passes over a row of logits

// max(x[0, n)) with NaN skipped: a lane takes x only where acc - x < 0, which
// is false when x is NaN (and for -inf against -inf).
float row_max_simd(const float* x, int n) {
  using namespace simd;
  V acc0 = set1(-INFINITY), acc1 = acc0;
  int i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    const V a = load(x + i), b = load(x + i + kW);
    acc0 = select_negative(sub(acc0, a), a, acc0);
    acc1 = select_negative(sub(acc1, b), b, acc1);
  }
  acc0 = select_negative(sub(acc0, acc1), acc1, acc0);
  float lanes[kW];
  store(lanes, acc0);
  float best = -INFINITY;
  for (float v : lanes) best = v > best ? v : best;
  for (; i < n; ++i) best = x[i] > best ? x[i] : best;
  return best;
}

// Σ exp(x[i] - shift): exp_v clamps its argument at -87.3, so -inf and NaN
// entries (NaN clamps to the bound too) add ~1e-38 each, nothing at float
// precision. Float lanes per block of 1024, blocks summed in double.
double sum_exp_simd(const float* x, int n, float shift) {
  using namespace simd;
  const V vshift = set1(shift);
  double sum = 0;
  for (int begin = 0; begin < n; begin += 1024) {
    const int end = imin(n, begin + 1024);
    V acc0 = zero(), acc1 = zero();
    int i = begin;
    for (; i + 2 * kW <= end; i += 2 * kW) {
      acc0 = add(acc0, exp_v(sub(load(x + i), vshift)));
      acc1 = add(acc1, exp_v(sub(load(x + i + kW), vshift)));
    }
    float block = reduce_add(add(acc0, acc1));
    for (; i < end; ++i) {
      if (x[i] > -INFINITY) block += std::exp(x[i] - shift);
    }
    sum += block;
  }
  return sum;
}

// ---------------------------------------------------------------------------
// Row-major GEMV: c[i][j] = a[i] · W[j] (the vocabulary projection)

inline simd::V load_w_n(const float* p, int n) {
  return simd::load_n(p, n);
}
inline simd::V load_w_n(const uint16_t* p, int n) {
  return simd::load_f16_n(p, n);
}

// R rows of a against one row of W, read front to back as one sequential
// stream (interleaving four rows of W measured 1.7x slower: the hardware
// prefetcher follows one stream, not four 768-byte ones; software prefetch,
// temporal or not, measured no faster than this). S
// accumulators per row of a run along k so that at least 4 FMA chains are in
// flight; one horizontal sum per output.
template <int R, typename WT>
void rows_block(const float* a, int64_t lda, const WT* w, int k, float* c, int64_t ldc) {
  using namespace simd;
  constexpr int S = R == 1 ? 4 : R == 2 ? 2 : 1;
  V acc[S][R];
#pragma GCC unroll 4
  for (int s = 0; s < S; ++s) {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[s][r] = zero();
  }
  int kk = 0;
  for (; kk + S * kW <= k; kk += S * kW) {
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) {
      const V wv = load_w(w + kk + s * kW);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) acc[s][r] = fmadd(load(a + r * lda + kk + s * kW), wv, acc[s][r]);
    }
  }
  for (; kk < k; kk += kW) {  // the rest; masked lanes read as 0 in both operands
    const int rest = imin(kW, k - kk);
    const V wv = load_w_n(w + kk, rest);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[0][r] = fmadd(load_n(a + r * lda + kk, rest), wv, acc[0][r]);
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    V x = acc[0][r];
#pragma GCC unroll 4
    for (int s = 1; s < S; ++s) x = add(x, acc[s][r]);
    c[r * ldc] = reduce_add(x);
  }
}

// The R rows of a against W rows [j0, j1).
template <int R, typename WT>
void rows_strip(const float* a, int64_t lda, const WT* w, int k, int j0, int j1, float* c,
                int64_t ldc) {
  for (int j = j0; j < j1; ++j) rows_block<R>(a, lda, w + (size_t)j * k, k, c + j, ldc);
}

template <typename WT>
void rows_tile_t(const float* a, int64_t lda, int m, const WT* w, int k, int j0, int j1, float* c,
                 int64_t ldc) {
  // Blocks of W's rows outer (a block stays in L1 while every group of 4 rows
  // of a passes over it), so W is read from memory once.
  constexpr int kBlock = 64;
  for (int b0 = j0; b0 < j1; b0 += kBlock) {
    const int b1 = imin(j1, b0 + kBlock);
    int i = 0;
    for (; i + 4 <= m; i += 4) rows_strip<4>(a + i * lda, lda, w, k, b0, b1, c + i * ldc, ldc);
    switch (m - i) {
      case 3:
        rows_strip<3>(a + i * lda, lda, w, k, b0, b1, c + i * ldc, ldc);
        break;
      case 2:
        rows_strip<2>(a + i * lda, lda, w, k, b0, b1, c + i * ldc, ldc);
        break;
      case 1:
        rows_strip<1>(a + i * lda, lda, w, k, b0, b1, c + i * ldc, ldc);
        break;
      default:
        break;
    }
  }
}

void rows_tile_simd(const float* a, int64_t lda, int m, const RowMajorWeights& w, int j0, int j1,
                    float* c, int64_t ldc) {
  // Unaligned rows are fine: every load below is an unaligned vector load.
  if (w.type == GgmlType::kF16) {
    rows_tile_t(a, lda, m, static_cast<const uint16_t*>(w.data), w.k, j0, j1, c, ldc);
  } else {
    rows_tile_t(a, lda, m, static_cast<const float*>(w.data), w.k, j0, j1, c, ldc);
  }
}
