// `whisper-native transcribe`: resolve the model (a path or a downloaded
// name), load it once, then read and transcribe each file in turn, writing
// the result to stdout or to a file per input in --output-dir. An input that
// fails because of what it holds (missing, unreadable, undecodable, or audio
// the model refuses, such as NaN samples) is reported and skipped (exit code
// 4 at the end); anything else (the model, memory, an abort, an output that
// cannot be written) stops the run.
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { readAudioInput } from './audio-file.js';
import { CliError, EXIT, UsageError, describeError, type ExitCode } from './cli-exit.js';
import { Progress, progressMode, type ProgressStream } from './cli-progress.js';
import { resolveModel } from './download.js';
import { WhisperError } from './errors.js';
import { loadModel } from './model.js';
import type { TranscribeOptions, TranscriptionResult } from './options.js';
import { toCsv, toJson, toSrt, toText, toVtt } from './subtitles.js';

export const OUTPUT_FORMATS = ['txt', 'srt', 'vtt', 'json', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The reference CLI's decoding defaults (the API's default is greedy). */
export const CLI_BEAM_SIZE = 5;
export const CLI_BEST_OF = 5;

export interface TranscribeCommand {
  files: string[];
  model: string;
  /** 0: the API's default. */
  threads: number;
  /** LoadOptions.lowMemory. */
  lowMemory: boolean;
  /** undefined: timestamped lines on stdout, as segments are final (txt in --output-dir). */
  format: OutputFormat | undefined;
  outputDir: string | undefined;
  language: string | undefined;
  translate: boolean;
  beamSize: number;
  bestOf: number;
  temperature: number[] | undefined;
  wordTimestamps: boolean;
  cacheDir: string | undefined;
  quiet: boolean;
}

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  signal: AbortSignal;
}

/** hh:mm:ss.mmm */
export function formatTimestamp(seconds: number): string {
  const totalMs = Math.max(0, Math.round(seconds * 1000));
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const h = Math.floor(totalMs / 3600000);
  const m = Math.floor(totalMs / 60000) % 60;
  const s = Math.floor(totalMs / 1000) % 60;
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(totalMs % 1000, 3)}`;
}

function render(format: OutputFormat, result: TranscriptionResult): string {
  switch (format) {
    case 'txt':
      return toText(result);
    case 'srt':
      return toSrt(result);
    case 'vtt':
      return toVtt(result);
    case 'json':
      return toJson(result, { words: true });
    case 'csv':
      // CSV is data: one row per word when there are words.
      return toCsv(result, { words: true });
  }
}

/** Checks what can be checked before any work: output names, format and stdout. */
export function planOutputs(command: TranscribeCommand): (string | undefined)[] {
  const { files, format, outputDir } = command;
  if (outputDir === undefined) {
    if (files.length > 1 && format !== undefined && format !== 'txt') {
      throw new UsageError(
        `${files.length} files' ${format} on stdout would run together: give --output-dir DIR`,
      );
    }
    return files.map(() => undefined);
  }
  const extension = format ?? 'txt';
  const outputs = files.map((file) =>
    join(resolve(outputDir), `${basename(file, extname(file))}.${extension}`),
  );
  const seen = new Map<string, string>();
  outputs.forEach((output, i) => {
    const other = seen.get(output);
    if (other !== undefined) {
      throw new UsageError(`'${other}' and '${files[i]}' would both be written to ${output}`);
    }
    seen.set(output, files[i]!);
  });
  return outputs;
}

function decodingOptions(command: TranscribeCommand): TranscribeOptions {
  const options: TranscribeOptions = {
    beamSize: command.beamSize,
    bestOf: command.bestOf,
    translate: command.translate,
    wordTimestamps: command.wordTimestamps,
  };
  if (command.language !== undefined) options.language = command.language;
  if (command.temperature !== undefined) options.temperature = command.temperature;
  return options;
}

/**
 * File-system errors of reading one input, which say nothing about the next
 * one: the rest (EMFILE, ENOMEM, ...) are the machine's and stop the run.
 */
const INPUT_FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a part of its path is not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  ENXIO: 'no such device',
  EIO: 'input/output error',
  ERR_FS_FILE_TOO_LARGE: 'larger than the 2 GiB Node can read at once',
};

/**
 * A failure of one input, caused by that file: reported, and the run goes on
 * with the next file. `read` says whether it came from reading the file (the
 * readers' messages name it) or from transcribing its samples (which do not).
 */
function inputFailure(file: string, error: unknown, read: boolean): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof WhisperError) {
    // NaN or infinite samples (a float WAV can hold them) are the input's
    // fault too, though only the model's check finds them.
    if (code === 'ERR_INVALID_AUDIO' || code === 'ERR_UNSUPPORTED_AUDIO') {
      return read ? error.message : `${file}: ${error.message}`;
    }
    if (code === 'ERR_FFMPEG_NOT_FOUND') return error.message;
    return undefined;
  }
  if (read && typeof code === 'string' && code in INPUT_FILE_ERRORS) {
    return `cannot read '${file}': ${INPUT_FILE_ERRORS[code]}`;
  }
  return undefined;
}

export async function runTranscribe(command: TranscribeCommand, io: CliIo): Promise<ExitCode> {
  const outputs = planOutputs(command);
  const options = decodingOptions(command);
  const { stdout, stderr, signal } = io;
  const progress = new Progress(stderr, progressMode(stderr, command.quiet));
  const modelPath = await resolveModel(command.model, { cacheDir: command.cacheDir });
  // With the signal, Ctrl-C stops a load between its packing jobs (a large
  // model takes seconds) instead of waiting for it.
  const model = await loadModel(modelPath, {
    threads: command.threads,
    lowMemory: command.lowMemory,
    signal,
  });
  const several = command.files.length > 1;
  let failedInputs = 0;
  let headers = 0;
  try {
    for (const [i, file] of command.files.entries()) {
      const label = several ? `[${i + 1}/${command.files.length}] ${file}` : file;
      const output = outputs[i];
      let read = true;
      try {
        const samples = await readAudioInput(file, { signal });
        read = false;
        const duration = samples.length / 16000;
        const streamLines = output === undefined && command.format === undefined;
        // Written with the file's first output, so a file the model refuses
        // at once (NaN samples) leaves no empty section on stdout.
        let header = several && output === undefined;
        const writeHeader = () => {
          if (!header) return;
          header = false;
          progress.clear();
          stdout.write(`${headers++ > 0 ? '\n' : ''}==> ${file} <==\n`);
        };
        progress.start(label);
        const started = performance.now();
        const result = await model.transcribe(samples, {
          ...options,
          signal,
          onProgress: (fraction) => progress.update(fraction, `${duration.toFixed(1)} s of audio`),
          onSegment: (segment) => {
            if (streamLines) {
              writeHeader();
              progress.clear();
              const times = `${formatTimestamp(segment.start)} --> ${formatTimestamp(segment.end)}`;
              stdout.write(`[${times}]  ${segment.text.trim()}\n`);
            }
            if (duration > 0)
              progress.update(segment.end / duration, `${duration.toFixed(1)} s of audio`);
          },
        });
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        if (output !== undefined) {
          await writeOutput(output, render(command.format ?? 'txt', result));
          progress.finish(
            `${label}: ${duration.toFixed(1)} s of audio in ${seconds} s -> ${output}`,
          );
        } else {
          writeHeader();
          if (!streamLines) stdout.write(render(command.format!, result));
          progress.finish(`${label}: ${duration.toFixed(1)} s of audio in ${seconds} s`);
        }
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const reason = inputFailure(file, error, read);
        if (reason === undefined) throw error;
        progress.clear();
        stderr.write(`whisper-native: ${reason}\n`);
        failedInputs++;
      }
    }
  } finally {
    progress.clear();
    await model.close();
  }
  return failedInputs > 0 ? EXIT.INPUT : EXIT.OK;
}

async function writeOutput(path: string, text: string): Promise<void> {
  try {
    await mkdir(resolve(path, '..'), { recursive: true });
    await writeFile(path, text);
  } catch (error) {
    throw new CliError(EXIT.FAILURE, `cannot write ${path}: ${describeError(error)}`);
  }
}
