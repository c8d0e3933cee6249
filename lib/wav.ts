// The WAV reader: decodes a WAV file held in memory into mono float samples
// (decodeWav, at the file's own rate) and into the model's input, 16 kHz mono
// (parseWav); the file readers (readWavFile, readAudioFile) stream a file on
// disk by the same rules to the same bits (readWavStreaming), a slice at a
// time. It reads RIFF, RF64 and BW64 containers; integer
// PCM of 8 (unsigned), 16, 24 and 32 bits (also narrower valid bits in those
// containers), 32- and 64-bit float, A-law and mu-law; plain or
// WAVE_FORMAT_EXTENSIBLE headers; any channel count and any rate from 1 kHz
// to 768 kHz (channels are averaged, other rates resampled by resample.ts).
// Every size and offset read from the file is checked against the bytes that
// are there: a malformed or truncated file is an ERR_INVALID_AUDIO, a codec it
// does not read (ADPCM, MP3 in WAV, ...) or a rate above 768 kHz an
// ERR_UNSUPPORTED_AUDIO, which readAudioFile hands to ffmpeg.
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { AudioData } from './audio-file.js';
import { WhisperError } from './errors.js';
import { yieldToEventLoop } from './event-loop.js';
import { WHISPER_SAMPLE_RATE, checkRate, filterFor, resample } from './resample.js';
import { bindingIfLoadable } from './binding.js';
import { SliceResampler } from './resample-native.js';

export interface DecodedWav {
  /** Mono: the channels of each frame averaged, in [-1, 1] for integer formats. */
  samples: Float32Array;
  sampleRate: number;
  /** Channels in the file (before the down-mix). */
  channels: number;
  encoding: WavEncoding;
  /** As WavAudio's source.bitsPerSample: an extensible header's valid bits. */
  bitsPerSample: number;
}

const FORMAT_PCM = 0x0001;
const FORMAT_IEEE_FLOAT = 0x0003;
const FORMAT_ALAW = 0x0006;
const FORMAT_MULAW = 0x0007;
const FORMAT_EXTENSIBLE = 0xfffe;
/** Bytes 2..15 of every KSDATAFORMAT_SUBTYPE GUID derived from a format tag. */
const SUBTYPE_GUID_TAIL = [
  0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];
/** A 32-bit size field that means "see the ds64 chunk" (RF64) or "unknown" (streamed). */
const SIZE_UNKNOWN = 0xffffffff;
/**
 * The sample rates read in-process. Below 1 kHz no audio worth transcribing
 * fits (speech needs 8 kHz), so a lower rate is a broken header, refused as
 * malformed rather than handed to ffmpeg: ffmpeg would upsample it to 16 kHz,
 * and a 2 MB file at 1 Hz streams 64 GB of samples. Above 768 kHz (the highest
 * rate audio hardware records) building the resampler's filter table on the
 * JS thread grows with the rate (~0.3 s for an odd rate just under 768 kHz,
 * 3.5 s and 150 MB near 10 MHz): those files go to ffmpeg, which downsamples
 * them in bounded memory or refuses them.
 */
const MIN_SAMPLE_RATE = 1000;
const MAX_SAMPLE_RATE = 768_000;

/** How one sample reads, and the addon's number for the same codec (native/engine/audio/pcm.h). */
interface SampleCodec {
  read: (view: DataView, at: number) => number;
  native: number;
}

/** Codecs by format tag, then by bytes per sample. */
const PCM_CODECS: Record<number, Record<number, SampleCodec>> = {
  [FORMAT_PCM]: {
    1: { native: 0, read: (view, at) => (view.getUint8(at) - 128) / 128 },
    2: { native: 1, read: (view, at) => view.getInt16(at, true) / 32768 },
    3: {
      native: 2,
      read: (view, at) =>
        ((view.getUint8(at + 2) << 24) | (view.getUint16(at, true) << 8)) / 2147483648,
    },
    4: { native: 3, read: (view, at) => view.getInt32(at, true) / 2147483648 },
  },
  [FORMAT_IEEE_FLOAT]: {
    4: { native: 4, read: (view, at) => view.getFloat32(at, true) },
    8: { native: 5, read: (view, at) => view.getFloat64(at, true) },
  },
  [FORMAT_ALAW]: { 1: { native: 6, read: (view, at) => decodeAlaw(view.getUint8(at)) } },
  [FORMAT_MULAW]: { 1: { native: 7, read: (view, at) => decodeMulaw(view.getUint8(at)) } },
};

const FORMAT_NAMES: Record<number, string> = {
  [FORMAT_PCM]: 'integer PCM',
  [FORMAT_IEEE_FLOAT]: 'IEEE float',
  [FORMAT_ALAW]: 'A-law',
  [FORMAT_MULAW]: 'mu-law',
  0x0002: 'Microsoft ADPCM',
  0x0011: 'IMA ADPCM',
  0x0055: 'MPEG layer 3',
};

/** Sample encodings a WAV file can hold that this reader decodes. */
export type WavEncoding = 'pcm' | 'float' | 'alaw' | 'mulaw';

const ENCODINGS: Record<number, WavEncoding> = {
  [FORMAT_PCM]: 'pcm',
  [FORMAT_IEEE_FLOAT]: 'float',
  [FORMAT_ALAW]: 'alaw',
  [FORMAT_MULAW]: 'mulaw',
};

/** G.711 A-law byte to a sample in [-1, 1]. */
function decodeAlaw(byte: number): number {
  const value = byte ^ 0x55;
  const exponent = (value >> 4) & 0x07;
  const mantissa = value & 0x0f;
  const magnitude =
    exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return ((value & 0x80) !== 0 ? magnitude : -magnitude) / 32768;
}

/** G.711 mu-law byte to a sample in [-1, 1]. */
function decodeMulaw(byte: number): number {
  const value = ~byte & 0xff;
  const exponent = (value >> 4) & 0x07;
  const mantissa = value & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return ((value & 0x80) !== 0 ? -magnitude : magnitude) / 32768;
}

/** A codec this decoder does not read (ffmpeg may): readAudioFile tries ffmpeg on this code. */
function unsupportedCodec(message: string): WhisperError {
  return new WhisperError('ERR_UNSUPPORTED_AUDIO', message);
}

function malformed(what: string): WhisperError {
  return new WhisperError('ERR_INVALID_AUDIO', `Invalid WAV file: ${what}`);
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

/** True when the bytes begin like a WAV file (RIFF, RF64 or BW64 holding WAVE). */
export function looksLikeWav(head: Uint8Array): boolean {
  if (head.length < 12) return false;
  const container = fourcc(head, 0);
  return (
    (container === 'RIFF' || container === 'RF64' || container === 'BW64') &&
    fourcc(head, 8) === 'WAVE'
  );
}

interface WavFormat {
  tag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  /** The container's bits per sample, which fix the sample's size. */
  bitsPerSample: number;
  /** The bits that carry the signal: an extensible header's valid bits when set, else bitsPerSample. */
  validBits: number;
}

/**
 * Checked before anything else in the fmt chunk: every file refused as
 * unsupported goes to ffmpeg, which must not get one at an absurdly low rate
 * (see MIN_SAMPLE_RATE).
 */
function checkSampleRate(rate: number): void {
  if (rate === 0) throw malformed('the fmt chunk declares a sample rate of 0');
  if (rate < MIN_SAMPLE_RATE) {
    throw malformed(
      `the fmt chunk declares a sample rate of ${rate} Hz, below ${MIN_SAMPLE_RATE} Hz`,
    );
  }
  if (rate > MAX_SAMPLE_RATE) {
    throw unsupportedCodec(
      `WAV at ${rate} Hz is not supported; rates from ${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE} Hz are`,
    );
  }
}

function parseFormatChunk(view: DataView, at: number, size: number): WavFormat {
  if (size < 16) throw malformed(`the fmt chunk has ${size} bytes, expected at least 16`);
  const format: WavFormat = {
    tag: view.getUint16(at, true),
    channels: view.getUint16(at + 2, true),
    sampleRate: view.getUint32(at + 4, true),
    blockAlign: view.getUint16(at + 12, true),
    bitsPerSample: view.getUint16(at + 14, true),
    validBits: view.getUint16(at + 14, true),
  };
  checkSampleRate(format.sampleRate);
  if (format.tag === FORMAT_EXTENSIBLE) {
    // cbSize (2 bytes), valid bits (2), channel mask (4), then the sub-format GUID (16).
    if (size < 40)
      throw malformed(`the WAVE_FORMAT_EXTENSIBLE fmt chunk has ${size} bytes, expected 40`);
    const guid = new Uint8Array(view.buffer, view.byteOffset + at + 24, 16);
    if (SUBTYPE_GUID_TAIL.some((byte, i) => guid[i + 2] !== byte)) {
      throw unsupportedCodec(
        'WAVE_FORMAT_EXTENSIBLE file with a sub-format GUID that is not PCM-derived',
      );
    }
    format.tag = view.getUint16(at + 24, true);
    // wValidBitsPerSample: 0 means "not given", and more bits than the
    // container holds is a writer's mistake; both leave the container's bits.
    const validBits = view.getUint16(at + 18, true);
    if (validBits !== 0 && validBits <= format.bitsPerSample) format.validBits = validBits;
  }
  return format;
}

/** Checks the format and returns how its samples read. */
function sampleCodec(format: WavFormat): SampleCodec {
  const { tag, channels, blockAlign, bitsPerSample } = format;
  const codecs = PCM_CODECS[tag];
  if (codecs === undefined) {
    const name = FORMAT_NAMES[tag] ?? 'unknown format';
    throw unsupportedCodec(
      `WAV format tag 0x${tag.toString(16).padStart(4, '0')} (${name}) is not supported; ` +
        'integer PCM, IEEE float, A-law and mu-law are',
    );
  }
  if (channels === 0) throw malformed('the fmt chunk declares 0 channels');
  const bytesPerSample = blockAlign / channels;
  const codec = codecs[bytesPerSample];
  if (!Number.isInteger(bytesPerSample) || codec === undefined) {
    throw unsupportedCodec(
      `${FORMAT_NAMES[tag]} WAV with a block of ${blockAlign} bytes for ${channels} channel(s) is not ` +
        `supported; expected ${Object.keys(codecs).join(', ')} byte(s) per sample`,
    );
  }
  if (bitsPerSample === 0 || Math.ceil(bitsPerSample / 8) !== bytesPerSample) {
    throw malformed(`${bitsPerSample} bits per sample do not fit ${bytesPerSample}-byte samples`);
  }
  return codec;
}

/** The fmt chunk, where the data chunk's bytes are, and whether its size was unknown (streamed file). */
interface WavChunks {
  format: WavFormat;
  /** Byte offset of the data chunk's body in the file. */
  dataAt: number;
  /** Bytes of the data chunk that the file holds. */
  dataSize: number;
  streamed: boolean;
}

/** The data size that RF64's ds64 chunk declares (offset 8 of its body). */
function ds64DataSize(view: DataView, at: number, size: number): number {
  if (size < 24) throw malformed(`the ds64 chunk has ${size} bytes, expected at least 24`);
  const value = view.getBigUint64(at + 8, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw malformed(`the ds64 data size ${value} is too large`);
  return Number(value);
}

/** Bytes `length` bytes at byte `at` of the file: what walkChunks asks its driver for. */
interface ByteRequest {
  at: number;
  length: number;
}

/** Bytes of a fmt chunk's body that parseFormatChunk reads (an extensible header's). */
const FORMAT_BODY_BYTES = 40;
/** Bytes of a ds64 chunk's body that ds64DataSize reads. */
const DS64_BODY_BYTES = 24;

/**
 * Walks the chunks after the 12-byte header of a file of `fileLength` bytes,
 * checking each against that length. It reads no bytes itself: it yields the
 * ranges it needs (a chunk header, the start of a fmt or ds64 body, always
 * within the file) and is resumed with them, so that parseWav walks bytes in
 * memory and the file readers a file with positioned reads, by the same rules.
 */
function* walkChunks(fileLength: number): Generator<ByteRequest, WavChunks, Uint8Array> {
  let format: WavFormat | undefined;
  let dataAt: number | undefined;
  let dataSize = 0;
  let streamed = false;
  let rf64DataSize: number | undefined;
  let at = 12;
  while (format === undefined || dataAt === undefined) {
    if (at + 8 > fileLength) {
      const missing = format === undefined ? 'fmt' : 'data';
      throw malformed(`the file ends after ${fileLength} bytes, before a ${missing} chunk`);
    }
    const header = yield { at, length: 8 };
    const id = fourcc(header, 0);
    let size = new DataView(header.buffer, header.byteOffset, 8).getUint32(4, true);
    const body = at + 8;
    const available = fileLength - body;
    if (id === 'data') {
      if (size === SIZE_UNKNOWN && rf64DataSize !== undefined) {
        size = rf64DataSize;
      } else if (size === SIZE_UNKNOWN) {
        // Written by a tool that could not seek back to fill in the size: the data runs to the end.
        size = available;
        streamed = true;
      }
      if (size > available) {
        throw malformed(
          `truncated: the data chunk at byte ${at} declares ${size} bytes but only ${available} follow`,
        );
      }
      dataAt = body;
      dataSize = size;
    } else {
      if (size > available) {
        throw malformed(
          `truncated: the ${JSON.stringify(id)} chunk at byte ${at} declares ${size} bytes but only ${available} follow`,
        );
      }
      if (id === 'fmt ' || id === 'ds64') {
        const wanted = Math.min(size, id === 'fmt ' ? FORMAT_BODY_BYTES : DS64_BODY_BYTES);
        const bytes = yield { at: body, length: wanted };
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (id === 'fmt ') format = parseFormatChunk(view, 0, size);
        else rf64DataSize = ds64DataSize(view, 0, size);
      }
    }
    at = body + size + (size % 2); // chunks are padded to an even length
  }
  return { format, dataAt, dataSize, streamed };
}

/** walkChunks over bytes in memory. */
function findChunks(bytes: Uint8Array): WavChunks {
  const walk = walkChunks(bytes.length);
  for (let step = walk.next(); ;) {
    if (step.done === true) return step.value;
    const { at, length } = step.value;
    step = walk.next(bytes.subarray(at, at + length));
  }
}

/** A WAV file's header read and checked: what decoding its frames needs. */
interface WavHeader {
  format: WavFormat;
  codec: SampleCodec;
  /** Where the data chunk's body starts in the file, and its bytes there. */
  dataAt: number;
  dataSize: number;
  frames: number;
  bytesPerSample: number;
}

/** A WAV file in memory: its header and the data chunk's bytes. */
interface WavLayout extends WavHeader {
  data: Uint8Array;
}

/** The header's checks on the chunks walkChunks found. */
function wavHeader(chunks: WavChunks): WavHeader {
  const { format, dataAt, dataSize, streamed } = chunks;
  const codec = sampleCodec(format);
  const { channels, blockAlign } = format;
  if (dataSize % blockAlign !== 0 && !streamed) {
    throw malformed(
      `the data chunk has ${dataSize} bytes, not a whole number of ${blockAlign}-byte frames`,
    );
  }
  return {
    format,
    codec,
    dataAt,
    dataSize,
    // A streamed file cut mid-frame keeps its whole frames.
    frames: Math.floor(dataSize / blockAlign),
    bytesPerSample: blockAlign / channels,
  };
}

function wavLayout(file: Uint8Array): WavLayout {
  // The data chunk is a view of these bytes, which the addon takes as a
  // Uint8Array; plain JavaScript may hand parseWav another byte array (a
  // Uint8ClampedArray): a Uint8Array view of the same bytes, made once.
  const view: ArrayBufferView = file;
  const bytes =
    view instanceof Uint8Array
      ? view
      : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (!looksLikeWav(bytes)) throw malformed('it does not start with a RIFF/RF64 WAVE header');
  const chunks = findChunks(bytes);
  const header = wavHeader(chunks);
  return {
    ...header,
    data: bytes.subarray(chunks.dataAt, chunks.dataAt + chunks.dataSize),
  };
}

/**
 * Frames [from, to) of `data` (the data chunk, or a slice of it starting at a
 * frame), each one's channels averaged, into samples[from, to): by the addon
 * when it loads (native/engine/audio/pcm.h: ~5x faster, and a hot loop here
 * wakes V8's optimizing compiler, ~4 MB of resident memory), else by
 * decodeFramesInJs, which gives the same bits.
 */
function decodeFrames(
  layout: WavHeader,
  data: Uint8Array,
  samples: Float32Array,
  from: number,
  to: number,
): void {
  const native = bindingIfLoadable();
  if (native === undefined) {
    decodeFramesInJs(layout, data, samples, from, to);
    return;
  }
  const { codec, format } = layout;
  native.decodePcmFrames(data, codec.native, format.channels, from, samples.subarray(from, to));
}

function decodeFramesInJs(
  layout: WavHeader,
  data: Uint8Array,
  samples: Float32Array,
  from: number,
  to: number,
): void {
  const { codec, bytesPerSample } = layout;
  const { channels } = layout.format;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const read = codec.read;
  for (let frame = from, at = from * channels * bytesPerSample; frame < to; frame++) {
    let sum = 0;
    for (let c = 0; c < channels; c++, at += bytesPerSample) sum += read(view, at);
    samples[frame] = sum / channels;
  }
}

function decoded(layout: WavHeader, samples: Float32Array): DecodedWav {
  const { format } = layout;
  return {
    samples,
    sampleRate: format.sampleRate,
    channels: format.channels,
    encoding: ENCODINGS[format.tag]!,
    bitsPerSample: format.validBits,
  };
}

/** Decodes a whole WAV file: see the file comment for what it reads. */
export function decodeWav(bytes: Uint8Array): DecodedWav {
  const layout = wavLayout(bytes);
  const samples = new Float32Array(layout.frames);
  decodeFrames(layout, layout.data, samples, 0, layout.frames);
  return decoded(layout, samples);
}

/** A WAV file read as the model's input, with what the file held. */
export interface WavAudio extends AudioData {
  /** The file's own format, before the down-mix and resampling. */
  source: {
    /** Samples per second per channel in the file. */
    sampleRate: number;
    /** Channels in the file (they are averaged). */
    channels: number;
    /** How each sample is stored. */
    encoding: WavEncoding;
    /**
     * Bits of each stored sample; for a WAVE_FORMAT_EXTENSIBLE header, its
     * valid bits when it gives them (24 for 24-bit samples in 32-bit containers).
     */
    bitsPerSample: number;
  };
}

/**
 * Decodes WAV bytes into 16 kHz mono samples (down-mixed and resampled as
 * needed). Throws a WhisperError: `ERR_INVALID_AUDIO` for a malformed or
 * truncated file (a sample rate below 1000 Hz included), `ERR_UNSUPPORTED_AUDIO`
 * for a codec it does not read or a rate above 768000 Hz (readAudioFile
 * decodes those with ffmpeg).
 */
export function parseWav(bytes: Uint8Array): WavAudio {
  const wav = decodeWav(bytes);
  // At 16 kHz the decoded samples are the result (resample() would copy them).
  const samples =
    wav.sampleRate === WHISPER_SAMPLE_RATE
      ? wav.samples
      : resample(wav.samples, wav.sampleRate, WHISPER_SAMPLE_RATE);
  return wavAudio(wav, samples);
}

function wavAudio(wav: DecodedWav, samples: Float32Array): WavAudio {
  return {
    samples,
    sampleRate: WHISPER_SAMPLE_RATE,
    duration: samples.length / WHISPER_SAMPLE_RATE,
    source: {
      sampleRate: wav.sampleRate,
      channels: wav.channels,
      encoding: wav.encoding,
      bitsPerSample: wav.bitsPerSample,
    },
  };
}

/**
 * Bytes of the data chunk read per slice by the file readers (fewer when
 * that is more than DECODE_SLICE_SAMPLES samples; at least one frame): the
 * readers hold the output plus one slice, never the file.
 */
const READ_SLICE_BYTES = 1 << 20;
/**
 * Samples decoded per slice, after which the readers let the event loop run:
 * ~0.3 ms of work for the addon here (plus faulting in the slice's new pages,
 * ~1 ms), ~2-4 ms for the JS loop.
 */
const DECODE_SLICE_SAMPLES = 1 << 19;
/** How the file readers stream a WAV file. */
export interface WavStreamOptions {
  /** Stops the read; it rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Bytes read per slice (tests); default READ_SLICE_BYTES. */
  sliceBytes?: number;
}

/**
 * What the streaming reader reads: an open file (a FileHandle is one), or
 * bytes already in memory (a pipe's, which has no positions to read at).
 */
interface ByteSource {
  read(
    target: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }>;
  stat(): Promise<{ size: number }>;
}

function memorySource(bytes: Uint8Array): ByteSource {
  return {
    read: (target, offset, length, position) => {
      const part = bytes.subarray(
        Math.min(position, bytes.length),
        Math.min(position + length, bytes.length),
      );
      target.set(part, offset);
      return Promise.resolve({ bytesRead: part.length });
    },
    stat: () => Promise.resolve({ size: bytes.length }),
  };
}

/**
 * Reads bytes [at, at + target.length) of the file into target, as many
 * calls as it takes; returns how many there were (fewer at the end of the file).
 */
async function readAt(handle: ByteSource, target: Uint8Array, at: number): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, at + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** An open WAV file's header, read and checked with positioned reads: wavLayout's rules. */
async function readWavHeader(handle: ByteSource): Promise<WavHeader> {
  const fileLength = (await handle.stat()).size;
  const head = new Uint8Array(12);
  const headLength = await readAt(handle, head, 0);
  if (!looksLikeWav(head.subarray(0, headLength))) {
    throw malformed('it does not start with a RIFF/RF64 WAVE header');
  }
  const walk = walkChunks(fileLength);
  for (let step = walk.next(); ;) {
    if (step.done === true) return wavHeader(step.value);
    const { at, length } = step.value;
    const bytes = new Uint8Array(length);
    const got = await readAt(handle, bytes, at);
    if (got < length) {
      // The file shrank after its size was read.
      throw malformed(`truncated: the file ends after ${at + got} bytes, inside a chunk header`);
    }
    step = walk.next(bytes);
  }
}

/**
 * Reads the data chunk's frames [from, from + frames) into `into` (which
 * holds at least frames * blockAlign bytes); a file cut short is truncated.
 */
async function readFrames(
  handle: ByteSource,
  header: WavHeader,
  from: number,
  frames: number,
  into: Uint8Array,
): Promise<Uint8Array> {
  const { blockAlign } = header.format;
  const bytes = into.subarray(0, frames * blockAlign);
  const got = await readAt(handle, bytes, header.dataAt + from * blockAlign);
  if (got < bytes.length) {
    const available = from * blockAlign + got;
    throw malformed(
      `truncated: the data chunk at byte ${header.dataAt - 8} declares ` +
        `${header.dataSize} bytes but only ${available} follow`,
    );
  }
  return bytes;
}

/** Frames per slice: about `sliceBytes` bytes and at most DECODE_SLICE_SAMPLES samples. */
function framesPerSlice(header: WavHeader, sliceBytes: number): number {
  const bytes = Math.min(sliceBytes, DECODE_SLICE_SAMPLES * header.bytesPerSample);
  return Math.max(1, Math.floor(bytes / header.format.blockAlign));
}

/**
 * Decodes an open WAV file into 16 kHz mono samples, streaming: the data
 * chunk is read a slice at a time with positioned reads, each slice decoded
 * (decodeFrames: the same bits as decodeWav) and fed to the resampler, and
 * the event loop runs between slices. Memory: the output plus a slice.
 * parseWav's result for the file's bytes, bit for bit.
 */
async function streamWav(
  handle: ByteSource,
  header: WavHeader,
  options: WavStreamOptions,
): Promise<WavAudio> {
  const { signal } = options;
  const { format, frames } = header;
  const perSlice = framesPerSlice(header, options.sliceBytes ?? READ_SLICE_BYTES);
  const bytes = new Uint8Array(Math.min(frames, perSlice) * format.blockAlign);
  const sameRate = format.sampleRate === WHISPER_SAMPLE_RATE;
  checkRate(format.sampleRate, 'inputRate');
  const filter = sameRate ? undefined : filterFor(format.sampleRate, WHISPER_SAMPLE_RATE);
  const out = new Float32Array(filter === undefined ? frames : filter.outputLength(frames));
  const resampler = filter === undefined ? undefined : new SliceResampler(filter, out);
  const decodedSlice =
    filter === undefined ? undefined : new Float32Array(Math.min(frames, perSlice));
  for (let from = 0; from < frames; from += perSlice) {
    const count = Math.min(perSlice, frames - from);
    const data = await readFrames(handle, header, from, count, bytes);
    if (decodedSlice === undefined) {
      // At 16 kHz the decoded samples are the result: decode them in place.
      decodeFrames(header, data, out.subarray(from, from + count), 0, count);
    } else {
      const samples = decodedSlice.subarray(0, count);
      decodeFrames(header, data, samples, 0, count);
      await resampler!.push(samples, signal);
    }
    await yieldToEventLoop(signal);
  }
  await resampler?.finish(signal);
  return wavAudio(decoded(header, out), out);
}

/**
 * The file's samples as they are when it already holds the model's input,
 * 16 kHz mono 16-bit PCM, read straight into an Int16Array's bytes in slices
 * (swapped to the host's order on a big-endian one), else undefined. For the
 * CLI: the model widens int16 samples as it reads them, so they take half the
 * memory of floats for the whole transcription.
 */
async function streamInt16(
  handle: ByteSource,
  header: WavHeader,
  options: WavStreamOptions,
): Promise<Int16Array | undefined> {
  const { format, frames } = header;
  if (format.tag !== FORMAT_PCM || format.channels !== 1 || header.bytesPerSample !== 2) {
    return undefined;
  }
  if (format.sampleRate !== WHISPER_SAMPLE_RATE) return undefined;
  const { signal } = options;
  const samples = new Int16Array(frames);
  const bytes = new Uint8Array(samples.buffer);
  const littleEndian = endianness() === 'LE';
  const perSlice = Math.max(1, Math.floor((options.sliceBytes ?? READ_SLICE_BYTES) / 2));
  for (let from = 0; from < frames; from += perSlice) {
    const count = Math.min(perSlice, frames - from);
    await readFrames(handle, header, from, count, bytes.subarray(2 * from));
    if (!littleEndian) {
      const view = new DataView(samples.buffer, 2 * from, 2 * count);
      for (let i = 0; i < count; i++) samples[from + i] = view.getInt16(2 * i, true);
    }
    await yieldToEventLoop(signal);
  }
  return samples;
}

/**
 * Reads a WAV file as the file readers do, streaming it (see streamWav): from
 * its path, or from its bytes already in memory (what the file readers read
 * from a pipe), the same decoding and resampling in slices either way. With
 * `int16`, a 16 kHz mono 16-bit file comes back as its Int16Array samples.
 * The errors of parseWav on the file's bytes (a file cut short while it is
 * read is truncated, an ERR_INVALID_AUDIO); file-system errors pass through.
 */
export async function readWavStreaming(
  from: string | Uint8Array,
  options: WavStreamOptions & { int16: true },
): Promise<WavAudio | Int16Array>;
export async function readWavStreaming(
  from: string | Uint8Array,
  options?: WavStreamOptions & { int16?: false },
): Promise<WavAudio>;
export async function readWavStreaming(
  from: string | Uint8Array,
  options?: WavStreamOptions & { int16?: boolean },
): Promise<WavAudio | Int16Array>;
export async function readWavStreaming(
  from: string | Uint8Array,
  options: WavStreamOptions & { int16?: boolean } = {},
): Promise<WavAudio | Int16Array> {
  options.signal?.throwIfAborted();
  if (typeof from !== 'string') return readWavFrom(memorySource(from), options);
  const handle = await open(from, 'r');
  try {
    return await readWavFrom(handle, options);
  } finally {
    await handle.close();
  }
}

async function readWavFrom(
  source: ByteSource,
  options: WavStreamOptions & { int16?: boolean },
): Promise<WavAudio | Int16Array> {
  const header = await readWavHeader(source);
  const asIs = options.int16 === true ? await streamInt16(source, header, options) : undefined;
  return asIs ?? (await streamWav(source, header, options));
}

/**
 * Reads a WAV file into 16 kHz mono samples: {@link parseWav}'s result for
 * the file's bytes, streamed from the file a slice at a time (any size, RF64
 * files beyond 4 GB included) with the event loop running between slices.
 */
export async function readWavFile(path: string): Promise<WavAudio> {
  return readWavStreaming(path);
}
