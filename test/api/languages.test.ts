// detectLanguage() and the large-v3 layout through the public API, on a model
// generated from the shared random tiny.en: the large-v3 header (51866 tokens,
// 128 mel bands) with its conv1 widened to 128 input channels, two more token
// embedding rows, and a filterbank that gives mel band m the FFT bin m + 1.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhisperError, loadModel, type WhisperModel } from '../../lib/index.js';
import { readGgml, writeGgml } from '../helpers/ggml-writer.js';
import { GREEDY, TEST_THREADS, hasShared, randomModelPath, readClip } from '../helpers/shared.js';

const N_FFT_BINS = 201;

function largeV3Layout(original: Buffer): Buffer {
  const model = readGgml(original);
  const nMels = 128;
  const filters = new Float32Array(nMels * N_FFT_BINS);
  for (let m = 0; m < nMels; m++) filters[m * N_FFT_BINS + m + 1] = 0.025;
  const tensors = model.tensors.map((t) => {
    if (t.name === 'encoder.conv1.weight') {
      // ne [3, n_mels, d] (f16): each output channel's 3 x 80 taps, then zeros.
      const [k, inOld, d] = t.ne as [number, number, number];
      const data = Buffer.alloc(k * nMels * d * 2);
      for (let o = 0; o < d; o++) {
        data.set(t.data.subarray(o * k * inOld * 2, (o + 1) * k * inOld * 2), o * k * nMels * 2);
      }
      return { ...t, ne: [k, nMels, d], data };
    }
    if (t.name === 'decoder.token_embedding.weight') {
      const [d, nVocab] = t.ne as [number, number];
      const data = Buffer.concat([t.data, Buffer.alloc((51866 - nVocab) * d * 2)]);
      return { ...t, ne: [d, 51866], data };
    }
    return t;
  });
  return writeGgml({
    ...model,
    hparams: { ...model.hparams, n_vocab: 51866, n_mels: nMels },
    nMel: nMels,
    filters: new Uint8Array(filters.buffer),
    tensors,
  });
}

describe.skipIf(!hasShared)('detectLanguage and the large-v3 layout', () => {
  let tmp: string;
  let v3: WhisperModel;
  let english: WhisperModel;
  let clip: Int16Array;
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-languages-'));
    const file = path.join(tmp, 'large-v3-layout.bin');
    fs.writeFileSync(file, largeV3Layout(fs.readFileSync(randomModelPath)));
    v3 = await loadModel(file, { threads: TEST_THREADS });
    english = await loadModel(randomModelPath, { threads: TEST_THREADS });
    clip = await readClip('pocketsphinx_cards_001');
  });
  afterAll(async () => {
    await v3?.close();
    await english?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('reads 128 mel bands and applies the file filterbank', async () => {
    expect(v3.info.multilingual).toBe(true);
    expect(v3.info.hparams.nMels).toBe(128);
    // 4040 Hz is FFT bin 101 (40 Hz per bin): only band 100 sees it.
    const tone = new Float32Array(32000).map(
      (_, i) => 0.5 * Math.sin((2 * Math.PI * 4040 * i) / 16000),
    );
    const mel = await v3.melWindow(tone);
    expect(mel.length).toBe(128 * 3000);
    const frame = 50; // 0.5 s in
    let loudest = 0;
    for (let band = 1; band < 128; band++) {
      if (mel[band * 3000 + frame]! > mel[loudest * 3000 + frame]!) loudest = band;
    }
    expect(loudest).toBe(100);
  });

  it('ranks all 100 languages and transcribes with the one it detects', async () => {
    const ranked = await v3.detectLanguage(clip);
    expect(ranked).toHaveLength(100);
    expect(ranked.map((l) => l.language)).toContain('yue');
    const sum = ranked.reduce((s, l) => s + l.probability, 0);
    expect(sum).toBeCloseTo(1, 4);
    for (let i = 1; i < ranked.length; i++) {
      expect(ranked[i]!.probability).toBeLessThanOrEqual(ranked[i - 1]!.probability);
    }
    const options = { ...GREEDY, maxTokensPerWindow: 10, noSpeechThreshold: null };
    const auto = await v3.transcribe(clip, options);
    expect(auto.language).toBe(ranked[0]!.language);
    expect(auto.segments.length).toBeGreaterThan(0);
    const cantonese = await v3.transcribe(clip, { ...options, language: 'yue', translate: true });
    expect(cantonese.language).toBe('yue');
  });

  it('answers English for an English-only model', async () => {
    expect(await english.detectLanguage(clip)).toEqual([{ language: 'en', probability: 1 }]);
  });

  it('rejects invalid samples', async () => {
    const e = await english.detectLanguage('x' as never).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(WhisperError);
    expect((e as WhisperError).code).toBe('ERR_INVALID_ARG_TYPE');
    const bad = new Float32Array(100);
    bad[3] = Number.NaN;
    const nan = await v3.detectLanguage(bad).catch((error: unknown) => error);
    expect((nan as WhisperError).code).toBe('ERR_INVALID_AUDIO');
  });

  it('ranks the languages of empty audio and of audio longer than one window', async () => {
    // Empty audio is one window of padding; a long input is read up to 30 s.
    for (const audio of [new Float32Array(0), new Int16Array(16000 * 45).fill(1000)]) {
      const ranked = await v3.detectLanguage(audio);
      expect(ranked).toHaveLength(100);
      const sum = ranked.reduce((s, l) => s + l.probability, 0);
      expect(sum).toBeCloseTo(1, 4);
      for (const l of ranked) expect(Number.isFinite(l.probability)).toBe(true);
    }
  });
});
