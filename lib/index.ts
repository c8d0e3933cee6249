// The public entry point of whisper-native.
export { loadModel, WhisperModel } from './model.js';
export { WhisperError, ERROR_CODES, type WhisperErrorCode } from './errors.js';
export { readWavFile, parseWav, type WavAudio, type WavEncoding } from './wav.js';
export { supportedIsas } from './isa.js';
export {
  LOAD_DEFAULTS,
  TRANSCRIBE_DEFAULTS,
  type LoadOptions,
  type TranscribeOptions,
  type DecodingOptions,
  type TranscriptionResult,
  type TranscriptionTimings,
  type Segment,
  type Token,
  type LanguageProbability,
  type Word,
  type Samples,
  type ModelInfo,
  type ModelHParams,
} from './options.js';
export { toSrt, toVtt, toJson, toText, toCsv } from './subtitles.js';
export type {
  SubtitleInput,
  SubtitleSegment,
  SubtitleWord,
  SubtitleToken,
  CueOptions,
  JsonOptions,
} from './subtitles.js';
export { readAudioFile, readAudioInput } from './audio-file.js';
export type { AudioData, ReadAudioOptions } from './audio-file.js';
export { resample, downmix, toWhisperInput, Resampler, WHISPER_SAMPLE_RATE } from './resample.js';
export {
  downloadModel,
  resolveModel,
  defaultCacheDir,
  MODELS,
  DEFAULT_BASE_URL,
} from './download.js';
export type { DownloadOptions, DownloadProgress, ModelEntry } from './download.js';
