// decodeWav on files built byte by byte: every sample format with known
// values, extensible headers, RF64 and streamed sizes, odd chunks, and the
// malformed files it must refuse with a message that says what is wrong.
import { describe, it, expect } from 'vitest';
import { WhisperError } from '../../lib/errors.js';
import { decodeWav, parseWav } from '../../lib/wav.js';
import { buildWav, encode, pcm16Wav } from './wav-writer.js';

const pcm16 = pcm16Wav;

function expectSamples(actual: Float32Array, expected: number[]): void {
  expect(Array.from(actual)).toEqual(expected.map((v) => Math.fround(v)));
}

describe('decodeWav: sample formats', () => {
  it('reads unsigned 8-bit PCM', () => {
    const wav = buildWav({
      formatTag: 1,
      channels: 1,
      sampleRate: 8000,
      bitsPerSample: 8,
      data: encode.u8([0, 64, 128, 255]),
    });
    const decoded = decodeWav(wav);
    expectSamples(decoded.samples, [-1, -0.5, 0, 127 / 128]);
    expect(decoded.sampleRate).toBe(8000);
  });

  it('reads signed 16-bit PCM', () => {
    expectSamples(decodeWav(pcm16([-32768, -1, 0, 16384, 32767])).samples, [
      -1,
      -1 / 32768,
      0,
      0.5,
      32767 / 32768,
    ]);
  });

  it('reads signed 24-bit PCM, sign-extending the top byte', () => {
    const values = [-8388608, -1, 0, 1, 4194304, 8388607];
    const wav = buildWav({
      formatTag: 1,
      channels: 1,
      sampleRate: 16000,
      bitsPerSample: 24,
      data: encode.s24(values),
    });
    expectSamples(
      decodeWav(wav).samples,
      values.map((v) => v / 8388608),
    );
  });

  it('reads signed 32-bit PCM', () => {
    const values = [-2147483648, -65536, 0, 1073741824, 2147483647];
    const wav = buildWav({
      formatTag: 1,
      channels: 1,
      sampleRate: 16000,
      bitsPerSample: 32,
      data: encode.s32(values),
    });
    expectSamples(
      decodeWav(wav).samples,
      values.map((v) => v / 2147483648),
    );
  });

  it('reads 32- and 64-bit float', () => {
    const values = [-1, -0.25, 0, 0.125, 1.5];
    for (const [bits, data] of [
      [32, encode.f32(values)],
      [64, encode.f64(values)],
    ] as const) {
      const wav = buildWav({
        formatTag: 3,
        channels: 1,
        sampleRate: 16000,
        bitsPerSample: bits,
        data,
      });
      expectSamples(decodeWav(wav).samples, values);
    }
  });

  it('reads G.711 A-law and mu-law', () => {
    // Reference points of G.711: A-law 0xD5/0x55 are +-8, 0xAA is +32256;
    // mu-law 0xFF is 0, 0x80/0x00 are +-32124.
    const alaw = buildWav({
      formatTag: 6,
      channels: 1,
      sampleRate: 8000,
      bitsPerSample: 8,
      data: encode.u8([0xd5, 0x55, 0xaa]),
    });
    expectSamples(decodeWav(alaw).samples, [8 / 32768, -8 / 32768, 32256 / 32768]);
    const mulaw = buildWav({
      formatTag: 7,
      channels: 1,
      sampleRate: 8000,
      bitsPerSample: 8,
      data: encode.u8([0xff, 0x80, 0x00]),
    });
    expectSamples(decodeWav(mulaw).samples, [0, 32124 / 32768, -32124 / 32768]);
  });

  it('averages channels', () => {
    const wav = buildWav({
      formatTag: 3,
      channels: 3,
      sampleRate: 44100,
      bitsPerSample: 32,
      data: encode.f32([0.5, 0.25, 0, -1, -1, -1]),
    });
    const decoded = decodeWav(wav);
    expectSamples(decoded.samples, [Math.fround(0.75) / 3, -1]);
    expect(decoded.channels).toBe(3);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE: 24-bit container with 20 valid bits, 6 channels', () => {
    const frame = [8388352, 0, 0, 0, 0, 0]; // left-justified 20-bit values: 0x7FFF00 in the first channel
    const wav = buildWav({
      formatTag: 1,
      extensible: true,
      validBits: 20,
      channels: 6,
      sampleRate: 48000,
      bitsPerSample: 24,
      data: encode.s24([...frame, ...frame]),
    });
    expectSamples(decodeWav(wav).samples, [8388352 / 8388608 / 6, 8388352 / 8388608 / 6]);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE float', () => {
    const wav = buildWav({
      formatTag: 3,
      extensible: true,
      channels: 2,
      sampleRate: 16000,
      bitsPerSample: 32,
      data: encode.f32([0.5, 0.25]),
    });
    expectSamples(decodeWav(wav).samples, [0.375]);
  });

  it('reads 12-bit samples in a 16-bit container (non-extensible)', () => {
    const wav = buildWav({
      formatTag: 1,
      channels: 1,
      sampleRate: 16000,
      bitsPerSample: 12,
      data: encode.s16([-32768, 16]),
    });
    expectSamples(decodeWav(wav).samples, [-1, 16 / 32768]);
  });
});

describe('source.bitsPerSample', () => {
  const s32 = encode.s32([0x7fffff00, -256]);

  it("is an extensible header's valid bits: 24 for 24-bit samples in 32-bit containers", () => {
    const wav = buildWav({
      formatTag: 1,
      extensible: true,
      validBits: 24,
      channels: 1,
      sampleRate: 16000,
      bitsPerSample: 32,
      data: s32,
    });
    expect(decodeWav(wav).bitsPerSample).toBe(24);
    expect(parseWav(wav).source).toEqual({
      sampleRate: 16000,
      channels: 1,
      encoding: 'pcm',
      bitsPerSample: 24,
    });
    // The samples read as the 32-bit container's, whatever the valid bits.
    expect(Array.from(parseWav(wav).samples)).toEqual([0x7fffff00 / 2 ** 31, -256 / 2 ** 31]);
  });

  it("is the container's bits when the valid bits are not given (0) or exceed them", () => {
    for (const validBits of [0, 40]) {
      const wav = buildWav({
        formatTag: 1,
        extensible: true,
        validBits,
        channels: 1,
        sampleRate: 16000,
        bitsPerSample: 32,
        data: s32,
      });
      expect(parseWav(wav).source.bitsPerSample).toBe(32);
    }
  });

  it("is the header's bits per sample for a plain header", () => {
    const wav = buildWav({
      formatTag: 1,
      channels: 1,
      sampleRate: 16000,
      bitsPerSample: 12,
      data: encode.s16([16]),
    });
    expect(parseWav(wav).source.bitsPerSample).toBe(12);
  });
});

describe('decodeWav: sample rates', () => {
  function refusal(bytes: Uint8Array): WhisperError {
    let thrown: unknown;
    try {
      parseWav(bytes);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(WhisperError);
    return thrown as WhisperError;
  }

  it('reads rates from 1000 to 768000 Hz', () => {
    for (const rate of [1000, 768000]) {
      const audio = parseWav(pcm16(new Array(rate / 100).fill(1000), { sampleRate: rate }));
      expect(audio.source.sampleRate).toBe(rate);
      expect(audio.samples.length).toBe(160);
    }
  });

  it('refuses a rate below 1000 Hz as malformed, naming it (not handed to ffmpeg)', () => {
    // 1 Hz used to make a 16000x longer output: a 2 MB file asked for 16e9 samples.
    for (const rate of [1, 999]) {
      const error = refusal(pcm16(new Array(1 << 20).fill(0), { sampleRate: rate }));
      expect(error.code).toBe('ERR_INVALID_AUDIO');
      expect(error.message).toBe(
        `Invalid WAV file: the fmt chunk declares a sample rate of ${rate} Hz, below 1000 Hz`,
      );
    }
    // Whatever the codec: ffmpeg must not get it either.
    const adpcm = buildWav({
      formatTag: 2,
      channels: 1,
      sampleRate: 8,
      bitsPerSample: 4,
      blockAlign: 256,
      data: new Uint8Array(256),
    });
    expect(refusal(adpcm).code).toBe('ERR_INVALID_AUDIO');
  });

  it('refuses a rate above 768000 Hz as unsupported, naming it (readAudioFile tries ffmpeg)', () => {
    for (const rate of [768001, 9_999_991, 0x7fffffff, 0xffffffff]) {
      const started = performance.now();
      const error = refusal(pcm16([1, 2, 3, 4], { sampleRate: rate }));
      expect(error.code).toBe('ERR_UNSUPPORTED_AUDIO');
      expect(error.message).toBe(
        `WAV at ${rate} Hz is not supported; rates from 1000 to 768000 Hz are`,
      );
      // No filter table was built (9,999,991 Hz took ~3.5 s and 150 MB).
      expect(performance.now() - started).toBeLessThan(100);
    }
  });
});

describe('decodeWav: containers and chunks', () => {
  it('skips other chunks, honouring the pad byte after an odd-sized one', () => {
    const wav = pcm16([1000, -1000], {
      before: [
        { id: 'LIST', body: new Uint8Array(7).fill(0x41) },
        { id: 'junk', body: new Uint8Array(1) },
      ],
    });
    expectSamples(decodeWav(wav).samples, [1000 / 32768, -1000 / 32768]);
  });

  it('reads RF64 with the data size in ds64', () => {
    const wav = pcm16([1, 2, 3], { rf64: true });
    expectSamples(decodeWav(wav).samples, [1 / 32768, 2 / 32768, 3 / 32768]);
  });

  it('reads a streamed file whose data size is unknown (0xFFFFFFFF), keeping whole frames', () => {
    const wav = pcm16([1, 2, 3], { streamed: true });
    expectSamples(decodeWav(wav).samples, [1 / 32768, 2 / 32768, 3 / 32768]);
    // Cut one byte into the last frame: that frame is dropped, not an error.
    expectSamples(decodeWav(wav.subarray(0, wav.length - 1)).samples, [1 / 32768, 2 / 32768]);
  });

  it('reads an empty data chunk as no samples', () => {
    expect(decodeWav(pcm16([])).samples.length).toBe(0);
  });
});

describe('decodeWav: malformed and unsupported files', () => {
  function expectFormatError(bytes: Uint8Array, message: string): void {
    let thrown: unknown;
    try {
      decodeWav(bytes);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(WhisperError);
    expect((thrown as WhisperError).code).toBe('ERR_INVALID_AUDIO');
    expect((thrown as WhisperError).message).toBe(message);
  }

  it('refuses a truncated data chunk', () => {
    const wav = pcm16([1, 2, 3, 4]);
    expectFormatError(
      wav.subarray(0, wav.length - 3),
      'Invalid WAV file: truncated: the data chunk at byte 36 declares 8 bytes but only 5 follow',
    );
  });

  it('refuses a file that ends before its fmt or data chunk', () => {
    const wav = pcm16([1]);
    expectFormatError(
      wav.subarray(0, 12),
      'Invalid WAV file: the file ends after 12 bytes, before a fmt chunk',
    );
    expectFormatError(
      wav.subarray(0, 36),
      'Invalid WAV file: the file ends after 36 bytes, before a data chunk',
    );
    expectFormatError(
      wav.subarray(0, 30),
      'Invalid WAV file: truncated: the "fmt " chunk at byte 12 declares 16 bytes but only 10 follow',
    );
  });

  it('refuses a chunk size that runs past the end', () => {
    const wav = pcm16([1, 2], { declaredDataSize: 0x7fffffff });
    expectFormatError(
      wav,
      'Invalid WAV file: truncated: the data chunk at byte 36 declares 2147483647 bytes but only 4 follow',
    );
  });

  it('refuses impossible formats', () => {
    expectFormatError(
      pcm16([1], { channels: 0, blockAlign: 2 }),
      'Invalid WAV file: the fmt chunk declares 0 channels',
    );
    expectFormatError(
      pcm16([1], { sampleRate: 0 }),
      'Invalid WAV file: the fmt chunk declares a sample rate of 0',
    );
    expectFormatError(
      pcm16([1], { bitsPerSample: 24, blockAlign: 2 }),
      'Invalid WAV file: 24 bits per sample do not fit 2-byte samples',
    );
    // A data chunk of 5 bytes holds two and a half 16-bit frames.
    expectFormatError(
      pcm16([1, 2, 3]).map((byte, i) => (i === 40 ? 5 : byte)),
      'Invalid WAV file: the data chunk has 5 bytes, not a whole number of 2-byte frames',
    );
  });

  it('refuses a fmt chunk that is too short', () => {
    const wav = pcm16([1]);
    const short = Buffer.concat([
      wav.subarray(0, 16),
      Uint8Array.from([8, 0, 0, 0]),
      wav.subarray(20, 28),
      wav.subarray(36),
    ]);
    expectFormatError(short, 'Invalid WAV file: the fmt chunk has 8 bytes, expected at least 16');
  });

  it('marks codecs it does not read as unsupported (so ffmpeg can be tried)', () => {
    const adpcm = buildWav({
      formatTag: 2,
      channels: 1,
      sampleRate: 8000,
      bitsPerSample: 4,
      blockAlign: 256,
      data: new Uint8Array(256),
    });
    expect(() => decodeWav(adpcm)).toThrow(
      expect.objectContaining({ name: 'WhisperError', code: 'ERR_UNSUPPORTED_AUDIO' }),
    );
    expect(() => decodeWav(adpcm)).toThrow(
      'WAV format tag 0x0002 (Microsoft ADPCM) is not supported; integer PCM, IEEE float, A-law and mu-law are',
    );
    const pcm40 = buildWav({
      formatTag: 1,
      channels: 1,
      sampleRate: 8000,
      bitsPerSample: 40,
      data: new Uint8Array(5),
    });
    expect(() => decodeWav(pcm40)).toThrow(
      'integer PCM WAV with a block of 5 bytes for 1 channel(s) is not supported; expected 1, 2, 3, 4 byte(s) per sample',
    );
  });

  it('refuses a file that is not WAV', () => {
    expectFormatError(
      Buffer.from('RIFF\0\0\0\0AVI LIST'),
      'Invalid WAV file: it does not start with a RIFF/RF64 WAVE header',
    );
  });
});
