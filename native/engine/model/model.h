// A loaded Whisper model: hparams, vocabulary, mel filterbank and the weights
// packed for the kernels, plus the model's thread pool. Immutable after load
// and shared (std::shared_ptr<const Model>) by every transcription running on
// it; per-call state lives in Encoder/Decoder objects.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/cancel.h"
#include "engine/core/thread_pool.h"
#include "engine/format/ggml_file.h"
#include "engine/kernels/kernels.h"

namespace wn {

struct LoadOptions {
  int threads = 0;  // 0: the number of hardware threads (at most 8)
  // The kernel path; unset: kernels::selected_isa() (WHISPER_NATIVE_ISA or the
  // best one). Throws kInvalidArgument when this CPU cannot run it.
  std::optional<kernels::Isa> isa;
  // Leave the encoder's weight matrices in the model file instead of packing
  // them at load: the file stays open (not mapped), and each encode reads
  // every matrix from it (pread) and packs it into the encoder's staging
  // memory right before its GEMM. Saves the encoder's weights (17 MB for an
  // f16 tiny) outside an encode, for a little encoder time. An encode first
  // checks that the file is unchanged on disk, and a read that comes up short
  // (the file truncated meanwhile) fails too: kModelChanged either way.
  // The JavaScript API's default is true (lib/options.ts: ~1.5 % encoder time
  // for 17.5 MB of tiny's peak RSS); the engine's stays false, so that its
  // tests and benchmarks name the mode they use.
  bool low_memory = false;
  // Polled between packing jobs (each ~2 MB of the file, a millisecond or so):
  // once raised, load() stops and throws kAborted. May be null.
  const CancellationFlag* cancel = nullptr;
};

// A LayerNorm's parameters, widened to f32.
struct Norm {
  std::vector<float> gamma, beta;
};

// A positional embedding, [rows][d] (the encoder's or the decoder's). Files
// store both as f32, but the models converted from OpenAI's checkpoints, which
// are f16, hold only values that f16 represents exactly: such a table is kept
// as f16, half the memory (tiny: 1.5 MB less for the two; large: 5 MB), and
// widened as it is read, which gives back the file's floats bit for bit.
// Tables with other values (the random-weight test model's) stay f32.
class PositionTable {
 public:
  // From an f32 tensor [rows][d] (bind_weights checks its type and shape).
  void assign(const TensorView& t);
  // Rows [first, first + n) as floats into out (n * d of them). Throws
  // kInternal when they are not all in the table.
  void rows(const kernels::Context& ctx, int64_t first, int64_t n, float* out) const;
  bool empty() const { return n_rows_ == 0; }
  bool is_f16() const { return !f16_.empty(); }
  size_t bytes() const { return f32_.size() * sizeof(float) + f16_.size() * sizeof(uint16_t); }

 private:
  std::vector<float> f32_;
  std::vector<uint16_t> f16_;
  int64_t n_rows_ = 0, d_ = 0;
};

// A weight matrix [n][k] of the encoder: packed at load, or, in a model loaded
// with LoadOptions::low_memory, left in the file as `parts` (rows of one
// type, stacked in order) that the encoder reads and packs right before use. Every
// part but the last has a whole number of panels' rows, so that each part
// packs on its own into its panels of the matrix.
struct EncoderMatrix {
  kernels::PackedWeights packed;  // empty when in the file
  struct Part {
    uint64_t offset = 0;  // where its rows start in the file
    int rows = 0;
    uint64_t bytes = 0;
  };
  std::vector<Part> parts;  // empty when packed
  GgmlType type = GgmlType::kF32;
  int n = 0, k = 0;
  bool in_file() const { return !parts.empty(); }
  // Bytes of the file its parts span (0 when packed).
  uint64_t file_bytes() const {
    uint64_t bytes = 0;
    for (const Part& part : parts) bytes += part.bytes;
    return bytes;
  }
};

struct EncoderBlock {
  Norm attn_ln;
  // q, k and v of each head as one GEMM ([3 * d_head][d]: the head's rows of
  // q, then of k, then of v), so that the encoder can compute attention a few
  // heads at a time and hold only their q, k and v.
  std::vector<EncoderMatrix> qkv;
  std::vector<float> qkv_bias;  // [n_head][3][d_head], head by head (the key's part zero)
  EncoderMatrix attn_out;
  std::vector<float> attn_out_bias;
  Norm mlp_ln;
  EncoderMatrix fc1, fc2;
  std::vector<float> fc1_bias, fc2_bias;
};

struct DecoderBlock {
  Norm attn_ln;
  kernels::PackedWeights qkv;
  std::vector<float> qkv_bias;
  kernels::PackedWeights attn_out;
  std::vector<float> attn_out_bias;
  Norm cross_ln;
  kernels::PackedWeights cross_q;
  std::vector<float> cross_q_bias;
  kernels::PackedWeights cross_kv;   // k and v stacked: [2d][d]
  std::vector<float> cross_kv_bias;  // [2d] (k's part zero)
  kernels::PackedWeights cross_out;
  std::vector<float> cross_out_bias;
  Norm mlp_ln;
  kernels::PackedWeights fc1, fc2;
  std::vector<float> fc1_bias, fc2_bias;
};

class StepBatcher;

class Model {
 public:
  ~Model();
  // Opens, validates (format + weights) and packs. Throws wn::Error.
  static std::shared_ptr<const Model> load(const std::string& path, const LoadOptions& options);
  static std::shared_ptr<const Model> load(ModelFile file, const LoadOptions& options);

  const HParams& hparams() const { return hparams_; }
  const std::vector<std::string>& vocab() const { return vocab_; }
  const std::vector<float>& mel_filters() const { return mel_filters_; }  // [n_mels][n_fft_bins]
  int n_fft_bins() const { return n_fft_bins_; }
  bool multilingual() const { return hparams_.n_vocab >= 51865; }
  // "tiny", "base", "small", "medium", "large" from n_audio_layer; with ".en" when English-only
  std::string type_name() const;
  kernels::Context context() const { return {isa_, pool_.get()}; }
  ThreadPool& pool() const { return *pool_; }
  // Where the decoder steps of concurrent calls meet (step_batcher.h).
  StepBatcher& step_batcher() const { return *step_batcher_; }
  size_t weight_bytes() const;  // memory held by the weights (packed, copied, widened)

  // --- LoadOptions::low_memory: encoder weights read from the open file ---
  bool low_memory() const { return file_ != nullptr; }
  // Throws kModelChanged when the file changed on disk since load (a no-op
  // unless low_memory()).
  void check_file_unchanged() const;
  // Copies bytes [offset, offset + n) of the file into dst; throws
  // kModelChanged when the file no longer holds them (truncated since load)
  // and kInternal unless low_memory(). Safe from any thread.
  void read_file(uint64_t offset, void* dst, size_t n) const;

  // --- packed weights (read by encoder.cc / decoder.cc) ---
  EncoderMatrix conv1, conv2;  // [d][n_mels*3], [d][d*3]: convolutions as GEMMs (im2col)
  std::vector<float> conv1_bias, conv2_bias;
  PositionTable enc_pos;         // [n_audio_ctx][d]; empty when in the file:
  int64_t enc_pos_in_file = -1;  // low memory: the file offset of enc_pos's f32 rows
  std::vector<EncoderBlock> enc_blocks;
  Norm enc_ln_post;
  // The token embedding [n_vocab][d_text]: the output projection (the
  // decoder's vocabulary logits) and the embedding lookups, packed into
  // panels like the layer weights, in the file's type (f16, f32 or quantized
  // blocks). Why panels and not the file's row-major rows: the panel kernel
  // reads each k step's weights for 32 outputs once for every row of h, so
  // the 5 rows of a beam search cost little more than one (row by row, 5
  // rows took 1.8x the time of panels on an Intel Xeon; one row measured
  // the same either way); a lookup gathers one column of a panel.
  kernels::PackedWeights tok_emb;
  // Row `token` of the embedding, widened to f32 (d_text floats).
  void embedding_row(int token, float* out) const;
  // logits[r][j] = h[r] · embedding[j] for r in [0, rows), j in [0, n_vocab);
  // the panels wholly below first_token are left out (their logits are left
  // as they are).
  void vocab_logits(const kernels::Context& ctx, const float* h, int64_t ldh, int rows,
                    float* logits, int64_t ldl, int first_token = 0) const;
  PositionTable dec_pos;  // [n_text_ctx][d_text]
  std::vector<DecoderBlock> dec_blocks;
  Norm dec_ln;

 private:
  Model() = default;
  // Low memory: keeps the file open for reads (the mapping goes with load).
  void keep_file(std::shared_ptr<const FileBytes> bytes);
  HParams hparams_;
  std::vector<std::string> vocab_;
  std::vector<float> mel_filters_;
  int n_fft_bins_ = 0;
  kernels::Isa isa_ = kernels::Isa::kGeneric;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<StepBatcher> step_batcher_;
  std::unique_ptr<FileReader> file_;  // low memory: the file, kept open
};

}  // namespace wn
