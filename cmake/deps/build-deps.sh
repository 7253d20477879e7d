#!/bin/sh
# Builds the static libraries a static cfwin needs and Debian does not ship
# in a usable static form, from Debian's source packages (apt-get source).
#
# Usage: cmake/deps/build-deps.sh linux|windows PREFIX
#   linux    libcurl (HTTP/HTTPS over mbedTLS, names resolved by c-ares) and
#            libarchive (gzip, bzip2, xz, zstd; no ACL, crypto or XML
#            libraries). Every other library comes from Debian's -dev
#            packages (.ci/install-deps).
#            libnftables has no static library in Debian 12 and the mirror
#            this was written against served no nftables or libmnl source,
#            so the static build runs the nft program (docs/build.md).
#   windows  every library cfwin.exe links, cross-compiled with mingw-w64:
#            zlib, zstd, mbedTLS, libcurl (HTTP/HTTPS over Schannel), SQLite,
#            jansson, libuv, http-parser, libyaml, libarchive.
# PREFIX receives include/, lib/ and lib/pkgconfig/. Sources and finished
# prefixes are cached in CFWIN_DEPS_CACHE (default: PREFIX/../deps-cache):
# a finished prefix is reused while this script and the source versions are
# unchanged, so only the first (cold) build compiles anything.
# CFWIN_DEPS_JOBS sets the parallel compile jobs (default 2).
# Needs root the first time, to enable deb-src in
# /etc/apt/sources.list.d/cfwin-deb-src.sources and run apt-get update.
set -eu

target=${1:-}
prefix=${2:-}
case "$target" in
linux | windows) ;;
*)
  echo "usage: $0 linux|windows PREFIX" >&2
  exit 2
  ;;
esac
if [ -z "$prefix" ]; then
  echo "usage: $0 linux|windows PREFIX" >&2
  exit 2
fi
# PREFIX becomes a symbolic link to the cached build. A real directory
# there is someone else's, so it is never replaced unless it is empty.
mkdir -p "$(dirname "$prefix")"
prefix="$(cd "$(dirname "$prefix")" && pwd)/$(basename "$prefix")"
if [ -d "$prefix" ] && [ ! -L "$prefix" ] && [ -n "$(ls -A "$prefix")" ]; then
  echo "build-deps: $prefix is a directory this script did not make; remove it or pass" \
    "another PREFIX" >&2
  exit 1
fi
cache=${CFWIN_DEPS_CACHE:-$(dirname "$prefix")/deps-cache}
mkdir -p "$cache/src"
cache=$(cd "$cache" && pwd)
jobs=${CFWIN_DEPS_JOBS:-2}
script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
mingw=x86_64-w64-mingw32
# CMake exports its compiler as CC when it runs this script at configure
# time; for the Windows target that is mingw-w64's gcc, which would break
# the native steps (SQLite's amalgamation). Each step names its compiler.
unset CC CXX CFLAGS CXXFLAGS CPPFLAGS LDFLAGS

if [ "$target" = linux ]; then
  packages="curl libarchive"
else
  packages="zlib libzstd mbedtls curl sqlite3 jansson libuv1 http-parser libyaml libarchive"
fi

log() {
  echo "build-deps: $*" >&2
}

enable_deb_src() {
  list=/etc/apt/sources.list.d/cfwin-deb-src.sources
  if [ -f "$list" ]; then
    return
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "build-deps: deb-src is not enabled; run once as root to write $list" >&2
    exit 1
  fi
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  cat >"$list" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt-get update -q >&2
}

# Prints the source versions apt lists for a source package, newest first.
source_versions() {
  apt-cache showsrc "$1" 2>/dev/null | awk '/^Version:/ {print $2}' | sort -rV | uniq
}

# Fetches one version of a source package into $1/tree. Fails when the
# mirror no longer has the files (security updates are sometimes listed
# before they are mirrored).
fetch_source() {
  dir=$1 pkg=$2 version=$3
  upstream=$(echo "$version" | sed -e 's/^[0-9]*://' -e 's/-[^-]*$//' -e 's/[.+~]dfsg.*//')
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$dir" && apt-get source -qq --only-source "$pkg=$version" >"$dir.log" 2>&1) || return 1
  tree=$(find "$dir" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  [ -n "$tree" ] || return 1
  mv "$tree" "$dir/tree"
}

# Prints the unpacked source tree of a package, fetching the newest version
# the mirror serves on first use.
source_dir() {
  pkg=$1
  for version in $(source_versions "$pkg"); do
    dir="$cache/src/$pkg-$version"
    if [ -d "$dir/tree" ]; then
      echo "$dir/tree"
      return
    fi
  done
  for version in $(source_versions "$pkg"); do
    dir="$cache/src/$pkg-$version"
    log "fetching $pkg $version"
    if fetch_source "$dir" "$pkg" "$version"; then
      echo "$dir/tree"
      return
    fi
    log "apt-get source $pkg=$version failed: $(tail -n 1 "$dir.log")"
    rm -rf "$dir"
  done
  echo "build-deps: no version of source package $pkg could be fetched; is deb-src enabled?" >&2
  exit 1
}

# A fresh out-of-tree build directory for one package.
build_dir() {
  dir="$prefix.build/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$dir"
}

cmake_build() {
  src=$1
  shift
  dir=$(build_dir "$(basename "$(dirname "$src")")")
  if [ "$target" = windows ]; then
    set -- -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_C_COMPILER=$mingw-gcc \
      -DCMAKE_RC_COMPILER=$mingw-windres -DCMAKE_FIND_ROOT_PATH="$prefix;/usr/$mingw" \
      -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY \
      -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY "$@"
  fi
  cmake -S "$src" -B "$dir" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DBUILD_SHARED_LIBS=OFF "$@" >"$dir.log" 2>&1 || {
    tail -n 40 "$dir.log" >&2
    exit 1
  }
  cmake --build "$dir" -j"$jobs" >>"$dir.log" 2>&1 || {
    tail -n 40 "$dir.log" >&2
    exit 1
  }
  cmake --install "$dir" >>"$dir.log" 2>&1
}

# Windows: zlib is compiled file by file, because Debian's source package
# drops upstream's win32/ makefiles.
build_zlib() {
  src=$(source_dir zlib)
  dir=$(build_dir zlib)
  for name in adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback inffast \
    inflate inftrees trees uncompr zutil; do
    $mingw-gcc -O2 -c "$src/$name.c" -o "$dir/$name.o"
  done
  $mingw-ar rcs "$dir/libz.a" "$dir"/*.o
  cp "$src/zlib.h" "$src/zconf.h" "$dir/"
  mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
  cp "$dir/zlib.h" "$dir/zconf.h" "$prefix/include/"
  cp "$dir/libz.a" "$prefix/lib/"
  version=$(sed -n 's/^#define ZLIB_VERSION "\(.*\)"/\1/p' "$dir/zlib.h")
  cat >"$prefix/lib/pkgconfig/zlib.pc" <<EOF
prefix=$prefix
Name: zlib
Description: zlib compression library
Version: $version
Libs: -L\${prefix}/lib -lz
Cflags: -I\${prefix}/include
EOF
}

# Windows: the library's C files compiled directly (its CMake project also
# wants a C++ compiler), without the x86-64 assembly decoder.
build_libzstd() {
  src=$(source_dir libzstd)
  dir=$(build_dir libzstd)
  for file in "$src"/lib/common/*.c "$src"/lib/compress/*.c "$src"/lib/decompress/*.c; do
    $mingw-gcc -O2 -DZSTD_DISABLE_ASM -I"$src/lib" -I"$src/lib/common" -c "$file" \
      -o "$dir/$(basename "$file" .c).o"
  done
  mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
  $mingw-ar rcs "$prefix/lib/libzstd.a" "$dir"/*.o
  cp "$src/lib/zstd.h" "$src/lib/zdict.h" "$src/lib/zstd_errors.h" "$prefix/include/"
  version=$(echo "$src" | sed -n 's/.*libzstd-\([0-9.]*\).*/\1/p')
  cat >"$prefix/lib/pkgconfig/libzstd.pc" <<EOF
prefix=$prefix
Name: zstd
Description: fast lossless compression algorithm library
Version: $version
Libs: -L\${prefix}/lib -lzstd
Cflags: -I\${prefix}/include
EOF
}

build_mbedtls() {
  src=$(source_dir mbedtls)
  cmake_build "$src" -DENABLE_PROGRAMS=OFF -DENABLE_TESTING=OFF \
    -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF \
    -DMBEDTLS_FATAL_WARNINGS=OFF
}

# libcurl with HTTP and HTTPS only: no other protocols, no IDN, PSL,
# HTTP/2, SSH, LDAP or GSS-API libraries, and no .netrc (it looks up the
# home directory through NSS). On Linux it resolves names with
# c-ares, because glibc's getaddrinfo loads NSS modules at run time.
build_curl() {
  src=$(source_dir curl)
  if [ "$target" = windows ]; then
    tls="-DCURL_USE_SCHANNEL=ON -DENABLE_ARES=OFF"
  else
    tls="-DCURL_USE_MBEDTLS=ON -DENABLE_ARES=ON \
      -DCURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt -DCURL_CA_PATH=none"
  fi
  # shellcheck disable=SC2086
  cmake_build "$src" $tls -DHTTP_ONLY=ON -DCURL_USE_OPENSSL=OFF -DBUILD_CURL_EXE=OFF \
    -DBUILD_TESTING=OFF -DCURL_DISABLE_LDAP=ON -DCURL_USE_LIBSSH2=OFF \
    -DCURL_USE_LIBSSH=OFF -DUSE_NGHTTP2=OFF -DUSE_LIBIDN2=OFF -DCURL_USE_LIBPSL=OFF \
    -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DCURL_USE_GSSAPI=OFF -DENABLE_MANUAL=OFF \
    -DCURL_DISABLE_NTLM=ON -DCURL_DISABLE_NETRC=ON -DCURL_STATICLIB=ON \
    -DCMAKE_DISABLE_FIND_PACKAGE_LibSSH2=ON -DCMAKE_DISABLE_FIND_PACKAGE_NGHTTP2=ON \
    -DCMAKE_DISABLE_FIND_PACKAGE_Brotli=ON
  write_curl_pc
}

# curl's CMake build writes absolute shared-library paths into libcurl.pc;
# this one lists the static link flags instead.
write_curl_pc() {
  if [ "$target" = windows ]; then
    libs="-lz -lws2_32 -lcrypt32 -lsecur32 -lbcrypt -ladvapi32"
    cflags="-DCURL_STATICLIB"
  else
    libs="-lcares -lmbedtls -lmbedx509 -lmbedcrypto -lz -lpthread"
    cflags=""
  fi
  version=$(sed -n 's/^#define LIBCURL_VERSION "\(.*\)"/\1/p' "$prefix/include/curl/curlver.h")
  cat >"$prefix/lib/pkgconfig/libcurl.pc" <<EOF
prefix=$prefix
Name: libcurl
Description: libcurl with HTTP and HTTPS only (static, built by build-deps)
Version: $version
Libs: -L\${prefix}/lib -lcurl
Libs.private: $libs
Cflags: -I\${prefix}/include $cflags
EOF
}

# Windows: the amalgamation is generated natively (it needs tclsh) and
# compiled with mingw-w64.
build_sqlite3() {
  src=$(source_dir sqlite3)
  dir=$(build_dir sqlite3)
  (cd "$dir" && "$src/configure" >"$dir.log" 2>&1 && make sqlite3.c >>"$dir.log" 2>&1)
  $mingw-gcc -O2 -c "$dir/sqlite3.c" -o "$dir/sqlite3.o" -DSQLITE_THREADSAFE=1 \
    -DSQLITE_ENABLE_FTS5=0 -DSQLITE_OMIT_LOAD_EXTENSION=1
  mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
  $mingw-ar rcs "$prefix/lib/libsqlite3.a" "$dir/sqlite3.o"
  cp "$dir/sqlite3.h" "$src/src/sqlite3ext.h" "$prefix/include/" 2>/dev/null ||
    cp "$dir/sqlite3.h" "$prefix/include/"
  cat >"$prefix/lib/pkgconfig/sqlite3.pc" <<EOF
prefix=$prefix
Name: SQLite
Description: SQL database engine (amalgamation built by build-deps)
Version: $(sed -n 's/^#define SQLITE_VERSION *"\(.*\)"/\1/p' "$dir/sqlite3.h")
Libs: -L\${prefix}/lib -lsqlite3
Cflags: -I\${prefix}/include
EOF
}

build_jansson() {
  src=$(source_dir jansson)
  cmake_build "$src" -DJANSSON_BUILD_DOCS=OFF -DJANSSON_EXAMPLES=OFF \
    -DJANSSON_WITHOUT_TESTS=ON -DJANSSON_BUILD_SHARED_LIBS=OFF
}

build_libuv1() {
  src=$(source_dir libuv1)
  cmake_build "$src" -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF
  # The DLL and its import library would win over libuv_a.a at link time.
  rm -f "$prefix"/lib/libuv.dll.a "$prefix"/bin/libuv*.dll
}

# http-parser is one C file; Debian builds it with its own Makefile.
build_http_parser() {
  src=$(source_dir http-parser)
  dir=$(build_dir http-parser)
  $mingw-gcc -O2 -DHTTP_PARSER_STRICT=0 -c "$src/http_parser.c" -o "$dir/http_parser.o"
  mkdir -p "$prefix/include" "$prefix/lib"
  $mingw-ar rcs "$prefix/lib/libhttp_parser.a" "$dir/http_parser.o"
  cp "$src/http_parser.h" "$prefix/include/"
}

build_libyaml() {
  src=$(source_dir libyaml)
  cmake_build "$src" -DBUILD_TESTING=OFF -DINSTALL_CMAKE_DIR=lib/cmake/yaml
  mkdir -p "$prefix/lib/pkgconfig"
  cat >"$prefix/lib/pkgconfig/yaml-0.1.pc" <<EOF
prefix=$prefix
Name: LibYAML
Description: YAML 1.1 parser and emitter (static, built by build-deps)
Version: 0.2.5
Libs: -L\${prefix}/lib -lyaml
Cflags: -I\${prefix}/include -DYAML_DECLARE_STATIC
EOF
}

# libarchive with the compression formats OCI layers and Garden's tar
# streams use; no ACL, crypto, XML or iconv libraries.
build_libarchive() {
  src=$(source_dir libarchive)
  if [ "$target" = windows ]; then
    # ZLIB_WINAPI is a run test, which a cross build cannot run; zlib built
    # above uses the default calling convention, so the result is no.
    # The library itself never uses regex (only bsdtar's -s option does,
    # and bsdtar is not built), so no POSIX regex library is searched for.
    extra="-DENABLE_LZMA=OFF -DENABLE_BZip2=OFF -DENABLE_CNG=OFF -DZLIB_WINAPI=OFF
      -DZLIB_WINAPI_WITH_LIB=$prefix/lib/libz.a -DPOSIX_REGEX_LIB=NONE"
  else
    extra="-DENABLE_LZMA=ON -DENABLE_BZip2=ON -DENABLE_XATTR=ON"
  fi
  # shellcheck disable=SC2086
  cmake_build "$src" $extra -DENABLE_ZLIB=ON -DENABLE_ZSTD=ON -DENABLE_OPENSSL=OFF \
    -DENABLE_MBEDTLS=OFF -DENABLE_NETTLE=OFF -DENABLE_LIBB2=OFF -DENABLE_LZ4=OFF \
    -DENABLE_LZO=OFF -DENABLE_LIBXML2=OFF -DENABLE_EXPAT=OFF -DENABLE_PCREPOSIX=OFF \
    -DENABLE_LIBGCC=OFF -DENABLE_ACL=OFF -DENABLE_ICONV=OFF -DENABLE_TAR=OFF \
    -DENABLE_CPIO=OFF -DENABLE_CAT=OFF -DENABLE_TEST=OFF -DENABLE_WERROR=OFF
  # libarchive installs its shared library too; only the static one is used.
  # On Windows the static one is named libarchive_static.a, which -larchive
  # does not find.
  rm -f "$prefix"/lib/libarchive.so* "$prefix"/lib/libarchive.dll.a "$prefix"/bin/libarchive*.dll
  if [ -f "$prefix/lib/libarchive_static.a" ]; then
    mv "$prefix/lib/libarchive_static.a" "$prefix/lib/libarchive.a"
  fi
}

enable_deb_src

# The cache key: this script without its comments (so a comment edit keeps
# the cache) and the version of every source package.
key=$( (
  grep -v -E '^[[:space:]]*(#|$)' "$script"
  echo "$target"
  for pkg in $packages; do echo "$pkg $(source_versions "$pkg")"; done
) | sha256sum | cut -c1-16)
cached="$cache/$target-$key"
if [ -f "$cached/.complete" ]; then
  log "using cached $target dependencies $cached"
else
  log "building $target dependencies into $cached (cold build)"
  started=$(date +%s)
  rm -rf "$cached" "$cached.build"
  final_prefix=$prefix
  prefix=$cached
  mkdir -p "$prefix"
  for pkg in $packages; do
    log "building $pkg"
    "build_$(echo "$pkg" | tr '-' '_')"
  done
  rm -rf "$prefix.build"
  touch "$prefix/.complete"
  prefix=$final_prefix
  log "cold build of $target dependencies took $(($(date +%s) - started)) s"
fi

if [ -L "$prefix" ]; then
  rm -f "$prefix"
elif [ -d "$prefix" ]; then
  rmdir "$prefix"
fi
ln -s "$cached" "$prefix"
