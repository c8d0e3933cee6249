// Builds WAV files byte by byte for the reader's tests: any format tag,
// extensible headers, extra chunks, RF64, streamed (unknown) sizes, and
// deliberately broken ones. Test code, so it trusts its arguments.

export interface WavSpec {
  /** 1 PCM, 3 float, 6 A-law, 7 mu-law, or anything to test rejection. */
  formatTag: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** The sample bytes, already interleaved and encoded. */
  data: Uint8Array;
  /** Write WAVE_FORMAT_EXTENSIBLE with this valid-bits value (default: bitsPerSample). */
  extensible?: boolean;
  validBits?: number;
  /** Overrides blockAlign (default channels * ceil(bits / 8)). */
  blockAlign?: number;
  /** Chunks written before fmt, e.g. a LIST chunk of odd length. */
  before?: { id: string; body: Uint8Array }[];
  /** Write 0xFFFFFFFF as the data size, as a tool that cannot seek back does. */
  streamed?: boolean;
  /** RF64 container: a ds64 chunk holds the real data size. */
  rf64?: boolean;
  /** Declared data size, when it should lie about it. */
  declaredDataSize?: number;
}

function chunk(id: string, body: Uint8Array, declaredSize = body.length): Uint8Array {
  const out = new Uint8Array(8 + body.length + (body.length % 2));
  out.set(Buffer.from(id, 'latin1'));
  new DataView(out.buffer).setUint32(4, declaredSize, true);
  out.set(body, 8);
  return out;
}

function fmtBody(spec: WavSpec): Uint8Array {
  const bytesPerSample = Math.ceil(spec.bitsPerSample / 8);
  const blockAlign = spec.blockAlign ?? spec.channels * bytesPerSample;
  const body = new Uint8Array(spec.extensible ? 40 : 16);
  const view = new DataView(body.buffer);
  view.setUint16(0, spec.extensible ? 0xfffe : spec.formatTag, true);
  view.setUint16(2, spec.channels, true);
  view.setUint32(4, spec.sampleRate, true);
  view.setUint32(8, spec.sampleRate * blockAlign, true);
  view.setUint16(12, blockAlign, true);
  view.setUint16(14, spec.bitsPerSample, true);
  if (spec.extensible) {
    view.setUint16(16, 22, true);
    view.setUint16(18, spec.validBits ?? spec.bitsPerSample, true);
    view.setUint32(20, (1 << spec.channels) - 1, true);
    view.setUint16(24, spec.formatTag, true);
    body.set(
      [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71],
      26,
    );
  }
  return body;
}

export function buildWav(spec: WavSpec): Uint8Array {
  const parts: Uint8Array[] = [];
  if (spec.rf64) {
    const ds64 = new Uint8Array(28);
    new DataView(ds64.buffer).setBigUint64(8, BigInt(spec.data.length), true);
    parts.push(chunk('ds64', ds64));
  }
  for (const extra of spec.before ?? []) parts.push(chunk(extra.id, extra.body));
  parts.push(chunk('fmt ', fmtBody(spec)));
  const dataSize =
    spec.streamed || spec.rf64 ? 0xffffffff : (spec.declaredDataSize ?? spec.data.length);
  parts.push(chunk('data', spec.data, dataSize));
  const bodyLength = parts.reduce((n, p) => n + p.length, 4);
  const header = new Uint8Array(12);
  header.set(Buffer.from(spec.rf64 ? 'RF64' : 'RIFF', 'latin1'));
  new DataView(header.buffer).setUint32(
    4,
    spec.rf64 || spec.streamed ? 0xffffffff : bodyLength,
    true,
  );
  header.set(Buffer.from('WAVE', 'latin1'), 8);
  return Buffer.concat([header, ...parts]);
}

/** Little-endian encodings of sample values for `data`. */
export const encode = {
  u8: (values: number[]): Uint8Array => Uint8Array.from(values),
  s16: (values: number[]): Uint8Array => new Uint8Array(Int16Array.from(values).buffer),
  s24: (values: number[]): Uint8Array =>
    Uint8Array.from(values.flatMap((v) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff])),
  s32: (values: number[]): Uint8Array => new Uint8Array(Int32Array.from(values).buffer),
  f32: (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer),
  f64: (values: number[]): Uint8Array => new Uint8Array(Float64Array.from(values).buffer),
};

/** 16 kHz mono 16-bit PCM (the model's input as it is), with `more` overriding the spec. */
export function pcm16Wav(values: number[], more: Partial<WavSpec> = {}): Uint8Array {
  return buildWav({
    formatTag: 1,
    channels: 1,
    sampleRate: 16000,
    bitsPerSample: 16,
    data: encode.s16(values),
    ...more,
  });
}
