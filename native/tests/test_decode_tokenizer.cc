// The tokenizer on the real 50,257-token vocabulary of the random tiny.en model
// (the vocabulary is real even though the weights are not). The vocabulary is
// read here directly from the file so that this test needs only wn_decode.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "check.h"
#include "engine/core/error.h"
#include "engine/decode/tokenizer.h"
#include "vocab_file.h"

namespace {

constexpr int32_t kNVocab = 51864;

const std::vector<std::string>& real_vocab() {
  static const std::vector<std::string> vocab =
      wn_test::read_vocab(wn_test::shared_dir() + "/models/ggml-tiny.en-random.bin");
  return vocab;
}

bool contains(const std::vector<int32_t>& ids, int32_t id) {
  for (int32_t x : ids) {
    if (x == id) return true;
  }
  return false;
}

}  // namespace

TEST(the_vocabulary_file_reads) {
  CHECK(real_vocab().size() == 50257);
  CHECK(real_vocab().size() == 50257 && real_vocab()[50256] == "<|endoftext|>");
}

TEST(space_and_words_encode_to_the_gpt2_ids) {
  if (real_vocab().empty()) return;
  const wn::Tokenizer tok(real_vocab(), kNVocab);
  CHECK(tok.encode(" ") == std::vector<int32_t>({220}));
  const std::vector<int32_t> hello = tok.encode("Hello world");
  CHECK(hello == std::vector<int32_t>({15496, 995}));  // "Hello", " world"
  CHECK(tok.decode(hello) == "Hello world");
}

TEST(text_round_trips_through_encode_and_decode) {
  if (real_vocab().empty()) return;
  const wn::Tokenizer tok(real_vocab(), kNVocab);
  for (const char* text :
       {" And so my fellow Americans, ask not what your country can do for you.",
        "It's 3:45 -- isn't it?  Two  spaces,\ttabs\nand newlines.  ",
        " caf\xC3\xA9 na\xC3\xAFve \xE2\x99\xAA la la \xE2\x99\xAA \xE3\x80\x8Cquoted\xE3\x80\x8D",
        " (inaudible) [MUSIC] <<loud>> ((( )))"}) {
    const std::vector<int32_t> ids = tok.encode(text);
    CHECK(!ids.empty());
    for (int32_t id : ids) CHECK(tok.is_text(id));
    CHECK(tok.decode(ids) == text);
  }
  // Frequent words are single tokens after a space, as GPT-2's pre-tokenizer makes them.
  CHECK(tok.encode(" the").size() == 1);
  CHECK(tok.encode(" country").size() == 1);
}

TEST(non_speech_list_matches_the_reference_construction) {
  if (real_vocab().empty()) return;
  const wn::Tokenizer tok(real_vocab(), kNVocab);
  const std::vector<int32_t> ids = tok.non_speech_tokens();
  CHECK(!ids.empty());
  const std::vector<int32_t> paren = tok.encode("(");
  const std::vector<int32_t> space_paren = tok.encode(" (");
  CHECK(paren.size() == 1 && space_paren.size() == 1);
  CHECK(paren == std::vector<int32_t>({7}) && space_paren == std::vector<int32_t>({357}));
  CHECK(contains(ids, 7) && contains(ids, 357));
  CHECK(contains(ids, tok.encode(" -")[0]) && contains(ids, tok.encode(" '")[0]));
  CHECK(contains(ids, tok.encode("\xE2\x99\xAA")[0]));  // ♪: its first token
  CHECK(!contains(ids, 220));                           // " " itself stays allowed
  CHECK(!contains(ids, tok.encode("-")[0]));            // a bare hyphen between words is fine
  CHECK(!contains(ids, tok.encode(" the")[0]));
  for (int32_t id : ids) CHECK(tok.is_text(id));
  for (size_t i = 1; i < ids.size(); ++i) CHECK(ids[i - 1] < ids[i]);
  // The ids OpenAI's tokenizer computes for the GPT-2 vocabulary (published as
  // the English models' suppress_tokens, without the special tokens).
  const std::vector<int32_t> reference = {
      1,     2,     7,     8,     9,     10,    14,    25,    26,    27,    28,    29,
      31,    58,    59,    60,    61,    62,    63,    90,    91,    92,    93,    357,
      366,   438,   532,   685,   705,   796,   930,   1058,  1220,  1267,  1279,  1303,
      1343,  1377,  1391,  1635,  1782,  1875,  2162,  2361,  2488,  3467,  4008,  4211,
      4600,  4808,  5299,  5855,  6329,  7203,  9609,  9959,  10563, 10786, 11420, 11709,
      11907, 13163, 13697, 13700, 14808, 15306, 16410, 16791, 17992, 19203, 19510, 20724,
      22305, 22935, 27007, 30109, 30420, 33409, 34949, 40283, 40493, 40549, 47282, 49146};
  CHECK(ids == reference);
}

TEST(bytes_lost_in_the_file_are_restored) {
  if (real_vocab().empty()) return;
  const wn::Tokenizer tok(real_vocab(), kNVocab);
  // The file stores U+FFFD for single bytes >= 0x80; GPT-2's byte order gives them back.
  CHECK(real_vocab()[158] == "\xEF\xBF\xBD" && tok.token_bytes(158) == "\xE2");
  CHECK(tok.token_bytes(94) == "\xA1" && tok.token_bytes(255) == "\xAD");
  CHECK(tok.token_bytes(188) == std::string(1, '\0') && tok.token_bytes(220) == " ");
  // The music-symbol prefix E2 99 (17992): "♪" decodes whole again.
  CHECK(tok.decode({17992, 103}) == "\xE2\x99\xAA");
  CHECK(tok.encode(" \xE2\x99\xAA") == std::vector<int32_t>({20724, 103}));
  // Curly quotes are a prefix token (E2 80: 447, or 564 after a space) and a
  // single byte, in OpenAI's tokenizer as here: ’ and ” whole in both
  // directions, and “ after a space.
  CHECK(tok.token_bytes(447) == "\xE2\x80" && tok.token_bytes(564) == " \xE2\x80");
  CHECK(tok.decode({447, 247}) == "\xE2\x80\x99");
  CHECK(tok.encode("\xE2\x80\x99") == std::vector<int32_t>({447, 247}));
  CHECK(tok.encode("\xE2\x80\x9D") == std::vector<int32_t>({447, 251}));
  CHECK(tok.encode(" \xE2\x80\x9C") == std::vector<int32_t>({564, 250}));
  CHECK(tok.decode({564, 250}) == " \xE2\x80\x9C");
  // Every English token the file stored as U+FFFD has its bytes back, except
  // those whose bytes are U+FFFD (26825 is " " and four of them).
  int n_still_replaced = 0;
  for (int32_t id = 0; id < tok.eot(); ++id) {
    if (tok.token_bytes(id).find("\xEF\xBF\xBD") != std::string::npos) n_still_replaced++;
  }
  CHECK(n_still_replaced == 8);
  CHECK(tok.token_bytes(26825) == " \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  // A lone piece of a character decodes as U+FFFD (one per maximal ill-formed
  // part), never as invalid UTF-8: 43769 is 81 AB, two stray continuation bytes.
  CHECK(tok.token_bytes(43769) == "\x81\xAB");
  CHECK(tok.decode({94}) == "\xEF\xBF\xBD");
  CHECK(tok.decode({43769, 64}) ==
        "\xEF\xBF\xBD\xEF\xBF\xBD"
        "a");  // 64 = "a"
}

TEST(special_tokens_of_the_real_layout) {
  if (real_vocab().empty()) return;
  const wn::Tokenizer tok(real_vocab(), kNVocab);
  const wn::SpecialTokens& s = tok.special();
  CHECK(s.eot == 50256 && s.sot == 50257 && s.start_of_prev == 50360);
  CHECK(s.no_speech == 50361 && s.no_timestamps == 50362 && s.timestamp_begin == 50363);
  CHECK(tok.token_bytes(50256) == "<|endoftext|>");
  CHECK(tok.token_bytes(50257) == "<|startoftranscript|>");
  CHECK(tok.token_bytes(50358) == "<|transcribe|>");
  CHECK(tok.token_bytes(50360) == "<|startofprev|>");
  CHECK(tok.token_bytes(50362) == "<|notimestamps|>");
  CHECK(tok.token_bytes(50363) == "<|0.00|>");
  CHECK(tok.token_bytes(50363 + 62) == "<|1.24|>");
  CHECK(tok.token_bytes(51863) == "<|30.00|>");
  CHECK(tok.is_timestamp(51863) && !tok.is_timestamp(50362) && !tok.is_timestamp(51864));
  CHECK_NEAR(tok.timestamp_seconds(50363 + 62), 1.24, 1e-12);
  CHECK(tok.sot_sequence() == std::vector<int32_t>({50257}));
  CHECK(tok.blank_tokens() == std::vector<int32_t>({220, 50256}));
  CHECK_THROWS_CODE(tok.token_bytes(51864), wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(tok.token_bytes(-1), wn::ErrorCode::kInvalidArgument);
  // A vocabulary that is too short for the layout is a format error.
  const std::vector<std::string> short_vocab(100, "x");
  CHECK_THROWS_CODE(wn::Tokenizer(short_vocab, kNVocab), wn::ErrorCode::kModelFormat);
}

TEST(sot_sequences_for_every_layout) {
  // English-only: no language, no task; notimestamps appended when asked.
  const std::vector<std::string> vocab(50257, "x");  // as many as the files store
  const wn::Tokenizer en(vocab, 51864);
  CHECK(en.sot_sequence(0, false, true) == std::vector<int32_t>({50257}));
  CHECK(en.sot_sequence(0, true, false) == std::vector<int32_t>({50257, 50362}));
  // Multilingual, 99 languages (51865): sot 50258, <|en|> 50259, <|de|> 50261,
  // translate 50358, transcribe 50359, notimestamps 50363, <|0.00|> 50364.
  const wn::Tokenizer ml(vocab, 51865);
  const wn::SpecialTokens& s = ml.special();
  CHECK(s.multilingual && s.n_languages == 99 && s.eot == 50257 && s.sot == 50258);
  CHECK(s.translate == 50358 && s.transcribe == 50359 && s.no_timestamps == 50363 &&
        s.timestamp_begin == 50364);
  CHECK(ml.sot_sequence() == std::vector<int32_t>({50258, 50259, 50359}));
  CHECK(ml.sot_sequence(2, false, true) == std::vector<int32_t>({50258, 50261, 50359}));
  CHECK(ml.sot_sequence(2, true, false) == std::vector<int32_t>({50258, 50261, 50358, 50363}));
  CHECK(ml.token_bytes(50261) == "<|de|>");
  CHECK_THROWS_CODE(ml.sot_sequence(99, false, true), wn::ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(ml.sot_sequence(-1, false, true), wn::ErrorCode::kInvalidArgument);
  // large-v3 (51866): 100 languages, the 100th is Cantonese ("yue", 50358);
  // every later token moves up by one.
  const wn::Tokenizer v3(vocab, 51866);
  CHECK(v3.special().n_languages == 100 && v3.special().translate == 50359);
  CHECK(v3.sot_sequence(99, true, true) == std::vector<int32_t>({50258, 50358, 50359}));
  CHECK(v3.token_bytes(50358) == "<|yue|>");
  CHECK(v3.special().timestamp_begin == 50365);
}

TEST(language_codes_round_trip) {
  CHECK(wn::language_index("en") == 0 && wn::language_index("zh") == 1);
  CHECK(wn::language_index("de") == 2 && wn::language_index("yue") == 99);
  CHECK(wn::language_index("haw") == 93 && wn::language_index("jw") == 97);
  CHECK(wn::language_index("xx") == -1 && wn::language_index("") == -1);
  for (int i = 0; i < 100; ++i) CHECK(wn::language_index(wn::language_code(i)) == i);
}

int main() {
  return wn_test::run_all();
}

namespace {

// A random string of valid UTF-8 built from pieces byte-level BPE treats
// differently: ASCII words, digits, punctuation runs, whitespace runs (spaces,
// tabs, newlines), contractions, Latin-1 and Latin Extended letters, Greek,
// Cyrillic, CJK, Hangul, combining marks, symbols such as ♪ and €, curly
// quotes and emoji (4 bytes).
std::string random_text(uint64_t* state, int pieces) {
  auto next = [state](uint32_t n) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(*state >> 33) % n;
  };
  auto append_code_point = [](std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  };
  static const char* const kWords[] = {"the",       "And", "so",      "my",  "fellow",
                                       "Americans", "ask", "country", "I",   "you",
                                       "don",       "it",  "s",       "caf", "na"};
  static const char* const kPieces[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "...", "--",
                                        "?!", "(",  ")",   "\"",  "'",  ",",   ".",  "-",   "$",
                                        "%",  "&",  "#",   "\\",  "/",  "*",   "_",  "@"};
  static const uint32_t kRanges[][2] = {
      {0xC0, 0xFF},       {0x100, 0x17F},     {0x391, 0x3C9},   {0x410, 0x44F},
      {0x4E00, 0x4FFF},   {0x3041, 0x30FF},   {0xAC00, 0xAD00}, {0x300, 0x36F},
      {0x2010, 0x2030},   {0x2600, 0x26FF},   {0x20AC, 0x20AC}, {0x1F300, 0x1F64F},
      {0x1F1E6, 0x1F1FF}, {0x10000, 0x1000F}, {0xFFF0, 0xFFFD}, {0x0600, 0x06FF}};
  std::string out;
  for (int i = 0; i < pieces; ++i) {
    switch (next(6)) {
      case 0:
        out += kWords[next(sizeof(kWords) / sizeof(kWords[0]))];
        break;
      case 1:
        out += kPieces[next(sizeof(kPieces) / sizeof(kPieces[0]))];
        break;
      case 2:
        out += std::to_string(next(100000));
        break;
      case 3: {
        static const char kSpaces[] = {' ', ' ', ' ', '\t', '\n', '\r'};
        for (uint32_t n = 1 + next(3); n > 0; --n) out.push_back(kSpaces[next(6)]);
        break;
      }
      default: {
        const uint32_t* range = kRanges[next(sizeof(kRanges) / sizeof(kRanges[0]))];
        for (uint32_t n = 1 + next(4); n > 0; --n) {
          append_code_point(&out, range[0] + next(range[1] - range[0] + 1));
        }
      }
    }
  }
  return out;
}

}  // namespace

// Byte-level BPE covers every byte, so any valid UTF-8 text must come back
// exactly from its tokens: no byte lost, doubled or reordered by the
// pre-tokenizer, the merges or the restored pieces of characters. Also each
// id is a text token and no token crosses the text's end. 3,000 random texts.
TEST(random_text_round_trips_through_encode_and_decode) {
  if (real_vocab().empty()) return;
  const wn::Tokenizer tok(real_vocab(), kNVocab);
  uint64_t state = 20261207;
  int failures = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = random_text(&state, 1 + i % 24);
    const std::vector<int32_t> ids = tok.encode(text);
    bool ok = tok.decode(ids) == text;
    for (int32_t id : ids) ok = ok && tok.is_text(id);
    if (!ok && failures++ < 5) std::printf("  does not round-trip: \"%s\"\n", text.c_str());
  }
  CHECK(failures == 0);
}

// The tokens of a run of letters (one pre-tokenizer piece, with its leading
// space) by the plain statement of byte-level BPE: merge the lowest-ranked
// adjacent pair (the leftmost of equals) until none is a token. encode()
// keeps its pairs in a heap; this checks it merges the same pairs in the same
// order, on 400 random runs of up to ~600 bytes, and that a 60 KB run (one
// piece: O(n^2) took seconds) round-trips.
TEST(heap_bpe_merges_as_plain_bpe_on_long_pieces) {
  if (real_vocab().empty()) return;
  const wn::Tokenizer tok(real_vocab(), kNVocab);
  std::unordered_map<std::string, int32_t> rank;
  for (int32_t id = tok.eot() - 1; id >= 0; --id) rank[tok.token_bytes(id)] = id;
  auto plain_bpe = [&](const std::string& piece) {
    std::vector<std::string> parts;
    for (char c : piece) parts.emplace_back(1, c);
    for (;;) {
      int32_t best = INT32_MAX;
      size_t at = 0;
      for (size_t k = 0; k + 1 < parts.size(); ++k) {
        const auto it = rank.find(parts[k] + parts[k + 1]);
        if (it != rank.end() && it->second < best) {
          best = it->second;
          at = k;
        }
      }
      if (best == INT32_MAX) break;
      parts[at] += parts[at + 1];
      parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(at) + 1);
    }
    std::vector<int32_t> ids;
    for (const std::string& p : parts) ids.push_back(rank.at(p));
    return ids;
  };
  uint64_t state = 7;
  auto next = [&state](uint32_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33) % n;
  };
  static const char* const kLetters[] = {"e",
                                         "t",
                                         "a",
                                         "o",
                                         "n",
                                         "s",
                                         "h",
                                         "r",
                                         "i",
                                         "l",
                                         "th",
                                         "in",
                                         "er",
                                         "an",
                                         "\xC3\xA9",
                                         "\xC3\xBC",
                                         "\xE6\x97\xA5",
                                         "\xE6\x9C\xAC",
                                         "\xE8\xAA\x9E"};
  int mismatches = 0;
  for (int i = 0; i < 400; ++i) {
    std::string run = " ";
    for (uint32_t n = 1 + next(200); n > 0; --n) run += kLetters[next(19)];
    if (tok.encode(run) != plain_bpe(run) && mismatches++ < 3) {
      std::printf("  differs from plain BPE: \"%s\"\n", run.c_str());
    }
  }
  CHECK(mismatches == 0);
  std::string long_run;
  while (long_run.size() < 60000) long_run += kLetters[next(19)];
  CHECK(tok.decode(tok.encode(long_run)) == long_run);
}
