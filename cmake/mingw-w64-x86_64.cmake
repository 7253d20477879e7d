# Cross-compiles for 64-bit Windows with Debian's mingw-w64 (packages
# gcc-mingw-w64-x86-64 and mingw-w64-x86-64-dev).
# Usage: cmake -S cmake/windows -B build-mingw -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(CFWIN_MINGW_PREFIX x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${CFWIN_MINGW_PREFIX}-gcc)
set(CMAKE_RC_COMPILER ${CFWIN_MINGW_PREFIX}-windres)
set(CMAKE_AR ${CFWIN_MINGW_PREFIX}-ar CACHE FILEPATH "mingw-w64 archiver")
set(CMAKE_RANLIB ${CFWIN_MINGW_PREFIX}-ranlib CACHE FILEPATH "mingw-w64 ranlib")

# Headers and libraries come from the mingw-w64 sysroot only; build tools
# from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${CFWIN_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
