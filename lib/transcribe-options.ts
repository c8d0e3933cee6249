// Validates transcribe()'s options and fills in the defaults, so the addon
// receives one complete, clean object (native/binding/transcribe_options.cc
// copies it field by field). Messages follow validate.ts's pattern.
import { TRANSCRIBE_DEFAULTS, type Segment, type TranscribeOptions } from './options.js';
import * as check from './validate.js';

/** What the addon reads: every decoding option, defaults filled in. */
export type NativeTranscribeOptions = Omit<
  typeof TRANSCRIBE_DEFAULTS,
  'sampleRate' | 'temperature'
> & { temperature: number[] };

export interface CheckedTranscribeOptions {
  native: NativeTranscribeOptions;
  signal: AbortSignal | undefined;
  onProgress: ((fraction: number) => void) | undefined;
  onSegment: ((segment: Segment) => void) | undefined;
}

type Rule = (value: unknown, name: string) => void;

const integer =
  (min: number, max: number): Rule =>
  (v, name) =>
    check.assertIntegerInRange(v, name, min, max);
const finiteAtLeast =
  (min: number): Rule =>
  (v, name) => {
    if (typeof v !== 'number') throw check.typeError('number', name, v);
    if (!Number.isFinite(v) || v < min)
      throw check.valueError(`a finite number >= ${min}`, name, String(v));
  };
const numberBetween =
  (min: number, max: number): Rule =>
  (v, name) =>
    check.assertNumberInRange(v, name, min, max);
const finiteNumber: Rule = (v, name) => {
  if (typeof v !== 'number') throw check.typeError('number', name, v);
  if (!Number.isFinite(v)) throw check.valueError('a finite number', name, String(v));
};
const orNull =
  (rule: Rule): Rule =>
  (v, name) => {
    if (v !== null) rule(v, name);
  };
const boolean: Rule = (v, name) => check.assertBoolean(v, name);
const string: Rule = (v, name) => {
  if (typeof v !== 'string') throw check.typeError('string', name, v);
};
const tokenIds =
  (min: number): Rule =>
  (v, name) => {
    if (!Array.isArray(v)) throw check.typeError('an array of token ids', name, v);
    v.forEach((id: unknown, i) => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < min) {
        throw check.valueError(`an integer >= ${min}`, `${name}[${i}]`, String(id));
      }
    });
  };
const textOrTokens: Rule = (v, name) => {
  if (typeof v === 'string') return;
  if (!Array.isArray(v)) throw check.typeError('string or an array of token ids', name, v);
  tokenIds(0)(v, name);
};
const temperatures: Rule = (v, name) => {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw check.valueError('at least one temperature', name, '[]');
  list.forEach((t: unknown, i) => finiteAtLeast(0)(t, Array.isArray(v) ? `${name}[${i}]` : name));
};

/** The rule for each decoding option (those of TRANSCRIBE_DEFAULTS but sampleRate). */
const RULES: Record<keyof NativeTranscribeOptions, Rule> = {
  language: string,
  translate: boolean,
  temperature: temperatures,
  bestOf: integer(1, 100),
  beamSize: integer(0, 100),
  patience: (v, name) => {
    finiteAtLeast(0)(v, name);
    if (v === 0) throw check.valueError('a number > 0', name, '0');
  },
  // The reference's _verify_options: "length_penalty (alpha) should be a value between 0 and 1".
  lengthPenalty: orNull(numberBetween(0, 1)),
  seed: integer(0, Number.MAX_SAFE_INTEGER),
  maxTokensPerWindow: integer(0, 10000),
  compressionRatioThreshold: orNull(finiteNumber),
  logprobThreshold: orNull(finiteNumber),
  noSpeechThreshold: orNull(finiteNumber),
  conditionOnPreviousText: boolean,
  initialPrompt: textOrTokens,
  prefix: textOrTokens,
  maxInitialTimestamp: finiteAtLeast(0),
  suppressBlank: boolean,
  suppressTokens: tokenIds(-1),
  withoutTimestamps: boolean,
  offset: finiteAtLeast(0),
  duration: finiteAtLeast(0),
  maxSegmentLength: integer(0, 1_000_000),
  splitOnWord: boolean,
  singleSegment: boolean,
  wordTimestamps: boolean,
};

const CALLBACK_KEYS = ['signal', 'onProgress', 'onSegment', 'sampleRate'] as const;

export function checkTranscribeOptions(
  options: TranscribeOptions | undefined,
): CheckedTranscribeOptions {
  check.assertOptions(options, 'options', [...CALLBACK_KEYS, ...Object.keys(RULES)]);
  const given = (options ?? {}) as Record<string, unknown>;
  const { signal, onProgress, onSegment, sampleRate } = options ?? {};
  if (signal !== undefined) check.assertAbortSignal(signal, 'options.signal');
  if (onProgress !== undefined) check.assertFunction(onProgress, 'options.onProgress');
  if (onSegment !== undefined) check.assertFunction(onSegment, 'options.onSegment');
  if (sampleRate !== undefined) check.assertSampleRate(sampleRate, 'options.sampleRate');

  const native: Record<string, unknown> = {};
  for (const [key, rule] of Object.entries(RULES) as [keyof NativeTranscribeOptions, Rule][]) {
    // Each option is read once, and an array copied before it is checked: what
    // the addon reads is what was checked, whatever getters or later changes
    // to the caller's objects do.
    const givenValue = given[key];
    const value = Array.isArray(givenValue) ? [...(givenValue as unknown[])] : givenValue;
    // undefined means "the default"; null is a value (the threshold options).
    if (value === undefined) {
      native[key] = TRANSCRIBE_DEFAULTS[key];
    } else {
      rule(value, `options.${key}`);
      native[key] = value;
    }
  }
  const t = native.temperature as number | readonly number[];
  native.temperature = typeof t === 'number' ? [t] : [...t];
  return { native: native as NativeTranscribeOptions, signal, onProgress, onSegment };
}
