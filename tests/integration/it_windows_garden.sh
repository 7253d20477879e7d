#!/bin/sh
# Runs containers through `cfwin.exe serve` under Wine, end to end, with the
# stateful mock computecore.dll and computenetwork.dll of tests/windows and
# the recording vmcompute.dll of its layer calls, all in this check's own
# Wine prefix. The server is cfwin-winetest.exe, which emulates BackupWrite
# for the layer import. `cfwin client` creates a container from a
# synthetic OCI layout in Windows layer format. The check compares the
# recorded HCS document with values it computes itself. It runs processes:
# output, exit code, stdin, environment, Attach to a finished and to a
# running process, and the terminate signal. Then it lists, reads info and
# metrics, restarts the server (the container stays), destroys and checks
# that nothing is left. A create whose HcsCreateComputeSystem fails must leave
# nothing behind either.
# Usage: tests/integration/it_windows_garden.sh MINGW_BUILD_DIR [LINUX_CFWIN]
# Exits 77 (skip) when wine64, ruby, jq or python3 is missing.
set -eu

build=${1:?usage: it_windows_garden.sh MINGW_BUILD_DIR [LINUX_CFWIN]}
linux_cfwin=${2:-}
exe="$build/tests/windows/cfwin-winetest.exe"
client_exe="$build/cfwin.exe"
mocks="$build/mock-host"
layers_mock="$build/tests/windows/vmcompute.dll"
root=$(cd "$(dirname "$0")/../.." && pwd)
status=0
server_pid=""

# printf, not echo: dash's echo turns the `\t` of Wine paths into tabs.
fail() {
  printf 'it_windows_garden: %s\n' "$*" >&2
  status=1
}

for file in "$exe" "$client_exe" "$mocks/computecore.dll" "$mocks/computenetwork.dll" \
  "$mocks/mock_process.exe" "$layers_mock"; do
  if [ ! -f "$file" ]; then
    echo "it_windows_garden: $file is missing; build $build with -DCFWIN_WINDOWS_EXE=ON" >&2
    exit 1
  fi
done
wine=$(command -v wine64 || true)
if [ -z "$wine" ] && [ -x /usr/lib/wine/wine64 ]; then
  wine=/usr/lib/wine/wine64
fi
if [ -z "$wine" ]; then
  echo "it_windows_garden: wine64 is not installed; skipping" >&2
  exit 77
fi
for tool in ruby jq python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "it_windows_garden: $tool is not installed; skipping" >&2
    exit 77
  fi
done

work=$(mktemp -d /tmp/cfwin-garden-XXXXXX)
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  # Ends what is left in this check's own prefix: the server and the
  # container processes the mock started.
  WINEPREFIX="$work/prefix" "$(dirname "$wine")/wineserver64" -k 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;vmcompute=n"

winepath_of() {
  echo "Z:$1" | tr '/' '\\'
}

"$wine" wineboot -i >/dev/null 2>&1
system32="$WINEPREFIX/drive_c/windows/system32"
cp "$mocks/computecore.dll" "$mocks/computenetwork.dll" "$system32/"
cp "$layers_mock" "$system32/vmcompute.dll"
cp "$mocks/mock_process.exe" "$work/"
export CFWIN_MOCK_HOST_STATE CFWIN_MOCK_HOST_LOG CFWIN_MOCK_VMCOMPUTE_LOG
CFWIN_MOCK_HOST_STATE=$(winepath_of "$work/host-state")
CFWIN_MOCK_HOST_LOG=$(winepath_of "$work/calls.jsonl")
CFWIN_MOCK_VMCOMPUTE_LOG=$(winepath_of "$work/layers.log")
program=$(winepath_of "$work/mock_process.exe")

# --- Values computed here, without cfwin ---

layout="$work/layout"
ruby -I"$root/tests/deploy/lib" -roci_layout -e 'OciLayout.write_windows(ARGV[0], tag: "v1")' \
  "$layout"
manifest_hex=$(sed 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/' "$layout/index.json")
# shellcheck disable=SC2046 # the digests are split into the positional parameters
set -- $(grep -o '"layers":\[.*\]' "$layout/blobs/sha256/$manifest_hex" |
  grep -o 'sha256:[0-9a-f]*' | sed 's/sha256://')
[ "$#" = 2 ] || fail "the layout's manifest lists $# layers, expected 2"
blob_total=$(($(wc -c <"$layout/blobs/sha256/$1") + $(wc -c <"$layout/blobs/sha256/$2")))
diff0=$(gzip -dc "$layout/blobs/sha256/$1" | sha256sum | cut -d' ' -f1)
diff1=$(gzip -dc "$layout/blobs/sha256/$2" | sha256sum | cut -d' ' -f1)
# OCI chain ids: ChainID(L0) = DiffID(L0), ChainID(L1) = sha256("<ChainID(L0)> <DiffID(L1)>").
chain0=$diff0
chain1=$(printf 'sha256:%s sha256:%s' "$chain0" "$diff1" | sha256sum | cut -d' ' -f1)
uri="oci:///Z:$layout:v1"

depot="$work/depot"
depot_w=$(winepath_of "$depot")
layer0_w="$depot_w\\images\\layers\\$chain0"
layer1_w="$depot_w\\images\\layers\\$chain1"

# The GUID the recording vmcompute.dll derives from a name (its guid_of:
# FNV-1a over the UTF-16 units, then one LCG step for the last 8 bytes),
# in the text form HCS documents use.
mock_guid() {
  python3 -c 'import sys
h = 1469598103934665603
for c in sys.argv[1]:
    h = ((h ^ ord(c)) * 1099511628211) % 2**64
s = (h * 6364136223846793005 + 1442695040888963407) % 2**64
d4 = [(s >> (8 * i)) & 0xff for i in range(8)]
print("%08x-%04x-%04x-%02x%02x-%s" % (h >> 32, (h >> 16) & 0xffff, h & 0xffff, d4[0], d4[1],
      "".join("%02x" % b for b in d4[2:])))' "$1"
}
# The HCN namespace GUID of a handle: UUID version 5 in cfwin's namespace.
namespace_guid() {
  python3 -c 'import sys, uuid
print(uuid.uuid5(uuid.UUID("74cfae1e-e03b-4be3-a39a-a683967083be"), sys.argv[1]))' "$1"
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- Server and client ---

# Runs the Windows client (or $linux_cfwin with "linux" first) against the
# server; stdout and stderr without carriage returns go to $work/out and
# $work/err, the exit status to $rc. Stdin comes from $work/in.
: >"$work/in"
run_client() {
  client="$wine $client_exe"
  if [ "$1" = linux ]; then
    client=$linux_cfwin
    shift
  fi
  set +e
  $client client -t "127.0.0.1:$port" "$@" <"$work/in" >"$work/out.raw" 2>"$work/err.raw"
  rc=$?
  set -e
  tr -d '\r' <"$work/out.raw" >"$work/out"
  tr -d '\r' <"$work/err.raw" >"$work/err"
}

# Starts the server on $depot; the environment of the call goes to the
# server and so to the mock DLLs it loads.
start_server() {
  port=$(free_port)
  "$wine" "$exe" serve --bind-ip 127.0.0.1 --bind-port "$port" --depot "$depot_w" \
    >>"$work/serve.log" 2>&1 &
  server_pid=$!
  tries=0
  until run_client ping && [ "$rc" = 0 ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 120 ]; then
      fail "the server on 127.0.0.1:$port did not respond: $(tail -n 5 "$work/serve.log")"
      exit "$status"
    fi
    sleep 0.5
  done
}

stop_server() {
  kill -INT "$server_pid"
  set +e
  wait "$server_pid"
  rc=$?
  set -e
  server_pid=""
  [ "$rc" = 0 ] || fail "the server exited $rc after Ctrl-C, expected 0"
}

documents() {
  jq -c --arg call "$1" --arg id "$2" 'select(.call == $call and .id == $id) | .document' \
    "$work/calls.jsonl"
}

# Checks that nothing of container $1 is left: compute system, volume,
# bundle directory, store rows.
check_no_trace() {
  if grep -q "$1" "$work/host-state" 2>/dev/null; then
    fail "$1 is still on the mock host: $(cat "$work/host-state")"
  fi
  [ ! -e "$depot/images/volumes/$1" ] || fail "the volume of $1 is left in $depot/images/volumes"
  [ ! -e "$depot/containers/$1" ] || fail "the directory of $1 is left in $depot/containers"
  if command -v sqlite3 >/dev/null; then
    for row in "containers handle" "properties handle" "runtime_containers id"; do
      set -- "$1" $row
      count=$(sqlite3 "$depot/cfwin.db" "SELECT count(*) FROM $2 WHERE $3 = '$1'" 2>&1)
      [ "$count" = 0 ] || fail "the store has $count rows of $1 in $2: $count"
    done
  fi
  run_client list --quiet
  ! grep -q -x "$1" "$work/out" || fail "list still shows $1"
}

# check_no_trace, and the namespace made for container $1 was deleted.
check_gone() {
  check_no_trace "$1"
  jq -s -e --arg ns "$(namespace_guid "$1")" \
    'any(.[]; .call == "HcnDeleteNamespace" and .id == $ns)' "$work/calls.jsonl" >/dev/null ||
    fail "the namespace of $1 was not deleted"
}

start_server

# --- Create ---

handle=it-garden
bind="$work/bind"
mkdir -p "$bind"
bind_w=$(winepath_of "$bind")
run_client create --handle "$handle" --image "$uri" --memory 200M --cpu-weight 512 \
  --env GARDEN_VAR=from-spec --property it=yes --bind-mount "$bind_w:/data:rw"
[ "$rc" = 0 ] || fail "create exited $rc: $(cat "$work/err")"
[ "$(cat "$work/out")" = "$handle" ] || fail "create printed $(cat "$work/out")"

doc=$(documents HcsCreateComputeSystem "$handle")
[ "$(printf '%s\n' "$doc" | grep -c .)" = 1 ] ||
  fail "HcsCreateComputeSystem was not called once for $handle: $doc"
check_field() {
  value=$(printf '%s\n' "$doc" | jq -c "$1")
  [ "$value" = "$2" ] || fail "HcsCreateComputeSystem $1 is $value, expected $2"
}
json_string() {
  jq -n --arg s "$1" '$s'
}
volume_w="$depot_w\\images\\volumes\\$handle"
check_field '.Owner' '"cfwin"'
check_field '.Container.GuestOs.HostName' "\"$handle\""
check_field '.Container.Storage.Layers | length' 2
check_field '.Container.Storage.Layers[0].Id' "\"$(mock_guid "$chain1")\""
check_field '.Container.Storage.Layers[0].Path' "$(json_string "$layer1_w")"
check_field '.Container.Storage.Layers[1].Id' "\"$(mock_guid "$chain0")\""
check_field '.Container.Storage.Layers[1].Path' "$(json_string "$layer0_w")"
check_field '.Container.Storage.Path' "$(json_string "\\\\?\\Volume{$(mock_guid "$volume_w")}\\")"
check_field '.Container.MappedDirectories | length' 1
check_field '.Container.MappedDirectories[0].HostPath' "$(json_string "$bind_w")"
check_field '.Container.MappedDirectories[0].ContainerPath' '"C:\\data"'
check_field '.Container.MappedDirectories[0].ReadOnly' false
check_field '.Container.Memory.SizeInMB' 200
check_field '.Container.Processor.Weight' 512
check_field '.Container.Networking.Namespace' "\"$(namespace_guid "$handle")\""
[ -f "$depot/images/volumes/$handle/Sandbox.vhdx" ] ||
  fail "the volume $depot/images/volumes/$handle has no Sandbox.vhdx"
grep -q "^system	$handle	Running\|$handle.*Running" "$work/host-state" ||
  fail "the compute system $handle is not running: $(cat "$work/host-state")"

run_client create --handle "$handle" --image "$uri"
[ "$rc" = 1 ] || fail "a second create of $handle exited $rc, expected 1"
grep -q "Handle '$handle' already in use" "$work/err" ||
  fail "a second create printed: $(cat "$work/err")"

# Windows file names ignore case, drop trailing dots and reserve device
# names, so such handles are rejected before they reach another
# container's volume or directory.
upper=$(printf '%s' "$handle" | tr 'a-z' 'A-Z')
for bad in "$upper" "$handle." nul COM1; do
  run_client create --handle "$bad" --image "$uri"
  [ "$rc" = 1 ] || fail "create of handle $bad exited $rc, expected 1"
  grep -q "choose another handle" "$work/err" ||
    fail "create of handle $bad printed: $(cat "$work/err")"
done
[ -f "$depot/images/volumes/$handle/Sandbox.vhdx" ] ||
  fail "a rejected handle removed the volume of $handle"
[ -d "$depot/containers/$handle" ] || fail "a rejected handle removed the directory of $handle"

# As in groot, the compressed layers count against a total disk limit
# before any layer is read.
run_client create --handle it-garden-disk --image "$uri" --disk 10
[ "$rc" = 1 ] || fail "create with a 10-byte disk limit exited $rc, expected 1"
grep -q "layers exceed disk quota $blob_total/10 bytes" "$work/err" ||
  fail "create with a 10-byte disk limit printed: $(cat "$work/err")"
check_no_trace it-garden-disk

# --- Run and Attach ---

run_client run "$handle" -- "$program" env GARDEN_VAR
[ "$rc" = 0 ] || fail "run env exited $rc: $(cat "$work/err")"
[ "$(sed -n 1p "$work/out")" = from-spec ] ||
  fail "run env did not print the container's GARDEN_VAR: $(cat "$work/out")"
[ "$(sed -n 2p "$work/out")" = 'C:\' ] ||
  fail "run env did not run in C:\\ by default: $(cat "$work/out")"

run_client run "$handle" --env RUN_VAR=from-run --dir 'C:\windows' -- "$program" env RUN_VAR
[ "$rc" = 0 ] || fail "run with --env exited $rc: $(cat "$work/err")"
[ "$(sed -n 1p "$work/out")" = from-run ] || fail "run --env printed: $(cat "$work/out")"
[ "$(sed -n 2p "$work/out" | tr 'A-Z' 'a-z')" = 'c:\windows' ] ||
  fail "run --dir printed: $(cat "$work/out")"

run_client run "$handle" -- "$program" exit 7
[ "$rc" = 7 ] || fail "run exit 7 exited $rc: $(cat "$work/err")"

printf 'hello through stdin\n' >"$work/in"
run_client run "$handle" -- "$program" cat
: >"$work/in"
[ "$rc" = 3 ] || fail "run cat exited $rc, expected 3: $(cat "$work/err")"
[ "$(cat "$work/out")" = 'hello through stdin' ] || fail "run cat printed: $(cat "$work/out")"
grep -q -x 'stderr-line' "$work/err" || fail "run cat wrote on stderr: $(cat "$work/err")"

run_client run "$handle" -- 'Z:\no\such\program.exe'
[ "$rc" != 0 ] || fail "run of a missing program exited 0"
grep -q "could not start command" "$work/err" ||
  fail "run of a missing program printed: $(cat "$work/err")"

run_client run "$handle" --detach --id it-exit -- "$program" exit 5
[ "$rc" = 0 ] || fail "run --detach exited $rc: $(cat "$work/err")"
[ "$(cat "$work/out")" = it-exit ] || fail "run --detach printed: $(cat "$work/out")"
run_client attach "$handle" it-exit
[ "$rc" = 5 ] || fail "attach to it-exit exited $rc, expected 5: $(cat "$work/err")"
# Attach to a running process, then interrupt the attached client: it sends
# Garden's terminate signal, which the mock carries out as a terminate with
# exit code 1. The server logs attach.started once the stream is set up.
run_client run "$handle" --detach --id it-sleep -- "$program" sleep
[ "$rc" = 0 ] || fail "run --detach sleep exited $rc: $(cat "$work/err")"
# A background job of this shell ignores SIGINT, so the Linux client gets
# SIGTERM, which it forwards the same way. Wine turns SIGINT into a console
# Ctrl-C event for the Windows client.
if [ -n "$linux_cfwin" ]; then
  "$linux_cfwin" client -t "127.0.0.1:$port" attach "$handle" it-sleep </dev/null \
    >"$work/attach.out" 2>"$work/attach.err" &
  interrupt=TERM
else
  "$wine" "$client_exe" client -t "127.0.0.1:$port" attach "$handle" it-sleep </dev/null \
    >"$work/attach.out" 2>"$work/attach.err" &
  interrupt=INT
fi
attach_pid=$!
tries=0
until grep -q 'attach.started".*"it-sleep"' "$work/serve.log"; do
  tries=$((tries + 1))
  if [ "$tries" -gt 120 ]; then
    fail "the server logged no attach to it-sleep: $(tail -n 5 "$work/serve.log")"
    break
  fi
  sleep 0.5
done
kill -"$interrupt" "$attach_pid"
# Waits for the client to exit, at most 120 tries half a second apart, so
# a client that misses the interrupt fails the check instead of hanging it.
tries=0
while kill -0 "$attach_pid" 2>/dev/null && [ "$tries" -lt 120 ]; do
  tries=$((tries + 1))
  sleep 0.5
done
if kill -0 "$attach_pid" 2>/dev/null; then
  fail "attach to it-sleep still runs after an interrupt: $(cat "$work/attach.err")"
  kill -KILL "$attach_pid"
fi
set +e
wait "$attach_pid"
rc=$?
set -e
[ "$rc" = 1 ] || fail "attach to it-sleep exited $rc after an interrupt, expected 1: $(cat "$work/attach.err")"
documents HcsSignalProcess "$handle" | grep -q . ||
  fail "the interrupt sent no HcsSignalProcess for $handle"

run_client attach "$handle" it-none
[ "$rc" = 1 ] || fail "attach to an unknown process exited $rc, expected 1"
grep -q 'unknown process: it-none' "$work/err" || fail "attach it-none printed: $(cat "$work/err")"

# --- List and info ---

clients="exe"
[ -n "$linux_cfwin" ] && clients="exe linux"
for client in $clients; do
  prefix=""
  [ "$client" = linux ] && prefix=linux
  run_client $prefix list --quiet
  [ "$rc" = 0 ] || fail "$client list exited $rc: $(cat "$work/err")"
  grep -q -x "$handle" "$work/out" || fail "$client list does not show $handle: $(cat "$work/out")"
  run_client $prefix --json info "$handle"
  [ "$rc" = 0 ] || fail "$client info exited $rc: $(cat "$work/err")"
  jq -e '.. | objects | select(has("it")) | .it == "yes"' "$work/out" >/dev/null ||
    fail "$client info has not the property it=yes: $(cat "$work/out")"
  jq -e '.. | objects | select(has("garden.state")) | ."garden.state" == "created"' \
    "$work/out" >/dev/null || fail "$client info has not garden.state created: $(cat "$work/out")"
done

# The mock computecore.dll reports fixed statistics: TotalRuntime100ns 123,
# RuntimeKernel100ns 101, RuntimeUser100ns 22, MemoryUsageCommitBytes 666.
run_client --json metrics "$handle"
[ "$rc" = 0 ] || fail "metrics exited $rc: $(cat "$work/err")"
check_metric() {
  value=$(jq -c "[.. | objects | select(has(\"CPUStat\"))][0] | $1" "$work/out")
  [ "$value" = "$2" ] || fail "metrics $1 is $value, expected $2: $(cat "$work/out")"
}
check_metric '.CPUStat.Usage' 12300
check_metric '.CPUStat.System' 10100
check_metric '.CPUStat.User' 2200
check_metric '.MemoryStat.rss' 666
check_metric '.MemoryStat.hierarchical_memory_limit' $((200 * 1024 * 1024))

# --- Restart: the container stays, its processes do not ---

stop_server
start_server
run_client list --quiet
grep -q -x "$handle" "$work/out" || fail "the restarted server lost $handle: $(cat "$work/out")"
run_client attach "$handle" it-exit
[ "$rc" = 1 ] || fail "attach after a restart exited $rc, expected 1 (processes do not survive)"

# --- Destroy ---

run_client destroy "$handle"
[ "$rc" = 0 ] || fail "destroy exited $rc: $(cat "$work/err")"
check_gone "$handle"
grep -q "^DestroyLayer	$(printf '%s' "$volume_w" | sed 's/\\/\\\\/g')" "$work/layers.log" ||
  fail "destroy did not destroy the volume layer $volume_w"
run_client destroy "$handle"
[ "$rc" = 1 ] || fail "a second destroy exited $rc, expected 1"
grep -q "unknown handle: $handle" "$work/err" || fail "a second destroy printed: $(cat "$work/err")"
stop_server

# --- A failing HcsCreateComputeSystem leaves nothing ---

failing=it-garden-fail
export CFWIN_MOCK_HOST_FAIL=HcsCreateComputeSystem=0x80070005
start_server
unset CFWIN_MOCK_HOST_FAIL
run_client create --handle "$failing" --image "$uri"
[ "$rc" = 1 ] || fail "create with a failing HcsCreateComputeSystem exited $rc, expected 1"
grep -q "hcs::CreateComputeSystem $failing" "$work/err" ||
  fail "the failed create printed: $(cat "$work/err")"
jq -s -e --arg ns "$(namespace_guid "$failing")" \
  'any(.[]; .call == "HcnCreateNamespace" and .id == $ns)' "$work/calls.jsonl" >/dev/null ||
  fail "the failed create did not get as far as the namespace"
check_gone "$failing"
[ -z "$(ls -A "$depot/containers")" ] ||
  fail "the failed create left $(ls "$depot/containers") in $depot/containers"
stop_server

[ "$status" = 0 ] && echo "it_windows_garden: containers through cfwin.exe serve passed under Wine"
exit "$status"
