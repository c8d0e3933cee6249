// Without a loadable addon the streaming WAV reader decodes (decodeFramesInJs)
// and resamples (the JS filter, in slices) on the JS thread: still parseWav's
// bits, whatever the slice size.
import { describe, expect, it, vi } from 'vitest';
import { parseWav, readWavStreaming } from '../../lib/wav.js';
import { buildWav, encode } from './wav-writer.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { sameBits } from '../helpers/compare.js';

vi.mock('../../lib/binding.js', () => ({ bindingIfLoadable: () => undefined }));

const temp = useTempDir('wn-wav-stream-js-');

describe('streaming WAV reader without the addon', () => {
  it.each([
    [44100, 2],
    [44101, 1],
    [16000, 3],
  ])("gives parseWav's bits at %i Hz, %i channel(s)", async (rate, channels) => {
    const values = Array.from({ length: rate * channels }, (_, i) =>
      Math.round(20000 * Math.sin(i / 3.7)),
    );
    const bytes = buildWav({
      formatTag: 1,
      channels,
      sampleRate: rate,
      bitsPerSample: 16,
      data: encode.s16(values),
    });
    const path = temp.write(`${rate}-${channels}.wav`, bytes);
    const expected = parseWav(bytes).samples;
    for (const sliceBytes of [4099, undefined]) {
      const { samples } = await readWavStreaming(path, { sliceBytes });
      expect(sameBits(samples, expected)).toBe(true);
    }
  });
});
