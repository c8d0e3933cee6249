// A WAV (RIFF) reader for the CLI and for callers with WAV files: walks the
// chunks, reads 16-bit PCM or 32-bit float samples. Only 16 kHz mono is
// accepted for now (resampling and channel mixing come later); anything else is
// a WhisperError that says what the file is and what is needed.
import { readFile } from 'node:fs/promises';
import { WhisperError } from './errors.js';

export interface WavAudio {
  /** Int16Array for 16-bit PCM files, Float32Array for 32-bit float files. */
  samples: Int16Array | Float32Array;
  sampleRate: number;
  channels: number;
  /** Seconds. */
  duration: number;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
const REQUIRED_RATE = 16000;

interface Format {
  tag: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
}

function invalid(message: string): WhisperError {
  return new WhisperError('ERR_INVALID_AUDIO', `Invalid WAV file: ${message}`);
}

function fourcc(view: DataView, offset: number): string {
  return String.fromCharCode(
    view.getUint8(offset),
    view.getUint8(offset + 1),
    view.getUint8(offset + 2),
    view.getUint8(offset + 3),
  );
}

function parseFormat(view: DataView, offset: number, size: number): Format {
  if (size < 16) throw invalid(`the fmt chunk has ${size} bytes, expected at least 16`);
  let tag = view.getUint16(offset, true);
  // WAVE_FORMAT_EXTENSIBLE keeps the real format in the first two bytes of
  // its sub-format GUID (24 bytes into the chunk).
  if (tag === WAVE_FORMAT_EXTENSIBLE && size >= 26) tag = view.getUint16(offset + 24, true);
  return {
    tag,
    channels: view.getUint16(offset + 2, true),
    sampleRate: view.getUint32(offset + 4, true),
    bitsPerSample: view.getUint16(offset + 14, true),
  };
}

function describeFormat(f: Format): string {
  const kind =
    f.tag === WAVE_FORMAT_PCM
      ? `${f.bitsPerSample}-bit PCM`
      : f.tag === WAVE_FORMAT_IEEE_FLOAT
        ? `${f.bitsPerSample}-bit float`
        : `format tag ${f.tag}`;
  return `${kind}, ${f.sampleRate} Hz, ${f.channels} channel${f.channels === 1 ? '' : 's'}`;
}

function checkSupported(f: Format): void {
  const sampleType =
    (f.tag === WAVE_FORMAT_PCM && f.bitsPerSample === 16) ||
    (f.tag === WAVE_FORMAT_IEEE_FLOAT && f.bitsPerSample === 32);
  if (!sampleType || f.channels !== 1 || f.sampleRate !== REQUIRED_RATE) {
    throw new WhisperError(
      'ERR_UNSUPPORTED_AUDIO',
      `Unsupported WAV format: ${describeFormat(f)}. whisper-native reads 16-bit PCM or ` +
        '32-bit float WAV at 16000 Hz, 1 channel for now; convert with e.g. ' +
        '`ffmpeg -i in.wav -ar 16000 -ac 1 -c:a pcm_s16le out.wav`',
    );
  }
}

/** Parses a WAV file's bytes. Throws WhisperError ERR_INVALID_AUDIO / ERR_UNSUPPORTED_AUDIO. */
export function parseWav(bytes: Uint8Array): WavAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12 || fourcc(view, 0) !== 'RIFF' || fourcc(view, 8) !== 'WAVE') {
    throw invalid('no RIFF/WAVE header');
  }
  let format: Format | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.byteLength) {
    const id = fourcc(view, offset);
    const declared = view.getUint32(offset + 4, true);
    const body = offset + 8;
    // Streaming writers leave the data size at 0 or 0xFFFFFFFF, and truncated
    // files are common: the data chunk takes what is there.
    const available = bytes.byteLength - body;
    if (id === 'fmt ') {
      if (declared > available) throw invalid('the fmt chunk runs past the end of the file');
      format = parseFormat(view, body, declared);
    } else if (id === 'data') {
      if (!format) throw invalid('the data chunk comes before the fmt chunk');
      checkSupported(format);
      const size = declared === 0 || declared > available ? available : declared;
      return decodeSamples(view, body, size, format);
    }
    offset = body + declared + (declared % 2); // chunks are padded to an even size
  }
  throw invalid(format ? 'no data chunk' : 'no fmt chunk');
}

function decodeSamples(view: DataView, offset: number, size: number, f: Format): WavAudio {
  // Copied out with explicit little-endian reads: the data may sit at an odd
  // offset, and the caller's buffer may be reused.
  let samples: Int16Array | Float32Array;
  if (f.tag === WAVE_FORMAT_PCM) {
    samples = new Int16Array(Math.floor(size / 2));
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(offset + 2 * i, true);
  } else {
    samples = new Float32Array(Math.floor(size / 4));
    for (let i = 0; i < samples.length; i++) samples[i] = view.getFloat32(offset + 4 * i, true);
  }
  return {
    samples,
    sampleRate: f.sampleRate,
    channels: f.channels,
    duration: samples.length / f.sampleRate,
  };
}

/** Reads and parses a WAV file. */
export async function readWavFile(path: string): Promise<WavAudio> {
  return parseWav(await readFile(path));
}
