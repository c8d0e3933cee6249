#include "engine/core/error.h"

namespace wn {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kModelNotFound:
      return "ERR_MODEL_NOT_FOUND";
    case ErrorCode::kModelFormat:
      return "ERR_MODEL_FORMAT";
    case ErrorCode::kModelTruncated:
      return "ERR_MODEL_TRUNCATED";
    case ErrorCode::kModelChanged:
      return "ERR_MODEL_CHANGED";
    case ErrorCode::kUnsupportedTensorType:
      return "ERR_UNSUPPORTED_TENSOR_TYPE";
    case ErrorCode::kInvalidArgument:
      return "ERR_INVALID_ARG_VALUE";
    case ErrorCode::kInvalidAudio:
      return "ERR_INVALID_AUDIO";
    case ErrorCode::kAborted:
      return "ERR_ABORTED";
    case ErrorCode::kOutOfMemory:
      return "ERR_OUT_OF_MEMORY";
    case ErrorCode::kInternal:
      return "ERR_INTERNAL";
  }
  return "ERR_INTERNAL";
}

}  // namespace wn
