// The CLI's exit codes, and which failure maps to which. Scripts can branch on
// them: each names what went wrong, not where in the code it was noticed.
import { WhisperError, type WhisperErrorCode } from './errors.js';

export const EXIT = {
  /** Everything asked for was done. */
  OK: 0,
  /** Any other failure (a bug, out of memory, an output file that cannot be written). */
  FAILURE: 1,
  /** Bad usage: unknown command or option, a missing or invalid value. */
  USAGE: 2,
  /** The model: not found, not downloaded, unknown name, or not a valid model file. */
  MODEL: 3,
  /**
   * An input file: missing, unreadable or undecodable (ffmpeg missing included),
   * or audio the model refuses (NaN samples); the other files are still transcribed.
   */
  INPUT: 4,
  /** A model download failed: network, HTTP status or checksum. */
  DOWNLOAD: 5,
  /** Interrupted (Ctrl-C): 128 + SIGINT, as a shell reports a process the signal killed. */
  INTERRUPTED: 130,
  /**
   * stdout's reader went away (`| head`): 128 + SIGPIPE, what a shell reports
   * for the other tools of a pipeline, which that signal kills. Node ignores
   * it, so the CLI sees EPIPE and exits with this code, without a message.
   */
  BROKEN_PIPE: 141,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure with the exit code it should end the process with. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

/** A command line that cannot be run as given: printed with the command's usage. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(EXIT.USAGE, message);
  }
}

const CODE_EXITS: Partial<Record<WhisperErrorCode, ExitCode>> = {
  ERR_MODEL_NOT_FOUND: EXIT.MODEL,
  ERR_MODEL_FORMAT: EXIT.MODEL,
  ERR_MODEL_TRUNCATED: EXIT.MODEL,
  ERR_MODEL_CHANGED: EXIT.MODEL,
  ERR_UNSUPPORTED_TENSOR_TYPE: EXIT.MODEL,
  ERR_UNKNOWN_MODEL: EXIT.MODEL,
  ERR_INVALID_AUDIO: EXIT.INPUT,
  ERR_UNSUPPORTED_AUDIO: EXIT.INPUT,
  ERR_FFMPEG_NOT_FOUND: EXIT.INPUT,
  ERR_DOWNLOAD_HTTP: EXIT.DOWNLOAD,
  ERR_DOWNLOAD_REDIRECT: EXIT.DOWNLOAD,
  ERR_DOWNLOAD_NETWORK: EXIT.DOWNLOAD,
  ERR_DOWNLOAD_CHECKSUM: EXIT.DOWNLOAD,
  // Every option value comes from a flag: a value the API refuses is bad usage.
  ERR_INVALID_ARG_VALUE: EXIT.USAGE,
  ERR_INVALID_ARG_TYPE: EXIT.USAGE,
};

/** stdout failed: EPIPE (its reader closed the pipe) or another write error. */
export class StdoutError extends CliError {
  constructor(cause: NodeJS.ErrnoException) {
    const closed = cause.code === 'EPIPE';
    super(
      closed ? EXIT.BROKEN_PIPE : EXIT.FAILURE,
      closed ? 'stdout was closed' : `cannot write to stdout: ${cause.message}`,
    );
  }
}

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof WhisperError) return CODE_EXITS[error.code] ?? EXIT.FAILURE;
  if (error instanceof Error && error.name === 'AbortError') return EXIT.INTERRUPTED;
  return EXIT.FAILURE;
}

/** The one-line message printed after "whisper-native: ". */
export function describeError(error: unknown): string {
  if (error instanceof WhisperError) return `${error.message} [${error.code}]`;
  if (error instanceof Error) return error.message;
  return String(error);
}
