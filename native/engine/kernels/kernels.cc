// The kernel interface's entry points: argument checks, the split of each op
// into tasks for the thread pool, per-thread scratch, and the hand-off to the
// ISA's kernels (kernels_for). No arithmetic of its own beyond re-laying out
// keys for attention.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/thread_scratch.h"
#include "engine/kernels/kernels_internal.h"
#include "engine/kernels/quant.h"

namespace wn {
namespace kernels {
namespace {

// Below this many multiply-adds an op runs on the calling thread: waking the
// pool costs more than it saves.
constexpr int64_t kMinParallelMacs = 1 << 17;
// The same for the decoder's attention (a few query rows): it streams
// n_kv * width keys and as many values for them, so it pays to split sooner.
// A token at position ~100 of tiny's self-attention (38K multiply-adds, 300 KB
// of cache read) took 13 us per layer on one thread.
constexpr int64_t kMinParallelQueryMacs = 1 << 14;
// Elementwise ops are split into chunks of this many elements.
constexpr int64_t kElementwiseChunk = 1 << 15;
// Rows per linear task when m is large: a multiple of every ISA's micro-tile
// height (generic 6, AVX2 6, AVX-512 12, NEON 12), small enough that a row block of A
// stays in L2.
constexpr int kLinearRowBlock = 48;
// Quantized weights: a task widens each of its panels into f32 scratch once
// for all its rows, so it gets more of them: widening one k step of a panel
// costs about what 4 rows of FMAs do, 2% of 192 rows.
constexpr int kQuantRowBlock = 4 * kLinearRowBlock;

// A decoder's few rows against a matrix far bigger than the caches (the token
// embedding: 40 MB for tiny, f16) are split into groups of panels that shrink
// as the op goes: each takes 1 / (2 x threads) of the panels left, at least
// kMinGuidedPanels. Why: tasks come from one counter, so the op ends when its
// last task does. With equal tasks of 1/16 of tiny's embedding (2.5 MB, ~0.1
// ms of this VM's memory bandwidth) a thread waited half a task on average at
// the end of every token; shrinking groups leave it a few microseconds. More
// equal tasks saved less than their starts cost (each starts a new prefetch
// stream). The same bits: only which thread computes a panel changes. Measured
// on tiny.en (AMD Zen 4, 2 threads, the two splits alternating round by round
// in one process, 10 runs of 40 rounds of 100 tokens): -1.4 % per token
// (median of the runs' medians; -3 to -4 % in the quieter runs).
constexpr int kMinGuidedPanels = 4;
constexpr int kMaxGuidedGroups = 256;
constexpr int kMinGuidedMatrixPanels = 256;
constexpr size_t kMinGuidedMatrixBytes = size_t{4} << 20;

// The guided groups' panel boundaries for n_panels over `threads`: group g is
// panels [bounds[g], bounds[g + 1]). Returns the number of groups.
int guided_groups(int n_panels, int threads, int (&bounds)[kMaxGuidedGroups + 1]) {
  int groups = 0;
  int at = 0;
  bounds[0] = 0;
  while (at < n_panels) {
    const int left = n_panels - at;
    int take = std::min(left, std::max(kMinGuidedPanels, left / (2 * threads)));
    if (groups == kMaxGuidedGroups - 1) take = left;  // the last one takes the rest
    at += take;
    bounds[++groups] = at;
  }
  return groups;
}

// Per-thread f32 scratch for one widened quantized panel (k * nr floats),
// 64-byte aligned like the packed panels.
float* panel_scratch(size_t floats) {
  return thread_scratch_of<float>(ScratchSlot::kWidenedPanel, floats);
}

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, what);
}

// Runs fn(task, thread) on the pool when there is one and the work is big
// enough, else inline.
template <typename Fn>
void run_tasks(const Context& ctx, int64_t n_tasks, bool parallel, const Fn& fn) {
  if (ctx.pool != nullptr && parallel && n_tasks > 1 && ctx.pool->size() > 1) {
    ctx.pool->parallel_for(n_tasks, fn);
  } else {
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
  }
}

// Where linear_panels() writes: c with ldc, or (rows apart, linear_rows()) row
// i at rows[i] + col0.
struct LinearOut {
  float* c = nullptr;
  int64_t ldc = 0;
  float* const* rows = nullptr;
  int64_t col0 = 0;
};

void linear_panels(const Context& ctx, const float* a, int64_t lda, int m,
                   const PackedWeights::Impl& w, const LinearOut& out, const Epilogue& ep);

// Panels [first, first + count) of w as a matrix of their own (no data of its
// own; its column 0 is panel `first`'s first), with n columns.
PackedWeights::Impl panel_view(const PackedWeights::Impl& w, int first, int count, int n) {
  PackedWeights::Impl v;
  v.isa = w.isa;
  v.type = w.type;
  v.n = n;
  v.k = w.k;
  v.nr = w.nr;
  v.n_panels = count;
  v.base = w.base + (size_t)first * w.panel_bytes;
  v.data_bytes = (size_t)count * w.panel_bytes;
  v.panel_bytes = w.panel_bytes;
  return v;
}

}  // namespace

namespace {

// linear() and linear_rows(): checks the shapes, then runs linear_panels()
// from the panel holding first_column on (a view whose column 0 is that
// panel's first; the output and the bias shift with it).
void linear_checked(const Context& ctx, const float* a, int64_t lda, int m, const PackedWeights& w,
                    LinearOut out, const Epilogue& ep, int first_column) {
  const PackedWeights::Impl* wi = w.impl();
  if (wi == nullptr) invalid("linear: weights are empty (not packed)");
  if (m < 0) invalid("linear: m must be >= 0, got " + std::to_string(m));
  if (m == 0) return;
  if (a == nullptr || (out.c == nullptr && out.rows == nullptr)) {
    invalid("linear: null input or output");
  }
  if (out.rows != nullptr) {
    for (int i = 0; i < m; ++i) {
      if (out.rows[i] == nullptr) invalid("linear: output row " + std::to_string(i) + " is null");
    }
  }
  if (lda < wi->k) invalid("linear: lda " + std::to_string(lda) + " < k " + std::to_string(wi->k));
  const bool blocked = ep.block_width > 0;
  if (blocked) {
    // 64: a multiple of every ISA's panel width, so no panel straddles blocks.
    if (out.rows != nullptr || ep.block_width % 64 != 0 || wi->n % ep.block_width != 0 ||
        out.ldc < ep.block_width || ep.block_stride < (int64_t)(m - 1) * out.ldc + ep.block_width) {
      invalid("linear: column blocks of width " + std::to_string(ep.block_width) + " and stride " +
              std::to_string(ep.block_stride) + " do not fit n " + std::to_string(wi->n) + ", m " +
              std::to_string(m) + " and ldc " + std::to_string(out.ldc) +
              (out.rows != nullptr ? " (or rows apart)" : ""));
    }
  } else if (out.rows == nullptr && out.ldc < wi->n) {
    invalid("linear: ldc " + std::to_string(out.ldc) + " < n " + std::to_string(wi->n));
  }
  if (first_column < 0 || first_column >= wi->n || (blocked && first_column > 0)) {
    invalid("linear: first_column " + std::to_string(first_column) + " outside [0, " +
            std::to_string(wi->n) + ")" + (blocked ? " or with column blocks" : ""));
  }
  const int first_panel = first_column / wi->nr;
  if (first_panel > 0) {
    const PackedWeights::Impl tail =
        panel_view(*wi, first_panel, wi->n_panels - first_panel, wi->n - first_panel * wi->nr);
    Epilogue tail_ep = ep;
    if (ep.bias != nullptr) tail_ep.bias = ep.bias + first_panel * wi->nr;
    if (out.c != nullptr) out.c += first_panel * wi->nr;
    out.col0 += first_panel * wi->nr;
    linear_panels(ctx, a, lda, m, tail, out, tail_ep);
    return;
  }
  linear_panels(ctx, a, lda, m, *wi, out, ep);
}

}  // namespace

void linear(const Context& ctx, const float* a, int64_t lda, int m, const PackedWeights& w,
            float* c, int64_t ldc, const Epilogue& ep, int first_column) {
  LinearOut out;
  out.c = c;
  out.ldc = ldc;
  linear_checked(ctx, a, lda, m, w, out, ep, first_column);
}

void linear_rows(const Context& ctx, const float* a, int64_t lda, int m, const PackedWeights& w,
                 float* const* c_rows, const Epilogue& ep, int first_column) {
  if (c_rows == nullptr && m > 0) invalid("linear_rows: null output rows");
  LinearOut out;
  out.rows = c_rows;
  linear_checked(ctx, a, lda, m, w, out, ep, first_column);
}

namespace {

// linear() after its checks, on the panels of w (a PackedWeights' or a view's).
void linear_panels(const Context& ctx, const float* a, int64_t lda, int m,
                   const PackedWeights::Impl& w, const LinearOut& out, const Epilogue& ep) {
  float* const c = out.c;
  const int64_t ldc = out.ldc;
  const PackedWeights::Impl* wi = &w;
  const bool blocked = ep.block_width > 0;
  const IsaKernels& kern = kernels_for(wi->isa);

  // Task grid: row blocks x groups of panels. Panels are the fast index so
  // consecutive tasks share a block of A. With column blocks, a group of
  // panels never crosses a block.
  const bool quantized = is_block_quantized(wi->type);
  const int block = quantized ? kQuantRowBlock : kLinearRowBlock;
  const int row_block = m <= 2 * block ? m : block;
  const int64_t n_row_blocks = (m + row_block - 1) / row_block;
  const int threads = ctx.pool ? ctx.pool->size() : 1;
  const int panels_per_block = blocked ? ep.block_width / wi->nr : wi->n_panels;
  const int n_column_blocks = wi->n_panels / panels_per_block;
  // Enough tasks for dynamic balancing (up to 8 per thread), but for small
  // ops (the decoder's GEMVs) about one per thread: each task costs a
  // contended atomic and the pool's hand-off.
  const int64_t macs = (int64_t)m * wi->n * wi->k;
  const int64_t want_tasks = threads * std::min<int64_t>(8, std::max<int64_t>(1, macs >> 18));
  int panels_per_task = (int)std::max<int64_t>(1, (wi->n_panels * n_row_blocks) / want_tasks);
  panels_per_task = std::min(panels_per_task, panels_per_block);
  const int64_t groups_per_block = (panels_per_block + panels_per_task - 1) / panels_per_task;
  // Groups of equal size: 48 panels in groups of 15 left one of 3 (a task a
  // quarter as long as the others, and the thread that ends first idles).
  panels_per_task = (int)((panels_per_block + groups_per_block - 1) / groups_per_block);
  const int64_t n_panel_groups = groups_per_block * n_column_blocks;
  const bool parallel = macs >= kMinParallelMacs;

  // With column blocks, block b's panels are a matrix of their own: a view of
  // them (no data of its own) whose columns start at 0, and its own bias.
  std::vector<PackedWeights::Impl> block_views;
  if (blocked) {
    block_views.reserve(n_column_blocks);
    for (int b = 0; b < n_column_blocks; ++b) {
      block_views.push_back(
          panel_view(*wi, b * panels_per_block, panels_per_block, ep.block_width));
    }
  }

  // A streamed matrix: shrinking groups of panels instead (kMinGuidedPanels).
  int guided[kMaxGuidedGroups + 1];
  int n_guided = 0;
  if (parallel && threads > 1 && m <= 8 && n_row_blocks == 1 && !blocked &&
      wi->n_panels >= kMinGuidedMatrixPanels && wi->data_bytes >= kMinGuidedMatrixBytes) {
    n_guided = guided_groups(wi->n_panels, threads, guided);
  }

  const int64_t n_tasks = n_guided > 0 ? n_guided : n_row_blocks * n_panel_groups;
  run_tasks(ctx, n_tasks, parallel, [&](int64_t task, int) {
    const int64_t rb = n_guided > 0 ? 0 : task / n_panel_groups;
    const int64_t pg = n_guided > 0 ? 0 : task % n_panel_groups;
    const int i0 = (int)(rb * row_block);
    const int rows = std::min(row_block, m - i0);
    const int b = (int)(pg / groups_per_block);  // column block (0 without blocks)
    const int p0 = n_guided > 0 ? guided[task] : (int)(pg % groups_per_block) * panels_per_task;
    const int p1 =
        n_guided > 0 ? guided[task + 1] : std::min(panels_per_block, p0 + panels_per_task);
    float* scratch = quantized ? panel_scratch((size_t)wi->k * wi->nr) : nullptr;
    if (out.rows != nullptr) {
      kern.linear_tile_rows(a + i0 * lda, lda, rows, *wi, p0, p1, out.rows + i0, out.col0, ep,
                            scratch);
      return;
    }
    if (!blocked) {
      kern.linear_tile(a + i0 * lda, lda, rows, *wi, p0, p1, c + i0 * ldc, ldc, ep, scratch);
      return;
    }
    Epilogue block_ep = ep;
    if (ep.bias != nullptr) block_ep.bias = ep.bias + (int64_t)b * ep.block_width;
    kern.linear_tile(a + i0 * lda, lda, rows, block_views[b], p0, p1,
                     c + b * ep.block_stride + i0 * ldc, ldc, block_ep, scratch);
  });
}

}  // namespace

namespace {

// Keys of every head transposed to [head][d_head][ld_kt] so a kernel can
// multiply a block of queries by many keys with vector loads along keys.
// f16 keys are widened on the way (a row of d_head at a time, by the ISA).
// Row length of the transposed keys: whole key tiles of every ISA (64 keys),
// plus one cache line so that the d_head rows of a tile do not all fall into
// the same few L1 sets (a row stride of 1536 floats is 1.5 x 4 KiB).
int64_t transposed_key_row(int n_kv) {
  return (int64_t)(n_kv + 63) / 64 * 64 + 16;
}

void transpose_keys(const Context& ctx, const IsaKernels& kern, AttentionArgs& at, int n_head,
                    float* buf) {
  at.ld_kt = transposed_key_row(at.n_kv);
  at.kt_head_stride = at.ld_kt * at.d_head;
  at.kt = buf;
  const int64_t key_block = 64;
  const int64_t n_key_blocks = (at.n_kv + key_block - 1) / key_block;
  run_tasks(ctx, n_head * n_key_blocks, true, [&](int64_t task, int) {
    const int h = (int)(task / n_key_blocks);
    const int t0 = (int)((task % n_key_blocks) * key_block);
    const int t1 = (int)std::min<int64_t>(at.n_kv, t0 + key_block);
    float* dst = at.kt + h * at.kt_head_stride;
    float* widened = at.k16 != nullptr
                         ? thread_scratch_of<float>(ScratchSlot::kWidenedKeys, (size_t)at.d_head)
                         : nullptr;
    for (int t = t0; t < t1; ++t) {
      // k is null when the keys are f16: offsetting a null pointer is UB.
      const float* src;
      if (at.k16 != nullptr) {
        kern.f16_to_f32(at.k16 + t * at.ldk + h * at.k_head_stride, widened, at.d_head);
        src = widened;
      } else {
        src = at.k + t * at.ldk + h * at.k_head_stride;
      }
      for (int e = 0; e < at.d_head; ++e) dst[e * at.ld_kt + t] = src[e];
    }
    if (t1 == at.n_kv) {  // zero the padding so kernels may read whole vectors
      for (int e = 0; e < at.d_head; ++e) {
        std::fill(dst + e * at.ld_kt + at.n_kv, dst + (e + 1) * at.ld_kt, 0.0f);
      }
    }
  });
}

// attention() for either storage of K/V: `at` has k/v or k16/v16 set.
void attention_impl(const Context& ctx, AttentionArgs& at, int n_head, float* key_scratch) {
  const int n_q = at.n_q, n_kv = at.n_kv, d_head = at.d_head;
  if (n_q < 0 || n_kv < 0 || n_head <= 0 || d_head <= 0) {
    invalid("attention: bad shape n_q=" + std::to_string(n_q) + " n_kv=" + std::to_string(n_kv) +
            " n_head=" + std::to_string(n_head) + " d_head=" + std::to_string(d_head));
  }
  const int64_t width = (int64_t)n_head * d_head;
  if (at.ldo < width) {
    invalid("attention: the leading dimension of out must be >= n_head*d_head = " +
            std::to_string(width));
  }
  // Queries, keys and values: heads either side by side in a row (stride
  // d_head, rows of >= n_head*d_head) or one block of rows each (rows of >=
  // d_head).
  for (const auto& [ld, stride, rows, what] :
       {std::tuple<int64_t, int64_t, int, const char*>{at.ldq, at.q_head_stride, n_q, "queries"},
        std::tuple<int64_t, int64_t, int, const char*>{at.ldk, at.k_head_stride, n_kv, "keys"},
        std::tuple<int64_t, int64_t, int, const char*>{at.ldv, at.v_head_stride, n_kv, "values"}}) {
    const bool columns = stride == d_head && ld >= width;
    const bool blocks = stride >= (int64_t)rows * ld && ld >= d_head;
    if (!columns && !blocks) {
      invalid(std::string("attention: ") + what + ": head stride " + std::to_string(stride) +
              " and leading dimension " + std::to_string(ld) +
              " lay heads out neither as column ranges nor as blocks");
    }
  }
  if (n_q == 0) return;
  const IsaKernels& kern = kernels_for(ctx.isa);
  const bool few_queries = n_q < kern.attention_block_rows;
  const bool parallel =
      (int64_t)n_q * n_kv * width >= (few_queries ? kMinParallelQueryMacs : kMinParallelMacs);
  const int threads = ctx.pool ? ctx.pool->size() : 1;
  if (few_queries) {
    // The decoder: a task per head and range of query rows, head by head, so
    // that a head's keys and values come from memory for the first row and
    // from cache for the next (a beam search's rows all attend to the same
    // cross-attention K/V, 384 KB per head for a window in f16). Row ranges
    // only when there are more threads than heads.
    const int row_chunks = std::min(n_q, std::max(1, (2 * threads + n_head - 1) / n_head));
    // A task's rows, of which the kernel holds at most attention_query_rows'
    // scores at once (a prompt's hundreds of rows need not each keep theirs).
    const int task_rows = (n_q + row_chunks - 1) / row_chunks;
    const size_t scratch_floats =
        (size_t)std::min(task_rows, kern.attention_query_rows) * n_kv + d_head;
    run_tasks(ctx, (int64_t)n_head * row_chunks, parallel, [&](int64_t task, int) {
      float* scratch = thread_scratch_of<float>(ScratchSlot::kAttentionRows, scratch_floats);
      const int h = (int)(task / row_chunks), c = (int)(task % row_chunks);
      const int i0 = (int)((int64_t)n_q * c / row_chunks);
      const int i1 = (int)((int64_t)n_q * (c + 1) / row_chunks);
      kern.attention_query(at, h, i0, i1, scratch);
    });
    return;
  }
  // The encoder: blocks of query rows per head, keys transposed once.
  std::vector<float> own_keys;  // only when the caller lent no scratch
  if (kern.wants_transposed_keys && n_kv > 0) {
    float* keys = key_scratch;
    if (keys == nullptr) {
      own_keys.resize(attention_key_scratch_floats(n_kv, n_head, d_head));
      keys = own_keys.data();
    }
    transpose_keys(ctx, kern, at, n_head, keys);
  }
  const int block = kern.attention_block_rows;
  const int64_t n_blocks = (n_q + block - 1) / block;
  const size_t scratch_floats = kern.attention_scratch_floats(n_kv, d_head);
  run_tasks(ctx, n_head * n_blocks, parallel, [&](int64_t task, int) {
    float* scratch = thread_scratch_of<float>(ScratchSlot::kAttentionRows, scratch_floats);
    const int h = (int)(task / n_blocks);
    const int q0 = (int)((task % n_blocks) * block);
    kern.attention_rows(at, h, q0, std::min(n_q, q0 + block), scratch);
  });
}

}  // namespace

size_t attention_key_scratch_floats(int n_kv, int n_head, int d_head) {
  if (n_kv <= 0 || n_head <= 0 || d_head <= 0) return 0;
  return (size_t)transposed_key_row(n_kv) * d_head * n_head;
}

namespace {

// The arguments both storages share; a head stride < 0 means d_head (heads
// side by side in each row). The caller sets k/v or k16/v16.
AttentionArgs attention_args(const float* q, int64_t ldq, int n_q, int64_t ldk, int64_t ldv,
                             int n_kv, int d_head, float scale, int causal_offset, float* out,
                             int64_t ldo, HeadStrides heads) {
  AttentionArgs at{};
  at.q = q;
  at.ldq = ldq;
  at.q_head_stride = heads.q < 0 ? d_head : heads.q;
  at.n_q = n_q;
  at.ldk = ldk;
  at.ldv = ldv;
  at.n_kv = n_kv;
  at.d_head = d_head;
  at.scale = scale;
  at.causal_offset = causal_offset;
  at.out = out;
  at.ldo = ldo;
  at.k_head_stride = heads.k < 0 ? d_head : heads.k;
  at.v_head_stride = heads.v < 0 ? d_head : heads.v;
  return at;
}

}  // namespace

void attention(const Context& ctx, const float* q, int64_t ldq, int n_q, const float* k,
               int64_t ldk, const float* v, int64_t ldv, int n_kv, int n_head, int d_head,
               float scale, int causal_offset, float* out, int64_t ldo, float* key_scratch,
               HeadStrides heads) {
  AttentionArgs at =
      attention_args(q, ldq, n_q, ldk, ldv, n_kv, d_head, scale, causal_offset, out, ldo, heads);
  at.k = k;
  at.v = v;
  attention_impl(ctx, at, n_head, key_scratch);
}

void attention(const Context& ctx, const float* q, int64_t ldq, int n_q, const uint16_t* k,
               int64_t ldk, const uint16_t* v, int64_t ldv, int n_kv, int n_head, int d_head,
               float scale, int causal_offset, float* out, int64_t ldo, int64_t k_head_stride,
               int64_t v_head_stride) {
  AttentionArgs at = attention_args(q, ldq, n_q, ldk, ldv, n_kv, d_head, scale, causal_offset, out,
                                    ldo, HeadStrides{-1, k_head_stride, v_head_stride});
  at.k16 = k;
  at.v16 = v;
  attention_impl(ctx, at, n_head, nullptr);
}

void layer_norm(const Context& ctx, const float* x, int64_t ldx, int m, int n, const float* gamma,
                const float* beta, float eps, float* y, int64_t ldy) {
  if (m < 0 || n <= 0 || ldx < n || ldy < n) {
    invalid("layer_norm: bad shape m=" + std::to_string(m) + " n=" + std::to_string(n) +
            " ldx=" + std::to_string(ldx) + " ldy=" + std::to_string(ldy));
  }
  const IsaKernels& kern = kernels_for(ctx.isa);
  const int rows_per_task = 16;
  const int64_t n_tasks = (m + rows_per_task - 1) / rows_per_task;
  run_tasks(ctx, n_tasks, (int64_t)m * n >= kElementwiseChunk, [&](int64_t task, int) {
    const int i1 = (int)std::min<int64_t>(m, (task + 1) * rows_per_task);
    for (int i = (int)(task * rows_per_task); i < i1; ++i) {
      kern.layer_norm_row(x + i * ldx, n, gamma, beta, eps, y + i * ldy);
    }
  });
}

namespace {

// Splits [0, n) into chunks and runs fn(begin, count) on each.
template <typename Fn>
void for_chunks(const Context& ctx, int64_t n, const Fn& fn) {
  if (n <= 0) return;
  const int64_t n_tasks = (n + kElementwiseChunk - 1) / kElementwiseChunk;
  run_tasks(ctx, n_tasks, true, [&](int64_t task, int) {
    const int64_t begin = task * kElementwiseChunk;
    fn(begin, std::min(kElementwiseChunk, n - begin));
  });
}

}  // namespace

void gelu(const Context& ctx, float* x, int64_t n) {
  const IsaKernels& kern = kernels_for(ctx.isa);
  for_chunks(ctx, n, [&](int64_t b, int64_t count) { kern.gelu(x + b, count); });
}

void add(const Context& ctx, float* y, const float* x, int64_t n) {
  const IsaKernels& kern = kernels_for(ctx.isa);
  for_chunks(ctx, n, [&](int64_t b, int64_t count) { kern.add(y + b, x + b, count); });
}

void f16_to_f32(const Context& ctx, const uint16_t* src, float* dst, int64_t n) {
  const IsaKernels& kern = kernels_for(ctx.isa);
  for_chunks(ctx, n, [&](int64_t b, int64_t count) { kern.f16_to_f32(src + b, dst + b, count); });
}

void f32_to_f16(const Context& ctx, const float* src, uint16_t* dst, int64_t n) {
  const IsaKernels& kern = kernels_for(ctx.isa);
  for_chunks(ctx, n, [&](int64_t b, int64_t count) { kern.f32_to_f16(src + b, dst + b, count); });
}

void f32_to_f16_rows(const Context& ctx, const float* src, int64_t ld_src, int rows, int cols,
                     uint16_t* dst, int64_t ld_dst) {
  if (rows < 0 || cols < 0 || ld_src < cols || ld_dst < cols) {
    invalid("f32_to_f16_rows: bad shape rows=" + std::to_string(rows) +
            " cols=" + std::to_string(cols) + " ld_src=" + std::to_string(ld_src) +
            " ld_dst=" + std::to_string(ld_dst));
  }
  const IsaKernels& kern = kernels_for(ctx.isa);
  const int64_t rows_per_task = std::max<int64_t>(1, kElementwiseChunk / std::max(cols, 1));
  const int64_t n_tasks = (rows + rows_per_task - 1) / rows_per_task;
  run_tasks(ctx, n_tasks, true, [&](int64_t task, int) {
    const int64_t i1 = std::min<int64_t>(rows, (task + 1) * rows_per_task);
    for (int64_t i = task * rows_per_task; i < i1; ++i) {
      kern.f32_to_f16(src + i * ld_src, dst + i * ld_dst, cols);
    }
  });
}

namespace {

// A part of a row of logits as summarize_logits sees it: its largest entry,
// the first 512-float block holding it (an index into the row), and
// Σ exp(x - max) over the part. max_value -inf: nothing above -inf.
struct PartSummary {
  float max_value = -std::numeric_limits<float>::infinity();
  int best_block = -1;
  double sum = 0;
};

// Blocks of 2 KB: the block's maximum, then its exponentials against the
// running maximum while the block is still in L1; a larger maximum rescales
// the sum so far. One read of the part, one exp per entry.
PartSummary summarize_part(const IsaKernels& kern, const float* x, int begin, int end) {
  constexpr int kBlock = 512;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  PartSummary out;
  for (int b = begin; b < end; b += kBlock) {
    const int len = std::min(kBlock, end - b);
    const float m = kern.row_max(x + b, len);
    if (!(m > kNegInf)) continue;
    if (m > out.max_value) {
      if (m == std::numeric_limits<float>::infinity()) {
        out.sum = std::numeric_limits<double>::infinity();
      } else if (out.best_block >= 0) {
        out.sum *= std::exp((double)out.max_value - m);
      }
      out.max_value = m;
      out.best_block = b;
    }
    if (out.max_value < std::numeric_limits<float>::infinity()) {
      out.sum += kern.sum_exp(x + b, len, out.max_value);
    }
  }
  return out;
}

}  // namespace

LogitSummary summarize_logits(const Context& ctx, const float* x, int n) {
  const IsaKernels& kern = kernels_for(ctx.isa);
  // Parts of at least 16K logits, at most kMaxParts: a vocabulary row
  // (51864) is 4 parts, split over the pool. The parts depend on n only, so
  // the result does not depend on the number of threads.
  constexpr int kMinPart = 1 << 14, kMaxParts = 8;
  const int n_parts =
      (int)std::clamp<int64_t>(((int64_t)n + kMinPart - 1) / kMinPart, 1, kMaxParts);
  const int64_t part = ((int64_t)n + n_parts - 1) / n_parts;
  PartSummary parts[kMaxParts];
  run_tasks(ctx, n_parts, n_parts > 1, [&](int64_t p, int) {
    parts[p] = summarize_part(kern, x, (int)(p * part), (int)std::min<int64_t>(n, (p + 1) * part));
  });
  // The parts in order: the first holding the maximum gives its index, and
  // every part's sum is rescaled to that maximum.
  LogitSummary out{-std::numeric_limits<float>::infinity(), -1,
                   -std::numeric_limits<double>::infinity()};
  int best_block = -1;
  for (int p = 0; p < n_parts; ++p) {
    if (parts[p].max_value > out.max_value) {
      out.max_value = parts[p].max_value;
      best_block = parts[p].best_block;
    }
  }
  if (best_block < 0) return out;
  for (int i = best_block;; ++i) {
    if (x[i] == out.max_value) {
      out.max_index = i;
      break;
    }
  }
  if (out.max_value == std::numeric_limits<float>::infinity()) {
    out.log_sum_exp = std::numeric_limits<double>::infinity();
    return out;
  }
  double sum = 0;
  for (int p = 0; p < n_parts; ++p) {
    if (parts[p].best_block < 0) continue;
    sum += parts[p].max_value == out.max_value
               ? parts[p].sum
               : parts[p].sum * std::exp((double)parts[p].max_value - out.max_value);
  }
  out.log_sum_exp = out.max_value + std::log(sum);
  return out;
}

LogitSummary summarize_logits(Isa isa, const float* x, int n) {
  return summarize_logits(Context{isa, nullptr}, x, n);
}

int first_above(Isa isa, const float* x, int from, int n, float threshold) {
  if (from >= n) return n;
  return from + kernels_for(isa).first_above(x + from, n - from, threshold);
}

double exp_row(Isa isa, const float* x, int n, float shift, float scale, float* out) {
  if (n <= 0) return 0;
  return kernels_for(isa).exp_row(x, n, shift, scale, out);
}

double log_sum_exp(Isa isa, const float* x, int n) {
  const IsaKernels& kern = kernels_for(isa);
  const float max_value = n > 0 ? kern.row_max(x, n) : -std::numeric_limits<float>::infinity();
  if (!(max_value > -std::numeric_limits<float>::infinity())) {
    return -std::numeric_limits<double>::infinity();
  }
  if (max_value == std::numeric_limits<float>::infinity()) return max_value;
  return max_value + std::log(kern.sum_exp(x, n, max_value));
}

}  // namespace kernels
}  // namespace wn
