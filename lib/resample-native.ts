// Resampling for the file readers, off the JS thread: the polyphase filter of
// resample.ts run by the addon on a worker thread (native/engine/audio/
// resample.cc computes the same bits, ~6x faster), a slice of outputs per
// call so that an abort is seen between slices. Without a loadable addon, the
// JS filter in slices with the event loop running between them.
import { bindingIfLoadable } from './binding.js';
import { yieldToEventLoop } from './event-loop.js';
import { checkRate, filterFor } from './resample.js';

/**
 * Multiply-adds per native call: ~0.1 s of work here, so that an aborted
 * read stops within about that.
 */
const NATIVE_SLICE_MACS = 1 << 26;
/** Multiply-adds per slice on the JS thread (no addon): ~3 ms here. */
const JS_SLICE_MACS = 1 << 21;

/**
 * resample()'s samples, computed off the JS thread when the addon loads, else
 * on it in slices (an hour of 44.1 kHz audio is ~9 s of work there). At equal
 * rates the input itself, not a copy. Rejects with signal.reason when the
 * signal aborts.
 */
export async function resampleOffThread(
  samples: Float32Array,
  inputRate: number,
  outputRate: number,
  signal?: AbortSignal,
): Promise<Float32Array> {
  checkRate(inputRate, 'inputRate');
  checkRate(outputRate, 'outputRate');
  if (inputRate === outputRate) return samples;
  const filter = filterFor(inputRate, outputRate);
  const out = new Float32Array(filter.outputLength(samples.length));
  const native = bindingIfLoadable();
  const macs = native === undefined ? JS_SLICE_MACS : NATIVE_SLICE_MACS;
  const perSlice = Math.max(1, Math.floor(macs / filter.tapsPerPhase));
  for (let first = 0; first < out.length; first += perSlice) {
    const slice = out.subarray(first, Math.min(out.length, first + perSlice));
    if (native === undefined) {
      filter.run(samples, 0, first, slice);
      await yieldToEventLoop(signal);
    } else {
      await native.resampleRun(
        samples,
        filter.table,
        filter.tapsPerPhase,
        filter.halfTaps,
        filter.up,
        filter.down,
        filter.exact,
        first,
        slice,
      );
      signal?.throwIfAborted();
    }
  }
  return out;
}
