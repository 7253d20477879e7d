#!/bin/sh
# Checks a CFWIN_STATIC=ON build and runs the integration tests against its
# cfwin: the binary has no program interpreter and no shared libraries,
# `cfwin version` reports static, and cfwin's own code calls none of the
# glibc functions that load NSS modules in a static binary.
# Usage: tests/integration/it_static.sh BUILD_DIR   (root for the integration tests)
set -eu

build=${1:?usage: it_static.sh BUILD_DIR}
binary="$build/cfwin"
status=0

fail() {
  echo "it_static: $*" >&2
  status=1
}

if [ ! -x "$binary" ]; then
  echo "it_static: $binary is missing; build $build first" >&2
  exit 1
fi

case "$(file -b "$binary")" in
*"statically linked"*) ;;
*) fail "file does not report $binary as statically linked: $(file -b "$binary")" ;;
esac
if ldd "$binary" >/dev/null 2>&1; then
  fail "ldd lists shared libraries of $binary: $(ldd "$binary" | tr '\n' ' ')"
fi
if ! "$binary" version --json | grep -q '"static": true'; then
  fail "cfwin version --json does not report a static build"
fi

# glibc's static NSS stubs load libnss_*.so at run time, so cfwin's own
# archives must not reference these. Libraries linked in may (libnl-3,
# c-ares, libuv); cfwin does not call the functions that reach them.
nss='getpwnam|getpwnam_r|getpwuid|getpwuid_r|getgrnam|getgrnam_r|getgrgid|getgrgid_r'
nss="$nss|getgrouplist|initgroups|getaddrinfo|getnameinfo|gethostbyname|gethostbyname_r"
nss="$nss|gethostbyaddr|getservbyname|getservbyport|getprotobyname|getprotobynumber"
for archive in "$build"/libcfwin_*.a; do
  found=$(nm -u "$archive" 2>/dev/null | awk '{print $2}' | grep -E -x "$nss" | sort -u |
    tr '\n' ' ' || true)
  if [ -n "$found" ]; then
    fail "$(basename "$archive") references NSS functions: $found"
  fi
done

if [ "$status" != 0 ]; then
  exit "$status"
fi
echo "it_static: $binary is static and its own code uses no NSS"

# Every integration program runs against the static binary. Its network
# module runs the nft program (Debian ships no static libnftables), so the
# network tests also check that driver.
ctest --test-dir "$build" -L integration --output-on-failure
