// Kernel benchmark (not a test): this machine's peak fp32 FMA throughput, the
// linear() GFLOP/s at the encoder's shapes, the logits GEMV, encoder-sized
// attention, and the sum of one 30 s window's encoder kernels, for 1 and 2
// threads. Prints median and min of several repetitions (the machine is
// shared, so min is the better estimate of what the code can do).
//
//   build-*/bench_kernels [reps]        WHISPER_NATIVE_ISA=avx2 to force a path
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/f16.h"
#include "engine/core/thread_pool.h"
#include "engine/kernels/kernels.h"

using wn::kernels::Context;
using wn::kernels::Epilogue;
using wn::kernels::PackedWeights;

namespace {

struct Stats {
  double median, min;  // wall-clock seconds
  double cpu_min;      // the calling thread's CPU seconds (meaningful for 1 thread)
};

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Wall time, and for single-threaded runs the thread's CPU time too: on a
// shared machine the latter does not count the time slices other processes
// took (it still sees their cache pollution).
Stats time_it(int reps, const std::function<void()>& fn) {
  fn();  // warm-up: caches, pool threads, scratch buffers
  std::vector<double> t;
  double cpu_min = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double c0 = thread_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    cpu_min = std::min(cpu_min, thread_cpu_seconds() - c0);
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t[0], cpu_min};
}

std::vector<float> random_floats(size_t n, unsigned seed) {
  std::vector<float> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& f : v) {
    x = x * 1664525u + 1013904223u;
    f = (float)((x >> 8) * (1.0 / 16777216.0)) - 0.5f;
  }
  return v;
}

PackedWeights random_weights(wn::kernels::Isa isa, int n, int k) {
  const std::vector<float> w = random_floats((size_t)n * k, n + k);
  std::vector<uint16_t> h(w.size());
  for (size_t i = 0; i < w.size(); ++i) h[i] = wn::f32_to_f16(w[i]);
  return PackedWeights::pack(isa, wn::GgmlType::kF16, h.data(), n, k);
}

struct LinearShape {
  const char* name;
  int m, k, n;
  bool gelu;
};

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(3, std::atoi(argv[1])) : 7;
  const wn::kernels::Isa isa = wn::kernels::selected_isa();
  std::printf("kernel path: %s, %d repetitions, times median / min\n\n", wn::kernels::isa_name(isa),
              reps);

  const bool has512 = wn::kernels::isa_supported(wn::kernels::Isa::kAvx512);
  double peak[3] = {0, 0, 0};
  for (int threads : {1, 2}) {
    peak[threads] = wn::kernels::measure_peak_gflops(threads, 1.0);
    std::printf("peak fp32 FMA (%s, register-only): %d thread%s %.1f GFLOP/s\n",
                has512 ? "zmm" : "ymm", threads, threads > 1 ? "s" : "", peak[threads]);
  }
  std::printf("\n");

  wn::ThreadPool pool1(1), pool2(2);

  // The micro-kernel's own ceiling: one row tile (12 rows on AVX-512) against
  // one panel, every operand in L1 (A 18 KB, the f16 panel 24 KB), called
  // back to back. What the GEMMs below reach is bounded by this, not by the
  // FMA-only peak: on an Intel Xeon (two 512-bit FMA ports) the loop of
  // broadcasts, panel loads and FMAs ran at 76-78% of it, and the encoder's
  // GEMMs at 70-75%.
  {
    const int rows = isa == wn::kernels::Isa::kAvx2 ? 6 : 12, k = 384, n = 32;
    const PackedWeights w = random_weights(isa, n, k);
    const std::vector<float> a = random_floats((size_t)rows * k, 11);
    std::vector<float> c((size_t)rows * n);
    const Context ctx{isa, nullptr};
    const int calls = 2000;
    const Stats st = time_it(reps, [&] {
      for (int i = 0; i < calls; ++i) {
        wn::kernels::linear(ctx, a.data(), k, rows, w, c.data(), n, Epilogue{});
      }
    });
    const double gflop = 2.0 * rows * n * k * calls * 1e-9;
    std::printf(
        "micro-kernel in L1 (%dx%d -> %d, %d calls): %.1f GFLOP/s = %.0f%% of peak (1t cpu)\n\n",
        rows, k, n, calls, gflop / st.cpu_min, 100 * gflop / st.cpu_min / peak[1]);
  }

  const LinearShape shapes[] = {
      {"attn q/k/v/out  1500x384 -> 384", 1500, 384, 384, false},
      {"mlp.0+gelu      1500x384 -> 1536", 1500, 384, 1536, true},
      {"mlp.2           1500x1536 -> 384", 1500, 1536, 384, false},
      {"conv2 (im2col)  1500x1152 -> 384", 1500, 1152, 384, true},
      {"conv1 (im2col)  3000x240 -> 384", 3000, 240, 384, true},
      // medium's (d 1024) and large's (d 1280) MLP and a medium head's q|k|v
      {"medium qkv head 1500x1024 -> 192", 1500, 1024, 192, false},
      {"medium mlp.0    1500x1024 -> 4096", 1500, 1024, 4096, true},
      {"medium mlp.2    1500x4096 -> 1024", 1500, 4096, 1024, false},
      {"large mlp.0     1500x1280 -> 5120", 1500, 1280, 5120, true},
      {"large mlp.2     1500x5120 -> 1280", 1500, 5120, 1280, false},
  };
  std::printf("%-34s %8s %16s %16s %8s %10s\n", "linear (f16 W)", "threads", "ms med/min",
              "GFLOP/s med/max", "% peak", "1t cpu GF/s");
  for (const auto& s : shapes) {
    const PackedWeights w = random_weights(isa, s.n, s.k);
    // a's rows as the encoder lays them out: a cache line apart from the
    // 4 KiB multiples that would put them all in one L1 set (encoder.cc).
    const int lda = (s.k * sizeof(float)) % 4096 == 0 ? s.k + 16 : s.k;
    const std::vector<float> a = random_floats((size_t)s.m * lda, 1);
    const std::vector<float> bias = random_floats(s.n, 2);
    std::vector<float> c((size_t)s.m * s.n);
    Epilogue ep;
    ep.bias = bias.data();
    ep.gelu = s.gelu;
    const double gflop = 2.0 * s.m * s.k * s.n * 1e-9;
    for (int threads : {1, 2}) {
      const Context ctx{isa, threads == 2 ? &pool2 : &pool1};
      const Stats st = time_it(
          reps, [&] { wn::kernels::linear(ctx, a.data(), lda, s.m, w, c.data(), s.n, ep); });
      std::printf("%-34s %8d %7.2f / %6.2f %7.1f / %6.1f %7.0f%% %10.1f\n", s.name, threads,
                  st.median * 1e3, st.min * 1e3, gflop / st.median, gflop / st.min,
                  100 * gflop / st.min / peak[threads], threads == 1 ? gflop / st.cpu_min : 0.0);
    }
  }

  // The logits projection: 51864 x 384 f16 = 40 MB streamed once per token.
  {
    std::printf("\nmemory read bandwidth (256 MB): 1 thread %.1f GB/s, 2 threads %.1f GB/s\n",
                wn::kernels::measure_read_bandwidth(1, 256, 0.5),
                wn::kernels::measure_read_bandwidth(2, 256, 0.5));
    const int n = 51864, k = 384;
    const PackedWeights w = random_weights(isa, n, k);
    const std::vector<float> a = random_floats(k, 3);
    std::vector<float> c(n);
    std::printf("%-34s %8s %16s %16s\n", "GEMV m=1 (logits)", "threads", "ms med/min",
                "GB/s med/max");
    for (int threads : {1, 2}) {
      const Context ctx{isa, threads == 2 ? &pool2 : &pool1};
      const Stats st =
          time_it(reps, [&] { wn::kernels::linear(ctx, a.data(), k, 1, w, c.data(), n, {}); });
      const double gb = w.bytes() * 1e-9;
      std::printf("%-34s %8d %7.2f / %6.2f %7.1f / %6.1f\n", "51864x384 f16", threads,
                  st.median * 1e3, st.min * 1e3, gb / st.median, gb / st.min);
    }
    const PackedWeights w384 = random_weights(isa, 384, 384);
    for (int threads : {1, 2}) {
      const Context ctx{isa, threads == 2 ? &pool2 : &pool1};
      const Stats st = time_it(
          reps * 20, [&] { wn::kernels::linear(ctx, a.data(), k, 1, w384, c.data(), 384, {}); });
      std::printf("%-34s %8d %7.4f / %6.4f\n", "384x384 f16 (decoder, L2)", threads,
                  st.median * 1e3, st.min * 1e3);
    }
  }

  // Encoder self-attention: 6 heads x 64, 1500 x 1500.
  {
    const int n = 1500, width = 384;
    const std::vector<float> q = random_floats((size_t)n * width, 4),
                             k = random_floats((size_t)n * width, 5),
                             v = random_floats((size_t)n * width, 6);
    std::vector<float> out((size_t)n * width);
    const double gflop = 4.0 * n * n * width * 1e-9;
    std::printf("\n%-34s %8s %16s %16s %8s %10s\n", "attention", "threads", "ms med/min",
                "GFLOP/s med/max", "% peak", "1t cpu GF/s");
    for (int threads : {1, 2}) {
      const Context ctx{isa, threads == 2 ? &pool2 : &pool1};
      const Stats st = time_it(reps, [&] {
        wn::kernels::attention(ctx, q.data(), width, n, k.data(), width, v.data(), width, n, 6, 64,
                               0.125f, -1, out.data(), width);
      });
      std::printf("%-34s %8d %7.2f / %6.2f %7.1f / %6.1f %7.0f%% %10.1f\n",
                  "1500x1500, 6 heads x 64", threads, st.median * 1e3, st.min * 1e3,
                  gflop / st.median, gflop / st.min, 100 * gflop / st.min / peak[threads],
                  threads == 1 ? gflop / st.cpu_min : 0.0);
    }
    std::vector<float> q1 = random_floats(width, 7);
    for (int threads : {1, 2}) {
      const Context ctx{isa, threads == 2 ? &pool2 : &pool1};
      const Stats st = time_it(reps * 20, [&] {
        wn::kernels::attention(ctx, q1.data(), width, 1, k.data(), width, v.data(), width, n, 6, 64,
                               0.125f, -1, out.data(), width);
      });
      std::printf("%-34s %8d %7.4f / %6.4f\n", "decoder cross, 1 x 1500", threads, st.median * 1e3,
                  st.min * 1e3);
    }
  }

  // One 30 s window's encoder kernels, in order (4 blocks, tiny.en shapes).
  {
    const int T = 1500, D = 384, F = 1536;
    const PackedWeights conv1 = random_weights(isa, D, 240), conv2 = random_weights(isa, D, 1152),
                        wq = random_weights(isa, D, D), wo = random_weights(isa, D, D),
                        w1 = random_weights(isa, F, D), w2 = random_weights(isa, D, F);
    const std::vector<float> bias = random_floats(F, 8), gamma = random_floats(D, 9);
    std::vector<float> x = random_floats((size_t)2 * T * 1152, 10), h((size_t)T * F),
                       qkv((size_t)3 * T * D), att((size_t)T * D), y((size_t)2 * T * D);
    std::printf("\n%-34s %8s %16s %16s %8s %10s\n", "encoder kernels, one window", "threads",
                "ms med/min", "GFLOP/s med/max", "% peak", "1t cpu GF/s");
    const double gflop = 2.0 * (2 * T * 240.0 * D + T * 1152.0 * D) * 1e-9 +
                         4 * (2.0 * T * D * D * 4 + 2.0 * 2 * T * D * F + 4.0 * T * T * D) * 1e-9;
    for (int threads : {1, 2}) {
      const Context ctx{isa, threads == 2 ? &pool2 : &pool1};
      Epilogue gelu_ep{bias.data(), true, false}, bias_ep{bias.data(), false, false},
          res_ep{bias.data(), false, true};
      const Stats st = time_it(reps, [&] {
        wn::kernels::linear(ctx, x.data(), 240, 2 * T, conv1, y.data(), D, gelu_ep);
        wn::kernels::linear(ctx, x.data(), 1152, T, conv2, y.data(), D, gelu_ep);
        for (int layer = 0; layer < 4; ++layer) {
          wn::kernels::layer_norm(ctx, y.data(), D, T, D, gamma.data(), bias.data(), 1e-5f,
                                  att.data(), D);
          for (int j = 0; j < 3; ++j) {
            wn::kernels::linear(ctx, att.data(), D, T, wq, qkv.data() + j * D, 3 * D, bias_ep);
          }
          wn::kernels::attention(ctx, qkv.data(), 3 * D, T, qkv.data() + D, 3 * D,
                                 qkv.data() + 2 * D, 3 * D, T, 6, 64, 0.125f, -1, att.data(), D);
          wn::kernels::linear(ctx, att.data(), D, T, wo, y.data(), D, res_ep);
          wn::kernels::layer_norm(ctx, y.data(), D, T, D, gamma.data(), bias.data(), 1e-5f,
                                  att.data(), D);
          wn::kernels::linear(ctx, att.data(), D, T, w1, h.data(), F, gelu_ep);
          wn::kernels::linear(ctx, h.data(), F, T, w2, y.data(), D, res_ep);
        }
      });
      std::printf("%-34s %8d %7.1f / %6.1f %7.1f / %6.1f %7.0f%% %10.1f\n", "conv1+conv2+4 blocks",
                  threads, st.median * 1e3, st.min * 1e3, gflop / st.median, gflop / st.min,
                  100 * gflop / st.min / peak[threads], threads == 1 ? gflop / st.cpu_min : 0.0);
    }
    std::printf("(%.1f GFLOP per window counted: GEMMs and attention; im2col not included)\n",
                gflop);
  }
  return 0;
}
