// The SIMD kernels, written once against the small vector vocabulary of
// simd_<isa>.h (V, kW, load, fmadd, ...) and compiled once per ISA by
// kernels_<isa>.cc, which includes this file inside an anonymous namespace
// after defining:
//   kMr          rows of the GEMM micro-tile (kMr x 2 vectors of accumulators)
//   kQuantRows   rows of the micro-tile that unpacks quantized weights in the
//                registers (fewer: the scales and the unpacking take some)
// simd_attention.inl follows it with the attention kernels.
//
// Not a header: no include guard, internal linkage only.

constexpr int kNr = 2 * simd::kW;  // panel width: two vectors of outputs

// How far ahead (bytes) the memory-bound decoder kernels ask for the weights
// and keys they stream, into L2 (simd::prefetch). Why: on an Intel Xeon one
// thread streamed the decoder's weights at ~13 GB/s where a plain read loop
// reaches ~30: the hardware prefetchers alone keep too few lines in flight
// for a loop that also computes. Measured per greedy token, one thread: no
// prefetch 5.2 ms; 2 KB ahead into L1 3.1-3.3 ms (the L1 fill buffers run
// out); 4 KB into L2 2.8-3.0; 8-16 KB into L2 2.7 (32 KB no better). The
// non-temporal hint was 2x slower (on Intel it fills L1 only). The previous
// AMD host measured software prefetch as neutral.
constexpr int kStreamAhead = 8192;

// Prefetches the lines of [p, p + bytes) moved kStreamAhead ahead, where that
// stays below `end` (the end of the stream: nothing past it is touched).
// Addresses are compared as integers (forming a pointer past its array would
// be undefined behaviour), once per call away from the stream's end.
inline void prefetch_ahead(const void* p, int bytes, const void* end) {
  const uintptr_t from = reinterpret_cast<uintptr_t>(p) + kStreamAhead;
  const uintptr_t limit = reinterpret_cast<uintptr_t>(end);
  if (from + (uintptr_t)bytes <= limit) {
    for (int b = 0; b < bytes; b += 64) simd::prefetch(reinterpret_cast<const char*>(from + b));
    return;
  }
  for (int b = 0; b < bytes && from + b < limit; b += 64) {
    simd::prefetch(reinterpret_cast<const char*>(from + b));
  }
}

inline int imin(int a, int b) {
  return a < b ? a : b;
}

// ---------------------------------------------------------------------------
// Elementwise maths

// e^x for x in [-87.3, 88.3]: x = n ln2 + r with |r| <= ln2/2, e^r by a
// degree-6 polynomial (max rel. error ~1.5e-7), times 2^n built from bits.
inline simd::V exp_in_range_v(simd::V x) {
  using namespace simd;
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
  return mul_pow2(y, n);
}

// e^x, x clamped to the range above (beyond it, e^x at its ends).
inline simd::V exp_v(simd::V x) {
  using namespace simd;
  return exp_in_range_v(min(max(x, set1(-87.3f)), set1(88.3f)));
}

// exp_v(x) for x <= 0 (-inf included): the same bits without the upper
// clamp, which such arguments never reach (the softmax's s - max).
inline simd::V exp_nonpositive_v(simd::V x) {
  using namespace simd;
  return exp_in_range_v(max(x, set1(-87.3f)));
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
  return reinterpret_cast<const WT*>(w.base + (size_t)p * w.panel_bytes);
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
// stream_end (R <= 8 only, else ignored): the end of the panels this task
// streams; the weights are then prefetched kStreamAhead bytes ahead.
// S: the k streams per row, by default the fewest that keep 8 FMA chains in
// flight; rows apart (linear_rows) keep a one-row tile's 4 so that each row
// sums exactly as it would alone. c_rows (optional): row r's output is
// c_rows[r] instead of c + r * ldc.
template <int R, typename WT,
          int S = (R == 1   ? 4
                   : R <= 3 ? 2
                            : 1)>
void micro_tile(const float* a, int64_t lda, const WT* panel, int k, int64_t j0, int n, float* c,
                int64_t ldc, const Epilogue& ep, const void* stream_end = nullptr,
                float* const* c_rows = nullptr) {
  using namespace simd;
  V acc[S][R][2];
#pragma GCC unroll 16
  for (int s = 0; s < S; ++s) {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[s][r][0] = acc[s][r][1] = zero();
  }
  int kk = 0;
  for (; kk + S <= k; kk += S) {
    if constexpr (R <= 8) {
      if (stream_end != nullptr) {
        prefetch_ahead(panel + (size_t)kk * kNr, S * kNr * (int)sizeof(WT), stream_end);
      }
    }
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
    float* c_row = c_rows != nullptr ? c_rows[r] : c + r * ldc;
    store_epilogue_v(x0, j0, n, ep, c_row);
    store_epilogue_v(x1, j0 + kW, n, ep, c_row);
  }
}

// Rows left over after whole kMr tiles: picks the micro_tile<rem>.
template <int R, typename WT>
void micro_tile_rows(int rows, const float* a, int64_t lda, const WT* panel, int k, int64_t j0,
                     int n, float* c, int64_t ldc, const Epilogue& ep,
                     const void* stream_end = nullptr) {
  if (rows == R) {
    micro_tile<R>(a, lda, panel, k, j0, n, c, ldc, ep, stream_end);
  } else if constexpr (R > 1) {
    micro_tile_rows<R - 1>(rows, a, lda, panel, k, j0, n, c, ldc, ep, stream_end);
  }
}

// Every row tile of rows [0, m) against one panel (columns from j0).
// stream_end: see micro_tile (used when m is a decoder's few rows).
template <typename WT>
void panel_rows(const float* a, int64_t lda, int m, const WT* panel, int k, int64_t j0, int n,
                float* c, int64_t ldc, const Epilogue& ep, const void* stream_end = nullptr) {
  int i = 0;
  for (; i + kMr <= m; i += kMr) {
    micro_tile<kMr>(a + i * lda, lda, panel, k, j0, n, c + i * ldc, ldc, ep);
  }
  if (i < m) {
    micro_tile_rows<kMr - 1>(m - i, a + i * lda, lda, panel, k, j0, n, c + i * ldc, ldc, ep,
                             stream_end);
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
  // A decoder's few rows stream the task's panels (contiguous) and prefetch
  // ahead up to their end; the encoder's many rows reuse each from cache.
  const void* stream_end = m <= 8 ? panel_ptr<WT>(w, p1) : nullptr;
  for (int p = p0; p < p1; ++p) {
    panel_rows(a, lda, m, panel_ptr<WT>(w, p), w.k, (int64_t)p * kNr, w.n, c, ldc, ep, stream_end);
  }
}

// ---------------------------------------------------------------------------
// Block-quantized weights (quant.h): the bytes the reference dequantizer
// reads, unpacked with integer vector ops into the same f32 weights. The
// integer part of a weight (at most 8 bits) times its f16 scale is exact in
// f32, so fmadd(q, d, m) is the reference's q * d + m (which rounds once
// too), and fmadd(q, d, -offset * d) is its (q - offset) * d: both exact
// products, so the fused sum is exact (only a zero may come out +0 where the
// reference has -0, which no sum sees). One fused op per vector, no integer
// subtraction.

template <GgmlType T>
struct Quant {
  static constexpr bool kHasMin = T == GgmlType::kQ4_1 || T == GgmlType::kQ5_1;
  static constexpr int kBits = T == GgmlType::kQ8_0                             ? 8
                               : (T == GgmlType::kQ5_0 || T == GgmlType::kQ5_1) ? 5
                                                                                : 4;
  static constexpr int kOffset = T == GgmlType::kQ4_0 ? 8 : T == GgmlType::kQ5_0 ? 16 : 0;
  // d, [m], [qh], qs: 18, 20, 22, 24 or 34 bytes
  static constexpr int kBlockBytes =
      2 + (kHasMin ? 2 : 0) + (kBits == 5 ? 4 : 0) + (kBits == 8 ? kQuantBlock : kQuantBlock / 2);
  // Byte offsets in a panel tile of kNr columns (quant.h).
  static constexpr int kTileQuants = (kHasMin ? 4 : 2) * kNr;
  static constexpr int kTileQuantRow = kBits == 8 ? kNr : kNr / 2;
  static constexpr int kTileHigh = kTileQuants + kQuantBlock * kTileQuantRow;
  static constexpr int kTileHighRow = kNr / 8;
  static constexpr int kTileBytes = kBlockBytes * kNr;
};

// Integers -> weights: q * d + m, where m is the minimum of the _1 types or
// -offset * d (quant_tile_scales); q8_0 has neither.
template <GgmlType T>
inline simd::V quant_weights(simd::VI q, simd::V d, simd::V m) {
  using namespace simd;
  if constexpr (Quant<T>::kHasMin || Quant<T>::kOffset != 0) {
    return fmadd(to_float(q), d, m);
  } else {
    return mul(to_float(q), d);
  }
}

// The per-column scales of one panel tile and what quant_weights adds (the
// minimums, or -offset * d), as two vectors each.
template <GgmlType T>
inline void quant_tile_scales(const uint8_t* tile, simd::V* d0, simd::V* d1, simd::V* m0,
                              simd::V* m1) {
  using namespace simd;
  const uint16_t* d = reinterpret_cast<const uint16_t*>(tile);
  *d0 = load_f16(d);
  *d1 = load_f16(d + kW);
  if constexpr (Quant<T>::kHasMin) {
    *m0 = load_f16(d + kNr);
    *m1 = load_f16(d + kNr + kW);
  } else {
    const V offset = set1((float)-Quant<T>::kOffset);  // exact: a power of two times d
    *m0 = mul(*d0, offset);
    *m1 = mul(*d1, offset);
  }
}

// Row kk of a panel tile: the weights of its kNr columns, as w0 (columns
// [0, kW)) and w1 ([kW, kNr)). A q4/q5 row's kW bytes hold w0 in their low
// nibbles and w1 in their high ones, so one widening serves both.
template <GgmlType T>
inline void quant_tile_row(const uint8_t* tile, int kk, simd::V d0, simd::V d1, simd::V m0,
                           simd::V m1, simd::V* w0, simd::V* w1) {
  using namespace simd;
  using Q = Quant<T>;
  const uint8_t* q = tile + Q::kTileQuants + kk * Q::kTileQuantRow;
  VI q0, q1;
  if constexpr (Q::kBits == 8) {
    q0 = widen_i8(reinterpret_cast<const int8_t*>(q));
    q1 = widen_i8(reinterpret_cast<const int8_t*>(q + kW));
  } else {
    const VI bytes = widen_u8(q);
    q0 = low_nibbles(bytes);
    q1 = high_nibbles(bytes);
    if constexpr (Q::kBits == 5) {
      const uint8_t* high = tile + Q::kTileHigh + kk * Q::kTileHighRow;
      q0 = or_bit4(q0, high, 0);
      q1 = or_bit4(q1, high, kW);
    }
  }
  *w0 = quant_weights<T>(q0, d0, m0);
  *w1 = quant_weights<T>(q1, d1, m1);
}

// A whole quantized panel widened into an f32 panel (k x kNr floats).
template <GgmlType T>
void widen_quant_panel(const uint8_t* panel, int k, float* out) {
  using namespace simd;
  for (int t = 0; t < k / kQuantBlock; ++t) {
    const uint8_t* tile = panel + (size_t)t * Quant<T>::kTileBytes;
    V d0, d1, m0, m1;
    quant_tile_scales<T>(tile, &d0, &d1, &m0, &m1);
    float* o = out + (size_t)t * kQuantBlock * kNr;
    for (int kk = 0; kk < kQuantBlock; ++kk) {
      V w0, w1;
      quant_tile_row<T>(tile, kk, d0, d1, m0, m1, &w0, &w1);
      store(o + kk * kNr, w0);
      store(o + kk * kNr + kW, w1);
    }
  }
}

// micro_tile for R <= kQuantRows rows (the decoder's GEMVs, one row per
// beam) reading a quantized panel and unpacking each k row in the registers:
// the weights cross the memory bus quantized, which is what the memory-bound
// decoder gains. Its k streams and sums are micro_tile's, so it computes
// exactly what micro_tile<R> does on the widened panel.
// S and c_rows as micro_tile's.
template <int R, GgmlType T,
          int S = (R == 1   ? 4
                   : R <= 3 ? 2
                            : 1)>
void micro_tile_quant(const float* a, int64_t lda, const uint8_t* panel, int k, int64_t j0, int n,
                      float* c, int64_t ldc, const Epilogue& ep, const void* stream_end,
                      float* const* c_rows = nullptr) {
  using namespace simd;
  static_assert(R <= kQuantRows, "more rows than the registers hold");
  V acc[S][R][2];
#pragma GCC unroll 4
  for (int s = 0; s < S; ++s) {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[s][r][0] = acc[s][r][1] = zero();
  }
  for (int t = 0; t < k / kQuantBlock; ++t) {
    const uint8_t* tile = panel + (size_t)t * Quant<T>::kTileBytes;
    prefetch_ahead(tile, Quant<T>::kTileBytes, stream_end);
    V d0, d1, m0, m1;
    quant_tile_scales<T>(tile, &d0, &d1, &m0, &m1);
    const float* at = a + t * kQuantBlock;
    for (int kk = 0; kk < kQuantBlock; kk += S) {
#pragma GCC unroll 4
      for (int s = 0; s < S; ++s) {
        V w0, w1;
        quant_tile_row<T>(tile, kk + s, d0, d1, m0, m1, &w0, &w1);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
          const V b = set1(at[r * lda + kk + s]);
          acc[s][r][0] = fmadd(b, w0, acc[s][r][0]);
          acc[s][r][1] = fmadd(b, w1, acc[s][r][1]);
        }
      }
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
    float* c_row = c_rows != nullptr ? c_rows[r] : c + r * ldc;
    store_epilogue_v(x0, j0, n, ep, c_row);
    store_epilogue_v(x1, j0 + kW, n, ep, c_row);
  }
}

// Rows left over after whole kQuantRows tiles: picks the micro_tile_quant<rem>.
template <int R, GgmlType T>
void micro_tile_quant_rows(int rows, const float* a, int64_t lda, const uint8_t* panel, int k,
                           int64_t j0, int n, float* c, int64_t ldc, const Epilogue& ep,
                           const void* stream_end) {
  if (rows == R) {
    micro_tile_quant<R, T>(a, lda, panel, k, j0, n, c, ldc, ep, stream_end);
  } else if constexpr (R > 1) {
    micro_tile_quant_rows<R - 1, T>(rows, a, lda, panel, k, j0, n, c, ldc, ep, stream_end);
  }
}

// Few rows (up to two tiles of kQuantRows: the decoder's tokens and beams):
// unpack in the registers for each row tile. More: widen each panel into the
// scratch once (kernels.cc gives such tasks many rows, so the widening costs
// a few percent of the FMAs that follow) and run the f32 micro-kernel.
template <GgmlType T>
void linear_tile_quant(const float* a, int64_t lda, int m, const PackedWeights::Impl& w, int p0,
                       int p1, float* c, int64_t ldc, const Epilogue& ep, float* scratch) {
  // The task's panels are contiguous: the few-row path streams them and
  // prefetches ahead up to their end (only the first row tile: the next
  // reads the same panel from cache).
  const void* stream_end = w.base + (size_t)p1 * w.panel_bytes;
  for (int p = p0; p < p1; ++p) {
    const uint8_t* panel = w.base + (size_t)p * w.panel_bytes;
    const int64_t j0 = (int64_t)p * kNr;
    if (m <= 2 * kQuantRows) {
      int i = 0;
      for (; i + kQuantRows <= m; i += kQuantRows) {
        micro_tile_quant<kQuantRows, T>(a + i * lda, lda, panel, w.k, j0, w.n, c + i * ldc, ldc, ep,
                                        i == 0 ? stream_end : nullptr);
      }
      if (i < m) {
        micro_tile_quant_rows<kQuantRows - 1, T>(m - i, a + i * lda, lda, panel, w.k, j0, w.n,
                                                 c + i * ldc, ldc, ep,
                                                 i == 0 ? stream_end : nullptr);
      }
    } else {
      widen_quant_panel<T>(panel, w.k, scratch);
      panel_rows<float>(a, lda, m, scratch, w.k, j0, w.n, c, ldc, ep);
    }
  }
}

void linear_tile_by_type(const float* a, int64_t lda, int m, const PackedWeights::Impl& w, int p0,
                         int p1, float* c, int64_t ldc, const Epilogue& ep, float* scratch) {
  switch (w.type) {
    case GgmlType::kF16:
      return linear_tile_t<uint16_t>(a, lda, m, w, p0, p1, c, ldc, ep);
    case GgmlType::kQ4_0:
      return linear_tile_quant<GgmlType::kQ4_0>(a, lda, m, w, p0, p1, c, ldc, ep, scratch);
    case GgmlType::kQ4_1:
      return linear_tile_quant<GgmlType::kQ4_1>(a, lda, m, w, p0, p1, c, ldc, ep, scratch);
    case GgmlType::kQ5_0:
      return linear_tile_quant<GgmlType::kQ5_0>(a, lda, m, w, p0, p1, c, ldc, ep, scratch);
    case GgmlType::kQ5_1:
      return linear_tile_quant<GgmlType::kQ5_1>(a, lda, m, w, p0, p1, c, ldc, ep, scratch);
    case GgmlType::kQ8_0:
      return linear_tile_quant<GgmlType::kQ8_0>(a, lda, m, w, p0, p1, c, ldc, ep, scratch);
    default:
      return linear_tile_t<float>(a, lda, m, w, p0, p1, c, ldc, ep);
  }
}

void linear_tile_simd(const float* a, int64_t lda, int m, const PackedWeights::Impl& w, int p0,
                      int p1, float* c, int64_t ldc, const Epilogue& ep, float* scratch) {
  linear_tile_by_type(a, lda, m, w, p0, p1, c, ldc, ep, scratch);
  simd::zero_upper();
}

// Rows apart (kernels::linear_rows): tiles of up to kApartRows rows that
// keep a one-row tile's four k streams per row (micro_tile<R, WT, 4>), so
// every row comes out bit for bit as it would alone (micro_tile<1>), while
// each panel row is loaded and widened once for the tile's rows and the panel
// stays in cache for the next tile. Only the first tile prefetches the
// stream, as a one-row call does.
template <int R, typename WT>
void apart_rows_tile(int rows, const float* a, int64_t lda, const WT* panel, int k, int64_t j0,
                     int n, float* const* c_rows, const Epilogue& ep, const void* stream_end) {
  if (rows == R) {
    micro_tile<R, WT, 4>(a, lda, panel, k, j0, n, nullptr, 0, ep, stream_end, c_rows);
  } else if constexpr (R > 1) {
    apart_rows_tile<R - 1>(rows, a, lda, panel, k, j0, n, c_rows, ep, stream_end);
  }
}

template <typename WT>
void linear_tile_rows_t(const float* a, int64_t lda, int m, const PackedWeights::Impl& w, int p0,
                        int p1, float* const* c_rows, int64_t col0, const Epilogue& ep) {
  const void* stream_end = panel_ptr<WT>(w, p1);
  float* out[kApartRows];
  for (int p = p0; p < p1; ++p) {
    for (int r = 0; r < m; r += kApartRows) {
      const int rows = m - r < kApartRows ? m - r : kApartRows;
      for (int i = 0; i < rows; ++i) out[i] = c_rows[r + i] + col0;
      apart_rows_tile<kApartRows>(rows, a + r * lda, lda, panel_ptr<WT>(w, p), w.k,
                                  (int64_t)p * kNr, w.n, out, ep, r == 0 ? stream_end : nullptr);
    }
  }
}

template <int R, GgmlType T>
void apart_rows_tile_quant(int rows, const float* a, int64_t lda, const uint8_t* panel, int k,
                           int64_t j0, int n, float* const* c_rows, const Epilogue& ep,
                           const void* stream_end) {
  if (rows == R) {
    micro_tile_quant<R, T, 4>(a, lda, panel, k, j0, n, nullptr, 0, ep, stream_end, c_rows);
  } else if constexpr (R > 1) {
    apart_rows_tile_quant<R - 1, T>(rows, a, lda, panel, k, j0, n, c_rows, ep, stream_end);
  }
}

template <GgmlType T>
void linear_tile_rows_quant(const float* a, int64_t lda, int m, const PackedWeights::Impl& w,
                            int p0, int p1, float* const* c_rows, int64_t col0,
                            const Epilogue& ep) {
  const void* stream_end = w.base + (size_t)p1 * w.panel_bytes;
  float* out[kApartQuantRows];
  for (int p = p0; p < p1; ++p) {
    const uint8_t* panel = w.base + (size_t)p * w.panel_bytes;
    for (int r = 0; r < m; r += kApartQuantRows) {
      const int rows = m - r < kApartQuantRows ? m - r : kApartQuantRows;
      for (int i = 0; i < rows; ++i) out[i] = c_rows[r + i] + col0;
      apart_rows_tile_quant<kApartQuantRows, T>(rows, a + r * lda, lda, panel, w.k,
                                                (int64_t)p * kNr, w.n, out, ep,
                                                r == 0 ? stream_end : nullptr);
    }
  }
}

void linear_tile_rows_simd(const float* a, int64_t lda, int m, const PackedWeights::Impl& w, int p0,
                           int p1, float* const* c_rows, int64_t col0, const Epilogue& ep, float*) {
  switch (w.type) {
    case GgmlType::kF16:
      linear_tile_rows_t<uint16_t>(a, lda, m, w, p0, p1, c_rows, col0, ep);
      break;
    case GgmlType::kQ4_0:
      linear_tile_rows_quant<GgmlType::kQ4_0>(a, lda, m, w, p0, p1, c_rows, col0, ep);
      break;
    case GgmlType::kQ4_1:
      linear_tile_rows_quant<GgmlType::kQ4_1>(a, lda, m, w, p0, p1, c_rows, col0, ep);
      break;
    case GgmlType::kQ5_0:
      linear_tile_rows_quant<GgmlType::kQ5_0>(a, lda, m, w, p0, p1, c_rows, col0, ep);
      break;
    case GgmlType::kQ5_1:
      linear_tile_rows_quant<GgmlType::kQ5_1>(a, lda, m, w, p0, p1, c_rows, col0, ep);
      break;
    case GgmlType::kQ8_0:
      linear_tile_rows_quant<GgmlType::kQ8_0>(a, lda, m, w, p0, p1, c_rows, col0, ep);
      break;
    default:
      linear_tile_rows_t<float>(a, lda, m, w, p0, p1, c_rows, col0, ep);
      break;
  }
  simd::zero_upper();
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

// The first i with x[i] > threshold: four vectors compared per step and the
// lanes' bits OR-ed, so a row where nothing passes (most of the vocabulary
// once a top-k list is full) costs four compares per 4 kW floats.
int first_above_simd(const float* x, int n, float threshold) {
  using namespace simd;
  const V t = set1(threshold);
  int i = 0;
  for (; i + 4 * kW <= n; i += 4 * kW) {
    const unsigned any = greater_bits(load(x + i), t) | greater_bits(load(x + i + kW), t) |
                         greater_bits(load(x + i + 2 * kW), t) |
                         greater_bits(load(x + i + 3 * kW), t);
    if (any != 0) break;
  }
  for (; i < n; ++i) {
    if (x[i] > threshold) return i;
  }
  return n;
}

// Σ exp(x[i] - shift): exp_v clamps its argument at -87.3, so -inf and NaN
// entries (NaN clamps to the bound too) add ~1e-38 each, nothing at float
// precision. Float lanes per block of 1024, blocks summed in double.
// exp((x[i] - shift) * scale) into out, and their sum as sum_exp_simd's.
double exp_row_simd(const float* x, int n, float shift, float scale, float* out) {
  using namespace simd;
  const V vshift = set1(shift), vscale = set1(scale);
  double sum = 0;
  for (int begin = 0; begin < n; begin += 1024) {
    const int end = imin(n, begin + 1024);
    V acc = zero();
    int i = begin;
    for (; i + kW <= end; i += kW) {
      const V e = exp_v(mul(sub(load(x + i), vshift), vscale));
      store(out + i, e);
      acc = add(acc, e);
    }
    float block = reduce_add(acc);
    for (; i < end; ++i) {
      out[i] = x[i] > -INFINITY ? std::exp((x[i] - shift) * scale) : 0.0f;
      block += out[i];
    }
    sum += block;
  }
  return sum;
}

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
