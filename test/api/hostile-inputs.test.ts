// Inputs written to break the binding rather than to transcribe: option getters
// that close the model or change their answer between reads, options that reach
// the addon around the TypeScript checks, samples over a SharedArrayBuffer or a
// detached buffer, a path with a NUL and offsets far past any audio. Each one
// crashed the process, slipped past a check or failed with an untyped error (or
// none) before it was handled; each must now give a typed error or a correct
// result, and the process lives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binding, type NativeModel } from '../../lib/binding.js';
import { WhisperError, loadModel, type WhisperModel } from '../../lib/index.js';
import {
  checkTranscribeOptions,
  type NativeTranscribeOptions,
} from '../../lib/transcribe-options.js';
import { GREEDY, TEST_THREADS, hasShared, randomModelPath, readClip } from '../helpers/shared.js';

const FAST = { ...GREEDY, maxTokensPerWindow: 4 } as const;

async function nativeModel(): Promise<NativeModel> {
  return binding().loadModel(randomModelPath, TEST_THREADS, false, 4).promise;
}

function expectCode(thrown: unknown, code: string): void {
  expect(thrown).toBeInstanceOf(Error);
  expect((thrown as { code?: string }).code).toBe(code);
}

/** What a synchronous call throws (undefined when it returns). */
function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe.skipIf(!hasShared)('hostile inputs to the binding', () => {
  let model: WhisperModel;
  let clip: Int16Array;
  beforeAll(async () => {
    model = await loadModel(randomModelPath, { threads: TEST_THREADS });
    clip = await readClip('pocketsphinx_cards_001');
  });
  afterAll(() => model?.close());

  it('refuses, with ERR_MODEL_CLOSED, a call whose option getter closes the model', async () => {
    const doomed = await loadModel(randomModelPath, { threads: 1 });
    const prompt: number[] = [];
    Object.defineProperty(prompt, 0, {
      enumerable: true,
      get() {
        doomed.close();
        return 50;
      },
    });
    const error = await doomed.transcribe(clip, { ...FAST, initialPrompt: prompt }).catch((e) => e);
    expectCode(error, 'ERR_MODEL_CLOSED');
    expect(error).toBeInstanceOf(WhisperError);
  });

  it('refuses the same in the addon itself, which reads the options before the model', async () => {
    const native = await nativeModel();
    const options = { ...checkTranscribeOptions(FAST).native };
    Object.defineProperty(options, 'initialPrompt', {
      enumerable: true,
      get() {
        native.close();
        return [50, 51];
      },
    });
    expectCode(
      thrownBy(() => native.transcribe(clip, options)),
      'ERR_MODEL_CLOSED',
    );
    expect(native.closed).toBe(true);
  });

  it('reads each option once: a getter cannot pass the check with one value and run with another', async () => {
    const reads: Record<string, number> = {};
    const values: Record<string, [unknown, unknown]> = {
      bestOf: [1, 1e6],
      maxTokensPerWindow: [4, 1e7],
      seed: [1, -1],
      temperature: [[0], [Number.NaN]],
    };
    const options = {};
    for (const [key, [checked, later]] of Object.entries(values)) {
      reads[key] = 0;
      Object.defineProperty(options, key, {
        enumerable: true,
        get() {
          reads[key] = (reads[key] ?? 0) + 1;
          return reads[key] === 1 ? checked : later;
        },
      });
    }
    const result = await model.transcribe(clip, options);
    expect(typeof result.text).toBe('string');
    for (const key of Object.keys(values)) expect(reads[key]).toBe(1);
  });

  it('checks that an array option is checked as copied: later changes to it are not seen', async () => {
    const prompt = [50, 51];
    const options = { ...FAST, initialPrompt: prompt };
    const checked = checkTranscribeOptions(options);
    prompt[0] = -5; // after the check: must not reach the addon
    expect(checked.native.initialPrompt).toEqual([50, 51]);
  });

  it.each([
    ['NaN beamSize', { beamSize: Number.NaN }],
    ['fractional bestOf', { bestOf: 2.5 }],
    ['huge maxTokensPerWindow', { maxTokensPerWindow: 1e300 }],
    ['negative seed', { seed: -1 }],
    ['seed of 2^64', { seed: 2 ** 64 }],
    ['Infinity maxSegmentLength', { maxSegmentLength: Number.POSITIVE_INFINITY }],
    ['a token id of 1e10', { suppressTokens: [1e10] }],
  ])('refuses %s given to the addon directly, with ERR_INVALID_ARG_VALUE', async (_name, bad) => {
    const native = await nativeModel();
    try {
      // As the addon's caller could: the library's types do not allow these.
      const options = { ...checkTranscribeOptions(FAST).native, ...bad } as NativeTranscribeOptions;
      expectCode(
        thrownBy(() => native.transcribe(clip, options)),
        'ERR_INVALID_ARG_VALUE',
      );
    } finally {
      native.close();
    }
  });

  it('transcribes samples over a SharedArrayBuffer as the same samples unshared', async () => {
    const shared = new Int16Array(new SharedArrayBuffer(clip.byteLength));
    shared.set(clip);
    const floats = new Float32Array(new SharedArrayBuffer(clip.length * 4));
    floats.set(Array.from(clip, (s) => s / 32768));
    const [plain, fromShared, fromSharedFloats] = await Promise.all([
      model.transcribe(clip, FAST),
      model.transcribe(shared, FAST),
      model.transcribe(floats, FAST),
    ]);
    expect(fromShared.text).toBe(plain.text);
    expect(fromSharedFloats.text).toBe(plain.text);
    expect(fromShared.segments).toEqual(plain.segments);
  });

  it('refuses samples whose buffer was transferred away, and still takes empty samples', async () => {
    const moved = new Int16Array(16000);
    structuredClone(moved.buffer, { transfer: [moved.buffer] }); // detaches it: length 0
    const error = await model.transcribe(moved, FAST).catch((e: unknown) => e);
    expectCode(error, 'ERR_INVALID_ARG_VALUE');
    expect(error).toBeInstanceOf(WhisperError);
    const empty = await model.transcribe(new Int16Array(0), FAST);
    expect(empty.duration).toBe(0);
    expect(empty.segments).toEqual([]);
  });

  it('refuses a model path with a NUL character, in the library and in the addon', async () => {
    const error = await loadModel(`${randomModelPath}\0.ignored`).catch((e) => e);
    expectCode(error, 'ERR_INVALID_ARG_VALUE');
    expect(error).toBeInstanceOf(WhisperError);
    expectCode(
      thrownBy(() => binding().loadModel(`${randomModelPath}\0.ignored`, 1, false, 1)),
      'ERR_INVALID_ARG_VALUE',
    );
  });

  it('gives the padding window for an offset far past the audio, 1e300 s included', async () => {
    const native = await nativeModel();
    try {
      const far = await native.melWindow(clip, 1e6);
      const farthest = await native.melWindow(clip, 1e300);
      expect(farthest).toEqual(far);
      expect(farthest.every(Number.isFinite)).toBe(true);
    } finally {
      native.close();
    }
  });
});
