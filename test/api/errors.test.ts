// Every documented failure reaches the caller as a WhisperError with its code
// (and, where practical, its exact message); none crashes the process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhisperError, loadModel, type WhisperModel } from '../../lib/index.js';
import {
  GGML_TYPE,
  hparamOffset,
  readGgml,
  tensorByteLength,
  writeGgml,
  type GgmlModel,
} from '../helpers/ggml-writer.js';
import {
  GREEDY,
  TEST_THREADS,
  hasShared,
  randomModelPath,
  readClip,
  transcript,
} from '../helpers/shared.js';

/** Awaits a promise (or runs a function) that must fail; returns the WhisperError. */
async function failure(run: Promise<unknown> | (() => unknown)): Promise<WhisperError> {
  try {
    await (typeof run === 'function' ? run() : run);
  } catch (error) {
    expect(error).toBeInstanceOf(WhisperError);
    return error as WhisperError;
  }
  throw new Error('expected a failure, but the call succeeded');
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'whisper-native-errors-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('loadModel arguments', () => {
  it('rejects a path that is not a string', async () => {
    const e = await failure(loadModel(42 as unknown as string));
    expect(e.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(e.message).toBe('Expected string for path but received type number (42)');
  });

  it('rejects bad threads values and misspelled options', async () => {
    let e = await failure(loadModel('x.bin', { threads: -1 }));
    expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(e.message).toBe('Expected an integer between 0 and 256 for threads but received -1');
    e = await failure(loadModel('x.bin', { threads: '2' as unknown as number }));
    expect(e.message).toBe("Expected number for threads but received type string ('2')");
    e = await failure(loadModel('x.bin', { thread: 2 } as never));
    expect(e.message).toBe("Unknown option 'thread' in options (did you mean 'threads'?)");
  });

  it('rejects maxConcurrentCalls outside 1 to 256 or not an integer', async () => {
    for (const bad of [0, 257, 1.5, -1, Number.NaN]) {
      const e = await failure(loadModel('x.bin', { maxConcurrentCalls: bad }));
      expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
      expect(e.message).toBe(
        `Expected an integer between 1 and 256 for maxConcurrentCalls but received ${String(bad)}`,
      );
    }
  });

  it('reports a missing file with its path, and the caller in the stack', async () => {
    const missing = path.join(tmp, 'no-such-model.bin');
    const e = await failure(loadModel(missing));
    expect(e.code).toBe('ERR_MODEL_NOT_FOUND');
    expect(e.message).toBe(`cannot open model file '${missing}': No such file or directory`);
    expect(e.stack).toContain('errors.test.ts');
  });

  it('reports a file that is not a ggml model', async () => {
    const file = path.join(tmp, 'not-a-model.bin');
    fs.writeFileSync(file, 'hello, this is a text file and not a model\n');
    const e = await failure(loadModel(file));
    expect(e.code).toBe('ERR_MODEL_FORMAT');
    expect(e.message).toBe(
      `model file '${file}': not a ggml Whisper model file (magic 0x6c6c6568, expected 0x67676d6c)`,
    );
  });

  it('reports an empty file as truncated', async () => {
    const file = path.join(tmp, 'empty.bin');
    fs.writeFileSync(file, '');
    const e = await failure(loadModel(file));
    expect(e.code).toBe('ERR_MODEL_TRUNCATED');
  });
});

describe.skipIf(!hasShared)('broken model files', () => {
  let original: Buffer;
  let layout: GgmlModel;
  beforeAll(() => {
    original = fs.readFileSync(randomModelPath);
    layout = readGgml(original);
  });

  it('rejects the model cut at 40 offsets across header, filterbank, vocabulary and tensors', async () => {
    const size = original.byteLength;
    const records = layout.tensors.map((t) => t.recordOffset);
    const pick = (n: number, from: number, to: number) =>
      Array.from({ length: n }, (_, i) => Math.floor(from + ((to - from) * (i + 0.5)) / n));
    const t0 = layout.tensors[0]!;
    const last = layout.tensors.at(-1)!;
    const v = layout.vocabOffset;
    const header = [1, 3, 4, 10, 47]; // inside the magic and the hparams
    const filterbank = [48, 52, 56, ...pick(2, 56, v)];
    const vocabulary = [v, v + 2, v + 4, v + 6, ...pick(4, v + 8, layout.tensorsOffset)];
    const firstRecord = [2, 8, 13].map((d) => t0.recordOffset + d); // its header fields
    const betweenRecords = [layout.tensorsOffset, ...[1, 50, 100].map((i) => records[i]!)];
    betweenRecords.push(last.recordOffset);
    const tensorData = [
      t0.dataOffset - 1, // the last byte of a name
      t0.dataOffset + 1,
      ...pick(10, t0.dataOffset + 2, size - 2),
      last.dataOffset + 1,
      size - 1,
    ];
    const offsets = new Set([
      ...header,
      ...filterbank,
      ...vocabulary,
      ...firstRecord,
      ...betweenRecords,
      ...tensorData,
    ]);
    expect(offsets.size).toBeGreaterThanOrEqual(40);
    const file = path.join(tmp, 'truncated.bin');
    fs.writeFileSync(file, original);
    // Cut from the longest to the shortest: one copy of the file, truncated in place.
    for (const offset of [...offsets].sort((a, b) => b - a)) {
      fs.truncateSync(file, offset);
      const e = await failure(loadModel(file, { threads: 1 }));
      if (records.includes(offset) || offset === layout.tensorsOffset) {
        // Cut between records: the file is well formed but tensors are missing.
        expect(e.code, `cut at ${offset}`).toBe('ERR_MODEL_FORMAT');
        expect(e.message).toMatch(/missing tensor '/);
      } else {
        expect(e.code, `cut at ${offset}`).toBe('ERR_MODEL_TRUNCATED');
        expect(e.message).toMatch(new RegExp(`: the file ends at byte ${offset} inside `));
      }
    }
  });

  describe('corrupted header fields', () => {
    const file = () => path.join(tmp, 'patched.bin');
    beforeAll(() => fs.writeFileSync(file(), original));

    // Loads the copy with `bytes` written at `offset`, then restores it.
    async function loadPatched(offset: number, bytes: Buffer): Promise<WhisperError> {
      const fd = fs.openSync(file(), 'r+');
      try {
        fs.writeSync(fd, bytes, 0, bytes.length, offset);
        return await failure(loadModel(file(), { threads: 1 }));
      } finally {
        fs.writeSync(fd, original, offset, bytes.length, offset);
        fs.closeSync(fd);
      }
    }
    const int32 = (v: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v);
      return b;
    };

    it.each([
      ['n_vocab', -5, 'header field n_vocab is -5, expected 1..1048576'],
      ['n_audio_layer', 0, 'header field n_audio_layer is 0, expected 1..128'],
      ['n_text_head', 100000, 'header field n_text_head is 100000, expected 1..1024'],
      ['n_mels', 64, 'header field n_mels is 64, expected 80 or 128'],
      ['n_audio_head', 7, 'header field n_audio_head (7) does not divide n_audio_state (384)'],
    ] as const)('%s = %d', async (field, value, message) => {
      const e = await loadPatched(hparamOffset(field), int32(value));
      expect(e.code).toBe('ERR_MODEL_FORMAT');
      expect(e.message).toBe(`model file '${file()}': ${message}`);
    });

    it('a layer count that disagrees with the tensors', async () => {
      // The file's path leads, as for every other fault in the file.
      let e = await loadPatched(hparamOffset('n_text_layer'), int32(5));
      expect(e.code).toBe('ERR_MODEL_FORMAT');
      expect(
        e.message.startsWith(`model file '${file()}': missing tensor 'decoder.blocks.4.`),
      ).toBe(true);
      e = await loadPatched(hparamOffset('n_audio_layer'), int32(3));
      expect(e.code).toBe('ERR_MODEL_FORMAT');
      expect(
        e.message.startsWith(`model file '${file()}': unknown tensor 'encoder.blocks.3.`),
      ).toBe(true);
    });

    it('a tensor record with an unknown type id', async () => {
      const t = layout.tensors[3]!;
      const e = await loadPatched(t.recordOffset + 8, int32(99));
      expect(e.code).toBe('ERR_MODEL_FORMAT');
      expect(e.message).toMatch(/unknown ggml type id 99/);
    });

    it('an impossible vocabulary size', async () => {
      const e = await loadPatched(layout.vocabOffset, int32(-1));
      expect(e.code).toBe('ERR_MODEL_FORMAT');
      expect(e.message).toMatch(/: the vocabulary stores -1 tokens, expected 0\.\.51864/);
    });
  });

  // One weight replaced by zero bytes of `type`, in a file whose header says ftype.
  const withWeightAs = (name: string, type: number, ftype: number, file: string) => {
    const tensors = layout.tensors.map((t) => {
      if (t.name !== name) return t;
      const n = t.ne.reduce((a, b) => a * b, 1);
      return { ...t, type, data: new Uint8Array(tensorByteLength(type, n)) };
    });
    const hparams = { ...layout.hparams, ftype };
    fs.writeFileSync(file, writeGgml({ ...layout, hparams, tensors }));
  };

  it('reports a weight in a type this build cannot run (a K-quant)', async () => {
    const name = 'encoder.blocks.0.mlp.2.weight'; // rows of 1536: whole blocks of 256
    const file = path.join(tmp, 'q4_K-weight.bin');
    withWeightAs(name, GGML_TYPE.q4_K, 2012, file);
    const e = await failure(loadModel(file, { threads: 1 }));
    expect(e.code).toBe('ERR_UNSUPPORTED_TENSOR_TYPE');
    expect(e.message).toBe(
      `model file '${file}': tensor '${name}' has type q4_K, which this build cannot run; supported: f32, f16, q4_0, q4_1, q5_0, q5_1, q8_0`,
    );
    fs.rmSync(file);
  });

  it('reports quantized weights of an older quantization version', async () => {
    const name = 'encoder.blocks.0.mlp.0.weight';
    const file = path.join(tmp, 'q8_0-version-1.bin');
    withWeightAs(name, GGML_TYPE.q8_0, 1007, file);
    const e = await failure(loadModel(file, { threads: 1 }));
    expect(e.code).toBe('ERR_UNSUPPORTED_TENSOR_TYPE');
    expect(e.message).toMatch(
      new RegExp(
        `^model file '${file}': tensor '${name}' \\(record \\d+\\) is q8_0 in a file of quantization version 1 \\(header ftype 1007\\); this build reads version 2 blocks only`,
      ),
    );
    fs.rmSync(file);
  });

  it('reports an unknown quantization version as a format error', async () => {
    const file = path.join(tmp, 'version-3.bin');
    withWeightAs('encoder.blocks.0.mlp.0.weight', GGML_TYPE.q8_0, 3007, file);
    const e = await failure(loadModel(file, { threads: 1 }));
    expect(e.code).toBe('ERR_MODEL_FORMAT');
    expect(e.message).toMatch(/ftype is 3007: quantization version 3 is newer than the one/);
    fs.rmSync(file);
  });

  it('round-trips the original through the test writer (the writer itself is right)', async () => {
    const file = path.join(tmp, 'rewritten.bin');
    fs.writeFileSync(file, writeGgml(layout));
    expect(fs.readFileSync(file).equals(original)).toBe(true);
    const model = await loadModel(file, { threads: 1 });
    expect(model.info.type).toBe('tiny.en');
    await model.close();
    fs.rmSync(file);
  });
});

describe.skipIf(!hasShared)('model calls', () => {
  let model: WhisperModel;
  beforeAll(async () => {
    model = await loadModel(randomModelPath, { threads: TEST_THREADS });
  });
  afterAll(() => model?.close());

  it.each([
    [[0.1, 0.2], 'an instance of Array'],
    [new Uint16Array(4), 'an instance of Uint16Array'],
    [new Float64Array(4), 'an instance of Float64Array'],
    ['audio.wav', "type string ('audio.wav')"],
    [undefined, 'undefined'],
    [null, 'null'],
  ])('rejects samples of the wrong type: %s', async (samples, received) => {
    const message = `Expected Int16Array, Float32Array or Buffer (s16le) for samples but received ${received}`;
    const e = await failure(model.transcribe(samples as never));
    expect(e.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(e.message).toBe(message);
    const m = await failure(() => model.melWindow(samples as never));
    expect(m.message).toBe(message);
  });

  it('rejects an s16le Buffer with an odd byte length', async () => {
    const e = await failure(model.transcribe(Buffer.alloc(3)));
    expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(e.message).toBe(
      'Expected an even number of bytes (s16le) for samples but received 3 bytes',
    );
  });

  it('rejects a sample rate other than 16000', async () => {
    const e = await failure(model.transcribe(new Int16Array(16), { sampleRate: 44100 }));
    expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(e.message).toBe(
      'Expected 16000 (resample the audio to 16 kHz mono first) for options.sampleRate but received 44100',
    );
    // 16000 given explicitly is fine.
    const ok = await model.transcribe(new Int16Array(0), { sampleRate: 16000 });
    expect(ok.segments).toEqual([]);
  });

  it('rejects bad option types and unknown options', async () => {
    const audio = new Int16Array(16);
    let e = await failure(model.transcribe(audio, { signal: 'stop' as never }));
    expect(e.message).toBe(
      "Expected AbortSignal for options.signal but received type string ('stop')",
    );
    e = await failure(model.transcribe(audio, { onSegment: 1 as never }));
    expect(e.message).toBe('Expected function for options.onSegment but received type number (1)');
    e = await failure(model.transcribe(audio, { onProgres: () => {} } as never));
    expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(e.message).toBe("Unknown option 'onProgres' in options (did you mean 'onProgress'?)");
  });

  it.each([
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'infinite'],
  ])('rejects %s samples', async (bad, word) => {
    const samples = new Float32Array(16000);
    samples[1234] = bad;
    const e = await failure(model.transcribe(samples));
    expect(e.code).toBe('ERR_INVALID_AUDIO');
    expect(e.message).toBe(`sample 1234 is ${word}; expected finite values in [-1, 1]`);
    const m = await failure(() => model.melWindow(samples));
    expect(m.code).toBe('ERR_INVALID_AUDIO');
    expect(m.message).toBe(e.message);
  });

  it('returns an empty result for empty audio of every sample type', async () => {
    for (const empty of [new Int16Array(0), new Float32Array(0), Buffer.alloc(0)]) {
      expect(await model.transcribe(empty)).toEqual({
        segments: [],
        text: '',
        duration: 0,
        language: 'en', // an English-only model
        timings: {
          totalMs: 0,
          encodeMs: 0,
          encoderPasses: 0,
          decodeMs: 0,
          decoderSteps: 0,
          sharedSteps: 0,
          alignMs: 0,
        },
      });
    }
  });

  it('checks encode() and logits() inputs', async () => {
    let e = await failure(model.encode(new Float32Array(10)));
    expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(e.message).toBe('Expected 240000 values (80 x 3000) for mel but received 10');
    e = await failure(model.encode([1, 2] as never));
    expect(e.message).toBe('Expected Float32Array for mel but received an instance of Array');
    const encoded = new Float32Array(1500 * 384);
    e = await failure(model.logits([50257, 51864], encoded));
    expect(e.message).toBe(
      'Expected an integer token id in [0, 51864) for tokens[1] but received 51864',
    );
    e = await failure(model.logits([], encoded));
    expect(e.message).toBe('Expected 1 to 448 token ids for tokens but received 0');
    e = await failure(model.logits([1], new Float32Array(5)));
    expect(e.message).toBe('Expected 576000 values (1500 x 384) for encoded but received 5');
    e = await failure(() => model.melWindow(new Int16Array(10), -1));
    expect(e.message).toBe('Expected a finite number >= 0 for offsetSeconds but received -1');
  });
});

describe.skipIf(!hasShared)('close()', () => {
  it('makes every later call fail with ERR_MODEL_CLOSED', async () => {
    const model = await loadModel(randomModelPath, { threads: 1 });
    await model.close();
    expect(model.closed).toBe(true);
    const audio = new Int16Array(1600);
    for (const e of [
      await failure(model.transcribe(audio)),
      await failure(() => model.melWindow(audio)),
      await failure(model.encode(new Float32Array(80 * 3000))),
      await failure(model.logits([1], new Float32Array(1500 * 384))),
    ]) {
      expect(e.code).toBe('ERR_MODEL_CLOSED');
      expect(e.message).toBe('The model is closed');
    }
    expect(model.info.type).toBe('tiny.en'); // still readable
    await model.close(); // a second close is harmless
  });

  it('waits for a running transcription, which completes normally', async () => {
    const model = await loadModel(randomModelPath, { threads: TEST_THREADS });
    const samples = await readClip('jfk');
    const expected = await model.transcribe(samples, GREEDY);
    const running = model.transcribe(samples, GREEDY);
    let transcriptionDone = false;
    void running.then(() => (transcriptionDone = true));
    await model.close();
    // close() resolved only after the call in flight settled.
    expect(transcriptionDone).toBe(true);
    expect(transcript(await running)).toEqual(transcript(expected));
    await failure(model.transcribe(samples));
  });

  it('works with `await using`', async () => {
    let escaped: WhisperModel | undefined;
    {
      await using model = await loadModel(randomModelPath, { threads: 1 });
      escaped = model;
      expect(model.closed).toBe(false);
    }
    expect(escaped.closed).toBe(true);
  });
});
