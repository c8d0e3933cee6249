// How engine failures reach JavaScript: every C++ exception becomes a JS Error
// with a string `code` (wn::Error -> error_code_name(code), std::bad_alloc ->
// ERR_OUT_OF_MEMORY, anything else -> ERR_INTERNAL) and the engine's message.
// lib/errors.ts wraps these into WhisperError with the caller's stack.
#pragma once

#include <napi.h>

#include <string>

namespace wn_binding {

struct ErrorInfo {
  const char* code = "ERR_INTERNAL";  // a static string: copying it never allocates
  std::string message;
};

// Describes the exception being handled; call only inside a catch block.
// Never throws: when even the description cannot be allocated (the heap is
// exhausted), it says "out of memory", which fits std::string's inline buffer.
ErrorInfo describe_current_exception() noexcept;

Napi::Error make_js_error(Napi::Env env, const ErrorInfo& info);

// Throws (as a C++ Napi::Error, which becomes a JS exception) an error with `code`.
[[noreturn]] void throw_js_error(Napi::Env env, const char* code, const std::string& message);

// Runs body(); engine exceptions become JS errors with codes. For synchronous
// methods, which run on the JS thread.
template <typename Body>
auto with_js_errors(Napi::Env env, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw make_js_error(env, describe_current_exception());
  }
}

}  // namespace wn_binding
