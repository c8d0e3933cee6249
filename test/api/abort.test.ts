// AbortSignal and the progress/segment callbacks of transcribe().
import { isMainThread } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type Segment, type WhisperModel } from '../../lib/index.js';
import { GREEDY, TEST_THREADS, hasShared, randomModelPath, readClip } from '../helpers/shared.js';

describe.skipIf(!hasShared)('abort and callbacks', () => {
  let model: WhisperModel;
  beforeAll(async () => {
    model = await loadModel(randomModelPath, { threads: TEST_THREADS });
  });
  afterAll(() => model?.close());

  it('rejects at once with signal.reason when the signal is already aborted', async () => {
    const samples = await readClip('jfk');
    const signal = AbortSignal.abort();
    const started = performance.now();
    const error = await model.transcribe(samples, { signal }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(50);
    expect(error).toBe(signal.reason);
    expect((error as DOMException).name).toBe('AbortError');
  });

  it('rejects with a custom abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('user pressed stop');
    controller.abort(reason);
    await expect(
      model.transcribe(await readClip('jfk'), { signal: controller.signal }),
    ).rejects.toBe(reason);
  });

  it('stops a running transcription quickly when aborted mid-run', async () => {
    // 35 s: two windows.
    const samples = await readClip('osr_us_000_0034_8k');
    const controller = new AbortController();
    let abortedAt = 0;
    // Abort from the first progress report (the end of window 1 of 2): the
    // run is then certainly in flight, however fast the machine is.
    const run = model.transcribe(samples, {
      ...GREEDY,
      signal: controller.signal,
      onProgress: (fraction) => {
        if (abortedAt === 0 && fraction < 1) {
          abortedAt = performance.now();
          controller.abort();
        }
      },
    });
    const error = await run.catch((e: unknown) => e);
    expect(abortedAt).toBeGreaterThan(0);
    const latency = performance.now() - abortedAt;
    expect(error).toBe(controller.signal.reason);
    expect((error as DOMException).name).toBe('AbortError');
    expect(latency).toBeLessThan(200);
    // The model is still usable afterwards.
    const again = await model.transcribe(await readClip('pocketsphinx_cards_001'), GREEDY);
    expect(again.segments.length).toBeGreaterThan(0);
  });

  it('ignores an abort that comes after the transcription finished', async () => {
    const controller = new AbortController();
    const result = await model.transcribe(await readClip('timit_LDC93S1'), {
      ...GREEDY,
      signal: controller.signal,
    });
    controller.abort();
    expect(result.segments.length).toBeGreaterThan(0);
  });

  it('calls onProgress and onSegment on the JS thread, in order, with sane values', async () => {
    const samples = await readClip('osr_us_000_0034_8k'); // two windows
    const progress: number[] = [];
    const segments: Segment[] = [];
    let returned = false;
    let calledBeforeReturn = false;
    const events: string[] = [];
    const result = model.transcribe(samples, {
      ...GREEDY,
      onProgress: (fraction) => {
        calledBeforeReturn ||= !returned;
        expect(isMainThread).toBe(true);
        progress.push(fraction);
        events.push('progress');
      },
      onSegment: (segment) => {
        calledBeforeReturn ||= !returned;
        segments.push(segment);
        events.push('segment');
      },
    });
    returned = true;
    const final = await result;
    // Callbacks come later, from the event loop, never inside transcribe().
    expect(calledBeforeReturn).toBe(false);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < progress.length; i++) {
      expect(progress[i]).toBeGreaterThan(0);
      expect(progress[i]).toBeLessThanOrEqual(1);
      if (i > 0) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]!);
    }
    expect(progress.at(-1)).toBe(1);
    // Segments arrive as they are final: some before the last progress event.
    expect(events.indexOf('segment')).toBeLessThan(events.lastIndexOf('progress'));
    expect(segments).toEqual(final.segments);
  });

  it('rejects with what a callback threw, and stops the run', async () => {
    const samples = await readClip('osr_us_000_0034_8k');
    const thrown = new Error('callback failed');
    let calls = 0;
    const started = performance.now();
    const error = await model
      .transcribe(samples, {
        ...GREEDY,
        onSegment: () => {
          calls++;
          throw thrown;
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBe(thrown);
    expect(calls).toBe(1);
    expect(performance.now() - started).toBeLessThan(60_000);
  });
});

describe.skipIf(!hasShared)('aborting loadModel', () => {
  it('rejects at once with signal.reason when the signal is already aborted', async () => {
    const signal = AbortSignal.abort();
    await expect(loadModel(randomModelPath, { signal })).rejects.toBe(signal.reason);
  });

  it('rejects with the reason of an abort made while the model loads', async () => {
    const controller = new AbortController();
    const reason = new Error('the user picked another model');
    const loading = loadModel(randomModelPath, {
      threads: TEST_THREADS,
      signal: controller.signal,
    });
    controller.abort(reason);
    // Stopped between packing jobs, or, had the load already ended, its model
    // closed: either way the caller gets the reason and no model.
    await expect(loading).rejects.toBe(reason);
  });

  it('ignores an abort that comes after the model loaded, and the model works', async () => {
    const controller = new AbortController();
    const model = await loadModel(randomModelPath, {
      threads: TEST_THREADS,
      signal: controller.signal,
    });
    controller.abort();
    expect((await model.transcribe(await readClip('jfk'), GREEDY)).segments.length).toBeGreaterThan(
      0,
    );
    await model.close();
  });

  it('rejects a signal that is not an AbortSignal', async () => {
    await expect(
      loadModel(randomModelPath, { signal: {} as unknown as AbortSignal }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});
