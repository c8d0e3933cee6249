// The decoding features with real weights: set WHISPER_REAL_MODEL to a
// whisper.cpp model file (e.g. ggml-tiny.en.bin) to run them; without it they
// are reported skipped. Accuracy is measured as word error rate against the
// human transcripts of shared/audio (manifest.tsv) after a light
// normalisation (case, punctuation), with thresholds loose enough for the
// tiny models' real mistakes and for numbers written as digits.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type TranscribeOptions, type WhisperModel } from '../../lib/index.js';
import { TEST_THREADS, hasShared, readClip, sharedDir } from '../helpers/shared.js';

const realModel = process.env.WHISPER_REAL_MODEL;
if (!realModel) {
  console.warn(
    'WHISPER_REAL_MODEL is not set: the real-model feature tests (beam search, fallback, ' +
      'word timestamps, language detection) are skipped',
  );
}

// Short read speech from five sources, plus a 35 s clip that spans two windows.
const CLIPS = [
  'jfk',
  'ljspeech_LJ001-0004',
  'librispeech_1272-128104-0000',
  'timit_LDC93S1',
  'cmuarctic_a0024',
  'osr_us_000_0034_8k',
];
const MAX_WER = 0.3; // over all clips together

function references(): Map<string, string> {
  const lines = fs.readFileSync(path.join(sharedDir, 'audio', 'manifest.tsv'), 'utf8').split('\n');
  const header = lines[0]!.split('\t');
  const id = header.indexOf('id');
  const reference = header.indexOf('reference');
  return new Map(
    lines
      .slice(1)
      .filter((l) => l.trim() !== '')
      .map((l) => l.split('\t'))
      .map((f) => [f[id]!, f[reference]!]),
  );
}

/** Lower case, punctuation dropped (apostrophes kept inside words), split on spaces. */
function normalisedWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .replace(/(^|\s)'+|'+(\s|$)/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '');
}

/** Word-level Levenshtein distance (substitutions, insertions, deletions). */
function wordEdits(hypothesis: string[], reference: string[]): number {
  let previous = Array.from({ length: reference.length + 1 }, (_, j) => j);
  for (let i = 1; i <= hypothesis.length; i++) {
    const row = [i];
    for (let j = 1; j <= reference.length; j++) {
      const substitution = previous[j - 1]! + (hypothesis[i - 1] === reference[j - 1] ? 0 : 1);
      row.push(Math.min(substitution, previous[j]! + 1, row[j - 1]! + 1));
    }
    previous = row;
  }
  return previous[reference.length]!;
}

describe.skipIf(!realModel || !hasShared)('real model features (WHISPER_REAL_MODEL)', () => {
  let model: WhisperModel;
  let refs: Map<string, string>;
  const audio = new Map<string, Int16Array>();
  beforeAll(async () => {
    model = await loadModel(realModel!, { threads: TEST_THREADS });
    refs = references();
    for (const clip of CLIPS) audio.set(clip, await readClip(clip));
  });
  afterAll(() => model?.close());

  // Word error rate of every clip together, and the texts for a failure message.
  async function wer(options: TranscribeOptions): Promise<{ rate: number; texts: string[] }> {
    let edits = 0;
    let words = 0;
    const texts: string[] = [];
    for (const clip of CLIPS) {
      const result = await model.transcribe(audio.get(clip)!, options);
      const reference = normalisedWords(refs.get(clip)!);
      edits += wordEdits(normalisedWords(result.text), reference);
      words += reference.length;
      texts.push(`${clip}: ${result.text}`);
    }
    return { rate: edits / words, texts };
  }

  it('transcribes with the default fallback within the word error rate', async () => {
    const { rate, texts } = await wer({});
    expect(rate, texts.join('\n')).toBeLessThan(MAX_WER);
  });

  it('beam search (5 beams, best of 5) is at least about as accurate as greedy', async () => {
    const greedy = await wer({ temperature: 0 });
    const beam = await wer({ beamSize: 5, bestOf: 5 });
    expect(beam.rate, beam.texts.join('\n')).toBeLessThan(MAX_WER);
    expect(beam.rate).toBeLessThanOrEqual(greedy.rate + 0.05);
    const jfk = await model.transcribe(audio.get('jfk')!, { beamSize: 5 });
    const reference = normalisedWords(refs.get('jfk')!);
    expect(wordEdits(normalisedWords(jfk.text), reference)).toBeLessThanOrEqual(1);
  });

  it('falls back through the temperatures when a window fails a threshold', async () => {
    // No text compresses below ratio 0.1: every window is retried to the last temperature.
    const result = await model.transcribe(audio.get('jfk')!, {
      compressionRatioThreshold: 0.1,
      seed: 3,
    });
    expect(result.segments.length).toBeGreaterThan(0);
    for (const s of result.segments) expect(s.temperature).toBe(1);
    // Real speech passes the default thresholds at temperature 0.
    const normal = await model.transcribe(audio.get('jfk')!);
    for (const s of normal.segments) expect(s.temperature).toBe(0);
  });

  it('times words in order, inside their segments and the clip', async () => {
    for (const clip of CLIPS) {
      const samples = audio.get(clip)!;
      const duration = samples.length / 16000;
      const result = await model.transcribe(samples, { wordTimestamps: true });
      const words = result.segments.flatMap((s) => s.words!);
      expect(words.length).toBeGreaterThan(0);
      let previousEnd = 0;
      for (const s of result.segments) {
        expect(s.words!.map((w) => w.word).join('')).toBe(s.text);
        for (const w of s.words!) {
          expect(w.start).toBeGreaterThanOrEqual(Math.max(previousEnd, s.start));
          expect(w.end).toBeGreaterThanOrEqual(w.start);
          expect(w.end).toBeLessThanOrEqual(Math.min(s.end, duration) + 1e-9);
          previousEnd = w.end;
        }
      }
      const reference = normalisedWords(refs.get(clip)!);
      const edits = wordEdits(normalisedWords(words.map((w) => w.word).join('')), reference);
      expect(edits / reference.length).toBeLessThan(0.5);
    }
    // jfk.wav: speech from about 0.3 s to 10.5 s of 11 s.
    const jfk = await model.transcribe(audio.get('jfk')!, { wordTimestamps: true });
    const words = jfk.segments.flatMap((s) => s.words!);
    expect(words[0]!.start).toBeLessThan(2);
    expect(words.at(-1)!.end).toBeGreaterThan(8);
  });

  it('detects English on every clip', async () => {
    for (const clip of CLIPS) {
      const ranked = await model.detectLanguage(audio.get(clip)!);
      expect(ranked[0]!.language).toBe('en');
      if (model.info.multilingual) expect(ranked[0]!.probability).toBeGreaterThan(0.5);
    }
  });
});
