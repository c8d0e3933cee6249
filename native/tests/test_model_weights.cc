// Tests of bind_weights (engine/model/weights.cc): the real random tiny.en
// binds, and so do models with quantized matrices; written models with one
// tensor wrong (missing, unknown, duplicate, wrong shape or type, a K-quant)
// fail with the right code and a message naming the tensor; header fields of
// the real file set to impossible values and files cut at record boundaries
// never load.
#include <cstring>
#include <limits>
#include <utility>

#include "check.h"
#include "engine/model/model.h"
#include "engine/model/weights.h"
#include "format_test_util.h"
#include "ggml_test_writer.h"

using wn::ErrorCode;
using wn::GgmlType;
using namespace wn_test;

namespace {

wn::WhisperWeights bind_model(const TestModel& m) {
  const wn::ModelFile f = parse_bytes(write_test_model(m));
  return wn::bind_weights(f);
}

std::string bind_error(const TestModel& m) {
  return error_message([&] { bind_model(m); });
}

// Loads and binds; any wn::Error other than the two a bad file may raise is a
// failure, and so is success.
template <class Load>
bool load_fails_cleanly(Load load, const std::string& what) {
  try {
    const wn::ModelFile f = load();
    wn::bind_weights(f);
  } catch (const wn::Error& e) {
    if (e.code() == ErrorCode::kModelFormat || e.code() == ErrorCode::kModelTruncated) return true;
    std::printf("  %s: unexpected %s: %s\n", what.c_str(), wn::error_code_name(e.code()), e.what());
    return false;
  }
  std::printf("  %s: loaded without an error\n", what.c_str());
  return false;
}

// Sets each (field, value) in turn in a scratch copy of the real file (then
// restores it) and expects the load to fail. The copy is on disk so that no
// edit costs a 77 MB copy in memory.
int count_edits_that_load(const std::vector<std::pair<int, int32_t>>& edits) {
  const uint8_t* original_bytes = real_model()->bytes->data();
  ScratchFile scratch("test_model_weights", real_model_path());
  CHECK(scratch.ok());
  int loaded = 0;
  for (const auto& edit : edits) {
    const size_t offset = 4 + 4 * (size_t)edit.first;
    int32_t original;
    std::memcpy(&original, original_bytes + offset, 4);  // the test hosts are little-endian
    scratch.write_i32(offset, edit.second);
    const std::string what =
        std::string(header_field_name(edit.first)) + " = " + std::to_string(edit.second);
    if (!load_fails_cleanly([&] { return wn::open_model_file(scratch.path()); }, what)) ++loaded;
    scratch.write_i32(offset, original);
  }
  CHECK(scratch.ok());
  // Every edit was undone: the copy loads like the original.
  CHECK(wn::bind_weights(wn::open_model_file(scratch.path())).dec_blocks.size() == 4);
  return loaded;
}

}  // namespace

TEST(real_model_binds) {
  if (!real_model()) return;
  const wn::ModelFile& f = *real_model();
  const wn::WhisperWeights w = wn::bind_weights(f);
  CHECK(w.enc_blocks.size() == 4 && w.dec_blocks.size() == 4);
  CHECK(w.conv1_w.name == "encoder.conv1.weight" && w.conv1_w.type == GgmlType::kF16);
  CHECK(w.conv1_b.n_elements() == 384 && w.conv1_b.type == GgmlType::kF32);
  CHECK(w.conv2_w.ne[0] == 3 && w.conv2_w.ne[1] == 384 && w.conv2_w.ne[2] == 384);
  CHECK(w.enc_pos.ne[0] == 384 && w.enc_pos.ne[1] == 1500);
  CHECK(w.enc_blocks[2].attn_k_w.name == "encoder.blocks.2.attn.key.weight");
  CHECK(w.enc_blocks[3].mlp_fc2_b.name == "encoder.blocks.3.mlp.2.bias");
  CHECK(w.enc_ln_post_b.name == "encoder.ln_post.bias");
  CHECK(w.tok_emb.ne[0] == 384 && w.tok_emb.ne[1] == 51864);
  CHECK(w.dec_pos.ne[1] == 448);
  CHECK(w.dec_blocks[1].cross_v_b.name == "decoder.blocks.1.cross_attn.value.bias");
  CHECK(w.dec_blocks[3].cross_ln_w.name == "decoder.blocks.3.cross_attn_ln.weight");
  CHECK(w.dec_blocks[0].mlp_fc1_w.ne[0] == 384 && w.dec_blocks[0].mlp_fc1_w.ne[1] == 1536);
  CHECK(w.dec_ln_b.name == "decoder.ln.bias");
  // Views point into the file, not into copies.
  CHECK(w.tok_emb.data == f.find("decoder.token_embedding.weight")->data);
}

TEST(tiny_models_bind_in_f16_and_f32) {
  const wn::WhisperWeights w = bind_model(tiny_test_model(1));
  CHECK(w.enc_blocks.size() == 1 && w.dec_blocks.size() == 1);
  CHECK(w.dec_blocks[0].cross_k_w.name == "decoder.blocks.0.cross_attn.key.weight");
  const wn::WhisperWeights w32 = bind_model(tiny_test_model(0));
  CHECK(w32.conv1_w.type == GgmlType::kF32 && w32.tok_emb.type == GgmlType::kF32);
  // More layers and a 128-mel front end (large-v3's layout).
  const wn::WhisperWeights big =
      bind_model(make_test_model({30, 4, 16, 4, 3, 6, 16, 2, 2, 128, 1}));
  CHECK(big.enc_blocks.size() == 3 && big.dec_blocks.size() == 2);
  CHECK(big.conv1_w.ne[1] == 128);
}

TEST(missing_tensor) {
  TestModel m = tiny_test_model();
  m.tensors.pop_back();
  CHECK_THROWS_CODE(bind_model(m), ErrorCode::kModelFormat);
  CHECK(contains(bind_error(m),
                 "missing tensor 'decoder.ln.bias' (the file holds 49 of the 50 "
                 "tensors this model needs; is it cut short?)"));
  m = tiny_test_model();
  m.tensors.erase(m.tensors.begin() + 7);  // encoder.blocks.0.attn.key.weight
  CHECK(contains(bind_error(m), "missing tensor 'encoder.blocks.0.attn.key.weight'"));
}

TEST(loading_by_path_names_the_file_in_tensor_errors) {
  TestModel m = tiny_test_model();
  m.tensors.pop_back();
  ScratchFile file("missing-tensor", write_test_model(m));
  CHECK(file.ok());
  std::string message;
  try {
    wn::Model::load(file.path(), wn::LoadOptions{});
  } catch (const wn::Error& e) {
    CHECK(e.code() == ErrorCode::kModelFormat);
    message = e.what();
  }
  CHECK(contains(message, "model file '" + file.path() + "': missing tensor 'decoder.ln.bias'"));
}

TEST(unknown_tensor) {
  TestModel m = tiny_test_model();
  m.tensors.push_back({"foo", 0, {4}});
  CHECK_THROWS_CODE(bind_model(m), ErrorCode::kModelFormat);
  CHECK(contains(bind_error(m), "unknown tensor 'foo'"));
  // A layer beyond n_text_layer is unknown too.
  m = tiny_test_model();
  m.tensors.push_back({"decoder.blocks.1.attn_ln.weight", 0, {8}});
  CHECK(contains(bind_error(m), "unknown tensor 'decoder.blocks.1.attn_ln.weight'"));
  // An attention key with a bias (Whisper's keys have none).
  m = tiny_test_model();
  m.tensors.push_back({"encoder.blocks.0.attn.key.bias", 0, {8}});
  CHECK(contains(bind_error(m), "unknown tensor 'encoder.blocks.0.attn.key.bias'"));
}

TEST(duplicate_tensor_in_a_hand_built_file) {
  // parse_model_file rejects duplicates; bind_weights does not rely on that.
  wn::ModelFile f = parse_bytes(write_test_model(tiny_test_model()));
  f.tensors.push_back(f.tensors[5]);
  CHECK_THROWS_CODE(wn::bind_weights(f), ErrorCode::kModelFormat);
  CHECK(contains(error_message([&] { wn::bind_weights(f); }), "a name appears twice"));
}

TEST(wrong_shapes) {
  TestModel m = tiny_test_model();
  m.find("encoder.conv1.weight")->ne = {3, 80, 9};
  CHECK_THROWS_CODE(bind_model(m), ErrorCode::kModelFormat);
  CHECK(contains(bind_error(m),
                 "tensor 'encoder.conv1.weight' has shape [3, 80, 9] (ggml ne "
                 "order), expected [3, 80, 8]"));
  m = tiny_test_model();
  m.find("encoder.blocks.0.mlp.0.weight")->ne = {32, 8};  // transposed
  CHECK(contains(bind_error(m), "has shape [32, 8] (ggml ne order), expected [8, 32]"));
  m = tiny_test_model();
  m.find("decoder.token_embedding.weight")->ne = {8, 19};  // n_vocab is 20
  CHECK(contains(bind_error(m), "expected [8, 20]"));
  m = tiny_test_model();
  m.find("decoder.ln.weight")->ne = {8, 1};  // right count, wrong rank
  CHECK(contains(bind_error(m),
                 "'decoder.ln.weight' has shape [8, 1] (ggml ne order), expected [8]"));
  m = tiny_test_model();
  m.find("encoder.positional_embedding")->ne = {8, 7};  // n_audio_ctx is 6
  CHECK_THROWS_CODE(bind_model(m), ErrorCode::kModelFormat);
  m = tiny_test_model();
  m.find("encoder.conv2.bias")->ne = {8, 1};
  CHECK(contains(bind_error(m), "expected [1, 8]"));
}

TEST(conv_bias_may_be_one_dimensional) {
  TestModel m = tiny_test_model();
  m.find("encoder.conv1.bias")->ne = {8};
  m.find("encoder.conv2.bias")->ne = {8};
  const wn::WhisperWeights w = bind_model(m);
  CHECK(w.conv1_b.n_dims == 1 && w.conv1_b.n_elements() == 8);
}

TEST(wrong_types) {
  TestModel m = tiny_test_model();
  m.find("encoder.blocks.0.attn.query.bias")->type = 1;
  CHECK_THROWS_CODE(bind_model(m), ErrorCode::kModelFormat);
  CHECK(contains(bind_error(m),
                 "tensor 'encoder.blocks.0.attn.query.bias' has type f16, expected f32"));
  m = tiny_test_model();
  m.find("decoder.positional_embedding")->type = 1;
  CHECK_THROWS_CODE(bind_model(m), ErrorCode::kModelFormat);
  m = tiny_test_model();
  m.find("encoder.conv1.bias")->type = 1;
  CHECK_THROWS_CODE(bind_model(m), ErrorCode::kModelFormat);
  // Convolutions are f16 except in an all-f32 file.
  m = tiny_test_model(1);
  m.find("encoder.conv2.weight")->type = 0;
  CHECK(contains(bind_error(m),
                 "'encoder.conv2.weight' has type f32, expected f16 (the file's "
                 "ftype is 1)"));
  m = tiny_test_model(0);
  m.find("encoder.conv2.weight")->type = 1;
  CHECK(contains(bind_error(m), "has type f16, expected f32 (the file's ftype is 0)"));
  // A matrix may be f32 in an f16 file (no precision is lost).
  m = tiny_test_model(1);
  m.find("decoder.blocks.0.attn.out.weight")->type = 0;
  CHECK(bind_model(m).dec_blocks[0].attn_out_w.type == GgmlType::kF32);
}

TEST(quantized_matrices_bind) {
  // d = 32: every matrix row is one whole block.
  for (GgmlType type :
       {GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0}) {
    TestModel m = make_test_model({20, 6, 32, 2, 1, 5, 32, 2, 1, 80, 2000 + whisper_ftype(type)});
    for (TestTensor& t : m.tensors) {
      if (t.type == 1 && t.ne.size() == 2) t.type = (int32_t)type;  // matrices, not convolutions
    }
    const wn::WhisperWeights w = bind_model(m);
    CHECK(w.tok_emb.type == type && w.enc_blocks[0].mlp_fc2_w.type == type);
    CHECK(w.dec_blocks[0].cross_k_w.type == type && w.conv1_w.type == GgmlType::kF16);
  }
}

TEST(k_quants_parse_but_cannot_run) {
  TestModel m = make_test_model({20, 6, 64, 2, 1, 5, 64, 2, 1, 80, 2012});  // mlp.2 rows of 256
  m.find("encoder.blocks.0.mlp.2.weight")->type = (int32_t)GgmlType::kQ4_K;
  const wn::ModelFile f = parse_bytes(write_test_model(m));
  CHECK(f.find("encoder.blocks.0.mlp.2.weight")->type == GgmlType::kQ4_K);
  CHECK_THROWS_CODE(wn::bind_weights(f), ErrorCode::kUnsupportedTensorType);
  CHECK(contains(error_message([&] { wn::bind_weights(f); }),
                 "tensor 'encoder.blocks.0.mlp.2.weight' has type q4_K, which this build cannot "
                 "run; supported: f32, f16, q4_0, q4_1, q5_0, q5_1, q8_0"));
}

TEST(quantized_vectors_are_broken_files) {
  // A quantized LayerNorm is not a type to support: whisper.cpp never writes one.
  // Rows of 32: whole q8_0 blocks. 2007: a q8_0 file, quantization version 2.
  TestModel m = make_test_model({20, 6, 32, 2, 1, 5, 32, 2, 1, 80, 2007});
  m.find("decoder.ln.weight")->type = (int32_t)GgmlType::kQ8_0;
  CHECK_THROWS_CODE(bind_model(m), ErrorCode::kModelFormat);
  CHECK(contains(bind_error(m), "'decoder.ln.weight' has type q8_0, expected f32"));
}

TEST(audio_and_text_widths_must_match) {
  TestModel m = make_test_model({20, 6, 8, 2, 1, 5, 16, 2, 1, 80, 1});
  CHECK_THROWS_CODE(bind_model(m), ErrorCode::kModelFormat);
  CHECK(contains(bind_error(m), "n_audio_state (8) differs from n_text_state (16)"));
}

// Each of the 11 header fields of the real file set to 0, -1 and 2^30: the
// file must not load (parse or bind says why).
TEST(real_model_header_corruption_never_loads) {
  if (!real_model()) return;
  std::vector<std::pair<int, int32_t>> edits;
  for (int field = 0; field < kHeaderFields; ++field) {
    for (int32_t value : {0, -1, 1 << 30}) edits.push_back({field, value});
  }
  CHECK(count_edits_that_load(edits) == 0);
}

// Header fields set to other *plausible* values: the tensors then disagree
// with the header, and bind_weights must notice. (Head counts only split the
// state, so no shape can contradict them; they are left out.)
TEST(real_model_plausible_but_wrong_header_never_loads) {
  if (!real_model()) return;
  CHECK(count_edits_that_load({{kNVocab, 51865},
                               {kNAudioCtx, 1499},
                               {kNAudioState, 512},
                               {kNAudioLayer, 3},
                               {kNAudioLayer, 5},
                               {kNTextCtx, 449},
                               {kNTextState, 512},
                               {kNTextLayer, 6},
                               {kNMels, 128},
                               {kFtype, 0}}) == 0);
}

// A file cut exactly between two records parses (the container cannot know)
// but never binds: the first tensor after the cut is missing.
TEST(cut_between_records_is_a_missing_tensor) {
  TestLayout at;
  const TestModel m = tiny_test_model();
  const std::vector<uint8_t> bytes = write_test_model(m, &at);
  for (size_t i = 0; i < at.records.size(); ++i) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + at.records[i]);
    const wn::ModelFile f = parse_bytes(std::move(cut));
    CHECK(f.tensors.size() == i);
    CHECK(contains(error_message([&] { wn::bind_weights(f); }),
                   "missing tensor '" + m.tensors[i].name + "'"));
  }
}

int main() {
  return wn_test::run_all();
}
