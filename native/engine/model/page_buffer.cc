// PageBuffer: anonymous memory mappings aligned to the huge page size with
// MADV_HUGEPAGE on Linux (or plain mappings for Pages::kSmall); operator new
// elsewhere and for small sizes.
#include "engine/model/page_buffer.h"

#include <algorithm>
#include <cstdint>
#include <new>
#include <string>
#include <utility>

#include "engine/core/error.h"

#if defined(__linux__)
#include <sys/mman.h>
#define WN_HAVE_MMAP 1
#endif

namespace wn {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kSmallPage = 4096;
// Below this a buffer comes from the heap: one huge page would waste more than
// it saves.
constexpr size_t kMapThreshold = kHugePage;
// With small pages, a mapping of its own from here on: the heap may keep a
// freed block resident, a mapping's untouched pages cost nothing.
constexpr size_t kSmallMapThreshold = 16 * kSmallPage;

[[noreturn]] void out_of_memory(size_t bytes) {
  throw Error(ErrorCode::kOutOfMemory, "cannot allocate " + std::to_string(bytes) + " bytes");
}

}  // namespace

PageBuffer::PageBuffer(size_t n_floats, Pages pages) : size_(n_floats) {
  if (n_floats > SIZE_MAX / sizeof(float) - kHugePage) out_of_memory(SIZE_MAX);
  const size_t bytes = n_floats * sizeof(float);
#ifdef WN_HAVE_MMAP
  if (pages == Pages::kPrefaulted && bytes >= kSmallMapThreshold) {
    // Exactly its pages, all mapped now: populating the huge-page slack the
    // other kinds map for alignment would make it resident too (3.3 MB of
    // peak RSS for jfk.wav's 0.7 MB of samples).
    const size_t mapped = (bytes + kSmallPage - 1) / kSmallPage * kSmallPage;
    void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) out_of_memory(mapped);
    mapping_ = p;
    mapping_bytes_ = mapped;
    data_ = static_cast<float*>(p);
    return;
  }
  if (pages != Pages::kPrefaulted &&
      bytes >= (pages == Pages::kHuge ? kMapThreshold : kSmallMapThreshold)) {
    // Over-map by one huge page so that the data can start on a huge page
    // boundary (small-page buffers too: see use_huge_pages).
    const size_t mapped = (bytes + kHugePage - 1) / kHugePage * kHugePage + kHugePage;
    void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) out_of_memory(mapped);
    const uintptr_t aligned = (reinterpret_cast<uintptr_t>(p) + kHugePage - 1) & ~(kHugePage - 1);
    mapping_ = p;
    mapping_bytes_ = mapped;
    data_ = reinterpret_cast<float*>(aligned);
    if (pages == Pages::kHuge) {
      // All of it, the last huge page too. Advisory only: without THP this is
      // plain 4 KiB pages, still correct.
      madvise(data_, mapped - (aligned - reinterpret_cast<uintptr_t>(p)), MADV_HUGEPAGE);
    }
    return;
  }
#endif
  try {
    data_ = new float[n_floats];
  } catch (const std::bad_alloc&) {
    out_of_memory(bytes);
  }
}

PageBuffer::~PageBuffer() {
  release();
}

PageBuffer::PageBuffer(PageBuffer&& other) noexcept {
  *this = std::move(other);
}

PageBuffer& PageBuffer::operator=(PageBuffer&& other) noexcept {
  if (this != &other) {
    release();
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(mapping_, other.mapping_);
    std::swap(mapping_bytes_, other.mapping_bytes_);
  }
  return *this;
}

void PageBuffer::discard() {
#ifdef WN_HAVE_MMAP
  if (mapping_ != nullptr) madvise(mapping_, mapping_bytes_, MADV_DONTNEED);
#endif
}

void PageBuffer::use_huge_pages(size_t n_floats) {
#ifdef WN_HAVE_MMAP
  if (mapping_ == nullptr) return;
  const size_t bytes = std::min(n_floats, size_) * sizeof(float) / kHugePage * kHugePage;
  if (bytes > 0) madvise(data_, bytes, MADV_HUGEPAGE);
#else
  (void)n_floats;
#endif
}

void PageBuffer::release() {
#ifdef WN_HAVE_MMAP
  if (mapping_ != nullptr) {
    munmap(mapping_, mapping_bytes_);
  } else {
    delete[] data_;
  }
#else
  delete[] data_;
#endif
  data_ = nullptr;
  size_ = 0;
  mapping_ = nullptr;
  mapping_bytes_ = 0;
}

}  // namespace wn
