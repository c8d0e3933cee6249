#!/usr/bin/env node
// Peak resident memory of a Node process that loads a model and transcribes
// one clip greedily, and nothing else: run by bench/run.mjs in a child process
// so the figure is not inflated by the benchmark's own repeated runs.
//   node bench/rss-probe.mjs MODEL WAV THREADS  -> prints {"maxRssMb": ..., "tokens": ...}
import { loadModel, readWavFile } from '../dist/esm/index.js';

const [modelPath, wavPath, threads] = process.argv.slice(2);
const model = await loadModel(modelPath, { threads: Number(threads) });
const { samples } = await readWavFile(wavPath);
const result = await model.transcribe(samples, { temperature: 0 });
await model.close();
const tokens = result.segments.reduce((n, s) => n + s.tokens.length, 0);
console.log(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024, tokens }));
