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

namespace wn {
namespace {

constexpr float kLayerNormEps = 1e-5f;
constexpr int kConvWidth = 3;  // both convolutions: kernel 3, padding 1
constexpr int kIm2colRowsPerTask = 32;
// Rows per step of the convolutions and the MLP: the MLP hidden chunk
// (kChunkRows × 4d floats, 1.5 MB for tiny) stays in cache between fc1 and fc2
// and the scratch stays small. A multiple of the GEMM's row block (48).
constexpr int kChunkRows = 240;

// Sizes of sub-arrays of one allocation, rounded to whole cache lines.
int64_t cache_lines(int64_t n_floats) {
  return (n_floats + 15) / 16 * 16;
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

// The same for an input stored [time][channel] (conv1's output).
void im2col_time_major(ThreadPool& pool, const float* in, int n_channels, int n_in, int t0,
                       int rows, int stride, float* patches) {
  const int64_t width = int64_t{n_channels} * kConvWidth;
  for_each_row(pool, rows, [&](int r) {
    float* row = patches + r * width;
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

// The scratch layout: h [n_ctx][d], qkv [n_ctx][3d], chunk [kChunkRows][width]
// (the MLP hidden rows or im2col patches; during attention, the keys
// transposed per head).
struct ScratchLayout {
  int64_t h_size, qkv_size, chunk_size;
  int64_t total() const { return h_size + qkv_size + chunk_size; }
};

ScratchLayout scratch_layout(const HParams& hp) {
  const int64_t ctx = hp.n_audio_ctx, d = hp.n_audio_state;
  const int64_t chunk_width = std::max({4 * d, int64_t{kConvWidth} * hp.n_mels, kConvWidth * d});
  const int64_t keys = static_cast<int64_t>(kernels::attention_key_scratch_floats(
      hp.n_audio_ctx, hp.n_audio_head, hp.n_audio_state / hp.n_audio_head));
  // qkv >= conv1's output, n_frames * d = ctx * 2d.
  return {cache_lines(ctx * d), cache_lines(ctx * 3 * d),
          cache_lines(std::max(kChunkRows * chunk_width, keys))};
}

}  // namespace

size_t Encoder::scratch_floats(const Model& model) {
  return static_cast<size_t>(scratch_layout(model.hparams()).total());
}

Encoder::Encoder(const Model& model, float* scratch)
    : model_(model),
      n_ctx_(model.hparams().n_audio_ctx),
      n_frames_(2 * model.hparams().n_audio_ctx),
      d_(model.hparams().n_audio_state),
      n_mels_(model.hparams().n_mels),
      chunk_width_(std::max({4 * d_, kConvWidth * n_mels_, kConvWidth * d_})) {
  const ScratchLayout layout = scratch_layout(model.hparams());
  if (scratch == nullptr) {
    own_scratch_ = PageBuffer(static_cast<size_t>(layout.total()));
    scratch = own_scratch_.get();
  }
  h_ = scratch;
  qkv_ = h_ + layout.h_size;
  chunk_ = qkv_ + layout.qkv_size;
}

size_t Encoder::scratch_bytes() const {
  return scratch_floats(model_) * sizeof(float);
}

void Encoder::encode(const float* mel, float* out, const CancellationFlag* cancel) {
  throw_if_cancelled(cancel);
  stem(mel, out);
  for (const EncoderBlock& b : model_.enc_blocks) {
    throw_if_cancelled(cancel);
    block(b, out);
  }
  const kernels::Context ctx = model_.context();
  kernels::layer_norm(ctx, out, d_, n_ctx_, d_, model_.enc_ln_post.gamma.data(),
                      model_.enc_ln_post.beta.data(), kLayerNormEps, out, d_);
  // Our own scratch is dead until the next call: give its pages back so that
  // it and whatever the caller touches next (a decoder's cross K/V, about as
  // big) do not add up in peak RSS. Lent scratch is the caller's to reuse.
  own_scratch_.discard();
}

void Encoder::stem(const float* mel, float* x) {
  const kernels::Context ctx = model_.context();
  const int64_t d = d_;
  float* conv1_out = qkv_;  // [n_frames][d]
  const kernels::Epilogue ep1{model_.conv1_bias.data(), /*gelu=*/true, /*accumulate=*/false};
  for (int t0 = 0; t0 < n_frames_; t0 += kChunkRows) {
    const int rows = std::min(kChunkRows, n_frames_ - t0);
    im2col_channel_major(model_.pool(), mel, n_mels_, n_frames_, t0, rows, /*stride=*/1, chunk_);
    kernels::linear(ctx, chunk_, int64_t{n_mels_} * kConvWidth, rows, model_.conv1,
                    conv1_out + t0 * d, d, ep1);
  }
  // x = pos + GELU(conv2 + bias): start from the embedding and accumulate.
  std::memcpy(x, model_.enc_pos.data(), sizeof(float) * n_ctx_ * d);
  const kernels::Epilogue ep2{model_.conv2_bias.data(), /*gelu=*/true, /*accumulate=*/true};
  for (int t0 = 0; t0 < n_ctx_; t0 += kChunkRows) {
    const int rows = std::min(kChunkRows, n_ctx_ - t0);
    im2col_time_major(model_.pool(), conv1_out, d_, n_frames_, t0, rows, /*stride=*/2, chunk_);
    kernels::linear(ctx, chunk_, d * kConvWidth, rows, model_.conv2, x + t0 * d, d, ep2);
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
  float* h = h_;
  kernels::layer_norm(ctx, x, d, n_ctx_, d_, b.attn_ln.gamma.data(), b.attn_ln.beta.data(),
                      kLayerNormEps, h, d);
  // q, k and v one block per head ([3 * n_head][n_ctx][d_head]): attention
  // then streams each head's rows contiguously, where the heads' 256-byte
  // slices of 4.6 KB q|k|v rows defeated the prefetchers. Head sizes that are
  // not a multiple of 64 (test models only) keep q|k|v rows.
  const float scale = 1.0f / std::sqrt(static_cast<float>(d_head));
  kernels::Epilogue qkv_ep{b.qkv_bias.data()};
  if (d_head % 64 == 0) {
    const int64_t head_block = int64_t{n_ctx_} * d_head;
    qkv_ep.block_width = d_head;
    qkv_ep.block_stride = head_block;
    kernels::linear(ctx, h, d, n_ctx_, b.qkv, qkv_, d_head, qkv_ep);
    const float* q = qkv_;
    const float* k = q + n_head * head_block;
    const float* v = k + n_head * head_block;
    // h is free again: it takes the attention output.
    kernels::attention(ctx, q, d_head, n_ctx_, k, d_head, v, d_head, n_ctx_, n_head, d_head, scale,
                       /*causal_offset=*/-1, h, d, /*key_scratch=*/chunk_,
                       {head_block, head_block, head_block});
  } else {
    const int64_t d3 = 3 * d;
    kernels::linear(ctx, h, d, n_ctx_, b.qkv, qkv_, d3, qkv_ep);
    kernels::attention(ctx, qkv_, d3, n_ctx_, qkv_ + d, d3, qkv_ + 2 * d, d3, n_ctx_, n_head,
                       d_head, scale, /*causal_offset=*/-1, h, d, /*key_scratch=*/chunk_);
  }
  kernels::linear(ctx, h, d, n_ctx_, b.attn_out, x, d,
                  kernels::Epilogue{b.attn_out_bias.data(), /*gelu=*/false, /*accumulate=*/true});
}

void Encoder::mlp(const EncoderBlock& b, float* x) {
  const kernels::Context ctx = model_.context();
  const int64_t d = d_, d4 = 4 * d;
  float* h = h_;
  kernels::layer_norm(ctx, x, d, n_ctx_, d_, b.mlp_ln.gamma.data(), b.mlp_ln.beta.data(),
                      kLayerNormEps, h, d);
  const kernels::Epilogue fc1{b.fc1_bias.data(), /*gelu=*/true, /*accumulate=*/false};
  const kernels::Epilogue fc2{b.fc2_bias.data(), /*gelu=*/false, /*accumulate=*/true};
  for (int t0 = 0; t0 < n_ctx_; t0 += kChunkRows) {
    const int rows = std::min(kChunkRows, n_ctx_ - t0);
    kernels::linear(ctx, h + t0 * d, d, rows, b.fc1, chunk_, d4, fc1);
    kernels::linear(ctx, chunk_, d4, rows, b.fc2, x + t0 * d, d, fc2);
  }
}

}  // namespace wn
