// Random-weight Whisper models of the larger sizes in the real ggml layout,
// built from the tiny.en file: its header, mel filters and vocabulary are
// kept, and every tensor is made again at the chosen width and depth, block
// 0's tensors serving as the pattern of every block. The values are seeded
// random numbers of the scale the tiny file uses (see spread()). Used by
// bench/make-random-model.ts to measure speed and memory where no trained
// file can be downloaded: speed depends on the shapes alone.
import { type GgmlModel, type GgmlTensor, GGML_TYPE, f32ToF16 } from './ggml-writer.js';

/**
 * A model's shape: its width, and its layers per stack (64-wide heads);
 * `textLayers`, when the decoder has another number of layers.
 */
export interface ModelShape {
  state: number;
  layers: number;
  textLayers?: number;
}

/**
 * Whisper's published sizes. `large` is large-v1's and -v2's shape, `turbo`
 * large-v3-turbo's (large's encoder, 4 decoder layers), both with the tiny.en
 * file's 80 mel bands and English vocabulary: large-v3's 128 bands make its
 * first convolution 1.6x bigger (~0.1 % of the encoder's work) and its 51866
 * tokens are 2 more rows of the embedding, so the speed is theirs within that.
 */
export const SIZES: Record<string, ModelShape> = {
  tiny: { state: 384, layers: 4 },
  base: { state: 512, layers: 6 },
  small: { state: 768, layers: 12 },
  medium: { state: 1024, layers: 24 },
  large: { state: 1280, layers: 32 },
  turbo: { state: 1280, layers: 32, textLayers: 4 },
};

/** xorshift32 and Box-Muller: the same numbers on every run and machine. */
function normalSource(seed: number): () => number {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 1) / 4294967297; // in (0, 1)
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** OpenAI's sinusoids(length, channels): [position][channel], sin then cos halves. */
function sinusoids(length: number, channels: number): Float32Array {
  const out = new Float32Array(length * channels);
  const half = channels / 2;
  const step = Math.log(10000) / (half - 1);
  for (let t = 0; t < length; t++) {
    for (let c = 0; c < half; c++) {
      const angle = t * Math.exp(-step * c);
      out[t * channels + c] = Math.sin(angle);
      out[t * channels + half + c] = Math.cos(angle);
    }
  }
  return out;
}

/** `values` stored as the tensor's type (f32 or f16). */
function encode(values: Float32Array, type: number): Uint8Array {
  if (type === GGML_TYPE.f32) return new Uint8Array(values.buffer);
  if (type !== GGML_TYPE.f16) throw new Error(`make-random-model: tensor type ${type} not handled`);
  const halves = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) halves[i] = f32ToF16(values[i]!);
  return new Uint8Array(halves.buffer);
}

/**
 * The standard deviation of a tensor's values, as the tiny file has them: the
 * token embedding 0.3, a matrix 1/sqrt(fan-in) (ggml's ne[0] is the row
 * length; a convolution's rows are kernel width ne[0] x input channels
 * ne[1]), a layer-norm gain 0.1 around 1, anything else (biases, the
 * decoder's positions) 0.02.
 */
function spread(name: string, type: number, ne: number[], gain: boolean): number {
  if (name === 'decoder.token_embedding.weight') return 0.3;
  if (type === GGML_TYPE.f16 && ne.length >= 2) {
    return 1 / Math.sqrt(ne.length === 3 ? ne[0]! * ne[1]! : ne[0]!);
  }
  return gain ? 0.1 : 0.02;
}

/** A tensor of the pattern's name, type and role at width `state` (384 -> state, 1536 -> 4 state). */
function resized(pattern: GgmlTensor, name: string, state: number, normal: () => number) {
  const ne = pattern.ne.map((n) => (n === 384 ? state : n === 1536 ? 4 * state : n));
  const count = ne.reduce((a, b) => a * b, 1);
  const values = new Float32Array(count);
  if (name === 'encoder.positional_embedding') {
    values.set(sinusoids(ne[1]!, ne[0]!));
  } else {
    const gain = /ln(_post)?\.weight$/.test(name);
    const sd = spread(name, pattern.type, ne, gain);
    for (let i = 0; i < count; i++) values[i] = (gain ? 1 : 0) + sd * normal();
  }
  return {
    name,
    type: pattern.type,
    ne,
    data: encode(values, pattern.type),
    recordOffset: 0,
    dataOffset: 0,
  };
}

/**
 * `tiny` (the tiny.en file, parsed) rebuilt at `size` (a key of SIZES, with
 * or without `.en`): every tensor of every block, in the file's order, with
 * fresh seeded values; the same numbers on every run.
 */
export function randomModel(tiny: GgmlModel, size: string): GgmlModel {
  const shape = SIZES[size.replace(/\.en$/, '')];
  if (shape === undefined) {
    throw new Error(`randomModel: unknown size ${size} (${Object.keys(SIZES).join(', ')})`);
  }
  return randomModelOfShape(tiny, shape);
}

/** randomModel() at any shape (the tests' small ones). */
export function randomModelOfShape(tiny: GgmlModel, shape: ModelShape): GgmlModel {
  const { state } = shape;
  const layersOf = { encoder: shape.layers, decoder: shape.textLayers ?? shape.layers };
  const normal = normalSource(0x5eed + state);
  const tensors: GgmlTensor[] = [];
  for (const stack of ['encoder', 'decoder'] as const) {
    const own = tiny.tensors.filter((t) => t.name.startsWith(`${stack}.`));
    const block0 = own.filter((t) => t.name.startsWith(`${stack}.blocks.0.`));
    const outside = (t: GgmlTensor) => !t.name.startsWith(`${stack}.blocks.`);
    // Before the blocks: convolutions and embeddings; after: the final norm.
    const before = own.filter((t) => outside(t) && !t.name.includes('ln'));
    const after = own.filter((t) => outside(t) && t.name.includes('ln'));
    for (const t of before) tensors.push(resized(t, t.name, state, normal));
    for (let layer = 0; layer < layersOf[stack]; layer++) {
      for (const t of block0) {
        const name = t.name.replace(`${stack}.blocks.0.`, `${stack}.blocks.${layer}.`);
        tensors.push(resized(t, name, state, normal));
      }
    }
    for (const t of after) tensors.push(resized(t, t.name, state, normal));
  }
  const heads = state / 64;
  return {
    ...tiny,
    hparams: {
      ...tiny.hparams,
      n_audio_state: state,
      n_audio_head: heads,
      n_audio_layer: layersOf.encoder,
      n_text_state: state,
      n_text_head: heads,
      n_text_layer: layersOf.decoder,
    },
    tensors,
  };
}
