// Calls run on threads of their own, so the environments they belong to can
// go away under them: a terminated Worker stops its transcription at once
// (instead of waiting for its end), and process.exit() in the middle of one
// exits at once with its code (no crash while static objects are destroyed).
import { spawn } from 'node:child_process';
import path from 'node:path';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { hasShared, randomModelPath, repoRoot, sharedDir } from '../helpers/shared.js';

// Node 20's worker teardown unregisters a Worker's isolate from the platform
// before it disposes of it (node_worker.cc, ~WorkerThreadData), and a V8
// background compile job still running in between aborts the whole process
// (NodePlatform::ForIsolate: "Assertion failed: (data.first) != nullptr"). Any
// Worker terminated while V8 optimizes its JS can hit this, addon or not; it
// took down a run of this suite once, now that a Worker with a transcription in
// flight is let go at once. Workers created after this line compile on their
// own thread, so the tests here check the addon, not that race.
v8.setFlagsFromString('--no-concurrent-recompilation');

// 234 s of speech: ~8 windows, several seconds of work on one thread.
const LONG_AUDIO = path.join(sharedDir, 'audio-long', 'vosk_lucier.wav');
const ENTRY = path.join(repoRoot, 'dist', 'cjs', 'index.js');

// Loads the model, reads the long file, transcribes it on one thread and
// reports 'transcribing' at the first progress event and 'finished' at the end.
const TRANSCRIBE_LONG = `
const { loadModel, readAudioFile } = require(${JSON.stringify(ENTRY)});
async function transcribeLong(report) {
  const model = await loadModel(${JSON.stringify(randomModelPath)}, { threads: 1 });
  const { samples } = await readAudioFile(${JSON.stringify(LONG_AUDIO)});
  let reported = false;
  await model.transcribe(samples, {
    temperature: 0,
    onProgress() {
      if (!reported) report('transcribing');
      reported = true;
    },
  });
  report('finished');
}
`;

// Waits for `worker` to post 'transcribing', then terminates it: the messages
// posted until then and how long terminate() took.
async function terminateOnceTranscribing(
  worker: Worker,
): Promise<{ messages: string[]; terminateMs: number }> {
  const messages: string[] = [];
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (message: string) => {
      messages.push(message);
      if (message === 'transcribing') resolve();
    });
    worker.once('error', reject);
  });
  const started = performance.now();
  await worker.terminate();
  return { messages, terminateMs: performance.now() - started };
}

describe.skipIf(!hasShared)('when the environment of a running call goes away', () => {
  it('worker.terminate() stops a long transcription within moments, not at its end', async () => {
    const worker = new Worker(
      `${TRANSCRIBE_LONG}
const { parentPort } = require('node:worker_threads');
transcribeLong((message) => parentPort.postMessage(message));`,
      { eval: true },
    );
    const { messages, terminateMs } = await terminateOnceTranscribing(worker);
    // The rest of the transcription takes seconds on this thread; the call's
    // cleanup hook cancels it, and the engine stops within one decoder step
    // or encoder block (~10 ms here). When calls ran on libuv's pool, Node
    // waited for the native work first (~0.9 s here).
    expect(messages).toEqual(['transcribing']);
    expect(terminateMs).toBeLessThan(400);
  });

  it('worker.terminate() stops three calls that share their decoder passes', async () => {
    // One model, three long transcriptions at once: their steps meet in shared
    // passes, run on whichever call's thread comes first. Terminating cancels
    // and joins them one by one; none may wait on another for good.
    const worker = new Worker(
      `
const { parentPort } = require('node:worker_threads');
const { loadModel, readAudioFile } = require(${JSON.stringify(ENTRY)});
(async () => {
  const model = await loadModel(${JSON.stringify(randomModelPath)}, { threads: 2 });
  const { samples } = await readAudioFile(${JSON.stringify(LONG_AUDIO)});
  let progressed = 0;
  const calls = [0, 1, 2].map(() => {
    let reported = false;
    return model.transcribe(samples, {
      temperature: 0,
      onProgress() {
        if (!reported && ++progressed === 3) parentPort.postMessage('transcribing');
        reported = true;
      },
    });
  });
  await Promise.all(calls);
  parentPort.postMessage('finished');
})();`,
      { eval: true },
    );
    const { messages, terminateMs } = await terminateOnceTranscribing(worker);
    // Three times 234 s of audio is tens of seconds of work; each cancelled
    // call stops within a decoder pass or an encoder block.
    expect(messages).toEqual(['transcribing']);
    expect(terminateMs).toBeLessThan(1000);
  });

  it('process.exit() during a transcription exits at once, with its code and no crash', async () => {
    const child = spawn(
      process.execPath,
      [
        '-e',
        `${TRANSCRIBE_LONG}
transcribeLong((message) => {
  if (message === 'transcribing') {
    process.stdout.write('transcribing\\n');
    setTimeout(() => process.exit(7), 50);
  } else {
    process.stdout.write(message + '\\n');
  }
});`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let exitRequested = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('transcribing') && exitRequested === 0) exitRequested = performance.now();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    const exitMs = performance.now() - exitRequested;
    expect(stderr).toBe('');
    expect(stdout).toBe('transcribing\n');
    expect(signal).toBeNull();
    expect(code).toBe(7);
    // The exit handler cancels the call and waits for its thread: one decoder
    // step, not the seconds the transcription had left.
    expect(exitMs).toBeLessThan(1500);
  });
});
