// Without a loadable addon the streaming WAV reader decodes (decodeFramesInJs)
// and resamples (the JS filter, in slices) on the JS thread: still parseWav's
// bits, whatever the slice size.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav, readWavStreaming } from '../../lib/wav.js';
import { buildWav, encode } from './wav-writer.js';

vi.mock('../../lib/binding.js', () => ({ bindingIfLoadable: () => undefined }));

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wn-wav-stream-js-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

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
    const path = join(dir, `${rate}-${channels}.wav`);
    writeFileSync(path, bytes);
    const expected = parseWav(bytes).samples;
    for (const sliceBytes of [4099, undefined]) {
      const { samples } = await readWavStreaming(path, { sliceBytes });
      expect(Buffer.from(samples.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    }
  });
});
