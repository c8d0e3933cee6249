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
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "binding/js_errors.h"
#include "engine/core/call_gate.h"
#include "engine/core/cancel.h"

namespace wn_binding {

class ThreadWorker {
 public:
  ThreadWorker(const ThreadWorker&) = delete;
  ThreadWorker& operator=(const ThreadWorker&) = delete;

  // Starts the call: its thread at once, or, for a call that took a turn at a
  // model's CallGate (TakeTurnAt), once the gate admits it. A thread that
  // cannot be started fails the call (ERR_OUT_OF_MEMORY) through OnNotRun().
  // Throws a JS error (and deletes the worker) only if the thread-safe
  // function cannot be made.
  void Start();

  // A JS function abort(): raises `flag`; a call still waiting for its turn
  // leaves the queue and fails with ERR_ABORTED (OnNotRun) without running.
  // Safe to call at any time, before or after the call ends.
  Napi::Function MakeAbortFunction(Napi::Env env, std::shared_ptr<wn::CancellationFlag> flag);

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
  // The call ends without Execute() (aborted while waiting for its turn, or
  // no thread could be started); record `error` for OnDone(). Called once, on
  // the JS thread or the thread that was to start this one's.
  virtual void OnNotRun(const ErrorInfo& error) = 0;

  // From the constructor: the call runs when `ticket` is admitted, and holds
  // no thread until then.
  void TakeTurnAt(wn::CallGate::Ticket ticket);

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
  // Starts the thread (under the gate's lock when the gate admits the call);
  // false, with the call failed, when the OS refuses one.
  bool SpawnThread();
  // Takes a call that was not admitted yet out of its gate's queue.
  bool Withdraw() { return withdraw_ && withdraw_(); }
  void JoinThread();
  // Queues a message; false when the environment is going away.
  bool Send(Message* message);
  // The JS thread, on the completion message.
  void Finish(Napi::Env env);

  napi_env env_;
  const char* resource_name_;
  napi_threadsafe_function tsfn_ = nullptr;
  std::optional<wn::CallGate::Ticket> ticket_;  // released as Execute() returns
  std::function<bool()> withdraw_;              // ticket_'s withdrawer()
  std::mutex thread_mutex_;  // thread_ is assigned under it; the thread waits for that
  std::thread thread_;
  std::mutex send_mutex_;      // orders Send() against the environment's teardown
  bool tearing_down_ = false;  // under send_mutex_
};

}  // namespace wn_binding
