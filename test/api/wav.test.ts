// parseWav / readWavFile, the public WAV entry points: any WAV comes back as
// the model's input (16 kHz mono floats) with what the file held; errors are
// WhisperErrors. The sample decoding itself is covered in test/audio/wav.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WhisperError, parseWav, readWavFile } from '../../lib/index.js';
import { buildWav, pcm16Wav } from '../audio/wav-writer.js';

const mono16k = (values: number[]) => pcm16Wav(values);

describe('parseWav', () => {
  it('returns 16 kHz mono PCM exactly, as value / 32768, with the source format', () => {
    const audio = parseWav(mono16k([0, 1000, -32768, 32767]));
    expect(audio.samples).toBeInstanceOf(Float32Array);
    expect([...audio.samples]).toEqual([0, 1000 / 32768, -1, 32767 / 32768]);
    expect(audio.sampleRate).toBe(16000);
    expect(audio.duration).toBe(4 / 16000);
    expect(audio.source).toEqual({
      sampleRate: 16000,
      channels: 1,
      encoding: 'pcm',
      bitsPerSample: 16,
    });
  });

  it('down-mixes and resamples other formats to 16 kHz mono', () => {
    // One second of stereo 44.1 kHz float: left +0.5, right -0.25 -> mono 0.125.
    const frames = 44100;
    const interleaved = new Float32Array(2 * frames);
    for (let i = 0; i < frames; i++) {
      interleaved[2 * i] = 0.5;
      interleaved[2 * i + 1] = -0.25;
    }
    const audio = parseWav(
      buildWav({
        formatTag: 3,
        channels: 2,
        sampleRate: 44100,
        bitsPerSample: 32,
        data: new Uint8Array(interleaved.buffer),
      }),
    );
    expect(audio.samples.length).toBe(16000);
    expect(audio.duration).toBe(1);
    expect(audio.source).toEqual({
      sampleRate: 44100,
      channels: 2,
      encoding: 'float',
      bitsPerSample: 32,
    });
    // Away from the edges a constant stays that constant through the resampler.
    expect(audio.samples[8000]).toBeCloseTo(0.125, 4);
  });

  it('reads from a Uint8Array at an odd offset', () => {
    const file = mono16k([-5, 5]);
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    expect([...parseWav(shifted.subarray(1)).samples]).toEqual([-5 / 32768, 5 / 32768]);
  });

  it('reads the bytes of any byte array (a Uint8ClampedArray, from plain JavaScript)', () => {
    const file = mono16k([-5, 5]);
    const clamped = new Uint8ClampedArray(file.buffer, file.byteOffset, file.byteLength);
    expect([...parseWav(clamped as unknown as Uint8Array).samples]).toEqual([
      -5 / 32768,
      5 / 32768,
    ]);
  });

  it('throws ERR_INVALID_AUDIO for a malformed file and ERR_UNSUPPORTED_AUDIO for an unread codec', () => {
    const malformed = (() => {
      try {
        parseWav(new TextEncoder().encode('not a wav file at all'));
      } catch (error) {
        return error;
      }
    })();
    expect(malformed).toBeInstanceOf(WhisperError);
    expect(malformed).toMatchObject({
      code: 'ERR_INVALID_AUDIO',
      message: 'Invalid WAV file: it does not start with a RIFF/RF64 WAVE header',
    });
    const adpcm = buildWav({
      formatTag: 2,
      channels: 1,
      sampleRate: 8000,
      bitsPerSample: 4,
      blockAlign: 256,
      data: new Uint8Array(256),
    });
    expect(() => parseWav(adpcm)).toThrow(
      expect.objectContaining({ name: 'WhisperError', code: 'ERR_UNSUPPORTED_AUDIO' }),
    );
  });
});

describe('readWavFile', () => {
  it('reads a file as parseWav reads its bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wn-wav-'));
    try {
      const bytes = mono16k([1, 2, 3]);
      writeFileSync(join(dir, 'a.wav'), bytes);
      expect(await readWavFile(join(dir, 'a.wav'))).toEqual(parseWav(bytes));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
