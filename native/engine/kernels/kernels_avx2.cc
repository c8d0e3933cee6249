// The AVX2 + FMA + F16C kernels: simd_kernels.inl and simd_attention.inl instantiated with 8-float
// vectors. Tiles: GEMM 6 rows x 16 columns (12 ymm accumulators of 16);
// attention scores 3 rows x 32 keys (12 accumulators; the key vectors can be FMA memory operands),
// P·V 3 rows x 32 dims. Built with -mavx2 -mfma -mf16c; only called when isa_supported(Isa::kAvx2).
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "engine/kernels/kernels_internal.h"
#include "engine/kernels/simd_avx2.h"

namespace wn {
namespace kernels {
namespace {

constexpr int kMr = 6;
constexpr int kQuantRows = 3;  // 12 accumulators, then the scales and unpacking (16 ymm)
// Rows apart (linear_rows) that share a panel's loads while each keeps the
// four k streams of a one-row tile: 8 accumulators per row, so one row at a time on 16 registers.
constexpr int kApartRows = 1;
constexpr int kApartQuantRows = 1;  // the quantized tile's scales and unpacking take more
constexpr int kScoreRows = 3;
constexpr int kValueRows = 3;

#include "engine/kernels/simd_kernels.inl"
// After simd_kernels.inl, whose exp_v it uses.
#include "engine/kernels/simd_attention.inl"
#include "engine/kernels/simd_table.inl"

}  // namespace

const IsaKernels& avx2_kernels() {
  return make_table();
}

}  // namespace kernels
}  // namespace wn
