#!/usr/bin/env node
// The one list of native sources. CMakeLists.txt and binding.gyp both read it,
// so the two builds can never compile different files.
//
//   node native/sources.cjs json            -> {"engine": [...], "avx2": [...], ...}
//   node native/sources.cjs list engine     -> one path per line (gyp: <!@(...))
//   node native/sources.cjs cmake           -> set(WN_SOURCES_<group> ...) lines
//
// Groups: one per engine module (each its own folder under native/engine), the
// per-ISA kernel files (compiled with their own -m flags), and the addon binding.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');

function sourcesIn(dir, { exclude = [] } = {}) {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs)
    .filter((f) => f.endsWith('.cc') && !exclude.includes(f))
    .sort()
    .map((f) => `${dir}/${f}`);
}

// Kernel files named *_avx2.cc / *_avx512.cc / *_neon.cc are ISA-specific: the
// build gives each its own target flags and the dispatcher picks one at run time.
const kernelFiles = sourcesIn('native/engine/kernels');
const isIsa = (isa) => (f) => f.endsWith(`_${isa}.cc`);
const groups = {
  core: sourcesIn('native/engine/core'),
  format: sourcesIn('native/engine/format'),
  audio: sourcesIn('native/engine/audio'),
  kernels: kernelFiles.filter((f) => !/_(avx2|avx512|neon)\.cc$/.test(f)),
  kernels_avx2: kernelFiles.filter(isIsa('avx2')),
  kernels_avx512: kernelFiles.filter(isIsa('avx512')),
  kernels_neon: kernelFiles.filter(isIsa('neon')),
  model: sourcesIn('native/engine/model'),
  decode: sourcesIn('native/engine/decode'),
  transcribe: sourcesIn('native/engine', {}),
  binding: sourcesIn('native/binding'),
};
// Everything the engine library is made of, in dependency order.
groups.engine = [
  ...groups.core,
  ...groups.format,
  ...groups.audio,
  ...groups.kernels,
  ...groups.model,
  ...groups.decode,
  ...groups.transcribe,
];

const [mode = 'json', group] = process.argv.slice(2);
if (mode === 'json') {
  process.stdout.write(JSON.stringify(groups, null, 2) + '\n');
} else if (mode === 'list') {
  if (!groups[group]) {
    process.stderr.write(`unknown source group "${group}"\n`);
    process.exit(1);
  }
  process.stdout.write(groups[group].join('\n') + '\n');
} else if (mode === 'cmake') {
  for (const [name, files] of Object.entries(groups)) {
    process.stdout.write(`set(WN_SOURCES_${name}${files.map((f) => ` "${f}"`).join('')})\n`);
  }
} else {
  process.stderr.write('usage: sources.cjs json | list <group> | cmake\n');
  process.exit(1);
}
