#!/usr/bin/env bash
# Builds the C++ tests for 64-bit Windows with MinGW-w64 and runs them under
# Wine, so the Windows code paths are compiled and exercised on a Linux
# machine: the model file opened and mapped through the Win32 API (and locked
# against writes while a model holds it), FileReader's ReadFile at an offset,
# VirtualAlloc'd weights given back when a model closes, the working-set
# figures of the memory tests. A developer tool: not part of `npm test` or CI.
# What it does not check: MSVC, which builds the released Windows binaries
# (its own warnings and language corners), and real Windows kernels.
#
#   scripts/test-windows.sh                 # configure, build, run every test
#   scripts/test-windows.sh -R low_memory   # extra arguments go to ctest
#
# Needs (Debian/Ubuntu): apt-get install g++-mingw-w64-x86-64-posix wine64
# Environment: WN_WINDOWS_BUILD (build dir, default build-windows),
# WHISPER_SHARED (the shared/ test data folder, default ../shared),
# WINEPREFIX (default: build dir/wineprefix), JOBS (default 2).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WN_WINDOWS_BUILD:-$root/build-windows}"
jobs="${JOBS:-2}"

for tool in x86_64-w64-mingw32-g++-posix cmake; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-windows: $tool not found (apt-get install g++-mingw-w64-x86-64-posix wine64)" >&2
    exit 1
  fi
done
if ! command -v wine64 >/dev/null 2>&1 && [ ! -x /usr/lib/wine/wine64 ]; then
  echo "test-windows: wine64 not found (apt-get install wine64)" >&2
  exit 1
fi

shared_args=()
if [ -n "${WHISPER_SHARED:-}" ]; then
  shared_args=(-DWN_SHARED_DIR="$WHISPER_SHARED")
fi

cmake -S "$root" -B "$build" \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/x86_64-w64-mingw32.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DWN_TESTS=ON "${shared_args[@]}"
cmake --build "$build" -j"$jobs"

# Wine keeps its C: drive in a prefix; one per build directory keeps it out
# of the user's own. Its first start creates it (a few seconds).
export WINEPREFIX="${WINEPREFIX:-$build/wineprefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 1800 "$@"
