#include "engine/audio/pcm.h"

#include <array>
#include <cstring>
#include <string>

#include "engine/core/error.h"

namespace wn {
namespace {

// G.711 bytes to their sample values (the magnitude / 2^15), computed the way
// lib/wav.ts's decodeAlaw and decodeMulaw compute them.
double alaw_value(int byte) {
  const int value = byte ^ 0x55;
  const int exponent = (value >> 4) & 0x07;
  const int mantissa = value & 0x0f;
  const int magnitude =
      exponent == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return ((value & 0x80) != 0 ? magnitude : -magnitude) / 32768.0;
}

double mulaw_value(int byte) {
  const int value = ~byte & 0xff;
  const int exponent = (value >> 4) & 0x07;
  const int mantissa = value & 0x0f;
  const int magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return ((value & 0x80) != 0 ? -magnitude : magnitude) / 32768.0;
}

using ByteTable = std::array<double, 256>;

ByteTable table_of(double (*value_of)(int)) {
  ByteTable table{};
  for (int byte = 0; byte < 256; ++byte) table[byte] = value_of(byte);
  return table;
}

// One sample's value, read from its little-endian bytes (memcpy: the data
// chunk may start at any byte offset).
template <PcmCodec kCodec>
double sample_at(const uint8_t* p) {
  if constexpr (kCodec == PcmCodec::kUnsigned8) {
    return (p[0] - 128) / 128.0;
  } else if constexpr (kCodec == PcmCodec::kSigned16) {
    const auto bits = static_cast<uint16_t>(p[0] | p[1] << 8);
    return static_cast<int16_t>(bits) / 32768.0;
  } else if constexpr (kCodec == PcmCodec::kSigned24) {
    // The top byte in bits 24..31 sign-extends the value, as JS's `<< 24` does.
    const uint32_t bits = uint32_t{p[0]} << 8 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 24;
    return static_cast<int32_t>(bits) / 2147483648.0;
  } else if constexpr (kCodec == PcmCodec::kSigned32) {
    const uint32_t bits =
        uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
    return static_cast<int32_t>(bits) / 2147483648.0;
  } else if constexpr (kCodec == PcmCodec::kFloat32) {
    const uint32_t bits =
        uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  } else {
    static_assert(kCodec == PcmCodec::kFloat64);
    uint64_t bits = 0;
    for (int i = 7; i >= 0; --i) bits = bits << 8 | p[i];
    double value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }
}

template <int kBytes, typename ReadSample>
void average_frames(const uint8_t* p, int channels, uint64_t n_frames, float* out,
                    ReadSample read_sample) {
  if (channels == 1) {
    // sum = +0, sum += v: v itself except that -0 becomes +0, as in the JS loop.
    for (uint64_t i = 0; i < n_frames; ++i, p += kBytes) {
      out[i] = static_cast<float>(0.0 + read_sample(p));
    }
    return;
  }
  if (channels == 2) {
    // Stereo, the other common case, with its channel loop unrolled. Halving
    // is scaling by 0.5, which is exact too: the same bits as the division.
    for (uint64_t i = 0; i < n_frames; ++i, p += 2 * kBytes) {
      double sum = 0;
      sum += read_sample(p);
      sum += read_sample(p + kBytes);
      out[i] = static_cast<float>(sum * 0.5);
    }
    return;
  }
  const double divisor = channels;
  for (uint64_t i = 0; i < n_frames; ++i) {
    double sum = 0;
    for (int c = 0; c < channels; ++c, p += kBytes) sum += read_sample(p);
    out[i] = static_cast<float>(sum / divisor);
  }
}

template <PcmCodec kCodec, int kBytes>
void decode_with(const uint8_t* p, int channels, uint64_t n_frames, float* out) {
  average_frames<kBytes>(p, channels, n_frames, out, sample_at<kCodec>);
}

void decode_g711(const ByteTable& table, const uint8_t* p, int channels, uint64_t n_frames,
                 float* out) {
  average_frames<1>(p, channels, n_frames, out, [&table](const uint8_t* s) { return table[*s]; });
}

}  // namespace

int pcm_bytes_per_sample(PcmCodec codec) {
  switch (codec) {
    case PcmCodec::kUnsigned8:
    case PcmCodec::kAlaw:
    case PcmCodec::kMulaw:
      return 1;
    case PcmCodec::kSigned16:
      return 2;
    case PcmCodec::kSigned24:
      return 3;
    case PcmCodec::kSigned32:
    case PcmCodec::kFloat32:
      return 4;
    case PcmCodec::kFloat64:
      return 8;
  }
  return 0;
}

void decode_pcm_frames(const uint8_t* bytes, uint64_t n_bytes, PcmCodec codec, int channels,
                       uint64_t first_frame, uint64_t n_frames, float* out) {
  const int code = static_cast<int>(codec);
  if (code < 0 || code >= kPcmCodecCount) {
    throw Error(ErrorCode::kInvalidArgument, "Unknown PCM codec " + std::to_string(code));
  }
  if (channels < 1 || channels > 65535) {
    throw Error(ErrorCode::kInvalidArgument,
                "Expected 1 to 65535 channels, got " + std::to_string(channels));
  }
  // Frames that fit n_bytes, in whole frames: no product below can overflow.
  const uint64_t frame_bytes = uint64_t(pcm_bytes_per_sample(codec)) * uint64_t(channels);
  const uint64_t frames_held = n_bytes / frame_bytes;
  if (first_frame > frames_held || n_frames > frames_held - first_frame) {
    throw Error(ErrorCode::kInvalidArgument,
                "Frames [" + std::to_string(first_frame) + ", " + std::to_string(first_frame) +
                    " + " + std::to_string(n_frames) + ") run past the " +
                    std::to_string(frames_held) + " frames of the data");
  }
  if (n_frames == 0) return;
  const uint8_t* p = bytes + first_frame * frame_bytes;
  switch (codec) {
    case PcmCodec::kUnsigned8:
      return decode_with<PcmCodec::kUnsigned8, 1>(p, channels, n_frames, out);
    case PcmCodec::kSigned16:
      return decode_with<PcmCodec::kSigned16, 2>(p, channels, n_frames, out);
    case PcmCodec::kSigned24:
      return decode_with<PcmCodec::kSigned24, 3>(p, channels, n_frames, out);
    case PcmCodec::kSigned32:
      return decode_with<PcmCodec::kSigned32, 4>(p, channels, n_frames, out);
    case PcmCodec::kFloat32:
      return decode_with<PcmCodec::kFloat32, 4>(p, channels, n_frames, out);
    case PcmCodec::kFloat64:
      return decode_with<PcmCodec::kFloat64, 8>(p, channels, n_frames, out);
    case PcmCodec::kAlaw: {
      static const ByteTable alaw = table_of(alaw_value);
      return decode_g711(alaw, p, channels, n_frames, out);
    }
    case PcmCodec::kMulaw: {
      static const ByteTable mulaw = table_of(mulaw_value);
      return decode_g711(mulaw, p, channels, n_frames, out);
    }
  }
}

}  // namespace wn
