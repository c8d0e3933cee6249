// Block-quantized weights: ggml's q4_0, q4_1, q5_0, q5_1 and q8_0, the types
// whisper.cpp's quantized model files hold. This header and quant.cc are the
// one statement in the engine of what their bytes mean, as scalar reference
// code; the SIMD kernels (simd_kernels.inl) unpack the same bytes with vector
// instructions and are tested against these functions.
//
// Every type cuts a row of k weights into blocks of 32 consecutive weights.
// A block, as stored in a file (little-endian, no padding, no alignment):
//
//   type  bytes  layout                          weight e (0..31)
//   q8_0   34    d, qs[32] (int8)                qs[e] * d
//   q4_0   18    d, qs[16]                       (nib(e) - 8) * d
//   q4_1   20    d, m, qs[16]                    nib(e) * d + m
//   q5_0   22    d, qh[4], qs[16]                ((nib(e) | hb(e) << 4) - 16) * d
//   q5_1   24    d, m, qh[4], qs[16]             (nib(e) | hb(e) << 4) * d + m
//
// d and m are f16. nib(e) = qs[e] & 15 for e < 16 and qs[e - 16] >> 4 for
// e >= 16: the low nibbles hold the first half of the block, the high nibbles
// the second. hb(e) = bit e of qh read as a little-endian uint32. (As ggml's
// dequantize_row_q*_* functions define them.)
//
// Exactness: the integer part has at most 8 significant bits and d at most 11,
// so every q * d is exact in f32; only the + m of the _1 types rounds, once,
// whether computed as a multiply and an add or as one fused multiply-add. All
// kernel paths therefore compute with bit-identical weights; they differ from
// one another only in the order of their sums.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/format/ggml_file.h"

namespace wn {
namespace kernels {

constexpr int kQuantBlock = 32;  // weights per block, for every type here

// True for the block-quantized types this build runs: q4_0, q4_1, q5_0, q5_1, q8_0.
bool is_block_quantized(GgmlType type);

// Bytes of one block of `type` (0 for a type that is not block-quantized here).
size_t quant_block_bytes(GgmlType type);

// The reference dequantizer: n weights (a whole number of blocks) of `type`
// at src, in the file layout above, widened to f32 into out.
void dequantize_row(GgmlType type, const void* src, int64_t n, float* out);

// Quantized panels: the layout a quantized kernels::PackedWeights keeps (see
// kernels_internal.h for the f16/f32 panels it parallels). Columns
// [p*nr, p*nr + nr) of W [n][k] are cut along k into tiles of 32 k rows; tile
// t starts at byte t * nr * quant_block_bytes(type), so a panel holds exactly
// the bytes of its nr columns' file blocks, regrouped so that one k row of a
// tile is one contiguous run over the nr columns (what a SIMD micro-kernel
// loads per k step):
//
//   d[nr] (f16, column c at index c), then m[nr] (f16; _1 types only), then
//   32 rows of quants, row kk holding weight kk of the tile for every column:
//     q8_0:  nr int8, column c at byte c;
//     q4/q5: nr/2 bytes, byte c holding column c in its low nibble and
//            column c + nr/2 in its high nibble;
//   q5 types then add 32 rows of nr/8 bytes of high bits, column c at bit c
//   of the row (little-endian bit order).
//
// Columns past n (the last panel) have d = m = 0 and quants 0. nr must be a
// multiple of 8 and k of 32.
size_t quant_panel_bytes(GgmlType type, int k, int nr);

// Panel p of src, n rows of k weights in the file layout, into dst
// (quant_panel_bytes(type, k, nr) bytes).
void pack_quant_panel(GgmlType type, const void* src, int n, int k, int nr, int p, void* dst);

// The reference dequantizer of one panel: out[kk * nr + c] = weight (column c, k index kk),
// k * nr floats, the layout of an f32 panel.
void dequantize_quant_panel(GgmlType type, const void* panel, int k, int nr, float* out);
// Column c of one panel (one row of W, k floats): the embedding lookup.
void dequantize_quant_panel_column(GgmlType type, const void* panel, int k, int nr, int c,
                                   float* out);

}  // namespace kernels
}  // namespace wn
