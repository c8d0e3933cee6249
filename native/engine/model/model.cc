// Model loading: open and validate the file, then convert every tensor into the
// form the encoder and decoder consume (weights packed for the selected kernel
// path, small parameters widened to f32). Packing jobs run in parallel on the
// model's thread pool, and each source tensor's pages are released as soon as
// its job is done, so the mapped file and the packed copy are never both
// resident in full. The ModelFile (the mapping) is dropped at the end of
// load(). A low-memory model leaves its encoder's matrices in the file
// (EncoderMatrix::parts, by offset) and keeps the file open; the encoder reads
// and packs them for each encode (encoder.cc).
//
// What it is not: the forward passes (encoder.cc, decoder.cc) or the file
// format checks (format/, weights.cc).
#include "engine/model/model.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "engine/core/error.h"
#include "engine/core/f16.h"
#include "engine/kernels/quant.h"
#include "engine/model/step_batcher.h"
#include "engine/model/weights.h"

namespace wn {

Model::~Model() = default;  // here, where StepBatcher is a complete type
namespace {

constexpr int kMaxDefaultThreads = 8;

// One unit of load work and a size estimate used to start the big ones first.
struct PackJob {
  uint64_t cost;
  std::function<void()> run;
};

// Widens an f32, f16 or block-quantized tensor to f32 (parameters, biases,
// embeddings; the parts of a stacked matrix whose types differ).
std::vector<float> widen(const TensorView& t) {
  const int64_t n = t.n_elements();
  std::vector<float> out(n);
  if (kernels::is_block_quantized(t.type)) {
    kernels::dequantize_row(t.type, t.data, n, out.data());
  } else if (t.type == GgmlType::kF32) {
    std::memcpy(out.data(), t.data, n * sizeof(float));
  } else if (t.type == GgmlType::kF16) {
    // Record data need not be 2-byte aligned in the file: read through memcpy.
    for (int64_t i = 0; i < n; i++) {
      uint16_t h;
      std::memcpy(&h, t.data + 2 * i, sizeof h);
      out[i] = f16_to_f32(h);
    }
  } else {
    throw Error(ErrorCode::kUnsupportedTensorType,
                "tensor " + t.name + ": expected f32, f16 or a block-quantized type, got " +
                    ggml_type_name(t.type));
  }
  return out;
}

// Rows of a Linear weight [n][k] as stored in the file.
int rows_of(const TensorView& t) {
  return static_cast<int>(t.ne[1]);
}
int cols_of(const TensorView& t) {
  return static_cast<int>(t.ne[0]);
}

// Rows [first, first + rows) of a Linear weight or bias (rows of one value),
// as a view of their own.
TensorView slice_rows(const TensorView& t, int first, int rows) {
  const int all = t.n_dims >= 2 ? rows_of(t) : static_cast<int>(t.ne[0]);
  const uint64_t row_bytes = t.nbytes / static_cast<uint64_t>(all);
  TensorView s = t;
  s.data = t.data + row_bytes * first;
  s.nbytes = row_bytes * rows;
  if (t.n_dims >= 2) {
    s.ne[1] = rows;
  } else {
    s.ne[0] = rows;
  }
  return s;
}

// Stacks the rows of several [n_i][k] weights into one [Σn_i][k] source in a
// common type: the raw bytes when every part has the same type, else f32.
struct StackedSource {
  GgmlType type;
  std::vector<uint8_t> bytes;
  int n = 0;
};

StackedSource stack_rows(const std::vector<const TensorView*>& parts) {
  StackedSource s;
  s.type = parts[0]->type;
  const int k = cols_of(*parts[0]);
  for (const TensorView* p : parts) {
    if (cols_of(*p) != k) {
      throw Error(ErrorCode::kModelFormat, "tensor " + p->name + ": expected " + std::to_string(k) +
                                               " columns, got " + std::to_string(cols_of(*p)));
    }
    if (p->type != s.type) s.type = GgmlType::kF32;
    s.n += rows_of(*p);
  }
  if (s.type == parts[0]->type) {
    for (const TensorView* p : parts) s.bytes.insert(s.bytes.end(), p->data, p->data + p->nbytes);
    return s;
  }
  for (const TensorView* p : parts) {
    const std::vector<float> f = widen(*p);
    const auto* b = reinterpret_cast<const uint8_t*>(f.data());
    s.bytes.insert(s.bytes.end(), b, b + f.size() * sizeof(float));
  }
  return s;
}

void check_bias(const TensorView& bias, size_t size, int rows) {
  if (size != static_cast<size_t>(rows)) {
    throw Error(ErrorCode::kModelFormat, "tensor " + bias.name + ": expected " +
                                             std::to_string(rows) + " values, got " +
                                             std::to_string(size));
  }
}

// A Conv1d weight [out][in][3] as the matrix it is to the im2col GEMM: it is
// already row-major [out][in*3].
TensorView as_matrix(const TensorView& conv) {
  TensorView m = conv;
  m.n_dims = 2;
  m.ne = {conv.ne[0] * conv.ne[1], conv.ne[2], 1, 1};
  return m;
}

// Collects the load work for one model; every job writes its own destination.
class Packer {
 public:
  Packer(const ModelFile& file, kernels::Isa isa, bool low_memory)
      : file_(file), isa_(isa), low_memory_(low_memory) {}

  void linear(kernels::PackedWeights* dst, const TensorView& w) {
    jobs_.push_back({w.nbytes, [this, dst, &w] {
                       *dst = kernels::PackedWeights::pack(isa_, w.type, w.data, rows_of(w),
                                                           cols_of(w));
                       release(w);
                     }});
  }

  // Several Linear weights as one GEMM: their rows stacked.
  void stacked(kernels::PackedWeights* dst, std::vector<TensorView> weights) {
    uint64_t cost = 0;
    for (const TensorView& w : weights) cost += w.nbytes;
    jobs_.push_back({cost, [this, dst, weights] {
                       if (packs_part_by_part(weights)) {
                         // Each part straight from the file into its own
                         // panels: no stacked copy. A copy of a few hundred
                         // KB on the heap, freed at once, raised glibc's mmap
                         // threshold for the rest of the process and left ~4
                         // MB of free heap resident (measured in peak RSS).
                         int n = 0;
                         for (const TensorView& w : weights) n += rows_of(w);
                         *dst = kernels::PackedWeights::allocate(isa_, weights[0].type, n,
                                                                 cols_of(weights[0]));
                         const int nr = dst->panel_width();
                         int row = 0;
                         for (const TensorView& w : weights) {
                           const int p1 = (row + rows_of(w) + nr - 1) / nr;
                           dst->pack_panel_rows(w.data, row / nr, p1);
                           row += rows_of(w);
                         }
                       } else {
                         std::vector<const TensorView*> parts;
                         for (const TensorView& w : weights) parts.push_back(&w);
                         const StackedSource s = stack_rows(parts);
                         *dst = kernels::PackedWeights::pack(isa_, s.type, s.bytes.data(), s.n,
                                                             cols_of(weights[0]));
                       }
                       for (const TensorView& w : weights) release(w);
                     }});
  }

  // Whether stacked parts can each be packed into panels of their own: they
  // share a type and columns, and every part but the last fills whole panels
  // (true of every Whisper size's q|k|v and k|v; only test models with small
  // heads miss it).
  bool packs_part_by_part(const std::vector<TensorView>& parts) const {
    const int nr = kernels::PackedWeights::panel_width(isa_);
    for (size_t i = 0; i < parts.size(); i++) {
      const TensorView& p = parts[i];
      if (p.type != parts[0].type || cols_of(p) != cols_of(parts[0])) return false;
      if (i + 1 < parts.size() && rows_of(p) % nr != 0) return false;
    }
    return true;
  }

  // The biases of stacked weights into (*bias)[at...], which must already have
  // room: each part's `rows` values, zeros for a missing bias.
  void stacked_bias(std::vector<float>* bias, size_t at, std::vector<int> rows,
                    std::vector<std::optional<TensorView>> biases) {
    jobs_.push_back({0, [this, bias, at, rows, biases] {
                       size_t row = at;
                       for (size_t i = 0; i < biases.size(); i++) {
                         if (biases[i]) {
                           const std::vector<float> b = widen(*biases[i]);
                           check_bias(*biases[i], b.size(), rows[i]);
                           std::copy(b.begin(), b.end(), bias->begin() + row);
                           release(*biases[i]);
                         } else {
                           std::fill_n(bias->begin() + row, rows[i], 0.0f);
                         }
                         row += static_cast<size_t>(rows[i]);
                       }
                     }});
  }

  // An encoder matrix whose rows are the parts' rows stacked: packed; or, in a
  // low-memory model, left in the file when the parts share a type and each
  // but the last fills whole panels (else packed all the same: the encoder
  // packs each part into its own panels, of one type; only test models with
  // small heads miss this).
  void encoder_matrix(EncoderMatrix* dst, std::vector<TensorView> parts) {
    for (const TensorView& p : parts) {
      if (cols_of(p) != cols_of(parts[0])) {
        throw Error(ErrorCode::kModelFormat, "tensor " + p.name + ": expected " +
                                                 std::to_string(cols_of(parts[0])) +
                                                 " columns, got " + std::to_string(cols_of(p)));
      }
    }
    if (!low_memory_ || !packs_part_by_part(parts)) {
      stacked(&dst->packed, std::move(parts));
      return;
    }
    dst->type = parts[0].type;
    dst->k = cols_of(parts[0]);
    dst->n = 0;
    for (const TensorView& p : parts) {
      dst->parts.push_back({offset_of(p), rows_of(p), p.nbytes});
      dst->n += rows_of(p);
    }
  }

  // The token embedding, packed into panels by several jobs of about 2 MB of
  // the file each (one tensor would be one thread's work for the whole
  // load); each job releases the file rows it has read.
  void embedding(kernels::PackedWeights* dst, const TensorView& w) {
    *dst = kernels::PackedWeights::allocate(isa_, w.type, rows_of(w), cols_of(w));
    const uint64_t row_bytes = w.nbytes / static_cast<uint64_t>(rows_of(w));
    const int panel_rows = dst->panel_width();
    constexpr uint64_t kSlice = uint64_t{2} << 20;
    const int panels_per_job =
        static_cast<int>(std::max<uint64_t>(1, kSlice / (row_bytes * panel_rows)));
    for (int p0 = 0; p0 < dst->n_panels(); p0 += panels_per_job) {
      const int p1 = std::min(dst->n_panels(), p0 + panels_per_job);
      const uint64_t begin = static_cast<uint64_t>(p0) * panel_rows * row_bytes;
      const uint64_t end = std::min(w.nbytes, static_cast<uint64_t>(p1) * panel_rows * row_bytes);
      jobs_.push_back({end - begin, [this, dst, &w, p0, p1, begin, end] {
                         dst->pack_panels(w.data, p0, p1);
                         file_.bytes->release_range(w.data + begin, end - begin);
                       }});
    }
  }

  void vec(std::vector<float>* dst, const TensorView& t) {
    jobs_.push_back({t.nbytes, [this, dst, &t] {
                       *dst = widen(t);
                       release(t);
                     }});
  }

  void positions(PositionTable* dst, const TensorView& t) {
    jobs_.push_back({t.nbytes, [this, dst, &t] {
                       dst->assign(t);
                       release(t);
                     }});
  }

  void norm(Norm* dst, const TensorView& gamma, const TensorView& beta) {
    vec(&dst->gamma, gamma);
    vec(&dst->beta, beta);
  }

  // Runs every job, biggest first, on the pool; throws kAborted once `cancel`
  // is raised (the jobs not yet started are skipped).
  void run(ThreadPool& pool, const CancellationFlag* cancel) {
    std::sort(jobs_.begin(), jobs_.end(),
              [](const PackJob& a, const PackJob& b) { return a.cost > b.cost; });
    pool.parallel_for(static_cast<int64_t>(jobs_.size()), [this, cancel](int64_t i, int) {
      throw_if_cancelled(cancel);
      jobs_[i].run();
    });
    release_windows(std::vector<uint64_t>(pending_windows_.begin(), pending_windows_.end()));
    pending_windows_.clear();
  }

  // Where a tensor's data starts in the file.
  uint64_t offset_of(const TensorView& t) const {
    return static_cast<uint64_t>(t.data - file_.bytes->data());
  }

 private:
  // Hands a tensor's file pages back. A small tensor's (a bias, a norm: ~100
  // of a model's tensors are a few KB) go with others': each release is a
  // system call and, with the other thread running, a TLB shootdown, which
  // one by one cost ~1.5 ms of a 22 ms load. Their windows (FileBytes::
  // kReleaseWindow) are released together once kPendingWindows different ones
  // wait, and at the end of the run.
  void release(const TensorView& t) {
    if (t.nbytes == 0) return;
    if (t.nbytes >= kSmallTensorBytes) {
      file_.bytes->release_range(t.data, t.nbytes);
      return;
    }
    const uint64_t first = offset_of(t) / FileBytes::kReleaseWindow;
    const uint64_t last = (offset_of(t) + t.nbytes - 1) / FileBytes::kReleaseWindow;
    std::vector<uint64_t> due;
    {
      std::lock_guard<std::mutex> lock(pending_mutex_);
      for (uint64_t w = first; w <= last; ++w) pending_windows_.insert(w);
      if (pending_windows_.size() < kPendingWindows) return;
      due.assign(pending_windows_.begin(), pending_windows_.end());
      pending_windows_.clear();
    }
    release_windows(due);
  }

  // Windows (sorted indices), runs of neighbours in one call.
  void release_windows(const std::vector<uint64_t>& windows) const {
    constexpr uint64_t kWindow = FileBytes::kReleaseWindow;
    for (size_t i = 0; i < windows.size();) {
      size_t j = i;
      while (j + 1 < windows.size() && windows[j + 1] == windows[j] + 1) ++j;
      file_.bytes->release_range(file_.bytes->data() + windows[i] * kWindow,
                                 (windows[j] - windows[i] + 1) * kWindow);
      i = j + 1;
    }
  }

  static constexpr uint64_t kSmallTensorBytes = 64 << 10;
  static constexpr size_t kPendingWindows = 4;

  const ModelFile& file_;
  kernels::Isa isa_;
  bool low_memory_;
  std::vector<PackJob> jobs_;
  std::mutex pending_mutex_;
  std::set<uint64_t> pending_windows_;  // of small tensors released, not yet handed back
};

// The self-attention and MLP parts of a decoder block.
void add_self_attention_jobs(Packer& p, const DecoderBlockWeights& s, DecoderBlock& b) {
  p.norm(&b.attn_ln, s.attn_ln_w, s.attn_ln_b);
  const int d = rows_of(s.attn_q_w);
  b.qkv_bias.resize(static_cast<size_t>(3) * d);
  p.stacked(&b.qkv, {s.attn_q_w, s.attn_k_w, s.attn_v_w});
  p.stacked_bias(&b.qkv_bias, 0, {d, d, d}, {s.attn_q_b, std::nullopt, s.attn_v_b});
  p.linear(&b.attn_out, s.attn_out_w);
  p.vec(&b.attn_out_bias, s.attn_out_b);
}

void add_mlp_jobs(Packer& p, const DecoderBlockWeights& s, DecoderBlock& b) {
  p.norm(&b.mlp_ln, s.mlp_ln_w, s.mlp_ln_b);
  p.linear(&b.fc1, s.mlp_fc1_w);
  p.vec(&b.fc1_bias, s.mlp_fc1_b);
  p.linear(&b.fc2, s.mlp_fc2_w);
  p.vec(&b.fc2_bias, s.mlp_fc2_b);
}

// An encoder block: q, k and v stacked per head (EncoderBlock::qkv).
void add_encoder_block_jobs(Packer& p, const EncoderBlockWeights& s, int n_head, EncoderBlock& b) {
  p.norm(&b.attn_ln, s.attn_ln_w, s.attn_ln_b);
  const int d = rows_of(s.attn_q_w);
  const int d_head = d / n_head;
  b.qkv.resize(static_cast<size_t>(n_head));
  b.qkv_bias.resize(static_cast<size_t>(3) * d);
  for (int h = 0; h < n_head; h++) {
    const int first = h * d_head;
    p.encoder_matrix(&b.qkv[h],
                     {slice_rows(s.attn_q_w, first, d_head), slice_rows(s.attn_k_w, first, d_head),
                      slice_rows(s.attn_v_w, first, d_head)});
    p.stacked_bias(&b.qkv_bias, static_cast<size_t>(3) * first, {d_head, d_head, d_head},
                   {slice_rows(s.attn_q_b, first, d_head), std::nullopt,
                    slice_rows(s.attn_v_b, first, d_head)});
  }
  p.encoder_matrix(&b.attn_out, {s.attn_out_w});
  p.vec(&b.attn_out_bias, s.attn_out_b);
  p.norm(&b.mlp_ln, s.mlp_ln_w, s.mlp_ln_b);
  p.encoder_matrix(&b.fc1, {s.mlp_fc1_w});
  p.vec(&b.fc1_bias, s.mlp_fc1_b);
  p.encoder_matrix(&b.fc2, {s.mlp_fc2_w});
  p.vec(&b.fc2_bias, s.mlp_fc2_b);
}

void add_encoder_jobs(Packer& p, const WhisperWeights& w, bool low_memory, Model& m) {
  p.encoder_matrix(&m.conv1, {as_matrix(w.conv1_w)});
  p.vec(&m.conv1_bias, w.conv1_b);
  p.encoder_matrix(&m.conv2, {as_matrix(w.conv2_w)});
  p.vec(&m.conv2_bias, w.conv2_b);
  if (low_memory) {
    m.enc_pos_in_file = static_cast<int64_t>(p.offset_of(w.enc_pos));  // f32 (bind_weights checks)
  } else {
    p.positions(&m.enc_pos, w.enc_pos);
  }
  m.enc_blocks.resize(w.enc_blocks.size());
  for (size_t i = 0; i < w.enc_blocks.size(); i++) {
    add_encoder_block_jobs(p, w.enc_blocks[i], m.hparams().n_audio_head, m.enc_blocks[i]);
  }
  p.norm(&m.enc_ln_post, w.enc_ln_post_w, w.enc_ln_post_b);
}

void add_decoder_jobs(Packer& p, const WhisperWeights& w, Model& m) {
  p.embedding(&m.tok_emb, w.tok_emb);
  p.positions(&m.dec_pos, w.dec_pos);
  m.dec_blocks.resize(w.dec_blocks.size());
  for (size_t i = 0; i < w.dec_blocks.size(); i++) {
    const DecoderBlockWeights& s = w.dec_blocks[i];
    DecoderBlock& b = m.dec_blocks[i];
    add_self_attention_jobs(p, s, b);
    p.norm(&b.cross_ln, s.cross_ln_w, s.cross_ln_b);
    p.linear(&b.cross_q, s.cross_q_w);
    p.vec(&b.cross_q_bias, s.cross_q_b);
    const int d = rows_of(s.cross_k_w);
    b.cross_kv_bias.resize(static_cast<size_t>(2) * d);
    p.stacked(&b.cross_kv, {s.cross_k_w, s.cross_v_w});
    p.stacked_bias(&b.cross_kv_bias, 0, {d, d}, {std::nullopt, s.cross_v_b});
    p.linear(&b.cross_out, s.cross_out_w);
    p.vec(&b.cross_out_bias, s.cross_out_b);
    add_mlp_jobs(p, s, b);
  }
  p.norm(&m.dec_ln, w.dec_ln_w, w.dec_ln_b);
}

int resolve_threads(int requested) {
  if (requested < 0) {
    throw Error(
        ErrorCode::kInvalidArgument,
        "threads: expected 0 (automatic) or a positive count, got " + std::to_string(requested));
  }
  if (requested > 0) return requested;
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, std::min(hw, kMaxDefaultThreads));
}

kernels::Isa resolve_isa(const LoadOptions& options) {
  if (!options.isa) return kernels::selected_isa();
  if (!kernels::isa_supported(*options.isa)) {
    throw Error(ErrorCode::kInvalidArgument, std::string("kernel path ") +
                                                 kernels::isa_name(*options.isa) +
                                                 " is not supported on this CPU or build");
  }
  return *options.isa;
}

// The shape facts the forward passes rely on beyond what bind_weights checks.
void check_hparams(const HParams& hp) {
  if (hp.n_audio_head <= 0 || hp.n_audio_state % hp.n_audio_head != 0 || hp.n_text_head <= 0 ||
      hp.n_text_state % hp.n_text_head != 0) {
    throw Error(ErrorCode::kModelFormat,
                "hparams: the state sizes (" + std::to_string(hp.n_audio_state) + ", " +
                    std::to_string(hp.n_text_state) + ") must be multiples of the head counts (" +
                    std::to_string(hp.n_audio_head) + ", " + std::to_string(hp.n_text_head) + ")");
  }
  if (hp.n_audio_state != hp.n_text_state) {
    throw Error(ErrorCode::kModelFormat,
                "hparams: n_audio_state " + std::to_string(hp.n_audio_state) +
                    " differs from n_text_state " + std::to_string(hp.n_text_state) +
                    " (cross-attention needs them equal)");
  }
}

}  // namespace

std::shared_ptr<const Model> Model::load(const std::string& path, const LoadOptions& options) {
  throw_if_cancelled(options.cancel);
  ModelFile file = open_model_file(path);
  try {
    return load(std::move(file), options);
  } catch (const Error& e) {
    // Binding and packing do not know the path; for a fault in the file's
    // contents the user needs it, as open_model_file gives it for the header.
    if (e.code() == ErrorCode::kModelFormat || e.code() == ErrorCode::kUnsupportedTensorType) {
      throw Error(e.code(), "model file '" + path + "': " + e.what());
    }
    throw;
  }
}

std::shared_ptr<const Model> Model::load(ModelFile file, const LoadOptions& options) {
  throw_if_cancelled(options.cancel);
  const int threads = resolve_threads(options.threads);
  const kernels::Isa isa = resolve_isa(options);
  check_hparams(file.hparams);
  const WhisperWeights weights = bind_weights(file);

  std::shared_ptr<Model> m(new Model());
  m->hparams_ = file.hparams;
  m->isa_ = isa;
  m->pool_ = std::make_unique<ThreadPool>(threads);
  m->step_batcher_ = std::make_unique<StepBatcher>();

  Packer packer(file, isa, options.low_memory);
  add_encoder_jobs(packer, weights, options.low_memory, *m);
  add_decoder_jobs(packer, weights, *m);
  // Parsing read every tensor record's header, spread over the whole file, and
  // each of those reads mapped the pages (or, with large folios, the 2 MiB)
  // around it: handed back before packing, whose jobs then hold only what
  // they read (measured: with the page cache a download leaves, ~30 MB of
  // the file was resident at the start of packing).
  file.bytes->release_range(file.bytes->data(), file.bytes->size());
  packer.run(*m->pool_, options.cancel);
  if (options.low_memory) m->keep_file(file.bytes);

  m->vocab_ = std::move(file.vocab);
  m->mel_filters_ = std::move(file.mel_filters);
  m->n_fft_bins_ = file.n_fft_bins;
  return m;  // `file` (and with it the mapping, unless kept or shared elsewhere) goes here
}

void Model::keep_file(std::shared_ptr<const FileBytes> bytes) {
  file_ = FileReader::open(std::move(bytes));
}

namespace {

// kModelChanged for a low-memory model's file: what happened, then what to do.
Error model_changed(const std::string& path, const std::string& what) {
  return Error(ErrorCode::kModelChanged,
               "model file '" + path + "' " + what +
                   "; it was loaded with lowMemory (the default), so the encoder reads its "
                   "weights from it: load it again. Do not modify a model file in place while a "
                   "lowMemory model uses it (replacing it by rename is fine), or load it with "
                   "lowMemory: false");
}

}  // namespace

void Model::check_file_unchanged() const {
  if (file_ == nullptr || file_->unchanged_on_disk()) return;
  throw model_changed(file_->path(), "was modified on disk after it was loaded");
}

void Model::read_file(uint64_t offset, void* dst, size_t n) const {
  if (file_ == nullptr) {
    throw Error(ErrorCode::kInternal, "read_file: the model keeps no file (not low memory)");
  }
  if (file_->read_at(offset, dst, n)) return;
  throw model_changed(file_->path(), "no longer holds bytes [" + std::to_string(offset) + ", " +
                                         std::to_string(offset + n) +
                                         ") it had at load (truncated on disk?)");
}

std::string Model::type_name() const {
  std::string name;
  switch (hparams_.n_audio_layer) {
    case 4:
      name = "tiny";
      break;
    case 6:
      name = "base";
      break;
    case 12:
      name = "small";
      break;
    case 24:
      name = "medium";
      break;
    case 32:
      name = "large";
      break;
    default:
      name = "unknown";
      break;
  }
  return multilingual() ? name : name + ".en";
}

void Model::embedding_row(int token, float* out) const {
  tok_emb.row(token, out);
}

void PositionTable::assign(const TensorView& t) {
  n_rows_ = rows_of(t);
  d_ = cols_of(t);
  const int64_t n = n_rows_ * d_;
  // Read through memcpy: record data need not be 4-byte aligned in the file.
  const auto value = [&t](int64_t i) {
    float v;
    std::memcpy(&v, t.data + sizeof(float) * i, sizeof v);
    return v;
  };
  // Bit for bit: a -0 or a NaN must come back as itself too.
  const auto round_trips = [](float v) {
    const float back = f16_to_f32(f32_to_f16(v));
    return std::memcmp(&back, &v, sizeof v) == 0;
  };
  bool exact = true;
  for (int64_t i = 0; i < n && exact; ++i) exact = round_trips(value(i));
  f32_.clear();
  f16_.clear();
  if (!exact) {
    f32_ = widen(t);
    return;
  }
  // Written straight from the file: no f32 copy to free (freeing a 2 MB heap
  // block raises glibc's mmap threshold, and later blocks stay resident).
  f16_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) f16_[i] = f32_to_f16(value(i));
}

void PositionTable::rows(const kernels::Context& ctx, int64_t first, int64_t n, float* out) const {
  if (first < 0 || n < 0 || first > n_rows_ - n) {
    throw Error(ErrorCode::kInternal, "positional embedding rows [" + std::to_string(first) +
                                          ", +" + std::to_string(n) + ") of " +
                                          std::to_string(n_rows_));
  }
  if (is_f16()) {
    kernels::f16_to_f32(ctx, f16_.data() + first * d_, out, n * d_);
  } else {
    std::memcpy(out, f32_.data() + first * d_, sizeof(float) * n * d_);
  }
}

void Model::vocab_logits(const kernels::Context& ctx, const float* h, int64_t ldh, int rows,
                         float* logits, int64_t ldl, int first_token) const {
  first_token = std::clamp(first_token, 0, tok_emb.n() - 1);
  kernels::linear(ctx, h, ldh, rows, tok_emb, logits, ldl, kernels::Epilogue{}, first_token);
}

size_t Model::weight_bytes() const {
  auto vec = [](const std::vector<float>& v) { return v.size() * sizeof(float); };
  auto norm = [&](const Norm& n) { return vec(n.gamma) + vec(n.beta); };
  size_t total = conv1.packed.bytes() + conv2.packed.bytes() + vec(conv1_bias) + vec(conv2_bias) +
                 enc_pos.bytes() + norm(enc_ln_post) + tok_emb.bytes() + dec_pos.bytes() +
                 norm(dec_ln);
  for (const EncoderBlock& b : enc_blocks) {
    for (const EncoderMatrix& head : b.qkv) total += head.packed.bytes();
    total += norm(b.attn_ln) + vec(b.qkv_bias) + b.attn_out.packed.bytes() + vec(b.attn_out_bias) +
             norm(b.mlp_ln) + b.fc1.packed.bytes() + b.fc2.packed.bytes() + vec(b.fc1_bias) +
             vec(b.fc2_bias);
  }
  for (const DecoderBlock& b : dec_blocks) {
    total += norm(b.attn_ln) + b.qkv.bytes() + vec(b.qkv_bias) + b.attn_out.bytes() +
             vec(b.attn_out_bias) + norm(b.cross_ln) + b.cross_q.bytes() + vec(b.cross_q_bias) +
             b.cross_kv.bytes() + vec(b.cross_kv_bias) + b.cross_out.bytes() +
             vec(b.cross_out_bias) + norm(b.mlp_ln) + b.fc1.bytes() + b.fc2.bytes() +
             vec(b.fc1_bias) + vec(b.fc2_bias);
  }
  return total;
}

}  // namespace wn
