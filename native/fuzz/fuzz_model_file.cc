// libFuzzer target: arbitrary bytes through the model file parser and the
// weight binder. Any wn::Error is an expected outcome for bad input; a crash,
// a sanitizer report, a hang or any other exception is a bug. See README.md.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/error.h"
#include "engine/format/ggml_file.h"
#include "engine/model/weights.h"

namespace {

// Reads the first and last byte of every tensor the parser handed out, so
// that a view pointing outside the input is caught by AddressSanitizer (the
// input buffer is a heap block of exactly its size).
uint8_t touch_every_tensor(const wn::ModelFile& file) {
  uint8_t sum = 0;
  for (const wn::TensorView& t : file.tensors) {
    if (t.nbytes == 0) continue;
    sum ^= t.data[0];
    sum ^= t.data[t.nbytes - 1];
  }
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  volatile uint8_t sink = 0;
  try {
    const wn::ModelFile file =
        wn::parse_model_file(wn::FileBytes::from_buffer(std::vector<uint8_t>(data, data + size)));
    sink = touch_every_tensor(file);
    const wn::WhisperWeights weights = wn::bind_weights(file);
    sink = sink ^ (uint8_t)weights.enc_blocks.size();
  } catch (const wn::Error&) {
    // A rejected file: the expected outcome for almost every input.
  }
  (void)sink;
  return 0;
}
