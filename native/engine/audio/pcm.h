// Interleaved PCM frames to mono float samples: the inner loop of the WAV
// reader (lib/wav.ts), for the file readers. The JS loop reads each sample
// through a DataView call and, being hot, wakes V8's optimizing compiler
// (~4 MB of its code paged in, the whole difference to `node --no-opt` in the
// peak RSS of a process that reads one WAV file and transcribes it). This
// loop decodes 16-bit mono or stereo at ~0.6 ns a sample (an hour of 16 kHz
// mono in ~36 ms once its output's pages are in), ~5x the JS loop's speed.
//
// It computes what decodeFrames() in lib/wav.ts computes, on the same
// doubles in the same order: each channel's sample as a double, summed from
// the first channel on starting at +0, divided by the channel count, rounded
// to float once. So the two give the same bits (test/audio/native-pcm.test.ts
// holds them to it, for every codec and channel count).
#pragma once

#include <cstddef>
#include <cstdint>

namespace wn {

// How one stored sample reads (little-endian). The numbers are the ones
// lib/wav.ts passes (PCM_CODECS there).
enum class PcmCodec : int {
  kUnsigned8 = 0,  // (byte - 128) / 128
  kSigned16 = 1,   // / 2^15
  kSigned24 = 2,   // / 2^23, as (value << 8) / 2^31
  kSigned32 = 3,   // / 2^31
  kFloat32 = 4,
  kFloat64 = 5,
  kAlaw = 6,   // G.711 A-law byte, / 2^15
  kMulaw = 7,  // G.711 mu-law byte, / 2^15
};
constexpr int kPcmCodecCount = 8;

// Bytes one sample of `codec` takes.
int pcm_bytes_per_sample(PcmCodec codec);

// Decodes frames [first_frame, first_frame + n_frames) of `channels`
// interleaved samples held in bytes[0, n_bytes) into out[0, n_frames), each
// frame's channels averaged. Throws kInvalidArgument when the codec is not
// one of PcmCodec's, channels is not in [1, 65535], or the frames run past
// n_bytes; nothing is written then.
void decode_pcm_frames(const uint8_t* bytes, uint64_t n_bytes, PcmCodec codec, int channels,
                       uint64_t first_frame, uint64_t n_frames, float* out);

}  // namespace wn
