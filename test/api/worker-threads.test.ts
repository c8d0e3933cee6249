// The package in worker_threads: two workers each load the addon and a model
// and transcribe at the same time; each gets the main thread's result, and
// each exits cleanly (the addon's per-thread state is torn down with it).
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { loadModel, type TranscriptionResult } from '../../lib/index.js';
import {
  GREEDY,
  audioPath,
  hasShared,
  randomModelPath,
  readClip,
  repoRoot,
  transcript,
} from '../helpers/shared.js';

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
});
