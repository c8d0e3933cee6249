// readAudioFile: any audio file to the model's input, 16 kHz mono floats.
// WAV files are decoded in-process (wav.ts, which resamples with resample.ts);
// every other container (mp3, m4a, ogg, flac, video, ...) and WAV codecs we do
// not read (ADPCM, ...) are decoded by an `ffmpeg` found on PATH, which also
// resamples and down-mixes. Nothing is decoded in a shell: ffmpeg gets its
// arguments as an array.
import { accessSync, constants, statSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { endianness } from 'node:os';
import { WhisperError } from './errors.js';
import { WHISPER_SAMPLE_RATE } from './resample.js';
import { looksLikeWav, readWavStreaming } from './wav.js';

export interface AudioData {
  /** Mono samples at 16 kHz, in [-1, 1] (float sources may exceed it). */
  samples: Float32Array;
  /** Always 16000: the model's rate. */
  sampleRate: 16000;
  /** Seconds: samples.length / 16000. */
  duration: number;
}

export interface ReadAudioOptions {
  /** Stops the read; the promise rejects with `signal.reason`. Default: none. */
  signal?: AbortSignal;
  /**
   * The ffmpeg executable for files that are not WAV. Default: the first
   * `ffmpeg` (`ffmpeg.exe` on Windows) in a directory of PATH.
   */
  ffmpegPath?: string;
}

const FFMPEG_INSTALL_HINT =
  'Install ffmpeg and make sure it is on PATH: `sudo apt-get install ffmpeg` (Debian/Ubuntu), ' +
  '`brew install ffmpeg` (macOS), `winget install Gyan.FFmpeg` (Windows); or convert the file to WAV first.';
/** Bytes of ffmpeg's error output kept for the error message. */
const FFMPEG_STDERR_LIMIT = 4096;
/**
 * The most samples ffmpeg's output may hold: 24 hours at 16 kHz (5.5 GB of
 * floats). A WAV file's samples cannot outnumber its bytes by more than its
 * resampling ratio (16 at 1 kHz), but nothing bounds what ffmpeg makes of a
 * file: a corrupt or hostile one (a stream that never ends, a 1 Hz rate
 * upsampled 16000-fold) has it stream samples until memory runs out. Nothing
 * else in the library caps a length (the engine takes any), so the cap is a
 * day: longer than any recording transcribed in one call, and well within the
 * largest Float32Array (2^32 elements on Node 20). A longer recording can be
 * converted to WAV, which is read in-process without this cap.
 */
export const FFMPEG_MAX_SAMPLES = 24 * 60 * 60 * WHISPER_SAMPLE_RATE;

/**
 * The first executable file named `name` in the directories of `pathList`
 * (PATH's syntax for `platform`), trying PATHEXT's extensions on Windows.
 * Empty entries (which POSIX shells read as the current directory) are
 * skipped, so a file in the working directory is never run by accident.
 */
export function findExecutable(
  name: string,
  pathList: string | undefined = pathFromEnv(process.env),
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const windows = platform === 'win32';
  const extensions = windows
    ? ['', ...(process.env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((e) => e !== '')]
    : [''];
  for (const directory of (pathList ?? '').split(windows ? ';' : ':')) {
    if (directory === '') continue;
    for (const extension of extensions) {
      const candidate = join(directory, name + extension);
      try {
        if (!statSync(candidate).isFile()) continue;
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // Missing or not executable: keep looking.
      }
    }
  }
  return undefined;
}

/** PATH, whatever its case (Windows spells it `Path`). */
function pathFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const key = Object.keys(env).find((k) => k.toUpperCase() === 'PATH');
  return key === undefined ? undefined : env[key];
}

/** The first `length` bytes of the file (fewer if it is shorter). */
async function readHead(path: string, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(length);
    const { bytesRead } = await handle.read(head, 0, length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function toAudioData(samples: Float32Array): AudioData {
  return {
    samples,
    sampleRate: WHISPER_SAMPLE_RATE,
    duration: samples.length / WHISPER_SAMPLE_RATE,
  };
}

/**
 * Reads an audio file as 16 kHz mono samples. WAV (RIFF/RF64, integer PCM
 * 8/16/24/32-bit, float 32/64-bit, A-law, mu-law, WAVE_FORMAT_EXTENSIBLE, any
 * rate and channel count) is decoded in-process; anything else needs ffmpeg.
 * Rejects with a WhisperError: `ERR_INVALID_AUDIO` for a malformed, truncated
 * or undecodable file, `ERR_FFMPEG_NOT_FOUND` when the file needs ffmpeg and
 * there is none, `ERR_UNSUPPORTED_AUDIO` when ffmpeg decodes more than 24
 * hours of audio from it (FFMPEG_MAX_SAMPLES). File-system errors (ENOENT,
 * ...) pass through.
 */
export async function readAudioFile(
  path: string,
  options: ReadAudioOptions = {},
): Promise<AudioData> {
  return toAudioData(await readSamples(path, options, false));
}

/**
 * An audio file as the model's input, in the smallest form that holds it
 * exactly: a 16 kHz mono 16-bit WAV file as its samples, an Int16Array (which
 * the model reads at half the memory of floats, for the whole transcription:
 * an hour takes 115 MB instead of 230 here and again in the call's copy);
 * any other file as readAudioFile's Float32Array. The same errors as
 * readAudioFile. The CLI reads its files with it.
 */
export async function readAudioInput(
  path: string,
  options: ReadAudioOptions = {},
): Promise<Float32Array | Int16Array> {
  return readSamples(path, options, true);
}

function readSamples(path: string, options: ReadAudioOptions, int16: false): Promise<Float32Array>;
function readSamples(
  path: string,
  options: ReadAudioOptions,
  int16: true,
): Promise<Float32Array | Int16Array>;
async function readSamples(
  path: string,
  options: ReadAudioOptions,
  int16: boolean,
): Promise<Float32Array | Int16Array> {
  const { signal } = options;
  signal?.throwIfAborted();
  // A pipe or a device (/dev/stdin, a FIFO) has no positions to read at: it
  // is read whole, once, and decoded from memory (a WAV in-process, anything
  // else by ffmpeg from its standard input).
  const piped = (await stat(path)).isFile() ? undefined : await readFile(path, { signal });
  const head = piped?.subarray(0, 12) ?? (await readHead(path, 12));
  if (head.length === 0) throw new WhisperError('ERR_INVALID_AUDIO', `${path}: the file is empty`);
  if (looksLikeWav(head)) {
    try {
      // Decoded a slice at a time (read from the file: memory is the output plus a slice).
      const wav = await readWavStreaming(piped ?? path, { signal, int16 });
      return wav instanceof Int16Array ? wav : wav.samples;
    } catch (error) {
      if (!(error instanceof WhisperError)) throw error;
      if (error.code === 'ERR_UNSUPPORTED_AUDIO') {
        // A codec we do not read: ffmpeg may; if there is none, say both things.
        return decodeWithFfmpeg(path, options, error.message, piped);
      }
      throw new WhisperError(error.code, `${path}: ${error.message}`, { cause: error });
    }
  }
  return decodeWithFfmpeg(path, options, 'the file is not WAV', piped);
}

/**
 * Runs `ffmpeg -nostdin -i <file> -f f32le -ac 1 -ar 16000 -` (f32be on
 * big-endian hosts, so the bytes are native floats) and collects its output,
 * up to `maxSamples` (see FFMPEG_MAX_SAMPLES; a parameter for the tests).
 * `why` says why ffmpeg is needed, for the error when it is missing.
 */
export async function decodeWithFfmpeg(
  path: string,
  options: ReadAudioOptions,
  why: string,
  piped?: Uint8Array,
  maxSamples: number = FFMPEG_MAX_SAMPLES,
): Promise<Float32Array> {
  const ffmpeg = options.ffmpegPath ?? findExecutable('ffmpeg');
  if (ffmpeg === undefined) {
    throw new WhisperError(
      'ERR_FFMPEG_NOT_FOUND',
      `${path}: ${why}, and decoding it needs ffmpeg, which is not on PATH. ${FFMPEG_INSTALL_HINT}`,
    );
  }
  const args = [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    // The file: protocol keeps a path such as "pipe:1" or "http://..." a plain
    // file name; a pipe's bytes, already read, go to ffmpeg's standard input.
    '-i',
    piped !== undefined ? 'pipe:0' : `file:${resolve(path)}`,
    '-map',
    '0:a:0',
    '-f',
    endianness() === 'LE' ? 'f32le' : 'f32be',
    '-ac',
    '1',
    '-ar',
    String(WHISPER_SAMPLE_RATE),
    '-',
  ];
  const chunks = await runCollectingStdout(ffmpeg, args, path, options.signal, piped, maxSamples);
  // Copy the chunks straight into the samples' bytes (they need not be 4-byte
  // aligned, and one copy is enough).
  const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const samples = new Float32Array(Math.floor(length / 4));
  const bytes = new Uint8Array(samples.buffer);
  let at = 0;
  for (const chunk of chunks) {
    if (at >= bytes.length) break; // a trailing partial float, if any, is dropped
    bytes.set(chunk.subarray(0, bytes.length - at), at);
    at += chunk.length;
  }
  return samples;
}

/**
 * Runs ffmpeg and collects its standard output. Beyond `maxSamples` floats it
 * kills ffmpeg and rejects with ERR_UNSUPPORTED_AUDIO once it has exited.
 */
async function runCollectingStdout(
  command: string,
  args: string[],
  path: string,
  signal: AbortSignal | undefined,
  input: Uint8Array | undefined,
  maxSamples: number,
): Promise<Buffer[]> {
  // Loaded when ffmpeg is first needed, not with the package (resident memory).
  const { spawn } = await import('node:child_process');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
      signal,
    });
    // A pipe's bytes, or nothing (ffmpeg then reads the file). ffmpeg may stop
    // reading early (a stream it cannot decode): its exit status reports that,
    // not the EPIPE of this write.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    const chunks: Buffer[] = [];
    const maxBytes = maxSamples * 4;
    let bytes = 0;
    let tooLong = false;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (tooLong) return;
      bytes += chunk.length;
      if (bytes <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      // Stop it at once (SIGKILL: it has nothing to clean up, and a stream
      // that never ends is no reason to wait for it) and let go of what it
      // sent; the promise settles when it has exited ('close' below).
      tooLong = true;
      chunks.length = 0;
      child.stdout.destroy();
      child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      if (stderr.length < FFMPEG_STDERR_LIMIT)
        stderr += text.slice(0, FFMPEG_STDERR_LIMIT - stderr.length);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (signal?.aborted) reject(signal.reason);
      else if (error.code === 'ENOENT' || error.code === 'EACCES') {
        reject(
          new WhisperError(
            'ERR_FFMPEG_NOT_FOUND',
            `${path}: could not run ffmpeg at ${command} (${error.code}). ${FFMPEG_INSTALL_HINT}`,
            { cause: error },
          ),
        );
      } else reject(error);
    });
    child.on('close', (code, killedBy) => {
      if (signal?.aborted) return reject(signal.reason);
      if (tooLong) {
        const seconds = maxSamples / WHISPER_SAMPLE_RATE;
        const length =
          seconds >= 3600 ? `${+(seconds / 3600).toFixed(2)} hours` : `${+seconds.toFixed(3)} s`;
        return reject(
          new WhisperError(
            'ERR_UNSUPPORTED_AUDIO',
            `${path}: ffmpeg's output ran past ${length} of audio (${maxSamples} samples), ` +
              'the most read through ffmpeg, and ffmpeg was stopped: a corrupt file, or a ' +
              'recording to split or to convert to WAV (read in-process, without this limit)',
          ),
        );
      }
      if (code === 0) return resolvePromise(chunks);
      const detail = stderr.trim() || `exit ${code ?? killedBy}`;
      reject(
        new WhisperError(
          'ERR_INVALID_AUDIO',
          `${path}: ffmpeg could not decode the file: ${detail}`,
        ),
      );
    });
  });
}
