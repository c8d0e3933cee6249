// Parity with OpenAI's reference (shared/golden): the log-mel window, the
// encoder output and teacher-forced logits, for every golden clip, on every
// kernel path (ISA) this CPU supports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, supportedIsas, type WhisperModel } from '../../lib/index.js';
import { argmaxRows, maxAbsDiff, relativeRms } from '../helpers/compare.js';
import {
  TEST_THREADS,
  goldenClips,
  hasShared,
  randomModelPath,
  readClip,
  readGolden,
} from '../helpers/shared.js';

const clips = goldenClips();
const isas = hasShared ? supportedIsas() : [];
// The portable path runs the encoder about 20x slower than the vector paths
// (~15 s a clip on 2 cores), so by default it checks two clips: one at the
// start of a file and one window at 30 s. WHISPER_TEST_ALL_CLIPS=1 runs all.
const GENERIC_CLIPS = ['jfk', 'osr_us_000_0034_8k_at30s'];
const clipsFor = (isa: string) =>
  isa === 'generic' && !process.env.WHISPER_TEST_ALL_CLIPS
    ? clips.filter((c) => GENERIC_CLIPS.includes(c.name))
    : clips;

describe.skipIf(!hasShared)('golden parity', () => {
  it('finds the golden clips and at least the generic kernel path', () => {
    expect(clips.length).toBeGreaterThanOrEqual(7);
    expect(isas).toContain('generic');
    expect(clipsFor('generic').length).toBeGreaterThanOrEqual(2);
  });

  describe.each(isas)('isa %s', (isa) => {
    let model: WhisperModel;
    beforeAll(async () => {
      // The engine reads WHISPER_NATIVE_ISA when a model loads.
      const previous = process.env.WHISPER_NATIVE_ISA;
      process.env.WHISPER_NATIVE_ISA = isa;
      try {
        model = await loadModel(randomModelPath, { threads: TEST_THREADS });
      } finally {
        if (previous === undefined) delete process.env.WHISPER_NATIVE_ISA;
        else process.env.WHISPER_NATIVE_ISA = previous;
      }
    });
    afterAll(() => model?.close());

    it('loads with that path', () => {
      expect(model.info.isa).toBe(isa);
    });

    it.each(clipsFor(isa))('$name: mel, encoder and logits', async (clip) => {
      const samples = await readClip(clip.wav.replace(/\.wav$/, ''));
      const mel = await model.melWindow(samples, clip.offsetSeconds);
      const goldenMel = readGolden(clip.name, 'mel');
      expect(mel.length).toBe(80 * 3000);
      expect(relativeRms(mel, goldenMel)).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(mel, goldenMel)).toBeLessThanOrEqual(1e-3);

      // The encoder and decoder are fed the golden inputs, so each stage is
      // measured on its own.
      const goldenEncoder = readGolden(clip.name, 'encoder');
      const encoded = await model.encode(goldenMel);
      expect(encoded.length).toBe(1500 * 384);
      expect(relativeRms(encoded, goldenEncoder)).toBeLessThanOrEqual(1e-4);

      const goldenLogits = readGolden(clip.name, 'logits');
      const logits = await model.logits(clip.tokens, goldenEncoder);
      expect(logits.length).toBe(clip.tokens.length * 51864);
      expect(relativeRms(logits, goldenLogits)).toBeLessThanOrEqual(1e-4);
      expect(argmaxRows(logits, 51864)).toEqual(clip.argmaxNext);
      expect(argmaxRows(goldenLogits, 51864)).toEqual(clip.argmaxNext);
    });
  });
});
