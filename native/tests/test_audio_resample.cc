// The native polyphase run (engine/audio/resample.h): its fast path (pairs of
// outputs on widened blocks of input) gives the bits of its one-output path,
// which test/audio/native-resample.test.ts holds to lib/resample.ts's; outputs
// near either end of the input, interpolated tables and output ranges that
// start anywhere; and what it refuses. Run under ASan to check its reads.
// (A different order of the sums in doubles would rarely change a float's
// bits: what this catches is wrong taps, rows and input positions.)
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "check.h"
#include "engine/audio/resample.h"
#include "engine/core/error.h"
#include "kernel_test_util.h"

namespace {

using wn::ErrorCode;

// Seeded uniform values in [-scale, scale) (the kernel tests' generator).
std::vector<float> random_floats(size_t n, uint32_t seed, float scale) {
  return wn_test::Rng(seed).vec(n, -scale, scale);
}

struct Filter {
  std::vector<float> table;
  wn::PolyphaseFilter f;
};

// A table of random taps in the geometry of a real filter (the taps do not
// matter to what is tested: the order of the arithmetic does).
Filter make_filter(double up, double down, int half_taps, bool exact, uint32_t seed) {
  Filter out;
  const int64_t rows = exact ? static_cast<int64_t>(up) : wn::kInterpolatedPhases + 1;
  out.table = random_floats(static_cast<size_t>(rows) * 2 * half_taps, seed, 0.05f);
  out.f.table = out.table.data();
  out.f.table_size = static_cast<int64_t>(out.table.size());
  out.f.taps_per_phase = 2 * half_taps;
  out.f.half_taps = half_taps;
  out.f.up = up;
  out.f.down = down;
  out.f.exact = exact;
  wn::check_polyphase_filter(out.f);
  return out;
}

// Every output of [first, first + n) computed in one call, and again one
// output per call (the one-output path), must have the same bits. The input
// is a vector of exactly its own size, so ASan sees any read past it.
void check_paths_agree(const Filter& filter, size_t n_input, int64_t first, int64_t n) {
  const std::vector<float> input = random_floats(n_input, 99, 1.0f);
  std::vector<float> all(static_cast<size_t>(n)), one(static_cast<size_t>(n));
  wn::polyphase_run(filter.f, input.data(), (int64_t)n_input, 0, first, all.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    wn::polyphase_run(filter.f, input.data(), (int64_t)n_input, 0, first + i, &one[i], 1);
  }
  CHECK(std::memcmp(all.data(), one.data(), all.size() * sizeof(float)) == 0);
}

TEST(block_path_equals_one_output_path_down_sampling) {
  // 44100 -> 16000 (up 160, down 441), 48000 -> 16000 (1, 3), 96000 -> 16000.
  const Filter f44 = make_filter(160, 441, 60, true, 1);
  const Filter f48 = make_filter(1, 3, 65, true, 2);
  const Filter f96 = make_filter(1, 6, 129, true, 3);
  check_paths_agree(f44, 44100, 0, 16000);   // the whole of 1 s, both ends included
  check_paths_agree(f44, 44100, 777, 3001);  // starting anywhere
  check_paths_agree(f48, 48000, 0, 16000);
  check_paths_agree(f96, 9600, 0, 1600);
  check_paths_agree(f44, 50, 0, 18);         // all of it near an end
  check_paths_agree(f44, 44100, 15990, 10);  // past the input's end
}

TEST(block_path_equals_one_output_path_up_sampling_and_interpolated) {
  const Filter f8 = make_filter(2, 1, 22, true, 4);            // 8000 -> 16000
  const Filter odd = make_filter(16000, 44101, 60, false, 5);  // interpolated rows
  check_paths_agree(f8, 8000, 0, 16000);
  check_paths_agree(odd, 44101, 0, 16000);
  check_paths_agree(odd, 44101, 1234, 999);
}

// What the binding copies for a call: just the samples its outputs read.
TEST(the_input_range_holds_every_sample_the_outputs_read) {
  const Filter exact = make_filter(160, 441, 60, true, 9);
  const Filter odd = make_filter(16000, 44101, 60, false, 10);
  const std::vector<float> input = random_floats(44100, 11, 1.0f);
  for (const Filter* f : {&exact, &odd}) {
    for (const auto& [first, n] :
         {std::pair<int64_t, int64_t>{0, 16000}, {5000, 777}, {15990, 30}, {0, 3}, {40000, 5}}) {
      std::vector<float> all(static_cast<size_t>(n)), part(static_cast<size_t>(n));
      wn::polyphase_run(f->f, input.data(), 44100, 0, first, all.data(), n);
      const wn::SampleRange r = wn::polyphase_input_range(f->f, first, n, 44100);
      CHECK(0 <= r.begin && r.begin <= r.end && r.end <= 44100);
      const std::vector<float> slice(input.begin() + r.begin, input.begin() + r.end);
      wn::polyphase_run(f->f, slice.data(), r.end - r.begin, r.begin, first, part.data(), n);
      CHECK(std::memcmp(all.data(), part.data(), all.size() * sizeof(float)) == 0);
      if (first < 16000 && n >= 30) CHECK(r.end - r.begin < 3 * n + 2 * 60 + 4);
    }
  }
  CHECK(wn::polyphase_input_range(exact.f, 0, 0, 100).end == 0);
}

TEST(outputs_beyond_the_input_are_zero) {
  const Filter f = make_filter(160, 441, 60, true, 6);
  const std::vector<float> input = random_floats(1000, 7, 1.0f);
  std::vector<float> out(4, 1.0f);
  wn::polyphase_run(f.f, input.data(), 1000, 0, 100000, out.data(), 4);
  for (float x : out) CHECK(x == 0.0f);
}

TEST(bad_filters_and_ranges_are_refused) {
  Filter f = make_filter(160, 441, 60, true, 8);
  wn::PolyphaseFilter short_table = f.f;
  short_table.table_size -= 1;
  CHECK_THROWS_CODE(wn::check_polyphase_filter(short_table), ErrorCode::kInvalidArgument);
  wn::PolyphaseFilter odd_taps = f.f;
  odd_taps.taps_per_phase += 1;
  CHECK_THROWS_CODE(wn::check_polyphase_filter(odd_taps), ErrorCode::kInvalidArgument);
  wn::PolyphaseFilter fraction = f.f;
  fraction.up = 160.5;
  CHECK_THROWS_CODE(wn::check_polyphase_filter(fraction), ErrorCode::kInvalidArgument);
  wn::PolyphaseFilter no_table = f.f;
  no_table.table = nullptr;
  CHECK_THROWS_CODE(wn::check_polyphase_filter(no_table), ErrorCode::kInvalidArgument);
  wn::PolyphaseFilter interpolated_small = f.f;  // 160 rows, an interpolated table needs 1025
  interpolated_small.exact = false;
  CHECK_THROWS_CODE(wn::check_polyphase_filter(interpolated_small), ErrorCode::kInvalidArgument);
  const std::vector<float> input(10);
  float out[2];
  CHECK_THROWS_CODE(wn::polyphase_run(f.f, input.data(), 10, 0, -1, out, 2),
                    ErrorCode::kInvalidArgument);
  CHECK_THROWS_CODE(wn::polyphase_run(f.f, input.data(), 10, 0, int64_t{1} << 50, out, 2),
                    ErrorCode::kInvalidArgument);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
