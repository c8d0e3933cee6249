// Quantized models through the public API. The random tiny.en is re-written by
// the test quantizer (helpers/ggml-writer.ts) with its matrices in each block
// type, and again with those matrices as f32 holding exactly the values the
// blocks stand for. On every kernel path the quantized model's encoder output
// (jfk's golden log-mel) and teacher-forced logits must match its f32 twin's
// to float-summation rounding; and each quantized model transcribes jfk.wav.
// The random weights make nonsense text either way: numbers are compared, not
// words.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, supportedIsas, type WhisperModel } from '../../lib/index.js';
import { argmaxRows, relativeRms } from '../helpers/compare.js';
import { QUANT_TYPES, quantizeModel, readGgml, writeGgml } from '../helpers/ggml-writer.js';
import {
  GREEDY,
  TEST_THREADS,
  hasShared,
  randomModelPath,
  readClip,
  readGolden,
} from '../helpers/shared.js';

// The quantized kernels compute with the exact dequantized weights; only the
// order of the sums differs from the f32 model's.
const TWIN_TOLERANCE = 2e-6;
// sot, a timestamp, some text tokens, eot.
const TOKENS = [50257, 50363, 220, 383, 1000, 2000, 30000, 50256];
const N_VOCAB = 51864;

const isas = hasShared ? supportedIsas() : [];
// The portable path's encoder is ~10x slower and its quantized kernels are the
// reference dequantizer, the same code for every type: it runs the two
// published quantized types (the C++ kernel tests check all five there).
const isasFor = (type: string) =>
  type === 'q5_1' || type === 'q8_0' ? isas : isas.filter((isa) => isa !== 'generic');

async function loadOn(file: string, isa: string): Promise<WhisperModel> {
  const previous = process.env.WHISPER_NATIVE_ISA;
  process.env.WHISPER_NATIVE_ISA = isa; // read when a model loads
  try {
    // Every weight packed at load, so that weightBytes counts the encoder's too.
    return await loadModel(file, { threads: TEST_THREADS, lowMemory: false });
  } finally {
    if (previous === undefined) delete process.env.WHISPER_NATIVE_ISA;
    else process.env.WHISPER_NATIVE_ISA = previous;
  }
}

describe.skipIf(!hasShared)('quantized models', () => {
  let tmp: string;
  let source: ReturnType<typeof readGgml>;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'whisper-native-quantized-'));
    source = readGgml(fs.readFileSync(randomModelPath));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe.each(QUANT_TYPES)('%s', (type) => {
    const files = { quantized: '', dequantized: '' };
    let quantizedBytes = 0;
    beforeAll(() => {
      const { quantized, dequantized } = quantizeModel(source, type);
      files.quantized = path.join(tmp, `tiny.en-${type}.bin`);
      files.dequantized = path.join(tmp, `tiny.en-${type}-dequantized-f32.bin`);
      const bytes = writeGgml(quantized);
      quantizedBytes = bytes.byteLength;
      fs.writeFileSync(files.quantized, bytes);
      fs.writeFileSync(files.dequantized, writeGgml(dequantized));
    });
    afterAll(() => {
      fs.rmSync(files.quantized, { force: true });
      fs.rmSync(files.dequantized, { force: true });
    });

    it.each(isasFor(type))('matches its f32 twin on %s', async (isa) => {
      const model = await loadOn(files.quantized, isa);
      const twin = await loadOn(files.dequantized, isa);
      try {
        expect(model.info.isa).toBe(isa);
        expect(model.info.type).toBe('tiny.en');
        expect(model.info.hparams.ftype).toBe(
          { q4_0: 2, q4_1: 3, q5_0: 8, q5_1: 9, q8_0: 7 }[type],
        );
        // The blocks as the file holds them, no widened copy.
        expect(model.info.weightBytes).toBeLessThanOrEqual(quantizedBytes);
        expect(model.info.weightBytes).toBeGreaterThan(quantizedBytes * 0.95);
        expect(model.info.weightBytes).toBeLessThan(twin.info.weightBytes / 3);

        const mel = readGolden('jfk', 'mel');
        const [encoded, twinEncoded] = await Promise.all([model.encode(mel), twin.encode(mel)]);
        expect(relativeRms(encoded, twinEncoded)).toBeLessThanOrEqual(TWIN_TOLERANCE);
        // Both decoders read the same audio features, so the logits compare the decoders alone.
        const [logits, twinLogits] = await Promise.all([
          model.logits(TOKENS, twinEncoded),
          twin.logits(TOKENS, twinEncoded),
        ]);
        expect(logits.length).toBe(TOKENS.length * N_VOCAB);
        expect(relativeRms(logits, twinLogits)).toBeLessThanOrEqual(TWIN_TOLERANCE);
        expect(argmaxRows(logits, N_VOCAB)).toEqual(argmaxRows(twinLogits, N_VOCAB));
      } finally {
        await Promise.all([model.close(), twin.close()]);
      }
    });

    it('transcribes jfk.wav through the public API', async () => {
      const model = await loadModel(files.quantized, { threads: TEST_THREADS });
      try {
        const samples = await readClip('jfk');
        const result = await model.transcribe(samples, GREEDY);
        expect(result.duration).toBeCloseTo(samples.length / 16000, 6);
        // The random model always emits text; what it says is meaningless.
        expect(result.segments.length).toBeGreaterThan(0);
        expect(result.text).toBe(result.segments.map((s) => s.text).join(''));
        for (const segment of result.segments) {
          for (const token of segment.tokens) expect(token.id).toBeLessThan(N_VOCAB);
        }
      } finally {
        await model.close();
      }
    });
  });
});
