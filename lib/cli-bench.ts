// `whisper-native bench`: a small benchmark for users, on their machine and
// model: model load, the encoder's time per 30 s window, and a greedy
// transcription of a file (or of 30 s of generated audio) with the decoder's
// time per token and the real-time factor. Each timing is repeated (--runs)
// and shown as median and min. The repository's bench/run.mjs measures more
// (peak FLOP/s, 1 vs 2 threads, all test clips, peak RSS) and is not shipped.
import { cpus } from 'node:os';
import { basename } from 'node:path';
import { readAudioFile } from './audio-file.js';
import type { CliIo } from './cli-transcribe.js';
import { resolveModel } from './download.js';
import { loadModel } from './model.js';

export interface BenchCommand {
  model: string;
  file: string | undefined;
  threads: number;
  /** LoadOptions.lowMemory. */
  lowMemory: boolean;
  runs: number;
  cacheDir: string | undefined;
}

interface Timing {
  median: number;
  min: number;
}

async function time(runs: number, body: () => Promise<unknown>): Promise<Timing> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await body();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, min: times[0]! };
}

/**
 * 30 s of speech-like generated audio: a few harmonics under a slow pitch
 * glide with syllable-rate loudness changes, plus a little noise. The encoder's
 * time does not depend on what it hears; the decoder's token count does.
 */
export function benchAudio(seconds = 30): Float32Array {
  const rate = 16000;
  const samples = new Float32Array(seconds * rate);
  let seed = 1;
  let phase = 0;
  for (let i = 0; i < samples.length; i++) {
    const t = i / rate;
    const pitch = 120 + 40 * Math.sin(2 * Math.PI * 0.3 * t);
    phase += (2 * Math.PI * pitch) / rate;
    const envelope = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t);
    seed = (seed * 1103515245 + 12345) >>> 0;
    const noise = (seed / 2 ** 32 - 0.5) * 0.02;
    let voice = 0;
    for (let h = 1; h <= 5; h++) voice += Math.sin(h * phase) / h;
    samples[i] = 0.2 * envelope * voice + noise;
  }
  return samples;
}

export async function runBench(command: BenchCommand, io: CliIo): Promise<void> {
  const { stdout, stderr } = io;
  const modelPath = await resolveModel(command.model, { cacheDir: command.cacheDir });
  const samples =
    command.file === undefined ? benchAudio() : (await readAudioFile(command.file)).samples;
  const duration = samples.length / 16000;
  const runs = command.runs;
  const say = (text: string) => stderr.write(text + '\n');

  const loadOptions = {
    threads: command.threads,
    lowMemory: command.lowMemory,
    signal: io.signal,
  };
  say(
    `bench: loading ${basename(modelPath)} ${runs}x${command.lowMemory ? '' : ' (lowMemory: false)'}`,
  );
  const load = await time(runs, async () => {
    const model = await loadModel(modelPath, loadOptions);
    await model.close();
  });
  const model = await loadModel(modelPath, loadOptions);
  try {
    const mel = await model.melWindow(samples);
    await model.encode(mel); // first touch of the scratch memory is not the steady state
    say(`bench: encoding one 30 s window ${runs}x`);
    const encode = await time(runs, () => model.encode(mel));
    let tokens = 0;
    say(`bench: transcribing ${duration.toFixed(1)} s of audio ${runs}x (greedy)`);
    const transcribe = await time(runs, async () => {
      const result = await model.transcribe(samples, { temperature: 0, signal: io.signal });
      tokens = result.segments.reduce((n, s) => n + s.tokens.length, 0);
    });
    const windows = Math.max(1, Math.ceil(duration / 30));
    const perToken = (ms: number) =>
      tokens > 0 ? `${((ms - windows * encode.median) / tokens).toFixed(2)}` : 'n/a';
    const ms = (t: Timing, digits = 0) =>
      `${t.median.toFixed(digits)} ms (min ${t.min.toFixed(digits)})`;
    const { info } = model;
    const rows: [string, string][] = [
      ['CPU', `${cpus()[0]?.model ?? 'unknown'} (${cpus().length} logical cores)`],
      [
        'model',
        `${info.type} (${basename(modelPath)}), kernels ${info.isa}, ${info.threads} threads` +
          (command.lowMemory ? '' : ', lowMemory: false'),
      ],
      [
        'audio',
        command.file === undefined
          ? `${duration} s generated`
          : `${command.file} (${duration.toFixed(1)} s)`,
      ],
      ['model load', ms(load)],
      ['encoder, one 30 s window', ms(encode)],
      ['transcription (greedy)', `${ms(transcribe)}, ${tokens} tokens`],
      ['decoder per token', `${perToken(transcribe.median)} ms (median run)`],
      ['real-time factor', (transcribe.median / 1000 / Math.max(duration, 1e-9)).toFixed(3)],
    ];
    const width = Math.max(...rows.map(([name]) => name.length));
    for (const [name, value] of rows) stdout.write(`${name.padEnd(width)}  ${value}\n`);
  } finally {
    await model.close();
  }
}
