// Where the tests find the shared data folder (models, audio, golden arrays):
// $WHISPER_SHARED, else ../shared beside the repository. Nothing from it is
// copied into the repository; tests read it in place.
import fs from 'node:fs';
import path from 'node:path';
import { readWavFile } from '../../lib/wav.js';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const sharedDir = path.resolve(
  process.env.WHISPER_SHARED ?? path.join(repoRoot, '..', 'shared'),
);
export const randomModelPath = path.join(sharedDir, 'models', 'ggml-tiny.en-random.bin');
export const hasShared = fs.existsSync(randomModelPath);
if (!hasShared) {
  console.warn(`shared data not found at ${sharedDir}: set WHISPER_SHARED; data tests are skipped`);
}

/** Threads for test models: the machine has 2 cores. */
export const TEST_THREADS = 2;

/**
 * Plain greedy decoding. With the random model every window fails the
 * reference's quality thresholds, so the default fallback decodes it again at
 * five more temperatures (~6x the work; the CLI's 5 candidates each: ~26x). Tests of
 * structure and host behaviour use this; test/api/decoding.test.ts covers the
 * fallback and the other decoding options.
 */
export const GREEDY = { temperature: 0 } as const;

/**
 * What a transcription found, without its timings (which differ from run to
 * run): for comparing two runs that must agree.
 */
export function transcript<T extends { timings?: unknown }>(result: T): Omit<T, 'timings'> {
  const rest: Partial<T> = { ...result };
  delete rest.timings;
  return rest as Omit<T, 'timings'>;
}

export function audioPath(name: string): string {
  return path.join(sharedDir, 'audio', `${name}.wav`);
}

/** Names (without .wav) of every clip in shared/audio, sorted. */
export function audioClips(): string[] {
  if (!hasShared) return [];
  return fs
    .readdirSync(path.join(sharedDir, 'audio'))
    .filter((f) => f.endsWith('.wav'))
    .map((f) => f.slice(0, -4))
    .sort();
}

/**
 * A shared clip's samples as the 16-bit integers the file holds (the golden
 * data were made from exactly these). The clips are 16 kHz mono 16-bit PCM,
 * which readWavFile returns unchanged as value / 32768: multiplying back is exact.
 */
export async function readClip(name: string): Promise<Int16Array> {
  const wav = await readWavFile(audioPath(name));
  const { sampleRate, channels, encoding, bitsPerSample } = wav.source;
  if (sampleRate !== 16000 || channels !== 1 || encoding !== 'pcm' || bitsPerSample !== 16) {
    throw new Error(`${name}: expected 16 kHz mono 16-bit PCM, got ${JSON.stringify(wav.source)}`);
  }
  return Int16Array.from(wav.samples, (s) => s * 32768);
}

export interface GoldenClip {
  name: string;
  wav: string;
  offsetSeconds: number;
  tokens: number[];
  argmaxNext: number[];
}

/** Every clip in shared/golden, from its NAME.json. */
export function goldenClips(): GoldenClip[] {
  if (!hasShared) return [];
  const dir = path.join(sharedDir, 'golden');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const json = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as {
        wav: string;
        offset_s?: number;
        tokens: number[];
        argmax_next: number[];
      };
      return {
        name: f.slice(0, -5),
        wav: json.wav,
        offsetSeconds: json.offset_s ?? 0,
        tokens: json.tokens,
        argmaxNext: json.argmax_next,
      };
    });
}

/** shared/golden/NAME.KIND.f32 as floats. */
export function readGolden(name: string, kind: 'mel' | 'encoder' | 'logits'): Float32Array {
  const bytes = fs.readFileSync(path.join(sharedDir, 'golden', `${name}.${kind}.f32`));
  // Copied so the floats are aligned whatever the Buffer's offset in its pool.
  return new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
}
