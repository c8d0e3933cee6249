// libFuzzer target: the zlib size estimator behind the compression-ratio test
// (wn::estimate_zlib_size, wn::compression_ratio) on arbitrary bytes. The
// estimate must lie within what any zlib stream of the input can take:
//   - at most the stored size, n + 5 per stored block of up to 65535 bytes (at
//     least one) + 6 (header and Adler-32), the bound test_decode_compression.cc's
//     long_input_is_bounded_by_the_stored_size checks;
//   - at least 8 bytes (len(zlib.compress(b""))), and at least 6 + the bytes
//     of the fewest bits a Huffman block can take: 3 of header, one per symbol
//     (a literal or a match covers at most 258 bytes), one for end-of-block;
// and compression_ratio must be n / estimate (0 for no bytes). A broken
// bound aborts; so does a crash, a sanitizer report or a hang.
//
// An input whose first byte is 0xFF also runs a long input built from it, to
// reach the multi-block stored bound (past 65535 bytes): byte 1's low two bits
// count whole 65535-byte blocks, bytes 2-3 (little-endian) add to the length,
// the rest is tiled over it, XORed with a noise stream when bit 2 of byte 1 is
// set (incompressible: the stored bound itself). A long input takes 15-60 ms
// under ASan, a short one well under 1: and each long input finds new
// features (its counts), so they soon filled most of the corpus and the run
// made 60 inputs a second. So only one in 64 of them runs long, picked by a
// hash of the input (an input always runs the same way).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/decode/compression_ratio.h"

namespace {

void check(std::string_view data) {
  const size_t n = data.size();
  const size_t size = wn::estimate_zlib_size(data);
  const size_t blocks = std::max<size_t>(1, (n + 65534) / 65535);
  const size_t upper = n + 5 * blocks + 6;
  const size_t min_bits = 3 + (n + 257) / 258 + 1;
  const size_t lower = std::max<size_t>(8, 6 + (min_bits + 7) / 8);
  if (size < lower || size > upper) {
    std::fprintf(stderr,
                 "fuzz_decode_compression: %zu bytes estimated at %zu, outside [%zu, %zu]\n", n,
                 size, lower, upper);
    std::abort();
  }
  const double ratio = wn::compression_ratio(data);
  const double expected = n == 0 ? 0.0 : static_cast<double>(n) / static_cast<double>(size);
  if (ratio != expected) {
    std::fprintf(stderr, "fuzz_decode_compression: ratio %.17g for %zu bytes, expected %.17g\n",
                 ratio, n, expected);
    std::abort();
  }
}

bool runs_long(const uint8_t* data, size_t size) {
  if (size < 4 || data[0] != 0xFF) return false;
  uint32_t h = 2166136261u;  // FNV-1a, then murmur3's finalizer
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 16777619u;
  h = (h ^ h >> 16) * 0x85EBCA6Bu;
  h = (h ^ h >> 13) * 0xC2B2AE35u;
  return ((h ^ h >> 16) & 63) == 0;
}

std::string long_input(const uint8_t* data, size_t size) {
  const size_t length = 65535 * size_t(data[1] & 3) + size_t(data[2] | data[3] << 8);
  const bool noise = (data[1] & 4) != 0;
  const uint8_t* tile = data + 4;
  const size_t tile_size = size - 4;
  std::string out(length, '\0');
  uint32_t x = 0x9E3779B9u;
  for (size_t i = 0; i < length; ++i) {
    uint8_t b = tile_size > 0 ? tile[i % tile_size] : 0;
    if (noise) {
      x = x * 1664525u + 1013904223u;
      b ^= static_cast<uint8_t>(x >> 24);
    }
    out[i] = static_cast<char>(b);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check(std::string_view(reinterpret_cast<const char*>(data), size));
  if (runs_long(data, size)) check(long_input(data, size));
  return 0;
}
