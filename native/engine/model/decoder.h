// The text decoder (REFERENCE.md §1) with its per-call state: the
// self-attention KV caches of one or more token sequences ("slots") and the
// cross-attention keys/values of the current audio window, computed once per
// window by set_audio() and shared by every slot.
//
// Slots exist for beam search: forward_batch() advances several sequences by
// one token each in a single pass (one GEMM over all rows per linear layer, so
// the weights are read once per step, not once per sequence), and
// copy_sequence() re-ranks them by copying only the cache rows a slot lacks.
//
// Memory: the caches are allocated at construction (self K/V: n_slots ×
// n_text_ctx × n_text_layer × 2d floats; cross K/V: n_text_layer × n_audio_ctx
// × 2d halves), in pages that cost nothing until touched. Row scratch grows to
// the largest token batch seen and is then reused, so steady-state forward()
// calls allocate nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model/model.h"
#include "engine/model/page_buffer.h"

namespace wn {

// One attention head of one decoder layer (both 0-based).
struct AttentionHead {
  int layer = 0;
  int head = 0;
};

// What forward() records for word timing when given one: for each listed
// cross-attention head, softmax(q·kᵀ / √d_head) of every fed token over the
// first n_frames encoder positions only (the window's real audio, as the
// reference slices before its softmax).
struct CrossAttentionCapture {
  std::vector<AttentionHead> heads;
  int n_frames = 0;            // 1..n_audio_ctx
  std::vector<float> weights;  // out: [heads.size()][n tokens][n_frames]
};

// The row scratch of a decoder pass: what its rows hold between ops. Every
// Decoder has its own; forward_together() runs on one its caller lends, for
// the rows of several decoders' steps. Grows to the most rows a pass has had,
// then is reused (no allocation per step).
class DecoderRows {
 private:
  friend class Decoder;
  void reserve(int n, int d);
  int rows = 0;
  // [rows][d], [rows][d], [rows][3d], [rows][d], [rows][4d]
  std::vector<float> x, h, qkv, attn, mlp;
  std::vector<float*> outputs;  // [rows]: the rows of a linear_rows() output
};

class Decoder {
 public:
  // n_slots >= 1 independent token sequences over the same audio.
  // cross_kv: optional storage of cross_kv_halves(model) f16 values for the
  // cross-attention K/V, owned by the caller (who may use it for other things
  // between a window's decoding and the next set_audio()); else allocated here.
  explicit Decoder(const Model& model, int n_slots = 1, uint16_t* cross_kv = nullptr);
  static size_t cross_kv_halves(const Model& model);

  // encoded: [n_audio_ctx][n_audio_state]. Computes every layer's cross K/V and
  // clears every slot.
  void set_audio(const float* encoded);
  // Memory for n_audio_ctx × n_audio_state floats that set_audio() may read:
  // the encoder can write its output here, set_audio(audio_buffer()). It is
  // the self-attention caches' memory, which set_audio() clears anyway, so the
  // encoder output costs no memory of its own. Clears every slot (their cached
  // keys and values are overwritten); the first forward() after set_audio()
  // overwrites the buffer in turn.
  float* audio_buffer();
  // Forgets slot 0's sequence (a new token sequence on the same audio).
  void reset() { held_[0].clear(); }
  // Keeps only the first n tokens of a slot (0 <= n <= n_past(slot), else
  // kInvalidArgument).
  void truncate(int n, int slot = 0);
  int n_past(int slot = 0) const { return static_cast<int>(held_[check_slot(slot)].size()); }
  int n_ctx() const;  // capacity of each slot: n_text_ctx
  int n_slots() const { return static_cast<int>(held_.size()); }
  // The tokens whose keys/values the slot holds, in position order.
  const std::vector<int32_t>& sequence(int slot) const { return held_[check_slot(slot)]; }

  // Feeds tokens[0..n) to slot 0 at positions n_past()..n_past()+n-1 and
  // appends them to its cache. Returns logits: [n][n_vocab] when all_logits,
  // else the last token's row [n_vocab]. The pointer stays valid until the
  // next call. capture (optional) records cross-attention weights of these n
  // tokens. Throws kInvalidArgument for n < 1, a token id outside [0,
  // n_vocab), when the context would exceed n_ctx(), for a bad capture, or
  // before the first set_audio().
  // first_token: the logits of tokens below it are not needed (the next step
  // forbids them: see LogitFilters::first_possible_token) and come back as
  // -inf, most of the vocabulary projection left out.
  const float* forward(const int32_t* tokens, int n, bool all_logits = false,
                       CrossAttentionCapture* capture = nullptr, int first_token = 0);

  // One new token for each of n sequences in one pass: tokens[i] is appended
  // to slot slots[i] (distinct slots). Returns logits [n][n_vocab], row i for
  // slots[i], valid until the next call. Same errors as forward(), and
  // kInvalidArgument for a repeated or out-of-range slot.
  const float* forward_batch(const int32_t* tokens, const int* slots, int n);

  // One token for each of n decoders of the same model (distinct, each past
  // set_audio(), slot 0) in one pass, so the weights are read once per step
  // for all of them: decoder i is fed tokens[i], and its logits row (then
  // logits()) is bit for bit what forward(&tokens[i], 1, false, nullptr,
  // first_tokens[i]) would have given it: every layer's rows are computed
  // apart (kernels::linear_rows), each attention over its own decoder's
  // caches. This is how concurrent transcriptions on one model share their
  // decoder steps (StepBatcher) without their results depending on it.
  // rows: the pass's scratch. Same errors as forward() for any decoder, and
  // kInvalidArgument for a repeated decoder or one of another model.
  static void forward_together(Decoder* const* decoders, const int32_t* tokens,
                               const int* first_tokens, int n, DecoderRows* rows);
  // The logits row of the last forward_together() (or of a one-token
  // forward()): valid until this decoder's next pass.
  const float* logits() const { return logits_.data(); }
  // Throws what forward(&token, 1) would for this token, without running it.
  void check_step(int32_t token) const;

  // Slot dst becomes a copy of slot src's sequence (src is unchanged). Only
  // the rows after the longest common token prefix of the two are copied:
  // equal tokens at equal positions over the same audio have equal keys and
  // values, so for beams that diverged k steps ago that is k rows per layer,
  // at worst src's whole live prefix (never the unused capacity).
  void copy_sequence(int src, int dst);

 private:
  // Consecutive rows of one pass that belong to one slot of one decoder
  // (`owner`: this one, or another in forward_together()), at consecutive
  // positions starting at `position`. A pass's groups of one owner are
  // consecutive.
  struct RowGroup {
    Decoder* owner;
    int slot, first_row, n_rows, position;
  };
  int check_slot(int slot) const;
  void check_tokens(const int32_t* tokens, int n) const;
  void check_capture(const CrossAttentionCapture& capture) const;
  // The pass shared by forward() and forward_batch() over groups_, on rows_
  // (this decoder's own scratch); the final LayerNorm and vocabulary
  // projection run for rows [first_logit_row, n).
  const float* run(const int32_t* tokens, int n, int first_logit_row, int first_token = 0);
  // The layers of a pass over groups_ on pass() (rows_, or forward_together()'s).
  void run_layers(const int32_t* tokens, int n);
  void embed(const int32_t* tokens);
  void self_attention(int layer, int n);
  void cross_attention(int layer, int n);
  void capture_cross_weights(int layer, const float* q, int n);
  void mlp(const DecoderBlock& b, int n);
  // linear() over the pass's n rows, or linear_rows() when the rows are apart.
  void project(const float* a, int64_t lda, int n, const kernels::PackedWeights& w, float* c,
               int64_t ldc, const kernels::Epilogue& ep);
  // Position `pos` of a slot's cache holds every layer's key and value row:
  // layer l's key at self_k(l, slot) + pos * kv_ld_, its value d floats on.
  float* self_k(int layer, int slot) {
    return self_memory_.get() + int64_t{slot} * n_ctx_ * kv_ld_ + int64_t{layer} * 2 * d_;
  }
  float* self_v(int layer, int slot) { return self_k(layer, slot) + d_; }
  // Head h's keys (values) of a layer: [n_audio_ctx][d_head], contiguous.
  uint16_t* cross_k(int layer, int h) {
    return cross_kv_ + int64_t{layer} * n_audio_ctx_ * 2 * d_ +
           int64_t{h} * n_audio_ctx_ * (d_ / n_head_);
  }
  uint16_t* cross_v(int layer, int h) { return cross_k(layer, h) + int64_t{n_audio_ctx_} * d_; }

  const Model& model_;
  int d_, n_ctx_, n_audio_ctx_, n_vocab_, n_head_, n_layer_;
  bool has_audio_ = false;
  std::vector<std::vector<int32_t>> held_;  // per slot: the tokens its cache holds
  std::vector<RowGroup> groups_;            // of the pass in progress
  CrossAttentionCapture* capture_ = nullptr;
  // The self-attention caches, position-major: per slot [n_text_ctx][n_layer]
  // [key, value][d], so a slot's first n positions are one block of memory
  // and the positions it never reaches cost nothing (4 KiB pages). Between
  // windows it also holds the encoder output and set_audio()'s rows (see
  // audio_buffer()); the huge pages those always fill are asked for.
  PageBuffer self_memory_;
  int64_t kv_ld_;            // floats from one position to the next: n_layer * 2d
  PageBuffer own_cross_kv_;  // when the caller lends no cross K/V storage
  // Per layer, the keys then the values, each [n_head][n_audio_ctx][d_head],
  // in f16. Why f16: every token streams all of it (18 MB in f32 for tiny, 9
  // MB in f16) and the decoder is bound by memory bandwidth; the golden logits
  // moved from ~9e-7 to ~7e-6 relative RMS (tolerance 1e-4). Why a block per
  // head: a thread attending to its heads then reads one contiguous stream
  // each for keys and values (a head's 128-byte slice of every 1.5 KB row read
  // ~1.6x slower per byte than the vocabulary projection's stream).
  uint16_t* cross_kv_;
  DecoderRows rows_;             // this decoder's own row scratch
  DecoderRows* lent_ = nullptr;  // forward_together()'s, during its pass
  DecoderRows& pass() { return lent_ != nullptr ? *lent_ : rows_; }
  std::vector<float> logits_;  // [rows][n_vocab] of the last pass
};

}  // namespace wn
