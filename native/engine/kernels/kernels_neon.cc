// The AArch64 NEON kernels: simd_kernels.inl and simd_attention.inl
// instantiated with 4-float vectors (simd_neon.h). Tiles are sized for the 32
// vector registers: GEMM 12 rows x 8 columns (24 accumulators, 2 weight
// vectors, a broadcast); attention scores 6 rows x 16 keys (24 accumulators
// and 4 key vectors), P·V 6 rows x 16 dims. NEON is baseline on AArch64, so
// this file needs no target flags and is only built for arm64 targets.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "engine/kernels/kernels_internal.h"
#include "engine/kernels/simd_neon.h"

namespace wn {
namespace kernels {
namespace {

constexpr int kMr = 12;
constexpr int kQuantRows = 8;  // 16 accumulators, then the scales and unpacking (32 registers)
// Rows apart (linear_rows) that share a panel's loads while each keeps the
// four k streams of a one-row tile: 8 accumulators per row, so 3 rows fit.
constexpr int kApartRows = 3;
constexpr int kApartQuantRows = 2;  // the quantized tile's scales and unpacking take more
constexpr int kScoreRows = 6;
constexpr int kValueRows = 6;

#include "engine/kernels/simd_kernels.inl"
// After simd_kernels.inl, whose exp_v it uses.
#include "engine/kernels/simd_attention.inl"
#include "engine/kernels/simd_table.inl"

}  // namespace

const IsaKernels& neon_kernels() {
  return make_table();
}

}  // namespace kernels
}  // namespace wn
