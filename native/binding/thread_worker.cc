// Calls on threads of their own (see thread_worker.h).
//
// The order of teardown matters. A thread-safe function registers its own
// environment cleanup hook when it is created, and that hook frees it; cleanup
// hooks run newest first, so each call registers its hook after creating its
// thread-safe function: the call's hook runs first, stops its thread (after
// which nothing posts), and only then is the thread-safe function freed. Its
// queued messages are then handed back with no environment and only freed.
#include "binding/thread_worker.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_set>
#include <utility>

#include "binding/js_errors.h"

namespace wn_binding {
namespace {

// Every call with a thread, process-wide, for the exit handler. Leaked on
// purpose: it must outlive static destruction, which the exit handler and
// still-running threads may overlap.
struct LiveCalls {
  std::mutex mutex;
  std::condition_variable thread_ended;
  std::unordered_set<ThreadWorker*> calls;
  // Raised without the mutex (SpawnThread may run under a CallGate's lock, and
  // the exit handler takes a gate's lock under this mutex); lowered under it,
  // so that the exit handler's wait cannot miss the last thread's end.
  std::atomic<int> running_threads{0};
};

LiveCalls& live_calls() {
  static LiveCalls* calls = new LiveCalls;
  return *calls;
}

// How long process exit waits for cancelled calls to stop. The engine checks
// its cancellation flag before every decoder step and between encoder blocks,
// so a call stops within milliseconds; a model still loading cannot stop early,
// and exit does not wait for it beyond this.
constexpr std::chrono::seconds kExitGrace{2};

}  // namespace

struct ThreadWorker::Message {
  std::function<void(Napi::Env)> fn;  // empty: the completion message
};

// process.exit() runs the C runtime's exit handlers without tearing down the
// main thread's environment (no cleanup hooks): without this, calls would go on
// running on their threads while static objects are destroyed under them.
// Registered once per process, when the first call starts.
void ThreadWorker::CancelCallsAtExit() {
  LiveCalls& live = live_calls();
  std::unique_lock<std::mutex> lock(live.mutex);
  for (ThreadWorker* call : live.calls) {
    call->Cancel();
    call->Withdraw();
  }
  live.thread_ended.wait_for(lock, kExitGrace, [&] { return live.running_threads == 0; });
}

ThreadWorker::ThreadWorker(Napi::Env env, const char* resource_name)
    : env_(env), resource_name_(resource_name) {}

ThreadWorker::~ThreadWorker() = default;

void ThreadWorker::TakeTurnAt(wn::CallGate::Ticket ticket) {
  ticket_.emplace(std::move(ticket));
  withdraw_ = ticket_->withdrawer();
}

void ThreadWorker::Start() {
#ifndef _WIN32
  // Not on Windows: there a DLL's exit handlers run after ExitProcess has
  // already ended every other thread, so nothing runs on and nothing waits.
  static std::once_flag exit_handler;
  std::call_once(exit_handler, [] { std::atexit(&ThreadWorker::CancelCallsAtExit); });
#endif

  Napi::Env env = Env();
  napi_status status = napi_create_threadsafe_function(
      env_, nullptr, nullptr, Napi::String::New(env, resource_name_), /*max_queue_size=*/0,
      /*initial_thread_count=*/1, nullptr, nullptr, this, &ThreadWorker::CallJs, &tsfn_);
  if (status != napi_ok) {
    delete this;
    throw_js_error(env, "ERR_INTERNAL", "could not create a thread-safe function for a call");
  }
  napi_add_env_cleanup_hook(env_, &ThreadWorker::OnEnvironmentTeardown, this);
  {
    LiveCalls& live = live_calls();
    std::lock_guard<std::mutex> lock(live.mutex);
    live.calls.insert(this);
  }
  if (ticket_) {
    ticket_->start_when_admitted([this] { return SpawnThread(); });
  } else {
    SpawnThread();
  }
}

bool ThreadWorker::SpawnThread() {
  LiveCalls& live = live_calls();
  live.running_threads++;
  try {
    std::lock_guard<std::mutex> lock(thread_mutex_);
    thread_ = std::thread([this] { RunOnThread(); });
    return true;
  } catch (const std::system_error& e) {
    live.running_threads--;  // no thread ran: nothing to wait for
    OnNotRun(
        {"ERR_OUT_OF_MEMORY", std::string("could not start a thread for the call: ") + e.what()});
    Send(new Message{});
    return false;
  }
}

Napi::Function ThreadWorker::MakeAbortFunction(Napi::Env env,
                                               std::shared_ptr<wn::CancellationFlag> flag) {
  // The worker is alive whenever withdraw() succeeds: a call that has not
  // been admitted has not run, so it has neither finished nor been torn down
  // (teardown withdraws it first, on this same thread).
  std::function<bool()> withdraw = withdraw_;
  ThreadWorker* worker = this;
  return Napi::Function::New(
      env,
      [flag, withdraw, worker](const Napi::CallbackInfo&) {
        flag->cancel();
        if (withdraw && withdraw()) {
          worker->OnNotRun({"ERR_ABORTED", "the operation was aborted"});
          worker->Send(new Message{});
        }
      },
      "abort");
}

void ThreadWorker::RunOnThread() {
  // Wait until the spawning thread has stored thread_ (Finish() joins it).
  { std::lock_guard<std::mutex> lock(thread_mutex_); }
  Execute();
  // The model's next call may start now, not once the JS thread has taken
  // the result.
  ticket_.reset();
  Send(new Message{});
  // The last touch of anything shared; `this` may be deleted from here on
  // (Finish() joins this thread first, but the exit handler does not).
  LiveCalls& live = live_calls();
  {
    std::lock_guard<std::mutex> lock(live.mutex);
    live.running_threads--;
  }
  live.thread_ended.notify_all();
}

void ThreadWorker::JoinThread() {
  std::thread thread;
  {
    // Not joined under the lock: a thread just started takes it first.
    std::lock_guard<std::mutex> lock(thread_mutex_);
    thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();
}

void ThreadWorker::Post(std::function<void(Napi::Env)> fn) {
  Send(new Message{std::move(fn)});
}

bool ThreadWorker::Send(Message* message) {
  std::lock_guard<std::mutex> lock(send_mutex_);
  if (!tearing_down_ &&
      napi_call_threadsafe_function(tsfn_, message, napi_tsfn_nonblocking) == napi_ok) {
    return true;
  }
  delete message;
  return false;
}

void ThreadWorker::CallJs(napi_env env, napi_value, void* context, void* data) {
  std::unique_ptr<Message> message(static_cast<Message*>(data));
  // No environment: the thread-safe function is being freed at teardown, after
  // the call's own cleanup hook deleted the worker. Only free the message.
  if (env == nullptr || message == nullptr) return;
  auto* worker = static_cast<ThreadWorker*>(context);
  if (!message->fn) {
    worker->Finish(Napi::Env(env));
    return;
  }
  Napi::HandleScope scope(env);
  try {
    message->fn(Napi::Env(env));
  } catch (...) {
    // A posted function handles its own errors; nothing may unwind into Node.
  }
}

void ThreadWorker::Finish(Napi::Env env) {
  JoinThread();
  napi_remove_env_cleanup_hook(env_, &ThreadWorker::OnEnvironmentTeardown, this);
  napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
  {
    LiveCalls& live = live_calls();
    std::lock_guard<std::mutex> lock(live.mutex);
    live.calls.erase(this);
  }
  {
    Napi::HandleScope scope(env);
    try {
      OnDone(env);
    } catch (...) {
      // OnDone settles its promise itself; nothing may unwind into Node.
    }
  }
  delete this;
}

void ThreadWorker::OnEnvironmentTeardown(void* arg) {
  auto* worker = static_cast<ThreadWorker*>(arg);
  {
    std::lock_guard<std::mutex> lock(worker->send_mutex_);
    worker->tearing_down_ = true;
  }
  {
    LiveCalls& live = live_calls();
    std::lock_guard<std::mutex> lock(live.mutex);
    live.calls.erase(worker);
  }
  worker->Cancel();
  worker->Withdraw();  // a call still waiting for its turn never starts
  worker->JoinThread();
  napi_release_threadsafe_function(worker->tsfn_, napi_tsfn_abort);
  delete worker;
}

}  // namespace wn_binding
