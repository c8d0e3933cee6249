// resampleRun(): the file readers' sample-rate conversion (lib/resample.ts)
// on a worker thread. Like every call here it touches no JS memory off the
// JS thread (a worker_threads Worker may be terminated, and its memory freed,
// while the work runs): the input samples the outputs read and the filter
// table are copied in when the call starts (~6 MB and 77 KB for a call's
// slice of 44.1 kHz audio), the outputs copied out when it settles.
#pragma once

#include <napi.h>

namespace wn_binding {

// resampleRun(input: Float32Array, table: Float32Array, tapsPerPhase, halfTaps,
//             up, down, exact: boolean, first: number, out: Float32Array): Promise<void>
// Outputs [first, first + out.length) of the filter over input (input[0] is
// input sample 0) into out.
Napi::Value ResampleRun(const Napi::CallbackInfo& info);

}  // namespace wn_binding
