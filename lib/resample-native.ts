// Resampling for the file readers, off the JS thread: the polyphase filter of
// resample.ts run by the addon on a worker thread (native/engine/audio/
// resample.cc computes the same bits, ~6x faster), a slice of outputs per
// call so that an abort is seen between slices. Without a loadable addon, the
// JS filter in slices (resampleInSlices).
import { bindingIfLoadable } from './binding.js';
import { checkRate, filterFor, resampleInSlices } from './resample.js';

/**
 * Multiply-adds per native call: ~0.1 s of work here, so that an aborted
 * read stops within about that.
 */
const NATIVE_SLICE_MACS = 1 << 26;

/**
 * resample()'s samples, computed off the JS thread when the addon loads (else
 * in slices on it). At equal rates the input itself. Rejects with
 * signal.reason when the signal aborts.
 */
export async function resampleOffThread(
  samples: Float32Array,
  inputRate: number,
  outputRate: number,
  signal?: AbortSignal,
): Promise<Float32Array> {
  checkRate(inputRate, 'inputRate');
  checkRate(outputRate, 'outputRate');
  const native = inputRate === outputRate ? undefined : bindingIfLoadable();
  if (native === undefined) return resampleInSlices(samples, inputRate, outputRate, signal);
  const filter = filterFor(inputRate, outputRate);
  const out = new Float32Array(filter.outputLength(samples.length));
  const perCall = Math.max(1, Math.floor(NATIVE_SLICE_MACS / filter.tapsPerPhase));
  for (let first = 0; first < out.length; first += perCall) {
    await native.resampleRun(
      samples,
      filter.table,
      filter.tapsPerPhase,
      filter.halfTaps,
      filter.up,
      filter.down,
      filter.exact,
      first,
      out.subarray(first, Math.min(out.length, first + perCall)),
    );
    signal?.throwIfAborted();
  }
  return out;
}
