// Argument checks for the public API, done once, in JavaScript, before anything
// reaches the addon. Messages follow one pattern, "Expected X for Y but
// received Z", and tests assert them verbatim. A wrong type is
// ERR_INVALID_ARG_TYPE, a wrong value of the right type ERR_INVALID_ARG_VALUE.
import { WhisperError } from './errors.js';
import type { Samples } from './options.js';

/** How a received value is named in messages: its type and, when short, the value. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = (value as object).constructor;
    return ctor?.name ? `an instance of ${ctor.name}` : 'an object with a null prototype';
  }
  let shown = typeof value === 'string' ? `'${value}'` : String(value);
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

export function typeError(expected: string, name: string, value: unknown): WhisperError {
  return new WhisperError(
    'ERR_INVALID_ARG_TYPE',
    `Expected ${expected} for ${name} but received ${describeValue(value)}`,
  );
}

export function valueError(expected: string, name: string, received: string): WhisperError {
  return new WhisperError(
    'ERR_INVALID_ARG_VALUE',
    `Expected ${expected} for ${name} but received ${received}`,
  );
}

export function assertSamples(value: unknown, name = 'samples'): asserts value is Samples {
  if (value instanceof Int16Array || value instanceof Float32Array) return;
  // Buffer is a Uint8Array; Uint8ClampedArray is not one.
  if (value instanceof Uint8Array) {
    if (value.byteLength % 2 !== 0) {
      throw valueError('an even number of bytes (s16le)', name, `${value.byteLength} bytes`);
    }
    return;
  }
  throw typeError('Int16Array, Float32Array or Buffer (s16le)', name, value);
}

export function assertString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw typeError('string', name, value);
  if (value.length === 0) throw valueError('a non-empty string', name, "''");
}

/** A file path: a non-empty string without NUL characters (the OS would cut it at the first). */
export function assertPath(value: unknown, name: string): asserts value is string {
  assertString(value, name);
  if (value.includes('\0'))
    throw valueError('a path without NUL characters', name, JSON.stringify(value));
}

export function assertBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw typeError('boolean', name, value);
}

export function assertFunction(
  value: unknown,
  name: string,
): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw typeError('function', name, value);
}

export function assertIntegerInRange(
  value: unknown,
  name: string,
  min: number,
  max: number,
): asserts value is number {
  if (typeof value !== 'number') throw typeError('number', name, value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw valueError(`an integer between ${min} and ${max}`, name, String(value));
  }
}

/** A number in [min, max] (NaN is not). */
export function assertNumberInRange(
  value: unknown,
  name: string,
  min: number,
  max: number,
): asserts value is number {
  if (typeof value !== 'number') throw typeError('number', name, value);
  if (!(value >= min && value <= max)) {
    throw valueError(`a number between ${min} and ${max}`, name, String(value));
  }
}

export function assertFiniteNonNegative(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw typeError('number', name, value);
  if (!Number.isFinite(value) || value < 0) {
    throw valueError('a finite number >= 0', name, String(value));
  }
}

export function assertSampleRate(value: unknown, name = 'sampleRate'): void {
  if (typeof value !== 'number') throw typeError('number', name, value);
  if (value !== 16000) {
    throw valueError('16000 (resample the audio to 16 kHz mono first)', name, String(value));
  }
}

export function assertAbortSignal(value: unknown, name = 'signal'): asserts value is AbortSignal {
  if (!(value instanceof AbortSignal)) throw typeError('AbortSignal', name, value);
}

export function assertFloat32Array(
  value: unknown,
  name: string,
  length: number,
  shape: string,
): asserts value is Float32Array {
  if (!(value instanceof Float32Array)) throw typeError('Float32Array', name, value);
  if (value.length !== length) {
    throw valueError(`${length} values (${shape})`, name, `${value.length}`);
  }
}

/** tokens: a non-empty array of integer token ids in [0, nVocab), at most maxLength long. */
export function assertTokenIds(
  value: unknown,
  name: string,
  nVocab: number,
  maxLength: number,
): asserts value is number[] {
  if (!Array.isArray(value)) throw typeError('an array of token ids', name, value);
  if (value.length < 1 || value.length > maxLength) {
    throw valueError(`1 to ${maxLength} token ids`, name, `${value.length}`);
  }
  value.forEach((id: unknown, i) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= nVocab) {
      const shown = typeof id === 'number' ? String(id) : describeValue(id);
      throw valueError(`an integer token id in [0, ${nVocab})`, `${name}[${i}]`, shown);
    }
  });
}

/**
 * An options argument: undefined or a plain object whose keys are all known.
 * A misspelled key is an error with a suggestion, not silently ignored.
 */
export function assertOptions(value: unknown, name: string, known: readonly string[]): void {
  if (value === undefined) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw typeError('object', name, value);
  }
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const hint = closest(key, known);
    throw new WhisperError(
      'ERR_INVALID_ARG_VALUE',
      `Unknown option '${key}' in ${name}` +
        (hint ? ` (did you mean '${hint}'?)` : ` (known: ${known.join(', ')})`),
    );
  }
}

// The known name within edit distance 2 of `key`, if any.
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}
