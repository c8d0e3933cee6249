// The AVX-512 (F/BW/VL/DQ) kernels: simd_kernels.inl and simd_attention.inl
// instantiated with 16-float vectors. Tiles: GEMM 12 rows x 32 columns (24 zmm accumulators of
// 32, leaving room for the two weight vectors and broadcasts); attention
// scores 6 rows x 64 keys (24 accumulators: 4 key loads and 6 broadcasts per
// 24 FMAs, where 4 rows measured ~5% slower on an Intel Xeon), P·V 6 rows x 64
// dims. Built with AVX-512 flags;
// only called when isa_supported(Isa::kAvx512).
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "engine/kernels/kernels_internal.h"

// GCC 12's own avx512fintrin.h trips -Wmaybe-uninitialized (its reductions
// start from _mm512_undefined_ps); the warning is about the header, not us.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include "engine/kernels/simd_avx512.h"

namespace wn {
namespace kernels {
namespace {

constexpr int kMr = 12;
constexpr int kQuantRows = 8;  // 16 accumulators, then the scales and unpacking (32 zmm)
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

const IsaKernels& avx512_kernels() {
  return make_table();
}

}  // namespace kernels
}  // namespace wn
