// Language identification's softmax over the language tokens only, on crafted
// decoder rows for the 99- and 100-language layouts (expected probabilities
// worked out by hand).
#include <cmath>
#include <limits>
#include <vector>

#include "check.h"
#include "engine/decode/tokenizer.h"
#include "engine/language.h"

TEST(softmax_is_over_the_language_tokens_only) {
  const wn::SpecialTokens s = wn::SpecialTokens::for_vocab_size(51865);
  std::vector<float> row(51865, -50.0f);
  // Language logits: de (2) = log 3, fr (6) = 0, every other language -inf;
  // text token 100 and transcribe are huge but must not count.
  for (int i = 0; i < s.n_languages; ++i) row[s.first_language + i] = -INFINITY;
  row[s.first_language + 2] = std::log(3.0f);
  row[s.first_language + 6] = 0.0f;
  row[100] = 40.0f;
  row[s.transcribe] = 40.0f;
  const auto p = wn::language_probabilities(row.data(), s);
  CHECK(p.size() == 99);
  if (p.size() < 3) return;
  CHECK(p[0].code == "de" && p[0].index == 2);
  CHECK_NEAR(p[0].probability, 0.75, 1e-6);
  CHECK(p[1].code == "fr" && p[1].index == 6);
  CHECK_NEAR(p[1].probability, 0.25, 1e-6);
  CHECK(p[2].probability == 0.0f);
  double total = 0;
  for (const auto& l : p) total += l.probability;
  CHECK_NEAR(total, 1.0, 1e-6);
}

TEST(large_v3_layout_includes_cantonese) {
  const wn::SpecialTokens s = wn::SpecialTokens::for_vocab_size(51866);
  std::vector<float> row(51866, 0.0f);
  row[s.first_language + 99] = 5.0f;  // yue
  const auto p = wn::language_probabilities(row.data(), s);
  CHECK(p.size() == 100);
  if (p.empty()) return;
  CHECK(p[0].code == "yue");
  // 1 of weight e^5 against 99 of weight 1.
  CHECK_NEAR(p[0].probability, std::exp(5.0) / (std::exp(5.0) + 99), 1e-6);
  // Equal probabilities keep the language order.
  CHECK(p[1].index == 0 && p[2].index == 1);
}

int main() {
  return wn_test::run_all();
}
