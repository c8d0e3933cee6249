// lib/wav.ts: the WAV reader the CLI uses (16 kHz mono, 16-bit PCM or float).
import { describe, expect, it } from 'vitest';
import { WhisperError, parseWav } from '../../lib/index.js';

interface WavSpec {
  tag?: number;
  channels?: number;
  rate?: number;
  bits?: number;
  data: Uint8Array;
  extraChunks?: { id: string; body: Uint8Array }[];
  extensibleTag?: number;
  declaredDataSize?: number;
}

/** Builds a WAV file: RIFF header, optional extra chunks, fmt, data. */
function wav(spec: WavSpec): Buffer {
  const { tag = 1, channels = 1, rate = 16000, bits = 16, data } = spec;
  const chunk = (id: string, body: Uint8Array, declared = body.length) => {
    const head = Buffer.alloc(8);
    head.write(id, 0, 'latin1');
    head.writeUInt32LE(declared, 4);
    return Buffer.concat([head, body, Buffer.alloc(body.length % 2)]);
  };
  const fmt = Buffer.alloc(spec.extensibleTag === undefined ? 16 : 40);
  fmt.writeUInt16LE(spec.extensibleTag === undefined ? tag : 0xfffe, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE((rate * channels * bits) / 8, 8);
  fmt.writeUInt16LE((channels * bits) / 8, 12);
  fmt.writeUInt16LE(bits, 14);
  if (spec.extensibleTag !== undefined) fmt.writeUInt16LE(spec.extensibleTag, 24);
  const body = Buffer.concat([
    Buffer.from('WAVE', 'latin1'),
    ...(spec.extraChunks ?? []).map((c) => chunk(c.id, c.body)),
    chunk('fmt ', fmt),
    chunk('data', data, spec.declaredDataSize),
  ]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

const pcm = (...values: number[]) => new Uint8Array(Int16Array.from(values).buffer);

describe('parseWav', () => {
  it('reads 16-bit PCM as Int16Array', () => {
    const audio = parseWav(wav({ data: pcm(0, 1000, -32768, 32767) }));
    expect(audio.samples).toBeInstanceOf(Int16Array);
    expect([...audio.samples]).toEqual([0, 1000, -32768, 32767]);
    expect(audio.sampleRate).toBe(16000);
    expect(audio.duration).toBe(4 / 16000);
  });

  it('reads 32-bit float as Float32Array, also in an extensible header', () => {
    const data = new Uint8Array(Float32Array.from([0.5, -0.25]).buffer);
    for (const file of [
      wav({ tag: 3, bits: 32, data }),
      wav({ extensibleTag: 3, bits: 32, data }),
    ]) {
      const audio = parseWav(file);
      expect(audio.samples).toBeInstanceOf(Float32Array);
      expect([...audio.samples]).toEqual([0.5, -0.25]);
    }
  });

  it('skips unknown chunks, including odd-sized ones with their pad byte', () => {
    const audio = parseWav(
      wav({ data: pcm(7, 8), extraChunks: [{ id: 'LIST', body: new Uint8Array(3) }] }),
    );
    expect([...audio.samples]).toEqual([7, 8]);
  });

  it('takes what is there when the data size is unknown (0) or larger than the file', () => {
    expect([...parseWav(wav({ data: pcm(1, 2, 3), declaredDataSize: 0 })).samples]).toEqual([
      1, 2, 3,
    ]);
    expect([...parseWav(wav({ data: pcm(1, 2), declaredDataSize: 1000 })).samples]).toEqual([1, 2]);
  });

  it('reads from a Uint8Array at an odd offset', () => {
    const file = wav({ data: pcm(-5, 5) });
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    expect([...parseWav(shifted.subarray(1)).samples]).toEqual([-5, 5]);
  });

  it.each([
    [{ rate: 44100 }, '16-bit PCM, 44100 Hz, 1 channel'],
    [{ channels: 2 }, '16-bit PCM, 16000 Hz, 2 channels'],
    [{ bits: 24 }, '24-bit PCM, 16000 Hz, 1 channel'],
    [{ tag: 3, bits: 64 }, '64-bit float, 16000 Hz, 1 channel'],
    [{ tag: 6, bits: 8 }, 'format tag 6, 16000 Hz, 1 channel'],
  ])('rejects %j as unsupported, saying what the file is', (spec, what) => {
    try {
      parseWav(wav({ ...spec, data: pcm(0, 0) }));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(WhisperError);
      expect((error as WhisperError).code).toBe('ERR_UNSUPPORTED_AUDIO');
      expect((error as WhisperError).message).toMatch(
        new RegExp(`^Unsupported WAV format: ${what}\\. `),
      );
    }
  });

  it.each([
    [Buffer.from('not a wav file at all'), 'Invalid WAV file: no RIFF/WAVE header'],
    [
      wav({ data: pcm(1) }).subarray(0, 20),
      'Invalid WAV file: the fmt chunk runs past the end of the file',
    ],
    [wav({ data: pcm(1) }).subarray(0, 12), 'Invalid WAV file: no fmt chunk'],
  ])('rejects a malformed file: %#', (bytes, message) => {
    expect(() => parseWav(bytes)).toThrow(message);
  });
});
