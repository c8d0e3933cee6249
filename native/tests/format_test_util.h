// Small helpers shared by the format and weights tests: the real random model's
// path and bytes, parsing from memory, and capturing an error's message.
#pragma once

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "engine/core/error.h"
#include "engine/format/ggml_file.h"

namespace wn_test {

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

inline bool contains(const std::string& haystack, const std::string& needle) {
  const bool found = haystack.find(needle) != std::string::npos;
  if (!found) std::printf("  message \"%s\" lacks \"%s\"\n", haystack.c_str(), needle.c_str());
  return found;
}

}  // namespace wn_test
