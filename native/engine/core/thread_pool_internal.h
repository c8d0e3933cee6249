// Test-only seam of ThreadPool (thread_pool.cc). A worker thread that cannot
// start (std::thread throws std::system_error: a container's pids limit,
// RLIMIT_NPROC, no memory for a stack) cannot be provoked reliably without
// root, so tests make the Nth start fail through this hook instead. Nothing in
// the engine or the addon sets it.
#pragma once

namespace wn {
namespace internal {

// Called by ThreadPool's constructor just before it starts worker
// `worker_index` (1 ... n_threads - 1); an exception it throws stands for that
// thread's failure to start. Null (no call) unless a test sets it.
extern void (*thread_pool_before_start)(int worker_index);

}  // namespace internal
}  // namespace wn
