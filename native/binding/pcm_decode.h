// decodePcmFrames(): the WAV reader's sample loop (lib/wav.ts) in native code.
// It runs on the JS thread, synchronously, a slice of the file per call (the
// reader lets the event loop run between slices), reading the caller's bytes
// where they are: no copy, and no JS memory touched once it returns.
#pragma once

#include <napi.h>

namespace wn_binding {

// decodePcmFrames(data: Uint8Array, codec: number, channels: number,
//                 firstFrame: number, out: Float32Array): void
// Frames [firstFrame, firstFrame + out.length) of data (interleaved samples of
// `codec`, engine/audio/pcm.h), each one's channels averaged, into out.
Napi::Value DecodePcmFrames(const Napi::CallbackInfo& info);

}  // namespace wn_binding
