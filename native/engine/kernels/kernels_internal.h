// Internals shared by the kernel dispatcher (kernels.cc) and the per-ISA
// kernel files: the packed weight layout and the table of functions each ISA
// provides. Not part of the engine's interface; only kernels/ includes it.
//
// Rule for this header and the ISA files: everything the _avx2/_avx512/_neon files
// define or instantiate must have internal linkage (static, or an anonymous
// namespace), and they must not use std:: containers: a weak symbol compiled
// with AVX-512 flags could otherwise be the copy the linker keeps for the
// generic path.
//
// Packed layout (every ISA): W [n][k] is cut into panels of `nr` consecutive
// output columns; panel p holds k rows of nr values, element (kk, jj) =
// W[p*nr + jj][kk] at offset (p*k + kk)*nr + jj, zero-padded past n. A
// micro-kernel therefore reads one contiguous vector of nr weights per k step
// and a panel is one contiguous stream. Quantized weights keep their blocks in
// panels of the same nr columns, one tile of 32 k rows after another (layout
// in quant.h); the kernels widen a panel into f32 scratch for many rows of a,
// or unpack it in the registers for the decoder's one to three rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/kernels/kernels.h"
#include "engine/kernels/quant.h"

namespace wn {
namespace kernels {

// 64-byte aligned, uninitialised storage (cache-line aligned panels). On
// Linux, large blocks are anonymous mappings on huge-page boundaries with
// MADV_HUGEPAGE (`mapped` is then the mapping's length) and mid-sized ones
// share huge-page slabs (`slab`, with `mapped` the block's length): fewer
// page faults when packing, fewer TLB misses when streaming. On Windows,
// blocks of 64 KB and more come from VirtualAlloc (`mapped` their length), so
// they go back to the OS when freed.
struct WeightSlab;
struct AlignedFree {
  size_t mapped = 0;
  WeightSlab* slab = nullptr;
  bool borrowed = false;  // the caller's memory (PackedWeights::allocate_in): not freed here
  void operator()(void* p) const;
};
using AlignedBytes = std::unique_ptr<unsigned char[], AlignedFree>;
AlignedBytes aligned_bytes(size_t n);

struct PackedWeights::Impl {
  Isa isa = Isa::kGeneric;
  // storage: kF16 (uint16_t), kF32, or a block-quantized type (quant.h panels)
  GgmlType type = GgmlType::kF32;
  int n = 0;
  int k = 0;
  int nr = 0;        // panel width (output columns per panel)
  int n_panels = 0;  // ceil(n / nr)
  AlignedBytes data;
  // data.get(), as a plain pointer: the ISA files use this and no inline
  // member (an inline function compiled with AVX-512 flags in one file could
  // be the copy the linker keeps for every file).
  const unsigned char* base = nullptr;
  size_t data_bytes = 0;
  size_t panel_bytes = 0;  // bytes per panel: panel p starts at base + p * panel_bytes

  size_t elem_bytes() const { return type == GgmlType::kF16 ? 2 : 4; }  // f16/f32 storage
  const void* panel(int p) const { return base + (size_t)p * panel_bytes; }
};

// Arguments of one attention call, as the dispatcher hands them to a kernel.
struct AttentionArgs {
  const float* q;
  int64_t ldq;
  int64_t q_head_stride;  // head h of query row i starts at q + h * q_head_stride + i * ldq
  int n_q;
  const float* k;
  int64_t ldk;
  const float* v;
  int64_t ldv;
  int n_kv;
  int d_head;
  float scale;
  int causal_offset;  // < 0: no mask
  float* out;
  int64_t ldo;
  // Set instead of k / v when keys and values are stored as f16 (same leading
  // dimensions, in elements).
  const uint16_t* k16;
  const uint16_t* v16;
  // Elements from head h's first key (value) column to head h+1's: d_head
  // when the heads are column ranges of one row, n_kv * d_head (with ld =
  // d_head) when each head's rows are a block of their own. Head h's key t
  // starts at k + h * k_head_stride + t * ldk.
  int64_t k_head_stride;
  int64_t v_head_stride;
  // Optional: keys transposed per head, kt + h*kt_head_stride is [d_head][ld_kt]
  // (filled by prepare_keys when the ISA wants it, else null).
  float* kt;
  int64_t ld_kt;
  int64_t kt_head_stride;
};

// Number of keys query row i may see (the causal mask), clamped to [0, n_kv].
static inline int attention_visible_keys(const AttentionArgs& a, int i) {
  if (a.causal_offset < 0) return a.n_kv;
  const int64_t last = (int64_t)a.causal_offset + i;  // highest visible key index
  if (last < 0) return 0;
  return last + 1 < a.n_kv ? (int)(last + 1) : a.n_kv;
}

// What each ISA provides. The dispatcher does shapes, threading and scratch;
// these only compute.
struct IsaKernels {
  int nr;  // panel width of this ISA's packed weights
  // Packs columns of panel p from src [n][k] (f16 or f32, as w.type).
  void (*pack_panel)(const PackedWeights::Impl& w, const void* src, int p, void* dst);
  // c rows [0, m) x panels [p0, p1): c = epilogue(a · Wᵀ). panel_scratch holds
  // k * nr floats (64-byte aligned) when w is quantized, else it may be null.
  void (*linear_tile)(const float* a, int64_t lda, int m, const PackedWeights::Impl& w, int p0,
                      int p1, float* c, int64_t ldc, const Epilogue& ep, float* panel_scratch);
  // linear_tile with the rows apart (kernels::linear_rows): row r of the
  // result is c_rows[r] + col0 (+ the panel's columns), and each row comes out
  // bit for bit as a one-row linear_tile call computes it.
  void (*linear_tile_rows)(const float* a, int64_t lda, int m, const PackedWeights::Impl& w, int p0,
                           int p1, float* const* c_rows, int64_t col0, const Epilogue& ep,
                           float* panel_scratch);
  // Many queries (the encoder): query rows [q0, q1) of head h, keys
  // pre-transposed in a.kt when wants_transposed_keys; scratch holds
  // attention_scratch_floats(n_kv, d_head) floats.
  void (*attention_rows)(const AttentionArgs& a, int h, int q0, int q1, float* scratch);
  // Rows per attention_rows task; calls with fewer query rows than this use
  // attention_query instead.
  int attention_block_rows;
  bool wants_transposed_keys;
  size_t (*attention_scratch_floats)(int n_kv, int d_head);
  // Few queries (the decoder): query rows [i0, i1) of head h, reading the
  // key and value rows front to back (once for rows that see the same keys,
  // where a path batches them); scratch holds
  // min(i1 - i0, attention_query_rows) * n_kv + d_head floats.
  void (*attention_query)(const AttentionArgs& a, int h, int i0, int i1, float* scratch);
  int attention_query_rows;  // the most rows whose scores attention_query holds at once
  void (*layer_norm_row)(const float* x, int n, const float* gamma, const float* beta, float eps,
                         float* y);
  void (*gelu)(float* x, int64_t n);
  void (*add)(float* y, const float* x, int64_t n);
  void (*f16_to_f32)(const uint16_t* src, float* dst, int64_t n);
  void (*f32_to_f16)(const float* src, uint16_t* dst, int64_t n);
  // Passes over a row of logits (the vocabulary, 51864+ floats per decoder
  // step): the largest entry with NaN skipped (-inf when there is none), and
  // Σ exp(x[i] - shift) for shift >= every x[i], with -inf and NaN entries
  // adding nothing (within float rounding: at most ~1e-38 each).
  float (*row_max)(const float* x, int n);
  double (*sum_exp)(const float* x, int n, float shift);
  // The first i in [0, n) with x[i] > threshold (never a NaN), else n.
  int (*first_above)(const float* x, int n, float threshold);
  // out[i] = exp((x[i] - shift) * scale) for shift >= every x[i], scale > 0;
  // returns their sum (float blocks summed in double). -inf and NaN entries
  // give at most ~1e-38.
  double (*exp_row)(const float* x, int n, float shift, float scale, float* out);
};

const IsaKernels& generic_kernels();
#if defined(__x86_64__) || defined(_M_X64)
#define WN_KERNELS_X86 1
const IsaKernels& avx2_kernels();
const IsaKernels& avx512_kernels();
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
#define WN_KERNELS_ARM64 1
const IsaKernels& neon_kernels();
#endif

// The table for `isa`; throws kInvalidArgument when this CPU or build cannot run it.
const IsaKernels& kernels_for(Isa isa);

// Generic pieces the ISA files reuse for packing (the layout is the same).
void pack_panel_any(const PackedWeights::Impl& w, const void* src, int p, void* dst);

}  // namespace kernels
}  // namespace wn
