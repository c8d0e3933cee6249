// readAudioFile end to end on files written to a temp dir: WAVs of several
// formats, rates and channel counts come back as 16 kHz mono; broken files
// and missing ffmpeg give WhisperErrors with their codes; and, when ffmpeg
// is installed, compressed and video containers decode through it.
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FFMPEG_MAX_SAMPLES,
  decodeWithFfmpeg,
  findExecutable,
  readAudioFile,
  readAudioInput,
} from '../../lib/audio-file.js';
import { WhisperError } from '../../lib/errors.js';
import { resample } from '../../lib/resample.js';
import { parseWav, readWavFile } from '../../lib/wav.js';
import { buildWav, encode, pcm16Wav } from './wav-writer.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { sameBits } from '../helpers/compare.js';

const temp = useTempDir('wn-audio-file-');

const writeTemp = temp.write;

function sineValues(rate: number, frequency: number, seconds: number, amplitude: number): number[] {
  return Array.from(
    { length: Math.round(rate * seconds) },
    (_, i) => amplitude * Math.sin((2 * Math.PI * frequency * i) / rate),
  );
}

/** Amplitude of the `frequency` component over a whole number of periods in the middle 0.5 s. */
function toneAmplitude(samples: Float32Array, frequency: number): number {
  const start = Math.floor((samples.length - 8000) / 2);
  let c = 0;
  let s = 0;
  for (let i = 0; i < 8000; i++) {
    const phase = (2 * Math.PI * frequency * i) / 16000;
    c += samples[start + i]! * Math.cos(phase);
    s += samples[start + i]! * Math.sin(phase);
  }
  return Math.hypot(c, s) / 4000;
}

async function rejection(promise: Promise<unknown>): Promise<WhisperError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WhisperError);
  return error as WhisperError;
}

/** Runs `body` with PATH pointing at an empty directory: no ffmpeg to find. */
async function withoutFfmpegOnPath<T>(body: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = temp.dir;
  try {
    return await body();
  } finally {
    process.env.PATH = saved;
  }
}

describe('readAudioFile: WAV', () => {
  it('returns 16 kHz 16-bit mono samples unchanged, with the duration', async () => {
    const values = [0, 16384, -16384, 32767, -32768];
    const path = writeTemp('s16.wav', pcm16Wav(values));
    const audio = await readAudioFile(path);
    expect(Array.from(audio.samples)).toEqual(values.map((v) => v / 32768));
    expect(audio.sampleRate).toBe(16000);
    expect(audio.duration).toBe(5 / 16000);
  });

  it('down-mixes and resamples 44.1 kHz stereo 16-bit', async () => {
    const left = sineValues(44100, 1000, 1, 0.5).map((v) => Math.round(v * 32767));
    const stereo = left.flatMap((v) => [v, v]);
    const path = writeTemp(
      'stereo-44k.wav',
      buildWav({
        formatTag: 1,
        channels: 2,
        sampleRate: 44100,
        bitsPerSample: 16,
        data: encode.s16(stereo),
      }),
    );
    const audio = await readAudioFile(path);
    expect(audio.samples.length).toBe(16000);
    expect(audio.duration).toBe(1);
    expect(toneAmplitude(audio.samples, 1000)).toBeCloseTo(0.5, 3);
    // Exactly the resampler's output for the decoded mono signal.
    expect(audio.samples).toEqual(
      resample(
        Float32Array.from(left, (v) => v / 32768),
        44100,
      ),
    );
  });

  it.each([
    [
      '8-bit 8 kHz',
      { formatTag: 1, bitsPerSample: 8, sampleRate: 8000 },
      (v: number[]) => encode.u8(v.map((x) => Math.round(x * 127) + 128)),
    ],
    [
      '24-bit 48 kHz',
      { formatTag: 1, bitsPerSample: 24, sampleRate: 48000 },
      (v: number[]) => encode.s24(v.map((x) => Math.round(x * 8388607))),
    ],
    ['float64 22.05 kHz', { formatTag: 3, bitsPerSample: 64, sampleRate: 22050 }, encode.f64],
    [
      'extensible float32 96 kHz',
      { formatTag: 3, bitsPerSample: 32, sampleRate: 96000, extensible: true },
      encode.f32,
    ],
  ] as const)(
    'reads %s as a 16 kHz tone of the same amplitude',
    async (name, format, encodeValues) => {
      const values = sineValues(format.sampleRate, 440, 1, 0.5);
      const path = writeTemp(
        `${name}.wav`,
        buildWav({ ...format, channels: 1, data: encodeValues(values) }),
      );
      const audio = await readAudioFile(path);
      expect(audio.samples.length).toBe(16000);
      // 8-bit quantisation noise limits how close it can be.
      expect(toneAmplitude(audio.samples, 440)).toBeCloseTo(0.5, 2);
    },
  );

  it('rejects a truncated WAV with ERR_INVALID_AUDIO naming the file', async () => {
    const wav = buildWav({
      formatTag: 1,
      channels: 1,
      sampleRate: 16000,
      bitsPerSample: 16,
      data: encode.s16([1, 2, 3, 4]),
    });
    const path = writeTemp('truncated.wav', wav.subarray(0, wav.length - 3));
    const error = await rejection(readAudioFile(path));
    expect(error.code).toBe('ERR_INVALID_AUDIO');
    expect(error.message).toBe(
      `${path}: Invalid WAV file: truncated: the data chunk at byte 36 declares 8 bytes but only 5 follow`,
    );
  });

  it('rejects an empty file', async () => {
    const path = writeTemp('empty.wav', new Uint8Array(0));
    const error = await rejection(readAudioFile(path));
    expect(error.code).toBe('ERR_INVALID_AUDIO');
    expect(error.message).toBe(`${path}: the file is empty`);
  });

  it('passes file-system errors through', async () => {
    await expect(readAudioFile(join(temp.dir, 'missing.wav'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('rejects with the reason of an aborted signal', async () => {
    const reason = new Error('stop');
    await expect(
      readAudioFile(join(temp.dir, 'missing.wav'), { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });
});

describe('reading a long WAV file', () => {
  // Two minutes of 44.1 kHz stereo: decoding and resampling it in one go
  // takes ~0.35 s here (~10 s per hour), which the file readers must not spend
  // without letting the event loop run.
  function longWav(): Uint8Array {
    const rate = 44100;
    const values = new Int16Array(rate * 120 * 2);
    let seed = 1;
    for (let i = 0; i < values.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      values[i] = Math.round(8000 * Math.sin(i / 37)) + ((seed >>> 16) % 2001) - 1000;
    }
    return buildWav({
      formatTag: 1,
      channels: 2,
      sampleRate: rate,
      bitsPerSample: 16,
      data: new Uint8Array(values.buffer),
    });
  }

  it("gives parseWav's samples bit for bit while the event loop keeps running", async () => {
    const bytes = longWav();
    const path = writeTemp('long.wav', bytes);
    const syncStart = performance.now();
    const expected = parseWav(bytes).samples;
    const syncMs = performance.now() - syncStart;
    for (const read of [
      () => readAudioFile(path).then((a) => a.samples),
      () => readWavFile(path).then((a) => a.samples),
    ]) {
      const ticks: number[] = [];
      const timer = setInterval(() => ticks.push(performance.now()), 5);
      const started = performance.now();
      let samples: Float32Array;
      try {
        samples = await read();
      } finally {
        clearInterval(timer);
      }
      const gaps = [ticks[0]! - started, ...ticks.slice(1).map((t, i) => t - ticks[i]!)];
      const longest = Math.max(...gaps);
      console.log(
        `  ${expected.length} samples: parseWav ${syncMs.toFixed(0)} ms in one block; ` +
          `read in ${(performance.now() - started).toFixed(0)} ms, longest event-loop gap ` +
          `${longest.toFixed(0)} ms over ${ticks.length} ticks`,
      );
      expect(samples.length).toBe(expected.length);
      expect(sameBits(samples, expected)).toBe(true);
      expect(ticks.length).toBeGreaterThan(10);
      expect(longest).toBeLessThan(100);
    }
  });

  it('stops part-way through when the signal aborts', async () => {
    const path = writeTemp('long-abort.wav', longWav());
    const controller = new AbortController();
    const reason = new Error('stop');
    const read = readAudioFile(path, { signal: controller.signal });
    // Abort once the file is read and decoding has begun.
    setTimeout(() => controller.abort(reason), 60);
    await expect(read).rejects.toBe(reason);
  });
});

describe('readAudioFile: without ffmpeg', () => {
  it('says a non-WAV file needs ffmpeg and how to install it', async () => {
    const path = writeTemp(
      'noise.mp3',
      Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff),
    );
    const error = await rejection(withoutFfmpegOnPath(() => readAudioFile(path)));
    expect(error.code).toBe('ERR_FFMPEG_NOT_FOUND');
    expect(error.message).toMatch(
      new RegExp(
        `^${path.replace(/[.\\/]/g, '\\$&')}: the file is not WAV, and decoding it needs ffmpeg, which is not on PATH\\. Install ffmpeg`,
      ),
    );
  });

  it('says which WAV codec it cannot read and that ffmpeg could', async () => {
    const path = writeTemp(
      'adpcm.wav',
      buildWav({
        formatTag: 2,
        channels: 1,
        sampleRate: 8000,
        bitsPerSample: 4,
        blockAlign: 256,
        data: new Uint8Array(256),
      }),
    );
    const error = await rejection(withoutFfmpegOnPath(() => readAudioFile(path)));
    expect(error.code).toBe('ERR_FFMPEG_NOT_FOUND');
    expect(error.message).toContain('WAV format tag 0x0002 (Microsoft ADPCM) is not supported');
    expect(error.message).toContain('needs ffmpeg, which is not on PATH');
  });

  it('hands a WAV above 768000 Hz to ffmpeg, at once, naming the rate', async () => {
    // 48 bytes at 9,999,991 Hz: building its resampler blocked the event loop ~3.5 s.
    const path = writeTemp('10mhz.wav', pcm16Wav([1, 2], { sampleRate: 9_999_991 }));
    const started = performance.now();
    for (const read of [readAudioFile, readAudioInput] as ((path: string) => Promise<unknown>)[]) {
      const error = await rejection(withoutFfmpegOnPath(() => read(path)));
      expect(error.code).toBe('ERR_FFMPEG_NOT_FOUND');
      expect(error.message).toContain(
        ': WAV at 9999991 Hz is not supported; rates from 1000 to 768000 Hz are, and decoding it needs ffmpeg',
      );
    }
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('reports an ffmpegPath that cannot be run', async () => {
    const path = writeTemp('noise2.ogg', new Uint8Array(100).fill(1));
    const error = await rejection(
      readAudioFile(path, { ffmpegPath: join(temp.dir, 'no-such-ffmpeg') }),
    );
    expect(error.code).toBe('ERR_FFMPEG_NOT_FOUND');
    expect(error.message).toContain('could not run ffmpeg at');
  });
});

/**
 * Reads `path` with `read` while another stream writes `bytes` into it, a FIFO
 * made with mkfifo (a pipe, as /dev/stdin is when a file is piped in): there
 * are no positions to read at.
 */
async function readThroughFifo<T>(
  name: string,
  bytes: Uint8Array,
  read: (path: string) => Promise<T>,
): Promise<T> {
  const fifo = join(temp.dir, name);
  execFileSync('mkfifo', [fifo]);
  try {
    const reading = read(fifo);
    const writer = createWriteStream(fifo);
    writer.end(bytes);
    return await reading;
  } finally {
    rmSync(fifo, { force: true });
  }
}

describe.skipIf(process.platform === 'win32')('readAudioFile: pipes (POSIX FIFOs)', () => {
  it('decodes a WAV read from a pipe as the same file read from disk, floats and int16', async () => {
    const stereo = buildWav({
      formatTag: 1,
      channels: 2,
      sampleRate: 44100,
      bitsPerSample: 16,
      data: encode.s16(sineValues(44100, 440, 0.7, 0.5).flatMap((v) => [v, -v / 2])),
    });
    const mono16k = pcm16Wav(sineValues(16000, 300, 0.5, 9000).map(Math.round));
    const fromDisk = await readAudioFile(writeTemp('piped-stereo.wav', stereo));
    const fromPipe = await readThroughFifo('stereo.fifo', stereo, (p) => readAudioFile(p));
    expect(fromPipe.samples).toEqual(fromDisk.samples);
    const int16Disk = await readAudioInput(writeTemp('piped-mono.wav', mono16k));
    const int16Pipe = await readThroughFifo('mono.fifo', mono16k, (p) => readAudioInput(p));
    expect(int16Pipe).toBeInstanceOf(Int16Array);
    expect(int16Pipe).toEqual(int16Disk);
  });

  it('refuses an empty pipe as an empty file', async () => {
    const error = await readThroughFifo('empty.fifo', new Uint8Array(0), (p) =>
      readAudioFile(p),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WhisperError);
    expect((error as WhisperError).code).toBe('ERR_INVALID_AUDIO');
  });
});

describe('findExecutable', () => {
  // POSIX only: Windows has no executable bit to test.
  it.skipIf(process.platform === 'win32')(
    'finds an executable file on a PATH list, skipping empty entries and non-executables',
    () => {
      const bin = join(temp.dir, 'bin');
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
      writeFileSync(join(bin, 'plain'), 'not executable', { mode: 0o644 });
      expect(findExecutable('tool', `::${join(temp.dir, 'nothing')}:${bin}`, 'linux')).toBe(
        join(bin, 'tool'),
      );
      expect(findExecutable('plain', bin, 'linux')).toBeUndefined();
      expect(findExecutable('tool', '', 'linux')).toBeUndefined();
    },
  );
});

// A stand-in for ffmpeg (a shell script run as `ffmpegPath`) that writes its
// pid to a file and then `bytes` zero bytes as its "decoded" output: whatever
// the file, as a corrupt or hostile one can make the real one do.
describe.skipIf(process.platform === 'win32')("readAudioFile: the cap on ffmpeg's output", () => {
  function fakeFfmpeg(name: string, bytes: number): { path: string; pidFile: string } {
    const pidFile = join(temp.dir, `${name}.pid`);
    const path = join(temp.dir, name);
    writeFileSync(path, `#!/bin/sh\necho $$ > '${pidFile}'\nexec head -c ${bytes} /dev/zero\n`, {
      mode: 0o755,
    });
    return { path, pidFile };
  }

  it('is 24 hours of audio', () => {
    expect(FFMPEG_MAX_SAMPLES).toBe(24 * 3600 * 16000);
  });

  it('takes output up to the cap, and rejects past it, stopping ffmpeg', async () => {
    const input = writeTemp('hostile.ogg', new Uint8Array(100).fill(7));
    const max = 16000;
    const exact = fakeFfmpeg('ffmpeg-exact', 4 * max);
    const decoded = await decodeWithFfmpeg(
      input,
      { ffmpegPath: exact.path },
      'test',
      undefined,
      max,
    );
    expect(decoded).toEqual(new Float32Array(max));
    // 400 MB of output: the cap stops it after the first chunks past 64 KB.
    const endless = fakeFfmpeg('ffmpeg-endless', 400e6);
    const started = performance.now();
    const error = await rejection(
      decodeWithFfmpeg(input, { ffmpegPath: endless.path }, 'test', undefined, max),
    );
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error.code).toBe('ERR_UNSUPPORTED_AUDIO');
    expect(error.message).toBe(
      `${input}: ffmpeg's output ran past 1 s of audio (16000 samples), the most read through ` +
        'ffmpeg, and ffmpeg was stopped: a corrupt file, or a recording to split or to convert ' +
        'to WAV (read in-process, without this limit)',
    );
    // The promise settles once ffmpeg has exited: nothing is left running.
    const pid = Number(readFileSync(endless.pidFile, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it('lets readAudioFile decode through the given ffmpegPath below it', async () => {
    const input = writeTemp('short.ogg', new Uint8Array(100).fill(7));
    const fake = fakeFfmpeg('ffmpeg-short', 4 * 1000);
    const { samples } = await readAudioFile(input, { ffmpegPath: fake.path });
    expect(samples).toEqual(new Float32Array(1000));
  });
});

const ffmpeg = findExecutable('ffmpeg');
if (ffmpeg === undefined) {
  console.warn(
    'test/audio/audio-file.test.ts: ffmpeg is not on PATH; the ffmpeg decoding tests are skipped',
  );
}

describe.skipIf(ffmpeg === undefined)(
  'readAudioFile: through ffmpeg (skipped when ffmpeg is not on PATH)',
  () => {
    /** Encodes a 1 s 44.1 kHz stereo 440 Hz tone (amplitude 0.5) with ffmpeg's own generator. */
    function encodeTone(name: string, extraArgs: string[]): string {
      const path = join(temp.dir, name);
      execFileSync(ffmpeg!, [
        '-nostdin',
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=44100:duration=1',
        '-filter:a',
        'volume=0.5',
        '-ac',
        '2',
        ...extraArgs,
        path,
      ]);
      return path;
    }

    it('decodes FLAC to 16 kHz mono', async () => {
      const path = encodeTone('tone.flac', []);
      const audio = await readAudioFile(path);
      expect(Math.abs(audio.samples.length - 16000)).toBeLessThanOrEqual(16);
      expect(audio.duration).toBe(audio.samples.length / 16000);
      // lavfi's sine is 1/8 full scale; volume=0.5 halves it.
      expect(toneAmplitude(audio.samples, 440)).toBeCloseTo(0.0625, 3);
    });

    it.skipIf(process.platform === 'win32')(
      'decodes a FLAC read from a pipe through ffmpeg as the same file read from disk',
      async () => {
        const path = encodeTone('tone-piped.flac', []);
        const fromDisk = await readAudioFile(path);
        const fromPipe = await readThroughFifo('flac.fifo', readFileSync(path), (p) =>
          readAudioFile(p),
        );
        expect(fromPipe.samples).toEqual(fromDisk.samples);
      },
    );

    it('stops ffmpeg and rejects with the reason when the signal aborts', async () => {
      const path = encodeTone('tone-abort.flac', []);
      const controller = new AbortController();
      const reason = new Error('user cancelled');
      const reading = readAudioFile(path, { signal: controller.signal });
      controller.abort(reason);
      await expect(reading).rejects.toBe(reason);
    });

    it('decodes the audio of a video file', async () => {
      const path = join(temp.dir, 'clip.mkv');
      execFileSync(ffmpeg!, [
        '-nostdin',
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc=size=32x32:rate=5:duration=1',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=48000:duration=1',
        '-c:v',
        'mpeg4',
        '-c:a',
        'flac',
        '-shortest',
        path,
      ]);
      const audio = await readAudioFile(path);
      expect(Math.abs(audio.samples.length - 16000)).toBeLessThanOrEqual(400);
      expect(toneAmplitude(audio.samples, 440)).toBeCloseTo(0.125, 2);
    });

    it('decodes a WAV codec it does not read itself (ADPCM)', async () => {
      const path = encodeTone('tone-adpcm.wav', ['-c:a', 'adpcm_ms']);
      const audio = await readAudioFile(path);
      expect(toneAmplitude(audio.samples, 440)).toBeCloseTo(0.0625, 2);
    });

    it('reads the WAV ffmpeg streams to a pipe (unknown sizes) the same as the file it writes', async () => {
      const file = encodeTone('tone-file.wav', []);
      const piped = join(temp.dir, 'tone-pipe.wav');
      writeFileSync(
        piped,
        execFileSync(
          ffmpeg!,
          ['-nostdin', '-loglevel', 'error', '-i', file, '-f', 'wav', 'pipe:1'],
          { maxBuffer: 1 << 24 },
        ),
      );
      const fromFile = await readAudioFile(file);
      expect(fromFile.samples.length).toBe(16000);
      expect((await readAudioFile(piped)).samples).toEqual(fromFile.samples);
    });

    it('decodes a WAV above 768000 Hz through ffmpeg, and passes on its refusal of 0xFFFFFFFF Hz', async () => {
      const values = sineValues(800_000, 440, 0.1, 0.5).map((v) => Math.round(v * 32767));
      const path = writeTemp('800khz.wav', pcm16Wav(values, { sampleRate: 800_000 }));
      const audio = await readAudioFile(path);
      expect(Math.abs(audio.samples.length - 1600)).toBeLessThanOrEqual(16);

      // Not a plain RangeError from the resampler any more: a WhisperError naming the file.
      const absurd = writeTemp('max-rate.wav', pcm16Wav([1, 2], { sampleRate: 0xffffffff }));
      const error = await rejection(readAudioFile(absurd));
      expect(error.code).toBe('ERR_INVALID_AUDIO');
      expect(error.message).toContain(`${absurd}: ffmpeg could not decode the file: `);
    });

    it("rejects garbage with ffmpeg's own message", async () => {
      const path = writeTemp(
        'garbage.m4a',
        Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24),
      );
      const error = await rejection(readAudioFile(path));
      expect(error.code).toBe('ERR_INVALID_AUDIO');
      expect(error.message).toMatch(/: ffmpeg could not decode the file: .+/);
    });

    it('rejects a video without audio', async () => {
      const path = join(temp.dir, 'silent.mkv');
      execFileSync(ffmpeg!, [
        '-nostdin',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc=size=32x32:rate=5:duration=1',
        '-c:v',
        'mpeg4',
        path,
      ]);
      const error = await rejection(readAudioFile(path));
      expect(error.code).toBe('ERR_INVALID_AUDIO');
      expect(error.message).toContain('ffmpeg could not decode the file');
    });
  },
);

// The CLI's read: a file that already holds the model's input (16 kHz mono
// 16-bit) comes as its Int16Array, which the model reads at half the memory
// of floats; any other file as readAudioFile's floats.
describe('readAudioInput', () => {
  it("gives a 16 kHz mono 16-bit WAV's samples as they are, whatever the chunk alignment", async () => {
    const values = [-32768, -1, 0, 1, 12345, 32767];
    for (const before of [[], [{ id: 'LIST', body: new Uint8Array(3) }]]) {
      const path = writeTemp(`as-is-${before.length}.wav`, pcm16Wav(values, { before }));
      const samples = await readAudioInput(path);
      expect(samples).toBeInstanceOf(Int16Array);
      expect(Array.from(samples)).toEqual(values);
      // The floats the model widens them to are readAudioFile's.
      const widened = Float32Array.from(samples, (v) => v / 32768);
      expect(sameBits(widened, (await readAudioFile(path)).samples)).toBe(true);
    }
  });

  it("gives readAudioFile's floats for any other WAV", async () => {
    const files = [
      {
        formatTag: 1,
        channels: 2,
        sampleRate: 16000,
        bitsPerSample: 16,
        data: encode.s16([1, 2, 3, 4]),
      },
      {
        formatTag: 1,
        channels: 1,
        sampleRate: 44100,
        bitsPerSample: 16,
        data: encode.s16(new Array(441).fill(100)),
      },
      {
        formatTag: 1,
        channels: 1,
        sampleRate: 16000,
        bitsPerSample: 24,
        data: encode.s24([1, -1]),
      },
      {
        formatTag: 3,
        channels: 1,
        sampleRate: 16000,
        bitsPerSample: 32,
        data: encode.f32([0.5, -0.25]),
      },
    ];
    for (const [i, spec] of files.entries()) {
      const path = writeTemp(`other-${i}.wav`, buildWav(spec));
      const samples = await readAudioInput(path);
      expect(samples).toBeInstanceOf(Float32Array);
      expect(sameBits(samples as Float32Array, (await readAudioFile(path)).samples)).toBe(true);
    }
  });

  it('refuses a rate below 1000 Hz as malformed, naming the file and the rate', async () => {
    // 2 MB at 1 Hz: a RangeError (16e9 samples) before; ffmpeg would stream 64 GB.
    const path = writeTemp('1hz.wav', pcm16Wav(new Array(1 << 20).fill(0), { sampleRate: 1 }));
    for (const read of [readAudioFile, readAudioInput] as ((path: string) => Promise<unknown>)[]) {
      const error = await rejection(read(path));
      expect(error.code).toBe('ERR_INVALID_AUDIO');
      expect(error.message).toBe(
        `${path}: Invalid WAV file: the fmt chunk declares a sample rate of 1 Hz, below 1000 Hz`,
      );
    }
  });

  it('refuses a malformed file as readAudioFile does', async () => {
    const wav = pcm16Wav([1, 2, 3]);
    const path = writeTemp('cut.wav', wav.subarray(0, wav.length - 3));
    const error = await rejection(readAudioInput(path));
    expect(error.code).toBe('ERR_INVALID_AUDIO');
    expect(error.message).toBe((await rejection(readAudioFile(path))).message);
  });
});
