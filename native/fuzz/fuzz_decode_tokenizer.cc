// libFuzzer target: the tokenizer on the real 50,257-token vocabulary of
// shared/models/ggml-tiny.en-random.bin ($WHISPER_SHARED, else ../shared from
// the working folder). For every input:
//   - encode(input as text) returns text tokens whose bytes, concatenated, are
//     the input (byte-level BPE covers every byte, valid UTF-8 or not);
//   - decode(encode(text)) == text exactly when the text is valid UTF-8, and
//     is valid UTF-8 in any case: the text with one U+FFFD per maximal
//     ill-formed subpart, as a reference replacer here computes it;
//   - decode(ids), the ids read from the input as 16-bit values taken modulo
//     eot (text tokens only), is valid UTF-8: the ids' bytes, concatenated,
//     with the same replacements.
// A broken property aborts (a bug); so does any exception: with this
// vocabulary every byte has a token, so encode has nothing to reject.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "../tests/vocab_file.h"
#include "engine/decode/tokenizer.h"

namespace {

constexpr int32_t kNVocab = 51864;  // tiny.en

const wn::Tokenizer& tokenizer() {
  static const std::vector<std::string> vocab = [] {
    const char* env = std::getenv("WHISPER_SHARED");
    const std::string path =
        std::string(env ? env : "../shared") + "/models/ggml-tiny.en-random.bin";
    std::vector<std::string> v = wn_test::read_vocab(path);
    if (v.size() != 50257) {
      std::fprintf(stderr,
                   "fuzz_decode_tokenizer: cannot read the 50257-token vocabulary of %s "
                   "(set WHISPER_SHARED to the shared/ folder)\n",
                   path.c_str());
      std::exit(1);
    }
    return v;
  }();
  static const wn::Tokenizer tok(vocab, kNVocab);
  return tok;
}

// The valid range of the second byte of a sequence led by `lead`, and the
// sequence's length (0: not a lead byte), by Unicode's Table 3-7: no overlong
// forms, no surrogates, nothing above U+10FFFF.
int sequence_length(uint8_t lead, uint8_t* lo, uint8_t* hi) {
  *lo = 0x80;
  *hi = 0xBF;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (lead == 0xE0) *lo = 0xA0;
    if (lead == 0xED) *hi = 0x9F;
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (lead == 0xF0) *lo = 0x90;
    if (lead == 0xF4) *hi = 0x8F;
    return 4;
  }
  return 0;
}

// s with each maximal ill-formed subpart (a lead byte and the continuation
// bytes that still fit it, or a lone byte that starts nothing) replaced by
// U+FFFD, the practice Unicode recommends (§3.9, "U+FFFD Substitution of
// Maximal Subparts"). Returns s itself when s is valid UTF-8.
std::string with_replacements(std::string_view s, bool* valid) {
  std::string out;
  *valid = true;
  size_t i = 0;
  while (i < s.size()) {
    uint8_t lo, hi;
    const int len = sequence_length(static_cast<uint8_t>(s[i]), &lo, &hi);
    size_t k = 1;
    while (len > 0 && k < static_cast<size_t>(len) && i + k < s.size()) {
      const uint8_t c = static_cast<uint8_t>(s[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) break;
      ++k;
    }
    if (len > 0 && k == static_cast<size_t>(len)) {
      out.append(s.substr(i, k));
    } else {
      out.append("\xEF\xBF\xBD");
      *valid = false;
    }
    i += k;
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  bool valid;
  with_replacements(s, &valid);
  return valid;
}

[[noreturn]] void fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "fuzz_decode_tokenizer: %s (input of %zu bytes)\n", what, input.size());
  std::abort();
}

}  // namespace

// Reads the vocabulary before the first input, so that a missing file stops
// the run with its message instead of passing for a crash on that input.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const wn::Tokenizer& tok = tokenizer();
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // encode: text tokens only, covering exactly the input's bytes.
  const std::vector<int32_t> ids = tok.encode(text);
  std::string joined;
  for (int32_t id : ids) {
    if (!tok.is_text(id)) fail("encode returned a token that is not text", text);
    joined += tok.token_bytes(id);
  }
  if (joined != text) fail("the bytes of encode(text) are not the text", text);
  bool text_valid;
  const std::string text_replaced = with_replacements(text, &text_valid);
  const std::string round_trip = tok.decode(ids);
  if (text_valid && round_trip != text) fail("decode(encode(text)) != text for valid UTF-8", text);
  if (!is_valid_utf8(round_trip)) fail("decode(encode(text)) is not valid UTF-8", text);
  if (round_trip != text_replaced) {
    fail("decode(encode(text)) differs from the text with its ill-formed parts replaced", text);
  }

  // decode of arbitrary text tokens: valid UTF-8, the tokens' bytes with
  // their ill-formed parts replaced.
  std::vector<int32_t> raw_ids;
  std::string raw_bytes;
  for (size_t i = 0; i + 1 < size; i += 2) {
    const int32_t id = static_cast<int32_t>((data[i] | data[i + 1] << 8) % tok.eot());
    raw_ids.push_back(id);
    raw_bytes += tok.token_bytes(id);
  }
  const std::string decoded = tok.decode(raw_ids);
  if (!is_valid_utf8(decoded)) fail("decode(ids) is not valid UTF-8", text);
  bool raw_valid;
  if (decoded != with_replacements(raw_bytes, &raw_valid)) {
    fail("decode(ids) differs from the ids' bytes with their ill-formed parts replaced", text);
  }
  return 0;
}
