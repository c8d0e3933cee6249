// PageBuffer: small and large sizes hold what is written, large buffers start
// on a huge page boundary (Linux), and moves transfer ownership.
#include <cstdint>
#include <utility>

#include "engine/model/page_buffer.h"
#include "tests/check.h"

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
