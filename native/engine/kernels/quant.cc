// The reference dequantizers and the packing of quantized panels (quant.h).
// Plain scalar code on purpose: this is the definition the SIMD kernels are
// checked against, and the packing runs once per weight at load.
#include "engine/kernels/quant.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/f16.h"

namespace wn {
namespace kernels {
namespace {

// Where the parts of a block lie and how its integers become weights.
struct BlockFormat {
  size_t bytes;  // per block of 32
  bool has_min;  // _1 types: weight = q * d + m
  int bits;      // 4, 5 or 8
  int offset;    // _0 types: weight = (q - offset) * d (q8_0's int8 needs none)
};

bool find_format(GgmlType type, BlockFormat* f) {
  switch (type) {
    case GgmlType::kQ4_0:
      *f = {18, false, 4, 8};
      return true;
    case GgmlType::kQ4_1:
      *f = {20, true, 4, 0};
      return true;
    case GgmlType::kQ5_0:
      *f = {22, false, 5, 16};
      return true;
    case GgmlType::kQ5_1:
      *f = {24, true, 5, 0};
      return true;
    case GgmlType::kQ8_0:
      *f = {34, false, 8, 0};
      return true;
    default:
      return false;
  }
}

BlockFormat format_of(GgmlType type, const char* caller) {
  BlockFormat f;
  if (!find_format(type, &f)) {
    // (kernels/ does not link the format module, whose table names the types.)
    throw Error(ErrorCode::kUnsupportedTensorType, std::string(caller) + ": ggml type " +
                                                       std::to_string((int)type) +
                                                       " is not one of the block-quantized types");
  }
  return f;
}

uint16_t read_u16(const uint8_t* p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

// One block taken apart: the integer of each weight before its offset, and
// the f16 bits of d and m (m = 0 for the _0 types).
struct Unpacked {
  uint16_t d, m;
  int q[kQuantBlock];  // q8_0: -128..127; q4: 0..15; q5: 0..31
};

Unpacked unpack_block(const BlockFormat& f, const uint8_t* block) {
  Unpacked u;
  u.d = read_u16(block);
  u.m = f.has_min ? read_u16(block + 2) : 0;
  const uint8_t* p = block + (f.has_min ? 4 : 2);
  if (f.bits == 8) {
    for (int e = 0; e < kQuantBlock; ++e) u.q[e] = (int8_t)p[e];
    return u;
  }
  uint32_t qh = 0;
  if (f.bits == 5) {
    qh = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    p += 4;
  }
  for (int e = 0; e < kQuantBlock / 2; ++e) {
    u.q[e] = (p[e] & 15) | (int)((qh >> e) & 1) << 4;
    u.q[e + kQuantBlock / 2] = (p[e] >> 4) | (int)((qh >> (e + kQuantBlock / 2)) & 1) << 4;
  }
  return u;
}

float weight(const BlockFormat& f, int q, float d, float m) {
  return f.has_min ? (float)q * d + m : (float)(q - f.offset) * d;
}

// Byte offsets of the parts of one panel tile (quant.h).
struct TileLayout {
  size_t bytes;      // the whole tile
  size_t quants;     // first row of quants
  size_t quant_row;  // bytes per row of quants
  size_t high;       // first row of high bits (q5)
  size_t high_row;   // bytes per row of high bits
};

TileLayout tile_layout(const BlockFormat& f, int nr) {
  TileLayout t;
  t.bytes = f.bytes * nr;
  t.quants = (size_t)(f.has_min ? 4 : 2) * nr;
  t.quant_row = f.bits == 8 ? (size_t)nr : (size_t)nr / 2;
  t.high = t.quants + kQuantBlock * t.quant_row;
  t.high_row = (size_t)nr / 8;
  return t;
}

void check_panel_shape(int k, int nr, const char* caller) {
  if (k <= 0 || k % kQuantBlock != 0 || nr <= 0 || nr % 8 != 0) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(caller) + ": expected k a multiple of " + std::to_string(kQuantBlock) +
                    " and nr a multiple of 8, got k=" + std::to_string(k) +
                    " nr=" + std::to_string(nr));
  }
}

}  // namespace

bool is_block_quantized(GgmlType type) {
  BlockFormat f;
  return find_format(type, &f);
}

size_t quant_block_bytes(GgmlType type) {
  BlockFormat f;
  return find_format(type, &f) ? f.bytes : 0;
}

void dequantize_row(GgmlType type, const void* src, int64_t n, float* out) {
  const BlockFormat f = format_of(type, "dequantize_row");
  if (n < 0 || n % kQuantBlock != 0) {
    throw Error(ErrorCode::kInvalidArgument, "dequantize_row: " + std::to_string(n) +
                                                 " weights are not whole blocks of " +
                                                 std::to_string(kQuantBlock));
  }
  const uint8_t* block = static_cast<const uint8_t*>(src);
  for (int64_t b = 0; b < n / kQuantBlock; ++b, block += f.bytes) {
    const Unpacked u = unpack_block(f, block);
    const float d = f16_to_f32(u.d), m = f16_to_f32(u.m);
    float* o = out + b * kQuantBlock;
    for (int e = 0; e < kQuantBlock; ++e) o[e] = weight(f, u.q[e], d, m);
  }
}

size_t quant_panel_bytes(GgmlType type, int k, int nr) {
  const BlockFormat f = format_of(type, "quant_panel_bytes");
  check_panel_shape(k, nr, "quant_panel_bytes");
  return (size_t)(k / kQuantBlock) * f.bytes * nr;
}

// Panel packing reads each file block once and writes its parts straight to
// their rows (no unpacking into integers): it runs once per weight at load,
// for the token embedding too, so it is kept to a few byte operations per
// weight.
void pack_quant_panel(GgmlType type, const void* src, int n, int k, int nr, int p, void* dst) {
  const BlockFormat f = format_of(type, "pack_quant_panel");
  check_panel_shape(k, nr, "pack_quant_panel");
  const TileLayout tl = tile_layout(f, nr);
  const int tiles = k / kQuantBlock;
  const size_t row_bytes = (size_t)tiles * f.bytes;  // one row of W in the file layout
  const uint8_t* in = static_cast<const uint8_t*>(src);
  uint8_t* out = static_cast<uint8_t*>(dst);
  std::memset(out, 0, tiles * tl.bytes);  // padding columns, and the bits OR-ed in below
  const int half = nr / 2;
  const int columns = (int)std::min<int64_t>(nr, (int64_t)n - (int64_t)p * nr);
  for (int c = 0; c < columns; ++c) {
    const uint8_t* row = in + ((int64_t)p * nr + c) * row_bytes;
    const int byte = c % half, shift = c < half ? 0 : 4;  // where column c's nibbles go
    for (int t = 0; t < tiles; ++t) {
      const uint8_t* block = row + t * f.bytes;
      uint8_t* tile = out + t * tl.bytes;
      tile[2 * c] = block[0];  // d, as stored
      tile[2 * c + 1] = block[1];
      if (f.has_min) {
        tile[2 * (nr + c)] = block[2];
        tile[2 * (nr + c) + 1] = block[3];
      }
      const uint8_t* part = block + (f.has_min ? 4 : 2);
      uint8_t* quants = tile + tl.quants;
      if (f.bits == 8) {
        for (int kk = 0; kk < kQuantBlock; ++kk) quants[kk * tl.quant_row + c] = part[kk];
        continue;
      }
      if (f.bits == 5) {  // branch-free: the bits are random, a branch mispredicts half of them
        uint8_t* high = tile + tl.high + c / 8;
        const uint32_t qh = (uint32_t)part[0] | (uint32_t)part[1] << 8 | (uint32_t)part[2] << 16 |
                            (uint32_t)part[3] << 24;
        for (int kk = 0; kk < kQuantBlock; ++kk) {
          high[kk * tl.high_row] |= (uint8_t)(((qh >> kk) & 1) << (c % 8));
        }
        part += 4;
      }
      for (int j = 0; j < kQuantBlock / 2; ++j) {
        quants[j * tl.quant_row + byte] |= (uint8_t)((part[j] & 15) << shift);
        quants[(j + kQuantBlock / 2) * tl.quant_row + byte] |= (uint8_t)((part[j] >> 4) << shift);
      }
    }
  }
}

void dequantize_quant_panel_column(GgmlType type, const void* panel, int k, int nr, int c,
                                   float* out) {
  const BlockFormat f = format_of(type, "dequantize_quant_panel_column");
  check_panel_shape(k, nr, "dequantize_quant_panel_column");
  if (c < 0 || c >= nr) {
    throw Error(ErrorCode::kInvalidArgument, "dequantize_quant_panel_column: column " +
                                                 std::to_string(c) + " outside [0, " +
                                                 std::to_string(nr) + ")");
  }
  const TileLayout tl = tile_layout(f, nr);
  const uint8_t* in = static_cast<const uint8_t*>(panel);
  const int half = nr / 2;
  for (int t = 0; t < k / kQuantBlock; ++t) {
    const uint8_t* tile = in + t * tl.bytes;
    const float d = f16_to_f32(read_u16(tile + 2 * c));
    const float m = f.has_min ? f16_to_f32(read_u16(tile + 2 * (nr + c))) : 0.0f;
    for (int kk = 0; kk < kQuantBlock; ++kk) {
      const uint8_t* row = tile + tl.quants + kk * tl.quant_row;
      int q;
      if (f.bits == 8) {
        q = (int8_t)row[c];
      } else {
        q = c < half ? row[c] & 15 : row[c - half] >> 4;
        if (f.bits == 5) q |= ((tile[tl.high + kk * tl.high_row + c / 8] >> (c % 8)) & 1) << 4;
      }
      out[t * kQuantBlock + kk] = weight(f, q, d, m);
    }
  }
}

void dequantize_quant_panel(GgmlType type, const void* panel, int k, int nr, float* out) {
  std::vector<float> column((size_t)k);
  for (int c = 0; c < nr; ++c) {
    dequantize_quant_panel_column(type, panel, k, nr, c, column.data());
    for (int kk = 0; kk < k; ++kk) out[(size_t)kk * nr + c] = column[kk];
  }
}

}  // namespace kernels
}  // namespace wn
