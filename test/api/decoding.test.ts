// Decoding options of transcribe(): the quality fallback, the options that
// change what is decoded, and their validation. The random model fails the
// reference's quality thresholds on every window, which makes the fallback
// easy to observe.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TRANSCRIBE_DEFAULTS,
  WhisperError,
  loadModel,
  type WhisperModel,
} from '../../lib/index.js';
import {
  GREEDY,
  TEST_THREADS,
  hasShared,
  randomModelPath,
  readClip,
  transcript,
} from '../helpers/shared.js';

describe.skipIf(!hasShared)('decoding options', () => {
  let model: WhisperModel;
  let clip: Int16Array; // 2 s: one window
  beforeAll(async () => {
    model = await loadModel(randomModelPath, { threads: TEST_THREADS });
    clip = await readClip('pocketsphinx_cards_001');
  });
  afterAll(() => model?.close());

  it('reports the quality figures and the language of a greedy decoding', async () => {
    const result = await model.transcribe(clip, GREEDY);
    expect(result.language).toBe('en');
    for (const s of result.segments) {
      expect(s.temperature).toBe(0);
      expect(s.avgLogprob).toBeLessThanOrEqual(0);
      expect(s.compressionRatio).toBeGreaterThan(0);
      expect(s.noSpeechProb).toBeGreaterThanOrEqual(0);
      expect(s.noSpeechProb).toBeLessThanOrEqual(1);
    }
  });

  it('falls back to the next temperature when a window fails the thresholds', async () => {
    const greedy = await model.transcribe(clip, GREEDY);
    // The random model repeats itself: its text compresses far better than 2.4.
    expect(greedy.segments[0]!.compressionRatio).toBeGreaterThan(
      TRANSCRIBE_DEFAULTS.compressionRatioThreshold,
    );
    const fallback = await model.transcribe(clip, { temperature: [0, 1], bestOf: 2 });
    expect(fallback.segments.length).toBeGreaterThan(0);
    expect(fallback.segments.every((s) => s.temperature === 1)).toBe(true);
    // With both thresholds off, nothing triggers a retry.
    const noRetry = await model.transcribe(clip, {
      temperature: [0, 1],
      compressionRatioThreshold: null,
      logprobThreshold: null,
    });
    expect(noRetry.segments).toEqual(greedy.segments);
  });

  it('samples reproducibly for a given seed', async () => {
    const options = { temperature: 0.8, seed: 7, maxTokensPerWindow: 24 };
    const a = await model.transcribe(clip, options);
    const b = await model.transcribe(clip, options);
    expect(transcript(b)).toEqual(transcript(a));
    for (const s of a.segments) expect(s.temperature).toBe(0.8);
  });

  it("reports each segment's temperature exactly as given", async () => {
    // 0.2 and 0.7 are no floats: the engine hands back the caller's numbers.
    const kept = await model.transcribe(clip, {
      temperature: 0.2,
      compressionRatioThreshold: null,
      logprobThreshold: null,
      maxTokensPerWindow: 24,
    });
    expect(kept.segments.length).toBeGreaterThan(0);
    for (const s of kept.segments) expect(s.temperature).toBe(0.2);
    const fallback = await model.transcribe(clip, {
      temperature: [0.2, 0.7],
      maxTokensPerWindow: 24,
    });
    expect(fallback.segments.length).toBeGreaterThan(0);
    for (const s of fallback.segments) expect(s.temperature).toBe(0.7);
  });

  it('limits the tokens decoded per window', async () => {
    const result = await model.transcribe(clip, { ...GREEDY, maxTokensPerWindow: 10 });
    const tokens = result.segments.reduce((n, s) => n + s.tokens.length, 0);
    expect(tokens).toBeGreaterThan(0);
    expect(tokens).toBeLessThanOrEqual(10);
  });

  it('decodes without timestamps: one segment spanning the window', async () => {
    const result = await model.transcribe(clip, {
      ...GREEDY,
      withoutTimestamps: true,
      maxTokensPerWindow: 20,
    });
    expect(result.segments).toHaveLength(1);
    expect(result.segments[0]!.start).toBe(0);
    // The end is the window's content end, in 10 ms frames.
    expect(Math.abs(result.segments[0]!.end - clip.length / 16000)).toBeLessThanOrEqual(0.01);
  });

  it('transcribes only [offset, offset + duration)', async () => {
    const long = await readClip('osr_us_000_0034_8k'); // 35 s
    const result = await model.transcribe(long, {
      ...GREEDY,
      offset: 30,
      duration: 3,
      maxTokensPerWindow: 20,
    });
    expect(result.segments.length).toBeGreaterThan(0);
    for (const s of result.segments) {
      expect(s.start).toBeGreaterThanOrEqual(30);
      expect(s.end).toBeLessThanOrEqual(33 + 1e-6);
    }
  });

  it('times every word with wordTimestamps: ordered, inside the segment, spelling its text', async () => {
    const plain = await model.transcribe(clip, { ...GREEDY, maxTokensPerWindow: 30 });
    for (const s of plain.segments) expect(s.words).toBeUndefined();
    const result = await model.transcribe(clip, {
      ...GREEDY,
      maxTokensPerWindow: 30,
      wordTimestamps: true,
    });
    expect(result.segments.length).toBeGreaterThan(0);
    for (const s of result.segments) {
      expect(s.words!.length).toBeGreaterThan(0);
      expect(s.words!.map((w) => w.word).join('')).toBe(s.text);
      let previousEnd = s.start;
      for (const w of s.words!) {
        expect(w.start).toBeGreaterThanOrEqual(previousEnd);
        expect(w.end).toBeGreaterThanOrEqual(w.start);
        expect(w.end).toBeLessThanOrEqual(s.end);
        expect(w.probability).toBeGreaterThan(0);
        expect(w.probability).toBeLessThanOrEqual(1);
        previousEnd = w.end;
      }
    }
  });

  it.each([
    [
      { temperature: -0.5 },
      'Expected a finite number >= 0 for options.temperature but received -0.5',
    ],
    [
      { temperature: [] },
      'Expected at least one temperature for options.temperature but received []',
    ],
    [
      { temperature: [0, 'hot'] },
      "Expected number for options.temperature[1] but received type string ('hot')",
    ],
    [{ bestOf: 0 }, 'Expected an integer between 1 and 100 for options.bestOf but received 0'],
    [
      { beamSize: 1.5 },
      'Expected an integer between 0 and 100 for options.beamSize but received 1.5',
    ],
    [{ patience: 0 }, 'Expected a number > 0 for options.patience but received 0'],
    [
      { lengthPenalty: 1.5 },
      'Expected a number between 0 and 1 for options.lengthPenalty but received 1.5',
    ],
    [
      { lengthPenalty: -0.1 },
      'Expected a number between 0 and 1 for options.lengthPenalty but received -0.1',
    ],
    [
      { lengthPenalty: Number.NaN },
      'Expected a number between 0 and 1 for options.lengthPenalty but received NaN',
    ],
    [
      { logprobThreshold: 'low' },
      "Expected number for options.logprobThreshold but received type string ('low')",
    ],
    [
      { suppressTokens: [-2] },
      'Expected an integer >= -1 for options.suppressTokens[0] but received -2',
    ],
    [
      { initialPrompt: 5 },
      'Expected string or an array of token ids for options.initialPrompt but received type number (5)',
    ],
    [{ offset: Number.NaN }, 'Expected a finite number >= 0 for options.offset but received NaN'],
    [{ language: 1 }, 'Expected string for options.language but received type number (1)'],
    [
      { wordTimestamps: 'yes' },
      "Expected boolean for options.wordTimestamps but received type string ('yes')",
    ],
  ])('rejects %j', async (options, message) => {
    const error = await model.transcribe(clip, options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WhisperError);
    expect((error as WhisperError).message).toBe(message);
  });

  it('takes a blank text prompt or prefix as the space token alone, as the reference', async () => {
    // The reference encodes " " + text.strip(): blank text is [220], not "no prompt".
    const options = { ...GREEDY, maxTokensPerWindow: 6 };
    const [blankPrompt, spacePrompt, blankPrefix, spacePrefix] = await Promise.all([
      model.transcribe(clip, { ...options, initialPrompt: '  \t ' }),
      model.transcribe(clip, { ...options, initialPrompt: [220] }),
      model.transcribe(clip, { ...options, prefix: '   ' }),
      model.transcribe(clip, { ...options, prefix: [220] }),
    ]);
    expect(transcript(blankPrompt)).toEqual(transcript(spacePrompt));
    expect(transcript(blankPrefix)).toEqual(transcript(spacePrefix));
  });

  it('accepts a lengthPenalty from 0 to 1, as the reference', async () => {
    for (const lengthPenalty of [0, 1, null]) {
      const options = { ...GREEDY, beamSize: 2, lengthPenalty, maxTokensPerWindow: 8 };
      await expect(model.transcribe(clip, options)).resolves.toHaveProperty('segments');
    }
  });

  it('hints at a misspelled option', async () => {
    const error = await model.transcribe(clip, { temprature: 0 } as never).catch((e: unknown) => e);
    expect((error as WhisperError).message).toBe(
      "Unknown option 'temprature' in options (did you mean 'temperature'?)",
    );
  });
});
