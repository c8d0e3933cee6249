// The SIMD kernels, written once against the small vector vocabulary of
// simd_<isa>.h (V, kW, load, fmadd, ...) and compiled once per ISA by
// kernels_<isa>.cc, which includes this file inside an anonymous namespace
// after defining:
//   kMr          rows of the GEMM micro-tile (kMr x 2 vectors of accumulators)
//   kScoreRows   query rows per attention score tile (x 4 vectors of keys)
//   kValueRows   query rows per attention P·V tile (x up to 4 vectors of d_head)
//
// Not a header: no include guard, internal linkage only.

constexpr int kNr = 2 * simd::kW;          // panel width: two vectors of outputs
constexpr int kKeyTile = 4 * simd::kW;     // keys per attention score tile
constexpr int kAttnBlockRows = 24;         // query rows per attention task

inline int imin(int a, int b) { return a < b ? a : b; }
inline int imax(int a, int b) { return a > b ? a : b; }

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
// stays in L1 while every row tile of this task's rows streams past it.
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
// Attention

// softmax numerator in place over s[0, count): s = exp(s - max); returns the sum.
float softmax_exp_in_place(float* s, int count) {
  using namespace simd;
  float mx = -INFINITY;
  int t = 0;
  if (count >= kW) {
    V vm = load(s);
    for (t = kW; t + kW <= count; t += kW) vm = max(vm, load(s + t));
    mx = reduce_max(vm);
  }
  for (; t < count; ++t) mx = s[t] > mx ? s[t] : mx;
  const V vmx = set1(mx);
  V vsum = zero();
  t = 0;
  for (; t + kW <= count; t += kW) {
    const V e = exp_v(sub(load(s + t), vmx));
    store(s + t, e);
    vsum = add(vsum, e);
  }
  if (t < count) {
    const int rest = count - t;
    const V e = exp_v(sub(load_n(s + t, rest), vmx));
    store_n(s + t, e, rest);
    vsum = add(vsum, load_n(s + t, rest));  // masked lanes add 0
  }
  return reduce_add(vsum);
}

// Scores of R query rows against kKeyTile keys (4 vectors) read from the
// transposed keys: per head dimension e, one broadcast of q[r][e] and 4 key
// vectors give 4R FMAs, no horizontal sums.
template <int R>
void score_tile(const float* q, int64_t ldq, const float* kt, int64_t ld_kt, int d, float scale,
                float* s, int64_t lds) {
  using namespace simd;
  V acc[R][4];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = zero();
  for (int e = 0; e < d; ++e) {
    const float* kr = kt + e * ld_kt;
    const V k0 = load(kr), k1 = load(kr + kW), k2 = load(kr + 2 * kW), k3 = load(kr + 3 * kW);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const V b = set1(q[r * ldq + e]);
      acc[r][0] = fmadd(b, k0, acc[r][0]);
      acc[r][1] = fmadd(b, k1, acc[r][1]);
      acc[r][2] = fmadd(b, k2, acc[r][2]);
      acc[r][3] = fmadd(b, k3, acc[r][3]);
    }
  }
  const V vs = set1(scale);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < 4; ++v) store(s + r * lds + v * kW, mul(acc[r][v], vs));
  }
}

template <int R>
void score_tile_rows(int rows, const float* q, int64_t ldq, const float* kt, int64_t ld_kt, int d,
                     float scale, float* s, int64_t lds) {
  if (rows == R) {
    score_tile<R>(q, ldq, kt, ld_kt, d, scale, s, lds);
  } else if constexpr (R > 1) {
    score_tile_rows<R - 1>(rows, q, ldq, kt, ld_kt, d, scale, s, lds);
  }
}

// out[r][0, NV*kW) = Σ_t p[r][t] v[t] for R rows: per key one broadcast per
// row and NV value vectors, R*NV accumulators.
template <int R, int NV>
void value_tile(const float* p, int64_t ldp, const float* inv_sum, const float* v, int64_t ldv,
                int n_keys, float* out, int64_t ldo) {
  using namespace simd;
  V acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    for (int j = 0; j < NV; ++j) acc[r][j] = zero();
  }
  for (int t = 0; t < n_keys; ++t) {
    V vv[NV];
    for (int j = 0; j < NV; ++j) vv[j] = load(v + t * ldv + j * kW);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const V b = set1(p[r * ldp + t]);
      for (int j = 0; j < NV; ++j) acc[r][j] = fmadd(b, vv[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const V inv = set1(inv_sum[r]);
    for (int j = 0; j < NV; ++j) store(out + r * ldo + j * kW, mul(acc[r][j], inv));
  }
}

template <int R, int NV>
void value_tile_rows(int rows, const float* p, int64_t ldp, const float* inv_sum, const float* v,
                     int64_t ldv, int n_keys, float* out, int64_t ldo) {
  if (rows == R) {
    value_tile<R, NV>(p, ldp, inv_sum, v, ldv, n_keys, out, ldo);
  } else if constexpr (R > 1) {
    value_tile_rows<R - 1, NV>(rows, p, ldp, inv_sum, v, ldv, n_keys, out, ldo);
  }
}

template <int NV>
void value_rows(int rows, const float* p, int64_t ldp, const float* inv_sum, const float* v,
                int64_t ldv, int n_keys, float* out, int64_t ldo) {
  int r = 0;
  for (; r + kValueRows <= rows; r += kValueRows) {
    value_tile<kValueRows, NV>(p + r * ldp, ldp, inv_sum + r, v, ldv, n_keys, out + r * ldo, ldo);
  }
  if (r < rows) {
    value_tile_rows<kValueRows - 1, NV>(rows - r, p + r * ldp, ldp, inv_sum + r, v, ldv, n_keys,
                                        out + r * ldo, ldo);
  }
}

// A block of query rows against all visible keys (keys pre-transposed).
// Scores for the block go to scratch (rows x ceil(keys/kKeyTile) tiles), then
// softmax per row, then P·V; the block's score matrix is at most 24 x 1536
// floats, L2-resident, instead of n_q x n_kv per head.
void attention_block(const AttentionArgs& at, int h, int q0, int q1, float* scratch) {
  const int d = at.d_head, rows = q1 - q0;
  const int n_keys = attention_visible_keys(at, q1 - 1);  // the widest row of the block
  // Whole key tiles, plus one cache line against L1 set conflicts between rows.
  const int64_t lds = (n_keys + kKeyTile - 1) / kKeyTile * kKeyTile + 16;
  float* s = scratch;                  // [rows][lds]
  float* inv_sum = scratch + rows * lds;  // [rows]
  const float* q = at.q + q0 * at.ldq + h * d;
  const float* kt = at.kt + h * at.kt_head_stride;
  // Key tiles outer: a tile of transposed keys (d x kKeyTile) stays in L1
  // while every row group of the block uses it.
  for (int64_t t0 = 0; t0 < n_keys; t0 += kKeyTile) {
    int r = 0;
    for (; r + kScoreRows <= rows; r += kScoreRows) {
      score_tile<kScoreRows>(q + r * at.ldq, at.ldq, kt + t0, at.ld_kt, d, at.scale,
                             s + r * lds + t0, lds);
    }
    if (r < rows) {
      score_tile_rows<kScoreRows - 1>(rows - r, q + r * at.ldq, at.ldq, kt + t0, at.ld_kt, d,
                                      at.scale, s + r * lds + t0, lds);
    }
  }
  for (int r = 0; r < rows; ++r) {
    const int visible = attention_visible_keys(at, q0 + r);
    float* sr = s + r * lds;
    const float sum = visible > 0 ? softmax_exp_in_place(sr, visible) : 0.0f;
    for (int t = visible; t < n_keys; ++t) sr[t] = 0.0f;
    inv_sum[r] = visible > 0 ? 1.0f / sum : 0.0f;
  }
  const float* v = at.v + h * d;
  float* out = at.out + q0 * at.ldo + h * d;
  for (int e0 = 0; e0 < d; e0 += 4 * simd::kW) {
    const int nv = imin(4, (d - e0) / simd::kW);
    switch (nv) {
      case 4: value_rows<4>(rows, s, lds, inv_sum, v + e0, at.ldv, n_keys, out + e0, at.ldo); break;
      case 3: value_rows<3>(rows, s, lds, inv_sum, v + e0, at.ldv, n_keys, out + e0, at.ldo); break;
      case 2: value_rows<2>(rows, s, lds, inv_sum, v + e0, at.ldv, n_keys, out + e0, at.ldo); break;
      default: value_rows<1>(rows, s, lds, inv_sum, v + e0, at.ldv, n_keys, out + e0, at.ldo);
    }
  }
}

void attention_rows_simd(const AttentionArgs& at, int h, int q0, int q1, float* scratch) {
  if (at.d_head % simd::kW != 0 || at.kt == nullptr) {
    generic_kernels().attention_rows(at, h, q0, q1, scratch);  // odd head sizes: scalar
    return;
  }
  attention_block(at, h, q0, q1, scratch);
}

// One query row of one head (the decoder): scores by vector dot products
// straight from the key rows (two keys at a time: independent FMA chains; no
// transpose for one query), softmax, then the weighted sum of value rows with
// the accumulators in registers. Keys and values are read once, in order.
// (Reading all heads' columns of a row together was tried: no faster when
// memory-bound, ~20% slower when the rows sit in L3.)
void attention_query_head(const AttentionArgs& at, int h, int i, float* s) {
  using namespace simd;
  const int d = at.d_head, nvd = d / kW;
  const int visible = attention_visible_keys(at, i);
  float* out = at.out + i * at.ldo + h * d;
  if (visible == 0) {
    for (int e = 0; e < d; ++e) out[e] = 0.0f;
    return;
  }
  const float* q = at.q + i * at.ldq + h * d;
  const float* k = at.k + h * d;
  int t = 0;
  for (; t + 2 <= visible; t += 2) {
    const float* k0 = k + t * at.ldk;
    const float* k1 = k0 + at.ldk;
    V a0 = zero(), a1 = zero();
    for (int j = 0; j < nvd; ++j) {
      const V qv = load(q + j * kW);
      a0 = fmadd(qv, load(k0 + j * kW), a0);
      a1 = fmadd(qv, load(k1 + j * kW), a1);
    }
    s[t] = reduce_add(a0) * at.scale;
    s[t + 1] = reduce_add(a1) * at.scale;
  }
  for (; t < visible; ++t) {
    V a0 = zero();
    for (int j = 0; j < nvd; ++j) a0 = fmadd(load(q + j * kW), load(k + t * at.ldk + j * kW), a0);
    s[t] = reduce_add(a0) * at.scale;
  }
  const float inv = 1.0f / softmax_exp_in_place(s, visible);
  V acc[8];
  for (int j = 0; j < nvd; ++j) acc[j] = zero();
  const float* v = at.v + h * d;
  for (t = 0; t < visible; ++t) {
    const V p = set1(s[t]);
    for (int j = 0; j < nvd; ++j) acc[j] = fmadd(p, load(v + t * at.ldv + j * kW), acc[j]);
  }
  for (int j = 0; j < nvd; ++j) store(out + j * kW, mul(acc[j], set1(inv)));
}

void attention_query_simd(const AttentionArgs& at, int h0, int h1, int i, float* scratch) {
  if (at.d_head % simd::kW != 0 || at.d_head > 8 * simd::kW) {
    generic_kernels().attention_query(at, h0, h1, i, scratch);  // odd head sizes: scalar
    return;
  }
  for (int h = h0; h < h1; ++h) attention_query_head(at, h, i, scratch);
}

size_t attention_scratch_floats_simd(int n_kv, int d_head) {
  const size_t lds = (size_t)(n_kv + kKeyTile - 1) / kKeyTile * kKeyTile + 16;
  const size_t block = kAttnBlockRows * (lds + 1);
  const size_t generic = (size_t)n_kv + d_head;  // the odd-head-size fallback
  return block > generic ? block : generic;
}

const IsaKernels& make_table() {
  static const IsaKernels table = {
      kNr,
      pack_panel_any,
      linear_tile_simd,
      attention_rows_simd,
      kAttnBlockRows,
      /*wants_transposed_keys=*/true,
      attention_scratch_floats_simd,
      attention_query_simd,
      layer_norm_row_simd,
      gelu_simd,
      add_simd,
      f16_to_f32_simd,
  };
  return table;
}
