// Big float arrays for per-call state (encoder scratch, decoder caches) taken
// straight from the OS, with transparent huge pages requested where the OS has
// them (Linux). Why: these buffers are tens of MB and are touched for the first
// time during the first window of every transcription; with 4 KiB pages that is
// thousands of page faults, and in a VM guest each costs ~10-15 µs (measured:
// 80 MB first-touched in 0.29 s CPU with 4 KiB pages, 0.01 s with 2 MiB pages).
//
// Contents start zeroed (fresh pages) but callers must not rely on it; pages
// never touched cost no resident memory (with huge pages, at 2 MiB granularity).
//
// Small pages (Pages::kSmall) are for buffers filled from the front to a
// length that varies, such as the decoder's self-attention caches: there a
// huge page can hold up to 2 MiB nobody uses, while a few hundred 4 KiB faults
// per transcription cost little (1.4 µs each measured on the 2-core Xeon VM of
// 2026-12: 64 MB touched in 23 ms; huge pages: 8 ms).
//
// Prefaulted pages (Pages::kPrefaulted) are for a buffer written in full at
// once on a thread that must not stall, the JS thread's copy of a call's
// audio: small pages, all mapped by the kernel up front (MAP_POPULATE). 230 MB
// allocated and copied in 68 ms, against 102 ms for a std::vector (zeroed,
// then copied) and 133 ms faulting small pages one by one. Huge pages took 65
// ms when the kernel had them free and 380 ms when it compacted memory first.
#pragma once

#include <cstddef>

namespace wn {

class PageBuffer {
 public:
  enum class Pages { kHuge, kSmall, kPrefaulted };

  PageBuffer() = default;
  explicit PageBuffer(size_t n_floats, Pages pages = Pages::kHuge);  // throws kOutOfMemory
  ~PageBuffer();
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  // Hands the pages back to the OS but keeps the address range: the next touch
  // gets fresh zero pages (with huge pages, a few faults). For scratch that is
  // dead between calls, so another buffer's pages can take its place in the
  // process's peak resident memory. A no-op for heap-allocated (small) buffers.
  void discard();

  // Asks for huge pages over the whole huge pages inside the first n floats,
  // for a small-page buffer whose front is always filled: there they cost no
  // rounding and save TLB misses, while the partly used tail keeps small
  // pages. Only pages not touched yet are affected; advisory.
  void use_huge_pages(size_t n_floats);

  float* get() const { return data_; }
  size_t size() const { return size_; }  // floats

 private:
  void release();

  float* data_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;  // what to unmap (null: data_ came from operator new)
  size_t mapping_bytes_ = 0;
};

}  // namespace wn
