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

/** Options of {@link loadModel}. */
export interface LoadOptions {
  /**
   * Threads the model's native thread pool uses for every call on it.
   * Default `0`: the number of hardware threads, at most 8.
   */
  threads?: number;
  /**
   * Keep the encoder's weights out of memory between 30 s windows (the
   * default): the model file stays open (not mapped), and each window's
   * encoding reads the encoder's weights from it (the OS's page cache, after
   * the first) and packs them right before use. For tiny.en (f16) that is
   * 17.5 MB less resident memory (peak RSS of a Node process transcribing an
   * 11 s clip: 121 MB instead of 139 MB; medium.en: 1.1 GB instead of 1.7),
   * for ~1.5 % more encoder time per window (measured alternating with a
   * `lowMemory: false` model in one process on a 2-core VM); the results are
   * identical, quantized files included. `false` packs every weight at load
   * and closes the file.
   *
   * Caveat: do not modify the model file in place (truncate it, rewrite it,
   * copy another file over it) while such a model is loaded: the next window
   * then fails with `ERR_MODEL_CHANGED` instead of reading changed weights,
   * as does a window being encoded when the file is cut (never a crash).
   * Deleting the file, or replacing it by a rename as `downloadModel` does,
   * is fine: the model keeps reading the file it opened. Default `true`.
   */
  lowMemory?: boolean;
  /**
   * How many calls of the model run at once (1 to 256); later calls wait their
   * turn in call order, holding only their copied samples. Each running call
   * holds its window memory (~15 MB for tiny, ~0.5 GB for large-v3), and the
   * running calls share the model's threads in turns, so more calls at once
   * add memory, not throughput: lower it to bound memory (1 runs calls one
   * after another), raise it only for many short calls whose latency matters
   * more than memory. Default 4.
   */
  maxConcurrentCalls?: number;
  /**
   * Stops the load: the promise rejects with `signal.reason` (an `AbortError`
   * DOMException unless the signal was aborted with a reason) within about a
   * millisecond of packing work, and the memory packed so far is freed. An
   * already-aborted signal rejects at once.
   */
  signal?: AbortSignal;
}

/** The defaults of {@link LoadOptions}. */
export const LOAD_DEFAULTS: Required<Omit<LoadOptions, 'signal'>> = {
  threads: 0,
  lowMemory: true,
  maxConcurrentCalls: 4,
};

/**
 * How transcribe() decodes. Every option is optional; the defaults are the
 * reference implementation's (OpenAI whisper `transcribe()`), listed in
 * TRANSCRIBE_DEFAULTS.
 */
export interface DecodingOptions {
  /**
   * Spoken language code ('en', 'de', ...) or 'auto' to detect it from the
   * first 30 s. English-only models ignore it. Default: 'auto'.
   */
  language?: string;
  /** Translate to English instead of transcribing (multilingual models). Default: false. */
  translate?: boolean;
  /**
   * Sampling temperature, or the list tried in turn when a window's decoding
   * fails the quality thresholds below (the reference's fallback). 0 alone
   * decodes each window once, never retried (greedy, or beam search with
   * beamSize > 1). Default: [0, 0.2, 0.4, 0.6, 0.8, 1].
   */
  temperature?: number | number[];
  /**
   * Candidates sampled at each temperature above 0; the most likely is kept.
   * Default: 1, as the reference library's `transcribe()` (its command line,
   * and ours, use 5).
   */
  bestOf?: number;
  /** Beam search width at temperature 0 (0 or 1: greedy). Default: 0. */
  beamSize?: number;
  /** Beam search stops after round(beamSize × patience) finished beams. Default: 1. */
  patience?: number;
  /**
   * Candidate ranking: null ranks by sum of log-probabilities / length; a
   * number from 0 to 1 uses Google NMT's length penalty with that alpha, as
   * the reference (which allows no other). Default: null.
   */
  lengthPenalty?: number | null;
  /** Seed of the sampling RNG: the same seed gives the same result. Default: 0. */
  seed?: number;
  /** The most tokens decoded per 30 s window (0: n_text_ctx / 2 = 224). Default: 0. */
  maxTokensPerWindow?: number;
  /** Retry a window whose text compresses better than this (gzip ratio); null: never. Default: 2.4. */
  compressionRatioThreshold?: number | null;
  /** Retry a window whose average log-probability is below this; null: never. Default: -1. */
  logprobThreshold?: number | null;
  /**
   * Skip a window as silence when p(no speech) is above this, unless its
   * average log-probability is above logprobThreshold (when that is not
   * null); null: never. Default: 0.6.
   */
  noSpeechThreshold?: number | null;
  /**
   * Give the decoder the text of the previous 30 s windows as a prompt, as the
   * reference does (dropped after a window decoded above temperature 0.5).
   * Turning it off can stop a model that repeats itself from carrying the
   * loop into the next window. Default: true.
   */
  conditionOnPreviousText?: boolean;
  /** Text (or token ids) placed before the first window's prompt: vocabulary, names. Default: none. */
  initialPrompt?: string | number[];
  /**
   * Text (or token ids) every window's output is forced to start with. Cut as the reference
   * cuts it: whole at the default maxTokensPerWindow, only its last 224 − maxTokensPerWindow
   * tokens below 224, without its first maxTokensPerWindow − 224 above. Default: none.
   */
  prefix?: string | number[];
  /** The first timestamp may not be later than this many seconds (0: no limit, as the reference). Default: 1. */
  maxInitialTimestamp?: number;
  /** Never start a window with a blank or end-of-text token. Default: true. */
  suppressBlank?: boolean;
  /**
   * Token ids never produced; -1 stands for the reference's set of non-speech
   * symbols. Default: [-1].
   */
  suppressTokens?: number[];
  /** Decode without timestamp tokens: each window becomes one segment. Default: false. */
  withoutTimestamps?: boolean;
  /**
   * Start this many seconds into the audio. As the reference's clip timestamps, `offset` and
   * `offset + duration` are rounded to 10 ms frames, a half frame to the even one. Default: 0.
   */
  offset?: number;
  /** Transcribe this many seconds after `offset` (0: to the end). Default: 0. */
  duration?: number;
  /** Split segments longer than this many characters (0: no limit). Default: 0. */
  maxSegmentLength?: number;
  /** With maxSegmentLength: split only between words. Default: false. */
  splitOnWord?: boolean;
  /** One segment per 30 s window. Default: false. */
  singleSegment?: boolean;
  /**
   * Time every word (`segment.words`) from the cross-attention of the model's
   * alignment heads, as the reference's `word_timestamps`: one more decoder
   * pass per 30 s window. Punctuation is merged into the neighbouring words;
   * as in the reference, segment times may move to their words' and the next
   * window starts after the last word. Default: false.
   */
  wordTimestamps?: boolean;
}

export interface TranscribeOptions extends DecodingOptions {
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
}

/** The default of every decoding option (the reference implementation's). */
export const TRANSCRIBE_DEFAULTS = Object.freeze({
  sampleRate: 16000,
  language: 'auto',
  translate: false,
  temperature: Object.freeze([0, 0.2, 0.4, 0.6, 0.8, 1]) as readonly number[],
  bestOf: 1,
  beamSize: 0,
  patience: 1,
  lengthPenalty: null,
  seed: 0,
  maxTokensPerWindow: 0,
  compressionRatioThreshold: 2.4,
  logprobThreshold: -1,
  noSpeechThreshold: 0.6,
  conditionOnPreviousText: true,
  initialPrompt: '',
  prefix: '',
  maxInitialTimestamp: 1,
  suppressBlank: true,
  suppressTokens: Object.freeze([-1]) as readonly number[],
  withoutTimestamps: false,
  offset: 0,
  duration: 0,
  maxSegmentLength: 0,
  splitOnWord: false,
  singleSegment: false,
  wordTimestamps: false,
});

/** One decoded token of a segment. */
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

/** A word with its timing (`wordTimestamps`). */
export interface Word {
  /** The word as the segment's text has it, with its leading space and merged punctuation. */
  word: string;
  /** Seconds from the start of the audio, within the segment. */
  start: number;
  /** Seconds from the start of the audio; `end >= start`, within the segment. */
  end: number;
  /** Mean probability of the word's tokens. */
  probability: number;
}

/** A stretch of audio and its text, with the decoding it came from. */
export interface Segment {
  /** Seconds from the start of the audio. */
  start: number;
  /** Seconds from the start of the audio; `end >= start`. */
  end: number;
  /** The segment's text; usually begins with a space, as Whisper writes it. */
  text: string;
  /**
   * The segment's tokens as decoded: its text tokens and its timestamp tokens
   * (named `<|1.24|>`, seconds from the start of their 30 s window).
   */
  tokens: Token[];
  /**
   * The temperature of the window's decoding this segment came from (0: greedy): one of
   * `options.temperature`, the very number given.
   */
  temperature: number;
  /** Average log-probability of that decoding's tokens. */
  avgLogprob: number;
  /** gzip compression ratio of that window's text (high: repetitive). */
  compressionRatio: number;
  /** Probability of "no speech" at the start of that window. */
  noSpeechProb: number;
  /**
   * With `wordTimestamps`: the segment's words in order; their `word`s joined
   * give `text`. Absent otherwise.
   */
  words?: Word[];
}

/** What `transcribe()` resolves with. */
export interface TranscriptionResult {
  /** In order, not overlapping, within [0, duration]. */
  segments: Segment[];
  /**
   * The whole text: all segments' tokens decoded at once, as the reference's `text`. It is the
   * segments' texts joined, except where a character's bytes are split between the last token of
   * one segment and the first of the next: each of those segments' texts has U+FFFD for its part
   * (as the reference's segment texts do), this text the character.
   */
  text: string;
  /** Seconds of audio. */
  duration: number;
  /** The language code used ('en' for English-only models). */
  language: string;
  /** Where the time went, measured in this transcription. */
  timings: TranscriptionTimings;
}

/**
 * Wall-clock milliseconds of a transcription's stages, measured as it ran (all 0 for empty
 * audio). What is not in a stage (the log-mel front end, segmenting, setup) is the rest of
 * `totalMs`.
 */
export interface TranscriptionTimings {
  /** The whole native run. */
  totalMs: number;
  /**
   * The encoder, all passes, each with its window's cross-attention keys and values (computed once
   * per window from the audio; whisper.cpp counts them in its encode time too).
   */
  encodeMs: number;
  /** Encoder passes: one per 30 s window, one more when the language is detected apart. */
  encoderPasses: number;
  /**
   * The decoder: prompts, every sampled step of every candidate and fallback temperature, beam
   * steps and token choice.
   */
  decodeMs: number;
  /**
   * Tokens the decoder ran on one step at a time after each window's prompt (a beam step counts
   * each beam). `decodeMs / decoderSteps` is the cost of a token.
   */
  decoderSteps: number;
  /**
   * Of `decoderSteps`, those that ran in one pass with other calls' steps on the same model
   * (concurrent calls share their decoder passes, which reads the weights once for all of them;
   * the results are the same as alone). 0 for a call that ran alone.
   */
  sharedSteps: number;
  /** Word timestamps: the alignment passes and DTW (0 without `wordTimestamps`). */
  alignMs: number;
}

/** One language's probability, as detectLanguage() ranks them. */
export interface LanguageProbability {
  /** Whisper's code: 'en', 'de', 'zh', 'yue', ... */
  language: string;
  probability: number;
}

/** The model's dimensions, as its file declares them. */
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

/** What a loaded model is: `WhisperModel.info`. */
export interface ModelInfo {
  /** 'tiny', 'base', 'small', 'medium' or 'large', with '.en' when English-only. */
  type: string;
  /** False for English-only (`.en`) models. */
  multilingual: boolean;
  /** The kernel path in use: 'generic', 'avx2', 'avx512' or 'neon'. */
  isa: string;
  /** Threads of the model's pool. */
  threads: number;
  /**
   * Memory held by the weights, in bytes; with `lowMemory`, without the
   * encoder's (read from the file for each window).
   */
  weightBytes: number;
  /** Loaded with `lowMemory: true` (the default). */
  lowMemory: boolean;
  /** LoadOptions.maxConcurrentCalls: how many of its calls run at once. */
  maxConcurrentCalls: number;
  /** The model's dimensions. */
  hparams: ModelHParams;
}
