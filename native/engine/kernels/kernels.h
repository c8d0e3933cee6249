// The kernel interface: every numeric op the encoder and decoder need, behind
// one set of functions that dispatch on the instruction set chosen at run time.
//
// Each op has a scalar reference (kernels/*_generic.cc, or the generic part of
// a file) that is the definition of what the op computes; the ISA paths
// (files ending _avx2.cc / _avx512.cc / _neon.cc, compiled with their own
// target flags) must agree with it within float rounding. Shapes are given in
// one comment per function; all matrices are row-major with a leading
// dimension (ld*) in elements.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/core/thread_pool.h"
#include "engine/format/ggml_file.h"

namespace wn {
namespace kernels {

enum class Isa { kGeneric = 0, kAvx2 = 1, kAvx512 = 2, kNeon = 3 };

const char* isa_name(Isa isa);  // "generic", "avx2", "avx512", "neon"
bool isa_supported(Isa isa);    // can this CPU (and this build) run it?
Isa best_isa();                 // the fastest supported path (cpuid, once)
// The path a new model uses: WHISPER_NATIVE_ISA=generic|avx2|avx512|neon if set
// (throws kInvalidArgument when that path is unknown or unsupported here),
// otherwise best_isa(). Read on each call, so tests can switch paths.
Isa selected_isa();

// Where an op runs: which ISA path and which threads (pool may be null = run
// on the calling thread only).
struct Context {
  Isa isa = Isa::kGeneric;
  ThreadPool* pool = nullptr;
};

// The weight matrix of a Linear layer, W [n][k] (n outputs, k inputs; PyTorch
// layout, ggml ne = {k, n}), repacked once at load into the layout the ISA's
// GEMM micro-kernel streams. Storage keeps the source's type: f16 stays f16,
// f32 stays f32, and a block-quantized type (quant.h) keeps its blocks, so a
// quantized model holds no dequantized copy. Arithmetic is always f32, on
// the exactly dequantized weights.
class PackedWeights {
 public:
  PackedWeights();
  ~PackedWeights();
  PackedWeights(PackedWeights&&) noexcept;
  PackedWeights& operator=(PackedWeights&&) noexcept;

  // src: W row-major [n][k] in `type`: kF16, kF32, or q4_0/q4_1/q5_0/q5_1/q8_0
  // blocks as ggml stores them (k a multiple of 32, else kInvalidArgument);
  // any other type throws kUnsupportedTensorType.
  static PackedWeights pack(Isa isa, GgmlType type, const void* src, int n, int k);

  // pack() in two steps, for a big matrix packed by several threads, each
  // taking a range of panels (and releasing the source rows it has read):
  // allocate() checks and reserves (contents undefined until packed);
  // pack_panels() fills panels [p0, p1), which read rows [p0 * panel_width(),
  // p1 * panel_width()) of src (the same src pack() takes).
  static PackedWeights allocate(Isa isa, GgmlType type, int n, int k);
  void pack_panels(const void* src, int p0, int p1);
  // pack_panels() from those panels' rows alone: `rows` is source row
  // p0 * panel_width() (read into a buffer of their own, say).
  void pack_panel_rows(const void* rows, int p0, int p1);
  // allocate() over memory the caller owns: storage_bytes() bytes, 64-byte
  // aligned, that outlive the weights (which do not free them). One buffer
  // can so take matrices of different shapes in turn (the staging memory of
  // an encoder whose weights are packed right before use).
  static size_t storage_bytes(Isa isa, GgmlType type, int n, int k);
  static PackedWeights allocate_in(void* storage, Isa isa, GgmlType type, int n, int k);
  int n_panels() const;
  int panel_width() const;  // output columns per panel
  static int panel_width(Isa isa);

  int n() const;
  int k() const;
  Isa isa() const;
  size_t bytes() const;   // memory held
  GgmlType type() const;  // storage type
  // Row i of W widened (or dequantized) to f32, k floats: also the embedding
  // lookup of a quantized model, whose token embedding is packed.
  void row(int i, float* out) const;

  struct Impl;
  const Impl* impl() const { return impl_.get(); }

 private:
  std::unique_ptr<Impl> impl_;
};

// What linear() does to each output element after the dot product, in order:
// add bias[j]; apply GELU; then either store or add into c (residual).
struct Epilogue {
  const float* bias = nullptr;  // [n] or null
  bool gelu = false;            // exact erf GELU
  bool accumulate = false;      // c[i][j] += result instead of c[i][j] = result
  // Column blocks: with block_width > 0, output column j of row i goes to
  // c + (j / block_width) * block_stride + i * ldc + j % block_width, so each
  // block of block_width columns is a matrix of its own (ldc >= block_width).
  // The encoder writes q, k and v this way, one [n_ctx][d_head] block per
  // head. block_width must be a multiple of 64 and divide n.
  int block_width = 0;
  int64_t block_stride = 0;
};

// c[m][n] = epilogue(a[m][k] · Wᵀ). a has leading dimension lda >= k, c has
// ldc >= n (>= block_width with column blocks). Uses w.isa()'s micro-kernel;
// ctx.pool splits the work. first_column > 0 leaves out the panels wholly
// below it (their columns of c keep what they held): the decoder's
// vocabulary projection when the next step can only be a timestamp or eot.
void linear(const Context& ctx, const float* a, int64_t lda, int m, const PackedWeights& w,
            float* c, int64_t ldc, const Epilogue& ep, int first_column = 0);

// linear() with the rows apart: row i of the result goes to c_rows[i] (n
// floats; columns below first_column's panel untouched), and it comes out bit
// for bit as a call of linear() with that row alone gives it (the same
// accumulation order: one-row micro-tiles), while each panel of weights is
// still read from memory once for all m rows. For the decoder's steps of
// several transcriptions in one pass: a call's tokens must not depend on which
// other calls shared its passes. No column blocks.
void linear_rows(const Context& ctx, const float* a, int64_t lda, int m, const PackedWeights& w,
                 float* const* c_rows, const Epilogue& ep, int first_column = 0);

// Where the heads of q, k and v lie: head h of row t starts at
// base + h * stride + t * ld. -1 (the default) means d_head: the heads are
// column ranges of each row. A stride of at least n_rows * ld gives each head
// a block of rows of its own ([n_head][n_rows][ld]), as the encoder lays out
// its q, k and v so that attention streams each head's rows contiguously.
struct HeadStrides {
  int64_t q = -1, k = -1, v = -1;
};

// Multi-head scaled dot-product attention, fused per head: no n_q × n_kv score
// matrix is materialised for a whole head.
//   q [n_q][ldq], k [n_kv][ldk], v [n_kv][ldv], out [n_q][ldo];
//   head h uses columns [h*d_head, (h+1)*d_head) of each (of q, k and v:
//   unless `heads` says otherwise; out always has the heads side by side).
//   out_i = Σ_t softmax_t(scale · q_i·k_t) v_t, over t allowed by the mask:
//   causal_offset < 0: no mask; otherwise query i sees t <= causal_offset + i.
//   key_scratch (optional): attention_key_scratch_floats(n_kv, n_head, d_head)
//   floats the call may use for the keys re-laid out per head (many queries
//   only); without it the call allocates them for its own duration.
void attention(const Context& ctx, const float* q, int64_t ldq, int n_q, const float* k,
               int64_t ldk, const float* v, int64_t ldv, int n_kv, int n_head, int d_head,
               float scale, int causal_offset, float* out, int64_t ldo,
               float* key_scratch = nullptr, HeadStrides heads = {});
size_t attention_key_scratch_floats(int n_kv, int n_head, int d_head);

// The same with keys and values stored as f16 and widened as they are read
// (the decoder's cross-attention cache: half the bytes to stream per token).
// k_head_stride / v_head_stride: elements between the first key (value) of
// head h and of head h+1; < 0 means d_head (heads are column ranges of each
// row, as above). With a stride of n_kv * ldk and ldk = d_head every head's
// keys are one contiguous block, [n_head][n_kv][d_head], which the decoder's
// cross-attention streams front to back.
void attention(const Context& ctx, const float* q, int64_t ldq, int n_q, const uint16_t* k,
               int64_t ldk, const uint16_t* v, int64_t ldv, int n_kv, int n_head, int d_head,
               float scale, int causal_offset, float* out, int64_t ldo, int64_t k_head_stride = -1,
               int64_t v_head_stride = -1);

// y[m][n] = (x - mean) / sqrt(var + eps) * gamma + beta, per row. y may equal x.
void layer_norm(const Context& ctx, const float* x, int64_t ldx, int m, int n, const float* gamma,
                const float* beta, float eps, float* y, int64_t ldy);

// x[i] = GELU(x[i]) = 0.5 x (1 + erf(x / √2)), in place.
void gelu(const Context& ctx, float* x, int64_t n);

// y[i] += x[i].
void add(const Context& ctx, float* y, const float* x, int64_t n);

// Widens n f16 values to f32.
void f16_to_f32(const Context& ctx, const uint16_t* src, float* dst, int64_t n);

// Narrows n f32 values to f16, rounding to nearest even.
void f32_to_f16(const Context& ctx, const float* src, uint16_t* dst, int64_t n);

// The same for a matrix: dst[i][j] = f16(src[i][j]) for rows [0, rows) and
// columns [0, cols) (leading dimensions ld_src, ld_dst), e.g. one head's
// columns of a block of K/V rows into that head's own block.
void f32_to_f16_rows(const Context& ctx, const float* src, int64_t ld_src, int rows, int cols,
                     uint16_t* dst, int64_t ld_dst);

// One pass over x[0, n) (blocks of it stay in L1 for their second look), what
// a decoder step needs of its row of logits: the largest entry with NaN
// skipped, the first index holding it, and log Σ exp(x[i]) with -inf and NaN
// entries counting as 0 (float terms, double accumulation: within ~1e-6
// relative). A vocabulary row is ~15 us of exponentials on one core: with a
// pool, parts of it (fixed by n, so the result does not depend on the
// threads) run on its threads.
struct LogitSummary {
  float max_value;     // -inf when no entry is above -inf (or n <= 0)
  int max_index;       // first index of max_value; -1 with it
  double log_sum_exp;  // -inf with it; +inf when an entry is +inf
};
LogitSummary summarize_logits(const Context& ctx, const float* x, int n);
LogitSummary summarize_logits(Isa isa, const float* x, int n);  // on the calling thread

// The first index i in [from, n) with x[i] > threshold (a NaN never is), or n
// when there is none: the scan behind a top-k that skips, a few vectors at a
// time, the entries that cannot enter the list. One thread.
int first_above(Isa isa, const float* x, int from, int n, float threshold);

// out[i] = exp((x[i] - shift) * scale) for i in [0, n), shift >= every x[i]
// and scale > 0 (a sampling step's weights: shift the row's maximum, scale
// 1 / temperature); returns Σ out[i] (float terms, double accumulation).
// -inf and NaN entries give 0, or at most ~1e-38 on the SIMD paths (their exp
// clamps its argument). One thread.
double exp_row(Isa isa, const float* x, int n, float shift, float scale, float* out);

// log Σ exp(x[i]) over x[0, n), shifted by the maximum; -inf and NaN entries
// count as exp(-inf) = 0. -inf when no entry is above -inf. Float terms, double
// accumulation: within ~1e-6 relative of the exact value. One thread.
double log_sum_exp(Isa isa, const float* x, int n);

// This machine's peak fp32 FMA throughput in GFLOP/s with `threads` threads
// running at once (widest FMA the CPU has; register-only loops, best of >= 5
// trials within about `seconds` of wall time). C linkage so a binding can
// expose it as is; not used by the model.
extern "C" double measure_peak_gflops(int threads, double seconds);

// GB/s at which `threads` threads together read a buffer of `megabytes` MB
// (1e6 bytes), each its own slice, with the widest vector loads (best pass
// within about `seconds`). Sized like the decoder's per-token reads, it is
// the floor of the decoder's time per token. Not used by the model.
extern "C" double measure_read_bandwidth(int threads, double megabytes, double seconds);

}  // namespace kernels
}  // namespace wn
