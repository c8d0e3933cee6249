// Which failures of one input `transcribe` skips (reported, exit code 4 at
// the end) and which end the run, with the model and the reader replaced by
// doubles so that every kind of failure can be made on demand: those caused
// by the file (its audio refused by the reader or the model, file-system
// errors reading it) go on with the next file; the model's, memory, aborts
// and the machine's file-system errors (EMFILE) stop at once.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../lib/cli-exit.js';
import { runTranscribe, type TranscribeCommand } from '../../lib/cli-transcribe.js';
import { WhisperError } from '../../lib/errors.js';

/** What the doubles do per file: throw this error when reading or transcribing it. */
const doubles = vi.hoisted(() => ({
  readErrors: new Map<string, unknown>(),
  transcribeErrors: new Map<string, unknown>(),
  transcribed: [] as string[],
  loadSignals: [] as (AbortSignal | undefined)[],
}));

vi.mock('../../lib/download.js', () => ({
  resolveModel: (model: string) => Promise.resolve(model),
}));

vi.mock('../../lib/audio-file.js', () => ({
  readAudioInput: (file: string) => {
    const error = doubles.readErrors.get(file);
    if (error !== undefined) return Promise.reject(error);
    // The file's name travels with its samples, for the model double.
    const samples = new Float32Array(16000);
    (samples as unknown as { file: string }).file = file;
    return Promise.resolve(samples);
  },
}));

vi.mock('../../lib/model.js', () => ({
  loadModel: (_path: string, options: { signal?: AbortSignal }) => {
    doubles.loadSignals.push(options.signal);
    return Promise.resolve({
      transcribe: (
        samples: { file: string },
        options: { onSegment?: (segment: { start: number; end: number; text: string }) => void },
      ) => {
        const error = doubles.transcribeErrors.get(samples.file);
        if (error !== undefined) return Promise.reject(error);
        doubles.transcribed.push(samples.file);
        const segment = { start: 0, end: 1, text: ` ${samples.file}` };
        options.onSegment?.(segment);
        return Promise.resolve({ text: segment.text, segments: [segment] });
      },
      close: () => Promise.resolve(),
    });
  },
}));

function command(files: string[]): TranscribeCommand {
  return {
    files,
    model: 'model.bin',
    threads: 1,
    lowMemory: false,
    format: undefined,
    outputDir: undefined,
    language: undefined,
    translate: false,
    beamSize: 1,
    bestOf: 1,
    temperature: undefined,
    wordTimestamps: false,
    cacheDir: undefined,
    quiet: true,
  };
}

function fsError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, open 'x'`), { code, syscall: 'open' });
}

async function transcribe(files: string[], signal = new AbortController().signal) {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    signal,
  };
  const outcome = await runTranscribe(command(files), io).then(
    (code) => ({ code, error: undefined }),
    (error: unknown) => ({ code: undefined, error }),
  );
  return { ...outcome, stdout, stderr };
}

beforeEach(() => {
  doubles.readErrors.clear();
  doubles.transcribeErrors.clear();
  doubles.transcribed.length = 0;
  doubles.loadSignals.length = 0;
});

describe('transcribe: the model load', () => {
  it("gives the load the CLI's signal, so that Ctrl-C stops a load instead of waiting for it", async () => {
    const controller = new AbortController();
    await transcribe(['good.wav'], controller.signal);
    expect(doubles.loadSignals).toEqual([controller.signal]);
  });
});

describe('transcribe: a failure of one input', () => {
  it('skips a file whose samples the model refuses (NaN), naming it, and exits 4', async () => {
    const nan = new WhisperError('ERR_INVALID_AUDIO', 'sample 1 is NaN; expected finite values');
    doubles.transcribeErrors.set('nan.wav', nan);
    const r = await transcribe(['nan.wav', 'good.wav']);
    expect(r.code).toBe(EXIT.INPUT);
    expect(doubles.transcribed).toEqual(['good.wav']);
    expect(r.stderr).toBe('whisper-native: nan.wav: sample 1 is NaN; expected finite values\n');
    // Only files with output get a header.
    expect(r.stdout).toBe('==> good.wav <==\n[00:00:00.000 --> 00:00:01.000]  good.wav\n');
  });

  it.each([
    ['ERR_INVALID_AUDIO', new WhisperError('ERR_INVALID_AUDIO', 'x.wav: Invalid WAV file: cut')],
    ['ERR_UNSUPPORTED_AUDIO', new WhisperError('ERR_UNSUPPORTED_AUDIO', 'x.wav: odd codec')],
    ['ERR_FFMPEG_NOT_FOUND', new WhisperError('ERR_FFMPEG_NOT_FOUND', 'x.wav: needs ffmpeg')],
  ])('skips a file the reader refuses (%s), with its message', async (_, error) => {
    doubles.readErrors.set('x.wav', error);
    const r = await transcribe(['x.wav', 'good.wav']);
    expect(r.code).toBe(EXIT.INPUT);
    expect(doubles.transcribed).toEqual(['good.wav']);
    expect(r.stderr).toBe(`whisper-native: ${error.message}\n`);
  });

  it.each([
    ['ENOENT', 'no such file'],
    ['ENOTDIR', 'a part of its path is not a directory'],
    ['EISDIR', 'it is a directory'],
    ['EACCES', 'permission denied'],
    ['ELOOP', 'too many symbolic links'],
    ['EIO', 'input/output error'],
    ['ERR_FS_FILE_TOO_LARGE', 'larger than the 2 GiB Node can read at once'],
  ])('skips a file that cannot be read (%s)', async (code, reason) => {
    doubles.readErrors.set('x.wav', fsError(code));
    const r = await transcribe(['x.wav', 'good.wav']);
    expect(r.code).toBe(EXIT.INPUT);
    expect(doubles.transcribed).toEqual(['good.wav']);
    expect(r.stderr).toBe(`whisper-native: cannot read 'x.wav': ${reason}\n`);
  });
});

describe('transcribe: a failure that is not one input', () => {
  it.each([
    ['the model (ERR_MODEL_CHANGED)', new WhisperError('ERR_MODEL_CHANGED', 'modified')],
    ['memory (ERR_OUT_OF_MEMORY)', new WhisperError('ERR_OUT_OF_MEMORY', 'no memory')],
    ['a bad option (ERR_INVALID_ARG_VALUE)', new WhisperError('ERR_INVALID_ARG_VALUE', 'no')],
    ['a bug (TypeError)', new TypeError('undefined is not a function')],
  ])('stops the run when transcribing fails because of %s', async (_, error) => {
    doubles.transcribeErrors.set('first.wav', error);
    const r = await transcribe(['first.wav', 'good.wav']);
    expect(r.error).toBe(error);
    expect(doubles.transcribed).toEqual([]);
  });

  it("stops the run on the machine's file-system errors (EMFILE, ENOMEM)", async () => {
    for (const code of ['EMFILE', 'ENOMEM']) {
      const error = fsError(code);
      doubles.readErrors.set('first.wav', error);
      const r = await transcribe(['first.wav', 'good.wav']);
      expect(r.error).toBe(error);
      expect(doubles.transcribed).toEqual([]);
    }
  });

  it('stops the run with the reason of an abort', async () => {
    const controller = new AbortController();
    const reason = new Error('interrupted');
    controller.abort(reason);
    // Whatever the transcription rejected with: the abort is why it stopped.
    doubles.transcribeErrors.set('first.wav', new WhisperError('ERR_INVALID_AUDIO', 'x'));
    const r = await transcribe(['first.wav', 'good.wav'], controller.signal);
    expect(r.error).toBe(reason);
    expect(doubles.transcribed).toEqual([]);
  });
});
