// The random-weight models of other sizes that bench/make-random-model.ts
// writes (test/helpers/random-model.ts): rebuilt at tiny.en's own size, the
// shared file's layout must come out tensor for tensor, and the engine must
// load and run it.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../lib/index.js';
import { GGML_TYPE, f16ToF32, readGgml, writeGgml } from '../helpers/ggml-writer.js';
import { SIZES, randomModel, randomModelOfShape } from '../helpers/random-model.js';
import { GREEDY, hasShared, randomModelPath, readClip } from '../helpers/shared.js';
import { useTempDir } from '../helpers/temp-dir.js';

describe.skipIf(!hasShared)('randomModel', () => {
  const temp = useTempDir('whisper-native-random-model-');

  it("rebuilds tiny.en in the shared file's exact layout, with values at its scales", () => {
    const bytes = readFileSync(randomModelPath);
    const tiny = readGgml(bytes);
    const rebuilt = randomModel(tiny, 'tiny.en');
    expect(rebuilt.hparams).toEqual(tiny.hparams);
    const layout = (m: typeof tiny) =>
      m.tensors.map((t) => `${t.name} ${t.type} ${t.ne.join('x')}`);
    expect(layout(rebuilt)).toEqual(layout(tiny));
    expect(writeGgml(rebuilt).byteLength).toBe(bytes.byteLength);

    const tensor = (name: string) => rebuilt.tensors.find((t) => t.name === name)!;
    const values = (name: string) => {
      const t = tensor(name);
      const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      return t.type === GGML_TYPE.f16
        ? Array.from({ length: t.data.byteLength / 2 }, (_, i) =>
            f16ToF32(view.getUint16(2 * i, true)),
          )
        : Array.from({ length: t.data.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true));
    };
    const sd = (v: number[]) => {
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    };
    // A matrix: 1/sqrt(fan-in); the MLP's second one has 4x the fan-in.
    expect(sd(values('encoder.blocks.0.mlp.0.weight'))).toBeCloseTo(1 / Math.sqrt(384), 3);
    expect(sd(values('encoder.blocks.0.mlp.2.weight'))).toBeCloseTo(1 / Math.sqrt(1536), 3);
    const gains = values('decoder.blocks.3.mlp_ln.weight');
    expect(gains.reduce((a, b) => a + b, 0) / gains.length).toBeCloseTo(1, 1);
    // The encoder's positions are OpenAI's sinusoids(), as the shared file
    // holds them (computed there in other arithmetic: within 1e-6).
    const positions = values('encoder.positional_embedding');
    const original = tiny.tensors.find((t) => t.name === 'encoder.positional_embedding')!;
    const expected = new Float32Array(new Uint8Array(original.data).buffer); // a copy: aligned
    expect(positions).toHaveLength(expected.length);
    const worst = positions.reduce((w, v, i) => Math.max(w, Math.abs(v - expected[i]!)), 0);
    expect(worst).toBeLessThan(1e-6);
  });

  it('makes base.en the engine loads and runs', async () => {
    const tiny = readGgml(readFileSync(randomModelPath));
    const base = randomModel(tiny, 'base.en');
    expect(base.tensors).toHaveLength(245); // 5 + 6 x 15 + 2 encoder, 2 + 6 x 24 + 2 decoder
    const file = path.join(temp.dir, 'base.en-random.bin');
    writeFileSync(file, writeGgml(base));
    const model = await loadModel(file, { threads: 2 });
    try {
      expect(model.info.type).toBe('base.en');
      expect(model.info.hparams).toMatchObject({ nAudioState: 512, nAudioHead: 8, nTextLayer: 6 });
      const samples = (await readClip('jfk')).subarray(0, 16000 * 2);
      const result = await model.transcribe(samples, { ...GREEDY, maxTokensPerWindow: 4 });
      expect(result.timings.encoderPasses).toBe(1);
      expect(result.timings.decoderSteps).toBeGreaterThan(0);
    } finally {
      await model.close();
    }
  }, 60_000);

  it("gives the decoder its own number of layers (turbo's 4 of 32), which the engine runs", async () => {
    expect(SIZES.turbo).toEqual({ state: 1280, layers: 32, textLayers: 4 });
    const tiny = readGgml(readFileSync(randomModelPath));
    const shaped = randomModelOfShape(tiny, { state: 128, layers: 3, textLayers: 1 });
    const blocks = (stack: string) =>
      new Set(
        shaped.tensors
          .filter((t) => t.name.startsWith(`${stack}.blocks.`))
          .map((t) => t.name.split('.')[2]),
      ).size;
    expect([blocks('encoder'), blocks('decoder')]).toEqual([3, 1]);
    const file = path.join(temp.dir, 'shaped-random.bin');
    writeFileSync(file, writeGgml(shaped));
    const model = await loadModel(file, { threads: 2 });
    try {
      expect(model.info.hparams).toMatchObject({ nAudioLayer: 3, nTextLayer: 1, nTextHead: 2 });
      const samples = (await readClip('jfk')).subarray(0, 16000 * 2);
      const result = await model.transcribe(samples, { ...GREEDY, maxTokensPerWindow: 4 });
      expect(result.timings.decoderSteps).toBeGreaterThan(0);
    } finally {
      await model.close();
    }
  }, 60_000);
});
