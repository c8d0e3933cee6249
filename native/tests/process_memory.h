// What the memory tests need to know about this process: its resident set
// (Linux), and whether a sanitizer inflates it (its shadow memory).
#pragma once

#include <fstream>
#include <string>

#ifdef _WIN32
#ifndef PSAPI_VERSION
#define PSAPI_VERSION 2  // GetProcessMemoryInfo is kernel32's K32GetProcessMemoryInfo
#endif
#include "engine/core/windows_api.h"
// windows.h first: psapi.h needs its types
#include <psapi.h>
#endif

namespace wn_test {

// Whether a sanitizer's shadow memory inflates the resident set: AddressSanitizer
// and ThreadSanitizer map shadow bytes for the memory a program touches
// (TSan several per byte), so resident-memory bounds say nothing under them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerShadowMemory = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizerShadowMemory = true;
#else
constexpr bool kSanitizerShadowMemory = false;
#endif
#else
constexpr bool kSanitizerShadowMemory = false;
#endif

// Resident set size of this process in bytes: VmRSS on Linux, the working
// set on Windows; -1 elsewhere.
inline long long resident_bytes() {
#ifdef _WIN32
  PROCESS_MEMORY_COUNTERS counters{};
  counters.cb = sizeof(counters);
  if (!GetProcessMemoryInfo(GetCurrentProcess(), &counters, sizeof(counters))) return -1;
  return static_cast<long long>(counters.WorkingSetSize);
#else
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
#endif
}

}  // namespace wn_test
