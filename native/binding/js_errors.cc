// Maps C++ exceptions to coded JavaScript errors (see js_errors.h).
#include "binding/js_errors.h"

#include <exception>
#include <new>

#include "engine/core/error.h"

namespace wn_binding {

ErrorInfo describe_current_exception() noexcept {
  try {
    try {
      throw;
    } catch (const wn::Error& e) {
      return {wn::error_code_name(e.code()), e.what()};
    } catch (const std::bad_alloc&) {
      return {"ERR_OUT_OF_MEMORY", "out of memory"};
    } catch (const std::exception& e) {
      return {"ERR_INTERNAL", std::string("internal error: ") + e.what()};
    } catch (...) {
      return {"ERR_INTERNAL", "internal error: unknown exception"};
    }
  } catch (...) {  // a message that could not be allocated
    return {"ERR_OUT_OF_MEMORY", "out of memory"};
  }
}

Napi::Error make_js_error(Napi::Env env, const ErrorInfo& info) {
  Napi::Error error = Napi::Error::New(env, info.message);
  error.Set("code", Napi::String::New(env, info.code));
  return error;
}

void throw_js_error(Napi::Env env, const char* code, const std::string& message) {
  throw make_js_error(env, {code, message});
}

}  // namespace wn_binding
