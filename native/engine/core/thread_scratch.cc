// thread_scratch(): see thread_scratch.h for why the per-thread state is a
// plain pointer to a heap block rather than thread_local objects.
#include "engine/core/thread_scratch.h"

#include <atomic>
#include <new>
#include <string>

#include "engine/core/error.h"

#if defined(__MINGW32__)
#include <pthread.h>
#endif

namespace wn {
namespace {

constexpr std::align_val_t kAlignment{64};

struct ScratchSet {
  void* block[static_cast<int>(ScratchSlot::kCount)] = {};
  size_t bytes[static_cast<int>(ScratchSlot::kCount)] = {};
};

// Trivially destructible: nothing runs on it at thread exit.
thread_local ScratchSet* tls_scratch = nullptr;
std::atomic<int> sets_alive{0};

void free_set(ScratchSet* set) {
  if (set == nullptr) return;
  for (int i = 0; i < static_cast<int>(ScratchSlot::kCount); ++i) {
    if (set->block[i] != nullptr) ::operator delete(set->block[i], kAlignment);
  }
  delete set;
  sets_alive.fetch_sub(1, std::memory_order_relaxed);
}

#if defined(__MINGW32__)
// A winpthreads key: its value lives in winpthreads' own per-thread table,
// not in emulated TLS, and its destructor gets the value as an argument.
pthread_key_t exit_key;
pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
void free_set_at_exit(void* set) {
  free_set(static_cast<ScratchSet*>(set));
}
void make_exit_key() {
  pthread_key_create(&exit_key, free_set_at_exit);
}
void free_at_thread_exit(ScratchSet* set) {
  pthread_once(&exit_key_once, make_exit_key);
  pthread_setspecific(exit_key, set);
}
#else
// Elsewhere thread_local destructors run before the thread's storage goes.
struct ExitRelease {
  ~ExitRelease() { release_thread_scratch(); }
};
void free_at_thread_exit(ScratchSet*) {
  thread_local ExitRelease at_exit;
  (void)at_exit;
}
#endif

ScratchSet& this_thread_set() {
  if (tls_scratch == nullptr) {
    tls_scratch = new ScratchSet;
    sets_alive.fetch_add(1, std::memory_order_relaxed);
    free_at_thread_exit(tls_scratch);
  }
  return *tls_scratch;
}

}  // namespace

void* thread_scratch(ScratchSlot slot, size_t bytes) {
  ScratchSet& set = this_thread_set();
  const int i = static_cast<int>(slot);
  if (set.bytes[i] < bytes || set.block[i] == nullptr) {
    if (set.block[i] != nullptr) ::operator delete(set.block[i], kAlignment);
    set.block[i] = nullptr;
    set.bytes[i] = 0;
    const size_t want = bytes > 0 ? bytes : 1;
    try {
      set.block[i] = ::operator new(want, kAlignment);
    } catch (const std::bad_alloc&) {
      throw Error(ErrorCode::kOutOfMemory,
                  "cannot allocate " + std::to_string(want) + " bytes of thread scratch");
    }
    set.bytes[i] = want;
  }
  return set.block[i];
}

void release_thread_scratch() {
  ScratchSet* set = tls_scratch;
  tls_scratch = nullptr;
#if defined(__MINGW32__)
  if (set != nullptr) pthread_setspecific(exit_key, nullptr);
#endif
  free_set(set);
}

size_t thread_scratch_bytes() {
  size_t total = 0;
  if (tls_scratch == nullptr) return 0;
  for (size_t b : tls_scratch->bytes) total += b;
  return total;
}

int threads_with_scratch() {
  return sets_alive.load(std::memory_order_relaxed);
}

}  // namespace wn
