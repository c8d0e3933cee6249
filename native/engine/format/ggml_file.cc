// The parser of whisper.cpp's ggml model file (REFERENCE.md §2):
//
//   magic | 11 x int32 hparams | n_mel, n_fft, filterbank | n_tokens, tokens |
//   tensor records to the end of the file (no padding anywhere)
//
// Every count, length and offset read from the file is checked before it is
// used, so a corrupt or cut file ends in a wn::Error naming the field, never in
// a read past the end. Which tensors a Whisper model needs, and their shapes,
// is model/weights.cc's business, not this file's.
#include "engine/format/ggml_file.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "engine/core/error.h"

namespace wn {

namespace {

constexpr uint32_t kMagic = 0x67676d6c;  // "ggml" read as a little-endian uint32
constexpr int32_t kFftBins = 201;        // Whisper's STFT: n_fft 400 -> 201 bins
constexpr uint32_t kMaxTokenBytes = 1024;
constexpr int32_t kMaxNameBytes = 256;
constexpr int32_t kMaxDims = 4;

[[noreturn]] void format_error(const std::string& message) {
  throw Error(ErrorCode::kModelFormat, message);
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// A bounds-checked little-endian cursor over the file's bytes.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  bool at_end() const { return pos_ == size_; }

  // Throws kModelTruncated unless n more bytes are there. `what` (and `index`,
  // when >= 0) name the field; the string is only built on failure.
  void need(uint64_t n, const char* what, int64_t index = -1) const {
    if (n <= remaining()) return;
    truncated(n, index < 0 ? std::string(what) : std::string(what) + " " + std::to_string(index));
  }
  void need(uint64_t n, const std::string& what) const {
    if (n > remaining()) truncated(n, what);
  }

  // Returns the next n bytes (already checked with need) and steps over them.
  const uint8_t* skip(uint64_t n) {
    const uint8_t* p = data_ + pos_;
    pos_ += (size_t)n;
    return p;
  }

  uint32_t u32(const char* what, int64_t index = -1) {
    need(4, what, index);
    const uint8_t* p = skip(4);
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  }
  int32_t i32(const char* what, int64_t index = -1) {
    const uint32_t bits = u32(what, index);
    int32_t v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  float f32(const char* what) {
    const uint32_t bits = u32(what);
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }

 private:
  [[noreturn]] void truncated(uint64_t n, const std::string& what) const {
    throw Error(ErrorCode::kModelTruncated, "the file ends at byte " + std::to_string(size_) +
                                                " inside " + what + " (needs " +
                                                std::to_string(n - remaining()) + " more bytes)");
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

void read_magic(Reader& r) {
  const uint32_t magic = r.u32("the magic number");
  if (magic != kMagic) {
    format_error("not a ggml Whisper model file (magic " + hex32(magic) + ", expected " +
                 hex32(kMagic) + ")");
  }
}

void require_range(const char* field, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    format_error("header field " + std::string(field) + " is " + std::to_string(value) +
                 ", expected " + std::to_string(lo) + ".." + std::to_string(hi));
  }
}

void require_heads_divide(const char* heads_field, int32_t heads, const char* state_field,
                          int32_t state) {
  if (state % heads != 0) {
    format_error("header field " + std::string(heads_field) + " (" + std::to_string(heads) +
                 ") does not divide " + state_field + " (" + std::to_string(state) + ")");
  }
}

// ftype values whisper.cpp writes: 0 f32, 1 f16, 2..4 q4 variants, 7..14 other
// quantizations (5 and 6 were retired formats).
bool known_file_type(int32_t ftype) {
  return (ftype >= 0 && ftype <= 4) || (ftype >= 7 && ftype <= 14);
}

// Ranges generous enough for every published Whisper (large-v3: 1280 state,
// 32 layers, 128 mels) and tight enough that sizes derived from them stay small.
void check_hparams(const HParams& h, int32_t stored_ftype) {
  require_range("n_vocab", h.n_vocab, 1, 1 << 20);
  require_range("n_audio_ctx", h.n_audio_ctx, 1, 1 << 16);
  require_range("n_audio_state", h.n_audio_state, 1, 1 << 16);
  require_range("n_audio_head", h.n_audio_head, 1, 1024);
  require_range("n_audio_layer", h.n_audio_layer, 1, 128);
  require_range("n_text_ctx", h.n_text_ctx, 1, 1 << 16);
  require_range("n_text_state", h.n_text_state, 1, 1 << 16);
  require_range("n_text_head", h.n_text_head, 1, 1024);
  require_range("n_text_layer", h.n_text_layer, 1, 128);
  require_heads_divide("n_audio_head", h.n_audio_head, "n_audio_state", h.n_audio_state);
  require_heads_divide("n_text_head", h.n_text_head, "n_text_state", h.n_text_state);
  if (h.n_mels != 80 && h.n_mels != 128) {
    format_error("header field n_mels is " + std::to_string(h.n_mels) + ", expected 80 or 128");
  }
  if (stored_ftype < 0 || !known_file_type(h.ftype)) {
    format_error("header field ftype is " + std::to_string(stored_ftype) +
                 ", expected a ggml file type (0 f32, 1 f16, 2..4 or 7..14 quantized), plus "
                 "1000 x the quantization version");
  }
  if (h.qntvr > kQuantizationVersion) {
    format_error("header field ftype is " + std::to_string(stored_ftype) +
                 ": quantization version " + std::to_string(h.qntvr) +
                 " is newer than the one this reader knows (" +
                 std::to_string(kQuantizationVersion) + ")");
  }
}

// Quantized records are read only from files of the current quantization
// version: older ones lay their blocks out differently (same type ids, other
// sizes and nibble order), so their sizes would be misread. f16/f32 files of
// any version are fine.
void check_quantization_version(const TensorView& t, const HParams& h, size_t record) {
  if (!ggml_type_is_quantized(t.type) || h.qntvr == kQuantizationVersion) return;
  throw Error(ErrorCode::kUnsupportedTensorType,
              "tensor '" + t.name + "' (record " + std::to_string(record) + ") is " +
                  ggml_type_name(t.type) + " in a file of quantization version " +
                  std::to_string(h.qntvr) + " (header ftype " +
                  std::to_string(h.ftype + 1000 * h.qntvr) + "); this build reads version " +
                  std::to_string(kQuantizationVersion) +
                  " blocks only: quantize the model again with a current whisper.cpp");
}

HParams read_hparams(Reader& r) {
  HParams h;
  h.n_vocab = r.i32("the header (n_vocab)");
  h.n_audio_ctx = r.i32("the header (n_audio_ctx)");
  h.n_audio_state = r.i32("the header (n_audio_state)");
  h.n_audio_head = r.i32("the header (n_audio_head)");
  h.n_audio_layer = r.i32("the header (n_audio_layer)");
  h.n_text_ctx = r.i32("the header (n_text_ctx)");
  h.n_text_state = r.i32("the header (n_text_state)");
  h.n_text_head = r.i32("the header (n_text_head)");
  h.n_text_layer = r.i32("the header (n_text_layer)");
  h.n_mels = r.i32("the header (n_mels)");
  const int32_t stored_ftype = r.i32("the header (ftype)");
  h.ftype = stored_ftype % 1000;
  h.qntvr = stored_ftype / 1000;
  check_hparams(h, stored_ftype);
  return h;
}

void read_mel_filters(Reader& r, ModelFile* file) {
  const int32_t n_mel = r.i32("the mel filterbank header (n_mel)");
  const int32_t n_fft = r.i32("the mel filterbank header (n_fft)");
  if (n_mel != file->hparams.n_mels) {
    format_error("the mel filterbank has " + std::to_string(n_mel) +
                 " rows, but the header says n_mels " + std::to_string(file->hparams.n_mels));
  }
  if (n_fft != kFftBins) {
    format_error("the mel filterbank has " + std::to_string(n_fft) + " frequency bins, expected " +
                 std::to_string(kFftBins) + " (Whisper's 400-point FFT)");
  }
  const size_t count = (size_t)n_mel * (size_t)n_fft;
  r.need(count * 4, "the mel filterbank");
  file->n_mel_filters = n_mel;
  file->n_fft_bins = n_fft;
  file->mel_filters.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const float v = r.f32("the mel filterbank");
    if (!std::isfinite(v)) {
      format_error("mel filterbank value [" + std::to_string(i / n_fft) + "][" +
                   std::to_string(i % n_fft) + "] is not finite");
    }
    file->mel_filters[i] = v;
  }
}

void read_vocab(Reader& r, ModelFile* file) {
  const int32_t n_tokens = r.i32("the vocabulary size");
  if (n_tokens < 0 || n_tokens > file->hparams.n_vocab) {
    format_error("the vocabulary stores " + std::to_string(n_tokens) + " tokens, expected 0.." +
                 std::to_string(file->hparams.n_vocab) + " (n_vocab)");
  }
  // Every token takes at least its 4-byte length, so a corrupt count cannot
  // make this reserve more than the file could hold.
  file->vocab.reserve(std::min<size_t>((size_t)n_tokens, r.remaining() / 4));
  for (int32_t i = 0; i < n_tokens; ++i) {
    const uint32_t length = r.u32("the length of token", i);
    if (length > kMaxTokenBytes) {
      format_error("token " + std::to_string(i) + " claims " + std::to_string(length) +
                   " bytes, more than the " + std::to_string(kMaxTokenBytes) + " a token may have");
    }
    r.need(length, "the bytes of token", i);
    file->vocab.emplace_back(reinterpret_cast<const char*>(r.skip(length)), length);
  }
}

// Zero elements are a whole number of blocks of any type, so this fails only
// for a type id ggml_types.cc does not know.
bool known_type(GgmlType type) {
  uint64_t bytes = 0;
  return ggml_type_bytes(type, 0, &bytes);
}

std::string record_label(size_t record, size_t offset) {
  return "tensor record " + std::to_string(record) + " (at byte " + std::to_string(offset) + ")";
}

// Names end up in error messages and logs; whisper.cpp's are plain ASCII.
bool printable_ascii(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] < 0x21 || p[i] > 0x7e) return false;
  }
  return true;
}

std::string shape_text(const TensorView& t) {
  std::string s = "[";
  for (int d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
  return s + "]";
}

// Bytes of the tensor's data, from its type and shape. Quantized rows must be
// whole blocks, as ggml stores them.
uint64_t tensor_data_bytes(const TensorView& t) {
  uint64_t row_bytes = 0;
  if (!ggml_type_bytes(t.type, t.ne[0], &row_bytes)) {
    format_error("tensor '" + t.name + "' of type " + ggml_type_name(t.type) + " has rows of " +
                 std::to_string(t.ne[0]) + " elements, not a whole number of its blocks");
  }
  const uint64_t rows = (uint64_t)(t.ne[1] * t.ne[2] * t.ne[3]);  // checked by the caller
  if (rows != 0 && row_bytes > UINT64_MAX / rows) {
    format_error("tensor '" + t.name + "' with shape " + shape_text(t) + " is impossibly large");
  }
  return row_bytes * rows;
}

// Reads the fixed part of a record (n_dims, name length, type, ne) and its name.
TensorView read_record_header(Reader& r, size_t record) {
  const size_t start = r.offset();
  const char* what = "the header of tensor record";
  const int32_t n_dims = r.i32(what, (int64_t)record);
  const int32_t name_length = r.i32(what, (int64_t)record);
  const int32_t type_id = r.i32(what, (int64_t)record);
  if (n_dims < 1 || n_dims > kMaxDims) {
    format_error(record_label(record, start) + " has n_dims " + std::to_string(n_dims) +
                 ", expected 1.." + std::to_string(kMaxDims));
  }
  if (name_length < 1 || name_length > kMaxNameBytes) {
    format_error(record_label(record, start) + " has a name length of " +
                 std::to_string(name_length) + ", expected 1.." + std::to_string(kMaxNameBytes));
  }
  TensorView t;
  t.type = static_cast<GgmlType>(type_id);
  if (!known_type(t.type)) {
    format_error(record_label(record, start) + " has unknown ggml type id " +
                 std::to_string(type_id));
  }
  t.n_dims = n_dims;
  int64_t elements = 1;
  for (int d = 0; d < n_dims; ++d) {
    const int32_t ne = r.i32(what, (int64_t)record);
    if (ne < 1) {
      format_error(record_label(record, start) + " has ne[" + std::to_string(d) +
                   "] = " + std::to_string(ne) + ", expected >= 1");
    }
    if (elements > INT64_MAX / ne) {
      format_error(record_label(record, start) + " has more elements than fit in 64 bits");
    }
    elements *= ne;
    t.ne[d] = ne;
  }
  r.need((uint64_t)name_length, "the name of tensor record", (int64_t)record);
  const uint8_t* name = r.skip((uint64_t)name_length);
  if (!printable_ascii(name, (size_t)name_length)) {
    format_error(record_label(record, start) + " has a name that is not printable ASCII");
  }
  t.name.assign(reinterpret_cast<const char*>(name), (size_t)name_length);
  return t;
}

void read_tensors(Reader& r, ModelFile* file) {
  std::vector<size_t> record_offsets;
  while (!r.at_end()) {
    const size_t record = file->tensors.size();
    const size_t start = r.offset();
    TensorView t = read_record_header(r, record);
    check_quantization_version(t, file->hparams, record);
    t.nbytes = tensor_data_bytes(t);
    r.need(t.nbytes, "the data of tensor '" + t.name + "'");
    t.data = r.skip(t.nbytes);
    const auto inserted = file->index.emplace(t.name, record);
    if (!inserted.second) {
      format_error("tensor '" + t.name + "' appears twice (records at bytes " +
                   std::to_string(record_offsets[inserted.first->second]) + " and " +
                   std::to_string(start) + ")");
    }
    record_offsets.push_back(start);
    file->tensors.push_back(std::move(t));
  }
}

}  // namespace

const TensorView* ModelFile::find(const std::string& name) const {
  const auto it = index.find(name);
  return it == index.end() ? nullptr : &tensors[it->second];
}

ModelFile parse_model_file(std::shared_ptr<const FileBytes> bytes) {
  if (!bytes) throw Error(ErrorCode::kInternal, "parse_model_file: no bytes given");
  ModelFile file;
  Reader r(bytes->data(), bytes->size());
  read_magic(r);
  file.hparams = read_hparams(r);
  read_mel_filters(r, &file);
  read_vocab(r, &file);
  read_tensors(r, &file);
  file.bytes = std::move(bytes);
  return file;
}

ModelFile open_model_file(const std::string& path) {
  std::shared_ptr<const FileBytes> bytes = FileBytes::map_file(path);
  try {
    return parse_model_file(std::move(bytes));
  } catch (const Error& e) {
    // The parser does not know the path; the user needs it.
    throw Error(e.code(), "model file '" + path + "': " + e.what());
  }
}

}  // namespace wn
