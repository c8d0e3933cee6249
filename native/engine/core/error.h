// Engine errors. The engine throws wn::Error; the binding turns each one into a
// JavaScript WhisperError whose `code` is error_code_name(code). Integer status
// codes never cross into JavaScript.
#pragma once

#include <stdexcept>
#include <string>

namespace wn {

enum class ErrorCode {
  kModelNotFound,   // ERR_MODEL_NOT_FOUND: the path does not exist or cannot be opened
  kModelFormat,     // ERR_MODEL_FORMAT: not a ggml Whisper file, or inconsistent contents
  kModelTruncated,  // ERR_MODEL_TRUNCATED: the file ends inside a record
  kModelChanged,    // ERR_MODEL_CHANGED: a lowMemory model's file was modified on disk after load
  kUnsupportedTensorType,  // ERR_UNSUPPORTED_TENSOR_TYPE: a tensor type this build cannot run
  kInvalidArgument,  // ERR_INVALID_ARG_VALUE: a value the engine cannot use (shape, token id, ...)
  kInvalidAudio,     // ERR_INVALID_AUDIO: NaN/Inf samples and the like
  kAborted,          // ERR_ABORTED: the caller's abort flag was raised
  kOutOfMemory,      // ERR_OUT_OF_MEMORY
  kInternal,         // ERR_INTERNAL: a broken engine invariant (a bug)
};

// The string code JavaScript sees, e.g. "ERR_MODEL_FORMAT".
const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace wn
