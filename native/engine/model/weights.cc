// bind_weights (model/weights.h): finds every tensor a Whisper model needs in a
// parsed ModelFile and checks its shape and type against the hparams.
//
// The expected tensors are one table, written as code below (expected_tensors
// and the two block functions): each entry is a name, a role, a shape in ggml
// ne order and the WhisperWeights field it fills. The role alone decides which
// types are acceptable: matrices may be f32, f16 or one of the block-quantized
// types the kernels run (can_run_matrix_type), everything else is fixed. This
// file copies no weight data.
#include "engine/model/weights.h"

#include <string>
#include <unordered_set>
#include <vector>

#include "engine/core/error.h"
#include "engine/kernels/quant.h"

namespace wn {

namespace {

// What a tensor is for; decides the types it may have.
enum class Role {
  kVector,      // LayerNorm gamma/beta and Linear biases: f32 [n]
  kConvBias,    // f32, stored 2-D as ne [1, d]; [d] is accepted too
  kPositional,  // positional embeddings: f32 [d, ctx]
  kConvWeight,  // f16, or f32 in an all-f32 file (ftype 0): [3, in, out]
  kMatrix,      // Linear weights and the token embedding: f32, f16, or quantized
};

struct Expected {
  std::string name;
  Role role;
  std::vector<int64_t> ne;  // ggml order: ne[0] is the contiguous dimension
  TensorView* slot;         // the WhisperWeights field it is bound to
};

class ExpectedList {
 public:
  void add(std::string name, Role role, std::vector<int64_t> ne, TensorView* slot) {
    list_.push_back({std::move(name), role, std::move(ne), slot});
  }
  // A PyTorch Linear(in, out): weight [out, in] is ne {in, out}; bias [out].
  // Whisper's attention key has no bias (bias == nullptr).
  void linear(const std::string& prefix, int64_t in, int64_t out, TensorView* weight,
              TensorView* bias) {
    add(prefix + ".weight", Role::kMatrix, {in, out}, weight);
    if (bias) add(prefix + ".bias", Role::kVector, {out}, bias);
  }
  void layer_norm(const std::string& prefix, int64_t d, TensorView* gamma, TensorView* beta) {
    add(prefix + ".weight", Role::kVector, {d}, gamma);
    add(prefix + ".bias", Role::kVector, {d}, beta);
  }
  const std::vector<Expected>& entries() const { return list_; }

 private:
  std::vector<Expected> list_;
};

// The self-attention and MLP tensors, named and shaped alike in encoder and
// decoder blocks (B: EncoderBlockWeights or DecoderBlockWeights). p is the
// block's name prefix.
template <typename B>
void add_self_attention(ExpectedList& e, const std::string& p, int64_t d, B* b) {
  e.linear(p + "attn.query", d, d, &b->attn_q_w, &b->attn_q_b);
  e.linear(p + "attn.key", d, d, &b->attn_k_w, nullptr);
  e.linear(p + "attn.value", d, d, &b->attn_v_w, &b->attn_v_b);
  e.linear(p + "attn.out", d, d, &b->attn_out_w, &b->attn_out_b);
  e.layer_norm(p + "attn_ln", d, &b->attn_ln_w, &b->attn_ln_b);
}

template <typename B>
void add_mlp(ExpectedList& e, const std::string& p, int64_t d, B* b) {
  e.linear(p + "mlp.0", d, 4 * d, &b->mlp_fc1_w, &b->mlp_fc1_b);
  e.linear(p + "mlp.2", 4 * d, d, &b->mlp_fc2_w, &b->mlp_fc2_b);
  e.layer_norm(p + "mlp_ln", d, &b->mlp_ln_w, &b->mlp_ln_b);
}

void add_encoder_block(ExpectedList& e, int layer, int64_t d, EncoderBlockWeights* b) {
  const std::string p = "encoder.blocks." + std::to_string(layer) + ".";
  add_self_attention(e, p, d, b);
  add_mlp(e, p, d, b);
}

// Cross-attention keys and values read the encoder output; Whisper has
// n_audio_state == n_text_state (checked in bind_weights), so all are [d, d].
void add_decoder_block(ExpectedList& e, int layer, int64_t d, DecoderBlockWeights* b) {
  const std::string p = "decoder.blocks." + std::to_string(layer) + ".";
  add_self_attention(e, p, d, b);
  e.linear(p + "cross_attn.query", d, d, &b->cross_q_w, &b->cross_q_b);
  e.linear(p + "cross_attn.key", d, d, &b->cross_k_w, nullptr);
  e.linear(p + "cross_attn.value", d, d, &b->cross_v_w, &b->cross_v_b);
  e.linear(p + "cross_attn.out", d, d, &b->cross_out_w, &b->cross_out_b);
  e.layer_norm(p + "cross_attn_ln", d, &b->cross_ln_w, &b->cross_ln_b);
  add_mlp(e, p, d, b);
}

// Every tensor of a Whisper model, in whisper.cpp's file order. `w` must
// already have its block vectors sized: the list points into them.
ExpectedList expected_tensors(const HParams& h, WhisperWeights* w) {
  const int64_t da = h.n_audio_state;
  const int64_t dt = h.n_text_state;
  ExpectedList e;
  e.add("encoder.positional_embedding", Role::kPositional, {da, h.n_audio_ctx}, &w->enc_pos);
  e.add("encoder.conv1.weight", Role::kConvWeight, {3, h.n_mels, da}, &w->conv1_w);
  e.add("encoder.conv1.bias", Role::kConvBias, {1, da}, &w->conv1_b);
  e.add("encoder.conv2.weight", Role::kConvWeight, {3, da, da}, &w->conv2_w);
  e.add("encoder.conv2.bias", Role::kConvBias, {1, da}, &w->conv2_b);
  for (int i = 0; i < h.n_audio_layer; ++i) add_encoder_block(e, i, da, &w->enc_blocks[i]);
  e.layer_norm("encoder.ln_post", da, &w->enc_ln_post_w, &w->enc_ln_post_b);
  e.add("decoder.positional_embedding", Role::kPositional, {dt, h.n_text_ctx}, &w->dec_pos);
  e.add("decoder.token_embedding.weight", Role::kMatrix, {dt, h.n_vocab}, &w->tok_emb);
  for (int i = 0; i < h.n_text_layer; ++i) add_decoder_block(e, i, dt, &w->dec_blocks[i]);
  e.layer_norm("decoder.ln", dt, &w->dec_ln_w, &w->dec_ln_b);
  return e;
}

// The types kernels::PackedWeights::pack takes.
bool can_run_matrix_type(GgmlType type) {
  return type == GgmlType::kF32 || type == GgmlType::kF16 || kernels::is_block_quantized(type);
}

std::string shape_text(const int64_t* ne, int n_dims) {
  std::string s = "[";
  for (int d = 0; d < n_dims; ++d) s += (d ? ", " : "") + std::to_string(ne[d]);
  return s + "]";
}

bool shape_is(const TensorView& t, const std::vector<int64_t>& ne) {
  if (t.n_dims != (int)ne.size()) return false;
  for (size_t d = 0; d < ne.size(); ++d) {
    if (t.ne[d] != ne[d]) return false;
  }
  return true;
}

void check_shape(const Expected& e, const TensorView& t) {
  if (shape_is(t, e.ne)) return;
  // A conv bias is a [d] vector; whisper.cpp stores it as [1, d], and a plain
  // [d] holds the same floats in the same order.
  if (e.role == Role::kConvBias && shape_is(t, {e.ne[1]})) return;
  throw Error(ErrorCode::kModelFormat,
              "tensor '" + e.name + "' has shape " + shape_text(t.ne.data(), t.n_dims) +
                  " (ggml ne order), expected " + shape_text(e.ne.data(), (int)e.ne.size()));
}

[[noreturn]] void wrong_type(const Expected& e, const TensorView& t, const std::string& expected) {
  throw Error(ErrorCode::kModelFormat, "tensor '" + e.name + "' has type " +
                                           ggml_type_name(t.type) + ", expected " + expected);
}

void check_type(const Expected& e, const TensorView& t, const HParams& h) {
  switch (e.role) {
    case Role::kVector:
    case Role::kConvBias:
    case Role::kPositional:
      if (t.type != GgmlType::kF32) wrong_type(e, t, "f32");
      return;
    case Role::kConvWeight: {
      // whisper.cpp keeps the convolutions f16 even in quantized files.
      const GgmlType want = h.ftype == 0 ? GgmlType::kF32 : GgmlType::kF16;
      if (t.type != want) {
        wrong_type(e, t,
                   std::string(ggml_type_name(want)) + " (the file's ftype is " +
                       std::to_string(h.ftype) + ")");
      }
      return;
    }
    case Role::kMatrix:
      if (can_run_matrix_type(t.type)) return;
      throw Error(ErrorCode::kUnsupportedTensorType,
                  "tensor '" + e.name + "' has type " + ggml_type_name(t.type) +
                      ", which this build cannot run; supported: f32, f16, q4_0, q4_1, q5_0, "
                      "q5_1, q8_0");
  }
}

void check_cross_attention_dims(const HParams& h) {
  if (h.n_audio_state != h.n_text_state) {
    throw Error(ErrorCode::kModelFormat, "n_audio_state (" + std::to_string(h.n_audio_state) +
                                             ") differs from n_text_state (" +
                                             std::to_string(h.n_text_state) +
                                             "); Whisper's cross-attention needs them equal");
  }
}

[[noreturn]] void missing_tensor(const ModelFile& file, const Expected& e, size_t n_expected) {
  std::string message = "missing tensor '" + e.name + "'";
  // A download cut exactly between two records parses cleanly; say so.
  if (file.tensors.size() < n_expected) {
    message += " (the file holds " + std::to_string(file.tensors.size()) + " of the " +
               std::to_string(n_expected) + " tensors this model needs; is it cut short?)";
  }
  throw Error(ErrorCode::kModelFormat, message);
}

// After every expected tensor was found: anything else in the file is unknown.
void reject_unexpected(const ModelFile& file, const std::vector<Expected>& expected) {
  std::unordered_set<std::string> names;
  names.reserve(expected.size());
  for (const Expected& e : expected) names.insert(e.name);
  for (const TensorView& t : file.tensors) {
    if (names.count(t.name) == 0) {
      throw Error(ErrorCode::kModelFormat, "unknown tensor '" + t.name + "'");
    }
  }
  // parse_model_file rejects duplicates; a hand-built ModelFile might not.
  if (file.tensors.size() != expected.size()) {
    throw Error(ErrorCode::kModelFormat,
                "the file has " + std::to_string(file.tensors.size()) + " tensor records for " +
                    std::to_string(expected.size()) + " tensors (a name appears twice)");
  }
}

}  // namespace

WhisperWeights bind_weights(const ModelFile& file) {
  const HParams& h = file.hparams;
  check_cross_attention_dims(h);
  WhisperWeights w;
  w.enc_blocks.resize((size_t)h.n_audio_layer);
  w.dec_blocks.resize((size_t)h.n_text_layer);
  const ExpectedList expected = expected_tensors(h, &w);
  for (const Expected& e : expected.entries()) {
    const TensorView* t = file.find(e.name);
    if (t == nullptr) missing_tensor(file, e, expected.entries().size());
    check_shape(e, *t);
    check_type(e, *t, h);
    *e.slot = *t;
  }
  reject_unexpected(file, expected.entries());
  return w;
}

}  // namespace wn
