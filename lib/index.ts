// The public entry point of whisper-native.
export { loadModel, WhisperModel } from './model.js';
export { WhisperError, ERROR_CODES, type WhisperErrorCode } from './errors.js';
export { readWavFile, parseWav, type WavAudio } from './wav.js';
export { supportedIsas } from './isa.js';
export {
  LOAD_DEFAULTS,
  TRANSCRIBE_DEFAULTS,
  type LoadOptions,
  type TranscribeOptions,
  type DecodingOptions,
  type TranscriptionResult,
  type Segment,
  type Token,
  type Samples,
  type ModelInfo,
  type ModelHParams,
} from './options.js';
