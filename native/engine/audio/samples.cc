#include "engine/audio/samples.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(WN_NARROW_SSE2)
#include <emmintrin.h>
#elif defined(WN_NARROW_NEON)
#include <arm_neon.h>
#endif

namespace wn {
namespace {

// One value: whether it is a step, and the step.
bool narrow_one(float value, int16_t* out) {
  // Scaling by 2^15 is exact: a step lands on an integer.
  const float scaled = value * 32768.0f;
  // The comparisons are false for NaN; -0 would come back +0.
  if (!(scaled >= -32768.0f && scaled <= 32767.0f) || (scaled == 0.0f && std::signbit(value))) {
    return false;
  }
  const auto step = static_cast<int16_t>(scaled);
  *out = step;
  return static_cast<float>(step) == scaled;
}

}  // namespace

bool narrow_to_int16(const float* in, size_t n, int16_t* out) {
  size_t i = 0;
#if defined(WN_NARROW_SSE2)
  // Eight values at a time, without a branch per value: the binding runs this
  // on the JS thread, where an hour of audio must take tens of milliseconds
  // (the scalar loop took ~180 ms).
  const __m128 scale = _mm_set1_ps(32768.0f);
  const __m128 low = _mm_set1_ps(-32768.0f), high = _mm_set1_ps(32767.0f);
  const __m128i negative_zero = _mm_set1_epi32(static_cast<int32_t>(0x80000000u));
  for (; i + 8 <= n; i += 8) {
    __m128i bad = _mm_setzero_si128();
    __m128i steps[2];
    for (int half = 0; half < 2; ++half) {
      const __m128 value = _mm_loadu_ps(in + i + 4 * half);
      const __m128 scaled = _mm_mul_ps(value, scale);
      // min/max return their second operand for a NaN: a NaN becomes 32767,
      // and fails the round trip below like a clamped or fractional value.
      const __m128 clamped = _mm_max_ps(low, _mm_min_ps(scaled, high));
      steps[half] = _mm_cvttps_epi32(clamped);
      const __m128 back = _mm_cvtepi32_ps(steps[half]);
      bad = _mm_or_si128(bad, _mm_castps_si128(_mm_cmpneq_ps(back, scaled)));
      bad = _mm_or_si128(bad, _mm_cmpeq_epi32(_mm_castps_si128(value), negative_zero));
    }
    if (_mm_movemask_epi8(bad) != 0) return false;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packs_epi32(steps[0], steps[1]));
  }
#elif defined(WN_NARROW_NEON)
  // The same eight at a time. The conversion saturates (a NaN gives 0), so
  // the range is checked on the scaled floats.
  for (; i + 8 <= n; i += 8) {
    uint32x4_t bad = vdupq_n_u32(0);
    int32x4_t steps[2];
    for (int half = 0; half < 2; ++half) {
      const float32x4_t value = vld1q_f32(in + i + 4 * half);
      const float32x4_t scaled = vmulq_n_f32(value, 32768.0f);
      steps[half] = vcvtq_s32_f32(scaled);
      const uint32x4_t same = vceqq_f32(vcvtq_f32_s32(steps[half]), scaled);
      const uint32x4_t in_range = vandq_u32(vcgeq_f32(scaled, vdupq_n_f32(-32768.0f)),
                                            vcleq_f32(scaled, vdupq_n_f32(32767.0f)));
      bad = vorrq_u32(bad, vmvnq_u32(vandq_u32(same, in_range)));
      bad = vorrq_u32(bad, vceqq_u32(vreinterpretq_u32_f32(value), vdupq_n_u32(0x80000000u)));
    }
    if (vmaxvq_u32(bad) != 0) return false;
    vst1q_s16(out + i, vcombine_s16(vqmovn_s32(steps[0]), vqmovn_s32(steps[1])));
  }
#endif
  for (; i < n; ++i) {
    if (!narrow_one(in[i], out + i)) return false;
  }
  return true;
}

}  // namespace wn
