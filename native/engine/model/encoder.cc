// The audio encoder's forward pass, composed from the kernels: two
// convolutions as GEMMs over im2col patches, then pre-LN transformer blocks.
// Bias, GELU and residual adds ride in the GEMM epilogues, so the residual
// stream (the caller's output buffer) is only ever updated in place.
//
// What it is not: the numeric kernels themselves (kernels/) or the weight
// layout (model.cc packs it).
#include "engine/model/encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/audio/mel.h"
#include "engine/core/error.h"
#include "engine/core/thread_pool.h"
#include "engine/core/thread_scratch.h"

namespace wn {

namespace internal {
bool encoder_pads_rows = true;
}  // namespace internal

namespace {

constexpr float kLayerNormEps = 1e-5f;
constexpr int kConvWidth = 3;  // both convolutions: kernel 3, padding 1
constexpr int kIm2colRowsPerTask = 32;
// Rows per step of the convolutions and the MLP: the MLP hidden chunk
// (kChunkRows × 4d floats, 1.5 MB for tiny) stays in cache between fc1 and fc2
// and the scratch stays small. A multiple of the GEMM's row block (48).
constexpr int kChunkRows = 240;
// Bytes of the file a task of a low-memory stage() reads and packs at once.
constexpr uint64_t kReadBytes = 128 << 10;

// Sizes of sub-arrays of one allocation, rounded to whole cache lines.
int64_t cache_lines(int64_t n_floats) {
  return (n_floats + 15) / 16 * 16;
}

// The row stride, in floats, of a GEMM input of n columns that the encoder
// lays out itself: n, or n + 16 when n floats are a multiple of 4 KiB. Why:
// the micro-kernel reads one column of kMr (12) rows at a time, and rows 4 KiB
// apart all fall in one set of the L1 data cache (64 sets on x86 and Apple
// cores; 8 ways on AMD Zen 4), which holds at most 8 of them: the rest miss at
// every new cache line. Such widths: medium's d, 3d and 4d (1024, 3072,
// 4096), large's 4d (5120), small's and base's 4d (3072, 2048); none of
// tiny's. The padding moves each row one cache line over. Measured on one Zen 4 core
// (bench_kernels, 1500 rows): medium's fc2 (k 4096) and large's (k 5120) ran
// 5-8 % faster, and whole encodes, alternating with unpadded ones in one
// process: base.en 1-3 %, small.en 2 %, medium.en 7-9 % less time. The
// results are the same bits: only where the rows lie moves (tested).
int64_t padded_stride(int64_t n) {
  const bool aliased = (n * int64_t{sizeof(float)}) % 4096 == 0;
  return internal::encoder_pads_rows && aliased ? n + 16 : n;
}

// Runs fill_row(r) for every r in [0, rows) on the pool, kIm2colRowsPerTask
// rows per task.
template <typename Fn>
void for_each_row(ThreadPool& pool, int rows, const Fn& fill_row) {
  const int64_t n_tasks = (rows + kIm2colRowsPerTask - 1) / kIm2colRowsPerTask;
  pool.parallel_for(n_tasks, [&](int64_t task, int) {
    const int r_end = std::min<int>(rows, static_cast<int>(task + 1) * kIm2colRowsPerTask);
    for (int r = static_cast<int>(task) * kIm2colRowsPerTask; r < r_end; r++) fill_row(r);
  });
}

// Rows [t0, t0+rows) of the patches of a convolution (kernel 3, padding 1):
// patches[r][c*3 + j] = in[c][(t0+r)*stride + j - 1], 0 outside [0, n_in), for
// an input stored [channel][time] (the log-mel).
void im2col_channel_major(ThreadPool& pool, const float* in, int n_channels, int n_in, int t0,
                          int rows, int stride, float* patches) {
  const int64_t width = int64_t{n_channels} * kConvWidth;
  for_each_row(pool, rows, [&](int r) {
    float* row = patches + r * width;
    for (int c = 0; c < n_channels; c++) {
      const float* channel = in + int64_t{c} * n_in;
      for (int j = 0; j < kConvWidth; j++) {
        const int src = (t0 + r) * stride + j - 1;
        row[c * kConvWidth + j] = (src >= 0 && src < n_in) ? channel[src] : 0.0f;
      }
    }
  });
}

// The same for an input stored [time][channel] (conv1's output), into rows
// ld_patches floats apart.
void im2col_time_major(ThreadPool& pool, const float* in, int n_channels, int n_in, int t0,
                       int rows, int stride, float* patches, int64_t ld_patches) {
  for_each_row(pool, rows, [&](int r) {
    float* row = patches + r * ld_patches;
    for (int j = 0; j < kConvWidth; j++) {
      const int src = (t0 + r) * stride + j - 1;
      if (src < 0 || src >= n_in) {
        for (int c = 0; c < n_channels; c++) row[c * kConvWidth + j] = 0.0f;
        continue;
      }
      const float* frame = in + int64_t{src} * n_channels;
      for (int c = 0; c < n_channels; c++) row[c * kConvWidth + j] = frame[c];
    }
  });
}

}  // namespace

namespace {

// Where the arrays of the scratch lie, in floats from its start. h and attn
// are adjacent: conv1's output [2 n_ctx][d] spans both during the stem. work
// is taken by each phase in turn: a head group's q, k and v and its
// transposed keys; the MLP's hidden rows; the im2col patches, and during
// conv1 the log-mel window behind them (mel_buffer()).
struct ScratchLayout {
  int64_t h = 0, attn = 0, work = 0, mel = 0, staging = 0, total = 0;
  // Row strides (padded_stride): of h and attn ([n_ctx][d]), of the MLP's
  // hidden rows ([rows][4d]) and of conv2's patches ([rows][3d]).
  int64_t ld = 0, ld_hidden = 0, ld_patches = 0;
};

// The matrices each step of an encode uses, staged (packed from the file, in
// a low-memory model) together: the stem's two convolutions; per block, the
// heads' q|k|v, the attention output, the MLP (fc1 and fc2 alternate chunk by
// chunk). What stem(), attention() and mlp() pass to stage(), for sizing the
// staging memory: the two must agree.
std::vector<std::vector<const EncoderMatrix*>> staging_rounds(const Model& model) {
  std::vector<std::vector<const EncoderMatrix*>> rounds = {{&model.conv1, &model.conv2}};
  for (const EncoderBlock& b : model.enc_blocks) {
    std::vector<const EncoderMatrix*> heads;
    for (const EncoderMatrix& head : b.qkv) heads.push_back(&head);
    rounds.push_back(heads);
    rounds.push_back({&b.attn_out});
    rounds.push_back({&b.fc1, &b.fc2});
  }
  return rounds;
}

// Bytes a staged matrix takes: its packed size, whole cache lines (each starts
// 64-byte aligned).
size_t staged_bytes(const Model& model, const EncoderMatrix& m) {
  if (!m.in_file()) return 0;
  return (kernels::PackedWeights::storage_bytes(model.context().isa, m.type, m.n, m.k) + 63) / 64 *
         64;
}

// The staging memory: the largest round's matrices side by side.
size_t staging_bytes(const Model& model) {
  if (!model.low_memory()) return 0;
  size_t most = 0;
  for (const std::vector<const EncoderMatrix*>& round : staging_rounds(model)) {
    size_t bytes = 0;
    for (const EncoderMatrix* m : round) bytes += staged_bytes(model, *m);
    most = std::max(most, bytes);
  }
  return most;
}

ScratchLayout scratch_layout(const Model& model, int group) {
  const HParams& hp = model.hparams();
  const int64_t ctx = hp.n_audio_ctx, d = hp.n_audio_state, n_mels = hp.n_mels;
  const int d_head = hp.n_audio_state / hp.n_audio_head;
  const int64_t qkv = cache_lines(3 * group * ctx * d_head);
  const int64_t keys = cache_lines(
      static_cast<int64_t>(kernels::attention_key_scratch_floats(hp.n_audio_ctx, group, d_head)));
  const int64_t conv1_patches = cache_lines(int64_t{kChunkRows} * kConvWidth * n_mels);
  const int64_t mel = cache_lines(n_mels * 2 * ctx);
  ScratchLayout l;
  l.ld = padded_stride(d);
  l.ld_hidden = padded_stride(4 * d);
  l.ld_patches = padded_stride(kConvWidth * d);
  // conv1's output, [2 n_ctx][d] unpadded, spans h and attn.
  l.attn = l.h + cache_lines(ctx * l.ld);
  l.work = l.attn + cache_lines(ctx * l.ld);
  l.mel = l.work + conv1_patches;
  l.staging =
      l.work + std::max({qkv + keys, cache_lines(int64_t{kChunkRows} * l.ld_hidden),
                         cache_lines(int64_t{kChunkRows} * l.ld_patches), conv1_patches + mel});
  // A low-memory model's matrices are packed here, 64-byte aligned (+16
  // floats of slack for scratch that is not).
  const int64_t staging = static_cast<int64_t>(staging_bytes(model) / sizeof(float));
  l.total = l.staging + (staging > 0 ? staging + 16 : 0);
  return l;
}

// The stem reads 2 n_audio_ctx log-mel frames, and every caller passes
// Whisper's 30 s window (kWindowFrames): any other n_audio_ctx would read past
// the window or leave part of it out. Model::load accepts such a file (the
// tests' small models load and never encode); only encoding it is refused.
void check_audio_ctx(const Model& model) {
  const int n_audio_ctx = model.hparams().n_audio_ctx;
  if (2 * int64_t{n_audio_ctx} != kWindowFrames) {
    throw Error(ErrorCode::kModelFormat, "the model's n_audio_ctx is " +
                                             std::to_string(n_audio_ctx) + "; the encoder needs " +
                                             std::to_string(kWindowFrames / 2) +
                                             " audio positions (Whisper's 30 s window of " +
                                             std::to_string(kWindowFrames) + " log-mel frames)");
  }
}

void check_heads_per_group(const Model& model, int heads_per_group) {
  const int n_head = model.hparams().n_audio_head;
  if (heads_per_group < 1 || n_head % heads_per_group != 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "encoder: heads per group " + std::to_string(heads_per_group) +
                    " does not divide the " + std::to_string(n_head) + " heads");
  }
}

}  // namespace

size_t Encoder::scratch_floats(const Model& model, int heads_per_group) {
  check_audio_ctx(model);
  check_heads_per_group(model, heads_per_group);
  return static_cast<size_t>(scratch_layout(model, heads_per_group).total);
}

int Encoder::heads_per_group_within(const Model& model, size_t floats) {
  for (int group = model.hparams().n_audio_head; group > 1; group--) {
    if (model.hparams().n_audio_head % group == 0 &&
        static_cast<size_t>(scratch_layout(model, group).total) <= floats) {
      return group;
    }
  }
  return 1;
}

Encoder::Encoder(const Model& model, float* scratch, int heads_per_group)
    : model_(model),
      n_ctx_(model.hparams().n_audio_ctx),
      n_frames_(2 * model.hparams().n_audio_ctx),
      d_(model.hparams().n_audio_state),
      n_mels_(model.hparams().n_mels),
      heads_per_group_(heads_per_group) {
  check_audio_ctx(model);
  check_heads_per_group(model, heads_per_group);
  const ScratchLayout layout = scratch_layout(model, heads_per_group);
  if (scratch == nullptr) {
    own_scratch_ = PageBuffer(static_cast<size_t>(layout.total));
    scratch = own_scratch_.get();
  }
  h_ = scratch + layout.h;
  attn_ = scratch + layout.attn;
  ld_ = layout.ld;
  ld_hidden_ = layout.ld_hidden;
  ld_patches_ = layout.ld_patches;
  work_ = scratch + layout.work;
  mel_ = scratch + layout.mel;
  const uintptr_t staging = reinterpret_cast<uintptr_t>(scratch + layout.staging);
  staging_ = reinterpret_cast<unsigned char*>((staging + 63) & ~uintptr_t{63});
  staging_bytes_ = staging_bytes(model);
}

size_t Encoder::scratch_bytes() const {
  return scratch_floats(model_, heads_per_group_) * sizeof(float);
}

void Encoder::encode(const float* mel, float* out, const CancellationFlag* cancel) {
  throw_if_cancelled(cancel);
  // The steps poll cancel_; the caller's flag need not outlive the call.
  cancel_ = cancel;
  struct ClearOnExit {
    const CancellationFlag*& flag;
    ~ClearOnExit() { flag = nullptr; }
  } clear_cancel{cancel_};
  // Weights read from the file: refuse a file changed since load (a file
  // truncated later, while this encode reads it, is a short read: throws too).
  model_.check_file_unchanged();
  // The pool is held a block at a time (ThreadPool::Turn): other calls on the
  // model take their turns between blocks, not between ops.
  {
    const ThreadPool::Turn turn(&model_.pool());
    stem(mel, out);
  }
  for (const EncoderBlock& b : model_.enc_blocks) {
    throw_if_cancelled(cancel);
    const ThreadPool::Turn turn(&model_.pool());
    block(b, out);
  }
  const kernels::Context ctx = model_.context();
  const ThreadPool::Turn turn(&model_.pool());
  kernels::layer_norm(ctx, out, d_, n_ctx_, d_, model_.enc_ln_post.gamma.data(),
                      model_.enc_ln_post.beta.data(), kLayerNormEps, out, d_);
  // Our own scratch is dead until the next call: give its pages back so that
  // it and whatever the caller touches next (a decoder's cross K/V, about as
  // big) do not add up in peak RSS. Lent scratch is the caller's to reuse.
  own_scratch_.discard();
}

void Encoder::stage(const EncoderMatrix* const* matrices, size_t n) {
  ready_.resize(n);
  staged_.resize(std::max(staged_.size(), n));
  // Each part of a matrix in the file is packed as a matrix of its own into
  // its panels of the staged matrix (views of the staging memory).
  const kernels::Isa isa = model_.context().isa;
  const int panel_rows = kernels::PackedWeights::panel_width(isa);
  size_t n_parts = 0;
  for (size_t i = 0; i < n; i++) n_parts += matrices[i]->parts.size();
  parts_.clear();
  parts_.reserve(n_parts);  // tasks point into it
  tasks_.clear();
  unsigned char* at = staging_;
  for (size_t i = 0; i < n; i++) {
    const EncoderMatrix& m = *matrices[i];
    if (!m.in_file()) {
      ready_[i] = &m.packed;
      continue;
    }
    staged_[i] = kernels::PackedWeights::allocate_in(at, isa, m.type, m.n, m.k);
    ready_[i] = &staged_[i];
    const size_t panel_bytes = staged_[i].bytes() / static_cast<size_t>(staged_[i].n_panels());
    unsigned char* part_at = at;
    for (const EncoderMatrix::Part& part : m.parts) {
      parts_.push_back(kernels::PackedWeights::allocate_in(part_at, isa, m.type, part.rows, m.k));
      kernels::PackedWeights* w = &parts_.back();
      part_at += panel_bytes * static_cast<size_t>(w->n_panels());
      // Tasks of about kReadBytes of the file: one read each, few enough
      // for the system calls not to matter, enough for both threads.
      const uint64_t row_bytes = part.bytes / static_cast<uint64_t>(part.rows);
      const uint64_t panel_file_bytes = row_bytes * static_cast<uint64_t>(panel_rows);
      const int per_task = static_cast<int>(std::max<uint64_t>(1, kReadBytes / panel_file_bytes));
      for (int p0 = 0; p0 < w->n_panels(); p0 += per_task) {
        const int p1 = std::min(w->n_panels(), p0 + per_task);
        const uint64_t first_row = static_cast<uint64_t>(p0) * panel_rows;
        const uint64_t end_row = std::min<uint64_t>(part.rows, uint64_t(p1) * panel_rows);
        tasks_.push_back(
            {w, part.offset + first_row * row_bytes, (end_row - first_row) * row_bytes, p0, p1});
      }
    }
    at += staged_bytes(model_, m);
    if (at > staging_ + staging_bytes_) {
      throw Error(ErrorCode::kInternal, "encoder: a step stages more than staging_rounds() sized");
    }
  }
  if (tasks_.empty()) return;
  // Each task reads its rows into its thread's buffer (the file's pages stay
  // in the OS's cache, outside this process) and packs them.
  model_.pool().parallel_for(static_cast<int64_t>(tasks_.size()), [&](int64_t t, int) {
    const PackTask& task = tasks_[t];
    uint8_t* rows = thread_scratch_of<uint8_t>(ScratchSlot::kFileRead, task.bytes);
    model_.read_file(task.offset, rows, task.bytes);
    task.part->pack_panel_rows(rows, task.p0, task.p1);
  });
}

void Encoder::stem(const float* mel, float* x) {
  const kernels::Context ctx = model_.context();
  const int64_t d = d_;
  float* conv1_out = h_;  // [n_frames][d], over h and attn
  const EncoderMatrix* convs[] = {&model_.conv1, &model_.conv2};
  stage(convs, 2);
  const kernels::PackedWeights& conv1 = ready(0);
  const kernels::PackedWeights& conv2 = ready(1);
  const kernels::Epilogue ep1{model_.conv1_bias.data(), /*gelu=*/true, /*accumulate=*/false};
  for (int t0 = 0; t0 < n_frames_; t0 += kChunkRows) {
    throw_if_cancelled(cancel_);
    const int rows = std::min(kChunkRows, n_frames_ - t0);
    im2col_channel_major(model_.pool(), mel, n_mels_, n_frames_, t0, rows, /*stride=*/1, work_);
    kernels::linear(ctx, work_, int64_t{n_mels_} * kConvWidth, rows, conv1, conv1_out + t0 * d, d,
                    ep1);
  }
  // x = pos + GELU(conv2 + bias): start from the embedding and accumulate.
  const kernels::Epilogue ep2{model_.conv2_bias.data(), /*gelu=*/true, /*accumulate=*/true};
  for (int t0 = 0; t0 < n_ctx_; t0 += kChunkRows) {
    throw_if_cancelled(cancel_);
    const int rows = std::min(kChunkRows, n_ctx_ - t0);
    const size_t pos_bytes = sizeof(float) * rows * d;
    if (model_.enc_pos_in_file >= 0) {
      model_.read_file(static_cast<uint64_t>(model_.enc_pos_in_file) + sizeof(float) * t0 * d,
                       x + t0 * d, pos_bytes);
    } else {
      model_.enc_pos.rows(ctx, t0, rows, x + t0 * d);
    }
    im2col_time_major(model_.pool(), conv1_out, d_, n_frames_, t0, rows, /*stride=*/2, work_,
                      ld_patches_);
    kernels::linear(ctx, work_, ld_patches_, rows, conv2, x + t0 * d, d, ep2);
  }
}

void Encoder::block(const EncoderBlock& b, float* x) {
  attention(b, x);
  mlp(b, x);
}

void Encoder::attention(const EncoderBlock& b, float* x) {
  const kernels::Context ctx = model_.context();
  const int n_head = model_.hparams().n_audio_head;
  const int d_head = d_ / n_head;
  const int64_t d = d_;
  kernels::layer_norm(ctx, x, d, n_ctx_, d_, b.attn_ln.gamma.data(), b.attn_ln.beta.data(),
                      kLayerNormEps, h_, ld_);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d_head));
  heads_.clear();
  for (const EncoderMatrix& head : b.qkv) heads_.push_back(&head);
  stage(heads_.data(), heads_.size());
  // A group of heads at a time: their q, k and v (a GEMM per head), then
  // their attention into their columns of attn_. Why: q, k and v of all heads
  // would take 3 n_ctx d floats of scratch (6.9 MB for tiny), one head's
  // 3 n_ctx d_head; a GEMM per head runs as fast (h_ stays in cache), and a
  // group's heads share one attention call (fewer, fuller rounds of tasks).
  const int group = heads_per_group_;
  const int64_t head_block = int64_t{n_ctx_} * d_head;
  float* keys = work_ + cache_lines(3 * group * head_block);
  for (int h0 = 0; h0 < n_head; h0 += group) {
    throw_if_cancelled(cancel_);  // a relaxed load: cheap next to a head group
    float* out = attn_ + int64_t{h0} * d_head;
    if (d_head % 64 == 0) {
      // q, k and v one block each per head ([group][3][n_ctx][d_head]):
      // attention streams each head's rows contiguously, where slices of
      // q|k|v rows defeated the prefetchers.
      for (int j = 0; j < group; j++) {
        kernels::Epilogue ep{b.qkv_bias.data() + int64_t{h0 + j} * 3 * d_head};
        ep.block_width = d_head;
        ep.block_stride = head_block;
        kernels::linear(ctx, h_, ld_, n_ctx_, ready(h0 + j), work_ + 3 * j * head_block, d_head,
                        ep);
      }
      const int64_t stride = 3 * head_block;  // from one head's q (k, v) to the next's
      kernels::attention(ctx, work_, d_head, n_ctx_, work_ + head_block, d_head,
                         work_ + 2 * head_block, d_head, n_ctx_, group, d_head, scale,
                         /*causal_offset=*/-1, out, ld_, keys, {stride, stride, stride});
    } else {
      // Head sizes that are not a multiple of 64 (test models only): q|k|v
      // rows, one head at a time.
      for (int j = 0; j < group; j++) {
        const int64_t width = 3 * int64_t{d_head};
        kernels::linear(ctx, h_, ld_, n_ctx_, ready(h0 + j), work_, width,
                        kernels::Epilogue{b.qkv_bias.data() + (h0 + j) * width});
        kernels::attention(ctx, work_, width, n_ctx_, work_ + d_head, width, work_ + 2 * d_head,
                           width, n_ctx_, 1, d_head, scale, /*causal_offset=*/-1,
                           out + int64_t{j} * d_head, ld_, keys);
      }
    }
  }
  const EncoderMatrix* out_proj = &b.attn_out;
  stage(&out_proj, 1);
  kernels::linear(ctx, attn_, ld_, n_ctx_, ready(0), x, d,
                  kernels::Epilogue{b.attn_out_bias.data(), /*gelu=*/false, /*accumulate=*/true});
}

void Encoder::mlp(const EncoderBlock& b, float* x) {
  const kernels::Context ctx = model_.context();
  const int64_t d = d_;
  kernels::layer_norm(ctx, x, d, n_ctx_, d_, b.mlp_ln.gamma.data(), b.mlp_ln.beta.data(),
                      kLayerNormEps, h_, ld_);
  const EncoderMatrix* fcs[] = {&b.fc1, &b.fc2};
  stage(fcs, 2);
  const kernels::PackedWeights& w1 = ready(0);
  const kernels::PackedWeights& w2 = ready(1);
  const kernels::Epilogue fc1{b.fc1_bias.data(), /*gelu=*/true, /*accumulate=*/false};
  const kernels::Epilogue fc2{b.fc2_bias.data(), /*gelu=*/false, /*accumulate=*/true};
  for (int t0 = 0; t0 < n_ctx_; t0 += kChunkRows) {
    throw_if_cancelled(cancel_);  // the first: between the attention and the MLP
    const int rows = std::min(kChunkRows, n_ctx_ - t0);
    kernels::linear(ctx, h_ + t0 * ld_, ld_, rows, w1, work_, ld_hidden_, fc1);
    kernels::linear(ctx, work_, ld_hidden_, rows, w2, x + t0 * d, d, fc2);
  }
}

}  // namespace wn
