# Cross-compiling toolchain for 64-bit Arm Linux (Debian's g++-aarch64-linux-gnu),
# used by scripts/test-arm64.sh to build the C++ tests for the NEON kernel path
# on an x86 machine and run them under qemu-user.
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DWN_TESTS=ON
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(WN_AARCH64_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${WN_AARCH64_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${WN_AARCH64_TRIPLE}-g++)

# The target's libraries and headers live under /usr/aarch64-linux-gnu.
set(CMAKE_FIND_ROOT_PATH /usr/${WN_AARCH64_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest runs the test binaries through qemu-user; -L points it at the target's
# dynamic loader and libraries.
find_program(WN_QEMU_AARCH64 qemu-aarch64)
if(WN_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${WN_QEMU_AARCH64} -L /usr/${WN_AARCH64_TRIPLE})
endif()
