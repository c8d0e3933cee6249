// The transcribe() options object from JavaScript -> wn::TranscribeOptions.
// lib/transcribe-options.ts has already validated it and filled in every
// default, so this only copies fields; a missing or mistyped field keeps the
// engine's default (the engine checks values again).
#pragma once

#include <napi.h>

#include "engine/transcribe.h"

namespace wn_binding {

wn::TranscribeOptions transcribe_options_from_js(const Napi::Value& value);

}  // namespace wn_binding
