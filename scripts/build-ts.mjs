// Builds lib/ for publishing:
//   dist/cjs/  CommonJS + .d.ts, compiled by tsc (tsconfig.build.json)
//   dist/esm/  the ES module entry: it re-exports dist/cjs, so ESM and CJS
//              users share one copy of the code and of its state (one
//              WhisperError class, one loaded addon) — no dual-package hazard.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
writeFileSync(join(dist, 'cjs', 'package.json'), '{ "type": "commonjs" }\n');

// The export names come from the CJS build itself (importing it does not load
// the addon: that happens on first use), so the two entries cannot drift.
const names = Object.keys(createRequire(import.meta.url)(join(dist, 'cjs', 'index.js'))).filter(
  (name) => name !== '__esModule',
);
mkdirSync(join(dist, 'esm'), { recursive: true });
writeFileSync(join(dist, 'esm', 'package.json'), '{ "type": "module" }\n');
writeFileSync(
  join(dist, 'esm', 'index.js'),
  `// ES module entry of whisper-native: re-exports the CommonJS build.\n` +
    `import cjs from '../cjs/index.js';\n\n` +
    `export const { ${names.join(', ')} } = cjs;\n`,
);
writeFileSync(join(dist, 'esm', 'index.d.ts'), `export * from '../cjs/index.js';\n`);
console.log(`built dist/cjs and dist/esm (${names.length} exports)`);
