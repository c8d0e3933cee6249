// PackedWeights: a Linear layer's W [n][k] rearranged once at load into the
// panel layout of kernels_internal.h, in the panel width of the chosen ISA.
// f16 weights stay f16 (half the bytes to stream); f32 stay f32; quantized
// blocks are regrouped into quantized panels (quant.h), as many bytes as the
// file holds.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#elif defined(_WIN32)
#include "engine/core/windows_api.h"
#endif
#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#elif defined(__ARM_NEON) || defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "engine/core/error.h"
#include "engine/core/f16.h"
#include "engine/kernels/kernels_internal.h"
#include "engine/kernels/quant.h"

namespace wn {
namespace kernels {

#if defined(__linux__)
#define WN_KERNELS_MMAP 1
// Slabs: a bump allocator over 64 MB huge-page mappings, shared by every model
// in the process (only pages touched count as resident, so the big mapping
// costs nothing it does not hold). A freed block's whole pages go back to the
// OS at once, so a model that is closed releases its memory even while another
// model's blocks keep their slab mapped; the slab is unmapped with its last
// block. Cost: about one partly used huge page per slab.
struct WeightSlab {
  unsigned char* base = nullptr;
  size_t used = 0;
  int live = 0;  // blocks not yet freed
};

namespace {

constexpr size_t kHugePage = size_t{2} << 20;
// At or above this a block gets a huge-page mapping of its own (the token
// embedding, and big layers of the larger models).
constexpr size_t kHugeThreshold = size_t{4} << 20;
// Blocks in [kSlabMin, kHugeThreshold) (the layers of the small models: 0.3 to
// 1.2 MB each for tiny) share huge-page slabs. On 4 KiB pages the decoder,
// which streams every layer's weights once per token, spends a measurable
// share of its time on TLB misses (page walks are costly in a VM: the decoder
// measured 4-6 % faster with its layers on huge pages). Below kSlabMin the heap.
constexpr size_t kSlabMin = size_t{64} << 10;
constexpr size_t kSlabBytes = size_t{64} << 20;
constexpr size_t kSmallPage = 4096;

// A mapping of `bytes` that starts on a huge-page boundary, with MADV_HUGEPAGE;
// null when the system has no room.
void* map_huge_aligned(size_t bytes) {
  void* raw =
      mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  // Keep only the huge-page aligned part of the over-sized mapping.
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const size_t tail = start + bytes + kHugePage - (aligned + bytes);
  if (tail) munmap(reinterpret_cast<void*>(aligned + bytes), tail);
  madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);  // advisory only
  return reinterpret_cast<void*>(aligned);
}

std::mutex slab_mutex;
WeightSlab* filling = nullptr;  // the slab new blocks come from, if any

unsigned char* slab_alloc(size_t n, WeightSlab** owner) {
  const size_t rounded = (n + 63) / 64 * 64;
  std::lock_guard<std::mutex> lock(slab_mutex);
  if (filling == nullptr || filling->used + rounded > kSlabBytes) {
    void* base = map_huge_aligned(kSlabBytes);
    if (base == nullptr) return nullptr;
    // The slab that was filling is now owned by its live blocks alone (it
    // has some: an empty one is unmapped on its last free).
    filling = new WeightSlab{static_cast<unsigned char*>(base), 0, 0};
  }
  unsigned char* p = filling->base + filling->used;
  filling->used += rounded;
  filling->live += 1;
  *owner = filling;
  return p;
}

void slab_free(WeightSlab* slab, unsigned char* p, size_t n) {
  std::lock_guard<std::mutex> lock(slab_mutex);
  if (--slab->live > 0) {
    // The pages wholly inside the block (a huge page under it is split).
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kSmallPage - 1) & ~(kSmallPage - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(kSmallPage - 1);
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
    return;
  }
  if (slab == filling) filling = nullptr;
  munmap(slab->base, kSlabBytes);
  delete slab;
}

}  // namespace
#endif

#ifdef _WIN32
// Blocks of at least this many bytes are committed with VirtualAlloc and
// released with VirtualFree: a closed model's weights go back to the OS. From
// the heap, blocks below its direct-allocation threshold (~0.5-1 MB: tiny's
// layers) stay in the heap's free lists when freed; under Wine that kept
// ~10 MB of 77 resident after a tiny model was closed.
constexpr size_t kVirtualAllocMin = size_t{64} << 10;
#endif

void AlignedFree::operator()(void* p) const {
  if (borrowed) return;
#ifdef _WIN32
  if (mapped) {
    VirtualFree(p, 0, MEM_RELEASE);
    return;
  }
#endif
#ifdef WN_KERNELS_MMAP
  if (slab != nullptr) {
    slab_free(slab, static_cast<unsigned char*>(p), mapped);
    return;
  }
  if (mapped) {
    munmap(p, mapped);
    return;
  }
#endif
  ::operator delete[](p, std::align_val_t(64));
}

AlignedBytes aligned_bytes(size_t n) {
#ifdef WN_KERNELS_MMAP
  if (n >= kHugeThreshold && n < SIZE_MAX / 2) {
    const size_t rounded = (n + kHugePage - 1) / kHugePage * kHugePage;
    if (void* p = map_huge_aligned(rounded)) {
      return AlignedBytes(static_cast<unsigned char*>(p), AlignedFree{rounded, nullptr});
    }
    // Fall through: the heap may still have room.
  } else if (n >= kSlabMin) {
    WeightSlab* slab = nullptr;
    if (unsigned char* p = slab_alloc(n, &slab)) return AlignedBytes(p, AlignedFree{n, slab});
  }
#elif defined(_WIN32)
  if (n >= kVirtualAllocMin && n < SIZE_MAX / 2) {
    // Page aligned (64 KB aligned in fact), zero filled, committed as touched.
    if (void* p = VirtualAlloc(nullptr, n, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE)) {
      return AlignedBytes(static_cast<unsigned char*>(p), AlignedFree{n, nullptr});
    }
    // Fall through: the heap may still have room.
  }
#endif
  try {
    return AlignedBytes(static_cast<unsigned char*>(::operator new[](n, std::align_val_t(64))));
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kOutOfMemory,
                "kernels: cannot allocate " + std::to_string(n) + " bytes");
  }
}

namespace {

// Columns [jj, jj + 8) x k steps [kk, kk + 8) of an f16 panel from 8 source
// rows (row i at rows + i * row_bytes, starting at k step kk): out row e (at
// out + e * nr) gets column e of the 8 rows. One 8x8 transpose of 16-bit
// values in registers: 8 loads and 8 stores of 16 bytes for 64 values.
#if defined(__SSE2__) || defined(_M_X64)
#define WN_TRANSPOSE_8X8 1
inline void transpose_f16_8x8(const unsigned char* rows, size_t row_bytes, uint16_t* out,
                              size_t nr) {
  __m128i r[8];
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows + i * row_bytes));
  }
  // Pairs of rows interleaved, then pairs of pairs, then halves.
  const __m128i a0 = _mm_unpacklo_epi16(r[0], r[1]), a1 = _mm_unpackhi_epi16(r[0], r[1]);
  const __m128i a2 = _mm_unpacklo_epi16(r[2], r[3]), a3 = _mm_unpackhi_epi16(r[2], r[3]);
  const __m128i a4 = _mm_unpacklo_epi16(r[4], r[5]), a5 = _mm_unpackhi_epi16(r[4], r[5]);
  const __m128i a6 = _mm_unpacklo_epi16(r[6], r[7]), a7 = _mm_unpackhi_epi16(r[6], r[7]);
  const __m128i b0 = _mm_unpacklo_epi32(a0, a2), b1 = _mm_unpackhi_epi32(a0, a2);
  const __m128i b2 = _mm_unpacklo_epi32(a1, a3), b3 = _mm_unpackhi_epi32(a1, a3);
  const __m128i b4 = _mm_unpacklo_epi32(a4, a6), b5 = _mm_unpackhi_epi32(a4, a6);
  const __m128i b6 = _mm_unpacklo_epi32(a5, a7), b7 = _mm_unpackhi_epi32(a5, a7);
  const __m128i t[8] = {_mm_unpacklo_epi64(b0, b4), _mm_unpackhi_epi64(b0, b4),
                        _mm_unpacklo_epi64(b1, b5), _mm_unpackhi_epi64(b1, b5),
                        _mm_unpacklo_epi64(b2, b6), _mm_unpackhi_epi64(b2, b6),
                        _mm_unpacklo_epi64(b3, b7), _mm_unpackhi_epi64(b3, b7)};
  for (int e = 0; e < 8; ++e) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + e * nr), t[e]);
}
#elif defined(__ARM_NEON) || defined(__aarch64__)
#define WN_TRANSPOSE_8X8 1
inline void transpose_f16_8x8(const unsigned char* rows, size_t row_bytes, uint16_t* out,
                              size_t nr) {
  uint16x8_t r[8];
  for (int i = 0; i < 8; ++i) {
    r[i] = vreinterpretq_u16_u8(vld1q_u8(rows + i * row_bytes));  // any alignment
  }
  // 16-bit pairs, then 32-bit pairs: u*.val[0] holds columns c and c + 4 of
  // four rows, low and high half; then the halves of rows 0-3 and 4-7 meet.
  const uint16x8x2_t t01 = vtrnq_u16(r[0], r[1]), t23 = vtrnq_u16(r[2], r[3]);
  const uint16x8x2_t t45 = vtrnq_u16(r[4], r[5]), t67 = vtrnq_u16(r[6], r[7]);
  const uint32x4x2_t u0 =
      vtrnq_u32(vreinterpretq_u32_u16(t01.val[0]), vreinterpretq_u32_u16(t23.val[0]));
  const uint32x4x2_t u1 =
      vtrnq_u32(vreinterpretq_u32_u16(t01.val[1]), vreinterpretq_u32_u16(t23.val[1]));
  const uint32x4x2_t u2 =
      vtrnq_u32(vreinterpretq_u32_u16(t45.val[0]), vreinterpretq_u32_u16(t67.val[0]));
  const uint32x4x2_t u3 =
      vtrnq_u32(vreinterpretq_u32_u16(t45.val[1]), vreinterpretq_u32_u16(t67.val[1]));
  // Column c of rows 0-3 from u(c % 2)[(c / 2) % 2] (low half for c < 4), rows
  // 4-7 likewise from u(2 + c % 2).
  const uint32x4_t lo[4] = {u0.val[0], u1.val[0], u0.val[1], u1.val[1]};
  const uint32x4_t hi[4] = {u2.val[0], u3.val[0], u2.val[1], u3.val[1]};
  for (int c = 0; c < 4; ++c) {
    vst1q_u8(reinterpret_cast<uint8_t*>(out + c * nr),
             vreinterpretq_u8_u32(vcombine_u32(vget_low_u32(lo[c]), vget_low_u32(hi[c]))));
    vst1q_u8(reinterpret_cast<uint8_t*>(out + (c + 4) * nr),
             vreinterpretq_u8_u32(vcombine_u32(vget_high_u32(lo[c]), vget_high_u32(hi[c]))));
  }
}
#endif

// The f16 panel: whole 8x8 tiles by transposes in registers (~3x the scalar
// loop's speed: it matters where a model packs its encoder weights for every
// window), the rest element by element.
void pack_f16_panel(const unsigned char* in, int64_t j0, int cols, int k, int nr, uint16_t* out) {
  const size_t row_bytes = (size_t)k * 2;
  int done_cols = 0;  // columns [0, done_cols) are packed for every k step
#ifdef WN_TRANSPOSE_8X8
  const int cols8 = cols / 8 * 8, k8 = k / 8 * 8;
  for (int kk = 0; kk < k8; kk += 8) {
    for (int jj = 0; jj < cols8; jj += 8) {
      transpose_f16_8x8(in + (size_t)(j0 + jj) * row_bytes + (size_t)kk * 2, row_bytes,
                        out + (size_t)kk * nr + jj, (size_t)nr);
    }
  }
  for (int jj = 0; jj < cols8; ++jj) {  // k steps past the last whole tile
    const unsigned char* row = in + (size_t)(j0 + jj) * row_bytes;
    for (int kk = k8; kk < k; ++kk)
      std::memcpy(out + (size_t)kk * nr + jj, row + (size_t)kk * 2, 2);
  }
  done_cols = cols8;
#endif
  for (int jj = done_cols; jj < cols; ++jj) {
    const unsigned char* row = in + (size_t)(j0 + jj) * row_bytes;
    uint16_t* o = out + jj;
    for (int kk = 0; kk < k; ++kk) std::memcpy(o + (size_t)kk * nr, row + (size_t)kk * 2, 2);
  }
}

}  // namespace

// Panel p of src [n][k]: dst[kk*nr + jj] = src[p*nr + jj][kk], zero past n.
// Source elements are loaded through memcpy or unaligned vector loads: ggml
// tensor records are not aligned to their element size. Only the last
// (partial) panel needs zeroing.
void pack_panel_any(const PackedWeights::Impl& w, const void* src, int p, void* dst) {
  if (is_block_quantized(w.type)) {
    pack_quant_panel(w.type, src, w.n, w.k, w.nr, p, dst);
    return;
  }
  const int nr = w.nr, k = w.k;
  const size_t es = w.elem_bytes();
  const int64_t j0 = (int64_t)p * nr;
  const int cols = (int)std::min<int64_t>(nr, w.n - j0);
  if (cols < nr) std::memset(dst, 0, (size_t)k * nr * es);
  const unsigned char* in = static_cast<const unsigned char*>(src);
  if (w.type == GgmlType::kF16) {
    pack_f16_panel(in, j0, cols, k, nr, static_cast<uint16_t*>(dst));
  } else {
    // Reads src row by row (sequential) and scatters with stride nr.
    for (int jj = 0; jj < cols; ++jj) {
      const unsigned char* row = in + (size_t)(j0 + jj) * k * 4;
      float* o = static_cast<float*>(dst) + jj;
      for (int kk = 0; kk < k; ++kk) std::memcpy(o + (size_t)kk * nr, row + (size_t)kk * 4, 4);
    }
  }
}

PackedWeights::PackedWeights() = default;
PackedWeights::~PackedWeights() = default;
PackedWeights::PackedWeights(PackedWeights&&) noexcept = default;
PackedWeights& PackedWeights::operator=(PackedWeights&&) noexcept = default;

namespace {

// Checks the arguments of allocate() and fills in the shape; no storage yet.
std::unique_ptr<PackedWeights::Impl> make_impl(Isa isa, GgmlType type, int n, int k) {
  const bool quantized = is_block_quantized(type);
  if (type != GgmlType::kF16 && type != GgmlType::kF32 && !quantized) {
    throw Error(ErrorCode::kUnsupportedTensorType,
                "PackedWeights::pack: expected f16, f32, q4_0, q4_1, q5_0, q5_1 or q8_0 weights, "
                "got ggml type " +
                    std::to_string((int)type));
  }
  if (n <= 0 || k <= 0 || (quantized && k % kQuantBlock != 0)) {
    throw Error(ErrorCode::kInvalidArgument,
                "PackedWeights::pack: expected n, k >= 1 (k a multiple of 32 when quantized), "
                "got n=" +
                    std::to_string(n) + " k=" + std::to_string(k));
  }
  const IsaKernels& kern = kernels_for(isa);
  std::unique_ptr<PackedWeights::Impl> impl(new PackedWeights::Impl);
  PackedWeights::Impl& m = *impl;
  m.isa = isa;
  m.type = type;
  m.n = n;
  m.k = k;
  m.nr = kern.nr;
  m.n_panels = (n + m.nr - 1) / m.nr;
  m.panel_bytes = quantized ? quant_panel_bytes(type, k, m.nr) : (size_t)k * m.nr * m.elem_bytes();
  m.data_bytes = m.panel_bytes * m.n_panels;
  return impl;
}

}  // namespace

PackedWeights PackedWeights::allocate(Isa isa, GgmlType type, int n, int k) {
  PackedWeights w;
  w.impl_ = make_impl(isa, type, n, k);
  w.impl_->data = aligned_bytes(w.impl_->data_bytes);
  w.impl_->base = w.impl_->data.get();
  return w;
}

size_t PackedWeights::storage_bytes(Isa isa, GgmlType type, int n, int k) {
  return make_impl(isa, type, n, k)->data_bytes;
}

PackedWeights PackedWeights::allocate_in(void* storage, Isa isa, GgmlType type, int n, int k) {
  if (storage == nullptr || reinterpret_cast<uintptr_t>(storage) % 64 != 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "PackedWeights::allocate_in: storage is null or not 64-byte aligned");
  }
  PackedWeights w;
  w.impl_ = make_impl(isa, type, n, k);
  w.impl_->data = AlignedBytes(static_cast<unsigned char*>(storage), AlignedFree{0, nullptr, true});
  w.impl_->base = w.impl_->data.get();
  return w;
}

void PackedWeights::pack_panels(const void* src, int p0, int p1) {
  if (!impl_ || src == nullptr || p0 < 0 || p1 > impl_->n_panels || p0 > p1) {
    throw Error(ErrorCode::kInvalidArgument,
                "PackedWeights::pack_panels: no weights, no source, "
                "or panels [" +
                    std::to_string(p0) + ", " + std::to_string(p1) + ") outside [0, " +
                    std::to_string(n_panels()) + ")");
  }
  Impl& m = *impl_;
  const IsaKernels& kern = kernels_for(m.isa);
  for (int p = p0; p < p1; ++p) {
    kern.pack_panel(m, src, p, m.data.get() + (size_t)p * m.panel_bytes);
  }
}

void PackedWeights::pack_panel_rows(const void* rows, int p0, int p1) {
  if (!impl_ || rows == nullptr || p0 < 0 || p1 > impl_->n_panels || p0 > p1) {
    throw Error(ErrorCode::kInvalidArgument,
                "PackedWeights::pack_panel_rows: no weights, no rows, or panels [" +
                    std::to_string(p0) + ", " + std::to_string(p1) + ") outside [0, " +
                    std::to_string(n_panels()) + ")");
  }
  Impl& m = *impl_;
  // Panels [p0, p1) are panels [0, p1 - p0) of the matrix made of their rows:
  // a shape of that matrix (no storage; pack_panel reads shapes only).
  Impl rows_matrix;
  rows_matrix.isa = m.isa;
  rows_matrix.type = m.type;
  rows_matrix.k = m.k;
  rows_matrix.nr = m.nr;
  rows_matrix.n = std::min(m.n - p0 * m.nr, (p1 - p0) * m.nr);
  rows_matrix.n_panels = p1 - p0;
  rows_matrix.panel_bytes = m.panel_bytes;
  const IsaKernels& kern = kernels_for(m.isa);
  for (int p = p0; p < p1; ++p) {
    kern.pack_panel(rows_matrix, rows, p - p0, m.data.get() + (size_t)p * m.panel_bytes);
  }
}

PackedWeights PackedWeights::pack(Isa isa, GgmlType type, const void* src, int n, int k) {
  if (src == nullptr) throw Error(ErrorCode::kInvalidArgument, "PackedWeights::pack: null source");
  PackedWeights w = allocate(isa, type, n, k);
  w.pack_panels(src, 0, w.n_panels());
  return w;
}

int PackedWeights::n() const {
  return impl_ ? impl_->n : 0;
}
int PackedWeights::k() const {
  return impl_ ? impl_->k : 0;
}
Isa PackedWeights::isa() const {
  return impl_ ? impl_->isa : Isa::kGeneric;
}
int PackedWeights::n_panels() const {
  return impl_ ? impl_->n_panels : 0;
}
int PackedWeights::panel_width() const {
  return impl_ ? impl_->nr : 0;
}
int PackedWeights::panel_width(Isa isa) {
  return kernels_for(isa).nr;
}
size_t PackedWeights::bytes() const {
  return impl_ ? impl_->data_bytes : 0;
}
GgmlType PackedWeights::type() const {
  return impl_ ? impl_->type : GgmlType::kF32;
}

void PackedWeights::row(int i, float* out) const {
  if (!impl_ || i < 0 || i >= impl_->n) {
    throw Error(ErrorCode::kInvalidArgument, "PackedWeights::row: index " + std::to_string(i) +
                                                 " outside [0, " + std::to_string(n()) + ")");
  }
  const Impl& m = *impl_;
  const int p = i / m.nr, jj = i % m.nr;
  if (is_block_quantized(m.type)) {
    // The reference dequantizer: the embedding lookup of a quantized model.
    dequantize_quant_panel_column(m.type, m.panel(p), m.k, m.nr, jj, out);
  } else if (m.type == GgmlType::kF16) {
    const uint16_t* panel = static_cast<const uint16_t*>(m.panel(p));
    for (int kk = 0; kk < m.k; ++kk) out[kk] = wn::f16_to_f32(panel[(size_t)kk * m.nr + jj]);
  } else {
    const float* panel = static_cast<const float*>(m.panel(p));
    for (int kk = 0; kk < m.k; ++kk) out[kk] = panel[(size_t)kk * m.nr + jj];
  }
}

}  // namespace kernels
}  // namespace wn
