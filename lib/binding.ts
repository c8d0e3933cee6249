// Loads the native addon (a prebuilt binary from prebuilds/ when one fits this
// platform, else the one `npm install` compiled into build/Release/) and types
// its surface in one place. Loaded lazily, on first use, so that importing the
// package (for its types or WhisperError) never fails; when loading does fail,
// the error names the real cause and what to do about it.
import fs from 'node:fs';
import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { WhisperError } from './errors.js';
import type {
  LanguageProbability,
  ModelInfo,
  Samples,
  Segment,
  TranscriptionTimings,
} from './options.js';
import type { NativeTranscribeOptions } from './transcribe-options.js';

/** What the engine returns. */
export interface NativeResult {
  segments: Segment[];
  /** All segments' text tokens decoded at once (see TranscriptionResult.text). */
  text: string;
  duration: number;
  language: string;
  timings: TranscriptionTimings;
}

/** A running native transcription. abort() may be called any time, also after it settled. */
export interface NativeJob<T = NativeResult> {
  promise: Promise<T>;
  /** Raises the call's cancellation flag; a no-op once it has ended. */
  abort(): void;
}

/** native/binding/model_wrap.cc. Arguments are validated by lib/ before they get here. */
export interface NativeModel {
  info(): ModelInfo;
  melWindow(samples: Samples, offsetSeconds: number): Promise<Float32Array>;
  encode(mel: Float32Array): Promise<Float32Array>;
  logits(tokens: Int32Array, encoded: Float32Array): Promise<Float32Array>;
  detectLanguage(samples: Samples): Promise<LanguageProbability[]>;
  transcribe(
    samples: Samples,
    options: NativeTranscribeOptions,
    onProgress?: (fraction: number) => void,
    onSegment?: (segment: Segment) => void,
  ): NativeJob;
  /** Drops this object's reference to the weights; calls in flight keep theirs. */
  close(): void;
  readonly closed: boolean;
}

/** native/binding/addon.cc */
export interface NativeAddon {
  loadModel(
    path: string,
    threads: number,
    lowMemory: boolean,
    maxConcurrentCalls: number,
  ): NativeJob<NativeModel>;
  /** Kernel paths this CPU and build can run, e.g. ['generic', 'avx2']. */
  supportedIsas(): string[];
  /** The path models use unless WHISPER_NATIVE_ISA says otherwise. */
  bestIsa(): string;
  /** fp32 FMA GFLOP/s of `threads` threads (bench only; blocks for about `seconds`). */
  measurePeakGflops(threads: number, seconds: number): number;
  /** GB/s at which `threads` threads stream `megabytes` MB (bench only; blocks for about `seconds`). */
  measureReadBandwidth(threads: number, megabytes: number, seconds: number): number;
  /**
   * Outputs [first, first + out.length) of a polyphase filter (lib/resample.ts)
   * over input, into out, on a worker thread: the arrays must not change until
   * it settles. native/binding/resample_worker.h.
   */
  resampleRun(
    input: Float32Array,
    table: Float32Array,
    tapsPerPhase: number,
    halfTaps: number,
    up: number,
    down: number,
    exact: boolean,
    first: number,
    out: Float32Array,
  ): Promise<void>;
  /**
   * Frames [firstFrame, firstFrame + out.length) of a WAV data chunk
   * (interleaved samples of `codec`, PCM_CODECS in lib/wav.ts), each one's
   * channels averaged, into out: what lib/wav.ts's loop computes, bit for bit.
   * Synchronous. native/binding/pcm_decode.h.
   */
  decodePcmFrames(
    data: Uint8Array,
    codec: number,
    channels: number,
    firstFrame: number,
    out: Float32Array,
  ): void;
  napiVersion: number;
}

/** The folder holding package.json, found upward from this file (lib/ or dist/cjs/). */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'native'))) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return path.join(__dirname, '..');
    dir = parent;
  }
}

let addon: NativeAddon | undefined;

export function binding(): NativeAddon {
  if (!addon) addon = loadAddon();
  return addon;
}

/**
 * The addon, or undefined when it cannot be loaded: for work that has a JS
 * fallback (resampling), which must not fail for want of the addon.
 */
export function bindingIfLoadable(): NativeAddon | undefined {
  try {
    return binding();
  } catch (error) {
    if (error instanceof WhisperError && error.code === 'ERR_ADDON_LOAD') return undefined;
    throw error;
  }
}

function loadAddon(): NativeAddon {
  const root = packageRoot();
  try {
    return nodeGypBuild(root) as NativeAddon;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const target = `${process.platform}-${process.arch}`;
    throw new WhisperError(
      'ERR_ADDON_LOAD',
      [
        `whisper-native could not load its native addon for ${target} (Node ${process.version}).`,
        `Cause: ${reason.split('\n')[0]}`,
        `Looked in: ${path.join(root, 'prebuilds', target)} and ${path.join(root, 'build', 'Release')}.`,
        'Prebuilt binaries ship for linux-x64, linux-arm64, darwin-x64, darwin-arm64 and win32-x64.',
        'To fix: build it from source with `npm rebuild whisper-native` (needs CMake >= 3.15 and a',
        'C++17 compiler; if your npm skips dependency install scripts, allow them for',
        'whisper-native first). In Electron, load the package in the main or a utility process,',
        'not the renderer.',
      ].join('\n'),
      { cause },
    );
  }
}
