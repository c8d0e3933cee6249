#!/usr/bin/env node
// The whisper-native command line: `transcribe`, `download` and `bench`.
// Argument parsing, help texts and exit codes live here; each command's work
// is in cli-transcribe.ts, cli-bench.ts and (being short) below.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { packageRoot } from './binding.js';
import { runBench, type BenchCommand } from './cli-bench.js';
import {
  EXIT,
  StdoutError,
  UsageError,
  describeError,
  exitCodeFor,
  type ExitCode,
} from './cli-exit.js';
import { Progress, progressMode } from './cli-progress.js';
import {
  CLI_BEAM_SIZE,
  CLI_BEST_OF,
  OUTPUT_FORMATS,
  runTranscribe,
  type CliIo,
  type OutputFormat,
  type TranscribeCommand,
} from './cli-transcribe.js';
import { MODELS, defaultCacheDir, downloadModel } from './download.js';

export { formatTimestamp } from './cli-transcribe.js';

const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    any other failure (e.g. an output file that cannot be written)
  2    bad usage: unknown command or option, missing or invalid value
  3    model: not found, not downloaded, unknown name, or not a valid model file
  4    input: an audio file is missing, unreadable or undecodable, or holds
       samples the model refuses (NaN); the other files are still transcribed
  5    model download failed: network, HTTP status or checksum
  130  interrupted (Ctrl-C)
  141  stdout was closed by its reader (e.g. \`| head\`); nothing is printed`;

const MAIN_HELP = `Usage: whisper-native <command> [options]

Speech to text with OpenAI's Whisper models, on the CPU, in-process.

Commands:
  transcribe <files...> --model <path|name>   transcribe audio or video files
  download <name>                             download a model into the cache
  bench --model <path|name> [file]            time this machine on a model

Run \`whisper-native <command> --help\` for a command's options.

  -h, --help      show this help
  -v, --version   show the version

${EXIT_CODES_HELP}`;

const TRANSCRIBE_HELP = `Usage: whisper-native transcribe <files...> --model <path|name> [options]

Transcribes each file with a whisper.cpp ggml model. WAV of any common format
is read directly; other formats (mp3, m4a, ogg, flac, video, ...) need ffmpeg
on PATH. Without --format or --output-dir it prints one line per segment as
soon as it is final:

  [00:00:00.000 --> 00:00:10.500]  And so my fellow Americans...

Options:
  -m, --model <path|name>  a model file, or the name of a downloaded model
                           (e.g. tiny.en; see \`whisper-native download\`)  required
  -f, --format <fmt>       txt, srt, vtt, json or csv (json and csv include word
                           timings when there are any)
  -o, --output-dir <dir>   write <dir>/<file name>.<fmt> per input (default
                           format there: txt) instead of printing to stdout
  -l, --language <code>    spoken language, e.g. en, de; or auto (default: auto;
                           English-only .en models ignore it)
      --translate          translate to English (multilingual models)
      --beam-size <N>      beam search width (default: ${CLI_BEAM_SIZE}; 1: greedy)
      --best-of <N>        candidates sampled per fallback temperature (default: ${CLI_BEST_OF})
      --temperature <T>    a temperature, or comma-separated ones tried in turn
                           when a window's result looks wrong (default:
                           0,0.2,0.4,0.6,0.8,1; 0 alone: no fallback)
      --word-timestamps    time each word (in json and csv output)
  -t, --threads <N>        native threads (default: hardware threads, at most 8)
      --no-low-memory      keep every weight in memory instead of reading the
                           encoder's from the model file for each 30 s window
                           (~1.5 % faster encoding, 17.5 MB more for tiny.en)
      --cache-dir <dir>    where downloaded models are (default: ${defaultCacheDirHint()})
  -q, --quiet              no progress on stderr (errors are still printed)
  -h, --help               show this help

Progress goes to stderr: a bar on a terminal, plain lines otherwise.

${EXIT_CODES_HELP}`;

const DOWNLOAD_HELP = `Usage: whisper-native download <name> [options]

Downloads a whisper.cpp ggml model from its Hugging Face repository into the
cache, resuming a partial download, checking the published SHA-1, and prints
the file's path on stdout. \`transcribe --model <name>\` then finds it.

Names: ${MODELS.map((model) => model.name).join(', ')}

Options:
      --cache-dir <dir>   where models are kept (default: ${defaultCacheDirHint()})
      --base-url <url>    a mirror of the repository (<url>/ggml-<name>.bin)
  -q, --quiet             no progress on stderr
  -h, --help              show this help

${EXIT_CODES_HELP}`;

const BENCH_HELP = `Usage: whisper-native bench --model <path|name> [file] [options]

Times model load, the encoder on one 30 s window, and a greedy transcription
of the file (default: 30 s of generated audio), and prints a table. Each timing
is repeated; the table shows the median and the minimum.

Options:
  -m, --model <path|name>  a model file or the name of a downloaded model  required
  -t, --threads <N>        native threads (default: hardware threads, at most 8)
      --no-low-memory      load the model with lowMemory: false (as transcribe)
      --runs <N>           repetitions of each timing (default: 3)
      --cache-dir <dir>    where downloaded models are
  -h, --help               show this help

${EXIT_CODES_HELP}`;

function defaultCacheDirHint(): string {
  return '$WHISPER_NATIVE_CACHE, else ' + defaultCacheDir({});
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

type Options = NonNullable<ParseArgsConfig['options']>;

function parse(args: string[], options: Options) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // Node's text goes on about positionals after '--'; the first sentence says it.
    throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

function integer(flag: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

const COMMON = {
  help: { type: 'boolean', short: 'h' },
  'cache-dir': { type: 'string' },
} as const;

// The flags of LoadOptions.lowMemory: --no-low-memory turns off the default;
// --low-memory, the flag from before lowMemory became the default, is still
// accepted and changes nothing.
const LOW_MEMORY_FLAGS = {
  'low-memory': { type: 'boolean' },
  'no-low-memory': { type: 'boolean' },
} as const;

function lowMemoryFlag(values: Record<string, unknown>): boolean {
  if (values['low-memory'] && values['no-low-memory']) {
    throw new UsageError('--low-memory and --no-low-memory contradict each other');
  }
  return !values['no-low-memory'];
}

/** A parsed command line: what to run, or which help to show. */
type Parsed =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'transcribe'; command: TranscribeCommand }
  | { kind: 'download'; name: string; cacheDir?: string; baseUrl?: string; quiet: boolean }
  | { kind: 'bench'; command: BenchCommand };

/** The usage line and where the rest is, printed after a usage error. */
function usageHint(argv: string[]): string {
  const command = ['transcribe', 'download', 'bench'].find((c) => c === argv[0]);
  const help = { transcribe: TRANSCRIBE_HELP, download: DOWNLOAD_HELP, bench: BENCH_HELP };
  const text = command === undefined ? MAIN_HELP : help[command as keyof typeof help];
  const more = command === undefined ? '--help' : `${command} --help`;
  return `${text.split('\n')[0]}\nRun \`whisper-native ${more}\` for the options.`;
}

export function parseCommandLine(argv: string[]): Parsed {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError('missing command');
  if (command === '-h' || command === '--help') return { kind: 'help', text: MAIN_HELP };
  if (command === '-v' || command === '--version') return { kind: 'version' };
  if (command === 'transcribe') return parseTranscribe(rest);
  if (command === 'download') return parseDownload(rest);
  if (command === 'bench') return parseBench(rest);
  if (command.startsWith('-')) throw new UsageError(`expected a command before '${command}'`);
  throw new UsageError(`unknown command '${command}'`);
}

function parseTranscribe(args: string[]): Parsed {
  const { values, positionals } = parse(args, {
    ...COMMON,
    model: { type: 'string', short: 'm' },
    format: { type: 'string', short: 'f' },
    'output-dir': { type: 'string', short: 'o' },
    language: { type: 'string', short: 'l' },
    translate: { type: 'boolean' },
    'beam-size': { type: 'string' },
    'best-of': { type: 'string' },
    temperature: { type: 'string' },
    'word-timestamps': { type: 'boolean' },
    threads: { type: 'string', short: 't' },
    ...LOW_MEMORY_FLAGS,
    quiet: { type: 'boolean', short: 'q' },
  });
  if (values.help) return { kind: 'help', text: TRANSCRIBE_HELP };
  if (positionals.length === 0) throw new UsageError('no input files');
  if (values.model === undefined) throw new UsageError('--model <path|name> is required');
  const format = values.format as string | undefined;
  if (format !== undefined && !(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}, got '${format}'`);
  }
  let temperature: number[] | undefined;
  const t = values.temperature as string | undefined;
  if (t !== undefined) {
    if (!/^\d*\.?\d+(,\d*\.?\d+)*$/.test(t)) {
      throw new UsageError(`--temperature must be numbers >= 0 separated by commas, got '${t}'`);
    }
    temperature = t.split(',').map(Number);
  }
  const optional = (flag: string, fallback: number, min: number, max: number) =>
    values[flag] === undefined ? fallback : integer(flag, values[flag] as string, min, max);
  return {
    kind: 'transcribe',
    command: {
      files: positionals,
      model: values.model as string,
      threads: optional('threads', 0, 1, 256),
      lowMemory: lowMemoryFlag(values),
      format: format as OutputFormat | undefined,
      outputDir: values['output-dir'] as string | undefined,
      language: values.language as string | undefined,
      translate: Boolean(values.translate),
      beamSize: optional('beam-size', CLI_BEAM_SIZE, 1, 16),
      bestOf: optional('best-of', CLI_BEST_OF, 1, 16),
      temperature,
      wordTimestamps: Boolean(values['word-timestamps']),
      cacheDir: values['cache-dir'] as string | undefined,
      quiet: Boolean(values.quiet),
    },
  };
}

function parseDownload(args: string[]): Parsed {
  const { values, positionals } = parse(args, {
    ...COMMON,
    'base-url': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  });
  if (values.help) return { kind: 'help', text: DOWNLOAD_HELP };
  if (positionals.length !== 1) {
    throw new UsageError(`expected one model name, got ${positionals.length}`);
  }
  return {
    kind: 'download',
    name: positionals[0]!,
    cacheDir: values['cache-dir'] as string | undefined,
    baseUrl: values['base-url'] as string | undefined,
    quiet: Boolean(values.quiet),
  };
}

function parseBench(args: string[]): Parsed {
  const { values, positionals } = parse(args, {
    ...COMMON,
    model: { type: 'string', short: 'm' },
    threads: { type: 'string', short: 't' },
    ...LOW_MEMORY_FLAGS,
    runs: { type: 'string' },
  });
  if (values.help) return { kind: 'help', text: BENCH_HELP };
  if (values.model === undefined) throw new UsageError('--model <path|name> is required');
  if (positionals.length > 1)
    throw new UsageError(`expected at most one file, got ${positionals.length}`);
  return {
    kind: 'bench',
    command: {
      model: values.model as string,
      file: positionals[0],
      threads:
        values.threads === undefined ? 0 : integer('threads', values.threads as string, 1, 256),
      lowMemory: lowMemoryFlag(values),
      runs: values.runs === undefined ? 3 : integer('runs', values.runs as string, 1, 100),
      cacheDir: values['cache-dir'] as string | undefined,
    },
  };
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

async function runDownload(
  parsed: Extract<Parsed, { kind: 'download' }>,
  io: CliIo,
): Promise<ExitCode> {
  const progress = new Progress(io.stderr, progressMode(io.stderr, parsed.quiet));
  const entry = MODELS.find((model) => model.name === parsed.name);
  progress.start(`${parsed.name}`);
  const file = await downloadModel(parsed.name, {
    cacheDir: parsed.cacheDir,
    baseUrl: parsed.baseUrl,
    signal: io.signal,
    onProgress: ({ receivedBytes, totalBytes }) => {
      const detail =
        totalBytes === undefined
          ? `${megabytes(receivedBytes)} MB`
          : `${megabytes(receivedBytes)} of ${megabytes(totalBytes)} MB`;
      progress.update(totalBytes ? receivedBytes / totalBytes : 0, detail);
    },
  });
  const checked = entry?.sha1 === undefined ? 'no published SHA-1, not verified' : 'SHA-1 verified';
  progress.finish(`${parsed.name}: ${file} (${checked})`);
  io.stdout.write(file + '\n');
  return EXIT.OK;
}

/** Runs the CLI with these arguments; resolves with the exit code. */
export async function main(
  argv: string[],
  io: CliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    signal: new AbortController().signal,
  },
): Promise<ExitCode> {
  try {
    const parsed = parseCommandLine(argv);
    switch (parsed.kind) {
      case 'help':
        io.stdout.write(parsed.text + '\n');
        return EXIT.OK;
      case 'version':
        io.stdout.write(version() + '\n');
        return EXIT.OK;
      case 'transcribe':
        return await runTranscribe(parsed.command, io);
      case 'download':
        return await runDownload(parsed, io);
      case 'bench':
        await runBench(parsed.command, io);
        return EXIT.OK;
    }
  } catch (error) {
    // An abort's reason says why the work stopped, whatever error that caused.
    const failure = io.signal.aborted ? io.signal.reason : error;
    const code = exitCodeFor(failure);
    if (code === EXIT.BROKEN_PIPE) {
      // Nobody reads any more: nothing to say.
    } else if (code === EXIT.INTERRUPTED) {
      io.stderr.write('whisper-native: interrupted\n');
    } else if (failure instanceof UsageError) {
      io.stderr.write(`whisper-native: ${failure.message}\n${usageHint(argv)}\n`);
    } else {
      io.stderr.write(`whisper-native: ${describeError(failure)}\n`);
    }
    return code;
  }
}

// Run when executed as the bin script, not when imported (e.g. by tests).
if (typeof require !== 'undefined' && require.main === module) {
  const controller = new AbortController();
  // The first Ctrl-C stops the work in progress (exit 130); a second one kills.
  process.once('SIGINT', () => controller.abort());
  // A write to a stdout whose reader went away (`| head`) fails with EPIPE, an
  // 'error' event that would end the process with a stack trace: stop the
  // work instead, and exit quietly with 141 (see EXIT.BROKEN_PIPE), as the
  // tools that SIGPIPE kills do. Any other write error stops it with exit 1.
  let stdoutError: StdoutError | undefined;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    stdoutError ??= new StdoutError(error);
    controller.abort(stdoutError);
    // Also when the work is done: the last output was lost.
    process.exitCode = stdoutError.exitCode;
  });
  // Progress and messages to a closed stderr are lost, not worth a crash.
  process.stderr.on('error', () => {});
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, signal: controller.signal };
  void main(process.argv.slice(2), io).then((code) => {
    process.exitCode = stdoutError?.exitCode ?? code;
  });
}
