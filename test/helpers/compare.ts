// Error measures used by the parity tests (the targets are in BRIEF/REFERENCE):
// relative RMS = sqrt(mean((a-b)^2)) / sqrt(mean(b^2)).

export function relativeRms(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) {
    throw new Error(`length ${actual.length} differs from expected ${expected.length}`);
  }
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i]! - expected[i]!;
    diff += d * d;
    ref += expected[i]! * expected[i]!;
  }
  return Math.sqrt(diff / ref);
}

export function maxAbsDiff(actual: Float32Array, expected: Float32Array): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    // NaN must fail the comparison, not vanish in Math.max.
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  return max;
}

/** Index of the largest value in each row of a [rows][cols] matrix. */
export function argmaxRows(values: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let row = 0; row * cols < values.length; row++) {
    let best = 0;
    for (let j = 1; j < cols; j++) {
      if (values[row * cols + j]! > values[row * cols + best]!) best = j;
    }
    out.push(best);
  }
  return out;
}

/**
 * Whether two typed arrays hold the same bytes: the same values bit for bit
 * (-0 and NaN payloads included), and as many of them.
 */
export function sameBits(actual: ArrayBufferView, expected: ArrayBufferView): boolean {
  return Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(
    Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
  );
}
