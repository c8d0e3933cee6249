// The file readers resample on a worker thread with the addon's copy of the
// polyphase filter's inner loop (native/engine/audio/resample.cc). It must
// give resample()'s samples bit for bit, for exact and interpolated phase
// tables, down- and up-sampling, and check what it is given.
import { describe, expect, it } from 'vitest';
import { bindingIfLoadable } from '../../lib/binding.js';
import { filterFor, resample } from '../../lib/resample.js';
import { resampleOffThread } from '../../lib/resample-native.js';
import { sameBits } from '../helpers/compare.js';

/** Seeded noise plus a sine: every tap sees varied values, some of them tiny. */
function signal(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let state = seed;
  for (let i = 0; i < n; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[i] = 0.6 * Math.sin(i / 13) + ((state >>> 8) / 16777216 - 0.5) * 0.4;
  }
  return out;
}

describe('native resampling', () => {
  it('is available wherever the addon is built (the tests build it)', () => {
    expect(bindingIfLoadable()).toBeDefined();
  });

  // 44101 and 7999 Hz need more phases than the exact table holds: the
  // interpolated table, whose outputs mix two rows.
  for (const rate of [8000, 11025, 22050, 32000, 44100, 48000, 96000, 44101, 7999]) {
    it(`gives resample()'s samples bit for bit from ${rate} Hz`, async () => {
      const input = signal(Math.round(rate * 1.37) + 3, rate);
      const expected = resample(input, rate, 16000);
      const actual = await resampleOffThread(input, rate, 16000);
      expect(actual.length).toBe(expected.length);
      expect(sameBits(actual, expected)).toBe(true);
    });
  }

  it('gives them for audio shorter than the filter, and for none', async () => {
    for (const n of [0, 1, 5, 40]) {
      const input = signal(n, 7);
      expect(sameBits(await resampleOffThread(input, 44100, 16000), resample(input, 44100))).toBe(
        true,
      );
    }
  });

  it('rejects rates resample() rejects, before building a filter', async () => {
    for (const rate of [0, 2 ** 31]) {
      await expect(resampleOffThread(new Float32Array(10), rate, 16000)).rejects.toThrow(
        expect.objectContaining({ name: 'WhisperError', code: 'ERR_INVALID_ARG_VALUE' }),
      );
    }
  });

  // The addon's errors are coded Errors (lib/ turns those of the public API
  // into WhisperErrors).
  it('checks the filter the addon is given', () => {
    const addon = bindingIfLoadable()!;
    const filter = filterFor(44100, 16000);
    const input = new Float32Array(100);
    const out = new Float32Array(10);
    const run = (table: Float32Array, taps: number, half: number) =>
      addon.resampleRun(input, table, taps, half, filter.up, filter.down, true, 0, out);
    // A table shorter than up rows of taps, taps that are not twice halfTaps.
    for (const call of [
      () =>
        run(
          filter.table.subarray(0, filter.table.length - 1),
          filter.tapsPerPhase,
          filter.halfTaps,
        ),
      () => run(filter.table, filter.tapsPerPhase + 1, filter.halfTaps),
    ]) {
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    }
    expect(() =>
      (addon.resampleRun as unknown as (...args: unknown[]) => unknown)(input, [1, 2], 2, 1),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
