#!/usr/bin/env node
// `npm run lint:cpp`: every tracked C++ source and header must be formatted as
// .clang-format says (clang-format --dry-run --Werror). Without clang-format on
// PATH it says so and passes: the C++ style is checked where the tool is
// installed (apt-get install clang-format), not required to build or test.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const probe = spawnSync('clang-format', ['--version'], { encoding: 'utf8' });
if (probe.error) {
  console.log('lint:cpp: clang-format is not on PATH; C++ formatting not checked');
  process.exit(0);
}
const listed = spawnSync('git', ['ls-files', '-z', 'native', 'bench'], {
  cwd: root,
  encoding: 'utf8',
});
if (listed.status !== 0) {
  console.error(`lint:cpp: git ls-files failed: ${listed.stderr}`);
  process.exit(1);
}
const files = listed.stdout.split('\0').filter((f) => /\.(cc|h|inl)$/.test(f));
const result = spawnSync('clang-format', ['--dry-run', '--Werror', ...files], {
  cwd: root,
  encoding: 'utf8',
});
if (result.status !== 0) {
  process.stderr.write(result.stderr);
  console.error('lint:cpp: run `npm run format` to fix the files above');
  process.exit(1);
}
console.log(`lint:cpp: ${files.length} files formatted (${probe.stdout.trim()})`);
