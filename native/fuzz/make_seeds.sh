#!/usr/bin/env bash
# Seed corpora for the fuzz targets that need no model:
#   native/fuzz/make_seeds.sh build-fuzz/seeds
# writes <dir>/fuzz_decode_tokenizer/, <dir>/fuzz_decode_compression/ and
# <dir>/fuzz_audio_pcm/, a few small files each (each target's opening comment
# describes its input).
set -euo pipefail
dir=${1:?usage: make_seeds.sh <corpus dir>}

seed() { # seed <target> <name> <printf format>
  mkdir -p "$dir/$1"
  printf "$3" >"$dir/$1/$2"
}

# Text: words, punctuation, digits, whitespace runs, contractions, Latin-1,
# curly quotes, symbols (♪, €), CJK and emoji; and bytes that are not UTF-8.
t=fuzz_decode_tokenizer
seed $t speech ' And so my fellow Americans, ask not what your country can do for you.'
seed $t spaces "It's 3:45 -- isn't it?  Two  spaces,\ttabs\nand newlines.  "
seed $t unicode ' caf\xc3\xa9 na\xc3\xafve \xe2\x99\xaa la la \xe2\x99\xaa \xe3\x80\x8cquoted\xe3\x80\x8d \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd \xe2\x82\xac42'
seed $t symbols ' (inaudible) [MUSIC] <<loud>> ((( ))) \xe2\x80\x99\xe2\x80\x9d \xe2\x80\x9c \xe2\x80\x94 100%% #1'
seed $t invalid 'abc\xff\xfe\x80 \xed\xa0\x80 \xe2\x99 \xf4\x90\x80\x80 \xc0\xaf\x00z'

# Bytes to estimate. A first byte 0xFF may build a long input (see the target);
# these two do: 65535 + 2 bytes tiled, 2 * 65535 + 11 bytes of noise.
t=fuzz_decode_compression
seed $t empty ''
seed $t speech ' And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.'
seed $t loop ' Thank you. Thank you. Thank you. Thank you. Thank you. Thank you. Thank you. Thank you.'
seed $t long-tiled '\xff\x01\x02\x00 Bye!'
seed $t long-noise '\xff\x06\x0b\x00noise'

# PCM: codec, flags, channels - 1 (LE16), first frame (LE16), frame count
# (LE16), then the samples.
t=fuzz_audio_pcm
seed $t u8-mono '\x00\x00\x00\x00\x00\x00\xff\xff\x00\x40\x80\xff'
seed $t s16-stereo '\x01\x00\x01\x00\x00\x00\xff\xff\x00\x80\xff\x7f\x00\x40\x01\x00'
seed $t s24-3ch '\x02\x00\x02\x00\x01\x00\xff\xff\x00\x00\x80\xff\xff\x7f\x00\x00\x40\x01\x00\x00\x02\x00\x00\x03\x00\x00\x04\x00\x00\x05'
seed $t s32-mono '\x03\x00\x00\x00\x00\x00\xff\xff\x00\x00\x00\x80\xff\xff\xff\x7f\x00\x00\x00\x40'
seed $t f32-stereo '\x04\x00\x01\x00\x00\x00\xff\xff\x00\x00\x80\x3f\x00\x00\xc0\x7f\x00\x00\x80\xff\x00\x00\x00\x80'
seed $t f64-mono '\x05\x00\x00\x00\x00\x00\xff\xff\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\xf8\x7f'
seed $t alaw-5ch '\x06\x00\x04\x00\x00\x00\xff\xff\xd5\x55\x2a\xaa\x80\x00\x7f\xff\x01\x81'
seed $t mulaw-mono '\x07\x00\x00\x00\x00\x00\xff\xff\xff\x7f\x00\x80\x01'
seed $t raw-range-past-end '\x01\x01\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\x7f\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00'
seed $t raw-format-bad '\xff\x02\x00\x00\x00\x00\x01\x00\x00\x00'
