// PageBuffer: small and large sizes hold what is written, large buffers start
// on a huge page boundary (Linux), and moves transfer ownership.
#include <cstdint>
#include <cstdio>
#include <utility>

#include "engine/model/page_buffer.h"
#include "tests/check.h"
#include "tests/process_memory.h"

namespace {

// Writes a pattern over the whole buffer and reads it back.
bool holds_pattern(const wn::PageBuffer& b) {
  for (size_t i = 0; i < b.size(); i++) b.get()[i] = static_cast<float>(i % 1000);
  for (size_t i = 0; i < b.size(); i++) {
    if (b.get()[i] != static_cast<float>(i % 1000)) return false;
  }
  return true;
}

TEST(sizes_hold_their_contents) {
  for (size_t n : {size_t{1}, size_t{1000}, size_t{1} << 19, (size_t{3} << 20) + 7}) {
    wn::PageBuffer b(n);
    CHECK(b.size() == n);
    CHECK(b.get() != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(b.get()) % 16 == 0);
    CHECK(holds_pattern(b));
  }
  wn::PageBuffer empty;
  CHECK(empty.get() == nullptr && empty.size() == 0);
}

TEST(large_buffers_start_on_a_huge_page) {
#if defined(__linux__)
  wn::PageBuffer b(size_t{4} << 20);  // 16 MB
  CHECK(reinterpret_cast<uintptr_t>(b.get()) % (size_t{2} << 20) == 0);
#endif
}

// discard() keeps the buffer usable at the same address (small and large).
TEST(discarded_buffers_stay_usable) {
  for (size_t n : {size_t{1000}, size_t{4} << 20}) {
    wn::PageBuffer b(n);
    float* data = b.get();
    CHECK(holds_pattern(b));
    b.discard();
    CHECK(b.get() == data && b.size() == n);
    CHECK(holds_pattern(b));
  }
}

// Prefaulted buffers (the JS thread's copy of a call's audio) are resident
// as soon as they exist, so that writing them takes no page faults; they hold
// their contents like the others.
TEST(prefaulted_buffers_are_resident_before_their_first_write) {
  for (size_t n : {size_t{10}, size_t{100000}}) {
    wn::PageBuffer small(n, wn::PageBuffer::Pages::kPrefaulted);
    CHECK(small.size() == n && holds_pattern(small));
  }
#if defined(__linux__)
  if (wn_test::resident_bytes() < 0 || wn_test::kSanitizerShadowMemory) {
    std::printf("  skipped the residency check: no /proc/self/status, or a sanitizer\n");
    return;
  }
  const size_t n = size_t{16} << 20;  // 64 MB
  const long long before = wn_test::resident_bytes();
  wn::PageBuffer b(n, wn::PageBuffer::Pages::kPrefaulted);
  const long long grown = wn_test::resident_bytes() - before;
  std::printf("  64 MB prefaulted: RSS +%.1f MB before any write\n", grown / 1e6);
  CHECK(grown > static_cast<long long>(n * sizeof(float)) * 9 / 10);
  // Its pages only: not the slack a huge-page aligned mapping would add.
  CHECK(grown < static_cast<long long>(n * sizeof(float)) + (1 << 20));
  CHECK(holds_pattern(b));
  wn::PageBuffer lazy(n, wn::PageBuffer::Pages::kSmall);
  const long long after_lazy = wn_test::resident_bytes();
  CHECK(after_lazy - before - grown < static_cast<long long>(n * sizeof(float)) / 10);
  const long long before_clip = wn_test::resident_bytes();
  wn::PageBuffer clip(176000, wn::PageBuffer::Pages::kPrefaulted);  // jfk.wav's 0.7 MB
  CHECK(wn_test::resident_bytes() - before_clip < 1'500'000);
#endif
}

TEST(moves_transfer_ownership) {
  wn::PageBuffer a(size_t{1} << 20);
  float* data = a.get();
  data[123] = 4.5f;
  wn::PageBuffer b(std::move(a));
  CHECK(b.get() == data && b.get()[123] == 4.5f && b.size() == (size_t{1} << 20));
  CHECK(a.get() == nullptr && a.size() == 0);
  wn::PageBuffer c(10);
  c = std::move(b);
  CHECK(c.get() == data && c.get()[123] == 4.5f);
  CHECK(b.get() == nullptr);
}

}  // namespace

int main() {
  return wn_test::run_all();
}
