// Per-thread scratch memory: a few named slots, each a 64-byte aligned block
// owned by the calling thread that grows to the largest size asked of it
// there. For the buffers a task needs on whichever thread runs it (a widened
// panel, attention rows, file reads), kept between tasks so that no task
// allocates.
//
// Why not thread_local std::vector: a thread_local object with a destructor
// is destroyed at thread exit by the C++ runtime, and with MinGW-w64 (GCC's
// emulated TLS over winpthreads) the object's storage can be freed before its
// destructor runs (GCC bug 80816): the destructor reads freed memory and
// frees garbage. It crashed a MinGW build's tests when a model's pool threads
// exited. Here the only thread_local is a plain pointer; a pool's workers
// release their scratch as they exit (ThreadPool), other threads at thread
// exit through a mechanism that reads no freed storage.
#pragma once

#include <cstddef>

namespace wn {

enum class ScratchSlot {
  kWidenedPanel,   // kernels: a quantized or generic weight panel in f32
  kWidenedKeys,    // kernels: one f16 key row widened for the transpose
  kAttentionRows,  // kernels: a block or row range's attention scratch
  kFileRead,       // encoder: a low-memory model's weights read from its file
  kCount
};

// At least `bytes` of 64-byte aligned memory, this thread's for `slot`,
// valid until the next call for the same slot on this thread (its contents
// are not kept when it grows). Throws kOutOfMemory.
void* thread_scratch(ScratchSlot slot, size_t bytes);

template <typename T>
T* thread_scratch_of(ScratchSlot slot, size_t count) {
  return static_cast<T*>(thread_scratch(slot, count * sizeof(T)));
}

// Frees this thread's scratch (every slot). ThreadPool workers call it as
// they exit; a later thread_scratch() on the same thread starts afresh.
void release_thread_scratch();

// Bytes of scratch this thread holds, and threads holding any (tests).
size_t thread_scratch_bytes();
int threads_with_scratch();

}  // namespace wn
