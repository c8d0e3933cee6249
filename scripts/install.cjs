#!/usr/bin/env node
// `npm install` step: use the prebuilt addon from prebuilds/ (or an earlier
// build in build/Release/) when one loads on this machine; otherwise build it
// from source with cmake-js (`npm run build:native`). Nothing is downloaded.
// The package also works when npm skips this script (npm can be told to run
// no dependency scripts): the loader finds a matching prebuild at run time.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
try {
  const nodeGypBuild = require('node-gyp-build');
  const file = nodeGypBuild.path(root);
  // Loading it, not only finding it, catches a binary this machine cannot run
  // (an older glibc, a missing CPU feature of the baseline).
  require(file);
  console.log(`whisper-native: using ${path.relative(root, file)}; nothing to build`);
  process.exit(0);
} catch (error) {
  const reason = String(error && error.message).split('\n')[0];
  console.log(`whisper-native: ${reason}; building the addon from source (cmake-js)`);
}
const result = spawnSync('npm', ['run', 'build:native'], {
  cwd: root,
  stdio: 'inherit',
  shell: process.platform === 'win32',
});
process.exit(result.status ?? 1);
