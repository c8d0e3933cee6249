// lowMemory, loadModel's default: the encoder's weights stay in the model file
// and are repacked for every window. Transcripts equal those of a model loaded
// with lowMemory: false, whose weights are all packed at load (text, tokens,
// timestamps, words), the model says what it is, a file deleted or renamed
// over after the load is no matter, and a file modified on disk under it fails
// the call with ERR_MODEL_CHANGED.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhisperError, loadModel, type WhisperModel } from '../../lib/index.js';
import {
  GREEDY,
  TEST_THREADS,
  hasShared,
  randomModelPath,
  readClip,
  transcript,
} from '../helpers/shared.js';

describe.skipIf(!hasShared)('lowMemory models', () => {
  let normal: WhisperModel; // lowMemory: false
  let low: WhisperModel; // the default
  let jfk: Int16Array;
  beforeAll(async () => {
    normal = await loadModel(randomModelPath, { threads: TEST_THREADS, lowMemory: false });
    low = await loadModel(randomModelPath, { threads: TEST_THREADS });
    jfk = await readClip('jfk');
  });
  afterAll(async () => {
    await normal?.close();
    await low?.close();
  });

  it('report the mode and hold the encoder weights out of memory', () => {
    expect(normal.info.lowMemory).toBe(false);
    expect(low.info.lowMemory).toBe(true);
    // The encoder's matrices and positional embedding: 17.5 MB of 77 MB.
    expect(normal.info.weightBytes - low.info.weightBytes).toBeGreaterThan(17e6);
  });

  it('transcribe jfk.wav exactly like a lowMemory: false model', async () => {
    const expected = transcript(await normal.transcribe(jfk, GREEDY));
    const ours = transcript(await low.transcribe(jfk, GREEDY));
    expect(expected.segments.length).toBeGreaterThan(0);
    expect(ours).toEqual(expected);
    // Twice: the second window reads the file again.
    expect(transcript(await low.transcribe(jfk, GREEDY))).toEqual(expected);
  });

  it('give the same word timestamps', async () => {
    const options = { ...GREEDY, wordTimestamps: true };
    const expected = transcript(await normal.transcribe(jfk, options));
    expect(transcript(await low.transcribe(jfk, options))).toEqual(expected);
  });

  it('keep transcribing after their file is deleted or renamed over (the model keeps the file it opened)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'whisper-native-low-memory-'));
    const deleted = path.join(dir, 'deleted.bin');
    const replaced = path.join(dir, 'replaced.bin');
    const other = path.join(dir, 'other.bin');
    try {
      fs.copyFileSync(randomModelPath, deleted);
      fs.copyFileSync(randomModelPath, replaced);
      const models = [await loadModel(deleted, { threads: TEST_THREADS })];
      models.push(await loadModel(replaced, { threads: TEST_THREADS }));
      try {
        fs.rmSync(deleted);
        // Another file of the same size renamed over it: zeros, so reading its weights would show.
        fs.writeFileSync(other, Buffer.alloc(fs.statSync(randomModelPath).size));
        fs.renameSync(other, replaced);
        const expected = transcript(await normal.transcribe(jfk, GREEDY));
        for (const model of models) {
          expect(model.info.lowMemory).toBe(true);
          expect(transcript(await model.transcribe(jfk, GREEDY))).toEqual(expected);
        }
      } finally {
        for (const model of models) await model.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fail with ERR_MODEL_CHANGED once the file is truncated on disk', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'whisper-native-low-memory-'));
    const copy = path.join(dir, 'model.bin');
    try {
      fs.copyFileSync(randomModelPath, copy);
      const model = await loadModel(copy, { threads: TEST_THREADS });
      fs.truncateSync(copy, fs.statSync(copy).size / 2);
      const error = await model.transcribe(jfk, GREEDY).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WhisperError);
      expect((error as WhisperError).code).toBe('ERR_MODEL_CHANGED');
      expect((error as WhisperError).message).toContain(copy);
      await model.close();
      // The process is fine, and so is a model loaded without lowMemory.
      expect(transcript(await normal.transcribe(jfk, GREEDY)).text).toBeTypeOf('string');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the lowMemory option', () => {
  it('must be a boolean', async () => {
    const error = await loadModel('x.bin', { lowMemory: 'yes' as unknown as boolean }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WhisperError);
    expect((error as WhisperError).code).toBe('ERR_INVALID_ARG_TYPE');
    expect((error as WhisperError).message).toBe(
      "Expected boolean for lowMemory but received type string ('yes')",
    );
    const misspelled = await loadModel('x.bin', { lowMemroy: true } as never).catch(
      (e: unknown) => e,
    );
    expect((misspelled as WhisperError).message).toBe(
      "Unknown option 'lowMemroy' in options (did you mean 'lowMemory'?)",
    );
  });
});
