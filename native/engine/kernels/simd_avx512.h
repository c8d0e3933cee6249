// The small vector vocabulary simd_kernels.inl is written in, for AVX-512
// (16 floats per vector). Included only by kernels_avx512.cc, which is built
// with -mavx512f/bw/vl/dq; everything here has internal linkage (see
// kernels_internal.h for why).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace wn {
namespace kernels {
namespace {
namespace simd {

using V = __m512;
constexpr int kW = 16;  // floats per vector

inline V zero() {
  return _mm512_setzero_ps();
}
inline V set1(float x) {
  return _mm512_set1_ps(x);
}
inline V load(const float* p) {
  return _mm512_loadu_ps(p);
}
inline void store(float* p, V v) {
  _mm512_storeu_ps(p, v);
}
// 16 halves widened in the register (vcvtph2ps): weights stay f16 in memory.
inline V load_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
// 16 floats narrowed to halves (vcvtps2ph, round to nearest even) and stored.
inline void store_f16(uint16_t* p, V v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                      _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
inline V load_w(const float* p) {
  return load(p);
}
inline V load_w(const uint16_t* p) {
  return load_f16(p);
}

inline __mmask16 first_n(int n) {
  return (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1u);
}
// Loads/stores of the first n (< kW allowed) lanes; the rest read as 0.
inline V load_n(const float* p, int n) {
  return _mm512_maskz_loadu_ps(first_n(n), p);
}
inline void store_n(float* p, V v, int n) {
  _mm512_mask_storeu_ps(p, first_n(n), v);
}
// Lanes [0, n) of x, the others of `other` (n clamped to [0, kW]).
inline V select_first_n(V x, int n, V other) {
  return _mm512_mask_blend_ps(first_n(n < 0 ? 0 : n), other, x);
}
inline V load_f16_n(const uint16_t* p, int n) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first_n(n), p));
}

inline V add(V a, V b) {
  return _mm512_add_ps(a, b);
}
inline V sub(V a, V b) {
  return _mm512_sub_ps(a, b);
}
inline V mul(V a, V b) {
  return _mm512_mul_ps(a, b);
}
inline V div(V a, V b) {
  return _mm512_div_ps(a, b);
}
inline V fmadd(V a, V b, V c) {
  return _mm512_fmadd_ps(a, b, c);
}  // a*b + c
inline V fmsub(V a, V b, V c) {
  return _mm512_fmsub_ps(a, b, c);
}  // a*b - c
inline V max(V a, V b) {
  return _mm512_max_ps(a, b);
}
inline V min(V a, V b) {
  return _mm512_min_ps(a, b);
}
inline V abs(V a) {
  return _mm512_abs_ps(a);
}
inline V round_nearest(V a) {
  return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
// y * 2^n for integral n in [-126, 127] held as floats: one vscalefps, the
// same rounded result as multiplying by 2^n built from its bits (what the
// AVX2 path does) in four instructions.
inline V mul_pow2(V y, V n) {
  return _mm512_scalef_ps(y, n);
}
// x < 0 ? a : b, lane by lane.
inline V select_negative(V x, V a, V b) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), b, a);
}
// Bit l set where a[l] > b[l] (false for NaN).
inline unsigned greater_bits(V a, V b) {
  return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ);
}
inline float reduce_add(V a) {
  return _mm512_reduce_add_ps(a);
}
inline float reduce_max(V a) {
  return _mm512_reduce_max_ps(a);
}
// out[0, 4) = the sums of a's, b's, c's and d's lanes: the four reductions
// share their shuffles (interleave pairs, add; again in 64-bit pairs, add;
// then the four 128-bit blocks), 9 shuffles and adds where four
// reduce_add() take about 28.
inline void reduce_add4(V a, V b, V c, V d, float* out) {
  // Per 128-bit block: [a0+a2, b0+b2, a1+a3, b1+b3], the same for c and d.
  const V ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
  const V cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
  // Per block: [a, b, c, d] partial sums.
  const __m512d abd = _mm512_castps_pd(ab), cdd = _mm512_castps_pd(cd);
  const V abcd = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(abd, cdd)),
                               _mm512_castpd_ps(_mm512_unpackhi_pd(abd, cdd)));
  const __m256 halves =
      _mm256_add_ps(_mm512_castps512_ps256(abcd),
                    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(abcd), 1)));
  _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(halves), _mm256_extractf128_ps(halves, 1)));
}

// Asks for the cache line holding p in L2, ahead of its use (a hint: it
// never faults and changes no result).
inline void prefetch(const char* p) {
  _mm_prefetch(p, _MM_HINT_T1);
}

// Clears the upper halves of the vector registers before a kernel returns to
// code built for the baseline (SSE): left dirty, they made the decode step's
// scalar SSE loops 4-5x slower on this AMD CPU (log_sum_exp after the q8_0
// vocabulary GEMV: 21% of a transcription's time instead of 4%). GCC's own
// vzeroupper is missing on some paths (tail calls into helpers that take
// vector arguments).
inline void zero_upper() {
  _mm256_zeroupper();
}

// Integer lanes, for unpacking quantized weights (16 int32).
using VI = __m512i;
// kW bytes widened to int32 lanes: unsigned (pairs of nibbles) or signed (q8_0).
inline VI widen_u8(const uint8_t* p) {
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline VI widen_i8(const int8_t* p) {
  return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline VI low_nibbles(VI a) {
  return _mm512_and_si512(a, _mm512_set1_epi32(15));
}
inline VI high_nibbles(VI a) {  // of lanes holding one byte each
  return _mm512_srli_epi32(a, 4);
}
// a | 16 in each lane l whose bit first + l of the little-endian bit string
// at `bits` is set (first a multiple of kW): the fifth bit of q5 weights.
inline VI or_bit4(VI a, const uint8_t* bits, int first) {
  uint16_t mask;
  std::memcpy(&mask, bits + first / 8, sizeof mask);
  return _mm512_mask_or_epi32(a, (__mmask16)mask, a, _mm512_set1_epi32(16));
}
inline V to_float(VI a) {
  return _mm512_cvtepi32_ps(a);
}

}  // namespace simd
}  // namespace
}  // namespace kernels
}  // namespace wn
