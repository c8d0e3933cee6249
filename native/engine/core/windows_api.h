// <windows.h> for the few files that call the Win32 API, without its min and
// max macros (they break std::min/std::max) and its rarely used parts. Include
// it under _WIN32 only.
#pragma once

#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
