#!/usr/bin/env node
// End-to-end benchmark through the public API (the kernel micro-benchmarks are
// in bench/kernels/). Prints one table and writes bench/results/<time>.json
// with the machine, ISA, threads, model and commit, so runs can be compared.
//
//   npm run bench -- [--model PATH] [--audio WAV] [--threads N] [--runs N]
//
// Measured: encoder time per 30 s window (median of --runs encode() calls),
// its GFLOP/s (encoder FLOPs counted from the hparams), decoder ms per token
// (derived: transcription time minus the encoder's share, over the tokens
// decoded), real-time factor of a whole greedy transcription, load time, peak RSS.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadModel, readWavFile } from '../dist/esm/index.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.WHISPER_SHARED ?? path.join(root, '..', 'shared');
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(shared, 'models', 'ggml-tiny.en-random.bin') },
    audio: { type: 'string', default: path.join(shared, 'audio', 'jfk.wav') },
    threads: { type: 'string', default: '0' },
    runs: { type: 'string', default: '3' },
  },
});

// Multiply-adds x 2 of one encoder window: two convolutions, then per block
// the q/k/v and output projections, the attention products and the MLP.
function encoderFlops(h) {
  const frames = 2 * h.nAudioCtx;
  const d = h.nAudioState;
  const conv = 2 * 3 * (h.nMels * d * frames + d * d * h.nAudioCtx);
  const block =
    2 * h.nAudioCtx * d * (3 * d + d + 2 * 4 * d) + 2 * 2 * h.nAudioCtx * h.nAudioCtx * d;
  return conv + h.nAudioLayer * block;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => performance.now() - t0;

function commit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
  } catch {
    return 'unknown';
  }
}

const t0 = performance.now();
const model = await loadModel(args.model, { threads: Number(args.threads) });
const loadMs = ms(t0);
const { hparams: h, isa, threads, type } = model.info;
const wav = await readWavFile(args.audio);

const mel = model.melWindow(wav.samples);
await model.encode(mel); // warm-up: page in the weights
const encodeTimes = [];
for (let i = 0; i < Number(args.runs); i++) {
  const t = performance.now();
  await model.encode(mel);
  encodeTimes.push(ms(t));
}
const encoderMs = median(encodeTimes);

const transcribeTimes = [];
let result;
for (let i = 0; i < Number(args.runs); i++) {
  const t = performance.now();
  // Greedy: with the random model the default fallback would redo every
  // window at five more temperatures, which measures the model, not the engine.
  result = await model.transcribe(wav.samples, { temperature: 0 });
  transcribeTimes.push(ms(t));
}
const transcribeMs = median(transcribeTimes);
await model.close();

const tokens = result.segments.reduce((n, s) => n + s.tokens.length, 0);
const windows = Math.max(1, Math.ceil(wav.duration / 30));
const row = {
  model: `${type} (${path.basename(args.model)})`,
  audio: `${path.basename(args.audio)} (${wav.duration.toFixed(1)} s)`,
  isa,
  threads,
  'load ms': loadMs.toFixed(0),
  'encoder ms / window': encoderMs.toFixed(1),
  'encoder GFLOP/s': (encoderFlops(h) / encoderMs / 1e6).toFixed(1),
  'decoder ms / token': tokens ? ((transcribeMs - windows * encoderMs) / tokens).toFixed(2) : '-',
  'tokens decoded': tokens,
  'transcribe ms': transcribeMs.toFixed(0),
  RTF: (transcribeMs / 1000 / wav.duration).toFixed(3),
  'peak RSS MB': (process.resourceUsage().maxRSS / 1024).toFixed(0),
};
for (const [k, v] of Object.entries(row)) console.log(`${k.padEnd(22)} ${v}`);

const out = path.join(root, 'bench', 'results');
fs.mkdirSync(out, { recursive: true });
const record = {
  ...row,
  commit: commit(),
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  node: process.version,
  date: new Date().toISOString(),
};
const file = path.join(out, `${record.date.replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
console.log(`\nwritten to ${path.relative(root, file)}`);
