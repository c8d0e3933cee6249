// The WAV reader decodes samples with the addon's loop (native/engine/audio/
// pcm.cc) when the addon loads, else with its own JS loop. The two must give
// the same bits for every codec and channel count, whole files and slices,
// and the addon must check what it is given.
import { describe, expect, it, vi } from 'vitest';
import { binding } from '../../lib/binding.js';
import { decodeWav, readWavFile } from '../../lib/wav.js';
import { buildWav } from './wav-writer.js';

// decodeWav takes the addon from bindingIfLoadable(): switched off here to
// get the JS loop's samples from the same files.
const decoder = vi.hoisted(() => ({ useAddon: true }));
vi.mock('../../lib/binding.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../lib/binding.js')>();
  return {
    ...actual,
    bindingIfLoadable: () => (decoder.useAddon ? actual.bindingIfLoadable() : undefined),
  };
});

function decodeBoth(wav: Uint8Array): { addon: Float32Array; js: Float32Array } {
  decoder.useAddon = true;
  const addon = decodeWav(wav).samples;
  decoder.useAddon = false;
  try {
    return { addon, js: decodeWav(wav).samples };
  } finally {
    decoder.useAddon = true;
  }
}

/** Bit for bit, except that any NaN matches any NaN (V8 may canonicalize a NaN's payload). */
function expectSameBits(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) differing++;
  }
  expect(differing).toBe(0);
}

/** Seeded bytes: every bit pattern a sample can have, NaNs and infinities among the floats. */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let state = seed >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

const CODECS = [
  { name: 'unsigned 8-bit', formatTag: 1, bits: 8 },
  { name: '16-bit', formatTag: 1, bits: 16 },
  { name: '24-bit', formatTag: 1, bits: 24 },
  { name: '32-bit', formatTag: 1, bits: 32 },
  { name: '32-bit float', formatTag: 3, bits: 32 },
  { name: '64-bit float', formatTag: 3, bits: 64 },
  { name: 'A-law', formatTag: 6, bits: 8 },
  { name: 'mu-law', formatTag: 7, bits: 8 },
];

describe('WAV samples decoded by the addon', () => {
  it('is what decodeWav uses wherever the addon is built (the tests build it)', () => {
    expect(typeof binding().decodePcmFrames).toBe('function');
  });

  for (const codec of CODECS) {
    it(`gives the JS loop's bits for ${codec.name}, 1 to 8 channels`, () => {
      for (const channels of [1, 2, 3, 4, 5, 6, 8]) {
        const frames = 1001;
        const wav = buildWav({
          formatTag: codec.formatTag,
          channels,
          sampleRate: 44100,
          bitsPerSample: codec.bits,
          data: randomBytes((frames * channels * codec.bits) / 8, channels * 100 + codec.bits),
        });
        const { addon, js } = decodeBoth(wav);
        expect(addon.length).toBe(frames);
        expectSameBits(addon, js);
      }
    });
  }

  it('decodes a data chunk at an odd offset (after an odd-sized chunk)', () => {
    const wav = buildWav({
      formatTag: 1,
      channels: 2,
      sampleRate: 16000,
      bitsPerSample: 16,
      data: randomBytes(4 * 500, 9),
      before: [{ id: 'LIST', body: new Uint8Array(3) }],
    });
    const { addon, js } = decodeBoth(wav);
    expectSameBits(addon, js);
  });

  it('reads a file in slices as one decode does', async () => {
    // > 2^19 samples: readWavFile decodes it in two slices.
    const frames = 300_000;
    const wav = buildWav({
      formatTag: 1,
      channels: 2,
      sampleRate: 16000,
      bitsPerSample: 16,
      data: randomBytes(frames * 4, 3),
    });
    const path = `${process.env.WN_TEST_TMP ?? '/tmp'}/native-pcm-slices-${process.pid}.wav`;
    const fs = await import('node:fs/promises');
    await fs.writeFile(path, wav);
    try {
      const { samples } = await readWavFile(path);
      expectSameBits(samples, decodeBoth(wav).js);
    } finally {
      await fs.rm(path, { force: true });
    }
  });

  // The binding's own checks: lib/wav.ts never passes such values, so these
  // call it directly.
  it('refuses arguments that do not fit, writing nothing', () => {
    const data = new Uint8Array(12);
    const out = new Float32Array(4).fill(7);
    const decode = binding().decodePcmFrames;
    const code = (run: () => void): unknown => {
      try {
        run();
      } catch (error) {
        return (error as { code?: unknown }).code;
      }
      return 'no error';
    };
    expect(code(() => decode(data, 8, 1, 0, out))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => decode(data, 1.5, 1, 0, out))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => decode(data, 1, 0, 0, out))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => decode(data, 1, Number.NaN, 0, out))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => decode(data, 1, 1, -1, out))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => decode(data, 1, 1, 2 ** 60, out))).toBe('ERR_INVALID_ARG_VALUE');
    // 12 bytes of 16-bit stereo are 3 frames: frames 0..3 or 1..4 do not fit.
    expect(code(() => decode(data, 1, 2, 0, out))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => decode(data, 1, 2, 1, out.subarray(0, 3)))).toBe('ERR_INVALID_ARG_VALUE');
    const wrongTypes: unknown[][] = [
      [new Int16Array(6), 1, 1, 0, out],
      [data, '1', 1, 0, out],
      [data, 1, 1, 0, new Float64Array(4)],
      [data, 1, 1, 0],
    ];
    for (const args of wrongTypes) {
      expect(code(() => (decode as (...a: unknown[]) => void)(...args))).toBe(
        'ERR_INVALID_ARG_TYPE',
      );
    }
    expect(Array.from(out)).toEqual([7, 7, 7, 7]);
    decode(data, 1, 2, 0, out.subarray(0, 3));
    expect(Array.from(out)).toEqual([0, 0, 0, 7]);
  });
});
