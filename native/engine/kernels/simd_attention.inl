// The SIMD attention kernels, written once against simd_<isa>.h like
// simd_kernels.inl (whose exp_v they use) and included after it by
// kernels_<isa>.cc, which defines kScoreRows and kValueRows.
//
// Not a header: no include guard, internal linkage only.

constexpr int kKeyTile = 4 * simd::kW;  // keys per attention score tile
constexpr int kAttnBlockRows = 24;      // query rows per attention task
constexpr int kKeyChunk = 512;          // keys per running-softmax chunk (whole key tiles)
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

// Scores of the block's rows against keys [c0, c0 + len) into s [rows][lds]
// (whole key tiles; transposed keys are zero-padded past n_kv).
void score_chunk(const AttentionArgs& at, const float* q, const float* kt, int rows, int c0,
                 int len, float* s, int64_t lds) {
  // Key tiles outer: a tile of transposed keys (d x kKeyTile) stays in L1
  // while every row group of the block uses it.
  for (int t0 = 0; t0 < len; t0 += kKeyTile) {
    int r = 0;
    for (; r + kScoreRows <= rows; r += kScoreRows) {
      score_tile<kScoreRows>(q + r * at.ldq, at.ldq, kt + c0 + t0, at.ld_kt, at.d_head, at.scale,
                             s + r * lds + t0, lds);
    }
    if (r < rows) {
      score_tile_rows<kScoreRows - 1>(rows - r, q + r * at.ldq, at.ldq, kt + c0 + t0, at.ld_kt,
                                      at.d_head, at.scale, s + r * lds + t0, lds);
    }
  }
}

// A block of query rows against all visible keys (keys pre-transposed), in
// chunks of kKeyChunk keys with a running softmax: per row the running max m
// and sum l; a chunk with a larger max rescales what came before by
// alpha = exp(m_old - m_new). Why chunks: per chunk the transposed keys, the
// value rows and the scores (~470 KB together at 512 keys) stay in L2, where
// a whole 1500-key head (~930 KB) did not; no n_q x n_kv matrix ever exists.
template <typename VT>
void attention_block(const AttentionArgs& at, const VT* v_base, int h, int q0, int q1,
                     float* scratch) {
  const int d = at.d_head, rows = q1 - q0;
  const int n_keys = attention_visible_keys(at, q1 - 1);  // the widest row of the block
  // One cache line past whole key tiles against L1 set conflicts between rows.
  const int64_t lds = kKeyChunk + 16;
  float* s = scratch;               // [rows][lds]
  float* run_max = s + rows * lds;  // [rows]
  float* run_sum = run_max + rows;  // [rows]
  float* alpha = run_sum + rows;    // [rows]
  const float* q = at.q + q0 * at.ldq + h * d;
  const float* kt = at.kt + h * at.kt_head_stride;
  float* out = at.out + q0 * at.ldo + h * d;
  for (int r = 0; r < rows; ++r) {
    run_max[r] = -INFINITY;
    run_sum[r] = 0.0f;
  }
  for (int c0 = 0; c0 < n_keys; c0 += kKeyChunk) {
    const int len = imin(kKeyChunk, n_keys - c0);
    score_chunk(at, q, kt, rows, c0, len, s, lds);
    for (int r = 0; r < rows; ++r) {
      float* sr = s + r * lds;
      const int visible = attention_visible_keys(at, q0 + r) - c0;  // of this chunk
      const int count = visible < 0 ? 0 : imin(visible, len);
      alpha[r] = 1.0f;
      if (count > 0) {
        const float chunk_max = row_max(sr, count);
        const float m_new = chunk_max > run_max[r] ? chunk_max : run_max[r];
        alpha[r] = expf(run_max[r] - m_new);  // C expf; 0 on the first chunk (exp(-inf))
        run_sum[r] = run_sum[r] * alpha[r] + exp_shifted_in_place(sr, count, m_new);
        run_max[r] = m_new;
      }
      for (int t = count; t < len; ++t) sr[t] = 0.0f;  // masked keys weigh nothing
    }
    value_all_columns(rows, d, s, lds, alpha, /*first=*/c0 == 0,
                      v_base + c0 * at.ldv + h * at.v_head_stride, at.ldv, len, out, at.ldo);
  }
  for (int r = 0; r < rows; ++r) {
    const float inv = run_sum[r] > 0.0f ? 1.0f / run_sum[r] : 0.0f;
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
  const float* q = at.q + i * at.ldq + h * d;
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
  const float* q = at.q + i * at.ldq + h * d;
  const KT* k = k_base + h * at.k_head_stride;
  int t = 0;
  for (; t + kKeys <= visible; t += kKeys) {
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

void attention_query_simd(const AttentionArgs& at, int h0, int h1, int i, float* scratch) {
  if (at.d_head % simd::kW != 0 || at.d_head > kQueryAccVecs * simd::kW) {
    generic_kernels().attention_query(at, h0, h1, i, scratch);  // odd head sizes: scalar
    return;
  }
  constexpr int kNvd64 = 64 / simd::kW;
  for (int h = h0; h < h1; ++h) {
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
  const size_t block = kAttnBlockRows * (size_t)(kKeyChunk + 16 + 3);
  const size_t generic = (size_t)n_kv + d_head;  // the odd-head-size fallback
  return block > generic ? block : generic;
}
