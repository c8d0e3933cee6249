// The small vector vocabulary simd_kernels.inl is written in, for AVX2 + FMA +
// F16C (8 floats per vector). Included only by kernels_avx2.cc, which is built
// with -mavx2 -mfma -mf16c; everything here has internal linkage (see
// kernels_internal.h for why).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace wn {
namespace kernels {
namespace {
namespace simd {

using V = __m256;
constexpr int kW = 8;  // floats per vector

inline V zero() {
  return _mm256_setzero_ps();
}
inline V set1(float x) {
  return _mm256_set1_ps(x);
}
inline V load(const float* p) {
  return _mm256_loadu_ps(p);
}
inline void store(float* p, V v) {
  _mm256_storeu_ps(p, v);
}
// 8 halves widened in the register (vcvtph2ps): weights stay f16 in memory.
inline V load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
// 8 floats narrowed to halves (vcvtps2ph, round to nearest even) and stored.
inline void store_f16(uint16_t* p, V v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                   _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
inline V load_w(const float* p) {
  return load(p);
}
inline V load_w(const uint16_t* p) {
  return load_f16(p);
}

// Lane mask with the first n lanes set.
inline __m256i first_n(int n) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
}
// Loads/stores of the first n (< kW allowed) lanes; the rest read as 0.
inline V load_n(const float* p, int n) {
  return _mm256_maskload_ps(p, first_n(n));
}
inline void store_n(float* p, V v, int n) {
  _mm256_maskstore_ps(p, first_n(n), v);
}
// Lanes [0, n) of x, the others of `other` (any n: the lane compare clamps it).
inline V select_first_n(V x, int n, V other) {
  return _mm256_blendv_ps(other, x, _mm256_castsi256_ps(first_n(n)));
}
inline V load_f16_n(const uint16_t* p, int n) {
  uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(tmp, p, sizeof(uint16_t) * (n < 8 ? n : 8));
  return load_f16(tmp);
}

inline V add(V a, V b) {
  return _mm256_add_ps(a, b);
}
inline V sub(V a, V b) {
  return _mm256_sub_ps(a, b);
}
inline V mul(V a, V b) {
  return _mm256_mul_ps(a, b);
}
inline V div(V a, V b) {
  return _mm256_div_ps(a, b);
}
inline V fmadd(V a, V b, V c) {
  return _mm256_fmadd_ps(a, b, c);
}  // a*b + c
inline V fmsub(V a, V b, V c) {
  return _mm256_fmsub_ps(a, b, c);
}  // a*b - c
inline V max(V a, V b) {
  return _mm256_max_ps(a, b);
}
inline V min(V a, V b) {
  return _mm256_min_ps(a, b);
}
inline V abs(V a) {
  return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a);
}
inline V round_nearest(V a) {
  return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
// y * 2^n for integral n in [-126, 127] held as floats (2^n built from its
// bits, then one multiply).
inline V mul_pow2(V y, V n) {
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
}
// x < 0 ? a : b, lane by lane.
inline V select_negative(V x, V a, V b) {
  return _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
}
// Bit l set where a[l] > b[l] (false for NaN).
inline unsigned greater_bits(V a, V b) {
  return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ));
}
inline float reduce_add(V a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
// out[0, 4) = the sums of a's, b's, c's and d's lanes.
inline void reduce_add4(V a, V b, V c, V d, float* out) {
  out[0] = reduce_add(a);
  out[1] = reduce_add(b);
  out[2] = reduce_add(c);
  out[3] = reduce_add(d);
}
inline float reduce_max(V a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
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

// Integer lanes, for unpacking quantized weights (8 int32).
using VI = __m256i;
// kW bytes widened to int32 lanes: unsigned (pairs of nibbles) or signed (q8_0).
inline VI widen_u8(const uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
inline VI widen_i8(const int8_t* p) {
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
inline VI low_nibbles(VI a) {
  return _mm256_and_si256(a, _mm256_set1_epi32(15));
}
inline VI high_nibbles(VI a) {  // of lanes holding one byte each
  return _mm256_srli_epi32(a, 4);
}
// a | 16 in each lane l whose bit first + l of the little-endian bit string
// at `bits` is set (first a multiple of kW): the fifth bit of q5 weights.
// AVX2 has no mask registers: the byte is broadcast, each lane tests its bit.
inline VI or_bit4(VI a, const uint8_t* bits, int first) {
  const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i set = _mm256_and_si256(_mm256_set1_epi32(bits[first / 8]), lane_bit);
  const __m256i is_set = _mm256_cmpeq_epi32(set, lane_bit);
  return _mm256_or_si256(a, _mm256_and_si256(is_set, _mm256_set1_epi32(16)));
}
inline V to_float(VI a) {
  return _mm256_cvtepi32_ps(a);
}

}  // namespace simd
}  // namespace
}  // namespace kernels
}  // namespace wn
