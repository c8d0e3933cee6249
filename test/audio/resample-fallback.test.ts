// Without a loadable addon the file readers still resample: on the JS thread,
// in slices with the event loop running between them, to the same samples.
import { describe, expect, it, vi } from 'vitest';
import { resample } from '../../lib/resample.js';
import { resampleOffThread } from '../../lib/resample-native.js';
import { sameBits } from '../helpers/compare.js';

vi.mock('../../lib/binding.js', () => ({ bindingIfLoadable: () => undefined }));

describe('resampling without the addon', () => {
  it("gives resample()'s samples, letting the event loop run between slices", async () => {
    const input = Float32Array.from({ length: 44100 * 20 }, (_, i) => Math.sin(i / 7) * 0.5);
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    let actual: Float32Array;
    try {
      actual = await resampleOffThread(input, 44100, 16000);
    } finally {
      clearInterval(timer);
    }
    const expected = resample(input, 44100, 16000);
    expect(sameBits(actual, expected)).toBe(true);
    // 320000 outputs of 120 taps in slices of ~17000 outputs: ~19 slices.
    expect(turns).toBeGreaterThan(5);
  });

  it('stops with the reason of an aborted signal', async () => {
    const reason = new Error('stop');
    const controller = new AbortController();
    const run = resampleOffThread(new Float32Array(44100 * 20), 44100, 16000, controller.signal);
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
  });
});
