// resampleRun(): the file readers' sample-rate conversion (lib/resample.ts)
// on a worker thread. Unlike the engine calls it copies nothing: it reads the
// input and the filter table and writes the output where they are, in
// typed arrays it holds references to until it settles (lib/ keeps them to
// itself meanwhile: the decoded samples and the result are not yet the
// caller's).
#pragma once

#include <napi.h>

#include "binding/promise_worker.h"
#include "engine/audio/resample.h"

namespace wn_binding {

// resampleRun(input: Float32Array, table: Float32Array, tapsPerPhase, halfTaps,
//             up, down, exact: boolean, first: number, out: Float32Array): Promise<void>
// Outputs [first, first + out.length) of the filter over input (input[0] is
// input sample 0) into out.
Napi::Value ResampleRun(const Napi::CallbackInfo& info);

}  // namespace wn_binding
