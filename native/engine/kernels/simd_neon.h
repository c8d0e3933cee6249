// The small vector vocabulary simd_kernels.inl is written in, for AArch64
// Advanced SIMD (NEON; 4 floats per vector). Included only by kernels_neon.cc.
// NEON, FMA (vfmaq), vector division and f16 <-> f32 conversion are all part
// of the AArch64 baseline, so this needs no target flags and no run-time
// feature test. Everything here has internal linkage (see kernels_internal.h
// for why).
//
// Semantics follow the x86 headers where they could differ: max/min clamp to
// the non-NaN operand like maxps/minps with a constant second operand do,
// round_nearest rounds ties to even, and fmsub is one fused operation.
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

namespace wn {
namespace kernels {
namespace {
namespace simd {

using V = float32x4_t;
constexpr int kW = 4;  // floats per vector

inline V zero() {
  return vdupq_n_f32(0.0f);
}
inline V set1(float x) {
  return vdupq_n_f32(x);
}
inline V load(const float* p) {
  return vld1q_f32(p);
}
inline void store(float* p, V v) {
  vst1q_f32(p, v);
}
// 4 halves widened in the register (fcvtl): weights stay f16 in memory.
inline V load_f16(const uint16_t* p) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}
// 4 floats narrowed to halves (fcvtn, the default round to nearest even) and stored.
inline void store_f16(uint16_t* p, V v) {
  vst1_u16(p, vreinterpret_u16_f16(vcvt_f16_f32(v)));
}
inline V load_w(const float* p) {
  return load(p);
}
inline V load_w(const uint16_t* p) {
  return load_f16(p);
}

// Loads/stores of the first n (< kW allowed) lanes; the rest read as 0. NEON
// has no masked loads: the partial vector goes through a small stack buffer
// (only at row ends, so the copy costs nothing measurable).
inline V load_n(const float* p, int n) {
  float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  std::memcpy(tmp, p, sizeof(float) * (n < 4 ? n : 4));
  return vld1q_f32(tmp);
}
inline void store_n(float* p, V v, int n) {
  float tmp[4];
  vst1q_f32(tmp, v);
  std::memcpy(p, tmp, sizeof(float) * (n < 4 ? n : 4));
}
// Lanes [0, n) of x, the others of `other` (any n: the lane compare clamps it).
inline V select_first_n(V x, int n, V other) {
  const int32_t lanes[4] = {0, 1, 2, 3};
  return vbslq_f32(vcltq_s32(vld1q_s32(lanes), vdupq_n_s32(n)), x, other);
}
inline V load_f16_n(const uint16_t* p, int n) {
  uint16_t tmp[4] = {0, 0, 0, 0};
  std::memcpy(tmp, p, sizeof(uint16_t) * (n < 4 ? n : 4));
  return load_f16(tmp);
}

inline V add(V a, V b) {
  return vaddq_f32(a, b);
}
inline V sub(V a, V b) {
  return vsubq_f32(a, b);
}
inline V mul(V a, V b) {
  return vmulq_f32(a, b);
}
inline V div(V a, V b) {
  return vdivq_f32(a, b);
}
inline V fmadd(V a, V b, V c) {
  return vfmaq_f32(c, a, b);
}  // a*b + c, one rounding
inline V fmsub(V a, V b, V c) {
  return vfmaq_f32(vnegq_f32(c), a, b);
}  // a*b - c, one rounding (negation is exact)
inline V max(V a, V b) {
  return vmaxnmq_f32(a, b);
}
inline V min(V a, V b) {
  return vminnmq_f32(a, b);
}
inline V abs(V a) {
  return vabsq_f32(a);
}
inline V round_nearest(V a) {
  return vrndnq_f32(a);
}
// y * 2^n for integral n in [-126, 127] held as floats (2^n built from its
// bits, then one multiply).
inline V mul_pow2(V y, V n) {
  const int32x4_t biased = vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127));
  return vmulq_f32(y, vreinterpretq_f32_s32(vshlq_n_s32(biased, 23)));
}
// x < 0 ? a : b, lane by lane.
inline V select_negative(V x, V a, V b) {
  return vbslq_f32(vcltq_f32(x, vdupq_n_f32(0.0f)), a, b);
}
// Bit l set where a[l] > b[l] (false for NaN).
inline unsigned greater_bits(V a, V b) {
  const int32_t weights[4] = {1, 2, 4, 8};
  const uint32x4_t gt = vcgtq_f32(a, b);
  return vaddvq_u32(vandq_u32(gt, vreinterpretq_u32_s32(vld1q_s32(weights))));
}
inline float reduce_add(V a) {
  return vaddvq_f32(a);
}
// out[0, 4) = the sums of a's, b's, c's and d's lanes.
inline void reduce_add4(V a, V b, V c, V d, float* out) {
  out[0] = vaddvq_f32(a);
  out[1] = vaddvq_f32(b);
  out[2] = vaddvq_f32(c);
  out[3] = vaddvq_f32(d);
}
inline float reduce_max(V a) {
  return vmaxvq_f32(a);
}

// Asks for the cache line holding p in L2, ahead of its use (a hint: it
// never faults and changes no result).
inline void prefetch(const char* p) {
  __builtin_prefetch(p, 0, 2);  // PLDL2KEEP
}

// NEON has no upper register state to clear (see simd_avx512.h).
inline void zero_upper() {}

// Integer lanes, for unpacking quantized weights (4 int32).
using VI = int32x4_t;
// kW bytes widened to int32 lanes: unsigned (pairs of nibbles) or signed (q8_0).
inline VI widen_u8(const uint8_t* p) {
  uint32_t word;
  std::memcpy(&word, p, sizeof word);
  const uint8x8_t bytes = vreinterpret_u8_u32(vdup_n_u32(word));
  return vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(bytes))));
}
inline VI widen_i8(const int8_t* p) {
  uint32_t word;
  std::memcpy(&word, p, sizeof word);
  const int8x8_t bytes = vreinterpret_s8_u32(vdup_n_u32(word));
  return vmovl_s16(vget_low_s16(vmovl_s8(bytes)));
}
inline VI low_nibbles(VI a) {
  return vandq_s32(a, vdupq_n_s32(15));
}
inline VI high_nibbles(VI a) {  // of lanes holding one byte each
  return vshrq_n_s32(a, 4);
}
// a | 16 in each lane l whose bit first + l of the little-endian bit string
// at `bits` is set (first a multiple of kW): the fifth bit of q5 weights.
inline VI or_bit4(VI a, const uint8_t* bits, int first) {
  const int32_t lane_bits[4] = {1, 2, 4, 8};
  const int32x4_t nibble = vdupq_n_s32((bits[first / 8] >> (first % 8)) & 15);
  const uint32x4_t is_set = vtstq_s32(nibble, vld1q_s32(lane_bits));
  return vorrq_s32(a, vandq_s32(vreinterpretq_s32_u32(is_set), vdupq_n_s32(16)));
}
inline V to_float(VI a) {
  return vcvtq_f32_s32(a);
}

}  // namespace simd
}  // namespace
}  // namespace kernels
}  // namespace wn
