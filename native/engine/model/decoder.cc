// The text decoder's forward pass, composed from the kernels. Self-attention
// keys/values are appended to a per-layer cache [n_text_ctx][d] so each step
// only computes the new rows; cross-attention keys/values come from one GEMM
// per layer in set_audio() and are read in place (k at column 0, v at column d
// of a [n_audio_ctx][2d] matrix). Bias, GELU and residual adds ride in the GEMM
// epilogues.
//
// What it is not: token selection or timestamp rules (decode/).
#include "engine/model/decoder.h"

#include <cmath>
#include <cstring>
#include <string>

#include "engine/core/error.h"

namespace wn {
namespace {

constexpr float kLayerNormEps = 1e-5f;

kernels::Epilogue with_bias(const std::vector<float>& bias) {
  kernels::Epilogue ep;
  ep.bias = bias.data();
  return ep;
}

kernels::Epilogue residual_with_bias(const std::vector<float>& bias) {
  kernels::Epilogue ep;
  ep.bias = bias.data();
  ep.accumulate = true;
  return ep;
}

}  // namespace

Decoder::Decoder(const Model& model)
    : model_(model),
      d_(model.hparams().n_text_state),
      n_ctx_(model.hparams().n_text_ctx),
      n_audio_ctx_(model.hparams().n_audio_ctx),
      n_vocab_(model.hparams().n_vocab),
      n_head_(model.hparams().n_text_head) {
  const int64_t n_layer = model.hparams().n_text_layer;
  const int64_t self_size = n_layer * n_ctx_ * d_;
  const int64_t cross_size = n_layer * n_audio_ctx_ * 2 * d_;
  // Cross K/V first: it is written in full by every set_audio(), so its pages
  // are dense; the self caches fill from the front as tokens arrive.
  caches_ = PageBuffer(cross_size + 2 * self_size);
  cross_kv_ = caches_.get();
  self_k_ = cross_kv_ + cross_size;
  self_v_ = self_k_ + self_size;
  reserve_rows(1);
  logits_.resize(n_vocab_);
}

int Decoder::n_ctx() const {
  return n_ctx_;
}

void Decoder::reserve_rows(int n) {
  if (n <= rows_) return;
  const int64_t rows = n, d = d_;
  x_.resize(rows * d);
  h_.resize(rows * d);
  qkv_.resize(rows * 3 * d);
  attn_.resize(rows * d);
  mlp_.resize(rows * 4 * d);
  rows_ = n;
}

void Decoder::set_audio(const float* encoded) {
  const kernels::Context ctx = model_.context();
  for (size_t l = 0; l < model_.dec_blocks.size(); l++) {
    const DecoderBlock& b = model_.dec_blocks[l];
    kernels::linear(ctx, encoded, d_, n_audio_ctx_, b.cross_kv, cross_kv(static_cast<int>(l)),
                    2 * d_, with_bias(b.cross_kv_bias));
  }
  n_past_ = 0;
  has_audio_ = true;
}

void Decoder::truncate(int n) {
  if (n < 0 || n > n_past_) {
    throw Error(ErrorCode::kInvalidArgument, "truncate: expected 0 <= n <= n_past (" +
                                                 std::to_string(n_past_) + "), got " +
                                                 std::to_string(n));
  }
  n_past_ = n;
}

void Decoder::check_input(const int32_t* tokens, int n) const {
  if (!has_audio_) {
    throw Error(ErrorCode::kInvalidArgument, "decoder: set_audio() must come before forward()");
  }
  if (n < 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "decoder: expected at least 1 token, got " + std::to_string(n));
  }
  if (n > n_ctx_ - n_past_) {
    throw Error(ErrorCode::kInvalidArgument,
                "decoder: " + std::to_string(n_past_) + " cached + " + std::to_string(n) +
                    " new tokens exceed the text context of " + std::to_string(n_ctx_));
  }
  for (int i = 0; i < n; i++) {
    if (tokens[i] < 0 || tokens[i] >= n_vocab_) {
      throw Error(ErrorCode::kInvalidArgument,
                  "decoder: token id " + std::to_string(tokens[i]) + " at index " +
                      std::to_string(i) + " is outside [0, " + std::to_string(n_vocab_) + ")");
    }
  }
}

const float* Decoder::forward(const int32_t* tokens, int n, bool all_logits) {
  check_input(tokens, n);
  reserve_rows(n);
  const kernels::Context ctx = model_.context();

  embed(tokens, n);
  for (size_t l = 0; l < model_.dec_blocks.size(); l++) {
    self_attention(static_cast<int>(l), n);
    cross_attention(static_cast<int>(l), n);
    mlp(model_.dec_blocks[l], n);
  }

  // Only the rows whose logits are wanted go through the final LayerNorm and
  // the vocabulary projection (the decoder's single biggest GEMM).
  const int first = all_logits ? 0 : n - 1;
  const int rows = n - first;
  const int64_t d = d_;
  if (logits_.size() < static_cast<size_t>(rows) * n_vocab_)
    logits_.resize(int64_t{rows} * n_vocab_);
  kernels::layer_norm(ctx, x_.data() + first * d, d, rows, d_, model_.dec_ln.gamma.data(),
                      model_.dec_ln.beta.data(), kLayerNormEps, h_.data(), d);
  kernels::linear(ctx, h_.data(), d, rows, model_.tok_emb, logits_.data(), n_vocab_,
                  kernels::Epilogue{});
  n_past_ += n;
  return logits_.data();
}

void Decoder::embed(const int32_t* tokens, int n) {
  for (int i = 0; i < n; i++) {
    float* row = x_.data() + int64_t{i} * d_;
    model_.tok_emb.row(tokens[i], row);
    const float* pos = model_.dec_pos.data() + int64_t{n_past_ + i} * d_;
    for (int c = 0; c < d_; c++) row[c] += pos[c];
  }
}

void Decoder::self_attention(int layer, int n) {
  const kernels::Context ctx = model_.context();
  const DecoderBlock& b = model_.dec_blocks[layer];
  const int64_t d = d_, d3 = 3 * d;
  kernels::layer_norm(ctx, x_.data(), d, n, d_, b.attn_ln.gamma.data(), b.attn_ln.beta.data(),
                      kLayerNormEps, h_.data(), d);
  kernels::linear(ctx, h_.data(), d, n, b.qkv, qkv_.data(), d3, with_bias(b.qkv_bias));
  // Append the new keys/values to the cache at positions n_past_..n_past_+n-1.
  float* k_cache = self_k(layer);
  float* v_cache = self_v(layer);
  for (int i = 0; i < n; i++) {
    const float* row = qkv_.data() + i * d3;
    std::memcpy(k_cache + (n_past_ + i) * d, row + d, sizeof(float) * d);
    std::memcpy(v_cache + (n_past_ + i) * d, row + 2 * d, sizeof(float) * d);
  }
  const int d_head = d_ / n_head_;
  kernels::attention(ctx, qkv_.data(), d3, n, k_cache, d, v_cache, d, n_past_ + n, n_head_, d_head,
                     1.0f / std::sqrt(static_cast<float>(d_head)), /*causal_offset=*/n_past_,
                     attn_.data(), d);
  kernels::linear(ctx, attn_.data(), d, n, b.attn_out, x_.data(), d,
                  residual_with_bias(b.attn_out_bias));
}

void Decoder::cross_attention(int layer, int n) {
  const kernels::Context ctx = model_.context();
  const DecoderBlock& b = model_.dec_blocks[layer];
  const int64_t d = d_;
  kernels::layer_norm(ctx, x_.data(), d, n, d_, b.cross_ln.gamma.data(), b.cross_ln.beta.data(),
                      kLayerNormEps, h_.data(), d);
  float* q = qkv_.data();  // [n][d] here
  kernels::linear(ctx, h_.data(), d, n, b.cross_q, q, d, with_bias(b.cross_q_bias));
  const float* kv = cross_kv(layer);
  const int d_head = d_ / n_head_;
  kernels::attention(ctx, q, d, n, kv, 2 * d, kv + d, 2 * d, n_audio_ctx_, n_head_, d_head,
                     1.0f / std::sqrt(static_cast<float>(d_head)), /*causal_offset=*/-1,
                     attn_.data(), d);
  kernels::linear(ctx, attn_.data(), d, n, b.cross_out, x_.data(), d,
                  residual_with_bias(b.cross_out_bias));
}

void Decoder::mlp(const DecoderBlock& b, int n) {
  const kernels::Context ctx = model_.context();
  const int64_t d = d_;
  kernels::layer_norm(ctx, x_.data(), d, n, d_, b.mlp_ln.gamma.data(), b.mlp_ln.beta.data(),
                      kLayerNormEps, h_.data(), d);
  kernels::Epilogue fc1 = with_bias(b.fc1_bias);
  fc1.gelu = true;
  kernels::linear(ctx, h_.data(), d, n, b.fc1, mlp_.data(), 4 * d, fc1);
  kernels::linear(ctx, mlp_.data(), 4 * d, n, b.fc2, x_.data(), d, residual_with_bias(b.fc2_bias));
}

}  // namespace wn
