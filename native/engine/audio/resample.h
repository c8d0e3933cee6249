// The inner loop of lib/resample.ts's polyphase sample-rate converter, for
// the file readers: they resample a WAV file here, on a worker thread, about
// 6x faster than the JS loop and off the JS thread. The filter itself (its
// taps, how outputs map to inputs) is designed in TypeScript; this computes
// PolyphaseFilter.run() on the same doubles in the same order, so the two
// give the same bits (test/audio/native-resample.test.ts holds them to it).
#pragma once

#include <cstdint>

namespace wn {

// The filter table and its geometry (lib/resample.ts, PolyphaseFilter).
struct PolyphaseFilter {
  const float* table = nullptr;  // rows of taps_per_phase taps
  int64_t table_size = 0;        // floats in table
  int taps_per_phase = 0;        // 2 * half_taps
  int half_taps = 0;
  // The rates' ratio reduced: output j is at input time j * down / up.
  double up = 0, down = 0;
  // exact: row r is phase r of `up` phases; else kInterpolatedPhases + 1 rows
  // interpolated linearly.
  bool exact = true;
};

constexpr int kInterpolatedPhases = 1024;

// Throws kInvalidArgument when the geometry is impossible (taps_per_phase !=
// 2 * half_taps; up or down not an integer in [1, 1e7]) or the table is
// smaller than its rows (up, or kInterpolatedPhases + 1) of taps.
void check_polyphase_filter(const PolyphaseFilter& filter);

// Outputs [first, first + n_out) into out. input[0] is input sample `offset`
// (n_input of them); samples outside read as 0. check_polyphase_filter first.
void polyphase_run(const PolyphaseFilter& filter, const float* input, int64_t n_input,
                   int64_t offset, int64_t first, float* out, int64_t n_out);

// The input samples [begin, end) that outputs [first, first + n_out) read,
// clipped to [0, n_input): polyphase_run over just those (offset = begin)
// gives the same outputs as over all n_input.
struct SampleRange {
  int64_t begin = 0, end = 0;
};
SampleRange polyphase_input_range(const PolyphaseFilter& filter, int64_t first, int64_t n_out,
                                  int64_t n_input);

}  // namespace wn
