// Decoder benchmark (not a test): time per greedy token at positions ~45..55
// of the random tiny.en model on random audio features, min and median of
// several runs.  build: see the command in the performance helper's report;
//   bench_decoder MODEL [threads] [runs]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "engine/model/decoder.h"
#include "engine/model/model.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_decoder MODEL [threads] [runs]\n");
    return 2;
  }
  wn::LoadOptions opt;
  opt.threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 7;
  auto model = wn::Model::load(argv[1], opt);
  const auto& hp = model->hparams();
  std::vector<float> audio((size_t)hp.n_audio_ctx * hp.n_audio_state);
  uint32_t x = 12345;
  for (float& f : audio) {
    x = x * 1664525u + 1013904223u;
    f = (float)((x >> 8) * (1.0 / 16777216.0)) - 0.5f;
  }
  wn::Decoder dec(*model);
  dec.set_audio(audio.data());
  std::vector<double> per_token;
  for (int r = 0; r < runs; ++r) {
    dec.reset();
    std::vector<int32_t> prompt(45, 50257);
    dec.forward(prompt.data(), (int)prompt.size());
    int32_t tok = 50363;
    const int n = 10;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      const float* l = dec.forward(&tok, 1);
      tok = (int32_t)(std::max_element(l, l + hp.n_vocab) - l);
    }
    per_token.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / n);
  }
  std::sort(per_token.begin(), per_token.end());
  std::printf("decoder per token (pos ~50, %d threads): min %.3f ms, median %.3f ms\n", opt.threads,
              per_token[0] * 1e3, per_token[per_token.size() / 2] * 1e3);
  return 0;
}
