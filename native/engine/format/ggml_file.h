// Reader for whisper.cpp's ggml model file (REFERENCE.md §2). It checks the
// container: magic, header, mel filterbank, vocabulary and the tensor records
// (every length and offset against the bytes that are there). It does not know
// which tensors a Whisper model needs; model/weights.h checks that.
//
// What it is not: an inference engine. TensorView points into the mapped file.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace wn {

// ggml tensor type ids as stored in tensor records.
enum class GgmlType : int32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
};

const char* ggml_type_name(GgmlType type);  // "f16", "q5_1", ... or "unknown"
// True for the block types (q4_0 ... q6_K): those whose layout depends on the
// file's quantization version.
bool ggml_type_is_quantized(GgmlType type);
// Bytes taken by n_elements of `type`; false for an unknown type or when n
// is not a whole number of the type's blocks.
bool ggml_type_bytes(GgmlType type, int64_t n_elements, uint64_t* bytes);

// The quantization format version whose block layouts this reader knows
// (ggml's GGML_QNT_VERSION since May 2023; versions 0 and 1 laid blocks out
// differently: f32 scales in some types, another nibble order). A file
// stores it in its ftype field as ftype + 1000 * version.
constexpr int32_t kQuantizationVersion = 2;

struct HParams {
  int32_t n_vocab = 0;
  int32_t n_audio_ctx = 0;
  int32_t n_audio_state = 0;
  int32_t n_audio_head = 0;
  int32_t n_audio_layer = 0;
  int32_t n_text_ctx = 0;
  int32_t n_text_state = 0;
  int32_t n_text_head = 0;
  int32_t n_text_layer = 0;
  int32_t n_mels = 0;
  int32_t ftype = 0;  // weight type of the file, already split: ftype % 1000
  int32_t qntvr = 0;  // quantization format version: stored ftype / 1000
};

// Bytes of a model file: a read-only memory mapping, or an owned buffer (tests,
// fuzzing). Shared so that views into it stay valid as long as anyone needs them.
class FileBytes {
 public:
  static std::shared_ptr<FileBytes> map_file(const std::string& path);  // throws kModelNotFound
  static std::shared_ptr<FileBytes> from_buffer(std::vector<uint8_t> bytes);
  ~FileBytes();
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }  // empty for owned buffers
  // Tells the OS the given range will not be read again (after packing), so its
  // pages leave resident memory: on Linux all of them out to the file's
  // kReleaseWindow boundaries around the range (file_bytes.cc says why),
  // elsewhere the whole pages inside it. A no-op for owned buffers.
  static constexpr size_t kReleaseWindow = size_t{2} << 20;
  void release_range(const void* begin, size_t length) const;

  // What FileReader::unchanged_on_disk() compares: the file's size and
  // modification time when it was mapped.
  struct Identity {
    uint64_t size = 0;
    int64_t modified_seconds = 0, modified_nanoseconds = 0;
    bool operator==(const Identity& o) const {
      return size == o.size && modified_seconds == o.modified_seconds &&
             modified_nanoseconds == o.modified_nanoseconds;
    }
  };

 private:
  friend class FileReader;
  FileBytes() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::vector<uint8_t> owned_;
  std::string path_;
  intptr_t file_ = -1;  // the open file: a descriptor (POSIX) or a HANDLE (Windows)
  Identity identity_;   // of the file when mapped, for a FileReader
};

// A model file kept open after load to read parts of it again (a low-memory
// model's encoder weights), with positioned reads (pread; ReadFile at an
// offset on Windows) through a descriptor of its own, never a mapping: a file
// truncated on disk meanwhile gives a short read, which read_at reports,
// where a read of a mapping past the file's new end raises SIGBUS. Over an
// owned buffer (tests, fuzzing) it copies from the buffer.
class FileReader {
 public:
  // The file behind `bytes`, through a duplicate of its descriptor (or
  // handle): the same file for as long as the reader lives, even once the
  // mapping is gone or another file is renamed over its path.
  static std::unique_ptr<FileReader> open(std::shared_ptr<const FileBytes> bytes);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // Copies bytes [offset, offset + n) of the file into dst. False when the
  // file now ends before offset + n (truncated since load) or the OS read
  // fails; dst is then partly written.
  bool read_at(uint64_t offset, void* dst, size_t n) const;
  // Whether the file still has the size and modification time it had when
  // it was mapped (read through the reader's descriptor or handle, so a file
  // replaced by rename, a new file, does not count): a file rewritten in
  // place would give other weights. Always true over an owned buffer.
  bool unchanged_on_disk() const;
  const std::string& path() const { return path_; }

 private:
  FileReader() = default;
  std::shared_ptr<const FileBytes> buffer_;  // an owned buffer's bytes; null for a file
  intptr_t file_ = -1;                       // the duplicated descriptor or HANDLE
  FileBytes::Identity identity_;
  std::string path_;
};

struct TensorView {
  std::string name;
  GgmlType type = GgmlType::kF32;
  int n_dims = 0;
  std::array<int64_t, 4> ne = {1, 1, 1, 1};  // ggml order: ne[0] is the contiguous dimension
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;
  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

struct ModelFile {
  std::shared_ptr<const FileBytes> bytes;  // keeps every pointer below valid
  HParams hparams;
  int32_t n_mel_filters = 0;                      // rows of the filterbank (== hparams.n_mels)
  int32_t n_fft_bins = 0;                         // columns (201)
  std::vector<float> mel_filters;                 // [n_mel_filters][n_fft_bins]
  std::vector<std::string> vocab;                 // raw bytes of each stored token; id = index
  std::vector<TensorView> tensors;                // in file order
  std::unordered_map<std::string, size_t> index;  // name -> position in `tensors`

  const TensorView* find(const std::string& name) const;
};

// Parses and checks the container. Throws wn::Error: kModelFormat (bad magic,
// impossible header values, duplicate tensor names, bad type ids ...),
// kModelTruncated (the file ends inside a record), kUnsupportedTensorType (a
// quantized record in a file of an older quantization version).
ModelFile parse_model_file(std::shared_ptr<const FileBytes> bytes);
ModelFile open_model_file(const std::string& path);  // map_file + parse

}  // namespace wn
