// Whisper's token vocabulary as a ggml model file stores it: the raw bytes of
// each byte-level BPE token (id = index), plus the special tokens whose ids lie
// above the stored ones (REFERENCE.md §3). It maps ids to bytes, assembles those
// bytes into UTF-8 text, and encodes short strings back into tokens.
//
// What it is not: a full tiktoken. encode() uses a simplified GPT-2
// pre-tokenizer (see tokenizer.cc) and is meant for short strings: the
// suppression symbols, " ", and prompts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wn {

// The special-token layout, derived from n_vocab alone.
//
//   multilingual  = n_vocab >= 51865
//   n_languages   = n_vocab - 51765 - (multilingual ? 1 : 0)
//                   (99 for 51864 and 51865, 100 for 51866 = large-v3)
//   eot           = multilingual ? 50257 : 50256   (ids below it are text tokens)
//   sot           = eot + 1
//   language i    = sot + 1 + i                    (i < n_languages; .en models
//                                                   reserve the ids too)
//   translate     = sot + 1 + n_languages, then transcribe, startoflm,
//                   startofprev, nospeech, notimestamps, timestamp_begin
//                   at +1 .. +6
//   timestamp k   = timestamp_begin + k, k = 0..1500, meaning k * 0.02 s
// so n_vocab == timestamp_begin + 1501 for every published model.
struct SpecialTokens {
  bool multilingual = false;
  int32_t n_languages = 0;
  int32_t eot = 0;
  int32_t sot = 0;
  int32_t first_language = 0;
  int32_t translate = 0;
  int32_t transcribe = 0;
  int32_t start_of_lm = 0;
  int32_t start_of_prev = 0;
  int32_t no_speech = 0;
  int32_t no_timestamps = 0;
  int32_t timestamp_begin = 0;
  int32_t timestamp_end = 0;  // one past the last timestamp (== n_vocab)

  // Throws kModelFormat when n_vocab is not a Whisper vocabulary size.
  static SpecialTokens for_vocab_size(int32_t n_vocab);
};

constexpr double kSecondsPerTimestamp = 0.02;  // 30 s / 1500 encoder positions
constexpr int kFramesPerTimestamp = 2;         // mel frames (10 ms) per timestamp step

// Streaming UTF-8 assembly: bytes arrive token by token; each call emits the
// characters the new bytes complete, so a character split across tokens is
// attributed to the token that completes it. Ill-formed input becomes U+FFFD,
// one per maximal ill-formed subpart (as Unicode recommends and Python's
// errors="replace" does).
class Utf8Assembler {
 public:
  // Appends the characters completed by `bytes` to *out.
  void feed(std::string_view bytes, std::string* out);
  // Ends the stream: an unfinished character becomes U+FFFD.
  void flush(std::string* out);
  bool has_pending() const { return n_pending_ > 0; }

 private:
  void feed_byte(uint8_t byte, std::string* out);
  uint8_t pending_[4] = {0, 0, 0, 0};
  int n_pending_ = 0;
  int n_needed_ = 0;  // total length of the character being assembled
};

class Tokenizer {
 public:
  // vocab: raw bytes of each stored token, id = index (it must outlive the
  // tokenizer). n_vocab: the model's hparams.n_vocab. Throws kModelFormat for an
  // unknown layout or a stored vocabulary larger than the text-token range.
  Tokenizer(const std::vector<std::string>& vocab, int32_t n_vocab);

  const SpecialTokens& special() const { return special_; }
  int32_t n_vocab() const { return n_vocab_; }
  int32_t eot() const { return special_.eot; }
  int32_t timestamp_begin() const { return special_.timestamp_begin; }

  bool is_text(int32_t id) const { return id >= 0 && id < special_.eot; }
  bool is_timestamp(int32_t id) const {
    return id >= special_.timestamp_begin && id < special_.timestamp_end;
  }
  // Seconds a timestamp token stands for (relative to its window).
  double timestamp_seconds(int32_t id) const {
    return (id - special_.timestamp_begin) * kSecondsPerTimestamp;
  }

  // The bytes of a text token, or the name of a special one: "<|endoftext|>",
  // "<|startofprev|>", "<|en|>", "<|1.24|>". Throws kInvalidArgument when id is
  // outside [0, n_vocab).
  std::string token_bytes(int32_t id) const;

  // The start-of-transcript sequence: [sot] for English-only models,
  // [sot, <|en|>, <|transcribe|>] for multilingual ones.
  std::vector<int32_t> sot_sequence() const;
  // The reference's sot sequence for a task: multilingual models get
  // [sot, <|language|>, <|transcribe|> or <|translate|>], English-only ones
  // [sot] (they have no language or task); then <|notimestamps|> when
  // !timestamps. Throws kInvalidArgument when language_index is outside
  // [0, n_languages) on a multilingual model.
  std::vector<int32_t> sot_sequence(int language_index, bool translate, bool timestamps) const;

  // Byte-level BPE: pre-tokenize, then in each piece repeatedly merge the
  // adjacent pair whose joined bytes form the token with the lowest id
  // (tiktoken's rule; the ids are the merge ranks). Never yields special tokens.
  std::vector<int32_t> encode(std::string_view text) const;
  // The UTF-8 text of the text tokens in ids (special tokens are skipped).
  std::string decode(const std::vector<int32_t>& ids) const;

  // Ids the reference never lets the model sample (REFERENCE.md §5), sorted:
  // the non-speech symbols (tokenizer.non_speech_tokens in OpenAI's code).
  std::vector<int32_t> non_speech_tokens() const;
  // The special tokens other than eot, notimestamps and the timestamps:
  // sot, the language tokens, translate, transcribe, startoflm, startofprev and
  // nospeech. (notimestamps is the timestamp rules' business.)
  std::vector<int32_t> special_tokens_to_suppress() const;
  // What suppress_blank forbids at the first sampled step: encode(" ") + eot.
  std::vector<int32_t> blank_tokens() const;

 private:
  // Token id of exactly these bytes among the text tokens, or -1.
  int32_t rank_of(std::string_view bytes) const;
  void bpe_piece(std::string_view piece, std::vector<int32_t>* out) const;
  // The bytes of text token id (< eot), restored ones included.
  const std::string& text_bytes(int32_t id) const {
    if (!restored_bytes_.empty()) {
      const auto it = restored_bytes_.find(id);
      if (it != restored_bytes_.end()) return it->second;
    }
    return vocab_[id];
  }
  void restore_lost_bytes();

  const std::vector<std::string>& vocab_;
  // A ggml file written from the vocabulary's text (the test model is one)
  // stores U+FFFD instead of the bytes of every token that is not valid UTF-8
  // on its own (352 of the English vocabulary's tokens); whisper.cpp's
  // converter writes the bytes. Where a file shows that loss, the bytes are
  // restored here: the 256 single-byte tokens (their order is fixed by GPT-2's
  // byte-level BPE) and, in the English vocabulary, every other one
  // (gpt2_fragments.h). A lossy multilingual file's other pieces stay U+FFFD.
  std::unordered_map<int32_t, std::string> restored_bytes_;
  int32_t n_vocab_;
  SpecialTokens special_;
  // bytes -> id of the text tokens that take part in merges: an open-addressing
  // hash table of ids (-1 = empty), built in about a millisecond per call.
  std::vector<int32_t> rank_table_;
  void add_rank(int32_t id);
};

// Language code of language token i ("en", "zh", ...), in Whisper's order;
// "lang<i>" beyond the known list.
std::string language_code(int index);
// Index of a language code in that order ("en" -> 0), or -1 when unknown.
int language_index(std::string_view code);

}  // namespace wn
