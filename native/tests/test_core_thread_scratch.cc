// thread_scratch (engine/core/thread_scratch.h): aligned per-thread blocks
// per slot that grow and are reused, and that a thread gives back when a pool
// worker stops or any other thread exits.
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "engine/core/thread_pool.h"
#include "engine/core/thread_scratch.h"
#include "tests/check.h"

namespace {

using wn::ScratchSlot;

bool aligned64(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 64 == 0;
}

TEST(slots_are_aligned_reused_and_independent) {
  float* a = wn::thread_scratch_of<float>(ScratchSlot::kAttentionRows, 1000);
  CHECK(aligned64(a));
  std::memset(a, 0, 1000 * sizeof(float));  // all of it is ours
  // Asking for no more reuses the block; another slot is another block.
  CHECK(wn::thread_scratch_of<float>(ScratchSlot::kAttentionRows, 10) == a);
  uint8_t* b = wn::thread_scratch_of<uint8_t>(ScratchSlot::kFileRead, 4000);
  CHECK(aligned64(b) && static_cast<void*>(b) != static_cast<void*>(a));
  std::memset(b, 1, 4000);
  // Growing gives a block of the new size (contents not kept).
  float* grown = wn::thread_scratch_of<float>(ScratchSlot::kAttentionRows, 100000);
  CHECK(aligned64(grown));
  std::memset(grown, 0, 100000 * sizeof(float));
  CHECK(wn::thread_scratch_bytes() == 100000 * sizeof(float) + 4000);
  wn::release_thread_scratch();
  CHECK(wn::thread_scratch_bytes() == 0);
  // Usable again after a release.
  CHECK(wn::thread_scratch(ScratchSlot::kWidenedKeys, 64) != nullptr);
  CHECK(wn::thread_scratch_bytes() == 64);
  wn::release_thread_scratch();
}

TEST(threads_give_their_scratch_back_when_they_exit) {
  const int before = wn::threads_with_scratch();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([] {
      std::memset(wn::thread_scratch(ScratchSlot::kFileRead, 1 << 20), 0, 1 << 20);
      CHECK(wn::thread_scratch_bytes() == (1u << 20));
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(wn::threads_with_scratch() == before);
}

TEST(a_pools_workers_give_their_scratch_back_when_it_stops) {
  const int before = wn::threads_with_scratch();
  {
    wn::ThreadPool pool(3);
    std::vector<int> used(3, 0);
    // Enough tasks that the workers take some; each task uses scratch.
    for (int round = 0; round < 50; ++round) {
      pool.parallel_for(64, [&](int64_t, int thread) {
        float* s = wn::thread_scratch_of<float>(ScratchSlot::kAttentionRows, 4096);
        std::memset(s, 0, 4096 * sizeof(float));
        used[thread] = 1;
      });
    }
    CHECK(wn::threads_with_scratch() >= before + 1);  // at least the caller's
  }
  // The workers released theirs as they stopped; this thread keeps its own.
  wn::release_thread_scratch();
  CHECK(wn::threads_with_scratch() == before);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
