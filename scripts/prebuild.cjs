#!/usr/bin/env node
// `npm run prebuildify`: builds the prebuilt addon for this platform and arch
// into prebuilds/<platform>-<arch>/whisper-native.glibc.node (or .musl, or no
// libc tag off Linux) with prebuildify, which drives node-gyp and binding.gyp.
// One N-API binary serves every Node >= 18 and Electron of that platform.
//
// The release workflow (.github/workflows/prebuild.yml) runs this same script
// on each platform. Extra arguments go to prebuildify (e.g. `--arch arm64`).
//
// Offline: node-gyp needs Node's C headers. When the running Node's install
// has them (<prefix>/include/node/node_api.h, as Linux and macOS installs do),
// node-gyp is pointed there, so nothing is downloaded. Windows installs lack
// the import library node.lib, so there node-gyp fetches its headers bundle.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

/** The Node install prefix whose headers this build can use offline, if any. */
function localNodeDir() {
  if (process.platform === 'win32') return undefined;
  const prefix = path.dirname(path.dirname(process.execPath));
  const header = path.join(prefix, 'include', 'node', 'node_api.h');
  return fs.existsSync(header) ? prefix : undefined;
}

const env = { ...process.env };
const nodeDir = env.npm_config_nodedir || localNodeDir();
if (nodeDir !== undefined) env.npm_config_nodedir = nodeDir;
// node-gyp compiles one file at a time unless told otherwise.
env.JOBS ??= 'max';

const args = [
  require.resolve('prebuildify/bin.js'),
  '--napi',
  // node-gyp is told to build for the running Node (whose headers we have)
  // rather than the newest Node prebuildify knows; with N-API the binary is
  // the same for every version.
  '--target',
  `node@${process.versions.node}`,
  '--strip',
  // glibc and musl binaries differ: tag the file so Alpine never loads a glibc one.
  ...(process.platform === 'linux' ? ['--tag-libc'] : []),
  ...process.argv.slice(2),
];
console.log(
  `prebuildify for ${process.platform}-${process.arch}` +
    (nodeDir ? ` (Node headers from ${nodeDir})` : ' (node-gyp fetches Node headers)'),
);
const result = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
