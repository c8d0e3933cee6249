# Cross-compiling toolchain for 64-bit Windows (Debian's g++-mingw-w64-x86-64-posix),
# used by scripts/test-windows.sh to build the C++ tests for Windows on a Linux
# machine and run them under Wine: the Windows code paths (the model file's
# mapping and FileReader through the Win32 API, page locking, the thread
# pool's waits) are compiled and exercised without a Windows machine. MSVC,
# which builds the released Windows binaries, is not: this catches what the
# Windows API and LLP64 (32-bit long) do to the code, not MSVC's own quirks.
#
#   cmake -S . -B build-windows -DCMAKE_TOOLCHAIN_FILE=cmake/x86_64-w64-mingw32.cmake -DWN_TESTS=ON
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR AMD64)

set(WN_MINGW_TRIPLE x86_64-w64-mingw32)
# The posix flavour: std::thread and std::mutex (the win32 flavour has none).
set(CMAKE_C_COMPILER ${WN_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${WN_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${WN_MINGW_TRIPLE}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${WN_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Self-contained executables: no MinGW runtime DLLs to find under Wine.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")

find_program(WN_WINE NAMES wine64 wine HINTS /usr/lib/wine)
if(WN_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${WN_WINE})
endif()
