// The file readers stream a WAV file: chunk headers by positioned reads, the
// data chunk a slice at a time, decoded and resampled slice by slice. The
// result is parseWav's for the file's bytes, bit for bit, whatever the slice
// size; a file over 2 GiB (which a whole-file read refuses with
// ERR_FS_FILE_TOO_LARGE) is read in bounded memory, with the event loop
// running and the signal honoured between slices.
import { afterAll, describe, expect, it } from 'vitest';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAudioFile, readAudioInput } from '../../lib/audio-file.js';
import { WhisperError } from '../../lib/errors.js';
import { Resampler, resample } from '../../lib/resample.js';
import { parseWav, readWavFile, readWavStreaming } from '../../lib/wav.js';
import { audioClips, audioPath } from '../helpers/shared.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { buildWav, encode, type WavSpec } from './wav-writer.js';
import { sameBits } from '../helpers/compare.js';

const temp = useTempDir('wn-wav-stream-');

const writeTemp = temp.write;

function expectSameBits(
  actual: Float32Array | Int16Array,
  expected: Float32Array | Int16Array,
): void {
  expect(actual.constructor).toBe(expected.constructor);
  expect(actual.length).toBe(expected.length);
  expect(sameBits(actual, expected)).toBe(true);
}

/** Pseudo-random values in [-amplitude, amplitude): a tone plus noise, reproducible. */
function signal(count: number, amplitude: number, seed = 1): number[] {
  let state = seed;
  return Array.from({ length: count }, (_, i) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const noise = state / 0x40000000 - 1;
    return amplitude * (0.7 * Math.sin(i / 5.3) + 0.3 * noise);
  });
}

type Case = { name: string; bytes: Uint8Array };

function spec(
  name: string,
  codec: 'u8' | 's16' | 's24' | 's32' | 'f32' | 'f64' | 'alaw' | 'mulaw',
  channels: number,
  sampleRate: number,
  frames: number,
  more: Partial<WavSpec> = {},
): Case {
  const count = frames * channels;
  const table = {
    u8: {
      tag: 1,
      bits: 8,
      data: () => encode.u8(signal(count, 127).map((v) => Math.round(v) + 128)),
    },
    s16: { tag: 1, bits: 16, data: () => encode.s16(signal(count, 32767).map(Math.round)) },
    s24: { tag: 1, bits: 24, data: () => encode.s24(signal(count, 8388607).map(Math.round)) },
    s32: { tag: 1, bits: 32, data: () => encode.s32(signal(count, 2147483647).map(Math.round)) },
    f32: { tag: 3, bits: 32, data: () => encode.f32(signal(count, 1.2)) },
    f64: { tag: 3, bits: 64, data: () => encode.f64(signal(count, 0.9)) },
    alaw: {
      tag: 6,
      bits: 8,
      data: () => encode.u8(signal(count, 127).map((v) => Math.round(v) & 0xff)),
    },
    mulaw: {
      tag: 7,
      bits: 8,
      data: () => encode.u8(signal(count, 127).map((v) => Math.round(v) & 0xff)),
    },
  }[codec];
  const bytes = buildWav({
    formatTag: table.tag,
    channels,
    sampleRate,
    bitsPerSample: table.bits,
    data: table.data(),
    ...more,
  });
  return { name, bytes };
}

/** A RIFF file with its chunks in the given order (data before fmt, say). */
function riff(chunks: { id: string; body: Uint8Array; size?: number }[]): Uint8Array {
  const parts = chunks.map(({ id, body, size }) => {
    const out = new Uint8Array(8 + body.length + (body.length % 2));
    out.set(Buffer.from(id, 'latin1'));
    new DataView(out.buffer).setUint32(4, size ?? body.length, true);
    out.set(body, 8);
    return out;
  });
  const header = new Uint8Array(12);
  header.set(Buffer.from('RIFF', 'latin1'));
  new DataView(header.buffer).setUint32(
    4,
    parts.reduce((n, p) => n + p.length, 4),
    true,
  );
  header.set(Buffer.from('WAVE', 'latin1'), 8);
  return Buffer.concat([header, ...parts]);
}

function fmtChunk(tag: number, channels: number, rate: number, bits: number): Uint8Array {
  const body = new Uint8Array(16);
  const view = new DataView(body.buffer);
  const blockAlign = channels * Math.ceil(bits / 8);
  view.setUint16(0, tag, true);
  view.setUint16(2, channels, true);
  view.setUint32(4, rate, true);
  view.setUint32(8, rate * blockAlign, true);
  view.setUint16(12, blockAlign, true);
  view.setUint16(14, bits, true);
  return body;
}

function cases(): Case[] {
  const odd = encode.u8(signal(4001, 100).map((v) => Math.round(v) + 128)); // odd data size
  const stereo16 = encode.s16(signal(2 * 3001, 20000).map(Math.round));
  const truncatedStreamed = spec('streamed, cut mid-frame', 's24', 2, 44100, 3000, {
    streamed: true,
  });
  return [
    spec('u8 mono 8 kHz', 'u8', 1, 8000, 2001),
    spec('s16 mono 16 kHz', 's16', 1, 16000, 5003),
    spec('s16 stereo 44.1 kHz', 's16', 2, 44100, 9001),
    spec('s24 stereo 48 kHz', 's24', 2, 48000, 7000),
    spec('s32 mono 96 kHz', 's32', 1, 96000, 12000),
    spec('f32 3 channels 22.05 kHz', 'f32', 3, 22050, 4000),
    spec('f64 mono 44.101 kHz (interpolated filter)', 'f64', 1, 44101, 9000),
    spec('A-law mono 8 kHz', 'alaw', 1, 8000, 3001),
    spec('mu-law stereo 16 kHz', 'mulaw', 2, 16000, 3001),
    spec('s16 mono 768 kHz', 's16', 1, 768_000, 40_000),
    spec('s24 in 32 extensible mono 32 kHz', 's32', 1, 32000, 3000, {
      extensible: true,
      validBits: 24,
    }),
    spec('RF64 with ds64, s16 stereo 48 kHz', 's16', 2, 48000, 6001, { rf64: true }),
    spec('RF64 with ds64, 16 kHz mono', 's16', 1, 16000, 4001, { rf64: true }),
    spec('odd LIST chunk before fmt', 's16', 1, 22050, 3001, {
      before: [{ id: 'LIST', body: new Uint8Array(7).fill(1) }],
    }),
    spec('streamed size', 's16', 1, 16000, 3001, { streamed: true }),
    {
      name: truncatedStreamed.name,
      bytes: truncatedStreamed.bytes.subarray(0, truncatedStreamed.bytes.length - 4),
    },
    {
      name: 'u8 odd data size, data before fmt',
      bytes: riff([
        { id: 'data', body: odd },
        { id: 'fmt ', body: fmtChunk(1, 1, 11025, 8) },
      ]),
    },
    {
      name: 's16 stereo, data before fmt, odd chunk between',
      bytes: riff([
        { id: 'data', body: stereo16 },
        { id: 'junk', body: new Uint8Array(3) },
        { id: 'fmt ', body: fmtChunk(1, 2, 48000, 16) },
      ]),
    },
  ];
}

describe('streaming WAV reader: the same bits as parseWav', () => {
  it.each(cases().map((c) => [c.name, c] as const))('%s', async (_, { name, bytes }) => {
    const path = writeTemp(`${name.replace(/[^a-z0-9]+/gi, '-')}.wav`, bytes);
    const expected = parseWav(bytes);
    for (const sliceBytes of [1, 1000, 4099, 65536, undefined]) {
      const streamed = await readWavStreaming(path, { sliceBytes });
      expectSameBits(streamed.samples, expected.samples);
      expect(streamed.source).toEqual(expected.source);
      expect(streamed.duration).toBe(expected.duration);
      const input = await readWavStreaming(path, { sliceBytes, int16: true });
      const { sampleRate, channels, encoding, bitsPerSample } = expected.source;
      if (sampleRate === 16000 && channels === 1 && encoding === 'pcm' && bitsPerSample === 16) {
        expectSameBits(
          input as Int16Array,
          Int16Array.from(expected.samples, (s) => s * 32768),
        );
      } else {
        expectSameBits((input as typeof expected).samples, expected.samples);
      }
    }
    expectSameBits((await readAudioFile(path)).samples, expected.samples);
    expectSameBits((await readWavFile(path)).samples, expected.samples);
    const input = await readAudioInput(path);
    expectSameBits(
      input instanceof Int16Array ? Float32Array.from(input, (s) => s / 32768) : input,
      expected.samples,
    );
  });

  it.each(audioClips())('shared clip %s', async (name) => {
    const bytes = readFileSync(audioPath(name));
    const expected = parseWav(bytes);
    for (const sliceBytes of [4099, undefined]) {
      expectSameBits(
        (await readWavStreaming(audioPath(name), { sliceBytes })).samples,
        expected.samples,
      );
    }
    expectSameBits((await readAudioFile(audioPath(name))).samples, expected.samples);
    const input = await readAudioInput(audioPath(name));
    expectSameBits(
      input,
      Int16Array.from(expected.samples, (s) => s * 32768),
    );
  });

  it('Resampler fed in slices gives resample() bits at several slice sizes', () => {
    for (const rate of [44100, 48000, 44101, 768_000, 8000]) {
      const input = Float32Array.from(signal(rate, 0.8, rate));
      const whole = resample(input, rate);
      for (const slice of [1, 997, 4096, 1 << 16, 1 << 19]) {
        if (slice === 1 && rate > 48000) continue; // ~1M calls: slow, and covered at 44.1 kHz
        const stream = new Resampler(rate);
        const out = new Float32Array(whole.length);
        let at = 0;
        for (let from = 0; from < input.length; from += slice) {
          const part = stream.process(input.subarray(from, from + slice));
          out.set(part, at);
          at += part.length;
        }
        const rest = stream.flush();
        out.set(rest, at);
        expect(at + rest.length).toBe(whole.length);
        expectSameBits(out, whole);
      }
    }
  });
});

describe('streaming WAV reader: errors', () => {
  it('refuses declared sizes beyond the file as parseWav does', async () => {
    const bytes = spec('x', 's16', 1, 16000, 100, { declaredDataSize: 400 }).bytes;
    const path = writeTemp('too-long.wav', bytes);
    let expected: unknown;
    try {
      parseWav(bytes);
    } catch (error) {
      expected = error;
    }
    expect(expected).toBeInstanceOf(WhisperError);
    await expect(readWavStreaming(path)).rejects.toThrow((expected as Error).message);
    await expect(readAudioFile(path)).rejects.toMatchObject({
      code: 'ERR_INVALID_AUDIO',
      message: `${path}: ${(expected as Error).message}`,
    });
  });

  it('gives ERR_INVALID_AUDIO for a file cut short while it is read', async () => {
    const frames = 200_000;
    const path = writeTemp('shrinks.wav', spec('x', 's16', 1, 22050, frames).bytes);
    // Two bytes a slice: the read takes many event-loop turns, and the file is cut during them.
    const read = readWavStreaming(path, { sliceBytes: 2 });
    const settled = read.then(
      () => undefined,
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    truncateSync(path, 1000);
    const error = await settled;
    expect(error).toBeInstanceOf(WhisperError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_AUDIO' });
    expect((error as Error).message).toMatch(
      /^Invalid WAV file: truncated: the data chunk at byte 36 declares 400000 bytes but only \d+ follow$/,
    );
  });
});

// A sparse RF64 file over 2 GiB: 16-bit PCM, 4096 channels (averaged), 48 kHz.
// Zeros decode to silence; 264192 frames resample to 88064 samples.
const BIG_CHANNELS = 4096;
const BIG_BLOCK = BIG_CHANNELS * 2;
const BIG_DATA = 2 ** 31 + 2 ** 24; // a whole number of frames
const BIG_FRAMES = BIG_DATA / BIG_BLOCK;
const BIG_SAMPLES = Math.round((BIG_FRAMES * 16000) / 48000);

function bigHeader(): Uint8Array {
  const ds64 = new Uint8Array(28);
  new DataView(ds64.buffer).setBigUint64(8, BigInt(BIG_DATA), true);
  const fmt = fmtChunk(1, BIG_CHANNELS, 48000, 16);
  const parts = [
    Buffer.from('RF64\xff\xff\xff\xffWAVE', 'latin1'),
    Buffer.from('ds64\x1c\x00\x00\x00', 'latin1'),
    ds64,
    Buffer.from('fmt \x10\x00\x00\x00', 'latin1'),
    fmt,
    Buffer.from('data\xff\xff\xff\xff', 'latin1'),
  ];
  return Buffer.concat(parts);
}

/** Writes the big file sparsely; undefined (and a reason) where the file system cannot. */
function makeSparse(path: string): string | undefined {
  try {
    const header = bigHeader();
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, header);
    } finally {
      closeSync(fd);
    }
    truncateSync(path, header.length + BIG_DATA);
    const { size, blocks } = statSync(path);
    if (size !== header.length + BIG_DATA) return `size ${size} after truncate`;
    if (blocks * 512 > 64 * 1024 * 1024)
      return `it takes ${blocks * 512} bytes on disk: not sparse`;
    return undefined;
  } catch (error) {
    return String(error);
  }
}

describe('streaming WAV reader: a sparse RF64 file over 2 GiB', () => {
  const bigDir = mkdtempSync(join(tmpdir(), 'wn-wav-big-'));
  const bigPath = join(bigDir, 'big.wav');
  const unsupported = makeSparse(bigPath);
  if (unsupported !== undefined) {
    rmSync(bigDir, { recursive: true, force: true });
    console.warn(
      `skipping the >2 GiB WAV tests: cannot make a sparse file in ${bigDir}: ${unsupported}`,
    );
  }
  afterAll(() => rmSync(bigDir, { recursive: true, force: true }));

  it.skipIf(unsupported !== undefined)('reads it whole, as silence', async () => {
    const started = performance.now();
    const audio = await readAudioFile(bigPath);
    console.log(`  ${BIG_DATA} bytes read in ${(performance.now() - started).toFixed(0)} ms`);
    expect(audio.samples.length).toBe(BIG_SAMPLES);
    expect(audio.samples.every((s) => s === 0)).toBe(true);
  });

  it.skipIf(unsupported !== undefined)('keeps the event loop running while it reads', async () => {
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 10);
    const started = performance.now();
    let audio: Awaited<ReturnType<typeof readWavFile>>;
    try {
      audio = await readWavFile(bigPath);
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - started;
    const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!);
    const longest = Math.max(ticks.length > 0 ? ticks[0]! - started : elapsed, ...gaps);
    console.log(
      `  read in ${elapsed.toFixed(0)} ms, longest event-loop gap ${longest.toFixed(0)} ms over ${ticks.length} ticks`,
    );
    expect(audio.samples.length).toBe(BIG_SAMPLES);
    expect(ticks.length).toBeGreaterThan(elapsed / 10 / 3);
    expect(longest).toBeLessThan(100);
  });

  it.skipIf(unsupported !== undefined)('stops mid-read with signal.reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stop reading');
    const read = readAudioFile(bigPath, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const aborted = performance.now();
    controller.abort(reason);
    await expect(read).rejects.toBe(reason);
    expect(performance.now() - aborted).toBeLessThan(1000);
  });
});
