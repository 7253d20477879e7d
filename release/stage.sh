#!/bin/sh
# Stages the cross-built cfwin.exe into the BOSH release under bosh/ as a local blob,
# writes config/blobs.yml and a distribution directory with both static binaries,
# their SHA-256 checksums and the version. Then prints the `bosh create-release`
# command (the bosh CLI is not part of this repository's tool chain).
#
# Usage: release/stage.sh --exe PATH [--linux PATH] [--version X.Y.Z]
#                         [--release-dir DIR] [--dist DIR]
#   --exe          the static Windows executable (cfwin.exe)
#   --linux        the static Linux executable; its `cfwin version` must match
#   --version      release version (default: the project version in CMakeLists.txt)
#   --release-dir  the BOSH release directory (default: bosh)
#   --dist         where the binaries and SHA256SUMS go (default: build/dist)
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)

fail() {
  echo "stage: $*" >&2
  exit 1
}

# Paths given on the command line are relative to the caller's directory.
absolute() {
  case "$1" in
  /*) echo "$1" ;;
  *) echo "$PWD/$1" ;;
  esac
}

exe=""
linux=""
version=""
release_dir="$repo/bosh"
dist="$repo/build/dist"
while [ $# -gt 0 ]; do
  case "$1" in
  --exe | --linux | --version | --release-dir | --dist)
    [ $# -ge 2 ] || fail "$1 needs a value"
    case "$1" in
    --exe) exe=$(absolute "$2") ;;
    --linux) linux=$(absolute "$2") ;;
    --version) version="$2" ;;
    --release-dir) release_dir=$(absolute "$2") ;;
    --dist) dist=$(absolute "$2") ;;
    esac
    shift 2
    ;;
  *) fail "unknown argument $1; see the usage at the top of release/stage.sh" ;;
  esac
done
cd "$repo"

[ -n "$exe" ] || fail "--exe PATH is required"
[ -f "$exe" ] || fail "executable $exe not found"
[ "$(head -c 2 "$exe")" = "MZ" ] || fail "$exe is not a Windows executable (no MZ header)"
[ -f "$release_dir/config/final.yml" ] || fail "$release_dir is not a BOSH release (no config/final.yml)"

if [ -z "$version" ]; then
  version=$(sed -n 's/^project(cfwin VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
  [ -n "$version" ] || fail "no project version in CMakeLists.txt; pass --version"
fi
echo "$version" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(\+[0-9A-Za-z.-]+)?$' ||
  fail "invalid version $version: expected X.Y.Z or X.Y.Z+BUILD"

# The binaries carry the version string that `cfwin version` prints.
core_version=${version%%+*}
LC_ALL=C grep -a -q -F "$core_version" "$exe" ||
  fail "$exe does not contain version $core_version; rebuild it or pass the matching --version"
if [ -n "$linux" ]; then
  [ -x "$linux" ] || fail "Linux executable $linux not found or not executable"
  printed=$("$linux" version | head -n 1)
  case "$printed" in
  *"$core_version"*) ;;
  *) fail "$linux version printed '$printed', expected version $core_version" ;;
  esac
fi

# The commit is read before config/blobs.yml, a tracked file, is rewritten
# below, so that rewrite does not mark the tree dirty.
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git diff --quiet HEAD 2>/dev/null; then
  commit="$commit-dirty"
fi

blob_dir="$release_dir/blobs/cfwin"
mkdir -p "$blob_dir" "$dist"
cp "$exe" "$blob_dir/cfwin.exe"
exe_sha=$(sha256sum "$blob_dir/cfwin.exe" | cut -d' ' -f1)
printf '%s  cfwin.exe\n' "$exe_sha" >"$blob_dir/cfwin.exe.sha256"
sum_sha=$(sha256sum "$blob_dir/cfwin.exe.sha256" | cut -d' ' -f1)

# Local blobs have no object_id until `bosh upload-blobs` stores them.
cat >"$release_dir/config/blobs.yml" <<YAML
---
cfwin/cfwin.exe:
  size: $(wc -c <"$blob_dir/cfwin.exe" | tr -d ' ')
  sha: sha256:$exe_sha
cfwin/cfwin.exe.sha256:
  size: $(wc -c <"$blob_dir/cfwin.exe.sha256" | tr -d ' ')
  sha: sha256:$sum_sha
YAML

cp "$exe" "$dist/cfwin-$version-windows-amd64.exe"
if [ -n "$linux" ]; then
  cp "$linux" "$dist/cfwin-$version-linux-amd64"
fi
printf 'version %s\ncommit %s\n' "$version" "$commit" >"$dist/VERSION"
(cd "$dist" && sha256sum cfwin-"$version"-* >SHA256SUMS)

echo "staged $exe as $blob_dir/cfwin.exe (sha256 $exe_sha)"
echo "distribution files in $dist: $(cd "$dist" && printf '%s ' *)"
echo "next: bosh create-release --dir $release_dir --version $version --tarball $dist/cfwin-release-$version.tgz --force"
