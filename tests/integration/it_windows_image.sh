#!/bin/sh
# Runs the image role's pull, create, stats and delete end to end under Wine,
# with tests/windows/cfwin-winetest.exe (cfwin.exe with BackupWrite emulated)
# and the recording vmcompute.dll stand-in in the Wine prefix's System32.
# It pulls a two-layer OCI layout in the Windows layer format, written by
# tests/deploy/lib/oci_layout.rb, and checks the recorded layer calls
# against chain ids computed here with gzip and sha256sum. When a registry
# responds on 127.0.0.1:5000 (or on $CFWIN_TEST_REGISTRY, a loopback
# host:port), the same image is copied there with skopeo and pulled as
# docker://.
# Usage: WINE=/path/to/wine64 WINEPREFIX=DIR tests/integration/it_windows_image.sh MINGW_BUILD_DIR
# Exits 77 (skip) when the test executable, the mock DLL or ruby is missing.
set -eu

build=${1:?usage: it_windows_image.sh MINGW_BUILD_DIR}
wine=${WINE:?set WINE to the wine64 binary}
: "${WINEPREFIX:?set WINEPREFIX to the Wine prefix to use}"
root=$(cd "$(dirname "$0")/../.." && pwd)
exe="$build/tests/windows/cfwin-winetest.exe"
mock="$build/tests/windows/vmcompute.dll"
status=0

# printf, not echo: dash's echo turns the `\t` of Wine paths into tabs.
fail() {
  printf 'it_windows_image: %s\n' "$*" >&2
  status=1
}

for file in "$exe" "$mock"; do
  if [ ! -f "$file" ]; then
    echo "it_windows_image: $file is missing; build $build with CFWIN_WINE_TEST_EXE=ON" >&2
    exit 77
  fi
done
if ! command -v ruby >/dev/null 2>&1; then
  echo "it_windows_image: ruby is missing, so the OCI layout cannot be written; skipping" >&2
  exit 77
fi

work=$(mktemp -d /tmp/cfwin-wine-image-XXXXXX)
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Prints the Windows path of a Unix path: Wine maps / to drive Z:.
winepath_of() {
  echo "Z:$1" | tr '/' '\\'
}

# Prints the path with `\` doubled, as it appears in JSON.
json_path() {
  printf '%s' "$1" | sed 's/\\/\\\\/g'
}

# The first run creates the prefix; then the mock goes into System32, the
# only directory the storage backend loads vmcompute.dll from.
"$wine" "$exe" version >/dev/null 2>&1 || true
cp "$mock" "$WINEPREFIX/drive_c/windows/system32/vmcompute.dll"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-};vmcompute=n"

log="$work/calls.log"
export CFWIN_MOCK_VMCOMPUTE_LOG
CFWIN_MOCK_VMCOMPUTE_LOG=$(winepath_of "$log")

# Runs the test executable's image role on store ($1, a Unix path) with the
# other arguments; stdout, stderr and the exit status go to $work/out,
# $work/err and $rc.
run_image() {
  store_dir=$1
  shift
  set +e
  "$wine" "$exe" image --driver-store "$(winepath_of "$store_dir")" "$@" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
}

# Counts the lines of the call log that start with the call name $1 and
# contain $2.
count_calls() {
  if [ ! -f "$log" ]; then
    echo 0
    return
  fi
  grep -c "^$1	.*$2" "$log" || true
}

# --- The layout and the expected chain ids, computed without cfwin ---

layout="$work/layout"
ruby -I"$root/tests/deploy/lib" -roci_layout -e 'OciLayout.write_windows(ARGV[0], tag: "v1")' \
  "$layout"
manifest_hex=$(sed 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/' "$layout/index.json")
layer_hexes=$(grep -o '"layers":\[.*\]' "$layout/blobs/sha256/$manifest_hex" |
  grep -o 'sha256:[0-9a-f]*' | sed 's/sha256://')
set -- $layer_hexes
[ "$#" = 2 ] || fail "the layout's manifest lists $# layers, expected 2"
blob0=$1
blob1=$2
diff0=$(gzip -dc "$layout/blobs/sha256/$blob0" | sha256sum | cut -d' ' -f1)
diff1=$(gzip -dc "$layout/blobs/sha256/$blob1" | sha256sum | cut -d' ' -f1)
# OCI chain ids: ChainID(L0) = DiffID(L0), ChainID(L1) = sha256("<ChainID(L0)> <DiffID(L1)>").
chain0=$diff0
chain1=$(printf 'sha256:%s sha256:%s' "$chain0" "$diff1" | sha256sum | cut -d' ' -f1)
# groot's layer size: the bytes of the regular files in the layer's tar.
size0=$(gzip -dc "$layout/blobs/sha256/$blob0" | tar -tvf - | awk '/^-/ {s += $3} END {print s}')
size1=$(gzip -dc "$layout/blobs/sha256/$blob1" | tar -tvf - | awk '/^-/ {s += $3} END {print s}')
uri="oci:///Z:$layout:v1"

# --- pull ---

store="$work/store"
store_w=$(winepath_of "$store")
run_image "$store" pull "$uri"
[ "$rc" = 0 ] || fail "pull $uri exited $rc: $(cat "$work/out" "$work/err")"
[ ! -s "$work/out" ] || fail "pull printed on stdout: $(cat "$work/out")"
layer0_w="$store_w\\layers\\$chain0"
layer1_w="$store_w\\layers\\$chain1"
# The base layer is written in place and processed; the top layer goes
# through ImportLayer with the base layer as its only parent.
[ "$(count_calls ProcessBaseImage "$chain0")" = 1 ] ||
  fail "no ProcessBaseImage call for the base layer $chain0: $(cat "$log")"
import_line=$(grep "^ImportLayer	" "$log" || true)
expected_id=$(printf 'ImportLayer\t%s\t' "$layer1_w")
case "$import_line" in
"$expected_id"*) ;;
*) fail "ImportLayer was not called for layer $chain1 first: $import_line" ;;
esac
parent_guid=$(grep "^NameToGuid	$chain0	" "$log" | head -n 1 | cut -f3)
[ -n "$parent_guid" ] || fail "NameToGuid was not called for the base layer $chain0"
expected_parents=$(printf '\t1\t%s|%s' "$parent_guid" "$layer0_w")
case "$import_line" in
*"$expected_parents") ;;
*) fail "ImportLayer's parents are not [$parent_guid|$layer0_w]: $import_line" ;;
esac
base_line=$(grep -n "^ProcessBaseImage	" "$log" | head -n 1 | cut -d: -f1)
import_number=$(grep -n "^ImportLayer	" "$log" | head -n 1 | cut -d: -f1)
[ -n "$base_line" ] && [ -n "$import_number" ] && [ "$base_line" -lt "$import_number" ] ||
  fail "the base layer was not imported before the top layer: $(cat "$log")"
grep -q "^ImportLayer.file	Files/Users/vcap/hello.txt$" "$log" ||
  fail "the import folder had no Files/Users/vcap/hello.txt: $(grep ImportLayer "$log")"
grep -q "^ImportLayer.file	Hives/Software_Delta$" "$log" ||
  fail "the import folder had no Hives/Software_Delta: $(grep ImportLayer "$log")"
win_ini="$store/layers/$chain0/Files/Windows/win.ini"
if [ "$(cat "$win_ini" 2>/dev/null)" != "$(printf '; for 16-bit app support\r')" ]; then
  fail "the base layer's Files/Windows/win.ini is missing or differs"
fi
[ "$(cat "$store/layers/$chain0/size" 2>/dev/null)" = "$size0" ] ||
  fail "layers/$chain0/size is not $size0: $(cat "$store/layers/$chain0/size" 2>&1)"
[ "$(cat "$store/layers/$chain1/size" 2>/dev/null)" = "$size1" ] ||
  fail "layers/$chain1/size is not $size1: $(cat "$store/layers/$chain1/size" 2>&1)"

# A second pull finds both layers complete and imports nothing.
: >"$log"
run_image "$store" pull "$uri"
[ "$rc" = 0 ] || fail "the second pull exited $rc: $(cat "$work/out")"
[ "$(count_calls ImportLayer "")" = 0 ] && [ "$(count_calls ProcessBaseImage "")" = 0 ] ||
  fail "the second pull imported layers again: $(cat "$log")"
# Guardian's form of a layout URI has the drive as the host: oci://Z:/path.
: >"$log"
run_image "$store" pull "oci://Z:$layout:v1"
[ "$rc" = 0 ] || fail "pull oci://Z:$layout:v1 exited $rc: $(cat "$work/out")"
[ "$(count_calls ImportLayer "")" = 0 ] && [ "$(count_calls LayerExists "$chain1")" -ge 1 ] ||
  fail "pull oci://Z:$layout:v1 did not find the layers pulled before: $(cat "$log")"

# --- create, stats, delete ---

: >"$log"
run_image "$store" create "$uri" it-image
[ "$rc" = 0 ] || fail "create exited $rc: $(cat "$work/out" "$work/err")"
volume_w="$store_w\\volumes\\it-image"
volume_guid=$(grep "^GetLayerMountPath	.*Volume{" "$log" | head -n 1 | sed 's/.*Volume{\([^}]*\)}.*/\1/')
expected_spec=$(printf '{"ociVersion":"1.2.1","process":{"user":{"uid":0,"gid":0},"env":["%s"],"cwd":""},"root":{"path":"%s"},"windows":{"layerFolders":["%s","%s"]}}' \
  'PATH=C:\\Windows\\system32;C:\\Windows' \
  "$(json_path "\\\\?\\Volume{$volume_guid}\\")" "$(json_path "$layer1_w")" "$(json_path "$layer0_w")")
[ -n "$volume_guid" ] || fail "create did not ask GetLayerMountPath for a volume path: $(cat "$log")"
[ "$(cat "$work/out")" = "$expected_spec" ] ||
  fail "create printed $(cat "$work/out"), expected $expected_spec"
sandbox_line=$(grep "^CreateSandboxLayer	" "$log" || true)
[ "$(printf '%s' "$sandbox_line" | cut -f2,3)" = "$(printf '%s\t2' "$volume_w")" ] ||
  fail "CreateSandboxLayer did not get the volume and two layers: $sandbox_line"
[ "$(printf '%s' "$sandbox_line" | cut -f4 | cut -d'|' -f2)" = "$layer1_w" ] &&
  [ "$(printf '%s' "$sandbox_line" | cut -f5 | cut -d'|' -f2)" = "$layer0_w" ] ||
  fail "CreateSandboxLayer's layers are not top first: $sandbox_line"
[ "$(cat "$store/volumes/it-image/metadata.json" 2>/dev/null)" = "{\"size\":$((size0 + size1))}" ] ||
  fail "volumes/it-image/metadata.json is not {\"size\":$((size0 + size1))}"

run_image "$store" create "$uri" it-image
[ "$rc" = 1 ] || fail "a second create of it-image exited $rc, expected 1"
grep -q 'layer already exists: it-image' "$work/out" ||
  fail "a second create printed: $(cat "$work/out")"

# The compressed layers exceed a 10-byte limit before anything is read.
blob_total=$(($(wc -c <"$layout/blobs/sha256/$blob0") + $(wc -c <"$layout/blobs/sha256/$blob1")))
run_image "$store" create --disk-limit-size-bytes 10 "$uri" it-small
[ "$rc" = 1 ] || fail "create with a 10-byte disk limit exited $rc, expected 1"
grep -q "layers exceed disk quota $blob_total/10 bytes" "$work/out" ||
  fail "create with a 10-byte disk limit printed: $(cat "$work/out")"
# A one-layer image of 64 KiB of zeros compresses to far less, so a
# 65536-byte limit passes the compressed check and leaves no room for the
# volume.
zeros="$work/zeros-layout"
ruby -I"$root/tests/deploy/lib" -roci_layout -e '
  OciLayout.send(:remove_const, :WINDOWS_LAYERS)
  OciLayout::WINDOWS_LAYERS = [{ "Files/" => nil, "Files/zeros.bin" => "\0" * 65536, "Hives/" => nil }].freeze
  OciLayout.write_windows(ARGV[0], tag: "v1")' "$zeros"
run_image "$store" create --disk-limit-size-bytes 65536 "oci:///Z:$zeros:v1" it-small
[ "$rc" = 1 ] || fail "create with a disk limit equal to the image exited $rc, expected 1"
grep -q "disk limit 65536 must be larger than image size 65536" "$work/out" ||
  fail "create with a disk limit equal to the image printed: $(cat "$work/out")"
run_image "$store" create --disk-limit-size-bytes -1 "$uri" it-small
[ "$rc" = 1 ] || fail "create with a negative disk limit exited $rc, expected 1"
grep -q "invalid disk limit: -1" "$work/out" ||
  fail "create with a negative disk limit printed: $(cat "$work/out")"
[ ! -e "$store/volumes/it-small" ] || fail "a rejected create left volumes/it-small"

run_image "$store" stats it-image
if [ "$rc" = 0 ]; then
  grep -q '"total_bytes_used":' "$work/out" || fail "stats printed: $(cat "$work/out")"
else
  # NOTE: Wine has no FSRM quota manager and no volume behind the mock's
  # GUID path, so stats fails here. The message must name the volume.
  grep -q 'usage of volume it-image' "$work/out" || fail "stats printed: $(cat "$work/out")"
fi

run_image "$store" stats it-missing
[ "$rc" = 1 ] || fail "stats of an unknown handle exited $rc, expected 1"
grep -q 'could not get volume path for bundle ID: it-missing' "$work/out" ||
  fail "stats of an unknown handle printed: $(cat "$work/out")"

run_image "$store" delete it-image
[ "$rc" = 0 ] || fail "delete exited $rc: $(cat "$work/out")"
[ ! -d "$store/volumes/it-image" ] || fail "delete left volumes/it-image"
run_image "$store" delete it-image
[ "$rc" = 0 ] || fail "a second delete exited $rc: $(cat "$work/out")"

# --- errors ---

# A blob whose gzip header differs in one byte (the modification time)
# still decompresses to the same tar, so only the blob digest check fails.
bad="$work/bad-layout"
cp -r "$layout" "$bad"
chmod u+w "$bad/blobs/sha256/$blob0"
printf '\001' | dd of="$bad/blobs/sha256/$blob0" bs=1 seek=4 conv=notrunc 2>/dev/null
bad_store="$work/bad-store"
run_image "$bad_store" pull "oci:///Z:$bad:v1"
[ "$rc" = 1 ] || fail "pull of a corrupted blob exited $rc, expected 1"
grep -q "blob sha256:$blob0) is corrupt or was changed" "$work/out" &&
  grep -q "digest mismatch: expected sha256:$blob0" "$work/out" ||
  fail "pull of a corrupted blob printed: $(cat "$work/out")"
[ ! -e "$bad_store/layers/$chain0" ] ||
  fail "the failed pull left layers/$chain0 behind"

# A failed ImportLayer must leave no directory of the top layer, which the
# backend created before the call.
fail_store="$work/fail-store"
export CFWIN_MOCK_VMCOMPUTE_FAIL=ImportLayer
run_image "$fail_store" pull "$uri"
unset CFWIN_MOCK_VMCOMPUTE_FAIL
[ "$rc" = 1 ] || fail "pull with a failing ImportLayer exited $rc, expected 1"
grep -q "import layer sha256:$chain1: ImportLayer: HRESULT 0x80004005" "$work/out" ||
  fail "pull with a failing ImportLayer printed: $(cat "$work/out")"
[ ! -e "$fail_store/layers/$chain1" ] || fail "the failed import left layers/$chain1 behind"
[ -f "$fail_store/layers/$chain0/size" ] || fail "the failed import removed the base layer"

run_image "$store" pull "oci:///Z:$work/no-layout"
[ "$rc" = 1 ] || fail "pull of a missing layout exited $rc, expected 1"
grep -q "no-layout" "$work/out" || fail "pull of a missing layout printed: $(cat "$work/out")"

run_image "$store" pull "ftp://example/image"
[ "$rc" = 1 ] || fail "pull of an ftp:// URI exited $rc, expected 1"
grep -q 'unsupported image URI scheme' "$work/out" ||
  fail "pull of an ftp:// URI printed: $(cat "$work/out")"

# Port 1 on loopback has no listener, so the registry cannot be reached.
run_image "$store" pull "docker://127.0.0.1:1/cfwin/none:v1"
[ "$rc" = 1 ] || fail "pull from a closed port exited $rc, expected 1"
grep -q '127.0.0.1:1' "$work/out" || fail "pull from a closed port printed: $(cat "$work/out")"

# --- concurrent pulls of the same layers ---

: >"$log"
shared="$work/shared-store"
shared_w=$(winepath_of "$shared")
set +e
"$wine" "$exe" image --driver-store "$shared_w" pull "$uri" >"$work/out1" 2>&1 &
first=$!
"$wine" "$exe" image --driver-store "$shared_w" pull "$uri" >"$work/out2" 2>&1
second_rc=$?
wait "$first"
first_rc=$?
set -e
[ "$first_rc" = 0 ] && [ "$second_rc" = 0 ] ||
  fail "concurrent pulls exited $first_rc and $second_rc: $(cat "$work/out1" "$work/out2")"
[ "$(count_calls ProcessBaseImage "$chain0")" = 1 ] ||
  fail "concurrent pulls processed the base layer $(count_calls ProcessBaseImage "$chain0") times"
[ "$(count_calls ImportLayer "$chain1")" = 1 ] ||
  fail "concurrent pulls imported the top layer $(count_calls ImportLayer "$chain1") times"

# --- docker:// from the loopback registry, when one runs ---

registry=${CFWIN_TEST_REGISTRY:-127.0.0.1:5000}
case "$registry" in
127.0.0.1:* | localhost:*) ;;
*)
  echo "it_windows_image: CFWIN_TEST_REGISTRY must be a loopback host:port, not $registry" >&2
  exit 1
  ;;
esac
if ! curl -s -f -m 5 -o /dev/null "http://$registry/v2/"; then
  echo "it_windows_image: no registry answers on $registry; docker:// not tested" >&2
elif ! command -v skopeo >/dev/null 2>&1; then
  echo "it_windows_image: skopeo is missing; docker:// not tested" >&2
else
  image="$registry/cfwin-it-windows-image:v1"
  skopeo copy --quiet --dest-tls-verify=false "oci:$layout:v1" "docker://$image" >"$work/skopeo" 2>&1 ||
    fail "skopeo could not push $image: $(cat "$work/skopeo")"
  printf 'insecure_registries: ["%s"]\n' "$registry" >"$work/groot.yml"
  config_w=$(winepath_of "$work/groot.yml")
  docker_store="$work/docker-store"
  : >"$log"
  run_image "$docker_store" --config "$config_w" pull "docker://$image"
  [ "$rc" = 0 ] || fail "pull docker://$image exited $rc: $(cat "$work/out")"
  [ "$(cat "$docker_store/layers/$chain1/size" 2>/dev/null)" = "$size1" ] ||
    fail "pull docker://$image did not import layer $chain1"
  run_image "$docker_store" --config "$config_w" pull \
    "docker://$registry/cfwin-it-windows-missing:v1"
  [ "$rc" = 1 ] || fail "pull of a missing repository exited $rc, expected 1"
  grep -q 'cfwin-it-windows-missing' "$work/out" ||
    fail "pull of a missing repository printed: $(cat "$work/out")"
fi

# --- a registry with Basic authentication, started here on loopback ---

# Prints an htpasswd line for user cfwin with a bcrypt hash of the password
# $1; fails without Python's crypt module.
htpasswd_line() {
  python3 -c 'import crypt, sys; print("cfwin:" + crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
    "$1" 2>/dev/null
}

if ! command -v docker-registry >/dev/null 2>&1 || ! command -v skopeo >/dev/null 2>&1; then
  echo "it_windows_image: docker-registry or skopeo is missing; registry authentication not tested" >&2
elif ! htpasswd_line x >/dev/null; then
  echo "it_windows_image: python3 has no crypt module; registry authentication not tested" >&2
else
  auth_port=$((40000 + $$ % 20000))
  auth="127.0.0.1:$auth_port"
  mkdir -p "$work/auth-registry/data"
  htpasswd_line s3cret >"$work/auth-registry/htpasswd"
  printf '%s\n' 'version: 0.1' 'log:' '  level: warn' 'storage:' '  filesystem:' \
    "    rootdirectory: $work/auth-registry/data" 'auth:' '  htpasswd:' \
    '    realm: cfwin-it-windows' "    path: $work/auth-registry/htpasswd" 'http:' \
    "  addr: $auth" >"$work/auth-registry/config.yml"
  docker-registry serve "$work/auth-registry/config.yml" >"$work/auth-registry/log" 2>&1 &
  registry_pid=$!
  tries=0
  until [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://$auth/v2/")" = 401 ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then
      fail "the registry on $auth did not start: $(tail -n 5 "$work/auth-registry/log")"
      break
    fi
    sleep 0.1
  done
  skopeo copy --quiet --dest-tls-verify=false --dest-creds cfwin:s3cret "oci:$layout:v1" \
    "docker://$auth/cfwin/auth:v1" >"$work/skopeo" 2>&1 ||
    fail "skopeo could not push to $auth: $(cat "$work/skopeo")"
  printf 'insecure_registries: ["%s"]\n' "$auth" >"$work/auth.yml"
  auth_config=$(winepath_of "$work/auth.yml")
  auth_store="$work/auth-store"
  run_image "$auth_store" --config "$auth_config" pull "docker://$auth/cfwin/auth:v1"
  [ "$rc" = 1 ] || fail "pull without credentials from $auth exited $rc, expected 1"
  grep -q "registry $auth requires a username and password" "$work/out" ||
    fail "pull without credentials printed: $(cat "$work/out")"
  run_image "$auth_store" --config "$auth_config" pull --username cfwin --password wrong \
    "docker://$auth/cfwin/auth:v1"
  [ "$rc" = 1 ] || fail "pull with a wrong password exited $rc, expected 1"
  grep -q "HTTP 401 from http://$auth/v2/cfwin/auth/manifests/v1" "$work/out" ||
    fail "pull with a wrong password printed: $(cat "$work/out")"
  run_image "$auth_store" --config "$auth_config" pull --username cfwin --password s3cret \
    "docker://$auth/cfwin/auth:v1"
  [ "$rc" = 0 ] || fail "pull with credentials from $auth exited $rc: $(cat "$work/out")"
  [ "$(cat "$auth_store/layers/$chain1/size" 2>/dev/null)" = "$size1" ] ||
    fail "pull with credentials did not import layer $chain1"
  kill "$registry_pid"
  wait "$registry_pid" 2>/dev/null || true
  registry_pid=""
fi

if [ "$status" = 0 ]; then
  echo "it_windows_image: pull, create, stats and delete passed under Wine"
fi
exit "$status"
