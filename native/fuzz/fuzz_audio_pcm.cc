// libFuzzer target: the PCM decoder (wn::decode_pcm_frames, engine/audio/pcm.h)
// on arbitrary bytes. An input is an 8-byte header, then the sample bytes
// (copied into a heap block of exactly their size, so that ASan sees a read
// on either side of them):
//   [0]     codec, modulo 8
//   [1]     flags: bit 0 = a raw frame range (two little-endian uint64 after
//           the header: first frame, frame count), which must be refused when
//           it runs past the data; else bytes 4-7 pick a range that fits.
//           bit 1 = a raw codec ((int8_t)[0]) and channel count
//           ((int16_t)[2..3]), which must be refused outside their ranges.
//   [2..3]  channels - 1, little-endian (1 to 65536, 65536 refused)
//   [4..5]  first frame, modulo (frames held + 1)
//   [6..7]  frame count, modulo (frames left + 1)
// A decoded frame must have exactly the bits of a plain reference decode
// (each channel's sample as a double, summed from +0 and divided by the channel
// count, rounded to float once), and lie in [-1, 1] for the integer and G.711
// codecs. A refusal must be a wn::Error with kInvalidArgument that wrote
// nothing. Anything else (a crash, a sanitizer report, a hang) is a bug.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/audio/pcm.h"
#include "engine/core/error.h"

namespace {

uint64_t read_le(const uint8_t* p, int n_bytes) {
  uint64_t v = 0;
  for (int i = n_bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

// G.711 (ITU-T, as in the classic g711.c): the 16-bit linear value.
int alaw_to_linear(uint8_t a) {
  a ^= 0x55;
  int t = (a & 0x0f) << 4;
  const int seg = (a & 0x70) >> 4;
  if (seg == 0) {
    t += 8;
  } else {
    t = (t + 0x108) << (seg - 1);
  }
  return (a & 0x80) ? t : -t;
}

int mulaw_to_linear(uint8_t u) {
  u = ~u;
  int t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return (u & 0x80) ? (0x84 - t) : (t - 0x84);
}

double reference_sample(wn::PcmCodec codec, const uint8_t* p) {
  switch (codec) {
    case wn::PcmCodec::kUnsigned8:
      return (int(p[0]) - 128) / 128.0;
    case wn::PcmCodec::kSigned16:
      return int16_t(uint16_t(read_le(p, 2))) / 32768.0;
    case wn::PcmCodec::kSigned24: {
      int32_t v = int32_t(read_le(p, 3));
      if (v >= 1 << 23) v -= 1 << 24;
      return v / 8388608.0;
    }
    case wn::PcmCodec::kSigned32:
      return int32_t(uint32_t(read_le(p, 4))) / 2147483648.0;
    case wn::PcmCodec::kFloat32: {
      const uint32_t bits = uint32_t(read_le(p, 4));
      float f;
      std::memcpy(&f, &bits, sizeof f);
      return f;
    }
    case wn::PcmCodec::kFloat64: {
      const uint64_t bits = read_le(p, 8);
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return d;
    }
    case wn::PcmCodec::kAlaw:
      return alaw_to_linear(p[0]) / 32768.0;
    case wn::PcmCodec::kMulaw:
      return mulaw_to_linear(p[0]) / 32768.0;
  }
  return 0;
}

bool same_float(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  uint32_t x, y;
  std::memcpy(&x, &a, sizeof x);
  std::memcpy(&y, &b, sizeof y);
  return x == y;
}

[[noreturn]] void fail(const char* what, uint64_t frame) {
  std::fprintf(stderr, "fuzz_audio_pcm: %s (frame %llu)\n", what, (unsigned long long)frame);
  std::abort();
}

constexpr float kSentinel = 12345.0f;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  const uint8_t flags = data[1];
  const bool raw_range = (flags & 1) != 0, raw_format = (flags & 2) != 0;
  int code = data[0] % wn::kPcmCodecCount;
  int channels = 1 + int(read_le(data + 2, 2));
  if (raw_format) {
    code = int8_t(data[0]);
    channels = int16_t(uint16_t(read_le(data + 2, 2)));
  }
  size_t header = 8;
  uint64_t first = 0, count = 0;
  if (raw_range) {
    if (size < 24) return 0;
    first = read_le(data + 8, 8);
    count = read_le(data + 16, 8);
    header = 24;
  }
  const size_t n_bytes = size - header;
  std::unique_ptr<uint8_t[]> bytes(new uint8_t[n_bytes]);
  if (n_bytes > 0) std::memcpy(bytes.get(), data + header, n_bytes);

  const bool format_ok =
      code >= 0 && code < wn::kPcmCodecCount && channels >= 1 && channels <= 65535;
  const auto codec = static_cast<wn::PcmCodec>(code);
  const uint64_t frame_bytes = format_ok ? uint64_t(wn::pcm_bytes_per_sample(codec)) * channels : 1;
  const uint64_t held = n_bytes / frame_bytes;
  if (!raw_range) {
    first = read_le(data + 4, 2) % (held + 1);
    count = read_le(data + 6, 2) % (held - first + 1);
  }
  const bool range_ok = first <= held && count <= held - first;

  if (!format_ok || !range_ok) {
    // Must be refused before anything is written: one float of room.
    float out[1] = {kSentinel};
    bool refused = false;
    try {
      wn::decode_pcm_frames(bytes.get(), n_bytes, codec, channels, first, count, out);
    } catch (const wn::Error& e) {
      refused = e.code() == wn::ErrorCode::kInvalidArgument;
    }
    if (!refused) fail("a bad codec, channel count or frame range was not refused", first);
    if (!same_float(out[0], kSentinel)) fail("a refused call wrote its output", 0);
    return 0;
  }

  // count <= held <= n_bytes: an exactly sized output, one sentinel past it
  // kept outside the block (ASan catches a write there).
  std::unique_ptr<float[]> out(new float[count > 0 ? count : 1]);
  for (uint64_t i = 0; i < count; ++i) out[i] = kSentinel;
  wn::decode_pcm_frames(bytes.get(), n_bytes, codec, channels, first, count, out.get());

  const int bps = wn::pcm_bytes_per_sample(codec);
  const bool integer = codec != wn::PcmCodec::kFloat32 && codec != wn::PcmCodec::kFloat64;
  for (uint64_t i = 0; i < count; ++i) {
    const uint8_t* frame = bytes.get() + (first + i) * frame_bytes;
    double sum = 0;
    for (int c = 0; c < channels; ++c) sum += reference_sample(codec, frame + c * bps);
    const float expected = static_cast<float>(sum / channels);
    if (!same_float(out[i], expected)) fail("the sample differs from the reference decode", i);
    if (integer && !(std::isfinite(out[i]) && out[i] >= -1.0f && out[i] <= 1.0f)) {
      fail("an integer codec gave a sample outside [-1, 1]", i);
    }
  }
  return 0;
}
