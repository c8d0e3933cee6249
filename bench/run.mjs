#!/usr/bin/env node
// End-to-end benchmark through the public API (kernel micro-benchmarks are in
// bench/kernels/). A benchmark, never a test: it asserts nothing and prints a
// table, then writes bench/results/<time>.json with the CPU, ISA, model and
// commit so runs can be compared.
//
//   npm run bench -- [--model PATH] [--audio WAV] [--runs N] [--quick]
//
// This machine kind is shared and noisy, so every timing is repeated (--runs,
// default 5) and reported as median and min, and the figures that matter are
// ratios measured in this same run: encoder GFLOP/s as a share of the fp32 FMA
// peak measured just before and after it, and 2 threads over 1.
//
// Measured:
//   peak fp32 FMA GFLOP/s, 1 and 2 threads (register-only loop, kernels/peak_flops.cc)
//   read bandwidth, 1 and 2 threads, over a buffer the size of what one decoder
//   step reads (kernels/peak_bandwidth.cc): the floor of the decoder's time per
//   token, which the decoder's achieved GB/s is given as a share of
//   model load time, 1 and 2 threads
//   encoder time per 30 s window (with the window's cross-attention K/V, as
//   whisper.cpp counts its encode time), 1 and 2 threads, its GFLOP/s and % of
//   peak, and decoder ms per token: both from the timings of greedy
//   transcriptions of the clip (result.timings: encodeMs / encoderPasses,
//   decodeMs / decoderSteps)
//   the clip's greedy transcription time (model loaded), and with 5 beams
//   (2 threads; temperature 0 alone: the random model would trigger fallback)
//   real-time factor over every clip in ../shared/audio (greedy, 2 threads), one
//   call after another and all calls made at once
//   models loaded with lowMemory: false, every weight packed at load (2 threads):
//   load time, and encoder time per window measured in alternation with a
//   default (lowMemory) model, so that the machine's noise hits both
//   peak RSS of a fresh Node process that loads the model and transcribes the clip,
//   by default and with lowMemory: false (3 processes each)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.WHISPER_SHARED ?? path.join(root, '..', 'shared');
const defaultModel = path.join(shared, 'models', 'ggml-tiny.en-random.bin');
const defaultAudio = path.join(shared, 'audio', 'jfk.wav');
const USAGE = `Usage: npm run bench -- [--model PATH] [--audio WAV] [--runs N] [--quick]

End-to-end benchmark through the public API: peak FMA GFLOP/s and read
bandwidth, model load, encoder time per window (% of peak) and decoder ms per
token, the clip's greedy and 5-beam transcription, real-time factor over every
clip in ../shared/audio, lowMemory: false models and peak RSS. Prints a table and
writes bench/results/<time>.json.

  --model PATH  the model file (default: ${defaultModel})
  --audio WAV   the clip (default: ${defaultAudio})
  --runs N      repetitions of every timing, reported as median and min (default: 5)
  --quick       skip the real-time factor pass over every clip
  -h, --help    print this and exit
`;

/** A usage error: one line saying what is wrong, the usage, exit status 2. */
function usageError(message) {
  process.stderr.write(`bench/run.mjs: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      model: { type: 'string', default: defaultModel },
      audio: { type: 'string', default: defaultAudio },
      runs: { type: 'string', default: '5' },
      quick: { type: 'boolean', default: false }, // skip the all-clips RTF pass
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  // parseArgs's own errors (unknown option, missing value, stray argument)
  // are the user's; anything else is a bug, with its stack.
  if (!String(error?.code).startsWith('ERR_PARSE_ARGS_')) throw error;
  usageError(error.message);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (!/^[1-9]\d*$/.test(args.runs))
  usageError(`--runs must be a positive integer, got '${args.runs}'`);
const runs = Number(args.runs);
// Imported once the arguments are known good: --help needs no build.
const { loadModel, readWavFile } = await import('../dist/esm/index.js');
const GREEDY = { temperature: 0 };
const BEAMS = { temperature: 0, beamSize: 5 };

// Multiply-adds × 2 of one encoder window: the two convolutions, then per block
// the q/k/v and output projections, the two attention products and the MLP,
// and the decoder layers' cross-attention K/V of the window (timed with the
// encoder: result.timings.encodeMs).
function encoderFlops(h) {
  const frames = 2 * h.nAudioCtx;
  const d = h.nAudioState;
  const conv = 2 * 3 * (h.nMels * d * frames + d * d * h.nAudioCtx);
  const block =
    2 * h.nAudioCtx * d * (3 * d + d + 2 * 4 * d) + 2 * 2 * h.nAudioCtx * h.nAudioCtx * d;
  const crossKv = 2 * h.nAudioCtx * d * 2 * h.nTextState * h.nTextLayer;
  return conv + h.nAudioLayer * block + crossKv;
}

// Bytes one greedy decoder step reads: the token embedding (the vocabulary
// projection), every decoder-layer matrix but the cross K/V projections (used
// once per window), and the window's cross-attention K/V (f16). Matrix bytes
// per parameter come from the model's own weight bytes (f16, or a quantized
// type), less the f32 positional embeddings; norms and biases are noise.
function decoderBytesPerToken(info) {
  const h = info.hparams;
  const d = h.nTextState;
  const positional = 4 * (h.nAudioCtx * h.nAudioState + h.nTextCtx * d);
  const encoderMatrices =
    3 * h.nMels * h.nAudioState +
    3 * h.nAudioState * h.nAudioState +
    12 * h.nAudioLayer * h.nAudioState * h.nAudioState;
  const streamed = h.nVocab * d + 14 * h.nTextLayer * d * d;
  const decoderMatrices = streamed + 2 * h.nTextLayer * d * d;
  const bytesPerParam = (info.weightBytes - positional) / (encoderMatrices + decoderMatrices);
  const crossKv = 2 * 2 * h.nTextLayer * h.nAudioCtx * d;
  return bytesPerParam * streamed + crossKv;
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0] };
};
async function timeRuns(n, fn) {
  const times = [];
  const results = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    results.push(await fn());
    times.push(performance.now() - t);
  }
  return { ...stats(times), results, last: results.at(-1) };
}
const fmt = (s, digits = 1) => `${s.median.toFixed(digits)} (min ${s.min.toFixed(digits)})`;
function commit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
  } catch {
    return 'unknown';
  }
}

// The addon itself, for the peak-FMA probe (not part of the public API).
const { binding } = createRequire(import.meta.url)('../dist/cjs/binding.js');
const native = binding();
// The peak is measured before and after the timed runs and the higher kept:
// another tenant's burst during one measurement would otherwise understate it
// (and overstate the share of it the encoder reaches).
const peak = { 1: native.measurePeakGflops(1, 1), 2: native.measurePeakGflops(2, 1) };
const clip = await readWavFile(args.audio);
const perThreads = {};
let info;
for (const threads of [1, 2]) {
  const load = await timeRuns(runs, async () => {
    const m = await loadModel(args.model, { threads });
    await m.close();
  });
  const model = await loadModel(args.model, { threads });
  info = model.info;
  await model.transcribe(clip.samples, GREEDY); // warm-up: code, caches, allocator
  // Each run is one greedy transcription of the clip; its timings say how
  // long its encoder passes and its decoder steps took, inside the real run.
  const transcribe = await timeRuns(runs, () => model.transcribe(clip.samples, GREEDY));
  const t = transcribe.results.map((r) => r.timings);
  const encode = stats(t.map((x) => x.encodeMs / x.encoderPasses));
  const decoderMsPerToken = stats(t.map((x) => x.decodeMs / x.decoderSteps));
  const gflops = encoderFlops(info.hparams) / (encode.min / 1000) / 1e9;
  const tokens = transcribe.last.segments.reduce((n, s) => n + s.tokens.length, 0);
  // With 2 threads, the clip with 5 beams too (the CLI's default width,
  // without its temperature fallback, which the random model would trigger).
  let beams;
  if (threads === 2) {
    const timed = await timeRuns(runs, () => model.transcribe(clip.samples, BEAMS));
    const steps = timed.results.map((r) => r.timings);
    beams = {
      transcribe: { median: timed.median, min: timed.min },
      msPerBeamToken: stats(steps.map((x) => x.decodeMs / x.decoderSteps)),
    };
  }
  perThreads[threads] = {
    load,
    encode,
    gflops,
    percentOfPeak: 0, // below, once the peak is measured again
    transcribe: { median: transcribe.median, min: transcribe.min },
    tokens,
    decoderSteps: t[0].decoderSteps,
    decoderMsPerToken,
    beams,
  };
  await model.close();
}

for (const threads of [1, 2]) {
  peak[threads] = Math.max(peak[threads], native.measurePeakGflops(threads, 1));
  perThreads[threads].percentOfPeak = (100 * perThreads[threads].gflops) / peak[threads];
}

// The default (lowMemory) repacks the encoder's weights from the file for
// each window; lowMemory: false packs them once, at load. The difference of
// the two encoder times, a percent or two, is the default's cost: the two
// models take turns, run after run, so that the machine's noise hits both.
const RESIDENT = { threads: 2, lowMemory: false };
const residentLoad = await timeRuns(runs, async () => {
  const m = await loadModel(args.model, RESIDENT);
  await m.close();
});
const pair = {
  default: await loadModel(args.model, { threads: 2 }),
  resident: await loadModel(args.model, RESIDENT),
};
// info.weightBytes of a lowMemory model leaves the encoder's weights out.
const residentInfo = pair.resident.info;
const pairEncodeMs = { default: [], resident: [] };
for (let i = 0; i <= runs; i++) {
  for (const [mode, model] of Object.entries(pair)) {
    const { timings } = await model.transcribe(clip.samples, GREEDY);
    if (i > 0) pairEncodeMs[mode].push(timings.encodeMs / timings.encoderPasses); // 0: warm-up
  }
}
await pair.default.close();
await pair.resident.close();
const resident = {
  load: { median: residentLoad.median, min: residentLoad.min },
  encode: stats(pairEncodeMs.resident),
  encodeDefault: stats(pairEncodeMs.default),
};
resident.lowMemoryCostPercent = {
  median: 100 * (resident.encodeDefault.median / resident.encode.median - 1),
  min: 100 * (resident.encodeDefault.min / resident.encode.min - 1),
};

// The decoder is bound by memory traffic: its GB/s (best run) against this
// machine's read bandwidth over a buffer as big as one step's reads, measured
// now, in the same run.
const stepBytes = decoderBytesPerToken(residentInfo);
const bandwidth = {};
for (const threads of [1, 2]) {
  bandwidth[threads] = native.measureReadBandwidth(threads, stepBytes / 1e6, 1);
  const t = perThreads[threads];
  t.decoderGbPerS = stepBytes / (t.decoderMsPerToken.min / 1000) / 1e9;
  t.percentOfBandwidth = (100 * t.decoderGbPerS) / bandwidth[threads];
}

// Real-time factor over every clip, 2 threads, greedy: one call after another,
// then the same calls made all at once, as a server would (4 run at a time,
// the model's CallGate queues the rest). Clips are read first: file reading
// is not timed.
let rtf = null;
if (!args.quick) {
  const dir = path.join(shared, 'audio');
  const model = await loadModel(args.model, { threads: 2 });
  const clips = [];
  for (const f of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.wav'))
    .sort()) {
    clips.push(await readWavFile(path.join(dir, f)));
  }
  const audioSeconds = clips.reduce((sum, wav) => sum + wav.duration, 0);
  let t = performance.now();
  for (const wav of clips) await model.transcribe(wav.samples, GREEDY);
  const oneAtATime = (performance.now() - t) / 1000 / audioSeconds;
  t = performance.now();
  const together = await Promise.all(clips.map((wav) => model.transcribe(wav.samples, GREEDY)));
  const allAtOnce = (performance.now() - t) / 1000 / audioSeconds;
  // How much of the decoding the concurrent calls did in shared passes.
  const sum = (key) => together.reduce((n, r) => n + r.timings[key], 0);
  const sharedStepsPercent = (100 * sum('sharedSteps')) / sum('decoderSteps');
  rtf = {
    clips: clips.length,
    audioSeconds,
    rtf: oneAtATime,
    rtfAllAtOnce: allAtOnce,
    sharedStepsPercent,
  };
  await model.close();
}

// Peak RSS of fresh processes, 3 of each mode (Node's own share varies by ~1 MB).
function probeRss(mode) {
  const probes = [];
  for (let i = 0; i < 3; i++) {
    const argv = [path.join(root, 'bench', 'rss-probe.mjs'), args.model, args.audio, '2'];
    if (mode === 'resident') argv.push('resident');
    probes.push(JSON.parse(execFileSync(process.execPath, argv).toString()));
  }
  const mb = probes.map((p) => p.maxRssMb);
  return { ...stats(mb), max: Math.max(...mb), runs: mb };
}
const rss = { default: probeRss('default'), resident: probeRss('resident') };
const rssRange = (r) =>
  `${r.median.toFixed(0)} (${r.min.toFixed(1)}-${r.max.toFixed(1)}, 3 processes)`;

const t1 = perThreads[1];
const t2 = perThreads[2];
const rows = [
  ['CPU', `${os.cpus()[0]?.model} (${os.cpus().length} logical), ISA ${info.isa}`],
  ['model', `${info.type} (${path.basename(args.model)})`],
  ['clip', `${path.basename(args.audio)} (${clip.duration.toFixed(1)} s)`],
  ['peak fp32 FMA GFLOP/s', `${peak[1].toFixed(0)} (1 thread), ${peak[2].toFixed(0)} (2 threads)`],
  ['model load ms', `${fmt(t1.load)} 1 thread; ${fmt(t2.load)} 2 threads`],
  ['encoder ms / 30 s window', `${fmt(t1.encode)} 1 thread; ${fmt(t2.encode)} 2 threads`],
  [
    'encoder speed-up 2T/1T',
    `${(t1.encode.median / t2.encode.median).toFixed(2)}x median, ${(t1.encode.min / t2.encode.min).toFixed(2)}x min`,
  ],
  [
    'encoder GFLOP/s (best run)',
    `${t1.gflops.toFixed(0)} = ${t1.percentOfPeak.toFixed(0)} % of peak (1T); ${t2.gflops.toFixed(0)} = ${t2.percentOfPeak.toFixed(0)} % of peak (2T)`,
  ],
  [
    'decoder ms / token',
    `${fmt(t1.decoderMsPerToken, 2)} 1 thread; ${fmt(t2.decoderMsPerToken, 2)} 2 threads`,
  ],
  [
    `read bandwidth over ${(stepBytes / 1e6).toFixed(0)} MB`,
    `${bandwidth[1].toFixed(1)} GB/s (1 thread), ${bandwidth[2].toFixed(1)} GB/s (2 threads): a step's reads, ${(stepBytes / 1e6).toFixed(1)} MB, take >= ${((stepBytes / bandwidth[2]) * 1e-6).toFixed(2)} ms (2T)`,
  ],
  [
    'decoder GB/s (best run)',
    `${t1.decoderGbPerS.toFixed(1)} = ${t1.percentOfBandwidth.toFixed(0)} % of bandwidth (1T); ${t2.decoderGbPerS.toFixed(1)} = ${t2.percentOfBandwidth.toFixed(0)} % of bandwidth (2T)`,
  ],
  [
    'clip transcription ms',
    `${fmt(t2.transcribe, 0)} 2 threads, ${t2.tokens} tokens, ${t2.decoderSteps} decoder steps (model loaded, greedy)`,
  ],
  [
    'clip, 5 beams ms',
    `${fmt(t2.beams.transcribe, 0)} 2 threads (model loaded, no fallback); ${fmt(t2.beams.msPerBeamToken, 2)} ms per beam and step`,
  ],
  [
    'real-time factor',
    rtf
      ? `${rtf.rtf.toFixed(3)} over ${rtf.clips} clips, ${rtf.audioSeconds.toFixed(0)} s of audio (2 threads, greedy)`
      : 'skipped (--quick)',
  ],
  [
    'real-time factor, all calls at once',
    rtf
      ? `${rtf.rtfAllAtOnce.toFixed(3)}: ${(rtf.rtfAllAtOnce / rtf.rtf).toFixed(2)}x the time of one call after another (4 run at a time; ${rtf.sharedStepsPercent.toFixed(0)} % of their decoder steps in shared passes)`
      : 'skipped (--quick)',
  ],
  [
    'lowMemory: false, load ms',
    `${fmt(resident.load)} 2 threads (default, lowMemory: ${fmt(t2.load)})`,
  ],
  [
    'lowMemory: false, encoder ms',
    `${fmt(resident.encode)} vs ${fmt(resident.encodeDefault)} default (lowMemory), taking ` +
      `turns: the default's repacking costs ${resident.lowMemoryCostPercent.median.toFixed(1)} % ` +
      `median, ${resident.lowMemoryCostPercent.min.toFixed(1)} % min (2 threads)`,
  ],
  [
    'peak RSS MB',
    `${rssRange(rss.default)} default (lowMemory); ${rssRange(rss.resident)} lowMemory: false ` +
      '(fresh process: load + greedy transcription of the clip)',
  ],
];
const width = Math.max(...rows.map(([k]) => k.length));
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);

const out = path.join(root, 'bench', 'results');
fs.mkdirSync(out, { recursive: true });
const record = {
  date: new Date().toISOString(),
  commit: commit(),
  cpu: os.cpus()[0]?.model,
  logicalCpus: os.cpus().length,
  node: process.version,
  isa: info.isa,
  model: path.basename(args.model),
  clip: path.basename(args.audio),
  runs,
  peakGflops: peak,
  readBandwidthGbPerS: bandwidth,
  decoderBytesPerToken: stepBytes,
  threads: perThreads,
  rtf,
  resident,
  peakRssMb: rss.default.median,
  peakRss: rss,
};
const file = path.join(out, `${record.date.replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
console.log(`\nwritten to ${path.relative(root, file)}`);
