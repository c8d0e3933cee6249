#!/usr/bin/env node
// The whisper-native command line. For now one command:
//   whisper-native transcribe <file.wav> --model <path> [--threads N]
// printing "[00:00:00.000 --> 00:00:10.500]  text" lines as segments are final.
// Exit codes: 0 success, 1 failure (message on stderr), 2 bad usage.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from './binding.js';
import { WhisperError } from './errors.js';
import { loadModel } from './model.js';
import { readAudioFile } from './audio-file.js';

const USAGE = `Usage: whisper-native transcribe <file.wav> --model <path> [--threads N] [--temperature T]

Transcribes a WAV file (16-bit PCM or 32-bit float, 16 kHz, mono) with a
whisper.cpp ggml model, printing one line per segment:

  [00:00:00.000 --> 00:00:10.500]  And so my fellow Americans...

Options:
  -m, --model <path>   the ggml model file (e.g. ggml-tiny.en.bin)   required
  -t, --threads <N>    native threads (default: hardware threads, at most 8)
  --temperature <T>    sampling temperature, or a comma-separated list tried in
                       turn when a window's result looks wrong (default:
                       0,0.2,0.4,0.6,0.8,1; 0 alone: plain greedy decoding)
  -h, --help           show this help
  -v, --version        show the version

Exit codes: 0 success, 1 error (message on stderr), 2 bad usage.`;

class UsageError extends Error {}

/** hh:mm:ss.mmm */
export function formatTimestamp(seconds: number): string {
  const totalMs = Math.max(0, Math.round(seconds * 1000));
  const ms = totalMs % 1000;
  const s = Math.floor(totalMs / 1000) % 60;
  const m = Math.floor(totalMs / 60000) % 60;
  const h = Math.floor(totalMs / 3600000);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms, 3)}`;
}

interface TranscribeCommand {
  file: string;
  model: string;
  threads: number;
  temperature: number[] | undefined;
}

function parseCommand(argv: string[]): TranscribeCommand | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        model: { type: 'string', short: 'm' },
        threads: { type: 'string', short: 't' },
        temperature: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (values.version) return 'version';
  const [command, ...files] = positionals;
  if (command === undefined) throw new UsageError('missing command');
  if (command !== 'transcribe') throw new UsageError(`unknown command '${command}'`);
  if (files.length !== 1) throw new UsageError(`expected one WAV file, got ${files.length}`);
  if (!values.model) throw new UsageError('--model <path> is required');
  let threads = 0;
  if (values.threads !== undefined) {
    threads = Number(values.threads);
    if (!/^\d+$/.test(values.threads) || threads < 1 || threads > 256) {
      throw new UsageError(`--threads must be an integer from 1 to 256, got '${values.threads}'`);
    }
  }
  let temperature: number[] | undefined;
  if (values.temperature !== undefined) {
    temperature = values.temperature.split(',').map(Number);
    if (!/^\d*\.?\d+(,\d*\.?\d+)*$/.test(values.temperature)) {
      throw new UsageError(
        `--temperature must be numbers >= 0 separated by commas, got '${values.temperature}'`,
      );
    }
  }
  return { file: files[0]!, model: values.model, threads, temperature };
}

async function readAudio(file: string) {
  try {
    return await readAudioFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`cannot read '${file}': no such file`);
    if (code === 'EISDIR') throw new Error(`cannot read '${file}': it is a directory`);
    throw error;
  }
}

async function transcribe(command: TranscribeCommand): Promise<void> {
  const audio = await readAudio(command.file);
  const model = await loadModel(command.model, { threads: command.threads });
  try {
    await model.transcribe(audio.samples, {
      temperature: command.temperature,
      onSegment: (segment) => {
        const line = `[${formatTimestamp(segment.start)} --> ${formatTimestamp(segment.end)}]  ${segment.text.trim()}`;
        process.stdout.write(line + '\n');
      },
    });
  } finally {
    await model.close();
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const command = parseCommand(argv);
    if (command === 'help') {
      process.stdout.write(USAGE + '\n');
    } else if (command === 'version') {
      process.stdout.write(version() + '\n');
    } else {
      await transcribe(command);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`whisper-native: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    const message =
      error instanceof WhisperError
        ? `${error.message} [${error.code}]`
        : error instanceof Error
          ? error.message
          : String(error);
    process.stderr.write(`whisper-native: ${message}\n`);
    return 1;
  }
}

// Run when executed as the bin script, not when imported (e.g. by tests).
if (typeof require !== 'undefined' && require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
