// Peak-RSS driver (not a test): loads a model and transcribes one 16 kHz mono
// 16-bit PCM wav greedily, printing load and transcription time. Run under
// `/usr/bin/time -v` for the process's peak resident memory.
//   bench_transcribe_rss MODEL WAV [threads] [low]   (low: LoadOptions::low_memory)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "engine/model/model.h"
#include "engine/transcribe.h"

namespace {

// The samples of the "data" chunk; walks the RIFF chunks, no format checks
// beyond what this driver needs (its inputs are the shared test files).
std::vector<float> read_pcm16_wav(const char* path) {
  std::ifstream f(path, std::ios::binary);
  const std::vector<unsigned char> b((std::istreambuf_iterator<char>(f)),
                                     std::istreambuf_iterator<char>());
  size_t pos = 12;
  while (pos + 8 <= b.size()) {
    uint32_t size;
    std::memcpy(&size, &b[pos + 4], 4);
    if (std::memcmp(&b[pos], "data", 4) == 0) {
      const size_t n = std::min<size_t>(size, b.size() - pos - 8) / 2;
      std::vector<float> out(n);
      for (size_t i = 0; i < n; ++i) {
        int16_t s;
        std::memcpy(&s, &b[pos + 8 + 2 * i], 2);
        out[i] = s / 32768.0f;
      }
      return out;
    }
    pos += 8 + size + (size & 1);
  }
  std::fprintf(stderr, "%s: no data chunk\n", path);
  std::exit(1);
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_transcribe_rss MODEL WAV [threads] [low]\n");
    return 2;
  }
  const std::vector<float> audio = read_pcm16_wav(argv[2]);
  wn::LoadOptions opt;
  opt.threads = argc > 3 ? std::atoi(argv[3]) : 2;
  opt.low_memory = argc > 4 && std::strcmp(argv[4], "low") == 0;
  auto t0 = std::chrono::steady_clock::now();
  auto model = wn::Model::load(argv[1], opt);
  const double load_s = since(t0);
  t0 = std::chrono::steady_clock::now();
  wn::TranscribeOptions options;
  options.temperatures = {0.0};  // greedy, no fallback: the jfk.wav figure
  const wn::TranscribeResult r = wn::transcribe(*model, audio.data(), audio.size(), options, {});
  std::printf("load %.3f s, transcribe %.3f s, %zu segments\n", load_s, since(t0),
              r.segments.size());
  return 0;
}
