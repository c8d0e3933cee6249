// The generic (portable, baseline x86-64 / any CPU) kernels. They are the
// definition of what each op computes; the ISA paths must agree with them
// within float rounding. Plain loops over small fixed-size tiles, with the
// GEMM tile held in 4-float vectors (GCC/Clang vector extensions, which lower
// to SSE2 on x86-64 and to NEON on arm64; plain arrays elsewhere): no
// intrinsics and nothing beyond the baseline instruction set. Left to the
// auto-vectoriser, the tile loop was vectorised along k with shuffles and ran
// at 8 GFLOP/s; as written it runs ~4x faster.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/core/f16.h"
#include "engine/core/thread_scratch.h"
#include "engine/kernels/kernels_internal.h"
#include "engine/kernels/quant.h"

namespace wn {
namespace kernels {
namespace {

constexpr int kGenericNr = 8;  // panel width: 8 output columns
constexpr int kGenericMr = 6;  // rows per micro-tile: 6 x 8 accumulators

// Branch-free f16 -> f32 for the hot loop: shift exponent and mantissa into
// place and rescale by 2^112 (exact for normals and subnormals); inf/NaN keep
// an all-ones exponent.
inline float half_to_float_fast(uint16_t h) {
  const uint32_t em = h & 0x7fffu;
  uint32_t bits = em << 13;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  f *= 0x1p112f;
  uint32_t out;
  std::memcpy(&out, &f, sizeof out);
  if (em >= 0x7c00u) out = 0x7f800000u | ((em & 0x3ffu) << 13);
  out |= (uint32_t)(h & 0x8000u) << 16;
  std::memcpy(&f, &out, sizeof f);
  return f;
}

// 0.5 x (1 + erf(x/√2)) written as 0.5 x erfc(-x/√2): the same function, but
// erfc keeps its relative accuracy in the negative tail where 1 + erf cancels.
inline float gelu_exact(float x) {
  return 0.5f * x * std::erfc(x * -0.70710678118654752f);
}

// Applies the epilogue to one value and stores it.
inline void store_epilogue(float v, int64_t j, const Epilogue& ep, float* dst) {
  if (ep.bias) v += ep.bias[j];
  if (ep.gelu) v = gelu_exact(v);
  *dst = ep.accumulate ? *dst + v : v;
}

// Widens panel p to f32 (k x nr floats), so the row loop below reads plain
// floats. Quantized panels go through the reference dequantizer.
void panel_to_f32(const PackedWeights::Impl& w, int p, float* out) {
  const size_t count = (size_t)w.k * w.nr;
  if (is_block_quantized(w.type)) {
    dequantize_quant_panel(w.type, w.panel(p), w.k, w.nr, out);
  } else if (w.type == GgmlType::kF16) {
    const uint16_t* src = static_cast<const uint16_t*>(w.panel(p));
    for (size_t i = 0; i < count; ++i) out[i] = half_to_float_fast(src[i]);
  } else {
    std::memcpy(out, w.panel(p), count * sizeof(float));
  }
}

// Four floats that the compiler keeps in one SIMD register where it can.
#if defined(__GNUC__)
typedef float Float4 __attribute__((vector_size(16)));
inline Float4 load4(const float* p) {
  Float4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
#else
struct Float4 {
  float v[4];
  Float4& operator+=(const Float4& o) {
    for (int l = 0; l < 4; ++l) v[l] += o.v[l];
    return *this;
  }
};
inline Float4 operator*(float s, const Float4& a) {
  Float4 r;
  for (int l = 0; l < 4; ++l) r.v[l] = s * a.v[l];
  return r;
}
inline Float4 operator*(const Float4& a, const Float4& b) {
  Float4 r;
  for (int l = 0; l < 4; ++l) r.v[l] = a.v[l] * b.v[l];
  return r;
}
inline Float4 load4(const float* p) {
  Float4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
#endif

// x·y with four partial sums (vectorised; a single running sum cannot be).
inline float dot_generic(const float* x, const float* y, int n) {
  Float4 acc = {0, 0, 0, 0};
  int e = 0;
  for (; e + 4 <= n; e += 4) acc += load4(x + e) * load4(y + e);
  float lanes[4];
  std::memcpy(lanes, &acc, sizeof lanes);
  float sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; e < n; ++e) sum += x[e] * y[e];
  return sum;
}

// MR rows x 8 columns of c from an f32 panel: 2*MR four-float accumulators.
template <int MR>
void micro_tile_generic(const float* a, int64_t lda, const float* panel, int k, int j0, int n,
                        float* c, int64_t ldc, const Epilogue& ep) {
  static_assert(kGenericNr == 8, "two Float4 per row");
  Float4 lo[MR], hi[MR];
  const Float4 zero = {0, 0, 0, 0};
  for (int r = 0; r < MR; ++r) lo[r] = hi[r] = zero;
  for (int kk = 0; kk < k; ++kk) {
    const float* wrow = panel + (size_t)kk * kGenericNr;
    const Float4 w0 = load4(wrow), w1 = load4(wrow + 4);
    for (int r = 0; r < MR; ++r) {
      const float av = a[r * lda + kk];
      lo[r] += av * w0;
      hi[r] += av * w1;
    }
  }
  const int cols = std::min(kGenericNr, n - j0);
  for (int r = 0; r < MR; ++r) {
    float row[kGenericNr];
    std::memcpy(row, &lo[r], sizeof lo[r]);
    std::memcpy(row + 4, &hi[r], sizeof hi[r]);
    for (int jj = 0; jj < cols; ++jj) store_epilogue(row[jj], j0 + jj, ep, &c[r * ldc + j0 + jj]);
  }
}

void linear_tile_generic(const float* a, int64_t lda, int m, const PackedWeights::Impl& w, int p0,
                         int p1, float* c, int64_t ldc, const Epilogue& ep, float* scratch) {
  // A quantized model's caller lends the widened panel's scratch (the same slot).
  float* panel = scratch != nullptr
                     ? scratch
                     : thread_scratch_of<float>(ScratchSlot::kWidenedPanel, (size_t)w.k * w.nr);
  for (int p = p0; p < p1; ++p) {
    panel_to_f32(w, p, panel);
    const int j0 = p * w.nr;
    int i = 0;
    for (; i + kGenericMr <= m; i += kGenericMr) {
      micro_tile_generic<kGenericMr>(a + i * lda, lda, panel, w.k, j0, w.n, c + i * ldc, ldc, ep);
    }
    for (; i < m; ++i) {
      micro_tile_generic<1>(a + i * lda, lda, panel, w.k, j0, w.n, c + i * ldc, ldc, ep);
    }
  }
}

// Rows apart: micro_tile_generic<1> per row, as linear_tile_generic gives a
// one-row call (its tiles sum each row in the same order anyway).
void linear_tile_rows_generic(const float* a, int64_t lda, int m, const PackedWeights::Impl& w,
                              int p0, int p1, float* const* c_rows, int64_t col0,
                              const Epilogue& ep, float* scratch) {
  float* panel = scratch != nullptr
                     ? scratch
                     : thread_scratch_of<float>(ScratchSlot::kWidenedPanel, (size_t)w.k * w.nr);
  for (int p = p0; p < p1; ++p) {
    panel_to_f32(w, p, panel);
    for (int r = 0; r < m; ++r) {
      micro_tile_generic<1>(a + r * lda, lda, panel, w.k, p * w.nr, w.n, c_rows[r] + col0, 0, ep);
    }
  }
}

inline float widen(float x) {
  return x;
}
inline float widen(uint16_t h) {
  return half_to_float_fast(h);
}

// A key row as floats: in place for f32, else widened into tmp.
inline const float* kt_as_floats(const float* k, int, float*) {
  return k;
}
inline const float* kt_as_floats(const uint16_t* k, int d, float* tmp) {
  for (int e = 0; e < d; ++e) tmp[e] = half_to_float_fast(k[e]);
  return tmp;
}

// One query row at a time: scores for the visible keys into scratch, softmax
// (max-subtracted), then the probability-weighted sum of value rows. KT is
// float, or uint16_t for f16 keys and values.
template <typename KT>
void attention_rows_t(const AttentionArgs& at, const KT* k_base, const KT* v_base, int h, int q0,
                      int q1, float* scratch) {
  const int d = at.d_head;
  float* scores = scratch;         // [n_kv]
  float* acc = scratch + at.n_kv;  // [d_head]; also the widened key row while scoring
  for (int i = q0; i < q1; ++i) {
    const float* qi = at.q + i * at.ldq + h * at.q_head_stride;
    float* oi = at.out + i * at.ldo + h * d;
    const int visible = attention_visible_keys(at, i);
    if (visible == 0) {
      std::fill(oi, oi + d, 0.0f);
      continue;
    }
    float max_score = -INFINITY;
    for (int t = 0; t < visible; ++t) {
      const KT* kt = k_base + t * at.ldk + h * at.k_head_stride;
      const float* key = kt_as_floats(kt, d, acc);
      scores[t] = dot_generic(qi, key, d) * at.scale;
      max_score = std::max(max_score, scores[t]);
    }
    float sum = 0;
    for (int t = 0; t < visible; ++t) {
      scores[t] = std::exp(scores[t] - max_score);
      sum += scores[t];
    }
    std::fill(acc, acc + d, 0.0f);
    for (int t = 0; t < visible; ++t) {
      const KT* vt = v_base + t * at.ldv + h * at.v_head_stride;
      const float p = scores[t];
      for (int e = 0; e < d; ++e) acc[e] += p * widen(vt[e]);
    }
    const float inv = 1.0f / sum;
    for (int e = 0; e < d; ++e) oi[e] = acc[e] * inv;
  }
}

void attention_rows_generic(const AttentionArgs& at, int h, int q0, int q1, float* scratch) {
  if (at.k16 != nullptr) {
    attention_rows_t(at, at.k16, at.v16, h, q0, q1, scratch);
  } else {
    attention_rows_t(at, at.k, at.v, h, q0, q1, scratch);
  }
}

size_t attention_scratch_floats_generic(int n_kv, int d_head) {
  return (size_t)n_kv + d_head;
}

void attention_query_generic(const AttentionArgs& at, int h, int i0, int i1, float* scratch) {
  for (int i = i0; i < i1; ++i) attention_rows_generic(at, h, i, i + 1, scratch);
}

// Mean and variance in double (two passes): the reference for the f32 paths.
void layer_norm_row_generic(const float* x, int n, const float* gamma, const float* beta, float eps,
                            float* y) {
  double sum = 0;
  for (int j = 0; j < n; ++j) sum += x[j];
  const double mean = sum / n;
  double sq = 0;
  for (int j = 0; j < n; ++j) sq += (x[j] - mean) * (x[j] - mean);
  const float inv_std = (float)(1.0 / std::sqrt(sq / n + eps));
  const float meanf = (float)mean;
  for (int j = 0; j < n; ++j) {
    float v = (x[j] - meanf) * inv_std;
    if (gamma) v *= gamma[j];
    if (beta) v += beta[j];
    y[j] = v;
  }
}

void gelu_generic(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = gelu_exact(x[i]);
}

void add_generic(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void f16_to_f32_generic(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = half_to_float_fast(src[i]);
}

void f32_to_f16_generic(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = wn::f32_to_f16(src[i]);
}

int first_above_generic(const float* x, int n, float threshold) {
  for (int i = 0; i < n; ++i) {
    if (x[i] > threshold) return i;
  }
  return n;
}

float row_max_generic(const float* x, int n) {
  // Eight independent lanes so the compiler can vectorize without fast-math;
  // "a > b ? a : b" skips NaN.
  constexpr int kLanes = 8;
  float lane[kLanes];
  for (float& m : lane) m = -INFINITY;
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
  }
  float best = -INFINITY;
  for (; i < n; ++i) best = x[i] > best ? x[i] : best;
  for (float m : lane) best = m > best ? m : best;
  return best;
}

double sum_exp_generic(const float* x, int n, float shift) {
  // Float terms summed in blocks, each block's sum added into a double.
  constexpr int kBlock = 1024;
  double sum = 0;
  for (int begin = 0; begin < n; begin += kBlock) {
    const int end = std::min(n, begin + kBlock);
    float block = 0;
    for (int i = begin; i < end; ++i) {
      if (x[i] > -INFINITY) block += std::exp(x[i] - shift);  // false for NaN too
    }
    sum += block;
  }
  return sum;
}

double exp_row_generic(const float* x, int n, float shift, float scale, float* out) {
  constexpr int kBlock = 1024;
  double sum = 0;
  for (int begin = 0; begin < n; begin += kBlock) {
    const int end = std::min(n, begin + kBlock);
    float block = 0;
    for (int i = begin; i < end; ++i) {
      out[i] = x[i] > -INFINITY ? std::exp((x[i] - shift) * scale) : 0.0f;  // false for NaN too
      block += out[i];
    }
    sum += block;
  }
  return sum;
}

}  // namespace

const IsaKernels& generic_kernels() {
  static const IsaKernels table = {
      kGenericNr,
      pack_panel_any,
      linear_tile_generic,
      linear_tile_rows_generic,
      attention_rows_generic,
      /*attention_block_rows=*/16,
      /*wants_transposed_keys=*/false,
      attention_scratch_floats_generic,
      attention_query_generic,
      /*attention_query_rows=*/1,
      layer_norm_row_generic,
      gelu_generic,
      add_generic,
      f16_to_f32_generic,
      f32_to_f16_generic,
      row_max_generic,
      sum_exp_generic,
      first_above_generic,
      exp_row_generic,
  };
  return table;
}

}  // namespace kernels
}  // namespace wn
