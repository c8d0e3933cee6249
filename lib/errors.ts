// The one error class of the package. Every failure, from argument checks in
// validate.ts to engine errors thrown in C++, audio files and model downloads,
// reaches the caller as a WhisperError with a stable string `code`; integer
// status codes never cross into JavaScript. Aborts are the exception: they
// reject with `signal.reason`. File-system errors of the caller's own paths
// (ENOENT, EACCES, ...) also pass through as Node raised them.

/** Every `code` a WhisperError can carry. */
export const ERROR_CODES = [
  /** The model path does not exist, or a model name is not downloaded yet. */
  'ERR_MODEL_NOT_FOUND',
  'ERR_MODEL_FORMAT',
  'ERR_MODEL_TRUNCATED',
  /**
   * The file of a model loaded with `lowMemory` (the default) was modified on disk
   * (truncated or rewritten in place) after loading: load it again.
   */
  'ERR_MODEL_CHANGED',
  'ERR_UNSUPPORTED_TENSOR_TYPE',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_AUDIO',
  'ERR_UNSUPPORTED_AUDIO',
  'ERR_MODEL_CLOSED',
  'ERR_ABORTED',
  'ERR_OUT_OF_MEMORY',
  'ERR_ADDON_LOAD',
  'ERR_INTERNAL',
  /** An audio file needs ffmpeg to decode, and there is none on PATH. */
  'ERR_FFMPEG_NOT_FOUND',
  /** Not a model name that `downloadModel` knows. */
  'ERR_UNKNOWN_MODEL',
  /** The model server answered with an error status (see `status`). */
  'ERR_DOWNLOAD_HTTP',
  /** Too many redirects, or a redirect without a usable Location. */
  'ERR_DOWNLOAD_REDIRECT',
  /** The connection failed or ended early after every retry; a verified download keeps its partial file to resume. */
  'ERR_DOWNLOAD_NETWORK',
  /** The downloaded file's SHA-1 differs from the published one; it was deleted. */
  'ERR_DOWNLOAD_CHECKSUM',
] as const;

/** One of {@link ERROR_CODES}. */
export type WhisperErrorCode = (typeof ERROR_CODES)[number];

/**
 * Every error whisper-native raises. Test `code` (one of {@link ERROR_CODES})
 * rather than the message, which may be reworded.
 */
export class WhisperError extends Error {
  /** What went wrong, stable across versions: see {@link ERROR_CODES}. */
  readonly code: WhisperErrorCode;
  /** The HTTP status, for `ERR_DOWNLOAD_HTTP`; otherwise undefined. */
  readonly status: number | undefined;

  constructor(
    code: WhisperErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options);
    this.code = code;
    this.status = options?.status;
  }
}
// On the prototype, not each instance: printed errors then read
// "WhisperError [CODE]: message" without a `name` field.
Object.defineProperty(WhisperError.prototype, 'name', {
  value: 'WhisperError',
  writable: true,
  configurable: true,
});

function isKnownCode(code: unknown): code is WhisperErrorCode {
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);
}

/**
 * The stack of the public call that started an async native operation, taken
 * before the call goes to a worker thread: errors the worker reports later then
 * point at the caller's line instead of at the event loop.
 */
export interface CallSite {
  stack: string;
}

export function captureCallSite(callee: (...args: never[]) => unknown): CallSite {
  const site = { stack: '' };
  Error.captureStackTrace(site, callee);
  return site;
}

/**
 * Turns what the addon threw (a plain Error whose `code` is set by
 * native/binding/js_errors.cc) into a WhisperError with the same code and
 * message; with a call site, the stack is the caller's. Anything that is not a
 * native error is returned unchanged.
 */
export function fromNativeError(error: unknown, site?: CallSite): unknown {
  if (error instanceof WhisperError || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (!isKnownCode(code)) return error;
  const wrapped = new WhisperError(code, error.message);
  if (site) {
    // The first line of `site.stack` is "Error"; keep only the frames.
    const frames = site.stack.split('\n').slice(1).join('\n');
    wrapped.stack = `${wrapped.name} [${code}]: ${error.message}\n${frames}`;
  }
  return wrapped;
}

/** Runs a synchronous native call, rethrowing its errors as WhisperError. */
export function callNative<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw fromNativeError(error);
  }
}
