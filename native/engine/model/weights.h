// The tensors of a Whisper model, bound by name from a ModelFile and checked
// against the hparams: every name present once, nothing unknown, every shape
// and type what the architecture needs (REFERENCE.md §1–2). Views only; the
// model packs them for the kernels (model/model.h).
#pragma once

#include <vector>

#include "engine/format/ggml_file.h"

namespace wn {

// Shapes in PyTorch order in the comments: [out, in] for Linear weights.
struct EncoderBlockWeights {
  TensorView attn_ln_w, attn_ln_b;    // [d]
  TensorView attn_q_w, attn_q_b;      // [d, d], [d]
  TensorView attn_k_w;                // [d, d] (no bias)
  TensorView attn_v_w, attn_v_b;      // [d, d], [d]
  TensorView attn_out_w, attn_out_b;  // [d, d], [d]
  TensorView mlp_ln_w, mlp_ln_b;      // [d]
  TensorView mlp_fc1_w, mlp_fc1_b;    // [4d, d], [4d]   (mlp.0)
  TensorView mlp_fc2_w, mlp_fc2_b;    // [d, 4d], [d]    (mlp.2)
};

struct DecoderBlockWeights {
  TensorView attn_ln_w, attn_ln_b;
  TensorView attn_q_w, attn_q_b, attn_k_w, attn_v_w, attn_v_b, attn_out_w, attn_out_b;
  TensorView cross_ln_w, cross_ln_b;  // cross_attn_ln
  TensorView cross_q_w, cross_q_b, cross_k_w, cross_v_w, cross_v_b, cross_out_w, cross_out_b;
  TensorView mlp_ln_w, mlp_ln_b;
  TensorView mlp_fc1_w, mlp_fc1_b, mlp_fc2_w, mlp_fc2_b;
};

struct WhisperWeights {
  TensorView conv1_w, conv1_b;  // [d, n_mels, 3] f16, bias stored [1, d] in ne order -> d floats
  TensorView conv2_w, conv2_b;  // [d, d, 3] f16, bias [d]
  TensorView enc_pos;           // [n_audio_ctx, d] f32
  std::vector<EncoderBlockWeights> enc_blocks;
  TensorView enc_ln_post_w, enc_ln_post_b;
  TensorView tok_emb;  // [n_vocab, d_text]
  TensorView dec_pos;  // [n_text_ctx, d_text] f32
  std::vector<DecoderBlockWeights> dec_blocks;
  TensorView dec_ln_w, dec_ln_b;
};

// Throws wn::Error kModelFormat (missing/duplicate/unknown tensor, wrong shape
// or type for its role; the message names the tensor, expected and actual) or
// kUnsupportedTensorType (a valid ggml type this build has no kernel for).
WhisperWeights bind_weights(const ModelFile& file);

}  // namespace wn
