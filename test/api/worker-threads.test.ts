// The package in worker_threads: two workers each load the addon and a model
// and transcribe at the same time; each gets the main thread's result, and
// each exits cleanly (the addon's per-thread state is torn down with it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { loadModel, parseWav, type TranscriptionResult } from '../../lib/index.js';
import { buildWav } from '../audio/wav-writer.js';
import {
  GREEDY,
  audioPath,
  hasShared,
  randomModelPath,
  readClip,
  repoRoot,
  transcript,
} from '../helpers/shared.js';

// Node 20's worker teardown unregisters a Worker's isolate from the platform
// before it disposes of it (node_worker.cc, ~WorkerThreadData), and a V8
// background compile job still running in between aborts the whole process
// (NodePlatform::ForIsolate: "Assertion failed: (data.first) != nullptr"). Any
// Worker terminated while V8 optimizes its JS can hit this, addon or not; it
// took down a run of this suite once, now that a Worker with a transcription in
// flight is let go at once. Workers created after this line compile on their
// own thread, so the tests here check the addon, not that race.
v8.setFlagsFromString('--no-concurrent-recompilation');

// CommonJS run by each worker: the published entry point (dist/), as an
// application's worker would require it.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { loadModel, readAudioFile } = require(workerData.entry);
(async () => {
  const model = await loadModel(workerData.model, { threads: 1 });
  const { samples } = await readAudioFile(workerData.audio);
  const result = await model.transcribe(samples, { temperature: 0 });
  await model.close();
  parentPort.postMessage(result);
})().catch((error) => parentPort.postMessage({ error: String(error && error.stack) }));
`;

function transcribeInWorker(
  clip: string,
): Promise<{ result: TranscriptionResult; exitCode: number }> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      entry: path.join(repoRoot, 'dist', 'cjs', 'index.js'),
      model: randomModelPath,
      audio: audioPath(clip),
    },
  });
  return new Promise((resolve, reject) => {
    let result = {} as TranscriptionResult;
    worker.once('message', (message: { error?: string }) => {
      if (message.error !== undefined) reject(new Error(message.error));
      result = message as TranscriptionResult;
    });
    worker.once('error', reject);
    worker.once('exit', (exitCode) => resolve({ result, exitCode }));
  });
}

describe.skipIf(!hasShared)('worker_threads', () => {
  it('two workers load a model each and transcribe at once, as the main thread does', async () => {
    const model = await loadModel(randomModelPath, { threads: 2 });
    const expected = await model.transcribe(await readClip('jfk'), GREEDY);
    await model.close();
    expect(expected.segments.length).toBeGreaterThan(0);

    const runs = await Promise.all([transcribeInWorker('jfk'), transcribeInWorker('jfk')]);
    for (const { result, exitCode } of runs) {
      expect(exitCode).toBe(0);
      expect(transcript(result)).toEqual(transcript(expected));
    }
  });

  // readAudioFile resamples on the addon's worker threads. A worker_threads
  // Worker terminated meanwhile frees its JS memory while that work runs:
  // the work must hold none of it (resample_worker.h copies in and out on
  // the JS thread), or this process would fault.
  it('a worker terminated while it resamples a WAV file leaves the process running', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wn-worker-'));
    try {
      const rate = 44100;
      const values = Int16Array.from({ length: rate * 180 }, (_, i) => Math.sin(i / 9) * 9000);
      const wavPath = path.join(dir, 'long.wav');
      writeFileSync(
        wavPath,
        buildWav({
          formatTag: 1,
          channels: 1,
          sampleRate: rate,
          bitsPerSample: 16,
          data: new Uint8Array(values.buffer),
        }),
      );
      const source = `
const { parentPort, workerData } = require('node:worker_threads');
const { readAudioFile } = require(workerData.entry);
parentPort.postMessage('reading');
readAudioFile(workerData.audio).then(() => parentPort.postMessage('done'));
`;
      const exits: number[] = [];
      for (const delay of [20, 60, 120, 200, 300, 450]) {
        const worker = new Worker(source, {
          eval: true,
          workerData: { entry: path.join(repoRoot, 'dist', 'cjs', 'index.js'), audio: wavPath },
        });
        await new Promise<void>((resolve) => worker.once('message', () => resolve()));
        await new Promise((resolve) => setTimeout(resolve, delay));
        exits.push(await worker.terminate());
      }
      expect(exits).toHaveLength(6);
      // Still alive, and the addon still works here.
      const short = buildWav({
        formatTag: 1,
        channels: 1,
        sampleRate: rate,
        bitsPerSample: 16,
        data: new Uint8Array(new Int16Array(4410).buffer),
      });
      expect(parseWav(short).samples.length).toBe(1600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The same for the engine's calls: a Worker terminated while it loads a
  // model, or transcribes with progress and segment callbacks queued.
  it('a worker terminated while it loads or transcribes leaves the process running', async () => {
    const source = `
const { parentPort, workerData } = require('node:worker_threads');
const { loadModel, readAudioFile } = require(workerData.entry);
(async () => {
  parentPort.postMessage('loading');
  const model = await loadModel(workerData.model, { threads: 1 });
  const { samples } = await readAudioFile(workerData.audio);
  parentPort.postMessage('transcribing');
  await model.transcribe(samples, { temperature: 0, onProgress() {}, onSegment() {} });
})();
`;
    let terminated = 0;
    for (const [stage, delay] of [
      ['loading', 5],
      ['transcribing', 30],
      ['transcribing', 150],
      ['transcribing', 300],
    ] as const) {
      const worker = new Worker(source, {
        eval: true,
        workerData: {
          entry: path.join(repoRoot, 'dist', 'cjs', 'index.js'),
          model: randomModelPath,
          audio: audioPath('jfk'),
        },
      });
      await new Promise<void>((resolve) =>
        worker.on('message', (message) => message === stage && resolve()),
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      await worker.terminate();
      terminated++;
    }
    expect(terminated).toBe(4);
    // Still alive, and the addon still works here.
    const model = await loadModel(randomModelPath, { threads: 1 });
    expect((await model.transcribe(await readClip('jfk'), GREEDY)).segments.length).toBeGreaterThan(
      0,
    );
    await model.close();
  });
});
