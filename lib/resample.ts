// PCM to the model's input: channel down-mix and a band-limited sample-rate
// converter (windowed-sinc, Kaiser window, polyphase). Pure TypeScript on
// Float32Array; no I/O. It is not a general DSP library: one filter design,
// tuned for speech going to 16 kHz, and a streaming class plus a whole-array
// helper.
//
// Filter: the ideal low-pass sinc cut at 0.95 of the lower of the two
// Nyquist frequencies (half amplitude there), shaped by a Kaiser window sized
// for 85 dB of stop-band attenuation over a transition band 0.25 of that
// Nyquist wide. Going to 16 kHz: flat (ripple < 0.001 dB) up to 6.6 kHz,
// at least 85 dB down from 8.6 kHz. A 44.1 kHz input uses 120 taps per output
// sample, 48 kHz 130, 96 kHz 258, 8 kHz 44 (up-sampling, cut at 3.8 kHz).
//
// Ratios: the rates' ratio reduced to up/down (44100 -> 16000 is 160/441)
// gives `up` distinct filter phases, precomputed once when up <= 2048 (every
// common rate); for a rarer ratio (44101 -> 16000 needs 16000 phases) a table
// of 1024 phases is interpolated linearly between neighbours.
//
// Alignment: output sample j is the input signal at time j * inRate/outRate
// input samples, with no delay; input beyond either end reads as silence, so
// the first and last few milliseconds fade like the band-limited signal does.

import { typeError, valueError } from './validate.js';

const STOPBAND_ATTENUATION_DB = 85;
/** Half-amplitude cutoff as a fraction of the lower Nyquist frequency. */
const CUTOFF_FRACTION = 0.95;
/** Width of the transition band as a fraction of the lower Nyquist frequency. */
const TRANSITION_FRACTION = 0.25;
/** Largest `up` for which every phase gets its own exact row of taps. */
const MAX_EXACT_PHASES = 2048;
/** Phases of the interpolated table used beyond MAX_EXACT_PHASES. */
const INTERPOLATED_PHASES = 1024;

/** The model's sample rate. */
export const WHISPER_SAMPLE_RATE = 16000;

/**
 * A sanity bound far above any real PCM rate; it also keeps output positions
 * (output index times the reduced input rate) exact in double precision.
 */
const MAX_SAMPLE_RATE = 10_000_000;

/**
 * Rates the public entry points (resample, Resampler, toWhisperInput) and the
 * file readers accept; a refused one is a WhisperError, as every failure of
 * the package's API is.
 */
export function checkRate(rate: number, what: string): void {
  if (typeof rate !== 'number') throw typeError('number', what, rate);
  if (!Number.isInteger(rate) || rate < 1 || rate > MAX_SAMPLE_RATE) {
    throw valueError(`an integer sample rate from 1 to ${MAX_SAMPLE_RATE}`, what, String(rate));
  }
}

function greatestCommonDivisor(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0, by its power series. */
function besselI0(x: number): number {
  const quarterSquare = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; term > sum * 1e-17; k++) {
    term *= quarterSquare / (k * k);
    sum += term;
  }
  return sum;
}

/** The prototype filter, in units of input samples. */
interface FilterDesign {
  /** Taps on each side of the output time; each output reads 2 * halfTaps inputs. */
  halfTaps: number;
  /** Half-amplitude cutoff in cycles per input sample. */
  cutoff: number;
  beta: number;
}

function designFilter(inputRate: number, outputRate: number): FilterDesign {
  const lowerNyquist = Math.min(inputRate, outputRate) / 2;
  const cutoff = (CUTOFF_FRACTION * lowerNyquist) / inputRate;
  const transitionRadians = (2 * Math.PI * TRANSITION_FRACTION * lowerNyquist) / inputRate;
  // Kaiser's estimates of the length and shape for a given attenuation.
  const taps = (STOPBAND_ATTENUATION_DB - 7.95) / (2.285 * transitionRadians);
  const beta = 0.1102 * (STOPBAND_ATTENUATION_DB - 8.7);
  return { halfTaps: Math.ceil(taps / 2), cutoff, beta };
}

/**
 * The taps for an output that falls `fraction` (0 <= fraction <= 1) of an
 * input sample after input i0: tap k weighs input i0 - halfTaps + 1 + k.
 * Scaled to sum to 1, so every phase passes DC with unit gain exactly.
 */
function phaseTaps(design: FilterDesign, fraction: number): Float32Array {
  const { halfTaps, cutoff, beta } = design;
  const taps = new Float64Array(2 * halfTaps);
  const windowScale = 1 / besselI0(beta);
  let sum = 0;
  for (let k = 0; k < taps.length; k++) {
    const distance = fraction + halfTaps - 1 - k; // input samples from the output time
    const x = 2 * cutoff * distance;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const edge = distance / halfTaps;
    const window = edge * edge >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - edge * edge)) * windowScale;
    const tap = 2 * cutoff * sinc * window;
    taps[k] = tap;
    sum += tap;
  }
  return Float32Array.from(taps, (tap) => tap / sum);
}

/**
 * Where output j falls in the input: after input `base`, between table rows
 * `row` and `row + 1` at `weight` (weight 0 for exact tables).
 */
interface OutputPosition {
  base: number;
  row: number;
  weight: number;
}

/**
 * Σ input[start + k] * taps[row + k] for k in [from, to), in doubles, on four
 * partial sums: one running sum waits out the latency of every add, four
 * independent ones let the adds overlap (resampling ~20 % faster here).
 */
function dot(
  input: Float32Array,
  start: number,
  taps: Float32Array,
  row: number,
  from: number,
  to: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = from;
  for (; k + 4 <= to; k += 4) {
    s0 += input[start + k]! * taps[row + k]!;
    s1 += input[start + k + 1]! * taps[row + k + 1]!;
    s2 += input[start + k + 2]! * taps[row + k + 2]!;
    s3 += input[start + k + 3]! * taps[row + k + 3]!;
  }
  for (; k < to; k++) s0 += input[start + k]! * taps[row + k]!;
  return s0 + s1 + (s2 + s3);
}

/** A filter table for one pair of rates, and how to locate an output in the input. */
export class PolyphaseFilter {
  readonly halfTaps: number;
  readonly tapsPerPhase: number;
  /** Row r holds the taps of phase r; `tapsPerPhase` floats per row. */
  readonly table: Float32Array;
  /** The rates' ratio reduced: output j is at input time j * down / up. */
  readonly up: number;
  readonly down: number;
  /** Every phase has its own row (else INTERPOLATED_PHASES + 1 rows, interpolated). */
  readonly exact: boolean;
  private readonly position: OutputPosition = { base: 0, row: 0, weight: 0 };

  constructor(inputRate: number, outputRate: number) {
    const divisor = greatestCommonDivisor(inputRate, outputRate);
    this.up = outputRate / divisor;
    this.down = inputRate / divisor;
    this.exact = this.up <= MAX_EXACT_PHASES;
    const design = designFilter(inputRate, outputRate);
    this.halfTaps = design.halfTaps;
    this.tapsPerPhase = 2 * design.halfTaps;
    // The interpolated table has one extra row (fraction 1) to interpolate towards.
    const rows = this.exact ? this.up : INTERPOLATED_PHASES + 1;
    const phases = this.exact ? this.up : INTERPOLATED_PHASES;
    this.table = new Float32Array(rows * this.tapsPerPhase);
    for (let row = 0; row < rows; row++) {
      this.table.set(phaseTaps(design, row / phases), row * this.tapsPerPhase);
    }
  }

  /** Outputs that `inputLength` inputs make: round(inputLength * up / down). */
  outputLength(inputLength: number): number {
    return Math.floor((2 * inputLength * this.up + this.down) / (2 * this.down));
  }

  /** The last input sample that output j reads. */
  lastInputOf(j: number): number {
    return Math.floor((j * this.down) / this.up) + this.halfTaps;
  }

  /** The first input sample that output j reads. */
  firstInputOf(j: number): number {
    return Math.floor((j * this.down) / this.up) - this.halfTaps + 1;
  }

  /** Locates output j; the returned object is reused by the next call. */
  locate(j: number): OutputPosition {
    const p = this.position;
    if (this.exact) {
      const scaled = j * this.down; // exact: below 2^53 for any realistic length
      p.base = Math.floor(scaled / this.up);
      p.row = scaled - p.base * this.up;
      p.weight = 0;
    } else {
      const time = (j * this.down) / this.up;
      p.base = Math.floor(time);
      const fractionalRow = (time - p.base) * INTERPOLATED_PHASES;
      p.row = Math.min(Math.floor(fractionalRow), INTERPOLATED_PHASES - 1);
      p.weight = fractionalRow - p.row;
    }
    return p;
  }

  /**
   * Computes outputs first .. first + out.length - 1 into `out`. `input[0]` is
   * input sample `offset`; samples outside `input` read as 0.
   */
  run(input: Float32Array, offset: number, first: number, out: Float32Array): void {
    const taps = this.table;
    const width = this.tapsPerPhase;
    for (let n = 0; n < out.length; n++) {
      const { base, row, weight } = this.locate(first + n);
      const start = base - this.halfTaps + 1 - offset; // index in `input` of tap 0
      const from = Math.max(0, -start);
      const to = Math.min(width, input.length - start);
      const rowA = row * width;
      const a = dot(input, start, taps, rowA, from, to);
      const b = weight !== 0 ? dot(input, start, taps, rowA + width, from, to) : 0;
      out[n] = a + weight * (b - a);
    }
  }
}

/** The last filter built: files of one batch usually share a rate. */
let lastFilter: { inputRate: number; outputRate: number; filter: PolyphaseFilter } | undefined;

export function filterFor(inputRate: number, outputRate: number): PolyphaseFilter {
  if (lastFilter?.inputRate !== inputRate || lastFilter.outputRate !== outputRate) {
    lastFilter = { inputRate, outputRate, filter: new PolyphaseFilter(inputRate, outputRate) };
  }
  return lastFilter.filter;
}

/**
 * A streaming sample-rate converter: feed chunks of mono samples to
 * `process`, then call `flush` once. The concatenated outputs equal what
 * `resample` gives for the concatenated input: round(n * outputRate /
 * inputRate) samples for n inputs.
 */
export class Resampler {
  readonly inputRate: number;
  readonly outputRate: number;
  private readonly filter: PolyphaseFilter | undefined;
  /** Input samples still needed, starting at input sample `pendingStart`. */
  private pending = new Float32Array(0);
  private pendingStart = 0;
  private inputCount = 0;
  private outputCount = 0;
  private flushed = false;

  /** Default `outputRate`: 16000, the model's rate. */
  constructor(inputRate: number, outputRate: number = WHISPER_SAMPLE_RATE) {
    checkRate(inputRate, 'inputRate');
    checkRate(outputRate, 'outputRate');
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    this.filter = inputRate === outputRate ? undefined : filterFor(inputRate, outputRate);
  }

  /** Takes the next input chunk and returns every output it completes. */
  process(chunk: Float32Array): Float32Array {
    if (this.flushed) throw new Error('Resampler.process() called after flush()');
    if (this.filter === undefined) {
      this.inputCount += chunk.length;
      return chunk.slice();
    }
    const joined = new Float32Array(this.pending.length + chunk.length);
    joined.set(this.pending);
    joined.set(chunk, this.pending.length);
    this.pending = joined;
    this.inputCount += chunk.length;
    // Outputs whose last tap has arrived; never past the total the input makes.
    let end = this.outputCount;
    const limit = this.filter.outputLength(this.inputCount);
    while (end < limit && this.filter.lastInputOf(end) < this.inputCount) end++;
    return this.emit(end);
  }

  /** Returns the remaining outputs, reading silence past the end of the input. */
  flush(): Float32Array {
    if (this.flushed) throw new Error('Resampler.flush() called twice');
    this.flushed = true;
    if (this.filter === undefined) return new Float32Array(0);
    return this.emit(this.filter.outputLength(this.inputCount));
  }

  private emit(end: number): Float32Array {
    const filter = this.filter!;
    const out = new Float32Array(end - this.outputCount);
    filter.run(this.pending, this.pendingStart, this.outputCount, out);
    this.outputCount = end;
    // Keep only the inputs that the next output can still read.
    const keepFrom = Math.max(this.pendingStart, filter.firstInputOf(end));
    this.pending = this.pending.slice(keepFrom - this.pendingStart);
    this.pendingStart = keepFrom;
    return out;
  }
}

/**
 * Converts mono samples from `inputRate` to `outputRate` (default 16000):
 * round(n * outputRate / inputRate) samples. Equal rates return a copy.
 */
export function resample(
  samples: Float32Array,
  inputRate: number,
  outputRate: number = WHISPER_SAMPLE_RATE,
): Float32Array {
  checkRate(inputRate, 'inputRate');
  checkRate(outputRate, 'outputRate');
  if (inputRate === outputRate) return samples.slice();
  // One pass over the caller's array, without the streaming class's copies.
  const filter = filterFor(inputRate, outputRate);
  const out = new Float32Array(filter.outputLength(samples.length));
  filter.run(samples, 0, 0, out);
  return out;
}

/**
 * Averages interleaved frames of `channels` samples into one channel.
 * A trailing partial frame is an error: it means the caller's layout is wrong.
 */
export function downmix(interleaved: Float32Array, channels: number): Float32Array {
  if (!Number.isInteger(channels) || channels < 1) {
    throw valueError('a positive integer channel count', 'channels', String(channels));
  }
  if (interleaved.length % channels !== 0) {
    throw valueError(
      `a whole number of ${channels}-channel frames`,
      'interleaved',
      `${interleaved.length} samples`,
    );
  }
  if (channels === 1) return interleaved.slice();
  const frames = interleaved.length / channels;
  const mono = new Float32Array(frames);
  for (let frame = 0, i = 0; frame < frames; frame++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[i++]!;
    mono[frame] = sum / channels;
  }
  return mono;
}

/** Interleaved PCM of any rate and channel count to 16 kHz mono. */
export function toWhisperInput(
  interleaved: Float32Array,
  sampleRate: number,
  channels: number,
): Float32Array {
  const mono = channels === 1 ? interleaved : downmix(interleaved, channels);
  return resample(mono, sampleRate, WHISPER_SAMPLE_RATE);
}
