// Reads and writes whisper.cpp ggml model files (REFERENCE.md §2) so tests can
// make broken and unusual models from the shared random one: cut, with a
// header field changed, or with one weight stored in another type. It checks
// nothing: producing invalid files is the point.
//
//   magic | 11 x int32 hparams | n_mel, n_fft, filterbank | n_tokens, tokens |
//   tensor records: n_dims, name length, type, ne[n_dims], name, data

export const GGML_MAGIC = 0x67676d6c;

export const HPARAM_NAMES = [
  'n_vocab',
  'n_audio_ctx',
  'n_audio_state',
  'n_audio_head',
  'n_audio_layer',
  'n_text_ctx',
  'n_text_state',
  'n_text_head',
  'n_text_layer',
  'n_mels',
  'ftype',
] as const;
export type HParamName = (typeof HPARAM_NAMES)[number];

export const GGML_TYPE = {
  f32: 0,
  f16: 1,
  q4_0: 2,
  q4_1: 3,
  q5_0: 6,
  q5_1: 7,
  q8_0: 8,
  q4_K: 12,
} as const;

/** Bytes of n elements of a ggml type (blocks of 32 elements; K-quants 256). */
export function tensorByteLength(type: number, nElements: number): number {
  const blocks: Record<number, [elements: number, bytes: number]> = {
    2: [32, 18],
    3: [32, 20],
    6: [32, 22],
    7: [32, 24],
    8: [32, 34],
    12: [256, 144],
  };
  if (type === GGML_TYPE.f32) return nElements * 4;
  if (type === GGML_TYPE.f16) return nElements * 2;
  const block = blocks[type];
  if (block === undefined || nElements % block[0] !== 0)
    throw new Error(`no size for type ${type}`);
  return (nElements / block[0]) * block[1];
}

export interface GgmlTensor {
  name: string;
  type: number;
  ne: number[];
  data: Uint8Array;
  /** Where the record starts / its data starts in the file it was read from. */
  recordOffset: number;
  dataOffset: number;
}

export interface GgmlModel {
  magic: number;
  hparams: Record<HParamName, number>;
  nMel: number;
  nFft: number;
  filters: Uint8Array; // raw little-endian float32
  vocab: Uint8Array[];
  tensors: GgmlTensor[];
  /** Offsets in the file it was read from. */
  vocabOffset: number;
  tensorsOffset: number;
}

/** Parses a well-formed file (throws on anything unexpected). Tensor data are views. */
export function readGgml(bytes: Uint8Array): GgmlModel {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const i32 = () => {
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const take = (n: number) => {
    if (pos + n > bytes.byteLength) throw new Error(`readGgml: ends inside a field at ${pos}`);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const magic = view.getUint32(0, true);
  pos = 4;
  const hparams = Object.fromEntries(HPARAM_NAMES.map((name) => [name, i32()])) as Record<
    HParamName,
    number
  >;
  const nMel = i32();
  const nFft = i32();
  const filters = take(nMel * nFft * 4);
  const vocabOffset = pos;
  const nTokens = i32();
  const vocab: Uint8Array[] = [];
  for (let i = 0; i < nTokens; i++) vocab.push(take(i32()));
  const tensorsOffset = pos;
  const tensors: GgmlTensor[] = [];
  const decoder = new TextDecoder();
  while (pos < bytes.byteLength) {
    const recordOffset = pos;
    const nDims = i32();
    const nameLength = i32();
    const type = i32();
    const ne = Array.from({ length: nDims }, i32);
    const name = decoder.decode(take(nameLength));
    const dataOffset = pos;
    const data = take(
      tensorByteLength(
        type,
        ne.reduce((a, b) => a * b, 1),
      ),
    );
    tensors.push({ name, type, ne, data, recordOffset, dataOffset });
  }
  return { magic, hparams, nMel, nFft, filters, vocab, tensors, vocabOffset, tensorsOffset };
}

/** Serialises a model (the offsets in it are ignored). */
export function writeGgml(model: GgmlModel): Buffer {
  const parts: Uint8Array[] = [];
  const ints = (...values: number[]) => {
    const b = Buffer.alloc(4 * values.length);
    values.forEach((v, i) => b.writeInt32LE(v, 4 * i));
    parts.push(b);
  };
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(model.magic >>> 0);
  parts.push(magic);
  ints(...HPARAM_NAMES.map((name) => model.hparams[name]));
  ints(model.nMel, model.nFft);
  parts.push(model.filters);
  ints(model.vocab.length);
  for (const token of model.vocab) {
    ints(token.byteLength);
    parts.push(token);
  }
  for (const t of model.tensors) {
    const name = Buffer.from(t.name, 'utf8');
    ints(t.ne.length, name.byteLength, t.type, ...t.ne);
    parts.push(name, t.data);
  }
  return Buffer.concat(parts);
}

/** Byte offset of hparam `name` in a file. */
export function hparamOffset(name: HParamName): number {
  return 4 + 4 * HPARAM_NAMES.indexOf(name);
}

// --- a test quantizer --------------------------------------------------------
//
// ggml's blocks of 32 weights (REFERENCE.md §2; ggml's dequantize_row_q*):
// f16 d, [f16 m for q4_1/q5_1], [4 bytes qh for q5: bit e = the fifth bit of
// weight e], then qs: q8_0 32 int8; the others 16 bytes, byte j holding weight
// j in its low nibble and weight j + 16 in its high one. Weight = (q - 8) d
// (q4_0), (q - 16) d (q5_0), q d (q8_0), or q d + m (q4_1, q5_1).

export type QuantType = 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'q8_0';
export const QUANT_TYPES: readonly QuantType[] = ['q4_0', 'q4_1', 'q5_0', 'q5_1', 'q8_0'];

/** whisper.cpp's file type (the header's ftype, before the version) per matrix type. */
export const WHISPER_FTYPE: Record<QuantType, number> = {
  q4_0: 2,
  q4_1: 3,
  q8_0: 7,
  q5_0: 8,
  q5_1: 9,
};

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half bits -> its value. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** x (as a float32) -> the nearest half's bits, ties to even; overflow -> inf. */
export function f32ToF16(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0);
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs < 0x38800000) {
    // Subnormal halves: the value in units of 2^-24, rounded to even (exact in double).
    const units = Math.abs(Math.fround(x)) * 2 ** 24;
    let r = Math.floor(units);
    const rest = units - r;
    if (rest > 0.5 || (rest === 0.5 && r % 2 === 1)) r++;
    return sign | r;
  }
  let r = (abs - 0x38000000) >>> 13;
  const rest = abs & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r++;
  return sign | r;
}

/**
 * Quantizes the 32 weights x[0..32) into one block at out[at..] (round to
 * nearest, scales as ggml's reference quantizers choose them), and writes the
 * f32 weights the block stands for to values[0..32).
 */
export function quantizeBlock(
  type: QuantType,
  x: ArrayLike<number>,
  out: Uint8Array,
  at: number,
  values: Float32Array,
): void {
  const hasMin = type === 'q4_1' || type === 'q5_1';
  const bits = type === 'q8_0' ? 8 : type === 'q4_0' || type === 'q4_1' ? 4 : 5;
  let lo = x[0]!;
  let hi = x[0]!;
  let widest = x[0]!;
  for (let e = 1; e < 32; e++) {
    lo = Math.min(lo, x[e]!);
    hi = Math.max(hi, x[e]!);
    if (Math.abs(x[e]!) > Math.abs(widest)) widest = x[e]!;
  }
  let d: number;
  let m = 0;
  let offset = 0;
  let qMin = 0;
  let qMax = (1 << bits) - 1;
  if (bits === 8) {
    d = Math.abs(widest) / 127;
    qMin = -128;
    qMax = 127;
  } else if (hasMin) {
    d = (hi - lo) / ((1 << bits) - 1);
    m = lo;
  } else {
    offset = 1 << (bits - 1); // the widest weight gets the extreme level -offset
    d = widest / -offset;
  }
  const dBits = f32ToF16(d);
  const mBits = f32ToF16(m);
  const dd = f16ToF32(dBits);
  const mm = f16ToF32(mBits);
  const q = quantScratch;
  for (let e = 0; e < 32; e++) {
    const level = dd !== 0 ? Math.round(Math.fround(x[e]! - mm) / dd) : 0;
    q[e] = Math.min(qMax, Math.max(qMin, level + offset));
    // q * d is exact in float32; the + m rounds once, as the float32 sum would.
    values[e] = hasMin ? q[e]! * dd + mm : (q[e]! - offset) * dd;
  }
  out[at++] = dBits & 0xff;
  out[at++] = dBits >> 8;
  if (hasMin) {
    out[at++] = mBits & 0xff;
    out[at++] = mBits >> 8;
  }
  if (bits === 5) {
    let qh = 0;
    for (let e = 0; e < 32; e++) qh |= ((q[e]! >> 4) & 1) << e;
    for (let i = 0; i < 4; i++) out[at++] = (qh >>> (8 * i)) & 0xff;
  }
  if (bits === 8) {
    for (let e = 0; e < 32; e++) out[at + e] = q[e]! & 0xff; // two's complement int8
  } else {
    for (let j = 0; j < 16; j++) out[at + j] = (q[j]! & 15) | ((q[j + 16]! & 15) << 4);
  }
}
const quantScratch = new Int32Array(32);

// Every half's value, for reading f16 tensors fast.
let halfTable: Float32Array | undefined;
function halves(): Float32Array {
  if (!halfTable) halfTable = Float32Array.from({ length: 65536 }, (_, h) => f16ToF32(h));
  return halfTable;
}

/**
 * The model re-written twice: `quantized` with every f16 matrix (the 2-D f16
 * tensors: Linear weights and the token embedding; the 3-D convolutions stay
 * f16, as in whisper.cpp's files) in `type` and the header's ftype saying so
 * (quantization version 2), and `dequantized` with those matrices as f32
 * holding exactly the values the blocks stand for (an f16 file whose
 * matrices are f32). Everything else is shared.
 */
export function quantizeModel(
  model: GgmlModel,
  type: QuantType,
): { quantized: GgmlModel; dequantized: GgmlModel } {
  const quantizedTensors: GgmlTensor[] = [];
  const dequantizedTensors: GgmlTensor[] = [];
  const x = new Float32Array(32);
  for (const t of model.tensors) {
    if (t.type !== GGML_TYPE.f16 || t.ne.length !== 2) {
      quantizedTensors.push(t);
      dequantizedTensors.push(t);
      continue;
    }
    const n = t.ne[0]! * t.ne[1]!;
    const table = halves();
    const src = t.data;
    const blockBytes = tensorByteLength(GGML_TYPE[type], 32);
    const blocks = new Uint8Array(tensorByteLength(GGML_TYPE[type], n));
    const values = new Float32Array(n);
    for (let b = 0; b < n / 32; b++) {
      for (let e = 0; e < 32; e++) {
        const at = 2 * (32 * b + e);
        x[e] = table[src[at]! | (src[at + 1]! << 8)]!;
      }
      quantizeBlock(type, x, blocks, b * blockBytes, values.subarray(32 * b, 32 * b + 32));
    }
    quantizedTensors.push({ ...t, type: GGML_TYPE[type], data: blocks });
    dequantizedTensors.push({
      ...t,
      type: GGML_TYPE.f32,
      data: new Uint8Array(values.buffer), // little-endian hosts, as the files are
    });
  }
  return {
    quantized: {
      ...model,
      hparams: { ...model.hparams, ftype: 2000 + WHISPER_FTYPE[type] },
      tensors: quantizedTensors,
    },
    dequantized: { ...model, hparams: { ...model.hparams, ftype: 1 }, tensors: dequantizedTensors },
  };
}
