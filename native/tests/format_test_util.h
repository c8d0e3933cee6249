// Small helpers shared by the format and weights tests: the real random model's
// path and bytes, parsing from memory, and capturing an error's message.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "engine/core/error.h"
#include "engine/format/ggml_file.h"

namespace wn_test {

// Where tests may write files: $WN_TEST_TMP (ctest sets it to the build
// folder), else the system's temporary folder.
inline std::string temp_dir() {
  if (const char* dir = std::getenv("WN_TEST_TMP")) return dir;
  return std::filesystem::temp_directory_path().string();
}

inline std::string real_model_path() {
  return shared_dir() + "/models/ggml-tiny.en-random.bin";
}

// The whole file, or an empty vector when it cannot be read.
inline std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::vector<uint8_t> bytes;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return bytes;
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  if (size > 0) {
    bytes.resize((size_t)size);
    if (std::fread(bytes.data(), 1, bytes.size(), f) != bytes.size()) bytes.clear();
  }
  std::fclose(f);
  return bytes;
}

// The real model's bytes, read once per test binary. Empty (and a message
// printed) when ../shared is absent.
inline const std::vector<uint8_t>& real_model_bytes() {
  static const std::vector<uint8_t> bytes = read_file_bytes(real_model_path());
  if (bytes.empty()) std::printf("  skipped: %s not found\n", real_model_path().c_str());
  return bytes;
}

// The real model, mapped and parsed once per test binary (through the same
// path users take); nullptr, with a message, when ../shared is absent.
inline const wn::ModelFile* real_model() {
  static const std::unique_ptr<const wn::ModelFile> file = []() -> std::unique_ptr<wn::ModelFile> {
    if (!std::filesystem::exists(real_model_path())) return nullptr;
    return std::make_unique<wn::ModelFile>(wn::open_model_file(real_model_path()));
  }();
  if (!file) std::printf("  skipped: %s not found\n", real_model_path().c_str());
  return file.get();
}

inline wn::ModelFile parse_bytes(std::vector<uint8_t> bytes) {
  return wn::parse_model_file(wn::FileBytes::from_buffer(std::move(bytes)));
}

// The message of the wn::Error that f throws, or "(no error)".
template <class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const wn::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A scratch copy of some bytes on disk, for tests that patch or cut a large
// file many times: each variant is loaded through the real path (map_file),
// and no variant costs a copy of the whole file in memory.
class ScratchFile {
 public:
  ScratchFile(const std::string& tag, const std::vector<uint8_t>& bytes) : path_(unique_path(tag)) {
    std::ofstream out(path_, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), (std::streamsize)bytes.size());
    ok_ = (bool)out;
  }
  // A copy of the file at `source`.
  ScratchFile(const std::string& tag, const std::string& source) : path_(unique_path(tag)) {
    std::error_code error;
    ok_ = std::filesystem::copy_file(source, path_, error) && !error;
  }
  ~ScratchFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }
  // Overwrites the int32 at `offset` (little-endian).
  void write_i32(size_t offset, int32_t value) {
    char le[4];
    for (int i = 0; i < 4; ++i) le[i] = (char)((uint32_t)value >> (8 * i));
    std::fstream f(path_, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp((std::streamoff)offset);
    f.write(le, 4);
    ok_ = ok_ && (bool)f;
  }
  // Cuts (or extends with zeros) the file to `size` bytes.
  void resize(size_t size) { std::filesystem::resize_file(path_, size); }

 private:
  static std::string unique_path(const std::string& tag) {
    return temp_dir() + "/" + tag + "-" + std::to_string(std::random_device()()) + ".bin";
  }

  std::string path_;
  bool ok_ = false;
};

// Whether another handle may change a model file in place while the engine
// holds it open. POSIX allows it (and the engine detects it); Windows does
// not, because the engine opens the file without FILE_SHARE_WRITE: there
// resizing or rewriting a file in use fails, which the tests check instead.
#ifdef _WIN32
constexpr bool kFilesInUseWritable = false;
#else
constexpr bool kFilesInUseWritable = true;
#endif

// Cuts (or extends) the file to `size` bytes; false if the OS refuses.
inline bool try_resize(const std::string& path, uintmax_t size) {
  std::error_code error;
  std::filesystem::resize_file(path, size, error);
  return !error;
}

// Overwrites bytes at `offset` in place; false if the OS refuses.
inline bool try_write_at(const std::string& path, size_t offset, const char* data, size_t n) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  if (!f) return false;
  f.seekp((std::streamoff)offset);
  f.write(data, (std::streamsize)n);
  f.flush();
  return (bool)f;
}

// Renames `from` over `to`; false if the OS refuses (Windows may, for a
// `to` that is open).
inline bool try_rename(const std::string& from, const std::string& to) {
  std::error_code error;
  std::filesystem::rename(from, to, error);
  return !error;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  const bool found = haystack.find(needle) != std::string::npos;
  if (!found) std::printf("  message \"%s\" lacks \"%s\"\n", haystack.c_str(), needle.c_str());
  return found;
}

}  // namespace wn_test
