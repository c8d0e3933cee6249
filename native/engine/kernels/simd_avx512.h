// The small vector vocabulary simd_kernels.inl is written in, for AVX-512
// (16 floats per vector). Included only by kernels_avx512.cc, which is built
// with -mavx512f/bw/vl/dq; everything here has internal linkage (see
// kernels_internal.h for why).
#pragma once

#include <immintrin.h>

#include <cstdint>

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
// 2^n for integral n in [-126, 127] held as floats.
inline V pow2_int(V n) {
  const __m512i bits =
      _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_castsi512_ps(bits);
}
// x < 0 ? a : b, lane by lane.
inline V select_negative(V x, V a, V b) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), b, a);
}
inline float reduce_add(V a) {
  return _mm512_reduce_add_ps(a);
}
inline float reduce_max(V a) {
  return _mm512_reduce_max_ps(a);
}

}  // namespace simd
}  // namespace
}  // namespace kernels
}  // namespace wn
