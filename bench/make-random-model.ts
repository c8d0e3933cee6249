// Writes a random-weight Whisper model of another size in the real ggml layout,
// for measuring speed and memory where no trained file can be downloaded:
//
//   npx vite-node bench/make-random-model.ts -- base.en /tmp/ggml-base.en-random.bin
//   npm run bench -- --model /tmp/ggml-base.en-random.bin --quick
//
// Sizes: tiny, base, small, medium, large (large-v1/v2's shape) and turbo
// (large-v3-turbo's), each with .en: the English vocabulary is the one at hand.
//
// It starts from ../shared/models/ggml-tiny.en-random.bin (WHISPER_SHARED
// overrides ../shared); test/helpers/random-model.ts says how the larger
// model is made. Speed depends on the shapes alone, so the file runs at the
// real model's speed; its text is meaningless, and how many tokens it decodes
// per window is not the real model's.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { readGgml, writeGgml } from '../test/helpers/ggml-writer.js';
import { SIZES, randomModel } from '../test/helpers/random-model.js';

function main(): void {
  const [size, out] = process.argv.slice(2).filter((a) => a !== '--');
  if (size === undefined || SIZES[size.replace(/\.en$/, '')] === undefined || out === undefined) {
    process.stderr.write(
      `usage: npx vite-node bench/make-random-model.ts -- <${Object.keys(SIZES).join('|')}>.en OUT.bin\n`,
    );
    process.exit(2);
  }
  if (!size.endsWith('.en')) {
    throw new Error(
      'make-random-model: only the English-only vocabulary is at hand (use a .en size)',
    );
  }
  const shared = process.env.WHISPER_SHARED ?? path.join(__dirname, '..', '..', 'shared');
  const tiny = readGgml(readFileSync(path.join(shared, 'models', 'ggml-tiny.en-random.bin')));
  const model = randomModel(tiny, size);
  // In pieces: one write() takes at most 2 GiB, and large's file is 3.1 GB.
  const bytes = writeGgml(model);
  const fd = openSync(out, 'w');
  try {
    for (let at = 0; at < bytes.byteLength;) {
      at += writeSync(fd, bytes, at, Math.min(1 << 30, bytes.byteLength - at));
    }
  } finally {
    closeSync(fd);
  }
  const { n_audio_state: state, n_audio_layer: layers, n_text_layer: textLayers } = model.hparams;
  process.stdout.write(
    `${out}: ${size} (${state} wide, ${layers} + ${textLayers} layers), ${model.tensors.length} tensors\n`,
  );
}

main();
