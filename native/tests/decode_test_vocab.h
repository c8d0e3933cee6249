// A small fake vocabulary with the real English-only special-token layout
// (n_vocab 51864), for the decode tests that need no model file.
//
//   ids 0..255     one byte each (id = byte value), so every string encodes
//   256 " -"  257 " '"  258 " (" 259 " \xE2" (a space and the first byte of ♪)
//   260 "\xE2\x82" (first two bytes of €)  261 "bc"  262 "ab"
//   263 "\xE2\x99" (first two bytes of ♪; a later merge than " \xE2", as in GPT-2)
//   264..50255     unique filler that no text can spell
//   50256          "<|endoftext|>" (eot, stored as in the real file)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/decode/tokenizer.h"

namespace wn_test {

constexpr int32_t kTestVocab = 51864;
constexpr int32_t kEot = 50256;
constexpr int32_t kSot = 50257;
constexpr int32_t kTsBegin = 50363;
constexpr int32_t kDashToken = 256, kQuoteToken = 257, kSpaceParenToken = 258, kSpaceE2Token = 259,
                  kEuroPrefixToken = 260, kBcToken = 261, kAbToken = 262, kMusicPrefixToken = 263;

// The timestamp token for k * 0.02 s.
inline int32_t ts(int k) {
  return kTsBegin + k;
}

inline const std::vector<std::string>& fake_vocab() {
  static const std::vector<std::string> vocab = [] {
    std::vector<std::string> v;
    for (int b = 0; b < 256; ++b) v.push_back(std::string(1, static_cast<char>(b)));
    for (const char* s : {" -", " '", " (", " \xE2", "\xE2\x82", "bc", "ab", "\xE2\x99"})
      v.push_back(s);
    while (static_cast<int32_t>(v.size()) < kEot)
      v.push_back("\x01filler" + std::to_string(v.size()));
    v.push_back("<|endoftext|>");
    return v;
  }();
  return vocab;
}

inline const wn::Tokenizer& fake_tokenizer() {
  static const wn::Tokenizer tokenizer(fake_vocab(), kTestVocab);
  return tokenizer;
}

}  // namespace wn_test
