// The text decoder's forward pass, composed from the kernels. Self-attention
// keys/values are appended to a per-slot cache (position-major: every layer's
// rows of a position together) so each step only computes the new rows; a pass runs over rows of
// one slot (forward) or one row of each of several slots (forward_batch): every linear layer is one
// GEMM over all rows, self-attention runs per slot over its own cache, cross-attention over all
// rows at once. Cross-attention keys/values come from one GEMM per layer in set_audio(), stored in
// f16 as one block per head. Bias, GELU and residual adds ride in the GEMM epilogues.
//
// What it is not: token selection or timestamp rules (decode/).
#include "engine/model/decoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/core/error.h"
#include "engine/core/thread_pool.h"

namespace wn {
namespace {

constexpr float kLayerNormEps = 1e-5f;
// Audio rows per cross K/V GEMM in set_audio(): the f32 chunk (rows x 2d) is
// narrowed to f16 while it is still in cache. A multiple of the GEMM's row block.
constexpr int kCrossChunkRows = 240;

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

// The encoder output's floats in the self-attention memory, whole cache lines.
int64_t audio_floats(const HParams& hp) {
  return (int64_t{hp.n_audio_ctx} * hp.n_audio_state + 15) / 16 * 16;
}

}  // namespace

size_t Decoder::cross_kv_halves(const Model& model) {
  const HParams& hp = model.hparams();
  return static_cast<size_t>(hp.n_text_layer) * hp.n_audio_ctx * 2 * hp.n_text_state;
}

Decoder::Decoder(const Model& model, int n_slots, uint16_t* cross_kv)
    : model_(model),
      d_(model.hparams().n_text_state),
      n_ctx_(model.hparams().n_text_ctx),
      n_audio_ctx_(model.hparams().n_audio_ctx),
      n_vocab_(model.hparams().n_vocab),
      n_head_(model.hparams().n_text_head),
      n_layer_(model.hparams().n_text_layer) {
  if (n_slots < 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "decoder: expected at least 1 slot, got " + std::to_string(n_slots));
  }
  held_.resize(static_cast<size_t>(n_slots));
  kv_ld_ = int64_t{n_layer_} * 2 * d_;
  const int64_t self_size = int64_t{n_slots} * n_ctx_ * kv_ld_;
  const int64_t audio_size = audio_floats(model.hparams());
  self_memory_ = PageBuffer(
      static_cast<size_t>(std::max(self_size, audio_size + kCrossChunkRows * 2 * int64_t{d_})),
      PageBuffer::Pages::kSmall);
  // Every window's encoder output fills the front of it (audio_buffer()).
  self_memory_.use_huge_pages(static_cast<size_t>(audio_size));
  if (cross_kv == nullptr) {
    own_cross_kv_ = PageBuffer((cross_kv_halves(model) + 1) / 2);
    cross_kv = reinterpret_cast<uint16_t*>(own_cross_kv_.get());
  }
  cross_kv_ = cross_kv;
  rows_.reserve(1, d_);
  logits_.resize(n_vocab_);
}

int Decoder::n_ctx() const {
  return n_ctx_;
}

int Decoder::check_slot(int slot) const {
  if (slot < 0 || slot >= static_cast<int>(held_.size())) {
    throw Error(ErrorCode::kInvalidArgument, "decoder: slot " + std::to_string(slot) +
                                                 " is outside [0, " + std::to_string(held_.size()) +
                                                 ")");
  }
  return slot;
}

void DecoderRows::reserve(int n, int d) {
  if (n <= rows) return;
  const int64_t r = n;
  x.resize(r * d);
  h.resize(r * d);
  qkv.resize(r * 3 * d);
  attn.resize(r * d);
  mlp.resize(r * 4 * d);
  outputs.resize(static_cast<size_t>(n));
  rows = n;
}

float* Decoder::audio_buffer() {
  for (std::vector<int32_t>& held : held_) held.clear();
  return self_memory_.get();
}

void Decoder::set_audio(const float* encoded) {
  // The caches are overwritten below; until this returns there is no audio.
  for (std::vector<int32_t>& held : held_) held.clear();
  has_audio_ = false;
  const kernels::Context ctx = model_.context();
  const int64_t d2 = 2 * int64_t{d_};
  const int d_head = d_ / n_head_;
  // A chunk of f32 K/V rows before narrowing, in the self-attention memory
  // after where audio_buffer()'s output lies: both are dead once this returns.
  float* chunk = self_memory_.get() + audio_floats(model_.hparams());
  for (size_t l = 0; l < model_.dec_blocks.size(); l++) {
    const DecoderBlock& b = model_.dec_blocks[l];
    const ThreadPool::Turn turn(&model_.pool());  // other calls wait between layers
    for (int r0 = 0; r0 < n_audio_ctx_; r0 += kCrossChunkRows) {
      const int rows = std::min(kCrossChunkRows, n_audio_ctx_ - r0);
      kernels::linear(ctx, encoded + r0 * int64_t{d_}, d_, rows, b.cross_kv, chunk, d2,
                      with_bias(b.cross_kv_bias));
      // Columns [0, d) are the keys and [d, 2d) the values, head by head:
      // each head's rows go to its own block, one task per head's keys or
      // values (each too small to split further: one call per block ran on
      // one thread and cost the encode ~10% of its two-thread speed-up).
      const kernels::Context one_thread{ctx.isa, nullptr};
      model_.pool().parallel_for(2 * int64_t{n_head_}, [&](int64_t task, int) {
        const int h = static_cast<int>(task / 2);
        const bool values = task % 2 == 1;
        uint16_t* dst = values ? cross_v(static_cast<int>(l), h) : cross_k(static_cast<int>(l), h);
        kernels::f32_to_f16_rows(one_thread, chunk + (values ? d_ : 0) + h * d_head, d2, rows,
                                 d_head, dst + int64_t{r0} * d_head, d_head);
      });
    }
  }
  has_audio_ = true;
}

void Decoder::truncate(int n, int slot) {
  std::vector<int32_t>& held = held_[check_slot(slot)];
  if (n < 0 || n > static_cast<int>(held.size())) {
    throw Error(ErrorCode::kInvalidArgument, "truncate: expected 0 <= n <= n_past (" +
                                                 std::to_string(held.size()) + "), got " +
                                                 std::to_string(n));
  }
  held.resize(static_cast<size_t>(n));
}

void Decoder::copy_sequence(int src, int dst) {
  check_slot(src);
  check_slot(dst);
  if (src == dst) return;
  const std::vector<int32_t>& from = held_[src];
  std::vector<int32_t>& to = held_[dst];
  const size_t common =
      std::mismatch(to.begin(), to.end(), from.begin(), from.end()).first - to.begin();
  const size_t rows = from.size() - common;
  // Positions [common, end) of every layer: one block.
  std::memcpy(self_k(0, dst) + common * kv_ld_, self_k(0, src) + common * kv_ld_,
              sizeof(float) * rows * kv_ld_);
  to = from;
}

void Decoder::check_tokens(const int32_t* tokens, int n) const {
  if (!has_audio_) {
    throw Error(ErrorCode::kInvalidArgument, "decoder: set_audio() must come before forward()");
  }
  if (n < 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "decoder: expected at least 1 token, got " + std::to_string(n));
  }
  for (int i = 0; i < n; i++) {
    if (tokens[i] < 0 || tokens[i] >= n_vocab_) {
      throw Error(ErrorCode::kInvalidArgument,
                  "decoder: token id " + std::to_string(tokens[i]) + " at index " +
                      std::to_string(i) + " is outside [0, " + std::to_string(n_vocab_) + ")");
    }
  }
}

void Decoder::check_capture(const CrossAttentionCapture& capture) const {
  if (capture.n_frames < 1 || capture.n_frames > n_audio_ctx_) {
    throw Error(ErrorCode::kInvalidArgument, "decoder: capture n_frames is " +
                                                 std::to_string(capture.n_frames) +
                                                 "; expected 1.." + std::to_string(n_audio_ctx_));
  }
  for (const AttentionHead& h : capture.heads) {
    if (h.layer < 0 || h.layer >= n_layer_ || h.head < 0 || h.head >= n_head_) {
      throw Error(ErrorCode::kInvalidArgument,
                  "decoder: attention head (" + std::to_string(h.layer) + ", " +
                      std::to_string(h.head) + ") is outside the model's " +
                      std::to_string(n_layer_) + " layers x " + std::to_string(n_head_) + " heads");
    }
  }
}

const float* Decoder::forward(const int32_t* tokens, int n, bool all_logits,
                              CrossAttentionCapture* capture, int first_token) {
  check_tokens(tokens, n);
  const int n_past = static_cast<int>(held_[0].size());
  if (n > n_ctx_ - n_past) {
    throw Error(ErrorCode::kInvalidArgument,
                "decoder: " + std::to_string(n_past) + " cached + " + std::to_string(n) +
                    " new tokens exceed the text context of " + std::to_string(n_ctx_));
  }
  if (capture) {
    check_capture(*capture);
    capture->weights.assign(capture->heads.size() * n * static_cast<size_t>(capture->n_frames),
                            0.0f);
  }
  groups_.assign(1, RowGroup{this, 0, 0, n, n_past});
  capture_ = capture;
  const float* logits = run(tokens, n, all_logits ? 0 : n - 1, first_token);
  capture_ = nullptr;
  held_[0].insert(held_[0].end(), tokens, tokens + n);
  return logits;
}

const float* Decoder::forward_batch(const int32_t* tokens, const int* slots, int n) {
  check_tokens(tokens, n);
  groups_.clear();
  for (int i = 0; i < n; ++i) {
    const int slot = check_slot(slots[i]);
    const int n_past = static_cast<int>(held_[slot].size());
    if (n_past >= n_ctx_) {
      throw Error(ErrorCode::kInvalidArgument, "decoder: slot " + std::to_string(slot) +
                                                   " is full (" + std::to_string(n_ctx_) +
                                                   " tokens)");
    }
    for (const RowGroup& g : groups_) {
      if (g.slot == slot) {
        throw Error(ErrorCode::kInvalidArgument,
                    "decoder: slot " + std::to_string(slot) + " appears twice in a batch");
      }
    }
    groups_.push_back(RowGroup{this, slot, i, 1, n_past});
  }
  const float* logits = run(tokens, n, 0);
  for (int i = 0; i < n; ++i) held_[slots[i]].push_back(tokens[i]);
  return logits;
}

void Decoder::check_step(int32_t token) const {
  check_tokens(&token, 1);
  if (held_[0].size() >= static_cast<size_t>(n_ctx_)) {
    throw Error(ErrorCode::kInvalidArgument, "decoder: " + std::to_string(held_[0].size()) +
                                                 " cached + 1 new token exceed the text context "
                                                 "of " +
                                                 std::to_string(n_ctx_));
  }
}

const float* Decoder::run(const int32_t* tokens, int n, int first_logit_row, int first_token) {
  rows_.reserve(n, d_);
  // The step's 33 ops hold the pool as one turn (ThreadPool::Turn): other calls
  // on the model wait for the step's end, not for each op.
  const ThreadPool::Turn turn(&model_.pool());
  run_layers(tokens, n);

  // Only the rows whose logits are wanted go through the final LayerNorm and
  // the vocabulary projection (the decoder's single biggest GEMM).
  const kernels::Context ctx = model_.context();
  const int first = first_logit_row;
  const int rows = n - first;
  const int64_t d = d_;
  if (logits_.size() < static_cast<size_t>(rows) * n_vocab_)
    logits_.resize(int64_t{rows} * n_vocab_);
  kernels::layer_norm(ctx, rows_.x.data() + first * d, d, rows, d_, model_.dec_ln.gamma.data(),
                      model_.dec_ln.beta.data(), kLayerNormEps, rows_.h.data(), d);
  first_token = std::clamp(first_token, 0, n_vocab_ - 1);
  model_.vocab_logits(ctx, rows_.h.data(), d, rows, logits_.data(), n_vocab_, first_token);
  for (int r = 0; r < rows; ++r) {
    std::fill_n(logits_.data() + int64_t{r} * n_vocab_, first_token, -INFINITY);
  }
  return logits_.data();
}

void Decoder::forward_together(Decoder* const* decoders, const int32_t* tokens,
                               const int* first_tokens, int n, DecoderRows* rows) {
  if (n < 1 || decoders == nullptr || rows == nullptr) {
    throw Error(ErrorCode::kInvalidArgument,
                "decoder: forward_together() needs at least 1 decoder and row scratch");
  }
  Decoder& lead = *decoders[0];
  for (int i = 0; i < n; ++i) {
    Decoder& dec = *decoders[i];
    if (&dec.model_ != &lead.model_) {
      throw Error(ErrorCode::kInvalidArgument,
                  "decoder: forward_together() over decoders of different models");
    }
    for (int j = 0; j < i; ++j) {
      if (decoders[j] == &dec) {
        throw Error(ErrorCode::kInvalidArgument,
                    "decoder: a decoder appears twice in forward_together()");
      }
    }
    dec.check_step(tokens[i]);
  }
  rows->reserve(n, lead.d_);
  lead.groups_.clear();
  for (int i = 0; i < n; ++i) {
    lead.groups_.push_back(
        RowGroup{decoders[i], 0, i, 1, static_cast<int>(decoders[i]->held_[0].size())});
  }
  // The lead decoder runs the pass on the lent scratch, every row apart.
  struct Lend {
    Decoder& dec;
    ~Lend() { dec.lent_ = nullptr; }
  } lend{lead};
  lead.lent_ = rows;
  const ThreadPool::Turn turn(&lead.model_.pool());
  lead.run_layers(tokens, n);

  const kernels::Context ctx = lead.model_.context();
  const int64_t d = lead.d_;
  const int n_vocab = lead.n_vocab_;
  kernels::layer_norm(ctx, rows->x.data(), d, n, lead.d_, lead.model_.dec_ln.gamma.data(),
                      lead.model_.dec_ln.beta.data(), kLayerNormEps, rows->h.data(), d);
  // One projection for all rows from the lowest first token any of them
  // wants; each row is then cut at its own, as forward() would have.
  int first_token = n_vocab - 1;
  for (int i = 0; i < n; ++i) {
    first_token = std::min(first_token, std::clamp(first_tokens[i], 0, n_vocab - 1));
  }
  for (int i = 0; i < n; ++i) rows->outputs[static_cast<size_t>(i)] = decoders[i]->logits_.data();
  kernels::linear_rows(ctx, rows->h.data(), d, n, lead.model_.tok_emb, rows->outputs.data(),
                       kernels::Epilogue{}, first_token);
  for (int i = 0; i < n; ++i) {
    std::fill_n(decoders[i]->logits_.data(), std::clamp(first_tokens[i], 0, n_vocab - 1),
                -INFINITY);
    decoders[i]->held_[0].push_back(tokens[i]);
  }
}

// Embedding, then every layer, over groups_' n rows in pass().
void Decoder::run_layers(const int32_t* tokens, int n) {
  embed(tokens);
  for (size_t l = 0; l < model_.dec_blocks.size(); l++) {
    self_attention(static_cast<int>(l), n);
    cross_attention(static_cast<int>(l), n);
    mlp(model_.dec_blocks[l], n);
  }
}

void Decoder::project(const float* a, int64_t lda, int n, const kernels::PackedWeights& w, float* c,
                      int64_t ldc, const kernels::Epilogue& ep) {
  const kernels::Context ctx = model_.context();
  if (lent_ == nullptr) {
    kernels::linear(ctx, a, lda, n, w, c, ldc, ep);
    return;
  }
  for (int i = 0; i < n; ++i) lent_->outputs[static_cast<size_t>(i)] = c + int64_t{i} * ldc;
  kernels::linear_rows(ctx, a, lda, n, w, lent_->outputs.data(), ep);
}

void Decoder::embed(const int32_t* tokens) {
  float* x = pass().x.data();
  // The group's positional rows, widened where h's rows will be (h is free
  // until the first layer norm writes it). On this thread: a few rows.
  float* pos = pass().h.data();
  const kernels::Context here{model_.context().isa, nullptr};
  for (const RowGroup& g : groups_) {
    model_.dec_pos.rows(here, g.position, g.n_rows, pos + int64_t{g.first_row} * d_);
    for (int r = 0; r < g.n_rows; r++) {
      const int i = g.first_row + r;
      float* row = x + int64_t{i} * d_;
      model_.embedding_row(tokens[i], row);
      const float* pos_row = pos + int64_t{i} * d_;
      for (int c = 0; c < d_; c++) row[c] += pos_row[c];
    }
  }
}

void Decoder::self_attention(int layer, int n) {
  const kernels::Context ctx = model_.context();
  const DecoderBlock& b = model_.dec_blocks[layer];
  DecoderRows& p = pass();
  const int64_t d = d_, d3 = 3 * d;
  kernels::layer_norm(ctx, p.x.data(), d, n, d_, b.attn_ln.gamma.data(), b.attn_ln.beta.data(),
                      kLayerNormEps, p.h.data(), d);
  project(p.h.data(), d, n, b.qkv, p.qkv.data(), d3, with_bias(b.qkv_bias));
  const int d_head = d_ / n_head_;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d_head));
  for (const RowGroup& g : groups_) {
    // Append the group's keys/values to its slot's cache.
    float* k_cache = g.owner->self_k(layer, g.slot);
    float* v_cache = g.owner->self_v(layer, g.slot);
    for (int r = 0; r < g.n_rows; r++) {
      const float* row = p.qkv.data() + (g.first_row + r) * d3;
      std::memcpy(k_cache + (g.position + r) * kv_ld_, row + d, sizeof(float) * d);
      std::memcpy(v_cache + (g.position + r) * kv_ld_, row + 2 * d, sizeof(float) * d);
    }
  }
  // Each group attends over its own slot's cache (a beam's history).
  const auto attend = [&](const kernels::Context& on, const RowGroup& g, int h0, int heads) {
    const int64_t col = int64_t{h0} * d_head;
    kernels::attention(on, p.qkv.data() + g.first_row * d3 + col, d3, g.n_rows,
                       g.owner->self_k(layer, g.slot) + col, kv_ld_,
                       g.owner->self_v(layer, g.slot) + col, kv_ld_, g.position + g.n_rows, heads,
                       d_head, scale,
                       /*causal_offset=*/g.position, p.attn.data() + g.first_row * d + col, d);
  };
  if (groups_.size() == 1) {
    attend(ctx, groups_[0], 0, n_head_);  // the kernel splits the heads over the pool
  } else {
    // Several groups (a beam search's step, or several calls' steps): one
    // round of tasks for all of them, a group's head each, where a call per
    // group cost the pool's hand-off per group and left threads idle on a
    // few heads' work.
    const kernels::Context one_thread{ctx.isa, nullptr};
    model_.pool().parallel_for(static_cast<int64_t>(groups_.size()) * n_head_,
                               [&](int64_t task, int) {
                                 attend(one_thread, groups_[static_cast<size_t>(task / n_head_)],
                                        static_cast<int>(task % n_head_), 1);
                               });
  }
  project(p.attn.data(), d, n, b.attn_out, p.x.data(), d, residual_with_bias(b.attn_out_bias));
}

void Decoder::cross_attention(int layer, int n) {
  const kernels::Context ctx = model_.context();
  const DecoderBlock& b = model_.dec_blocks[layer];
  DecoderRows& p = pass();
  const int64_t d = d_;
  kernels::layer_norm(ctx, p.x.data(), d, n, d_, b.cross_ln.gamma.data(), b.cross_ln.beta.data(),
                      kLayerNormEps, p.h.data(), d);
  float* q = p.qkv.data();  // [n][d] here
  project(p.h.data(), d, n, b.cross_q, q, d, with_bias(b.cross_q_bias));
  if (capture_) capture_cross_weights(layer, q, n);
  const int d_head = d_ / n_head_;
  const int64_t head_block = int64_t{n_audio_ctx_} * d_head;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d_head));
  if (lent_ == nullptr) {
    // All rows are this decoder's, over its window's K/V.
    kernels::attention(ctx, q, d, n, cross_k(layer, 0), d_head, cross_v(layer, 0), d_head,
                       n_audio_ctx_, n_head_, d_head, scale, /*causal_offset=*/-1, p.attn.data(), d,
                       /*k_head_stride=*/head_block, /*v_head_stride=*/head_block);
  } else {
    // Each group over its own decoder's window: one round of tasks, a head of
    // a group each (each computed as the call above computes that head).
    const kernels::Context one_thread{ctx.isa, nullptr};
    model_.pool().parallel_for(
        static_cast<int64_t>(groups_.size()) * n_head_, [&](int64_t task, int) {
          const RowGroup& g = groups_[static_cast<size_t>(task / n_head_)];
          const int h = static_cast<int>(task % n_head_);
          const int64_t col = int64_t{h} * d_head;
          kernels::attention(one_thread, q + g.first_row * d + col, d, g.n_rows,
                             g.owner->cross_k(layer, h), d_head, g.owner->cross_v(layer, h), d_head,
                             n_audio_ctx_, 1, d_head, scale, /*causal_offset=*/-1,
                             p.attn.data() + g.first_row * d + col, d, head_block, head_block);
        });
  }
  project(p.attn.data(), d, n, b.cross_out, p.x.data(), d, residual_with_bias(b.cross_out_bias));
}

// The attention weights the fused kernel never materialises, recomputed for
// the few heads word timing reads: q·k / √d_head over the captured frames,
// softmaxed over those frames only.
void Decoder::capture_cross_weights(int layer, const float* q, int n) {
  const int d_head = d_ / n_head_;
  const int n_frames = capture_->n_frames;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d_head));
  // One head's keys of the captured frames, widened from the f16 cache once.
  const kernels::Context one_thread{model_.context().isa, nullptr};
  std::vector<float> keys(static_cast<size_t>(n_frames) * d_head);
  for (size_t hi = 0; hi < capture_->heads.size(); ++hi) {
    const AttentionHead& head = capture_->heads[hi];
    if (head.layer != layer) continue;
    const int64_t col = int64_t{head.head} * d_head;
    kernels::f16_to_f32(one_thread, cross_k(layer, head.head), keys.data(),
                        int64_t{n_frames} * d_head);
    for (int i = 0; i < n; ++i) {
      const float* qi = q + int64_t{i} * d_ + col;
      float* w = capture_->weights.data() + (hi * n + i) * static_cast<size_t>(n_frames);
      float max_score = -INFINITY;
      for (int t = 0; t < n_frames; ++t) {
        const float* kt = keys.data() + int64_t{t} * d_head;
        float dot = 0;
        for (int e = 0; e < d_head; ++e) dot += qi[e] * kt[e];
        w[t] = dot * scale;
        max_score = std::max(max_score, w[t]);
      }
      double sum = 0;
      for (int t = 0; t < n_frames; ++t) {
        w[t] = std::exp(w[t] - max_score);
        sum += w[t];
      }
      for (int t = 0; t < n_frames; ++t) w[t] = static_cast<float>(w[t] / sum);
    }
  }
}

void Decoder::mlp(const DecoderBlock& b, int n) {
  const kernels::Context ctx = model_.context();
  DecoderRows& p = pass();
  const int64_t d = d_;
  kernels::layer_norm(ctx, p.x.data(), d, n, d_, b.mlp_ln.gamma.data(), b.mlp_ln.beta.data(),
                      kLayerNormEps, p.h.data(), d);
  kernels::Epilogue fc1 = with_bias(b.fc1_bias);
  fc1.gelu = true;
  project(p.h.data(), d, n, b.fc1, p.mlp.data(), 4 * d, fc1);
  project(p.mlp.data(), 4 * d, n, b.fc2, p.x.data(), d, residual_with_bias(b.fc2_bias));
}

}  // namespace wn
