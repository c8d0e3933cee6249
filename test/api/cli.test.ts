// The whisper-native command, run as a user runs it: node on the built bin
// script (dist/, made by `npm install` through the prepare script).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { audioPath, hasShared, randomModelPath, repoRoot } from '../helpers/shared.js';

const cli = path.join(repoRoot, 'dist', 'cjs', 'cli.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: unknown }).code as number) : 0;
      resolve({ code: typeof code === 'number' ? code : -1, stdout, stderr });
    });
  });
}

describe('whisper-native CLI', () => {
  beforeAll(() => {
    if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build:ts\` first`);
  });

  it('prints help and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: whisper-native transcribe <file\.wav> --model <path>/);
  });

  it.each([
    [[], 'missing command'],
    [['translate', 'a.wav'], "unknown command 'translate'"],
    [['transcribe', 'a.wav'], '--model <path> is required'],
    [['transcribe', '--model', 'm.bin'], 'expected one WAV file, got 0'],
    [
      ['transcribe', 'a.wav', '--model', 'm.bin', '--threads', 'two'],
      "--threads must be an integer from 1 to 256, got 'two'",
    ],
    [['transcribe', 'a.wav', '--model', 'm.bin', '--bogus'], "Unknown option '--bogus'"],
    [
      ['transcribe', 'a.wav', '--model', 'm.bin', '--temperature', '0,-1'],
      "--temperature must be numbers >= 0 separated by commas, got '0,-1'",
    ],
  ])('exits 2 on bad usage: %j', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`whisper-native: ${message}`);
    expect(r.stderr).toContain('Usage:');
    expect(r.stdout).toBe('');
  });

  it.skipIf(!hasShared)('exits 1 with a message when the model is missing', async () => {
    const r = await run(['transcribe', audioPath('jfk'), '--model', '/nonexistent/model.bin']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "whisper-native: cannot open model file '/nonexistent/model.bin': No such file or directory [ERR_MODEL_NOT_FOUND]\n",
    );
  });

  it('exits 1 when the audio file is missing', async () => {
    const r = await run(['transcribe', '/nonexistent/audio.wav', '--model', 'm.bin']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("whisper-native: cannot read '/nonexistent/audio.wav': no such file\n");
  });

  it.skipIf(!hasShared)('prints timestamped segment lines for jfk.wav', async () => {
    const r = await run([
      'transcribe',
      audioPath('jfk'),
      '--model',
      randomModelPath,
      '--threads',
      '2',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\] {2}\S/);
    }
    expect(lines[0]).toMatch(/^\[00:00:00\.\d{3} -->/);
  });
});
