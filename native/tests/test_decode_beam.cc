// Beam search on crafted logits. The logits source computes each row from the
// beam's whole token sequence, rebuilt on the test side from the (token,
// parent) pairs the search passes, so the reorder contract is checked too.
// Expected results worked out by hand from the reference's BeamSearchDecoder.
#include <cmath>
#include <map>
#include <vector>

#include "check.h"
#include "decode_test_vocab.h"
#include "engine/core/error.h"
#include "engine/decode/beam_search.h"
#include "engine/decode/logit_filters.h"

using namespace wn_test;

namespace {

constexpr float kBackground = -100.0f;

const wn::LogitFilters& plain_filters() {
  static const wn::LogitFilters filters = [] {
    wn::LogitFilterOptions o;
    o.timestamps = false;
    o.suppress_blank = false;
    return wn::LogitFilters(fake_tokenizer(), o);
  }();
  return filters;
}

using Seq = std::vector<int32_t>;
using Table = std::map<Seq, std::map<int32_t, double>>;  // sequence -> {token: probability}

// Rows from a table of next-token probabilities; sequences not in the table
// say eot for sure.
struct TableSource {
  Table table;
  std::vector<Seq> seqs = {Seq()};
  std::vector<std::vector<int>> calls_parents;
  std::vector<float> rows;

  void fill_row(const Seq& s, float* row) const {
    std::fill(row, row + kTestVocab, kBackground);
    const auto it = table.find(s);
    if (it == table.end()) {
      row[kEot] = 0.0f;
      return;
    }
    for (const auto& [token, p] : it->second) row[token] = static_cast<float>(std::log(p));
  }
  wn::FedPrompt prompt() {
    wn::FedPrompt p;
    p.first_row.resize(kTestVocab);
    fill_row(Seq(), p.first_row.data());
    p.n_prompt = 1;
    return p;
  }
  wn::BatchLogitsFn fn() {
    return [this](const std::vector<int32_t>& tokens, const std::vector<int>& parents) {
      CHECK(tokens.size() == parents.size());
      calls_parents.push_back(parents);
      std::vector<Seq> next;
      for (size_t i = 0; i < tokens.size(); ++i) {
        CHECK(parents[i] >= 0 && parents[i] < static_cast<int>(seqs.size()));
        Seq s = seqs[static_cast<size_t>(parents[i])];
        s.push_back(tokens[i]);
        next.push_back(s);
      }
      seqs = next;
      rows.assign(seqs.size() * kTestVocab, 0.0f);
      for (size_t i = 0; i < seqs.size(); ++i) fill_row(seqs[i], rows.data() + i * kTestVocab);
      return rows.data();
    };
  }
};

Table two_paths() {
  return {{{}, {{'a', 0.5}, {'b', 0.3}, {'c', 0.2}}},
          {{'a'}, {{'x', 0.6}, {kEot, 0.4}}},
          {{'b'}, {{kEot, 0.9}, {'y', 0.1}}}};
}

Seq ids(const wn::DecodedWindow& w) {
  Seq s;
  for (const auto& t : w.tokens) s.push_back(t.id);
  return s;
}

}  // namespace

TEST(beam_finds_the_likelier_short_sequence_greedy_misses) {
  // Step 0: a .5, b .3, c .2 -> beams [a], [b].
  // Step 1: [a x] ln .3 = -1.204 live; [b eot] ln .27 = -1.309 and
  // [a eot] ln .2 = -1.609 finish; [b y] ln .03 live. Two finished =
  // max_candidates (2 beams, patience 1): done. Ranked by sum / length:
  // [b] -1.309 beats [a] -1.609. Greedy would say a x.
  TableSource src;
  src.table = two_paths();
  wn::BeamSearchOptions o;
  o.beam_size = 2;
  wn::BeamSearchDecoder beam(plain_filters(), 224, 448, o);
  wn::DecodedWindow out;
  beam.decode(src.prompt(), src.fn(), nullptr, &out);
  CHECK(ids(out) == Seq({'b'}));
  CHECK(out.ended_with_eot);
  CHECK_NEAR(out.sum_logprob, std::log(0.27), 1e-5);
  CHECK_NEAR(out.tokens[0].p, 0.3, 1e-5);
  CHECK(src.calls_parents == std::vector<std::vector<int>>({{0, 0}}));
  CHECK(beam.finished().size() == 2);
  if (beam.finished().size() == 2) CHECK(ids(beam.finished()[1]) == Seq({'a'}));
}

TEST(patience_keeps_searching_and_length_normalisation_decides) {
  // patience 2: max_candidates 4. Step 1 leaves [a x], [b y] live (parents 0
  // and 1); step 2 finishes [a x eot] ln .3 and [b y eot] ln .03.
  // sum / length: [a x] -1.204 / 2 = -0.602 is best.
  TableSource src;
  src.table = two_paths();
  wn::BeamSearchOptions o;
  o.beam_size = 2;
  o.patience = 2.0;
  wn::BeamSearchDecoder beam(plain_filters(), 224, 448, o);
  wn::DecodedWindow out;
  beam.decode(src.prompt(), src.fn(), nullptr, &out);
  CHECK(ids(out) == Seq({'a', 'x'}));
  CHECK_NEAR(out.sum_logprob, std::log(0.3), 1e-5);
  CHECK(src.calls_parents == std::vector<std::vector<int>>({{0, 0}, {0, 1}}));
  const auto& f = beam.finished();
  CHECK(f.size() == 4);
  if (f.size() == 4) {
    CHECK(ids(f[0]) == Seq({'b'}) && ids(f[1]) == Seq({'a'}));
    CHECK(ids(f[2]) == Seq({'a', 'x'}) && ids(f[3]) == Seq({'b', 'y'}));
  }
}

TEST(length_penalty_changes_the_ranking) {
  // Same search as above (patience 2). Penalty ((5 + length) / 6)^alpha:
  // alpha 0 ranks raw sums: [a x] ln .3 = -1.204 beats [b] ln .27 = -1.309.
  // alpha -5: [b] -1.309 / 1; [a x] -1.204 * (7/6)^5 = -2.60 -> [b].
  for (const double alpha : {0.0, -5.0}) {
    TableSource src;
    src.table = two_paths();
    wn::BeamSearchOptions o;
    o.beam_size = 2;
    o.patience = 2.0;
    o.length_penalty = alpha;
    wn::BeamSearchDecoder beam(plain_filters(), 224, 448, o);
    wn::DecodedWindow out;
    beam.decode(src.prompt(), src.fn(), nullptr, &out);
    CHECK(ids(out) == (alpha == 0.0 ? Seq({'a', 'x'}) : Seq({'b'})));
  }
}

TEST(length_cap_fills_the_list_with_live_beams) {
  // Never eot: a .6, b .4 everywhere. sample_len 3, 2 beams:
  // step 0 [a] [b]; step 1 [a a] -1.022, [a b] -1.427 (beam 0's before [b a]);
  // step 2 [a a a] -1.533, [a a b] -1.938. Cap: the live beams become the
  // candidates, unfinished; best by sum / 3: [a a a].
  TableSource src;
  for (const Seq& s : {Seq(), Seq({'a'}), Seq({'b'}), Seq({'a', 'a'}), Seq({'a', 'b'})}) {
    src.table[s] = {{'a', 0.6}, {'b', 0.4}};
  }
  wn::BeamSearchOptions o;
  o.beam_size = 2;
  wn::BeamSearchDecoder beam(plain_filters(), 3, 448, o);
  wn::DecodedWindow out;
  beam.decode(src.prompt(), src.fn(), nullptr, &out);
  CHECK(ids(out) == Seq({'a', 'a', 'a'}));
  CHECK(!out.ended_with_eot);
  CHECK_NEAR(out.sum_logprob, 3 * std::log(0.6), 1e-5);
  CHECK(src.calls_parents == std::vector<std::vector<int>>({{0, 0}, {0, 0}}));
  CHECK(beam.finished().size() == 2);
  if (beam.finished().size() == 2) CHECK(ids(beam.finished()[1]) == Seq({'a', 'a', 'b'}));
}

// The engine's rows are filtered where they lie (set_rows_are_scratch): the
// same search as on copies, and the prompt's shared first row is not touched.
// Ties (equal probabilities) make the top-k's order by id matter.
TEST(filtering_rows_in_place_searches_the_same_and_spares_the_prompt_row) {
  Table t = two_paths();
  t[{}] = {{'a', 0.25}, {'b', 0.25}, {'c', 0.25}, {'d', 0.25}};
  t[{'c'}] = {{'x', 0.5}, {'y', 0.5}};
  t[{'d'}] = {{kEot, 1.0}};
  std::vector<Seq> results;
  std::vector<std::vector<Seq>> finished;
  for (bool scratch : {false, true}) {
    TableSource src;
    src.table = t;
    wn::BeamSearchOptions o;
    o.beam_size = 3;
    wn::BeamSearchDecoder beam(plain_filters(), 224, 448, o);
    beam.set_rows_are_scratch(scratch);
    const wn::FedPrompt prompt = src.prompt();
    const std::vector<float> first_row = prompt.first_row;
    wn::DecodedWindow out;
    beam.decode(prompt, src.fn(), nullptr, &out);
    CHECK(prompt.first_row == first_row);
    results.push_back(ids(out));
    finished.emplace_back();
    for (const auto& f : beam.finished()) finished.back().push_back(ids(f));
  }
  CHECK(results[0] == results[1]);
  CHECK(finished[0] == finished[1]);
  CHECK(!finished[0].empty());
}

TEST(one_beam_is_greedy) {
  TableSource src;
  src.table = two_paths();
  wn::BeamSearchOptions o;
  o.beam_size = 1;
  wn::BeamSearchDecoder beam(plain_filters(), 224, 448, o);
  wn::DecodedWindow out;
  beam.decode(src.prompt(), src.fn(), nullptr, &out);
  CHECK(ids(out) == Seq({'a', 'x'}));
}

TEST(max_candidates_rounds_half_to_even_as_python) {
  // BeamSearchDecoder: max_candidates = round(beam_size * patience), Python's
  // round: 5 * 0.5 = 2.5 -> 2 finished sequences end the search (not 3).
  // Step 0 (5 beams, 6 candidates): [eot] finishes; a b c d and the
  // background's lowest id live. Step 1: every live beam says eot for sure:
  // [a eot] finishes second and the list is full.
  TableSource src;
  src.table = {{{}, {{kEot, 0.5}, {'a', 0.2}, {'b', 0.15}, {'c', 0.1}, {'d', 0.05}}}};
  wn::BeamSearchOptions o;
  o.beam_size = 5;
  o.patience = 0.5;
  wn::BeamSearchDecoder beam(plain_filters(), 224, 448, o);
  wn::DecodedWindow out;
  beam.decode(src.prompt(), src.fn(), nullptr, &out);
  int n_finished = 0;
  for (const wn::DecodedWindow& w : beam.finished()) n_finished += w.ended_with_eot ? 1 : 0;
  CHECK(n_finished == 2);
  // finalize() fills the list up to beam_size with live beams, best first.
  CHECK(beam.finished().size() == 5);
  CHECK(ids(out) == Seq({'a'}));  // [eot] alone scores -inf (length 0)
  // 3 * 0.5 = 1.5 -> 2 and 9 * 0.5 = 4.5 -> 4; 1 * 0.5 = 0.5 -> 0 is invalid.
  o.beam_size = 1;
  CHECK_THROWS_CODE(wn::BeamSearchDecoder(plain_filters(), 224, 448, o),
                    wn::ErrorCode::kInvalidArgument);
}

TEST(invalid_settings_and_cancellation) {
  wn::BeamSearchOptions o;
  o.beam_size = 0;
  CHECK_THROWS_CODE(wn::BeamSearchDecoder(plain_filters(), 224, 448, o),
                    wn::ErrorCode::kInvalidArgument);
  o.beam_size = 2;
  o.patience = 0.2;  // round(0.4) = 0
  CHECK_THROWS_CODE(wn::BeamSearchDecoder(plain_filters(), 224, 448, o),
                    wn::ErrorCode::kInvalidArgument);
  o.patience = 1.0;
  wn::CancellationFlag flag;
  flag.cancel();
  TableSource src;
  src.table = two_paths();
  wn::BeamSearchDecoder beam(plain_filters(), 224, 448, o);
  wn::DecodedWindow out;
  CHECK_THROWS_CODE(beam.decode(src.prompt(), src.fn(), &flag, &out), wn::ErrorCode::kAborted);
}

int main() {
  return wn_test::run_all();
}
