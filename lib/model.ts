// The public model object: loadModel() and WhisperModel. Validates arguments
// (validate.ts), forwards to the addon (binding.ts), turns native errors into
// WhisperError with the caller's stack, and owns the lifecycle: calls in
// flight are tracked so that close() can wait for them.
import { binding, type NativeJob, type NativeModel, type NativeResult } from './binding.js';
import {
  WhisperError,
  callNative,
  captureCallSite,
  fromNativeError,
  type CallSite,
} from './errors.js';
import {
  LOAD_DEFAULTS,
  type LanguageProbability,
  type LoadOptions,
  type ModelInfo,
  type Samples,
  type Segment,
  type TranscribeOptions,
  type TranscriptionResult,
} from './options.js';
import { SegmentStream } from './segment-stream.js';
import { checkTranscribeOptions, type CheckedTranscribeOptions } from './transcribe-options.js';
import * as check from './validate.js';

const WINDOW_FRAMES = 3000; // log-mel frames in one 30 s window
const MAX_THREADS = 256;
const MAX_CONCURRENT_CALLS = 256;

/**
 * Loads a whisper.cpp ggml model file (f32/f16 weights), validating every
 * header field and tensor, on a worker thread.
 */
export async function loadModel(path: string, options?: LoadOptions): Promise<WhisperModel> {
  const site = captureCallSite(loadModel);
  check.assertPath(path, 'path');
  check.assertOptions(options, 'options', ['threads', 'lowMemory', 'maxConcurrentCalls', 'signal']);
  const threads = options?.threads ?? LOAD_DEFAULTS.threads;
  check.assertIntegerInRange(threads, 'threads', 0, MAX_THREADS);
  const lowMemory = options?.lowMemory ?? LOAD_DEFAULTS.lowMemory;
  check.assertBoolean(lowMemory, 'lowMemory');
  const maxCalls = options?.maxConcurrentCalls ?? LOAD_DEFAULTS.maxConcurrentCalls;
  check.assertIntegerInRange(maxCalls, 'maxConcurrentCalls', 1, MAX_CONCURRENT_CALLS);
  const signal = options?.signal;
  if (signal !== undefined) check.assertAbortSignal(signal, 'options.signal');
  signal?.throwIfAborted();
  const job = callNative(() => binding().loadModel(path, threads, lowMemory, maxCalls));
  const native = await settleJob(job, signal, site);
  // Aborted too late to stop the load: the caller asked for no model.
  if (signal?.aborted) {
    native.close();
    throw signal.reason;
  }
  return new WhisperModel(native);
}

/**
 * A loaded model. Immutable and shared: any number of calls may be made on it
 * at once, each with its own state; LoadOptions.maxConcurrentCalls of them run
 * at a time. Create with loadModel().
 */
export class WhisperModel {
  readonly #native: NativeModel;
  readonly #info: ModelInfo;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  /** @internal use loadModel() */
  constructor(native: NativeModel) {
    this.#native = native;
    const info = native.info();
    this.#info = Object.freeze({ ...info, hparams: Object.freeze(info.hparams) });
  }

  /** What was loaded: type, hparams, kernel path (ISA) and threads. */
  get info(): ModelInfo {
    return this.#info;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Transcribes 16 kHz mono audio with timestamps; by default as the
   * reference's transcribe(): greedy, each 30 s window decoded again at the
   * next temperature when its text looks wrong. Runs on native threads; the
   * event loop stays free. Empty audio gives
   * `{ segments: [], text: '', duration: 0, ... }`.
   */
  async transcribe(samples: Samples, options?: TranscribeOptions): Promise<TranscriptionResult> {
    const site = captureCallSite(this.transcribe);
    check.assertSamples(samples);
    const { native, signal, onProgress, onSegment } = checkTranscribeOptions(options);
    this.#assertOpen();
    if (signal?.aborted) throw signal.reason;
    return this.#track(
      runTranscription(this.#native, samples, { native, signal, onProgress, onSegment }, site),
    );
  }

  /**
   * Transcribes like transcribe(), yielding each segment as soon as it is
   * final:
   *
   * ```ts
   * for await (const segment of model.transcribeStream(samples, { signal })) { ... }
   * ```
   *
   * The run starts at once (segments wait until asked for). Leaving the loop early (`break`,
   * `return`, a throw: the iterator's `return()`) cancels it; `return()`
   * resolves once the native side has stopped. An error of the run, or an
   * abort through `options.signal` (with `signal.reason`), rejects the
   * pending `next()`, and the stream ends. Invalid arguments throw at once.
   */
  transcribeStream(samples: Samples, options?: TranscribeOptions): AsyncIterableIterator<Segment> {
    const site = captureCallSite(this.transcribeStream);
    check.assertSamples(samples);
    const checked = checkTranscribeOptions(options);
    this.#assertOpen();
    return new SegmentStream((signal, onSegment) => {
      this.#assertOpen();
      const both = (segment: Segment) => {
        onSegment(segment);
        checked.onSegment?.(segment);
      };
      const run = runTranscription(
        this.#native,
        samples,
        { ...checked, signal, onSegment: both },
        site,
      );
      return this.#track(run).then(() => undefined);
    }, checked.signal);
  }

  /**
   * Spoken-language identification as the reference's detect_language: the
   * decoder's first step on the first 30 s window, softmaxed over the
   * language tokens. Resolves with every language of the model, most likely
   * first (probabilities sum to 1). English-only models resolve with
   * `[{ language: 'en', probability: 1 }]` without running anything.
   */
  async detectLanguage(samples: Samples): Promise<LanguageProbability[]> {
    const site = captureCallSite(this.detectLanguage);
    check.assertSamples(samples);
    this.#assertOpen();
    return this.#track(this.#callAsync(() => this.#native.detectLanguage(samples), site));
  }

  /**
   * The log-mel window the encoder sees for the 30 s window starting at
   * `offsetSeconds`: n_mels × 3000 floats (80 × 3000 but for large-v3's 128),
   * row-major [mel][frame]. Computed on a native thread: the log-mel of the
   * whole audio is needed for its maximum (a few ms per second of audio).
   */
  async melWindow(samples: Samples, offsetSeconds = 0): Promise<Float32Array> {
    const site = captureCallSite(this.melWindow);
    check.assertSamples(samples);
    check.assertFiniteNonNegative(offsetSeconds, 'offsetSeconds');
    this.#assertOpen();
    return this.#track(this.#callAsync(() => this.#native.melWindow(samples, offsetSeconds), site));
  }

  /**
   * Runs the encoder on one log-mel window (80 × 3000, as melWindow returns).
   * Resolves with n_audio_ctx × n_audio_state floats, row-major [position][channel].
   */
  async encode(mel: Float32Array): Promise<Float32Array> {
    const site = captureCallSite(this.encode);
    const { nMels } = this.#info.hparams;
    check.assertFloat32Array(mel, 'mel', nMels * WINDOW_FRAMES, `${nMels} x ${WINDOW_FRAMES}`);
    this.#assertOpen();
    return this.#track(this.#callAsync(() => this.#native.encode(mel), site));
  }

  /**
   * Teacher-forced decoder scores: row i (of tokens.length rows, n_vocab
   * columns) holds the logits for the token after tokens[0..i], given the
   * encoder output `encoded` (as encode() returns).
   */
  async logits(tokens: number[], encoded: Float32Array): Promise<Float32Array> {
    const site = captureCallSite(this.logits);
    const { nVocab, nTextCtx, nAudioCtx, nAudioState } = this.#info.hparams;
    check.assertTokenIds(tokens, 'tokens', nVocab, nTextCtx);
    check.assertFloat32Array(
      encoded,
      'encoded',
      nAudioCtx * nAudioState,
      `${nAudioCtx} x ${nAudioState}`,
    );
    this.#assertOpen();
    const ids = Int32Array.from(tokens);
    return this.#track(this.#callAsync(() => this.#native.logits(ids, encoded), site));
  }

  /**
   * Closes the model: new calls fail with ERR_MODEL_CLOSED at once; calls
   * already running finish normally (they are not cancelled: abort them with
   * their signal if you want them to stop). Resolves when the last of them
   * has settled; the weights are freed then, never while a call uses them.
   * Calling close() again returns the same promise.
   */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#native.close();
      this.#closing = Promise.allSettled([...this.#inFlight]).then(() => undefined);
    }
    return this.#closing;
  }

  /** `await using model = await loadModel(...)` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closing) throw new WhisperError('ERR_MODEL_CLOSED', 'The model is closed');
  }

  async #callAsync<T>(call: () => Promise<T>, site: CallSite): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw fromNativeError(error, site);
    }
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise);
    const forget = () => this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}

// Awaits a native job with `signal` wired to its abort(). It settles only once
// the native side has stopped; an abort rejects with signal.reason, any other
// failure with a WhisperError carrying the caller's stack.
async function settleJob<T>(
  job: NativeJob<T>,
  signal: AbortSignal | undefined,
  site: CallSite,
): Promise<T> {
  const abort = () => job.abort();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    return await job.promise;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (signal?.aborted && code === 'ERR_ABORTED') throw signal.reason;
    throw fromNativeError(error, site);
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

// Starts the native job, wires the signal and callbacks to it, and settles
// only when the native side has stopped (so close() can wait for it).
async function runTranscription(
  native: NativeModel,
  samples: Samples,
  options: CheckedTranscribeOptions,
  site: CallSite,
): Promise<TranscriptionResult> {
  const { signal } = options;
  // A throwing user callback stops the run; the call rejects with what it threw.
  let callbackError: { error: unknown } | undefined;
  const guard = <A>(fn: ((arg: A) => void) | undefined) =>
    fn &&
    ((arg: A) => {
      if (callbackError) return;
      try {
        fn(arg);
      } catch (error) {
        callbackError = { error };
        // Callbacks only run from the event loop, after `job` is assigned.
        job.abort();
      }
    });
  const job = callNative(() =>
    native.transcribe(samples, options.native, guard(options.onProgress), guard(options.onSegment)),
  );
  let result: NativeResult;
  try {
    result = await settleJob(job, signal, site);
  } catch (error) {
    throw callbackError ? callbackError.error : error;
  }
  if (callbackError) throw callbackError.error;
  return {
    segments: result.segments,
    text: result.text,
    duration: result.duration,
    language: result.language,
    timings: result.timings,
  };
}
