// The base of every asynchronous native call: its engine work runs on a thread
// of the call's own, and what it produces (events, then its completion) reaches
// the JS thread through a thread-safe function, in the order it was posted.
//
// Why not libuv's thread pool (Napi::AsyncWorker): its threads (4 by default)
// also serve the whole process's fs, dns.lookup, crypto and zlib work, and a
// transcription holds one for as long as it runs: with 4 transcriptions in
// flight, a 1 ms fs.readFile waited 8 s for one to end. And Node lets a
// terminated Worker's environment run its cleanup hooks only after its libuv
// work has ended, so such a call could not be stopped early there.
//
// Lifetime: created with new on the JS thread, then Start(). The worker deletes
// itself on the JS thread, after OnDone(); or, when its environment goes away
// first (a worker_threads Worker terminated), in the environment's cleanup hook,
// which cancels the work, waits for the thread and skips OnDone() (no JS can
// run by then). At process exit, calls still running are cancelled and given a
// moment to stop (see thread_worker.cc).
#pragma once

#include <napi.h>

#include <functional>
#include <mutex>
#include <thread>

namespace wn_binding {

class ThreadWorker {
 public:
  ThreadWorker(const ThreadWorker&) = delete;
  ThreadWorker& operator=(const ThreadWorker&) = delete;

  // Starts the call's thread. When that fails, deletes the worker and throws a
  // JS error (ERR_OUT_OF_MEMORY).
  void Start();

 protected:
  ThreadWorker(Napi::Env env, const char* resource_name);
  virtual ~ThreadWorker();

  // The call's thread: the work. Must not throw (record failures for OnDone).
  virtual void Execute() = 0;
  // The JS thread, once, after every function Post()ed by Execute() has run.
  virtual void OnDone(Napi::Env env) = 0;
  // Any thread: asks Execute() to return soon. Called when the environment
  // goes away or the process exits with the call running; calls that cannot
  // stop early need not override it.
  virtual void Cancel() {}

  // From Execute(): runs fn on the JS thread after the functions posted before
  // it. Dropped once the environment is going away.
  void Post(std::function<void(Napi::Env)> fn);

  Napi::Env Env() const { return Napi::Env(env_); }

 private:
  struct Message;
  static void CallJs(napi_env env, napi_value, void* context, void* data);
  static void OnEnvironmentTeardown(void* arg);
  static void CancelCallsAtExit();
  void RunOnThread();
  // Queues a message; false when the environment is going away.
  bool Send(Message* message);
  // The JS thread, on the completion message.
  void Finish(Napi::Env env);

  napi_env env_;
  const char* resource_name_;
  napi_threadsafe_function tsfn_ = nullptr;
  std::thread thread_;
  std::mutex send_mutex_;      // orders Send() against the environment's teardown
  bool tearing_down_ = false;  // under send_mutex_
};

}  // namespace wn_binding
