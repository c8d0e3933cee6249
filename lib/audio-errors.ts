// The error that reading an audio file throws. A stand-in until the package's
// WhisperError (errors.ts) takes these codes; callers should test `code`, not
// the class.

export type AudioFileErrorCode =
  /** The file is not audio we can decode: malformed, truncated or of an unsupported kind. */
  | 'ERR_AUDIO_FORMAT'
  /** The file needs ffmpeg to decode and there is no ffmpeg on PATH. */
  | 'ERR_FFMPEG_NOT_FOUND';

export class AudioFileError extends Error {
  readonly code: AudioFileErrorCode;

  constructor(code: AudioFileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
// On the prototype, so printed errors read "AudioFileError: message".
Object.defineProperty(AudioFileError.prototype, 'name', {
  value: 'AudioFileError',
  writable: true,
  configurable: true,
});
