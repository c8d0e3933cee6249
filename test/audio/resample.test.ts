// The resampler's frequency response, measured: pass-band sines keep their
// amplitude (within 0.1 dB) and frequency (the best-fit sine at exactly that
// frequency leaves a residual 60 dB down), stop-band sines are attenuated by
// at least 60 dB, DC passes with unit gain, lengths follow round(n * out / in),
// and the streaming class matches the whole-array function.
import { describe, it, expect } from 'vitest';
import { WhisperError } from '../../lib/errors.js';
import { Resampler, downmix, resample, toWhisperInput } from '../../lib/resample.js';

const OUT_RATE = 16000;

function sine(rate: number, frequency: number, seconds: number, amplitude = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  return Float32Array.from(
    { length: n },
    (_, i) => amplitude * Math.sin((2 * Math.PI * frequency * i) / rate),
  );
}

/**
 * The 0.5 s in the middle of `samples`, away from the fade at either end
 * (8000 samples at 16 kHz: a whole number of periods of every test tone).
 */
function middle(samples: Float32Array): Float32Array {
  const length = OUT_RATE / 2;
  const start = Math.floor((samples.length - length) / 2);
  return samples.subarray(start, start + length);
}

function rms(samples: Float32Array): number {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return Math.sqrt(sum / samples.length);
}

/** Least-squares sine at exactly `frequency` (whole periods): its amplitude and the residual's RMS. */
function fitSine(
  samples: Float32Array,
  rate: number,
  frequency: number,
): { amplitude: number; residualRms: number } {
  const omega = (2 * Math.PI * frequency) / rate;
  let c = 0;
  let s = 0;
  samples.forEach((x, i) => {
    c += x * Math.cos(omega * i);
    s += x * Math.sin(omega * i);
  });
  c *= 2 / samples.length;
  s *= 2 / samples.length;
  let residual = 0;
  samples.forEach((x, i) => {
    const r = x - c * Math.cos(omega * i) - s * Math.sin(omega * i);
    residual += r * r;
  });
  return { amplitude: Math.hypot(c, s), residualRms: Math.sqrt(residual / samples.length) };
}

const decibels = (ratio: number): number => 20 * Math.log10(ratio);

describe('resample: pass band', () => {
  const cases: [number, number][] = [
    [44100, 1000],
    [44100, 6000],
    [48000, 1000],
    [48000, 6000],
    [22050, 6000],
    [32000, 6000],
    [96000, 6000],
    [8000, 1000],
    [8000, 3000],
    [11025, 3000],
    [37800, 6000], // arbitrary ratio, exact table (80 phases)
    [44101, 6000], // arbitrary ratio, interpolated table (16000 phases needed)
  ];
  it.each(cases)(
    '%i Hz -> 16 kHz keeps a %i Hz sine within 0.1 dB and at its frequency',
    (rate, frequency) => {
      const amplitude = 0.5;
      const out = resample(sine(rate, frequency, 1, amplitude), rate);
      const { amplitude: measured, residualRms } = fitSine(middle(out), OUT_RATE, frequency);
      expect(Math.abs(decibels(measured / amplitude))).toBeLessThan(0.1);
      // Anything but that exact frequency (a shifted tone, aliases, images) shows up here.
      expect(decibels(residualRms / (amplitude / Math.SQRT2))).toBeLessThan(-60);
    },
  );
});

describe('resample: stop band', () => {
  const cases: [number, number][] = [
    [44100, 9000],
    [44100, 12000],
    [44100, 20000],
    [48000, 9000],
    [48000, 23000],
    [96000, 9000],
    [96000, 40000],
    [22050, 10000],
    [32000, 9000],
    [44101, 12000],
  ];
  it.each(cases)('%i Hz -> 16 kHz attenuates a %i Hz sine by at least 60 dB', (rate, frequency) => {
    const amplitude = 0.5;
    const out = resample(sine(rate, frequency, 1, amplitude), rate);
    expect(decibels(rms(middle(out)) / (amplitude / Math.SQRT2))).toBeLessThan(-60);
  });

  it('8 kHz -> 16 kHz leaves no image of a 3 kHz tone at 5 kHz', () => {
    const out = resample(sine(8000, 3000, 1), 8000);
    const image = fitSine(middle(out), OUT_RATE, 5000).amplitude;
    expect(decibels(image / 0.5)).toBeLessThan(-60);
  });
});

describe('resample: DC, length, identity', () => {
  it.each([8000, 22050, 44100, 48000, 96000, 44101])(
    'passes DC from %i Hz with unit gain',
    (rate) => {
      const out = resample(new Float32Array(rate).fill(0.3), rate);
      for (const x of middle(out)) expect(Math.abs(x - 0.3)).toBeLessThan(1e-6);
    },
  );

  it('makes round(n * 16000 / rate) samples', () => {
    const lengths = [0, 1, 2, 3, 5, 441, 1000, 12345];
    const cases = [8000, 11025, 22050, 32000, 44100, 48000, 96000, 44101].flatMap((rate) =>
      lengths.map((n) => [rate, n] as const),
    );
    // A very low rate makes very long outputs: short inputs only.
    cases.push([7, 0], [7, 1], [7, 3], [7, 5]);
    for (const [rate, n] of cases) {
      expect(resample(new Float32Array(n), rate).length, `${n} samples at ${rate} Hz`).toBe(
        Math.round((n * OUT_RATE) / rate),
      );
    }
  });

  it('returns 16 kHz input unchanged, as a copy', () => {
    const input = sine(OUT_RATE, 440, 0.1);
    const out = resample(input, OUT_RATE);
    expect(out).toEqual(input);
    expect(out).not.toBe(input);
  });

  it('rejects rates that are not positive integers with a WhisperError', () => {
    const refusal = (code: string, message: string) =>
      expect.objectContaining({ name: 'WhisperError', code, message });
    for (const rate of [0, 44100.5, Number.NaN, 10_000_001, 0xffffffff]) {
      const message = `Expected an integer sample rate from 1 to 10000000 for inputRate but received ${rate}`;
      expect(() => resample(new Float32Array(4), rate)).toThrow(
        refusal('ERR_INVALID_ARG_VALUE', message),
      );
      expect(() => new Resampler(rate)).toThrow(refusal('ERR_INVALID_ARG_VALUE', message));
      expect(() => toWhisperInput(new Float32Array(4), rate, 1)).toThrow(
        refusal('ERR_INVALID_ARG_VALUE', message),
      );
    }
    expect(() => resample(new Float32Array(4), 16000, -1)).toThrow(
      refusal(
        'ERR_INVALID_ARG_VALUE',
        'Expected an integer sample rate from 1 to 10000000 for outputRate but received -1',
      ),
    );
    expect(() => resample(new Float32Array(4), '44100' as unknown as number)).toThrow(
      refusal(
        'ERR_INVALID_ARG_TYPE',
        "Expected number for inputRate but received type string ('44100')",
      ),
    );
  });
});

describe('Resampler (streaming)', () => {
  it.each([44100, 8000, 44101])(
    'matches resample() exactly at %i Hz, whatever the chunk sizes',
    (rate) => {
      const input = sine(rate, 1234, 0.7);
      const whole = resample(input, rate);
      const stream = new Resampler(rate);
      const parts: Float32Array[] = [];
      const sizes = [1, 0, 7, 300, 4096, 2, 999];
      for (let at = 0, i = 0; at < input.length; i++) {
        const size = sizes[i % sizes.length]!;
        parts.push(stream.process(input.subarray(at, at + size)));
        at += size;
      }
      parts.push(stream.flush());
      const streamed = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
      parts.reduce((at, part) => (streamed.set(part, at), at + part.length), 0);
      expect(streamed).toEqual(whole);
    },
  );

  it('refuses input after flush', () => {
    const stream = new Resampler(48000);
    stream.flush();
    expect(() => stream.process(new Float32Array(1))).toThrow(
      'Resampler.process() called after flush()',
    );
  });
});

describe('downmix', () => {
  it('averages the channels of each frame', () => {
    expect(downmix(Float32Array.from([1, 0, 0.5, -0.5, 0.25, 0.75]), 2)).toEqual(
      Float32Array.from([0.5, 0, 0.5]),
    );
    expect(downmix(Float32Array.from([0.3, 0.6, 0.9]), 3)).toEqual(
      Float32Array.from([(0.3 + 0.6 + 0.9) / 3]),
    );
  });

  it('rejects a partial frame and a bad channel count with a WhisperError', () => {
    const partial = (() => {
      try {
        downmix(new Float32Array(5), 2);
      } catch (e) {
        return e;
      }
    })();
    expect(partial).toBeInstanceOf(WhisperError);
    expect((partial as WhisperError).code).toBe('ERR_INVALID_ARG_VALUE');
    expect((partial as Error).message).toBe(
      'Expected a whole number of 2-channel frames for interleaved but received 5 samples',
    );
    for (const channels of [0, 1.5, Number.NaN]) {
      expect(() => downmix(new Float32Array(4), channels)).toThrow(WhisperError);
    }
  });

  it('toWhisperInput down-mixes then resamples', () => {
    const left = sine(48000, 1000, 1);
    const stereo = new Float32Array(left.length * 2);
    left.forEach((x, i) => {
      stereo[2 * i] = x;
      stereo[2 * i + 1] = -x; // cancels: silence
    });
    const out = toWhisperInput(stereo, 48000, 2);
    expect(out.length).toBe(16000);
    expect(rms(out)).toBe(0);
  });
});
