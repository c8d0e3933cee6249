// Every clip in shared/audio transcribed with the random model: the text is
// meaningless, so this checks structure: segments in order, not overlapping,
// inside the audio; valid UTF-8; token ids in the vocabulary; text = segments.
// With WHISPER_REAL_MODEL, jfk.wav must give the reference transcript.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type TranscriptionResult, type WhisperModel } from '../../lib/index.js';
import {
  GREEDY,
  TEST_THREADS,
  audioClips,
  hasShared,
  randomModelPath,
  readClip,
  transcript,
} from '../helpers/shared.js';

const JFK_REFERENCE =
  'And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.';

function isWellFormedUtf16(text: string): boolean {
  // No lone surrogates (what String.prototype.isWellFormed checks, Node >= 20).
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

function checkStructure(result: TranscriptionResult, nSamples: number, nVocab: number) {
  const duration = nSamples / 16000;
  expect(result.duration).toBeCloseTo(duration, 6);
  let previousEnd = 0;
  for (const segment of result.segments) {
    expect(segment.start).toBeGreaterThanOrEqual(previousEnd);
    expect(segment.end).toBeGreaterThanOrEqual(segment.start);
    expect(segment.end).toBeLessThanOrEqual(duration + 1e-9);
    previousEnd = segment.end;
    for (const token of segment.tokens) {
      expect(Number.isInteger(token.id) && token.id >= 0 && token.id < nVocab).toBe(true);
      expect(token.p).toBeGreaterThanOrEqual(0);
      expect(token.p).toBeLessThanOrEqual(1);
    }
  }
  // The engine hands N-API UTF-8; invalid bytes would come back as U+FFFD.
  expect(result.text).not.toContain('\uFFFD');
  expect(isWellFormedUtf16(result.text)).toBe(true);
  expect(Buffer.from(result.text, 'utf8').toString('utf8')).toBe(result.text);
  expect(result.text).toBe(result.segments.map((s) => s.text).join(''));
}

describe.skipIf(!hasShared)('transcribe every clip (random model)', () => {
  let model: WhisperModel;
  beforeAll(async () => {
    // One thread each, two calls at a time: on 2 cores that beats two calls
    // taking turns on a 2-thread pool (single-token decoder steps are too
    // small to split well).
    model = await loadModel(randomModelPath, { threads: 1 });
  });
  afterAll(() => model?.close());

  const clips = audioClips();
  it('finds the clips', () => {
    expect(clips.length).toBeGreaterThanOrEqual(50);
  });

  // Two at a time (vitest.config.ts: maxConcurrency): both share the model.
  it.concurrent.each(clips)('%s', async (name) => {
    const samples = await readClip(name);
    const result = await model.transcribe(samples, GREEDY);
    checkStructure(result, samples.length, model.info.hparams.nVocab);
    // Every clip holds speech, and the random model always emits text.
    expect(result.segments.length).toBeGreaterThan(0);
  });

  it('accepts the same audio as Int16Array, s16le Buffer and Float32Array alike', async () => {
    const samples = await readClip('pocketsphinx_cards_001');
    const asBuffer = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    const asFloat = Float32Array.from(samples, (s) => s / 32768);
    const [a, b, c] = await Promise.all([
      model.transcribe(samples, GREEDY),
      model.transcribe(asBuffer, GREEDY),
      model.transcribe(asFloat, GREEDY),
    ]);
    expect(transcript(b)).toEqual(transcript(a));
    expect(transcript(c)).toEqual(transcript(a));
  });
});

describe.skipIf(!hasShared)('timings', () => {
  let model: WhisperModel;
  beforeAll(async () => {
    model = await loadModel(randomModelPath, { threads: TEST_THREADS });
  });
  afterAll(() => model?.close());

  it('says where the time went: one encoder pass, a decoder step per token after the prompt', async () => {
    const result = await model.transcribe(await readClip('jfk'), GREEDY);
    const t = result.timings;
    expect(t.encoderPasses).toBe(1);
    expect(t.encodeMs).toBeGreaterThan(0);
    expect(t.decodeMs).toBeGreaterThan(0);
    expect(t.alignMs).toBe(0);
    expect(t.encodeMs + t.decodeMs).toBeLessThanOrEqual(t.totalMs);
    // Greedy, one candidate: every sampled token but the last was fed back,
    // and the segments hold the sampled tokens (eot aside) of the one window.
    const tokens = result.segments.reduce((n, s) => n + s.tokens.length, 0);
    expect(t.decoderSteps).toBeGreaterThanOrEqual(tokens - 1);
    expect(t.decoderSteps).toBeLessThanOrEqual(224);
  });

  it('counts every window, fallback candidate and word-timing pass', async () => {
    const clip = await readClip('osr_us_000_0034_8k'); // 36 s: two windows
    const greedy = await model.transcribe(clip, GREEDY);
    expect(greedy.timings.encoderPasses).toBe(2);
    const short = { maxTokensPerWindow: 24 };
    const timed = await model.transcribe(clip, { ...GREEDY, ...short, wordTimestamps: true });
    expect(timed.timings.alignMs).toBeGreaterThan(0);
    // Two candidates at one fallback temperature decode at least twice the steps.
    const hot = await model.transcribe(clip, { ...short, temperature: [1], bestOf: 2, seed: 3 });
    const hotTokens = hot.segments.reduce((n, s) => n + s.tokens.length, 0);
    expect(hot.timings.decoderSteps).toBeGreaterThan(hotTokens);
  });

  it('is all zero for empty audio', async () => {
    const result = await model.transcribe(new Int16Array(0), GREEDY);
    expect(Object.values(result.timings).every((v) => v === 0)).toBe(true);
  });
});

const realModel = process.env.WHISPER_REAL_MODEL;
describe.skipIf(!hasShared)('real tiny.en model (WHISPER_REAL_MODEL)', () => {
  it.runIf(Boolean(realModel))('transcribes jfk.wav to the reference text', async () => {
    const model = await loadModel(realModel!, { threads: TEST_THREADS });
    try {
      const result = await model.transcribe(await readClip('jfk'));
      expect(result.text.trim()).toBe(JFK_REFERENCE);
    } finally {
      await model.close();
    }
  });
});
