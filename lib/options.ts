// The public types: options (every one with its default), results and model
// information. What the defaults mean is documented here once; README.md's API
// reference repeats them.
/**
 * Audio samples, 16 kHz mono:
 * - `Int16Array`: signed 16-bit PCM;
 * - `Float32Array`: floats in [-1, 1];
 * - `Buffer` / `Uint8Array`: raw s16le bytes (an even number of them).
 */
export type Samples = Int16Array | Float32Array | Uint8Array;

export interface LoadOptions {
  /**
   * Threads the model's native thread pool uses for every call on it.
   * Default `0`: the number of hardware threads, at most 8.
   */
  threads?: number;
}

export const LOAD_DEFAULTS: Required<LoadOptions> = { threads: 0 };

export interface TranscribeOptions {
  /**
   * Stops the transcription: the promise rejects with `signal.reason` (an
   * `AbortError` DOMException unless the signal was aborted with a reason)
   * within one decoder step. An already-aborted signal rejects at once.
   * Default: none.
   */
  signal?: AbortSignal;
  /**
   * Called on the JS thread with the fraction of the audio done (0..1), after
   * each 30 s window. Default: none. If it throws, the transcription stops and
   * rejects with what it threw.
   */
  onProgress?: (fraction: number) => void;
  /**
   * Called on the JS thread with each segment as soon as it is final, in
   * order. Default: none. If it throws, the transcription stops and rejects
   * with what it threw.
   */
  onSegment?: (segment: Segment) => void;
  /**
   * The sample rate of `samples`, to guard against passing audio at another
   * rate: only 16000 is accepted for now. Default: 16000.
   */
  sampleRate?: number;
  /**
   * Give the decoder the text of the previous 30 s windows as a prompt, as
   * the reference implementation does. Turning it off can stop a model that
   * repeats itself from carrying the loop into the next window. Default: `true`.
   */
  conditionOnPreviousText?: boolean;
}

export const TRANSCRIBE_DEFAULTS = {
  sampleRate: 16000,
  conditionOnPreviousText: true,
} as const;

export interface Token {
  /** Token id in the model's vocabulary (timestamps included). */
  id: number;
  /**
   * The token's text (UTF-8 safe: a character split over several tokens
   * belongs to the token that completes it, the others have ''). Special and
   * timestamp tokens have their `<|...|>` name or ''.
   */
  text: string;
  /** The token's probability under the filtered distribution it was picked from. */
  p: number;
}

export interface Segment {
  /** Seconds from the start of the audio. */
  start: number;
  /** Seconds from the start of the audio; `end >= start`. */
  end: number;
  /** The segment's text; usually begins with a space, as Whisper writes it. */
  text: string;
  tokens: Token[];
}

export interface TranscriptionResult {
  /** In order, not overlapping, within [0, duration]. */
  segments: Segment[];
  /** All segments' text joined. */
  text: string;
  /** Seconds of audio. */
  duration: number;
}

export interface ModelHParams {
  nVocab: number;
  nAudioCtx: number;
  nAudioState: number;
  nAudioHead: number;
  nAudioLayer: number;
  nTextCtx: number;
  nTextState: number;
  nTextHead: number;
  nTextLayer: number;
  nMels: number;
  /** Weight type of the file (1 = f16). */
  ftype: number;
}

export interface ModelInfo {
  /** 'tiny', 'base', 'small', 'medium' or 'large', with '.en' when English-only. */
  type: string;
  multilingual: boolean;
  /** The kernel path in use: 'generic', 'avx2', 'avx512' or 'neon'. */
  isa: string;
  /** Threads of the model's pool. */
  threads: number;
  /** Memory held by the packed weights, in bytes. */
  weightBytes: number;
  hparams: ModelHParams;
}
