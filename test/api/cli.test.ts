// The whisper-native command, run as a user runs it: node on the built bin
// script (dist/, made by `npm install` through the prepare script), with stdin
// closed and stderr a pipe (so progress comes as plain lines). Transcriptions
// here pass `--beam-size 1 --best-of 1 --temperature 0` (greedy) unless they
// test the defaults: the random model fails every quality threshold, so the
// default fallback would decode each window many more times.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadModel,
  toCsv,
  toJson,
  toSrt,
  toText,
  toVtt,
  type TranscriptionResult,
  type WhisperModel,
} from '../../lib/index.js';
import { buildWav, encode } from '../audio/wav-writer.js';
import { audioPath, hasShared, randomModelPath, readClip, repoRoot } from '../helpers/shared.js';

const cli = path.join(repoRoot, 'dist', 'cjs', 'cli.js');
const FAST = ['--beam-size', '1', '--best-of', '1', '--temperature', '0', '--threads', '2'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { timeout: 170_000, env, maxBuffer: 32 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let work: string;
beforeAll(() => {
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build:ts\` first`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wn-cli-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('whisper-native CLI: help and usage', () => {
  it('prints the commands and the exit codes for --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: whisper-native <command> \[options\]/);
    for (const command of ['transcribe <files...>', 'download <name>', 'bench --model']) {
      expect(r.stdout).toContain(command);
    }
    expect(r.stdout).toContain('\n  130  interrupted (Ctrl-C)');
  });

  it('documents every transcribe option and its default', async () => {
    const r = await run(['transcribe', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Usage: whisper-native transcribe <files\.\.\.> --model <path\|name>/,
    );
    for (const flag of [
      '--model',
      '--format',
      '--output-dir',
      '--language',
      '--translate',
      '--beam-size',
      '--best-of',
      '--temperature',
      '--word-timestamps',
      '--threads',
      '--no-low-memory',
      '--cache-dir',
      '--quiet',
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain('(default: 5; 1: greedy)');
    expect(r.stdout).toMatch(/^Exit codes:/m);
  });

  it.each([
    [[], 'missing command'],
    [['translate', 'a.wav'], "unknown command 'translate'"],
    [['transcribe', 'a.wav'], '--model <path|name> is required'],
    [['transcribe', '--model', 'm.bin'], 'no input files'],
    [
      ['transcribe', 'a.wav', '--model', 'm.bin', '--threads', 'two'],
      "--threads must be an integer from 1 to 256, got 'two'",
    ],
    [
      ['transcribe', 'a.wav', '--model', 'm.bin', '--beam-size', '0'],
      "--beam-size must be an integer from 1 to 16, got '0'",
    ],
    [['transcribe', 'a.wav', '--model', 'm.bin', '--bogus'], "Unknown option '--bogus'"],
    [
      ['transcribe', 'a.wav', '--model', 'm.bin', '--temperature', '0,-1'],
      "--temperature must be numbers >= 0 separated by commas, got '0,-1'",
    ],
    [
      ['transcribe', 'a.wav', '--model', 'm.bin', '--format', 'docx'],
      "--format must be one of txt, srt, vtt, json, csv, got 'docx'",
    ],
    [
      ['transcribe', 'a.wav', 'b.wav', '--model', 'm.bin', '--format', 'json'],
      "2 files' json on stdout would run together: give --output-dir DIR",
    ],
    [
      ['transcribe', 'x/a.wav', 'y/a.mp3', '--model', 'm.bin', '--output-dir', '/tmp/o'],
      "'x/a.wav' and 'y/a.mp3' would both be written to /tmp/o/a.txt",
    ],
    [['download'], 'expected one model name, got 0'],
    [['bench'], '--model <path|name> is required'],
  ])('exits 2 on bad usage: %j', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`whisper-native: ${message}\n`);
    expect(r.stderr).toMatch(/Usage: whisper-native /);
    expect(r.stdout).toBe('');
  });
});

describe.skipIf(!hasShared)('whisper-native transcribe', () => {
  let model: WhisperModel;
  const greedy = new Map<string, TranscriptionResult>();
  /** The API's greedy result for a clip, as the CLI's FAST flags should give it. */
  async function reference(clip: string): Promise<TranscriptionResult> {
    if (!greedy.has(clip)) {
      greedy.set(clip, await model.transcribe(await readClip(clip), { temperature: 0 }));
    }
    return greedy.get(clip)!;
  }
  beforeAll(async () => {
    model = await loadModel(randomModelPath, { threads: 2 });
  });
  afterAll(() => model?.close());

  it('prints timestamped lines as segments are final, and plain progress lines on stderr', async () => {
    const r = await run(['transcribe', audioPath('jfk'), '--model', randomModelPath, ...FAST]);
    expect(r.code).toBe(0);
    const expected = await reference('jfk');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(expected.segments.length);
    lines.forEach((line, i) => {
      expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\] {2}\S/);
      expect(line.endsWith(expected.segments[i]!.text.trim())).toBe(true);
    });
    expect(r.stderr).toMatch(/^\S*jfk\.wav: 11\.0 s of audio in \d+\.\d s\n$/m);
    expect(r.stderr).not.toContain('\r');
  });

  it('--no-low-memory gives the same transcript (every weight packed at load)', async () => {
    const r = await run([
      'transcribe',
      audioPath('jfk'),
      '--model',
      randomModelPath,
      '--no-low-memory',
      '--format',
      'json',
      '--quiet',
      ...FAST,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(toJson(await reference('jfk'), { words: true }));
  });

  it('--low-memory, now the default, is accepted; with --no-low-memory it is a usage error', async () => {
    const base = ['transcribe', audioPath('jfk'), '--model', randomModelPath, '--quiet'];
    const both = await run([...base, '--low-memory', '--no-low-memory']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--low-memory and --no-low-memory contradict each other');
    expect(both.stdout).toBe('');
    const r = await run([...base, '--low-memory', '--format', 'json', ...FAST]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(toJson(await reference('jfk'), { words: true }));
  });

  it.each(['txt', 'srt', 'vtt', 'json', 'csv'] as const)(
    '--format %s on stdout is the writer of the same name',
    async (format) => {
      const r = await run([
        'transcribe',
        audioPath('jfk'),
        '--model',
        randomModelPath,
        '--format',
        format,
        '--quiet',
        ...FAST,
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const result = await reference('jfk');
      const writers = {
        txt: () => toText(result),
        srt: () => toSrt(result),
        vtt: () => toVtt(result),
        json: () => toJson(result, { words: true }),
        csv: () => toCsv(result, { words: true }),
      };
      expect(r.stdout).toBe(writers[format]());
    },
  );

  it('writes one file per input into --output-dir', async () => {
    const out = path.join(work, 'out');
    const r = await run([
      'transcribe',
      audioPath('jfk'),
      audioPath('timit_LDC93S1'),
      '--model',
      randomModelPath,
      '-f',
      'srt',
      '-o',
      out,
      ...FAST,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(fs.readdirSync(out).sort()).toEqual(['jfk.srt', 'timit_LDC93S1.srt']);
    expect(fs.readFileSync(path.join(out, 'jfk.srt'), 'utf8')).toBe(toSrt(await reference('jfk')));
    expect(fs.readFileSync(path.join(out, 'timit_LDC93S1.srt'), 'utf8')).toBe(
      toSrt(await reference('timit_LDC93S1')),
    );
    expect(r.stderr).toContain(`[2/2] ${audioPath('timit_LDC93S1')}: 2.9 s of audio in`);
  });

  it('goes on past an input it cannot read, and exits 4', async () => {
    const missing = path.join(work, 'missing.wav');
    const r = await run([
      'transcribe',
      missing,
      audioPath('jfk'),
      '--model',
      randomModelPath,
      '--quiet',
      ...FAST,
    ]);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`whisper-native: cannot read '${missing}': no such file\n`);
    // Only files that were read get a header.
    expect(r.stdout.startsWith(`==> ${audioPath('jfk')} <==\n[00:00:00.000 --> `)).toBe(true);
    expect(r.stdout).not.toContain(missing);
  });

  it('goes on past a file whose samples the model refuses (NaN in a float WAV), and exits 4', async () => {
    // It reads fine; only the model's check of the samples refuses it.
    const nan = path.join(work, 'nan.wav');
    fs.writeFileSync(
      nan,
      buildWav({
        formatTag: 3,
        channels: 1,
        sampleRate: 16000,
        bitsPerSample: 32,
        data: encode.f32([0, Number.NaN, 0.5]),
      }),
    );
    const r = await run([
      'transcribe',
      nan,
      audioPath('jfk'),
      '--model',
      randomModelPath,
      '--quiet',
      ...FAST,
    ]);
    expect(r.code).toBe(4);
    // The model's message, which does not name the file, after the file's name.
    expect(r.stderr.startsWith(`whisper-native: ${nan}: sample 1 is NaN`)).toBe(true);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    // The refused file left no empty section.
    expect(r.stdout.startsWith(`==> ${audioPath('jfk')} <==\n[00:00:00.000 --> `)).toBe(true);
    expect(r.stdout).not.toContain(nan);
  });

  it('goes on past WAVs at absurd rates, naming them (a RangeError ended the run)', async () => {
    // 2 MB at 1 Hz asked for 16e9 samples; 0xFFFFFFFF Hz for a filter of 2^32 taps.
    const low = path.join(work, 'rate-1hz.wav');
    const high = path.join(work, 'rate-max.wav');
    for (const [file, sampleRate, values] of [
      [low, 1, 1 << 20],
      [high, 0xffffffff, 2],
    ] as const) {
      const data = encode.s16(new Array<number>(values).fill(100));
      fs.writeFileSync(
        file,
        buildWav({ formatTag: 1, channels: 1, sampleRate, bitsPerSample: 16, data }),
      );
    }
    const r = await run([
      'transcribe',
      low,
      high,
      audioPath('jfk'),
      '--model',
      randomModelPath,
      '--quiet',
      ...FAST,
    ]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      new RegExp(
        `^whisper-native: ${escapeRegExp(low)}: Invalid WAV file: the fmt chunk declares a sample rate of 1 Hz, below 1000 Hz\n` +
          // Handed to ffmpeg, which refuses it (or is not there): either way, named.
          `whisper-native: ${escapeRegExp(high)}: `,
      ),
    );
    expect(r.stderr.match(/^whisper-native: /gm)).toHaveLength(2);
    expect(r.stdout.startsWith(`==> ${audioPath('jfk')} <==\n[00:00:00.000 --> `)).toBe(true);
  });

  it('exits quietly with 141 when the reader closes stdout (`| head`)', async () => {
    const child = spawn(
      process.execPath,
      [
        cli,
        'transcribe',
        audioPath('jfk'),
        audioPath('jfk'),
        '--model',
        randomModelPath,
        '-q',
        ...FAST,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    // Close the pipe at the first output: the next write fails with EPIPE.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(141);
  });

  it('exits 4 for a file that is not audio', async () => {
    const bogus = path.join(work, 'bogus.wav');
    fs.writeFileSync(bogus, 'RIFF\x04\0\0\0WAVE');
    const r = await run(['transcribe', bogus, '--model', randomModelPath, ...FAST]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^whisper-native: .*bogus\.wav: Invalid WAV file: /);
  });

  it('exits 3 when the model file is missing or not a model', async () => {
    let r = await run(['transcribe', audioPath('jfk'), '--model', path.join(work, 'none.bin')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^whisper-native: No model file at .*none\.bin, and "[^"]+" is not a model name/,
    );
    r = await run(['transcribe', audioPath('jfk'), '--model', audioPath('jfk')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/\[ERR_MODEL_FORMAT\]\n$/);
  });

  it('finds --model <name> in the cache (--cache-dir or $WHISPER_NATIVE_CACHE), else exits 3', async () => {
    const cache = path.join(work, 'cache');
    const args = ['transcribe', audioPath('jfk'), '--model', 'tiny.en', '--quiet', ...FAST];
    let r = await run([...args, '--cache-dir', cache]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      'run `npx whisper-native download tiny.en` first [ERR_MODEL_NOT_FOUND]',
    );

    fs.mkdirSync(cache, { recursive: true });
    fs.symlinkSync(randomModelPath, path.join(cache, 'ggml-tiny.en.bin'));
    r = await run([...args, '--cache-dir', cache]);
    expect(r.code).toBe(0);
    const expected = (await reference('jfk')).segments.length;
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(expected);
    r = await run(args, { ...process.env, WHISPER_NATIVE_CACHE: cache });
    expect(r.code).toBe(0);
  });

  it('decodes with 5 beams by default, as the reference CLI does', async () => {
    const r = await run([
      'transcribe',
      audioPath('jfk'),
      '--model',
      randomModelPath,
      '--temperature',
      '0',
      '--format',
      'json',
      '--quiet',
    ]);
    expect(r.code).toBe(0);
    const beams = await model.transcribe(await readClip('jfk'), { temperature: 0, beamSize: 5 });
    expect(beams.text).not.toBe((await reference('jfk')).text); // beams and greedy do differ here
    expect(JSON.parse(r.stdout).text).toBe(beams.text);
  });

  it('--word-timestamps puts words in the json output', async () => {
    const args = ['transcribe', audioPath('jfk'), '--model', randomModelPath, '-f', 'json', '-q'];
    const r = await run([...args, '--word-timestamps', ...FAST]);
    expect(r.code).toBe(0);
    const expected = await model.transcribe(await readClip('jfk'), {
      temperature: 0,
      wordTimestamps: true,
    });
    type Json = { segments: { words?: { word: string; start: number; end: number }[] }[] };
    const json = JSON.parse(r.stdout) as Json;
    expect(json.segments).toHaveLength(expected.segments.length);
    json.segments.forEach((segment, i) => {
      const words = expected.segments[i]!.words!;
      expect(words.length).toBeGreaterThan(0);
      expect(segment.words?.map((w) => w.word)).toEqual(words.map((w) => w.word));
    });
    // Without the flag there are none.
    const plain = JSON.parse((await run([...args, ...FAST])).stdout) as Json;
    expect(plain.segments[0]!.words).toBeUndefined();
  });

  it('stops on Ctrl-C (SIGINT) with exit code 130', async () => {
    // About 4 minutes of audio, 8 windows: the signal goes once the first
    // segment is out, with most of the windows still to decode.
    const long = path.join(path.dirname(audioPath('jfk')), '..', 'audio-long');
    const clip = path.join(long, 'ljspeech_LJ001-0001_0032_concat.wav');
    const child = spawn(
      process.execPath,
      [cli, 'transcribe', clip, '--model', randomModelPath, ...FAST],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      if (stdout === '') child.kill('SIGINT');
      stdout += text;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(/whisper-native: interrupted\n$/);
    expect(stdout).toMatch(/^\[00:00:00\.000 --> /);
    expect(stdout).not.toMatch(/^\[00:03:/m); // it did not get to the end
  });

  it('bench prints its table', async () => {
    const r = await run(['bench', '--model', randomModelPath, '--runs', '1', '--threads', '2']);
    expect(r.code).toBe(0);
    for (const row of [
      'model load',
      'encoder, one 30 s window',
      'transcription (greedy)',
      'decoder per token',
      'real-time factor',
    ]) {
      const escaped = row.replace(/[()]/g, '\\$&');
      expect(r.stdout).toMatch(new RegExp(`^${escaped} +\\S`, 'm'));
    }
    expect(r.stdout).toMatch(/^model +tiny\.en \(ggml-tiny\.en-random\.bin\)/m);
    expect(r.stdout).not.toContain('lowMemory');
  });

  it('bench --no-low-memory loads the model with lowMemory: false', async () => {
    const r = await run(['bench', '--model', randomModelPath, '--runs', '1', '--no-low-memory']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('(lowMemory: false)');
    expect(r.stdout).toMatch(/^model +tiny\.en .*threads, lowMemory: false$/m);
  });
});

describe.skipIf(!hasShared)('whisper-native download', () => {
  let server: Server;
  let baseUrl: string;
  beforeAll(async () => {
    const bytes = fs.readFileSync(randomModelPath);
    server = createServer((request, response) => {
      // Every model name gets the random model's bytes; unknown paths a 404.
      if (!/^\/ggml-[\w.-]+\.bin$/.test(request.url ?? '') || request.url?.includes('small')) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-length': bytes.length }).end(bytes);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server?.close(resolve)));

  it('downloads into the cache, prints the path, and transcribe then finds it by name', async () => {
    const cache = path.join(work, 'dl-ok');
    // tiny.en-q5_1 has no published checksum, so the random model's bytes pass.
    const r = await run(['download', 'tiny.en-q5_1', '--base-url', baseUrl, '--cache-dir', cache]);
    expect(r.code).toBe(0);
    const file = path.join(cache, 'ggml-tiny.en-q5_1.bin');
    expect(r.stdout).toBe(file + '\n');
    expect(fs.readFileSync(file).equals(fs.readFileSync(randomModelPath))).toBe(true);
    expect(r.stderr).toContain(`tiny.en-q5_1: ${file} (no published SHA-1, not verified)`);
    const t = await run([
      'transcribe',
      audioPath('jfk'),
      '--model',
      'tiny.en-q5_1',
      '--cache-dir',
      cache,
      '--quiet',
      ...FAST,
    ]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^\[00:00:00\.000 --> /);
  });

  it('exits 5 when the checksum does not match or the server refuses', async () => {
    const cache = path.join(work, 'dl-bad');
    let r = await run(['download', 'tiny.en', '--base-url', baseUrl, '--cache-dir', cache]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(
      /expected c78c86eb1a8faa21b369bcd33207cc90d64ae9df; the download was deleted \[ERR_DOWNLOAD_CHECKSUM\]\n$/,
    );
    expect(fs.existsSync(path.join(cache, 'ggml-tiny.en.bin'))).toBe(false);
    r = await run(['download', 'small', '--base-url', baseUrl, '--cache-dir', cache]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/answered HTTP 404 .*\[ERR_DOWNLOAD_HTTP\]\n$/);
    expect(r.stdout).toBe('');
  });

  it('exits 3 for a name that is not a model', async () => {
    const r = await run(['download', 'tiny.fr', '--base-url', baseUrl]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^whisper-native: Unknown model name "tiny\.fr"/);
  });
});
