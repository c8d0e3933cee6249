// The SIMD attention kernels, written once against simd_<isa>.h like
// simd_kernels.inl (whose exp_v they use) and included after it by
// kernels_<isa>.cc, which defines kScoreRows and kValueRows.
//
// Not a header: no include guard, internal linkage only.

constexpr int kKeyTile = 4 * simd::kW;  // keys per attention score tile
// Query rows per attention task. Each row group (kScoreRows) of a block reads
// the tile's keys and values from L1 once they are there, so larger blocks
// fetch them less often: 48 rows measured ~4% faster than 24 on the
// encoder's attention (AVX-512, Intel Xeon), 60-96 no better.
constexpr int kAttnBlockRows = 48;
// Output vectors attention_query_head keeps for one head: 8, but at least
// Whisper's d_head of 64 (16 vectors on NEON); larger heads use the generic
// kernel.
constexpr int kQueryAccVecs = 64 / simd::kW > 8 ? 64 / simd::kW : 8;

// max of s[0, count), count >= 1.
float row_max(const float* s, int count) {
  using namespace simd;
  float mx = -INFINITY;
  int t = 0;
  if (count >= kW) {
    V vm = load(s);
    for (t = kW; t + kW <= count; t += kW) vm = max(vm, load(s + t));
    mx = reduce_max(vm);
  }
  for (; t < count; ++t) mx = s[t] > mx ? s[t] : mx;
  return mx;
}

// s = exp(s - shift) in place over s[0, count); returns the sum.
float exp_shifted_in_place(float* s, int count, float shift) {
  using namespace simd;
  const V vshift = set1(shift);
  V vsum = zero();
  int t = 0;
  for (; t + kW <= count; t += kW) {
    const V e = exp_v(sub(load(s + t), vshift));
    store(s + t, e);
    vsum = add(vsum, e);
  }
  if (t < count) {
    const int rest = count - t;
    const V e = exp_v(sub(load_n(s + t, rest), vshift));
    store_n(s + t, e, rest);
    vsum = add(vsum, load_n(s + t, rest));  // masked lanes add 0
  }
  return reduce_add(vsum);
}

// softmax numerator in place over s[0, count): s = exp(s - max); returns the sum.
float softmax_exp_in_place(float* s, int count) {
  return exp_shifted_in_place(s, count, row_max(s, count));
}

// The running softmax of a block of query rows over one tile of keys, as
// attention_block keeps it: per row the shift m (the largest score so far),
// the sum of exp(score - m) in one vector of partial sums (reduced once, at
// the end), and for this tile alpha = exp(m_old - m_new), by which the
// output so far must be rescaled (1 when the tile does not raise m).
struct RunningSoftmax {
  float* max;    // [rows]
  float* sum;    // [rows][kW]
  float* alpha;  // [rows]
};

// Scores of R query rows against one tile of kKeyTile keys (4 vectors) read
// from the transposed keys: per head dimension e, one broadcast of q[r][e]
// and 4 key vectors give 4R FMAs, no horizontal sums. Then, while the scores
// are still in registers, the tile's softmax step:
// the masked lanes out, the row maxima, the new shifts, and p = exp(s - m)
// stored to p [R][ldp] (0 for masked keys). count[r]: the keys of this tile
// row r may see, in [0, kKeyTile]. Fusing saves a store and two re-reads of
// the scores, and the 4R exponentials of a tile are independent, so their
// long dependency chains overlap.
template <int R>
void score_softmax_tile(const float* q, int64_t ldq, const float* kt, int64_t ld_kt, int d,
                        float scale, const int* count, RunningSoftmax sm, float* p, int64_t ldp) {
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
  const V vscale = set1(scale);
  const V neg_inf = set1(-INFINITY);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* pr = p + r * ldp;
    const int c = count[r];
    if (c <= 0) {  // no visible key in this tile: nothing changes
      for (int v = 0; v < 4; ++v) store(pr + v * kW, zero());
      sm.alpha[r] = 1.0f;
      continue;
    }
    V sv[4];
    for (int v = 0; v < 4; ++v) {
      sv[v] = mul(acc[r][v], vscale);
      if (c < kKeyTile) sv[v] = select_first_n(sv[v], c - v * kW, neg_inf);
    }
    // The tile raises the row's shift only if one of its scores exceeds it:
    // one compare finds that, and the horizontal max runs only then (on the
    // first tiles, rarely later). With the exponentials' one clamp instead of
    // two, the encoder's attention took ~1.5 % less time (AMD Zen 4; the
    // same bits).
    const V lane_max = max(max(sv[0], sv[1]), max(sv[2], sv[3]));
    float m = sm.max[r], alpha = 1.0f;
    if (greater_bits(lane_max, set1(m)) != 0) {
      const float tile_max = reduce_max(lane_max);
      alpha = expf(m - tile_max);  // C expf; 0 on the first tile (exp(-inf))
      m = tile_max;
      sm.max[r] = m;
    }
    sm.alpha[r] = alpha;
    const V vm = set1(m);
    V sum = zero();
    for (int v = 0; v < 4; ++v) {
      V e = exp_nonpositive_v(sub(sv[v], vm));
      if (c < kKeyTile) e = select_first_n(e, c - v * kW, zero());
      store(pr + v * kW, e);
      sum = add(sum, e);
    }
    float* run_sum = sm.sum + r * kW;
    store(run_sum, fmadd(load(run_sum), set1(alpha), sum));
  }
}

template <int R>
void score_softmax_tile_rows(int rows, const float* q, int64_t ldq, const float* kt, int64_t ld_kt,
                             int d, float scale, const int* count, RunningSoftmax sm, float* p,
                             int64_t ldp) {
  if (rows == R) {
    score_softmax_tile<R>(q, ldq, kt, ld_kt, d, scale, count, sm, p, ldp);
  } else if constexpr (R > 1) {
    score_softmax_tile_rows<R - 1>(rows, q, ldq, kt, ld_kt, d, scale, count, sm, p, ldp);
  }
}

// For R rows: out[r][0, NV*kW) = Σ_t p[r][t] v[t] over this chunk of keys,
// added to the earlier chunks' sum rescaled by alpha[r] (first chunk: stored).
// Per key one broadcast per row and NV value vectors: R*NV accumulators.
template <int R, int NV, typename VT>
void value_tile(const float* p, int64_t ldp, const float* alpha, bool first, const VT* v,
                int64_t ldv, int n_keys, float* out, int64_t ldo) {
  using namespace simd;
  V acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    for (int j = 0; j < NV; ++j) acc[r][j] = zero();
  }
  for (int t = 0; t < n_keys; ++t) {
    V vv[NV];
    for (int j = 0; j < NV; ++j) vv[j] = load_w(v + t * ldv + j * kW);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const V b = set1(p[r * ldp + t]);
      for (int j = 0; j < NV; ++j) acc[r][j] = fmadd(b, vv[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* o = out + r * ldo;
    if (first) {
      for (int j = 0; j < NV; ++j) store(o + j * kW, acc[r][j]);
    } else {
      const V a = set1(alpha[r]);
      for (int j = 0; j < NV; ++j) store(o + j * kW, fmadd(load(o + j * kW), a, acc[r][j]));
    }
  }
}

template <int R, int NV, typename VT>
void value_tile_rows(int rows, const float* p, int64_t ldp, const float* alpha, bool first,
                     const VT* v, int64_t ldv, int n_keys, float* out, int64_t ldo) {
  if (rows == R) {
    value_tile<R, NV>(p, ldp, alpha, first, v, ldv, n_keys, out, ldo);
  } else if constexpr (R > 1) {
    value_tile_rows<R - 1, NV>(rows, p, ldp, alpha, first, v, ldv, n_keys, out, ldo);
  }
}

template <int NV, typename VT>
void value_rows(int rows, const float* p, int64_t ldp, const float* alpha, bool first, const VT* v,
                int64_t ldv, int n_keys, float* out, int64_t ldo) {
  int r = 0;
  for (; r + kValueRows <= rows; r += kValueRows) {
    value_tile<kValueRows, NV, VT>(p + r * ldp, ldp, alpha + r, first, v, ldv, n_keys,
                                   out + r * ldo, ldo);
  }
  if (r < rows) {
    value_tile_rows<kValueRows - 1, NV, VT>(rows - r, p + r * ldp, ldp, alpha + r, first, v, ldv,
                                            n_keys, out + r * ldo, ldo);
  }
}

// Every d_head column chunk (4 vectors at a time) of value_rows.
template <typename VT>
void value_all_columns(int rows, int d, const float* p, int64_t ldp, const float* alpha, bool first,
                       const VT* v, int64_t ldv, int n_keys, float* out, int64_t ldo) {
  for (int e0 = 0; e0 < d; e0 += 4 * simd::kW) {
    const int nv = imin(4, (d - e0) / simd::kW);
    const VT* ve = v + e0;
    float* oe = out + e0;
    switch (nv) {
      case 4:
        value_rows<4>(rows, p, ldp, alpha, first, ve, ldv, n_keys, oe, ldo);
        break;
      case 3:
        value_rows<3>(rows, p, ldp, alpha, first, ve, ldv, n_keys, oe, ldo);
        break;
      case 2:
        value_rows<2>(rows, p, ldp, alpha, first, ve, ldv, n_keys, oe, ldo);
        break;
      default:
        value_rows<1>(rows, p, ldp, alpha, first, ve, ldv, n_keys, oe, ldo);
    }
  }
}

// A block of query rows against all visible keys (keys pre-transposed), one
// tile of kKeyTile keys at a time with a running softmax (RunningSoftmax): per
// tile, score_softmax_tile for each group of kScoreRows rows, then the
// probability-weighted value rows added into the output rows, which are first
// rescaled by alpha. Why tiles this small: a tile's transposed keys and value
// rows (16 KB each on AVX-512) stay in L1 while every row group of the block
// uses them (in chunks of 512 keys they came from L2 for every group). No
// n_q x n_kv matrix ever exists.
template <typename VT>
void attention_block(const AttentionArgs& at, const VT* v_base, int h, int q0, int q1,
                     float* scratch) {
  using namespace simd;
  const int d = at.d_head, rows = q1 - q0;
  const int n_keys = attention_visible_keys(at, q1 - 1);  // the widest row of the block
  // One cache line past the tile against L1 set conflicts between rows.
  constexpr int64_t ldp = kKeyTile + 16;
  float* p = scratch;                    // [rows][ldp]: probabilities of a tile
  float* run_sum = p + rows * ldp;       // [rows][kW]
  float* run_max = run_sum + rows * kW;  // [rows]
  float* alpha = run_max + rows;         // [rows]
  int count[kAttnBlockRows];             // visible keys of the tile, per row
  const float* q = at.q + q0 * at.ldq + h * at.q_head_stride;
  const float* kt = at.kt + h * at.kt_head_stride;
  const VT* v = v_base + h * at.v_head_stride;
  float* out = at.out + q0 * at.ldo + h * d;
  for (int r = 0; r < rows; ++r) {
    run_max[r] = -INFINITY;
    store(run_sum + r * kW, zero());
  }
  for (int t0 = 0; t0 < n_keys; t0 += kKeyTile) {
    const int len = imin(kKeyTile, n_keys - t0);
    for (int r = 0; r < rows; ++r) {
      const int visible = attention_visible_keys(at, q0 + r) - t0;  // of this tile
      count[r] = visible < 0 ? 0 : imin(visible, len);
    }
    int r = 0;
    for (; r + kScoreRows <= rows; r += kScoreRows) {
      score_softmax_tile<kScoreRows>(q + r * at.ldq, at.ldq, kt + t0, at.ld_kt, d, at.scale,
                                     count + r, {run_max + r, run_sum + r * kW, alpha + r},
                                     p + r * ldp, ldp);
    }
    if (r < rows) {
      score_softmax_tile_rows<kScoreRows - 1>(
          rows - r, q + r * at.ldq, at.ldq, kt + t0, at.ld_kt, d, at.scale, count + r,
          {run_max + r, run_sum + r * kW, alpha + r}, p + r * ldp, ldp);
    }
    value_all_columns(rows, d, p, ldp, alpha, /*first=*/t0 == 0, v + t0 * at.ldv, at.ldv, len, out,
                      at.ldo);
  }
  for (int r = 0; r < rows; ++r) {
    const float total = reduce_add(load(run_sum + r * kW));
    const float inv = total > 0.0f ? 1.0f / total : 0.0f;
    float* o = out + r * at.ldo;
    for (int e = 0; e < d; ++e) o[e] *= inv;
  }
}

void attention_rows_simd(const AttentionArgs& at, int h, int q0, int q1, float* scratch) {
  if (at.d_head % simd::kW != 0 || at.kt == nullptr) {
    generic_kernels().attention_rows(at, h, q0, q1, scratch);  // odd head sizes: scalar
    return;
  }
  if (at.v16 != nullptr) {
    attention_block(at, at.v16, h, q0, q1, scratch);
  } else {
    attention_block(at, at.v, h, q0, q1, scratch);
  }
}

// One query row of one head (the decoder): scores by vector dot products
// straight from the key rows (two keys at a time: independent FMA chains; no
// transpose for one query), softmax, then the weighted sum of value rows with
// the accumulators in registers. Keys and values are read once, in order.
// (Reading all heads' columns of a row together was tried: no faster when
// memory-bound, ~20% slower when the rows sit in L3.)
// KT: float, or uint16_t for f16 keys and values (widened in the register).
template <typename KT>
void attention_query_head(const AttentionArgs& at, const KT* k_base, const KT* v_base, int h, int i,
                          float* s) {
  using namespace simd;
  const int d = at.d_head, nvd = d / kW;
  const int visible = attention_visible_keys(at, i);
  float* out = at.out + i * at.ldo + h * d;
  if (visible == 0) {
    for (int e = 0; e < d; ++e) out[e] = 0.0f;
    return;
  }
  const float* q = at.q + i * at.ldq + h * at.q_head_stride;
  const KT* k = k_base + h * at.k_head_stride;
  int t = 0;
  for (; t + 2 <= visible; t += 2) {
    const KT* k0 = k + t * at.ldk;
    const KT* k1 = k0 + at.ldk;
    V a0 = zero(), a1 = zero();
    for (int j = 0; j < nvd; ++j) {
      const V qv = load(q + j * kW);
      a0 = fmadd(qv, load_w(k0 + j * kW), a0);
      a1 = fmadd(qv, load_w(k1 + j * kW), a1);
    }
    s[t] = reduce_add(a0) * at.scale;
    s[t + 1] = reduce_add(a1) * at.scale;
  }
  for (; t < visible; ++t) {
    V a0 = zero();
    for (int j = 0; j < nvd; ++j) {
      a0 = fmadd(load(q + j * kW), load_w(k + t * at.ldk + j * kW), a0);
    }
    s[t] = reduce_add(a0) * at.scale;
  }
  const float inv = 1.0f / softmax_exp_in_place(s, visible);
  V acc[kQueryAccVecs];
  for (int j = 0; j < nvd; ++j) acc[j] = zero();
  const KT* v = v_base + h * at.v_head_stride;
  for (t = 0; t < visible; ++t) {
    const V p = set1(s[t]);
    for (int j = 0; j < nvd; ++j) acc[j] = fmadd(p, load_w(v + t * at.ldv + j * kW), acc[j]);
  }
  for (int j = 0; j < nvd; ++j) store(out + j * kW, mul(acc[j], set1(inv)));
}

// Prefetches the lines of one row of n elements (a head's slice of a key or
// value row).
template <typename T>
inline void prefetch_row(const T* row, int n) {
  const char* p = reinterpret_cast<const char*>(row);
  for (int b = 0; b < n * (int)sizeof(T); b += 64) simd::prefetch(p + b);
}

// attention_query_head for d_head = NVD vectors (64 in every Whisper model),
// shaped for FMA latency rather than count: scores for 8 keys at a time on 8
// independent chains (one key at a time left each chain's NVD FMAs back to
// back), and the weighted sum on 2 sets of accumulators when they fit in
// registers (even and odd keys). Reads each key and value row once, in order.
template <int NVD, typename KT>
void attention_query_head_fixed(const AttentionArgs& at, const KT* k_base, const KT* v_base, int h,
                                int i, float* s) {
  using namespace simd;
  constexpr int d = NVD * kW;
  constexpr int kKeys = 8;
  const int visible = attention_visible_keys(at, i);
  float* out = at.out + i * at.ldo + h * d;
  if (visible == 0) {
    for (int e = 0; e < d; ++e) out[e] = 0.0f;
    return;
  }
  const float* q = at.q + i * at.ldq + h * at.q_head_stride;
  const KT* k = k_base + h * at.k_head_stride;
  // Rows are prefetched kStreamAhead bytes of this head's data ahead, i.e. a
  // number of rows, not of addresses: the self-attention cache interleaves
  // the heads (a row of every head per position), where 8 KB of addresses
  // was only 5 positions, too close to hide a miss.
  constexpr int kAheadRows = kStreamAhead / (d * (int)sizeof(KT));
  int t = 0;
  for (; t + kKeys <= visible; t += kKeys) {
    if (t + kAheadRows + kKeys <= visible) {
#pragma GCC unroll 8
      for (int u = 0; u < kKeys; ++u) prefetch_row(k + (t + u + kAheadRows) * at.ldk, d);
    }
    V a[kKeys];
#pragma GCC unroll 8
    for (int u = 0; u < kKeys; ++u) a[u] = zero();
#pragma GCC unroll 8
    for (int j = 0; j < NVD; ++j) {
      const V qv = load(q + j * kW);
#pragma GCC unroll 8
      for (int u = 0; u < kKeys; ++u) a[u] = fmadd(qv, load_w(k + (t + u) * at.ldk + j * kW), a[u]);
    }
#pragma GCC unroll 8
    for (int u = 0; u < kKeys; ++u) s[t + u] = reduce_add(a[u]) * at.scale;
  }
  for (; t < visible; ++t) {
    V a0 = zero();
#pragma GCC unroll 8
    for (int j = 0; j < NVD; ++j) a0 = fmadd(load(q + j * kW), load_w(k + t * at.ldk + j * kW), a0);
    s[t] = reduce_add(a0) * at.scale;
  }
  const float inv = 1.0f / softmax_exp_in_place(s, visible);
  constexpr int kSets = NVD <= 4 ? 2 : 1;
  V acc[kSets][NVD];
#pragma GCC unroll 2
  for (int c = 0; c < kSets; ++c) {
#pragma GCC unroll 8
    for (int j = 0; j < NVD; ++j) acc[c][j] = zero();
  }
  const KT* v = v_base + h * at.v_head_stride;
  for (t = 0; t + kSets <= visible; t += kSets) {
#pragma GCC unroll 2
    for (int c = 0; c < kSets; ++c) {
      if (t + c + kAheadRows < visible) prefetch_row(v + (t + c + kAheadRows) * at.ldv, d);
      const V p = set1(s[t + c]);
#pragma GCC unroll 8
      for (int j = 0; j < NVD; ++j) {
        acc[c][j] = fmadd(p, load_w(v + (t + c) * at.ldv + j * kW), acc[c][j]);
      }
    }
  }
  for (; t < visible; ++t) {
    const V p = set1(s[t]);
#pragma GCC unroll 8
    for (int j = 0; j < NVD; ++j) acc[0][j] = fmadd(p, load_w(v + t * at.ldv + j * kW), acc[0][j]);
  }
#pragma GCC unroll 8
  for (int j = 0; j < NVD; ++j) {
    V x = acc[0][j];
    if (kSets == 2) x = add(x, acc[kSets - 1][j]);
    store(out + j * kW, mul(x, set1(inv)));
  }
}

// Rows a batch of attention_queries_head_fixed holds: R * NVD output vectors
// and NVD of a value row must fit the registers (AVX-512: 5 rows of 4).
constexpr int kQueryBatch = 5;
// Whether this ISA batches rows at all (Whisper's d_head of 64), and so the
// most rows whose scores attention_query_simd holds at once.
constexpr bool kBatchQueries = (64 / simd::kW) * (kQueryBatch + 1) <= 24;
constexpr int kQueryRowsAtOnce = kBatchQueries ? kQueryBatch : 1;

// attention_query_head_fixed for R query rows [i0, i0 + R) that see every key
// (no causal mask: a window's cross-attention, a row per beam): each key and
// value row is read and widened once for all R rows, which share its
// conversion (the part of a row's cost that is not FMAs). Per row what
// attention_query_head_fixed computes, summed in another order (4 keys'
// dot products reduced together, the value sums on one set of accumulators,
// not two): within rounding of it.
template <int NVD, int R, typename KT>
void attention_queries_head_fixed(const AttentionArgs& at, const KT* k_base, const KT* v_base,
                                  int h, int i0, float* s) {
  using namespace simd;
  constexpr int d = NVD * kW;
  const int n = at.n_kv;
  const KT* k = k_base + h * at.k_head_stride;
  const KT* v = v_base + h * at.v_head_stride;
  const float* q[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) q[r] = at.q + (i0 + r) * at.ldq + h * at.q_head_stride;
  constexpr int kAheadRows = kStreamAhead / (d * (int)sizeof(KT));
  // Keys 4 at a time: their rows stay in registers for every query row, and
  // a row's 4 dot products are reduced together (reduce_add4).
  int t = 0;
  for (; t + 4 <= n; t += 4) {
    V kv[4][NVD];
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      if (t + u + kAheadRows < n) prefetch_row(k + (t + u + kAheadRows) * at.ldk, d);
#pragma GCC unroll 8
      for (int j = 0; j < NVD; ++j) kv[u][j] = load_w(k + (t + u) * at.ldk + j * kW);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      V a[4];
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) a[u] = zero();
#pragma GCC unroll 8
      for (int j = 0; j < NVD; ++j) {
        const V qv = load(q[r] + j * kW);
#pragma GCC unroll 4
        for (int u = 0; u < 4; ++u) a[u] = fmadd(qv, kv[u][j], a[u]);
      }
      float* sr = s + r * n + t;
      reduce_add4(a[0], a[1], a[2], a[3], sr);
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) sr[u] *= at.scale;
    }
  }
  for (; t < n; ++t) {
    V kv[NVD];
#pragma GCC unroll 8
    for (int j = 0; j < NVD; ++j) kv[j] = load_w(k + t * at.ldk + j * kW);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      V a = zero();
#pragma GCC unroll 8
      for (int j = 0; j < NVD; ++j) a = fmadd(load(q[r] + j * kW), kv[j], a);
      s[r * n + t] = reduce_add(a) * at.scale;
    }
  }
  float inv[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) inv[r] = 1.0f / softmax_exp_in_place(s + r * n, n);
  V acc[R][NVD];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int j = 0; j < NVD; ++j) acc[r][j] = zero();
  }
  for (t = 0; t < n; ++t) {
    if (t + kAheadRows < n) prefetch_row(v + (t + kAheadRows) * at.ldv, d);
    V vv[NVD];
#pragma GCC unroll 8
    for (int j = 0; j < NVD; ++j) vv[j] = load_w(v + t * at.ldv + j * kW);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const V p = set1(s[r * n + t]);
#pragma GCC unroll 8
      for (int j = 0; j < NVD; ++j) acc[r][j] = fmadd(p, vv[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* out = at.out + (i0 + r) * at.ldo + h * d;
#pragma GCC unroll 8
    for (int j = 0; j < NVD; ++j) store(out + j * kW, mul(acc[r][j], set1(inv[r])));
  }
}

// Rows [i, i1) of head h, up to kQueryBatch at a time.
template <int NVD, typename KT>
void attention_queries_batched(const AttentionArgs& at, const KT* k, const KT* v, int h, int i,
                               int i1, float* s) {
  for (; i1 - i >= kQueryBatch; i += kQueryBatch) {
    attention_queries_head_fixed<NVD, kQueryBatch>(at, k, v, h, i, s);
  }
  switch (i1 - i) {
    case 4:
      return attention_queries_head_fixed<NVD, 4>(at, k, v, h, i, s);
    case 3:
      return attention_queries_head_fixed<NVD, 3>(at, k, v, h, i, s);
    case 2:
      return attention_queries_head_fixed<NVD, 2>(at, k, v, h, i, s);
    case 1:
      return attention_queries_head_fixed<NVD, 1>(at, k, v, h, i, s);
    default:
      return;
  }
}

void attention_query_simd(const AttentionArgs& at, int h, int i0, int i1, float* scratch) {
  if (at.d_head % simd::kW != 0 || at.d_head > kQueryAccVecs * simd::kW) {
    generic_kernels().attention_query(at, h, i0, i1, scratch);  // odd head sizes: scalar
    return;
  }
  constexpr int kNvd64 = 64 / simd::kW;
  // Several rows that see every key share each key and value row, where the
  // registers hold their sums (AVX-512's 32 of 16 floats).
  if constexpr (kBatchQueries) {
    if (at.d_head == 64 && at.causal_offset < 0 && at.n_kv > 0 && i1 - i0 > 1) {
      if (at.k16 != nullptr) {
        attention_queries_batched<kNvd64>(at, at.k16, at.v16, h, i0, i1, scratch);
      } else {
        attention_queries_batched<kNvd64>(at, at.k, at.v, h, i0, i1, scratch);
      }
      return;
    }
  }
  for (int i = i0; i < i1; ++i) {
    if (at.d_head == 64 && at.k16 != nullptr) {
      attention_query_head_fixed<kNvd64>(at, at.k16, at.v16, h, i, scratch);
    } else if (at.d_head == 64) {
      attention_query_head_fixed<kNvd64>(at, at.k, at.v, h, i, scratch);
    } else if (at.k16 != nullptr) {
      attention_query_head(at, at.k16, at.v16, h, i, scratch);
    } else {
      attention_query_head(at, at.k, at.v, h, i, scratch);
    }
  }
}

size_t attention_scratch_floats_simd(int n_kv, int d_head) {
  const size_t block = kAttnBlockRows * (size_t)(kKeyTile + 16 + simd::kW + 2);
  const size_t generic = (size_t)n_kv + d_head;  // the odd-head-size fallback
  return block > generic ? block : generic;
}
