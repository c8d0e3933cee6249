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

export const GGML_TYPE = { f32: 0, f16: 1, q4_0: 2, q4_1: 3, q5_0: 6, q5_1: 7, q8_0: 8 } as const;

/** Bytes of n elements of a ggml type (block types: 32 elements per block). */
export function tensorByteLength(type: number, nElements: number): number {
  const blockBytes: Record<number, number> = { 2: 18, 3: 20, 6: 22, 7: 24, 8: 34 };
  if (type === GGML_TYPE.f32) return nElements * 4;
  if (type === GGML_TYPE.f16) return nElements * 2;
  const bytes = blockBytes[type];
  if (bytes === undefined || nElements % 32 !== 0) throw new Error(`no size for type ${type}`);
  return (nElements / 32) * bytes;
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
