// Several transcriptions on one model at once: per-call state, shared weights.
// Each must equal what the same call gives alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type TranscriptionResult, type WhisperModel } from '../../lib/index.js';
import {
  GREEDY,
  TEST_THREADS,
  hasShared,
  randomModelPath,
  readClip,
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
    const together = await Promise.all(audio.map((samples) => model.transcribe(samples, GREEDY)));
    together.forEach((result, i) => expect(transcript(result)).toEqual(transcript(solo[i]!)));
  });

  it('runs encode and logits alongside a transcription without changing either', async () => {
    const samples = await readClip('jfk');
    const mel = model.melWindow(samples);
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
