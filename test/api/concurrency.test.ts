// Several transcriptions on one model at once: per-call state, shared weights.
// Each must equal what the same call gives alone. Calls run on threads of
// their own, not libuv's pool (which the rest of the process needs), and at
// most LoadOptions.maxConcurrentCalls (4) of a model run at once; the others
// wait in order.
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type TranscriptionResult, type WhisperModel } from '../../lib/index.js';
import {
  GREEDY,
  TEST_THREADS,
  hasShared,
  randomModelPath,
  readClip,
  repoRoot,
  transcript,
} from '../helpers/shared.js';

const CLIPS = ['jfk', 'timit_LDC93S1', 'pocketsphinx_goforward'];

describe.skipIf(!hasShared)('concurrent calls on one model', () => {
  let model: WhisperModel;
  beforeAll(async () => {
    model = await loadModel(randomModelPath, { threads: TEST_THREADS });
  });
  afterAll(() => model?.close());

  it('gives each of three simultaneous transcriptions its solo result', async () => {
    const audio = await Promise.all(CLIPS.map(readClip));
    const solo: TranscriptionResult[] = [];
    for (const samples of audio) solo.push(await model.transcribe(samples, GREEDY));
    // The clips' decodings differ (token probabilities at least; the random
    // model's texts may coincide), so mixed-up state would show.
    expect(new Set(solo.map((r) => JSON.stringify(r.segments))).size).toBe(CLIPS.length);
    // Made together, their decoder steps share passes (StepBatcher): every
    // float of each result (probabilities, logprobs) must still be its solo one.
    const together = await Promise.all(audio.map((samples) => model.transcribe(samples, GREEDY)));
    together.forEach((result, i) => expect(transcript(result)).toEqual(transcript(solo[i]!)));
    // ... and they did share: a call alone shares no step, calls together do.
    for (const r of solo) expect(r.timings.sharedSteps).toBe(0);
    expect(together.some((r) => r.timings.sharedSteps > 0)).toBe(true);
    for (const r of together)
      expect(r.timings.sharedSteps).toBeLessThanOrEqual(r.timings.decoderSteps);
  });

  it('runs encode and logits alongside a transcription without changing either', async () => {
    const samples = await readClip('jfk');
    const mel = await model.melWindow(samples);
    const soloEncoded = await model.encode(mel);
    const soloLogits = await model.logits([50257, 50363, 400], soloEncoded);
    const soloText = (await model.transcribe(samples, GREEDY)).text;
    const [result, encoded, logits] = await Promise.all([
      model.transcribe(samples, GREEDY),
      model.encode(mel),
      model.logits([50257, 50363, 400], soloEncoded),
    ]);
    expect(result.text).toBe(soloText);
    expect(encoded).toEqual(soloEncoded);
    expect(logits).toEqual(soloLogits);
  });

  it("leaves libuv's thread pool to the rest of the process", async () => {
    const samples = await readClip('jfk');
    // As many calls as libuv has threads (4 unless UV_THREADPOOL_SIZE says
    // otherwise): on libuv's pool they would hold all of its threads, and the
    // file read below would wait for one of them to end.
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const order: string[] = [];
    const calls = Array.from({ length: threads }, () =>
      model.transcribe(samples, GREEDY).then(() => order.push('transcription')),
    );
    await readFile(path.join(repoRoot, 'package.json'));
    order.push('readFile');
    await Promise.all(calls);
    expect(order[0]).toBe('readFile');
  });

  it('runs more calls than run at once, each with its solo result', async () => {
    const audio = await Promise.all(CLIPS.map(readClip));
    const solo = await Promise.all(audio.map((samples) => model.transcribe(samples, GREEDY)));
    // 9 calls: 4 run, 5 wait their turn.
    const calls = Array.from({ length: 9 }, (_, i) => model.transcribe(audio[i % 3]!, GREEDY));
    const results = await Promise.all(calls);
    results.forEach((result, i) => expect(transcript(result)).toEqual(transcript(solo[i % 3]!)));
  });

  it('aborts one call mid-run without changing the calls that shared its passes', async () => {
    const audio = await Promise.all(CLIPS.slice(0, 2).map(readClip));
    const solo: TranscriptionResult[] = [];
    for (const samples of audio) solo.push(await model.transcribe(samples, GREEDY));
    // A long call (several windows, seconds of work) aborted while the two
    // short ones decode alongside it, their steps in the same passes.
    const long = await readClip('jfk');
    const longer = new Int16Array(long.length * 6);
    for (let i = 0; i < 6; i++) longer.set(long, i * long.length);
    const controller = new AbortController();
    const aborted = model.transcribe(longer, { ...GREEDY, signal: controller.signal });
    const others = audio.map((samples) => model.transcribe(samples, GREEDY));
    setTimeout(() => controller.abort(), 300);
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    const results = await Promise.all(others);
    results.forEach((result, i) => expect(transcript(result)).toEqual(transcript(solo[i]!)));
    expect(results.some((r) => r.timings.sharedSteps > 0)).toBe(true);
  });

  it('rejects an aborted call that waits its turn at once, not when a slot frees', async () => {
    const samples = await readClip('jfk');
    let firstRanAt = Infinity;
    const running = Array.from({ length: 4 }, () =>
      model.transcribe(samples, GREEDY).then(() => {
        firstRanAt = Math.min(firstRanAt, performance.now());
      }),
    );
    const controller = new AbortController();
    const waiting = model.transcribe(samples, { ...GREEDY, signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    const abortedAt = performance.now();
    await Promise.all(running);
    // The four running calls take over a second together; the waiting one
    // leaves the queue as soon as abort() wakes the gate. (Had it waited for a
    // slot, it would have been rejected as the first running call ended.)
    expect(firstRanAt - abortedAt).toBeGreaterThan(300);
  });

  it('runs calls one after another with maxConcurrentCalls: 1, in call order', async () => {
    const serial = await loadModel(randomModelPath, {
      threads: TEST_THREADS,
      maxConcurrentCalls: 1,
    });
    try {
      expect(serial.info.maxConcurrentCalls).toBe(1);
      expect(model.info.maxConcurrentCalls).toBe(4);
      const samples = await readClip('jfk');
      const events: string[] = [];
      // Each call reports its first progress event and its end: with one call
      // at a time, every call ends before the next one reports anything.
      const calls = [0, 1, 2].map((i) => {
        let started = false;
        return serial
          .transcribe(samples, {
            ...GREEDY,
            onProgress: () => {
              if (!started) events.push(`start ${i}`);
              started = true;
            },
          })
          .then((result) => {
            events.push(`end ${i}`);
            return result;
          });
      });
      const results = await Promise.all(calls);
      expect(events).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
      // One call at a time: no decoder step had another call's to share a pass with.
      for (const r of results) expect(r.timings.sharedSteps).toBe(0);
    } finally {
      await serial.close();
    }
  });

  it.skipIf(process.platform !== 'linux')(
    'holds no thread for a call that waits its turn, and an abort takes it out of the queue',
    async () => {
      const serial = await loadModel(randomModelPath, {
        threads: TEST_THREADS,
        maxConcurrentCalls: 1,
      });
      try {
        const threads = () => readdirSync('/proc/self/task').length;
        const samples = await readClip('jfk');
        const before = threads();
        const controller = new AbortController();
        const calls = Array.from({ length: 40 }, () =>
          serial.transcribe(samples, { ...GREEDY, signal: controller.signal }).then(
            () => 'ran',
            (e: unknown) => (e as Error).name,
          ),
        );
        // One call runs (one thread of its own); 39 wait with no thread.
        expect(threads() - before).toBeLessThanOrEqual(2);
        controller.abort();
        const outcomes = await Promise.all(calls);
        expect(outcomes.filter((o) => o === 'AbortError').length).toBeGreaterThanOrEqual(39);
      } finally {
        await serial.close();
      }
    },
  );

  it('lets two models share the process, each with its own pool', async () => {
    const other = await loadModel(randomModelPath, { threads: 1 });
    try {
      const samples = await readClip('timit_LDC93S1');
      const [a, b] = await Promise.all([
        model.transcribe(samples, GREEDY),
        other.transcribe(samples, GREEDY),
      ]);
      expect(transcript(b)).toEqual(transcript(a));
    } finally {
      await other.close();
    }
  });
});
