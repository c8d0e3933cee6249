// The published entry points (dist/, built by `npm install` through prepare):
// ESM and CommonJS resolve through package.json's exports map and share one
// implementation, so a WhisperError is the same class whichever way it came.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/shared.js';

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' }).trim();
}

describe('package entry points', () => {
  it('exports the same names to import and require', () => {
    const esm = node([
      '--input-type=module',
      '-e',
      "import * as m from 'whisper-native'; console.log(Object.keys(m).sort().join(','))",
    ]);
    const cjs = node([
      '-e',
      "console.log(Object.keys(require('whisper-native')).sort().join(','))",
    ]);
    expect(esm).toBe(cjs);
    expect(esm.split(',')).toEqual(
      expect.arrayContaining(['loadModel', 'WhisperModel', 'WhisperError', 'readWavFile']),
    );
  });

  it('shares one WhisperError class between ESM and CommonJS', () => {
    const same = node([
      '--input-type=module',
      '-e',
      "import { createRequire } from 'node:module';" +
        "import { WhisperError } from 'whisper-native';" +
        "const cjs = createRequire(process.cwd() + '/')('whisper-native');" +
        'console.log(cjs.WhisperError === WhisperError)',
    ]);
    expect(same).toBe('true');
  });

  it('loads the addon through the CommonJS entry and reports its kernel paths', () => {
    const isas = node(['-e', "console.log(require('whisper-native').supportedIsas().join(','))"]);
    expect(isas.split(',')).toContain('generic');
  });

  it('points every bin entry at a built, runnable script', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(Object.keys(pkg.bin)).toEqual(['whisper-native']);
    for (const target of Object.values(pkg.bin)) {
      const file = path.join(repoRoot, target);
      expect(existsSync(file), `${target} exists`).toBe(true);
      expect(readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
      expect(node([file, '--help'])).toMatch(/transcribe/);
    }
  });
});
