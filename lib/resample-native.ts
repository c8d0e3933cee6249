// Resampling for the file readers, off the JS thread: the polyphase filter of
// resample.ts run by the addon on a worker thread (native/engine/audio/
// resample.cc computes the same bits, ~6x faster), a slice of outputs per
// call so that an abort is seen between slices, fed the file's samples a slice
// at a time (SliceResampler). Without a loadable addon, the JS filter in
// slices with the event loop running between them.
import { bindingIfLoadable } from './binding.js';
import { yieldToEventLoop } from './event-loop.js';
import { checkRate, filterFor, type PolyphaseFilter } from './resample.js';

/**
 * Multiply-adds per native call: ~0.1 s of work here, so that an aborted
 * read stops within about that.
 */
const NATIVE_SLICE_MACS = 1 << 26;
/** Multiply-adds per slice on the JS thread (no addon): ~3 ms here. */
const JS_SLICE_MACS = 1 << 21;

/**
 * The polyphase filter of resample() fed a slice of inputs at a time, its
 * outputs written into `out` (round(n * up / down) samples for the file's n
 * frames): the same bits as resample() on the whole input, as Resampler
 * gives, holding only the inputs that outputs still to come read. With the
 * addon and an exact filter (every common rate), the filter runs on a worker
 * thread (resampleRun); the window of inputs then starts at a multiple of
 * `down`, so that shifting the outputs by a multiple of `up` keeps each
 * one's phase row and taps exactly. Otherwise, on the JS thread in slices.
 */
export class SliceResampler {
  private window = new Float32Array(0);
  /** The input sample that window[0] is. */
  private windowStart = 0;
  private inputCount = 0;
  private outputCount = 0;
  private readonly native = bindingIfLoadable();

  constructor(
    private readonly filter: PolyphaseFilter,
    private readonly out: Float32Array,
  ) {}

  private get onWorker(): boolean {
    return this.native !== undefined && this.filter.exact;
  }

  /** Takes the next inputs and computes every output whose inputs have all arrived. */
  async push(chunk: Float32Array, signal?: AbortSignal): Promise<void> {
    const joined = new Float32Array(this.window.length + chunk.length);
    joined.set(this.window);
    joined.set(chunk, this.window.length);
    this.window = joined;
    this.inputCount += chunk.length;
    const { filter } = this;
    let end = this.outputCount;
    while (end < this.out.length && filter.lastInputOf(end) < this.inputCount) end++;
    await this.run(end, signal);
    // Keep only the inputs that the next output can still read.
    let keepFrom = Math.max(this.windowStart, filter.firstInputOf(end));
    if (this.onWorker) keepFrom = Math.floor(keepFrom / filter.down) * filter.down;
    this.window = this.window.slice(keepFrom - this.windowStart);
    this.windowStart = keepFrom;
  }

  /** Computes the remaining outputs, reading silence past the end of the input. */
  async finish(signal?: AbortSignal): Promise<void> {
    await this.run(this.out.length, signal);
    this.window = new Float32Array(0);
  }

  /** Outputs [outputCount, end) from the window. */
  private async run(end: number, signal?: AbortSignal): Promise<void> {
    const { filter, native, window, windowStart } = this;
    const macs = this.onWorker ? NATIVE_SLICE_MACS : JS_SLICE_MACS;
    const perSlice = Math.max(1, Math.floor(macs / filter.tapsPerPhase));
    // On the worker, output j is output j - shift of the window's inputs.
    const shift = (windowStart / filter.down) * filter.up;
    for (let first = this.outputCount; first < end; first += perSlice) {
      const slice = this.out.subarray(first, Math.min(end, first + perSlice));
      if (this.onWorker) {
        await native!.resampleRun(
          window,
          filter.table,
          filter.tapsPerPhase,
          filter.halfTaps,
          filter.up,
          filter.down,
          filter.exact,
          first - shift,
          slice,
        );
        signal?.throwIfAborted();
      } else {
        filter.run(window, windowStart, first, slice);
        await yieldToEventLoop(signal);
      }
    }
    this.outputCount = Math.max(this.outputCount, end);
  }
}

/**
 * resample()'s samples, computed off the JS thread when the addon loads, else
 * on it in slices (an hour of 44.1 kHz audio is ~9 s of work there): a
 * SliceResampler given the whole input at once. At equal rates the input
 * itself, not a copy. Rejects with signal.reason when the signal aborts.
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
  const resampler = new SliceResampler(filter, out);
  await resampler.push(samples, signal);
  await resampler.finish(signal);
  return out;
}
