#!/usr/bin/env node
// Peak resident memory of a Node process that loads a model and transcribes
// one clip greedily, and nothing else: run by bench/run.mjs in a child process
// so the figure is not inflated by the benchmark's own repeated runs.
//   node bench/rss-probe.mjs MODEL WAV THREADS [resident]
//     -> prints {"maxRssMb": ..., "tokens": ..., "loadMs": ..., "lowMemory": ...}
// `resident` loads the model with lowMemory: false (every weight packed at
// load); without it, loadModel's default (lowMemory).
import fs from 'node:fs';
import { loadModel, readWavFile } from '../dist/esm/index.js';

// The peak resident set of this process's own address space. Linux's
// getrusage maxRSS (process.resourceUsage().maxRSS) is not that: it carries
// over the high-water mark of the address space this process had before
// exec, i.e. the forked copy of the parent (the whole benchmark, ~180 MB), so
// it reported the parent's size. VmHWM in /proc/self/status belongs to the
// address space exec created. Other systems fall back to maxRSS.
function peakRssMb() {
  try {
    const hwm = fs.readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // no procfs: below
  }
  return process.resourceUsage().maxRSS / 1024;
}

const [modelPath, wavPath, threads, mode] = process.argv.slice(2);
const options = mode === 'resident' ? { lowMemory: false } : {};
const loadStart = performance.now();
const model = await loadModel(modelPath, { threads: Number(threads), ...options });
const loadMs = performance.now() - loadStart;
const { lowMemory } = model.info;
const { samples } = await readWavFile(wavPath);
const result = await model.transcribe(samples, { temperature: 0 });
await model.close();
const tokens = result.segments.reduce((n, s) => n + s.tokens.length, 0);
console.log(JSON.stringify({ maxRssMb: peakRssMb(), tokens, loadMs, lowMemory }));
