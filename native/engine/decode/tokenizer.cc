// Token ids <-> bytes <-> text for Whisper's byte-level BPE vocabulary.
// See tokenizer.h for the special-token layout. The pre-tokenizer here is a
// simplified form of GPT-2's split rule (documented at pre_tokenize below).
#include "engine/decode/tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <queue>

#include "engine/core/error.h"
#include "engine/decode/gpt2_fragments.h"

namespace wn {
namespace {

// Whisper's language tokens, in id order (the last, "yue", only in large-v3).
const char* const kLanguageCodes[] = {
    "en", "zh", "de", "es",  "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv",
    "it", "id", "hi", "fi",  "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no",
    "th", "ur", "hr", "bg",  "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr",
    "az", "sl", "kn", "et",  "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
    "gl", "mr", "pa", "si",  "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu",
    "am", "yi", "lo", "uz",  "fo", "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl",
    "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue"};
constexpr int kKnownLanguages = sizeof(kLanguageCodes) / sizeof(kLanguageCodes[0]);
static_assert(kKnownLanguages == 100, "Whisper knows 100 languages (large-v3)");

constexpr int32_t kEnglishVocab = 51864;
constexpr int32_t kMaxLanguages = 200;  // far above any published model; rejects nonsense

// --- a simplified GPT-2 pre-tokenizer ----------------------------------------
// GPT-2 (and Whisper) split text with the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// before BPE. This follows the regex exactly, but classifies code points with a
// small table instead of the Unicode database: ASCII exactly; a few common
// non-ASCII spaces, digits and symbol blocks (general punctuation, arrows,
// math, box drawing, miscellaneous symbols such as ♪, CJK punctuation such as
// 「」, combining marks, emoji); every other non-ASCII code point counts as a
// letter. That is right for the suppression symbols and ordinary prompts.
enum class CharClass { kSpace, kLetter, kNumber, kOther };

CharClass classify(uint32_t cp) {
  if (cp < 0x80) {
    if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return CharClass::kSpace;
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return CharClass::kLetter;
    if (cp >= '0' && cp <= '9') return CharClass::kNumber;
    return CharClass::kOther;
  }
  if (cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
      cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000) {
    return CharClass::kSpace;
  }
  if (cp == 0xB2 || cp == 0xB3 || cp == 0xB9 || (cp >= 0xBC && cp <= 0xBE) ||
      (cp >= 0x660 && cp <= 0x669) || (cp >= 0x6F0 && cp <= 0x6F9) ||
      (cp >= 0x966 && cp <= 0x96F) || (cp >= 0x2070 && cp <= 0x2089) ||
      (cp >= 0x2150 && cp <= 0x218F) || (cp >= 0x2460 && cp <= 0x249B) ||
      (cp >= 0xFF10 && cp <= 0xFF19)) {
    return CharClass::kNumber;
  }
  if ((cp >= 0xA1 && cp <= 0xBF && cp != 0xAA && cp != 0xB5 && cp != 0xBA) || cp == 0xD7 ||
      cp == 0xF7 || (cp >= 0x300 && cp <= 0x36F) || (cp >= 0x2010 && cp <= 0x2BFF) ||
      (cp >= 0x3001 && cp <= 0x3004) || (cp >= 0x3008 && cp <= 0x3020) ||
      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF01 && cp <= 0xFF0F) ||
      (cp >= 0xFF1A && cp <= 0xFF20) || (cp >= 0xFF3B && cp <= 0xFF40) ||
      (cp >= 0xFF5B && cp <= 0xFF65) || (cp >= 0x1F000 && cp <= 0x1FAFF)) {
    return CharClass::kOther;
  }
  return CharClass::kLetter;
}

struct CodePoint {
  uint32_t value;
  size_t offset;  // byte offset in the text
};

// Decodes text into code points; a byte that does not start a well-formed
// sequence stands for itself (class "other").
std::vector<CodePoint> code_points(std::string_view text) {
  std::vector<CodePoint> cps;
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t b = static_cast<uint8_t>(text[i]);
    int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    uint32_t cp = len == 2 ? b & 0x1F : len == 3 ? b & 0x0F : len == 4 ? b & 0x07 : b;
    bool ok = len > 0 && i + len <= text.size();
    for (int k = 1; ok && k < len; ++k) {
      const uint8_t c = static_cast<uint8_t>(text[i + k]);
      ok = (c & 0xC0) == 0x80;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!ok) {
      cps.push_back({0xFFFD, i});  // not a letter, digit or space
      i += 1;
    } else {
      cps.push_back({cp, i});
      i += len;
    }
  }
  return cps;
}

// Length in code points of a contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
size_t contraction_length(const std::vector<CodePoint>& cps, size_t i) {
  if (cps[i].value != '\'' || i + 1 >= cps.size()) return 0;
  const uint32_t a = cps[i + 1].value;
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= cps.size()) return 0;
  const uint32_t b = cps[i + 2].value;
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// Splits text into the pieces the regex above would match.
std::vector<std::string_view> pre_tokenize(std::string_view text) {
  const std::vector<CodePoint> cps = code_points(text);
  const size_t n = cps.size();
  auto cls = [&](size_t i) { return classify(cps[i].value); };
  std::vector<std::string_view> pieces;
  size_t i = 0;
  while (i < n) {
    size_t end = i + contraction_length(cps, i);
    if (end == i) {
      // " ?X+" for X = letters, numbers, or anything else that is not a space.
      size_t j = (cps[i].value == ' ' && i + 1 < n) ? i + 1 : i;
      const CharClass run = cls(j);
      if (run != CharClass::kSpace) {
        end = j;
        while (end < n && cls(end) == run) ++end;
      } else {
        // \s+(?!\S) then \s+: a run of spaces leaves its last one to the word after it.
        end = i;
        while (end < n && cls(end) == CharClass::kSpace) ++end;
        if (end < n && end - i >= 2) --end;
      }
    }
    const size_t begin_byte = cps[i].offset;
    const size_t end_byte = end < n ? cps[end].offset : text.size();
    pieces.push_back(text.substr(begin_byte, end_byte - begin_byte));
    i = end;
  }
  return pieces;
}

constexpr const char kReplacementChar[] = "\xEF\xBF\xBD";  // U+FFFD

// FNV-1a: short keys, good spread for the open-addressing table.
size_t hash_bytes(std::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (char c : bytes) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return static_cast<size_t>(h ^ (h >> 29));
}

}  // namespace

std::string language_code(int index) {
  if (index >= 0 && index < kKnownLanguages) return kLanguageCodes[index];
  return "lang" + std::to_string(index);
}

int language_index(std::string_view code) {
  for (int i = 0; i < kKnownLanguages; ++i) {
    if (code == kLanguageCodes[i]) return i;
  }
  return -1;
}

SpecialTokens SpecialTokens::for_vocab_size(int32_t n_vocab) {
  SpecialTokens s;
  s.multilingual = n_vocab > kEnglishVocab;
  s.n_languages = n_vocab - 51765 - (s.multilingual ? 1 : 0);
  if (n_vocab < kEnglishVocab || s.n_languages > kMaxLanguages) {
    throw Error(ErrorCode::kModelFormat,
                "n_vocab " + std::to_string(n_vocab) +
                    " is not a Whisper vocabulary size (expected 51864, 51865 or 51866)");
  }
  s.eot = s.multilingual ? 50257 : 50256;
  s.sot = s.eot + 1;
  s.first_language = s.sot + 1;
  s.translate = s.first_language + s.n_languages;
  s.transcribe = s.translate + 1;
  s.start_of_lm = s.translate + 2;
  s.start_of_prev = s.translate + 3;
  s.no_speech = s.translate + 4;
  s.no_timestamps = s.translate + 5;
  s.timestamp_begin = s.translate + 6;
  s.timestamp_end = n_vocab;
  return s;
}

// --- Utf8Assembler -------------------------------------------------------------

void Utf8Assembler::feed(std::string_view bytes, std::string* out) {
  for (char c : bytes) feed_byte(static_cast<uint8_t>(c), out);
}

void Utf8Assembler::flush(std::string* out) {
  if (n_pending_ > 0) out->append(kReplacementChar);
  n_pending_ = 0;
  n_needed_ = 0;
}

void Utf8Assembler::feed_byte(uint8_t byte, std::string* out) {
  if (n_pending_ > 0) {
    // The valid range of the second byte depends on the lead byte (no overlong
    // forms, no surrogates, nothing above U+10FFFF); later bytes are 80..BF.
    uint8_t lo = 0x80, hi = 0xBF;
    if (n_pending_ == 1) {
      const uint8_t lead = pending_[0];
      if (lead == 0xE0) lo = 0xA0;
      if (lead == 0xED) hi = 0x9F;
      if (lead == 0xF0) lo = 0x90;
      if (lead == 0xF4) hi = 0x8F;
    }
    if (byte >= lo && byte <= hi) {
      pending_[n_pending_++] = byte;
      if (n_pending_ == n_needed_) {
        out->append(reinterpret_cast<const char*>(pending_), n_pending_);
        n_pending_ = 0;
      }
      return;
    }
    // The pending bytes are a maximal ill-formed subpart; the byte starts afresh.
    out->append(kReplacementChar);
    n_pending_ = 0;
  }
  if (byte < 0x80) {
    out->push_back(static_cast<char>(byte));
    return;
  }
  if (byte >= 0xC2 && byte <= 0xDF) {
    n_needed_ = 2;
  } else if (byte >= 0xE0 && byte <= 0xEF) {
    n_needed_ = 3;
  } else if (byte >= 0xF0 && byte <= 0xF4) {
    n_needed_ = 4;
  } else {
    out->append(kReplacementChar);  // a stray continuation byte or an impossible lead
    return;
  }
  pending_[0] = byte;
  n_pending_ = 1;
}

// --- Tokenizer -------------------------------------------------------------------

Tokenizer::Tokenizer(const std::vector<std::string>& vocab, int32_t n_vocab)
    : vocab_(vocab), n_vocab_(n_vocab), special_(SpecialTokens::for_vocab_size(n_vocab)) {
  const int64_t n_stored = static_cast<int64_t>(vocab.size());
  if (n_stored < special_.eot || n_stored > special_.timestamp_begin) {
    throw Error(ErrorCode::kModelFormat, "the vocabulary stores " + std::to_string(n_stored) +
                                             " tokens; a model with n_vocab " +
                                             std::to_string(n_vocab) + " needs between " +
                                             std::to_string(special_.eot) + " and " +
                                             std::to_string(special_.timestamp_begin));
  }
  restore_lost_bytes();
  size_t table_size = 1;
  while (table_size < 2 * static_cast<size_t>(special_.eot)) table_size *= 2;
  rank_table_.assign(table_size, -1);
  for (int32_t id = 0; id < special_.eot; ++id) {
    // A stored U+FFFD may stand for lost bytes; such tokens never take part in
    // merges (text containing U+FFFD then encodes byte by byte).
    if (text_bytes(id).find(kReplacementChar) == std::string::npos) add_rank(id);
  }
}

// GPT-2's byte-level BPE gives the 256 bytes ids 0..255 in this order: the
// printable bytes 33..126, 161..172 and 174..255, then the rest ascending.
// Beyond those, the English vocabulary's pieces of characters are listed in
// gpt2_fragments.h.
void Tokenizer::restore_lost_bytes() {
  uint8_t byte_of_id[256];
  int n = 0;
  auto printable = [](int b) {
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  };
  for (int b = 0; b < 256; ++b) {
    if (printable(b)) byte_of_id[n++] = static_cast<uint8_t>(b);
  }
  for (int b = 0; b < 256; ++b) {
    if (!printable(b)) byte_of_id[n++] = static_cast<uint8_t>(b);
  }
  // Only a vocabulary whose ASCII tokens sit at exactly those ids is GPT-2's.
  for (int id = 0; id < 256; ++id) {
    const char expected = static_cast<char>(byte_of_id[id]);
    if (byte_of_id[id] < 0x80 && vocab_[id] != std::string(1, expected)) return;
  }
  // A token is restored only where the file shows the loss of exactly these
  // bytes: it stores what they decode to with replacement, and not them.
  auto restore = [&](int32_t id, std::string_view bytes) {
    if (id >= static_cast<int32_t>(vocab_.size()) || vocab_[id] == bytes) return;
    std::string replaced;
    Utf8Assembler utf8;
    utf8.feed(bytes, &replaced);
    utf8.flush(&replaced);
    if (vocab_[id] == replaced) restored_bytes_[id] = std::string(bytes);
  };
  for (int id = 0; id < 256; ++id) {
    restore(id, std::string_view(reinterpret_cast<const char*>(&byte_of_id[id]), 1));
  }
  if (!special_.multilingual) {
    for (const TokenBytes& token : kEnglishFragmentTokens) restore(token.id, token.bytes);
  }
}

int32_t Tokenizer::rank_of(std::string_view bytes) const {
  const size_t mask = rank_table_.size() - 1;
  for (size_t slot = hash_bytes(bytes) & mask;; slot = (slot + 1) & mask) {
    const int32_t id = rank_table_[slot];
    if (id < 0 || text_bytes(id) == bytes) return id;
  }
}

void Tokenizer::add_rank(int32_t id) {
  const std::string& bytes = text_bytes(id);
  const size_t mask = rank_table_.size() - 1;
  for (size_t slot = hash_bytes(bytes) & mask;; slot = (slot + 1) & mask) {
    if (rank_table_[slot] < 0) {
      rank_table_[slot] = id;
      return;
    }
    if (text_bytes(rank_table_[slot]) == bytes) return;  // the first (lowest) id wins
  }
}

std::string Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= n_vocab_) {
    throw Error(ErrorCode::kInvalidArgument, "token id " + std::to_string(id) + " is outside [0, " +
                                                 std::to_string(n_vocab_) + ")");
  }
  const SpecialTokens& s = special_;
  if (id < s.eot) return text_bytes(id);
  if (id >= s.timestamp_begin) {
    char name[32];
    std::snprintf(name, sizeof(name), "<|%.2f|>", timestamp_seconds(id));
    return name;
  }
  if (id == s.eot) return "<|endoftext|>";
  if (id == s.sot) return "<|startoftranscript|>";
  if (id < s.translate) return "<|" + language_code(id - s.first_language) + "|>";
  if (id == s.translate) return "<|translate|>";
  if (id == s.transcribe) return "<|transcribe|>";
  if (id == s.start_of_lm) return "<|startoflm|>";
  if (id == s.start_of_prev) return "<|startofprev|>";
  if (id == s.no_speech) return "<|nospeech|>";
  return "<|notimestamps|>";
}

std::vector<int32_t> Tokenizer::sot_sequence() const {
  return sot_sequence(0, false, true);
}

std::vector<int32_t> Tokenizer::sot_sequence(int language_index, bool translate,
                                             bool timestamps) const {
  std::vector<int32_t> seq = {special_.sot};
  if (special_.multilingual) {
    if (language_index < 0 || language_index >= special_.n_languages) {
      throw Error(ErrorCode::kInvalidArgument,
                  "language index " + std::to_string(language_index) + "; this model has " +
                      std::to_string(special_.n_languages) + " languages");
    }
    seq.push_back(special_.first_language + language_index);
    seq.push_back(translate ? special_.translate : special_.transcribe);
  }
  if (!timestamps) seq.push_back(special_.no_timestamps);
  return seq;
}

// tiktoken's byte-pair merge: parts start as single bytes; merge the adjacent
// pair whose joined bytes have the lowest rank until no pair is a token.
// Byte-level BPE over one piece: starting from its bytes, merge the adjacent
// pair whose concatenation has the lowest rank (the leftmost of equals) until
// no pair is a token. The pairs wait in a heap, so a piece of n bytes takes
// O(n log n) rank lookups: scanning every pair before each merge took O(n^2),
// 8 s for a 30 KB prompt without spaces (a long run of CJK text is one
// piece). The same merges in the same order, so the same tokens.
void Tokenizer::bpe_piece(std::string_view piece, std::vector<int32_t>* out) const {
  const int32_t whole = rank_of(piece);
  if (whole >= 0) {
    out->push_back(whole);
    return;
  }
  // The parts as a list over byte positions: part k is [k, next[k]); a part's
  // version changes whenever it grows or is merged away, which makes the heap's
  // entries naming it stale.
  const size_t n = piece.size();
  constexpr size_t kNone = SIZE_MAX;
  std::vector<size_t> next(n), prev(n);
  std::vector<uint32_t> version(n, 0);
  for (size_t k = 0; k < n; ++k) {
    next[k] = k + 1;
    prev[k] = k == 0 ? kNone : k - 1;
  }
  struct Pair {
    int32_t rank;
    size_t left;  // the left part's start: the leftmost of equal ranks merges first
    uint32_t left_version, right_version;
  };
  const auto later = [](const Pair& a, const Pair& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  };
  std::priority_queue<Pair, std::vector<Pair>, decltype(later)> pairs(later);
  const auto consider = [&](size_t left) {
    const size_t right = next[left];
    if (right >= n) return;
    const int32_t r = rank_of(piece.substr(left, next[right] - left));
    if (r >= 0) pairs.push({r, left, version[left], version[right]});
  };
  for (size_t k = 0; k + 1 < n; ++k) consider(k);
  while (!pairs.empty()) {
    const Pair p = pairs.top();
    pairs.pop();
    const size_t right = next[p.left];
    if (version[p.left] != p.left_version || right >= n || version[right] != p.right_version) {
      continue;  // a part of it changed since it was pushed
    }
    next[p.left] = next[right];
    if (next[right] < n) prev[next[right]] = p.left;
    ++version[p.left];
    ++version[right];
    if (prev[p.left] != kNone) consider(prev[p.left]);
    consider(p.left);
  }
  for (size_t k = 0; k < n; k = next[k]) {
    const std::string_view part = piece.substr(k, next[k] - k);
    const int32_t r = rank_of(part);
    if (r < 0) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02x", static_cast<uint8_t>(part[0]));
      throw Error(ErrorCode::kInvalidArgument,
                  std::string("the vocabulary has no token for the byte ") + hex);
    }
    out->push_back(r);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  for (std::string_view piece : pre_tokenize(text)) bpe_piece(piece, &ids);
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string text;
  Utf8Assembler utf8;
  for (int32_t id : ids) {
    if (is_text(id)) utf8.feed(text_bytes(id), &text);
  }
  utf8.flush(&text);
  return text;
}

std::vector<int32_t> Tokenizer::non_speech_tokens() const {
  // The reference's list (OpenAI whisper tokenizer.non_speech_tokens): symbols
  // that are suppressed when they encode to one token, alone or after a space.
  static const char* const kSymbols[] = {
      "\"",  "#",  "(",  ")",   "*",   "+",   "/",   ":",  ";",   "<",  "=",  ">",
      "@",   "[",  "\\", "]",   "^",   "_",   "`",   "{",  "|",   "}",  "~",  "「",
      "」",  "『", "』", "<<",  ">>",  "<<<", ">>>", "--", "---", "-(", "-[", "('",
      "(\"", "((", "))", "(((", ")))", "[[",  "]]",  "{{", "}}",  "♪♪", "♪♪♪"};
  // U+2640..U+267F symbols share their first two UTF-8 bytes, so the first
  // token is suppressed even when they take several tokens.
  static const char* const kMusicSymbols[] = {"♩", "♪", "♫", "♬", "♭", "♮", "♯"};

  std::vector<int32_t> result;
  // "-" and "'" are fine between words, but not at the start of one.
  for (const char* s : {" -", " '"}) {
    const std::vector<int32_t> ids = encode(s);
    if (!ids.empty()) result.push_back(ids[0]);
  }
  auto add = [&](const std::string& symbol, bool first_token_is_enough) {
    for (const std::string& text : {symbol, " " + symbol}) {
      const std::vector<int32_t> ids = encode(text);
      if (ids.size() == 1 || (first_token_is_enough && !ids.empty())) result.push_back(ids[0]);
    }
  };
  for (const char* s : kSymbols) add(s, false);
  for (const char* s : kMusicSymbols) add(s, true);
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

std::vector<int32_t> Tokenizer::special_tokens_to_suppress() const {
  std::vector<int32_t> ids;
  for (int32_t id = special_.sot; id <= special_.no_speech; ++id) ids.push_back(id);
  return ids;
}

std::vector<int32_t> Tokenizer::blank_tokens() const {
  std::vector<int32_t> ids = encode(" ");
  ids.push_back(special_.eot);
  return ids;
}

}  // namespace wn
