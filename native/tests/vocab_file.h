// The token list of a ggml Whisper file read with plain file reads, for the
// tokenizer's test and fuzz target (they need no model loader): magic and 11
// int32 hparams (48 bytes), int32 n_mel, int32 n_fft, the filterbank, int32
// count, then (uint32 length, bytes) per token.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace wn_test {

// The tokens' bytes, id = index; empty when the file cannot be read as above.
inline std::vector<std::string> read_vocab(const std::string& path) {
  std::vector<std::string> vocab;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return vocab;
  auto read_i32 = [&](int32_t* v) { return std::fread(v, 4, 1, f) == 1; };
  int32_t n_mel = 0, n_fft = 0, count = 0;
  bool ok = std::fseek(f, 48, SEEK_SET) == 0 && read_i32(&n_mel) && read_i32(&n_fft) && n_mel > 0 &&
            n_fft > 0 && std::fseek(f, 4L * n_mel * n_fft, SEEK_CUR) == 0 && read_i32(&count) &&
            count > 0 && count < 100000;
  for (int32_t i = 0; ok && i < count; ++i) {
    uint32_t len = 0;
    ok = std::fread(&len, 4, 1, f) == 1 && len < 1024;
    std::string bytes(len, '\0');
    ok = ok && (len == 0 || std::fread(&bytes[0], 1, len, f) == len);
    if (ok) vocab.push_back(std::move(bytes));
  }
  std::fclose(f);
  if (!ok) vocab.clear();
  return vocab;
}

}  // namespace wn_test
