// The native PCM decoder (engine/audio/pcm.h): known values of every codec,
// channel averaging (the stereo path and the general one), frame ranges that
// start anywhere, data at an odd address, and what it refuses before writing
// anything. test/audio/native-pcm.test.ts holds its bits to lib/wav.ts's JS
// loop; run this under ASan to check its reads stay inside the data.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "check.h"
#include "engine/audio/pcm.h"
#include "engine/core/error.h"

namespace {

using wn::ErrorCode;
using wn::PcmCodec;

std::vector<float> decode(const std::vector<uint8_t>& bytes, PcmCodec codec, int channels,
                          uint64_t first = 0, uint64_t n = UINT64_MAX) {
  const uint64_t frames = bytes.size() / (wn::pcm_bytes_per_sample(codec) * uint64_t(channels));
  if (n == UINT64_MAX) n = frames - first;
  std::vector<float> out(n);
  wn::decode_pcm_frames(bytes.data(), bytes.size(), codec, channels, first, n, out.data());
  return out;
}

void push_le(std::vector<uint8_t>& bytes, uint64_t bits, int n_bytes) {
  for (int i = 0; i < n_bytes; ++i) bytes.push_back(static_cast<uint8_t>(bits >> (8 * i)));
}

uint32_t float_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

TEST(integer_codecs_scale_to_unit_range) {
  CHECK(decode({0, 64, 128, 255}, PcmCodec::kUnsigned8, 1) ==
        (std::vector<float>{-1.0f, -0.5f, 0.0f, 127.0f / 128}));
  std::vector<uint8_t> s16;
  for (int v : {-32768, -1, 0, 16384, 32767}) push_le(s16, static_cast<uint16_t>(v), 2);
  CHECK(decode(s16, PcmCodec::kSigned16, 1) ==
        (std::vector<float>{-1.0f, -1.0f / 32768, 0.0f, 0.5f, 32767.0f / 32768}));
  std::vector<uint8_t> s24;
  for (int v : {-8388608, -1, 0, 4194304, 8388607}) push_le(s24, static_cast<uint32_t>(v), 3);
  CHECK(decode(s24, PcmCodec::kSigned24, 1) ==
        (std::vector<float>{-1.0f, -1.0f / 8388608, 0.0f, 0.5f,
                            static_cast<float>(8388607.0 / 8388608)}));
  std::vector<uint8_t> s32;
  for (int64_t v : {int64_t{-2147483648LL}, int64_t{1073741824}, int64_t{2147483647}}) {
    push_le(s32, static_cast<uint32_t>(v), 4);
  }
  CHECK(decode(s32, PcmCodec::kSigned32, 1) ==
        (std::vector<float>{-1.0f, 0.5f, static_cast<float>(2147483647.0 / 2147483648.0)}));
}

TEST(float_codecs_keep_their_values_and_turn_negative_zero_positive) {
  std::vector<uint8_t> f32;
  for (float v : {0.25f, -0.0f, 3.5f}) push_le(f32, float_bits(v), 4);
  const std::vector<float> got32 = decode(f32, PcmCodec::kFloat32, 1);
  CHECK(got32 == (std::vector<float>{0.25f, 0.0f, 3.5f}));
  // The JS loop sums from +0, and +0 + -0 is +0.
  CHECK(!std::signbit(got32[1]));
  std::vector<uint8_t> f64;
  for (double v : {0.1, -0.75}) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    push_le(f64, bits, 8);
  }
  CHECK(decode(f64, PcmCodec::kFloat64, 1) ==
        (std::vector<float>{static_cast<float>(0.1), -0.75f}));
  std::vector<uint8_t> nan;
  push_le(nan, 0x7fc00000u, 4);
  CHECK(std::isnan(decode(nan, PcmCodec::kFloat32, 1)[0]));
}

TEST(g711_bytes_decode_to_their_segment_values) {
  // A-law 0xd5 and mu-law 0xff are the smallest positive codes, 0x55 / 0x7f
  // the smallest negative; 0xaa / 0x80 the largest positive.
  CHECK(decode({0xd5, 0x55, 0xaa}, PcmCodec::kAlaw, 1) ==
        (std::vector<float>{8.0f / 32768, -8.0f / 32768, 32256.0f / 32768}));
  CHECK(decode({0xff, 0x7f, 0x80}, PcmCodec::kMulaw, 1) ==
        (std::vector<float>{0.0f, 0.0f, 32124.0f / 32768}));
}

TEST(channels_are_averaged_in_double_then_rounded_once) {
  // Stereo (its own loop) and 3 and 4 channels (the general one).
  std::vector<uint8_t> stereo;
  for (int v : {100, 301, -32768, 32767}) push_le(stereo, static_cast<uint16_t>(v), 2);
  CHECK(decode(stereo, PcmCodec::kSigned16, 2) ==
        (std::vector<float>{static_cast<float>((100 + 301) / 32768.0 / 2),
                            static_cast<float>(-1.0 / 32768 / 2)}));
  std::vector<uint8_t> three;
  for (int v : {1, 2, 4}) push_le(three, static_cast<uint16_t>(v), 2);
  const double sum = 1 / 32768.0 + 2 / 32768.0 + 4 / 32768.0;
  CHECK(decode(three, PcmCodec::kSigned16, 3) == (std::vector<float>{static_cast<float>(sum / 3)}));
  std::vector<uint8_t> four;
  for (int v : {-1, 3, 5, 7}) push_le(four, static_cast<uint32_t>(v), 3);
  CHECK(decode(four, PcmCodec::kSigned24, 4) ==
        (std::vector<float>{static_cast<float>(14.0 / 8388608 / 4)}));
}

TEST(a_range_of_frames_decodes_as_the_same_frames_of_the_whole) {
  // Data at an odd address (a WAV data chunk may start at any byte).
  std::vector<uint8_t> buffer(1 + 6 * 3 * 41);
  for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<uint8_t>(i * 37 + 11);
  const std::vector<uint8_t> data(buffer.begin() + 1, buffer.end());
  for (int channels : {1, 2, 3, 6}) {
    const std::vector<float> whole = decode(data, PcmCodec::kSigned24, channels);
    for (uint64_t first : {uint64_t{0}, uint64_t{1}, uint64_t{5}, uint64_t(whole.size() - 1)}) {
      const std::vector<float> part = decode(data, PcmCodec::kSigned24, channels, first, 1);
      CHECK(std::memcmp(&part[0], &whole[first], sizeof(float)) == 0);
    }
    std::vector<float> odd(whole.size());
    wn::decode_pcm_frames(buffer.data() + 1, data.size(), PcmCodec::kSigned24, channels, 0,
                          odd.size(), odd.data());
    CHECK(std::memcmp(odd.data(), whole.data(), whole.size() * sizeof(float)) == 0);
  }
}

TEST(refuses_what_it_cannot_decode_without_writing) {
  const std::vector<uint8_t> data(12, 0x40);
  std::vector<float> out(8, 7.0f);
  const auto run = [&](int codec, int channels, uint64_t first, uint64_t n) {
    wn::decode_pcm_frames(data.data(), data.size(), static_cast<PcmCodec>(codec), channels, first,
                          n, out.data());
  };
  CHECK_THROWS_CODE(run(8, 1, 0, 1), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(run(-1, 1, 0, 1), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(run(1, 0, 0, 1), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(run(1, 65536, 0, 1), ErrorCode::kInvalidArgument);
  // 12 bytes of 24-bit stereo are 2 frames (6 bytes each).
  CHECK_THROWS_CODE(run(2, 2, 0, 3), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(run(2, 2, 2, 1), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(run(2, 2, 3, 0), ErrorCode::kInvalidArgument);
  // Counts that would overflow a product of frames and bytes.
  CHECK_THROWS_CODE(run(5, 65535, 1, UINT64_MAX), ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(run(1, 1, UINT64_MAX, 2), ErrorCode::kInvalidArgument);
  for (float v : out) CHECK(v == 7.0f);
  run(2, 2, 2, 0);  // an empty range at the end is fine
  run(1, 1, 0, 6);
  CHECK(out[5] == static_cast<float>(0x4040 / 32768.0));
  CHECK(out[6] == 7.0f);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
