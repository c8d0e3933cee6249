// Host robustness of the newer surfaces on edge inputs and option mixes:
// word timestamps combined with the other decoding options and odd audio
// lengths, streams run concurrently or closed under, and detectLanguage on
// inputs that must give a typed error or a well-formed answer. Each case could
// crash the process, hang or return malformed words; the assertions check the
// invariants every result must keep. Kept short: the random model, greedy,
// few tokens per window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhisperError, loadModel, type Segment, type WhisperModel } from '../../lib/index.js';
import { GREEDY, TEST_THREADS, hasShared, randomModelPath, readClip } from '../helpers/shared.js';

const FAST = { ...GREEDY, maxTokensPerWindow: 8 } as const;

function expectWellFormedWords(segments: Segment[], audioSeconds: number): void {
  for (const s of segments) {
    expect(s.start).toBeGreaterThanOrEqual(0);
    expect(s.end).toBeGreaterThanOrEqual(s.start);
    expect(s.end).toBeLessThanOrEqual(audioSeconds + 1e-6);
    expect(Array.isArray(s.words)).toBe(true);
    let previousEnd = s.start;
    for (const w of s.words!) {
      expect(Number.isFinite(w.start) && Number.isFinite(w.end)).toBe(true);
      expect(w.start).toBeGreaterThanOrEqual(previousEnd);
      expect(w.end).toBeGreaterThanOrEqual(w.start);
      expect(w.end).toBeLessThanOrEqual(s.end + 1e-6);
      expect(w.probability).toBeGreaterThanOrEqual(0);
      expect(w.probability).toBeLessThanOrEqual(1);
      previousEnd = w.end;
    }
  }
}

describe.skipIf(!hasShared)('robustness of word timestamps, streams and detectLanguage', () => {
  let model: WhisperModel;
  let clip: Int16Array; // 1.1 s
  beforeAll(async () => {
    model = await loadModel(randomModelPath, { threads: TEST_THREADS });
    clip = await readClip('pocketsphinx_cards_001');
  });
  afterAll(() => model?.close());

  it.each([
    ['beamSize 2', { beamSize: 2 }],
    ['withoutTimestamps', { withoutTimestamps: true }],
    ['singleSegment, offset and duration', { singleSegment: true, offset: 0.5, duration: 1 }],
  ])('gives well-formed words with wordTimestamps and %s', async (_name, extra) => {
    const result = await model.transcribe(clip, { ...FAST, ...extra, wordTimestamps: true });
    expectWellFormedWords(result.segments, clip.length / 16000);
    if ('offset' in extra) {
      for (const s of result.segments) {
        expect(s.start).toBeGreaterThanOrEqual(0.5);
        expect(s.end).toBeLessThanOrEqual(1.5 + 1e-6);
      }
    }
  });

  it.each([
    ['100 samples', new Float32Array(100).map((_, i) => Math.sin(i) * 0.3)],
    ['silence', new Float32Array(8000)],
  ])('times words of very short or silent audio (%s) without failing', async (_name, audio) => {
    const result = await model.transcribe(audio, { ...FAST, wordTimestamps: true });
    expectWellFormedWords(result.segments, audio.length / 16000);
  });

  it('times words across windows of a clip longer than 30 s', async () => {
    const long = await readClip('osr_us_000_0034_8k'); // 35 s
    const seconds = long.length / 16000;
    const result = await model.transcribe(long, { ...FAST, wordTimestamps: true });
    expectWellFormedWords(result.segments, seconds);
    for (let i = 1; i < result.segments.length; i++) {
      expect(result.segments[i]!.start).toBeGreaterThanOrEqual(result.segments[i - 1]!.end);
    }
    expect(result.segments.at(-1)!.start).toBeGreaterThan(30); // a later window was timed too
  });

  it('runs two streams on one model at once, each giving its own run', async () => {
    const collect = async () => {
      const out: Segment[] = [];
      for await (const s of model.transcribeStream(clip, FAST)) out.push(s);
      return out;
    };
    const [a, b] = await Promise.all([collect(), collect()]);
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
  });

  it('lets a stream in flight finish after close(), and refuses new ones', async () => {
    const local = await loadModel(randomModelPath, { threads: TEST_THREADS });
    const stream = local.transcribeStream(clip, FAST);
    const closed = local.close();
    const got: Segment[] = [];
    for await (const s of stream) got.push(s);
    await closed;
    expect(got.length).toBeGreaterThan(0);
    expect(() => local.transcribeStream(clip, FAST)).toThrow(WhisperError);
  });

  it('ends a stream broken out of after close() and settles close()', async () => {
    const local = await loadModel(randomModelPath, { threads: TEST_THREADS });
    const stream = local.transcribeStream(clip, { ...GREEDY, maxTokensPerWindow: 100 });
    const closed = local.close();
    await stream.return!();
    await closed;
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('ends a stream after return() even when its run had already failed', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const stream = model.transcribeStream(clip, { ...FAST, signal: controller.signal });
    // The failure was never reported: return() ends the stream all the same.
    expect(await stream.return!()).toEqual({ done: true, value: undefined });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('answers detectLanguage on empty, long and invalid audio with results or typed errors', async () => {
    expect(await model.detectLanguage(new Float32Array(0))).toEqual([
      { language: 'en', probability: 1 },
    ]);
    const inf = new Float32Array(10);
    inf[9] = Number.POSITIVE_INFINITY;
    const e = await model.detectLanguage(inf).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(WhisperError);
    expect((e as WhisperError).code).toBe('ERR_INVALID_AUDIO');
    const odd = await model.detectLanguage(Buffer.alloc(3)).catch((error: unknown) => error);
    expect((odd as WhisperError).code).toBe('ERR_INVALID_ARG_VALUE');
  });
});
