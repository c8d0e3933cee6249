// The zlib size estimator behind the fallback's compression-ratio test,
// checked against the sizes Python's zlib.compress (level 6) gives for the same
// texts on this machine (computed once with
// python3 -c "import zlib; print(len(zlib.compress(text.encode())))").
#include <string>

#include "check.h"
#include "engine/decode/compression_ratio.h"

namespace {

struct Sample {
  const char* text;
  size_t zlib_size;  // len(zlib.compress(text.encode("utf-8")))
};

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

void check_within_10_percent(const std::string& text, size_t zlib_size) {
  const double estimate = static_cast<double>(wn::estimate_zlib_size(text));
  std::printf("  %zu bytes: zlib %zu, estimate %.0f\n", text.size(), zlib_size, estimate);
  CHECK_NEAR(estimate / zlib_size, 1.0, 0.10);
  CHECK_NEAR(wn::compression_ratio(text), double(text.size()) / zlib_size,
             0.11 * text.size() / zlib_size);
}

TEST(speech_like_texts_match_zlib_within_10_percent) {
  const Sample samples[] = {
      {" And so my fellow Americans, ask not what your country can do for you, ask what you can "
       "do for your country.",
       79},
      {" The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. "
       "It is easy to tell the depth of a well. These days a chicken leg is a rare dish.",
       122},
      {" Rice is often served in round bowls. The juice of lemons makes fine punch. The box was "
       "thrown beside the parked truck. The hogs were fed chopped corn and garbage. Four hours of "
       "steady work faced us. A large size in stockings is hard to sell. The boy was there when "
       "the sun rose. A rod is used to catch pink salmon. The source of the huge river is the "
       "clear spring. Kick the ball straight and follow through.",
       255},
      {" Ich bin ein Berliner. Caf\xc3\xa9, na\xc3\xafve, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"
       "\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88\xe3\x80\x81\xe3\x81\x93"
       "\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\xe4\xb8\x96\xe7\x95\x8c\xe3\x80\x82",
       100},
      {"a", 9},
  };
  for (const Sample& s : samples) check_within_10_percent(s.text, s.zlib_size);
}

TEST(repetitive_loops_match_zlib_and_exceed_the_threshold) {
  const std::string loop1 = " I think that" + repeat(" I think that", 40);  // zlib: 26 bytes
  const std::string loop2 = repeat(" Thank you.", 30);                      // zlib: 24 bytes
  const std::string loop3(40, 'a');                                         // zlib: 12 bytes
  check_within_10_percent(loop1, 26);
  check_within_10_percent(loop2, 24);
  check_within_10_percent(loop3, 12);
  CHECK(wn::compression_ratio(loop1) > 2.4);
  CHECK(wn::compression_ratio(loop2) > 2.4);
}

// Texts that repeat from their first byte, just below the threshold by
// zlib's sizes. zlib never matches back to the text's first byte (position 0
// is its "no earlier string"); an estimate that did came out a byte short,
// above 2.4, and sent these windows to the temperature fallback.
TEST(repeats_of_the_first_byte_size_as_zlib_and_stay_below_the_threshold) {
  const Sample samples[] = {
      {"Bye! Bye! Bye! I don't know what to do. Bye! Bye! I don't know what to do. Bye! Bye! Bye! "
       "Bye! Bye!",
       42},
      {"Let me show you how it works. Let me show you how it works. Oh my God. I'm going to go to "
       "the store. Let me show you how it works. Let me show you how it works. I'm going to go to "
       "the store.",
       80},
      {"This is the end. This is the end. Please subscribe to my channel. This is the end. This is "
       "the end. This is the end. Bye! This is the end. Bye! This is the end.",
       67},
      {"So what do we do now? So what do we do now? So what do we do now? Please subscribe to my "
       "channel. So what do we do now? Please subscribe to my channel.",
       63},
      {"I don't know what to do. I don't know what to do. So what do we do now? I don't know what "
       "to do. I don't know what to do.",
       51},
      {"Yeah, I think so. Yeah, I think so. Yeah, I think so. Yeah, I think so. Yeah, I think so. "
       "Yeah, I think so. Oh my God. You know what I mean?",
       59},
  };
  for (const Sample& s : samples) {
    const std::string text = s.text;
    CHECK(wn::estimate_zlib_size(text) == s.zlib_size);
    CHECK(double(text.size()) / s.zlib_size < 2.4);
    CHECK(wn::compression_ratio(text) < 2.4);
  }
}

TEST(normal_speech_stays_below_the_threshold) {
  const std::string text =
      " And so my fellow Americans, ask not what your country can do for you, ask what you can "
      "do for your country.";
  CHECK(wn::compression_ratio(text) < 2.4);
  CHECK(wn::compression_ratio(text) > 1.0);
}

TEST(empty_text_has_ratio_zero_and_zlib_size_8) {
  CHECK(wn::compression_ratio("") == 0);
  CHECK(wn::estimate_zlib_size("") == 8);  // len(zlib.compress(b"")) == 8
}

TEST(long_input_is_bounded_by_the_stored_size) {
  // Bytes with no repeats at all: never more than stored blocks cost.
  std::string noise;
  uint32_t x = 12345;
  for (int i = 0; i < 100000; ++i) {
    x = x * 1664525u + 1013904223u;
    noise.push_back(static_cast<char>(x >> 24));
  }
  const size_t size = wn::estimate_zlib_size(noise);
  CHECK(size <= noise.size() + 6 + 5 * 2);
  CHECK(size > noise.size() * 9 / 10);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
