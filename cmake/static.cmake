# CFWIN_STATIC=ON: link cfwin as a fully static executable.
#
# Libraries Debian ships without a usable static archive (libcurl, whose
# archive needs a dozen optional protocol libraries, and libarchive, whose
# archive needs libacl) are built by cmake/deps/build-deps.sh into
# CFWIN_DEPS_PREFIX at configure time; the script caches its results, so
# only the first configure compiles them. Everything else links the .a files
# of Debian's -dev packages.
#
# Included by CMakeLists.txt before the pkg_check_modules calls;
# cfwin_static_link_libraries() runs after them.

set(CFWIN_DEPS_PREFIX "${PROJECT_BINARY_DIR}/deps/linux" CACHE PATH
  "Install prefix of the static libraries built by cmake/deps/build-deps.sh")

# The cache of built dependencies is kept by the CMake cache too, so a
# reconfigure from a shell without CFWIN_DEPS_CACHE reuses it.
if(DEFINED ENV{CFWIN_DEPS_CACHE})
  set(deps_cache_default "$ENV{CFWIN_DEPS_CACHE}")
else()
  set(deps_cache_default "$ENV{HOME}/.cache/cfwin-deps")
endif()
set(CFWIN_DEPS_CACHE "${deps_cache_default}" CACHE PATH
  "Cache of the dependency sources and builds of cmake/deps/build-deps.sh")
# The script runs at every configure unless the prefix is a complete
# directory of the caller's: with a warm cache it only points the prefix's
# link at the build for the current script and source versions.
if(IS_SYMLINK "${CFWIN_DEPS_PREFIX}" OR NOT EXISTS "${CFWIN_DEPS_PREFIX}/lib/pkgconfig/libcurl.pc")
  message(STATUS "Building static dependencies into ${CFWIN_DEPS_PREFIX} (cached)")
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env CFWIN_DEPS_CACHE=${CFWIN_DEPS_CACHE}
      ${PROJECT_SOURCE_DIR}/cmake/deps/build-deps.sh linux ${CFWIN_DEPS_PREFIX}
    RESULT_VARIABLE deps_result)
  if(NOT deps_result EQUAL 0)
    message(FATAL_ERROR "cmake/deps/build-deps.sh linux failed (status ${deps_result}); "
      "its output above names the package")
  endif()
endif()

# The prefix comes first, so its libcurl and libarchive win over Debian's.
set(ENV{PKG_CONFIG_PATH} "${CFWIN_DEPS_PREFIX}/lib/pkgconfig:$ENV{PKG_CONFIG_PATH}")
list(PREPEND CMAKE_PREFIX_PATH ${CFWIN_DEPS_PREFIX})
# find_library (http-parser, mbedTLS) then picks archives only.
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)

# Points each PkgConfig:: target at the library's static link flags
# (pkg-config --static), which name the private dependencies too.
function(cfwin_static_link_libraries)
  foreach(prefix ${ARGN})
    set(target PkgConfig::${prefix})
    if(prefix STREQUAL "UV")
      # libuv's archive has its own module, libuv-static.
      pkg_check_modules(UV_STATIC REQUIRED libuv-static)
      set(prefix UV_STATIC)
    endif()
    set_target_properties(${target} PROPERTIES
      INTERFACE_LINK_LIBRARIES "${${prefix}_STATIC_LDFLAGS}"
      INTERFACE_LINK_DIRECTORIES ""
      INTERFACE_INCLUDE_DIRECTORIES "${${prefix}_STATIC_INCLUDE_DIRS}"
      INTERFACE_COMPILE_OPTIONS "${${prefix}_STATIC_CFLAGS_OTHER}")
  endforeach()
endfunction()

# libnftables has no static archive in Debian 12, so the static network
# module runs the nft program instead (internal/network/linux/nft_program.c),
# found at run time in /usr/sbin, /sbin or /usr/local/sbin. Test programs,
# which are linked dynamically, still get libnftables for their own nft
# calls.
function(cfwin_static_nft_driver)
  find_library(CFWIN_NFTABLES_ARCHIVE libnftables.a)
  if(CFWIN_NFTABLES_ARCHIVE)
    set_target_properties(PkgConfig::NFTABLES PROPERTIES
      INTERFACE_LINK_LIBRARIES "${NFTABLES_STATIC_LDFLAGS}")
    cfwin_network_drop_source(nft_program.c)
    return()
  endif()
  message(STATUS "No static libnftables: the static cfwin runs the nft program")
  cfwin_network_drop_source(nft_libnftables.c)
  foreach(property LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
    get_target_property(libraries cfwin_network ${property})
    list(REMOVE_ITEM libraries PkgConfig::NFTABLES)
    set_target_properties(cfwin_network PROPERTIES ${property} "${libraries}")
  endforeach()
  cmake_language(DEFER CALL cfwin_static_tests_link_nftables)
endfunction()

function(cfwin_static_tests_link_nftables)
  if(TARGET cfwin_test_support)
    set_property(TARGET cfwin_test_support APPEND PROPERTY INTERFACE_LINK_LIBRARIES
      PkgConfig::NFTABLES)
  endif()
endfunction()

# Linker warnings name every glibc function that would load NSS modules at
# run time (getpwnam, getaddrinfo, ...); -Werror is not applied to them, so
# tests/integration/it_static.sh checks the binary's symbols instead.
function(cfwin_static_executable target)
  target_link_options(${target} PRIVATE -static)
endfunction()
