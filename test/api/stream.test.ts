// model.transcribeStream(): segments as an async iterator, the same ones
// transcribe() returns; leaving the loop early cancels the native run; aborts
// and errors reject next().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhisperError, loadModel, type Segment, type WhisperModel } from '../../lib/index.js';
import { GREEDY, TEST_THREADS, hasShared, randomModelPath, readClip } from '../helpers/shared.js';

// Few tokens per window keep each window quick; the random model never stops early.
const QUICK = { ...GREEDY, maxTokensPerWindow: 20 } as const;

describe.skipIf(!hasShared)('transcribeStream', () => {
  let model: WhisperModel;
  let clip: Int16Array; // 35 s: two windows
  let long: Int16Array; // the clip three times: four windows
  beforeAll(async () => {
    model = await loadModel(randomModelPath, { threads: TEST_THREADS });
    clip = await readClip('osr_us_000_0034_8k');
    long = new Int16Array(clip.length * 3);
    for (let i = 0; i < 3; i++) long.set(clip, i * clip.length);
  });
  afterAll(() => model?.close());

  it('yields the segments transcribe() returns, in order', async () => {
    const expected = await model.transcribe(clip, QUICK);
    expect(expected.segments.length).toBeGreaterThan(1);
    const streamed: Segment[] = [];
    const seenByCallback: Segment[] = [];
    for await (const segment of model.transcribeStream(clip, {
      ...QUICK,
      onSegment: (s) => seenByCallback.push(s),
    })) {
      streamed.push(segment);
    }
    expect(streamed).toEqual(expected.segments);
    expect(seenByCallback).toEqual(expected.segments);
  });

  it('cancels the native run when the loop is left early', async () => {
    const progress: number[] = [];
    let received = 0;
    for await (const segment of model.transcribeStream(long, {
      ...QUICK,
      onProgress: (f) => progress.push(f),
    })) {
      expect(segment.start).toBeLessThan(30);
      received++;
      break; // return(): resolves once the native side has stopped
    }
    expect(received).toBe(1);
    const reported = progress.length;
    // The run stopped in its second window at the latest: it never reached the end.
    expect(Math.max(0, ...progress)).toBeLessThan(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(progress.length).toBe(reported); // nothing more arrives after return()
    // The model has nothing left in flight: a new run works at once.
    expect((await model.transcribe(clip, QUICK)).segments.length).toBeGreaterThan(0);
  });

  it('ends with the iterator after return() and gives nothing more', async () => {
    const stream = model.transcribeStream(clip, QUICK);
    const first = await stream.next();
    expect(first.done).toBe(false);
    expect(await stream.return!()).toEqual({ done: true, value: undefined });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('rejects next() with signal.reason when aborted mid-stream', async () => {
    const controller = new AbortController();
    const reason = new Error('stop here');
    const received: Segment[] = [];
    const consume = async () => {
      for await (const segment of model.transcribeStream(long, {
        ...QUICK,
        signal: controller.signal,
      })) {
        received.push(segment);
        if (received.length === 1) controller.abort(reason);
      }
    };
    await expect(consume()).rejects.toBe(reason);
    expect(received.length).toBeGreaterThanOrEqual(1);
  });

  it('rejects the first next() when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const stream = model.transcribeStream(clip, { ...QUICK, signal: controller.signal });
    await expect(stream.next()).rejects.toBe(controller.signal.reason);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('rejects next() with the run error and then ends', async () => {
    const samples = new Float32Array(16000);
    samples[100] = Number.NaN;
    const stream = model.transcribeStream(samples, QUICK);
    const error = await stream.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WhisperError);
    expect((error as WhisperError).code).toBe('ERR_INVALID_AUDIO');
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('throws at once for invalid arguments', () => {
    expect(() => model.transcribeStream('audio' as never)).toThrow(WhisperError);
    expect(() => model.transcribeStream(clip, { beamSize: -1 })).toThrow(
      'Expected an integer between 0 and 100 for options.beamSize but received -1',
    );
  });
});
