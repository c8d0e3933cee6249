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

// patches[t][c*3 + j] = in[c][t*stride + j - 1] (0 outside [0, n_in)), for an
// input stored [channel][time]. This is conv1's input: the log-mel.
void im2col_channel_major(ThreadPool& pool, const float* in, int n_channels, int n_in, int n_out,
                          int stride, float* patches) {
  const int64_t width = static_cast<int64_t>(n_channels) * kConvWidth;
  const int64_t n_tasks = (n_out + kIm2colRowsPerTask - 1) / kIm2colRowsPerTask;
  pool.parallel_for(n_tasks, [&](int64_t task, int) {
    const int t_end = std::min<int>(n_out, static_cast<int>(task + 1) * kIm2colRowsPerTask);
    for (int t = static_cast<int>(task) * kIm2colRowsPerTask; t < t_end; t++) {
      float* row = patches + t * width;
      for (int c = 0; c < n_channels; c++) {
        const float* channel = in + static_cast<int64_t>(c) * n_in;
        for (int j = 0; j < kConvWidth; j++) {
          const int src = t * stride + j - 1;
          row[c * kConvWidth + j] = (src >= 0 && src < n_in) ? channel[src] : 0.0f;
        }
      }
    }
  });
}

// The same patches for an input stored [time][channel] (conv1's output).
void im2col_time_major(ThreadPool& pool, const float* in, int n_channels, int n_in, int n_out,
                       int stride, float* patches) {
  const int64_t width = static_cast<int64_t>(n_channels) * kConvWidth;
  const int64_t n_tasks = (n_out + kIm2colRowsPerTask - 1) / kIm2colRowsPerTask;
  pool.parallel_for(n_tasks, [&](int64_t task, int) {
    const int t_end = std::min<int>(n_out, static_cast<int>(task + 1) * kIm2colRowsPerTask);
    for (int t = static_cast<int>(task) * kIm2colRowsPerTask; t < t_end; t++) {
      float* row = patches + t * width;
      for (int j = 0; j < kConvWidth; j++) {
        const int src = t * stride + j - 1;
        if (src < 0 || src >= n_in) {
          for (int c = 0; c < n_channels; c++) row[c * kConvWidth + j] = 0.0f;
          continue;
        }
        const float* frame = in + static_cast<int64_t>(src) * n_channels;
        for (int c = 0; c < n_channels; c++) row[c * kConvWidth + j] = frame[c];
      }
    }
  });
}

}  // namespace

Encoder::Encoder(const Model& model)
    : model_(model),
      n_ctx_(model.hparams().n_audio_ctx),
      n_frames_(2 * model.hparams().n_audio_ctx),
      d_(model.hparams().n_audio_state),
      n_mels_(model.hparams().n_mels) {
  const int64_t ctx = n_ctx_, d = d_;
  h_.resize(ctx * d);
  // qkv_ also holds the im2col patches of either convolution.
  qkv_.resize(
      std::max({ctx * 3 * d, int64_t{n_frames_} * n_mels_ * kConvWidth, ctx * d * kConvWidth}));
  // mlp_ also holds conv1's output [n_frames][d] = [n_ctx][2d].
  mlp_.resize(ctx * 4 * d);
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
}

void Encoder::stem(const float* mel, float* x) {
  const kernels::Context ctx = model_.context();
  float* patches = qkv_.data();
  float* conv1_out = mlp_.data();  // [n_frames][d]

  im2col_channel_major(model_.pool(), mel, n_mels_, n_frames_, n_frames_, /*stride=*/1, patches);
  kernels::Epilogue ep1;
  ep1.bias = model_.conv1_bias.data();
  ep1.gelu = true;
  kernels::linear(ctx, patches, int64_t{n_mels_} * kConvWidth, n_frames_, model_.conv1, conv1_out,
                  d_, ep1);

  im2col_time_major(model_.pool(), conv1_out, d_, n_frames_, n_ctx_, /*stride=*/2, patches);
  // x = pos + GELU(conv2 + bias): start from the embedding and accumulate.
  std::memcpy(x, model_.enc_pos.data(), sizeof(float) * n_ctx_ * d_);
  kernels::Epilogue ep2;
  ep2.bias = model_.conv2_bias.data();
  ep2.gelu = true;
  ep2.accumulate = true;
  kernels::linear(ctx, patches, int64_t{d_} * kConvWidth, n_ctx_, model_.conv2, x, d_, ep2);
}

void Encoder::block(const EncoderBlock& b, float* x) {
  const kernels::Context ctx = model_.context();
  const int n_head = model_.hparams().n_audio_head;
  const int d_head = d_ / n_head;
  const int64_t d = d_, d3 = 3 * d, d4 = 4 * d;
  float* h = h_.data();
  float* qkv = qkv_.data();

  kernels::layer_norm(ctx, x, d, n_ctx_, d_, b.attn_ln.gamma.data(), b.attn_ln.beta.data(),
                      kLayerNormEps, h, d);
  kernels::Epilogue qkv_ep;
  qkv_ep.bias = b.qkv_bias.data();
  kernels::linear(ctx, h, d, n_ctx_, b.qkv, qkv, d3, qkv_ep);
  // h is free again: it takes the attention output.
  kernels::attention(ctx, qkv, d3, n_ctx_, qkv + d, d3, qkv + 2 * d, d3, n_ctx_, n_head, d_head,
                     1.0f / std::sqrt(static_cast<float>(d_head)), /*causal_offset=*/-1, h, d);
  kernels::Epilogue residual;
  residual.bias = b.attn_out_bias.data();
  residual.accumulate = true;
  kernels::linear(ctx, h, d, n_ctx_, b.attn_out, x, d, residual);

  kernels::layer_norm(ctx, x, d, n_ctx_, d_, b.mlp_ln.gamma.data(), b.mlp_ln.beta.data(),
                      kLayerNormEps, h, d);
  kernels::Epilogue fc1_ep;
  fc1_ep.bias = b.fc1_bias.data();
  fc1_ep.gelu = true;
  kernels::linear(ctx, h, d, n_ctx_, b.fc1, mlp_.data(), d4, fc1_ep);
  residual.bias = b.fc2_bias.data();
  kernels::linear(ctx, mlp_.data(), d4, n_ctx_, b.fc2, x, d, residual);
}

}  // namespace wn
