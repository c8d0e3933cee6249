#!/usr/bin/env bash
# Builds the C++ tests for 64-bit Arm (aarch64) with a cross compiler and runs
# them under qemu-user, so the NEON kernel path (native/engine/kernels/
# kernels_neon.cc) is checked against the generic path and the golden outputs
# on an x86 machine. A developer tool: not part of `npm test` or CI (emulation
# is slow: the golden test alone takes tens of minutes; `-R kernels` runs the
# kernel reference tests in a few). Timings printed under emulation say nothing
# about speed on real Arm hardware.
#
#   scripts/test-arm64.sh                 # configure, build, run every test
#   scripts/test-arm64.sh -R golden       # extra arguments go to ctest
#
# Needs (Debian/Ubuntu): apt-get install g++-aarch64-linux-gnu qemu-user
# Environment: WN_ARM64_BUILD (build dir, default build-arm64),
# WHISPER_SHARED (the shared/ test data folder, default ../shared),
# WN_ARM64_TIMEOUT (seconds per test, default 5400: the golden test encodes
# nine 30 s windows in software emulation), JOBS (default 2).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WN_ARM64_BUILD:-$root/build-arm64}"
jobs="${JOBS:-2}"
timeout="${WN_ARM64_TIMEOUT:-5400}"

for tool in aarch64-linux-gnu-g++ qemu-aarch64 cmake node; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-arm64: $tool not found (apt-get install g++-aarch64-linux-gnu qemu-user)" >&2
    exit 1
  fi
done

shared_args=()
if [ -n "${WHISPER_SHARED:-}" ]; then
  shared_args=(-DWN_SHARED_DIR="$WHISPER_SHARED")
fi

cmake -S "$root" -B "$build" \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DWN_TESTS=ON "${shared_args[@]}"
cmake --build "$build" -j"$jobs"

# The tests find the goldens by absolute path (or WHISPER_SHARED, which
# qemu-user passes through with the rest of the environment): the emulated
# process sees the host's file system.
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout "$timeout" "$@"
