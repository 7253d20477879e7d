#!/bin/sh
# Runs the runtime role of cfwin.exe (winc) end to end under Wine against
# the mock computecore.dll, computenetwork.dll and vmcompute.dll of
# tests/windows, installed into this check's own Wine prefix. It follows
# Guardian's sequence (create, start, exec with a process.json, state,
# events --stats, kill, delete), with exec started through an inherited
# --log-handle pipe as Guardian does. It checks the documents the mocks
# recorded field by field against values computed here, the exit codes,
# the log lines and the error paths, then peas and bundle-named
# namespaces.
# Usage: tests/integration/it_winc.sh MINGW_BUILD_DIR
# Exits 77 (skip) when wine64, jq or python3 is missing.
set -eu

build=${1:?usage: it_winc.sh MINGW_BUILD_DIR}
exe="$build/cfwin.exe"
mocks="$build/mock-host"
status=0

fail() {
  printf 'it_winc: %s\n' "$*" >&2
  status=1
}

for file in "$exe" "$mocks/computecore.dll" "$mocks/computenetwork.dll" "$mocks/vmcompute.dll" \
  "$mocks/mock_process.exe" "$mocks/log_handle_parent.exe"; do
  if [ ! -f "$file" ]; then
    echo "it_winc: $file is missing; build $build with -DCFWIN_WINDOWS_EXE=ON" >&2
    exit 1
  fi
done
wine=$(command -v wine64 || true)
if [ -z "$wine" ] && [ -x /usr/lib/wine/wine64 ]; then
  wine=/usr/lib/wine/wine64
fi
for tool in jq python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "it_winc: $tool is not installed; skipping" >&2
    exit 77
  fi
done
if [ -z "$wine" ]; then
  echo "it_winc: wine64 is not installed; skipping" >&2
  exit 77
fi

work=$(mktemp -d /tmp/cfwin-winc-XXXXXX)
cleanup() {
  # Ends the container processes the mock started, then the prefix's
  # wineserver; both belong to this check's own prefix.
  WINEPREFIX="$work/prefix" "$(dirname "$wine")/wineserver64" -k 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="

# Prints the Windows path of a Unix path: Wine maps / to drive Z:.
winepath_of() {
  echo "Z:$1" | tr '/' '\\'
}

"$wine" wineboot -i >/dev/null 2>&1
cp "$mocks/computecore.dll" "$mocks/computenetwork.dll" "$mocks/vmcompute.dll" \
  "$WINEPREFIX/drive_c/windows/system32/"
cp "$mocks/mock_process.exe" "$mocks/log_handle_parent.exe" "$work/"
export CFWIN_MOCK_HOST_STATE="$(winepath_of "$work/host-state")"
export CFWIN_MOCK_HOST_LOG="$(winepath_of "$work/calls.jsonl")"
root=$(winepath_of "$work/root")
program=$(winepath_of "$work/mock_process")

# Runs winc with the given arguments and stdin from $work/in. Stdout and
# stderr go to $work/out and $work/err without the carriage returns of
# Windows line ends, and the exit status to $rc.
: >"$work/in"
cp "$exe" "$work/winc.exe"
winc() {
  set +e
  "$wine" "$work/winc.exe" --root "$root" "$@" <"$work/in" >"$work/out.raw" 2>"$work/err.raw"
  rc=$?
  set -e
  tr -d '\r' <"$work/out.raw" >"$work/out"
  tr -d '\r' <"$work/err.raw" >"$work/err"
}

expect_rc() {
  [ "$rc" = "$1" ] || fail "$2 exited $rc, expected $1: $(cat "$work/err")"
}

# The recorded documents of a call, one per line.
documents() {
  jq -c --arg call "$1" 'select(.call == $call) | .document' "$work/calls.jsonl"
}

# The check's own versions of the names cfwin derives: the mock's
# NameToGuid (the name's bytes, zero-padded to 16) and the namespace GUID
# (UUID version 5 of the id in cfwin's fixed namespace).
layer_guid() {
  hex=$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')
  hex=$(printf '%-32s' "$hex" | tr ' ' 0 | cut -c1-32)
  echo "$hex" | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12})$/\1-\2-\3-\4-\5/'
}
namespace_guid() {
  python3 -c 'import sys, uuid
print(uuid.uuid5(uuid.UUID("74cfae1e-e03b-4be3-a39a-a683967083be"), sys.argv[1]))' "$1"
}

# Writes a bundle for id with the process args given as a JSON array and
# an optional windows.network object.
write_bundle() {
  mkdir -p "$work/bundles/$1" "$work/layers/base-layer" "$work/layers/top-layer" "$work/rw-dir" \
    "$work/ro-dir"
  : >"$work/file-mount"
  jq -n --arg top "$(winepath_of "$work/layers/top-layer")" \
    --arg base "$(winepath_of "$work/layers/base-layer")" \
    --arg rw "$(winepath_of "$work/rw-dir")" --arg ro "$(winepath_of "$work/ro-dir")" \
    --arg file "$(winepath_of "$work/file-mount")" --argjson args "$2" \
    --argjson network "${3:-null}" '{
      ociVersion: "1.2.1",
      hostname: "host-of-it",
      root: {path: "\\\\?\\Volume{6d2a2d4e-1111-2222-3333-444455556666}\\"},
      process: {args: $args, cwd: "C:\\", env: ["PATH=C:\\Windows", "GREETING=a b&c"],
                user: {username: "vcap"}},
      mounts: [
        {destination: "/var/rw", source: $rw, options: ["bind", "rw"]},
        {destination: "C:\\ro", source: $ro, options: ["bind"]},
        {destination: "/file", source: $file, options: ["bind"]}
      ],
      windows: {layerFolders: [$top, $base],
                resources: {memory: {limit: 209715201}, cpu: {shares: 512}},
                network: $network}
    }' >"$work/bundles/$1/config.json"
}

id=it-winc
bundle=$(winepath_of "$work/bundles/$id")
namespace=$(namespace_guid "$id")
write_bundle "$id" "[\"$(printf "%s" "$program" | tr '\\' '/')\", \"sleep\", \"arg with space\"]"

# ---- create ----
# --log creates missing parent directories, as winc does.
create_log="$work/logs/new/create.log"
winc --debug --log "$(winepath_of "$create_log")" --log-format json create --bundle "$bundle" \
  --no-new-keyring "$id"
expect_rc 0 "create"
[ ! -s "$work/out" ] || fail "create printed: $(cat "$work/out")"
jq -s -e --arg id "$id" 'any(.[]; .level == "debug" and .msg == "creating container"
  and .containerId == $id)' "$create_log" >/dev/null ||
  fail "create.log has no debug line for $id: $(cat "$create_log")"
jq -s -e --arg mount "$(winepath_of "$work/file-mount")" \
  'any(.[]; .msg == "mount is not a directory, ignoring" and .mount == $mount)' \
  "$create_log" >/dev/null || fail "create.log does not name the ignored file mount"

doc=$(documents HcsCreateComputeSystem)
[ "$(printf "%s\n" "$doc" | wc -l)" = 1 ] || fail "HcsCreateComputeSystem was called $(printf "%s\n" "$doc" | wc -l) times"
check_field() {
  value=$(printf "%s\n" "$doc" | jq -c "$1")
  [ "$value" = "$2" ] || fail "HcsCreateComputeSystem $1 is $value, expected $2"
}
check_field '.Owner' '"cfwin"'
check_field '.SchemaVersion' '{"Major":2,"Minor":1}'
check_field '.Container.GuestOs.HostName' '"host-of-it"'
check_field '.Container.Storage.Layers | length' 2
check_field '.Container.Storage.Layers[0].Id' "\"$(layer_guid top-layer)\""
check_field '.Container.Storage.Layers[0].Path' "$(jq -n --arg p "$(winepath_of "$work/layers/top-layer")" '$p')"
check_field '.Container.Storage.Layers[1].Id' "\"$(layer_guid base-layer)\""
check_field '.Container.Storage.Layers[1].Path' "$(jq -n --arg p "$(winepath_of "$work/layers/base-layer")" '$p')"
check_field '.Container.Storage.Path' '"\\\\?\\Volume{6d2a2d4e-1111-2222-3333-444455556666}\\"'
check_field '.Container.MappedDirectories | length' 2
check_field '.Container.MappedDirectories[0].HostPath' "$(jq -n --arg p "$(winepath_of "$work/rw-dir")" '$p')"
check_field '.Container.MappedDirectories[0].ContainerPath' '"C:\\var\\rw"'
check_field '.Container.MappedDirectories[0].ReadOnly' false
check_field '.Container.MappedDirectories[1].ContainerPath' '"C:\\ro"'
check_field '.Container.MappedDirectories[1].ReadOnly' true
# 209715201 bytes is 200 MiB and 1 byte; the size is rounded down.
check_field '.Container.Memory.SizeInMB' 200
check_field '.Container.Processor.Weight' 512
check_field '.Container.Networking.Namespace' "\"$namespace\""

created_line=$(grep -n '"call":"HcnCreateNamespace"' "$work/calls.jsonl" | cut -d: -f1)
system_line=$(grep -n '"call":"HcsCreateComputeSystem"' "$work/calls.jsonl" | cut -d: -f1)
[ "$(documents HcnCreateNamespace | wc -l)" = 1 ] || fail "HcnCreateNamespace was not called once"
jq -s -e --arg ns "$namespace" 'any(.[]; .call == "HcnCreateNamespace" and .id == $ns)' \
  "$work/calls.jsonl" >/dev/null || fail "the namespace created is not $namespace"
[ -n "$created_line" ] && [ -n "$system_line" ] && [ "$created_line" -lt "$system_line" ] ||
  fail "the namespace was not created before the compute system"

winc state "$id"
expect_rc 0 "state after create"
[ "$(jq -r .status "$work/out")" = created ] || fail "state after create: $(cat "$work/out")"
[ "$(jq -r .bundle "$work/out")" = "$bundle" ] || fail "state bundle: $(cat "$work/out")"
[ "$(jq -r 'has("pid")' "$work/out")" = false ] || fail "state after create has a pid"

# ---- start ----
winc start --pid-file "$(winepath_of "$work/init.pid")" "$id"
expect_rc 0 "start"
init_pid=$(cat "$work/init.pid")
echo "$init_pid" | grep -E -q -x '[0-9]+' || fail "start wrote the pid file \"$init_pid\""
doc=$(documents HcsCreateProcess)
check_field '.CommandLine' "$(jq -n --arg p "$program.exe sleep \"arg with space\"" '$p')"
check_field '.WorkingDirectory' '"C:\\"'
check_field '.User' '"vcap"'
check_field '.Environment' '{"GREETING":"a b&c","PATH":"C:\\Windows"}'
# cfwin escapes & as Go's encoding/json does, which jq's output hides.
grep -q '"GREETING":"a b\\u0026c"' "$work/calls.jsonl" || fail "GREETING is not escaped as Go does"
check_field '.CreateStdInPipe' true

winc state "$id"
[ "$(jq -r .status "$work/out")" = running ] || fail "state after start: $(cat "$work/out")"
[ "$(jq -r .pid "$work/out")" = "$init_pid" ] || fail "state pid is not the pid file's $init_pid"
winc start "$id"
expect_rc 1 "a second start"
grep -q -x 'cannot start a container in the running state' "$work/err" ||
  fail "a second start printed: $(cat "$work/err")"

# ---- exec, as Guardian runs processes: attached, with a process.json ----
jq -n --arg program "$(printf "%s" "$program" | tr '\\' '/')" '{
  args: [$program, "cat", "", "say \"hi\" \\"], cwd: "/users", env: ["K=V"],
  user: {username: "ContainerUser"}}' >"$work/process.json"
printf 'line one\nline two\n' >"$work/in"
winc --log-handle 123456789 exec -p "$(winepath_of "$work/process.json")" "$id"
expect_rc 1 "exec with an invalid --log-handle"
grep -q '^log handle 123456789 invalid: ' "$work/err" ||
  fail "an invalid --log-handle printed: $(cat "$work/err")"
winc exec --pid-file "$(winepath_of "$work/exec.pid")" -p "$(winepath_of "$work/process.json")" "$id"
expect_rc 3 "attached exec of mock_process cat"
[ "$(cat "$work/out")" = "$(printf 'line one\nline two')" ] || fail "exec stdout: $(cat "$work/out")"
[ "$(cat "$work/err")" = stderr-line ] || fail "exec stderr: $(cat "$work/err")"
grep -E -q -x '[0-9]+' "$work/exec.pid" || fail "exec wrote no pid file"
doc=$(documents HcsCreateProcess | tail -n 1)
check_field '.CommandLine' "$(jq -n --arg p "$program.exe cat \"\" \"say \\\"hi\\\" \\\\\"" '$p')"
check_field '.WorkingDirectory' '"C:\\users"'
check_field '.User' '"ContainerUser"'
check_field '.Environment' '{"K":"V"}'
check_field '.CreateStdOutPipe' true
: >"$work/in"

# As Guardian runs a process: --log-handle names an inherited pipe, whose
# lines log_handle_parent copies to $work/handle.log.
guardian_winc() {
  winc_path=$(winepath_of "$work/winc.exe")
  set +e
  "$wine" "$work/log_handle_parent.exe" "$(winepath_of "$work/handle.log")" "$winc_path" \
    --root "$root" --debug --log-handle '{handle}' --log-format json "$@" \
    <"$work/in" >"$work/out.raw" 2>"$work/err.raw"
  rc=$?
  set -e
  tr -d '\r' <"$work/out.raw" >"$work/out"
  tr -d '\r' <"$work/err.raw" >"$work/err"
}
printf 'through the handle\n' >"$work/in"
guardian_winc exec --pid-file "$(winepath_of "$work/exec2.pid")" -p "$(winepath_of "$work/process.json")" "$id"
expect_rc 3 "exec with --log-handle"
[ "$(cat "$work/out")" = "through the handle" ] || fail "exec with --log-handle stdout: $(cat "$work/out")"
jq -s -e --arg id "$id" --arg pid "$(cat "$work/exec2.pid")" \
  'any(.[]; .level == "debug" and .msg == "process started" and .containerId == $id and .pid == $pid)' \
  "$work/handle.log" >/dev/null || fail "the log handle got no process line: $(cat "$work/handle.log")"
: >"$work/in"
guardian_winc exec -p "$(winepath_of "$work/process.json")" nope
expect_rc 1 "exec of an unknown id with --log-handle"
jq -s -e 'any(.[]; .level == "error" and (.msg | startswith("hcs::OpenComputeSystem nope: ")))' \
  "$work/handle.log" >/dev/null || fail "the log handle got no error line: $(cat "$work/handle.log")"

winc exec --env GREETING=hello --cwd /windows "$id" "$program" env GREETING
expect_rc 0 "exec with --env and --cwd"
[ "$(cat "$work/out")" = "$(printf 'hello\nC:\\windows')" ] ||
  fail "exec --env --cwd printed: $(cat "$work/out")"
winc exec -d --pid-file "$(winepath_of "$work/detached.pid")" "$id" "$program" sleep
expect_rc 0 "detached exec"
detached_pid=$(cat "$work/detached.pid")
doc=$(documents HcsCreateProcess | tail -n 1)
check_field '.CreateStdInPipe' false
check_field '.CreateStdOutPipe' false
winc exec "$id" 'C:\no\such-program'
expect_rc 1 "exec of a missing program"
grep -q "could not start command 'C:\\\\no\\\\such-program.exe' in container: $id\$" "$work/err" ||
  fail "exec of a missing program printed: $(cat "$work/err")"

# ---- events, ps, list ----
winc events --stats "$id"
expect_rc 0 "events --stats"
[ "$(jq -c .data.cpu.usage "$work/out")" = '{"total":12300,"kernel":10100,"user":2200}' ] ||
  fail "events --stats cpu: $(cat "$work/out")"
[ "$(jq .data.memory.raw.total_rss "$work/out")" = 666 ] || fail "events --stats memory"
# The init and the detached exec run; the attached ones have exited.
[ "$(jq .data.pids.current "$work/out")" = 2 ] || fail "events --stats pids: $(cat "$work/out")"
winc events "$id"
expect_rc 0 "events without --stats"
[ ! -s "$work/out" ] || fail "events without --stats printed: $(cat "$work/out")"
winc ps --format json "$id"
[ "$(cat "$work/out")" = "[$init_pid,$detached_pid]" ] || fail "ps --format json: $(cat "$work/out")"
winc list --format json
[ "$(jq -c '[.[] | {id, status, pid}]' "$work/out")" = "[{\"id\":\"$id\",\"status\":\"running\",\"pid\":$init_pid}]" ] ||
  fail "list --format json: $(cat "$work/out")"

# ---- delete while running, kill, delete ----
winc delete "$id"
expect_rc 1 "delete of a running container"
grep -q "^cannot delete container $id that is not stopped: running" "$work/err" ||
  fail "delete of a running container printed: $(cat "$work/err")"
winc kill "$id" KILL
expect_rc 0 "kill"
[ "$(documents HcsTerminateProcess | wc -l)" = 1 ] || fail "kill did not call HcsTerminateProcess"
winc state "$id"
[ "$(jq -r .status "$work/out")" = stopped ] || fail "state after kill: $(cat "$work/out")"
winc --debug --log "$(winepath_of "$work/delete.log")" delete "$id"
expect_rc 0 "delete"
[ "$(documents HcsShutDownComputeSystem | wc -l)" = 1 ] || fail "delete did not shut the system down"
jq -s -e --arg ns "$namespace" 'any(.[]; .call == "HcnDeleteNamespace" and .id == $ns)' \
  "$work/calls.jsonl" >/dev/null || fail "delete did not delete namespace $namespace"
! grep -q . "$work/host-state" || fail "delete left on the host: $(cat "$work/host-state")"
winc --log "$(winepath_of "$work/state.log")" state "$id"
expect_rc 1 "state after delete"
grep -q -x "container not found: $id" "$work/err" || fail "state after delete: $(cat "$work/err")"
jq -s -e --arg msg "container not found: $id" 'any(.[]; .level == "error" and .msg == $msg)' \
  "$work/state.log" >/dev/null || fail "state.log has no error line: $(cat "$work/state.log")"

# ---- errors ----
winc events --stats nope
expect_rc 1 "events of an unknown id"
grep -q -x 'hcs::OpenComputeSystem nope: A virtual machine or container with the specified identifier does not exist.' \
  "$work/err" || fail "events of an unknown id printed: $(cat "$work/err")"
winc delete nope
expect_rc 1 "delete of an unknown id"
grep -q -x 'container not found: nope' "$work/err" || fail "delete of an unknown id: $(cat "$work/err")"
winc delete --force nope
expect_rc 0 "delete --force of an unknown id"
# A compute system without a record goes with --force as well.
echo 'system orphan Running cfwin' >>"$work/host-state"
winc delete --force orphan
expect_rc 0 "delete --force of a system without a record"
jq -s -e 'any(.[]; .call == "HcsShutDownComputeSystem" and .id == "orphan")' "$work/calls.jsonl" \
  >/dev/null || fail "delete --force did not shut down a system without a record"
! grep -q . "$work/host-state" || fail "delete --force left: $(cat "$work/host-state")"
winc nope
expect_rc 3 "an unknown command"

mkdir -p "$work/bundles/empty"
winc create -b "$(winepath_of "$work/bundles/empty")" empty
expect_rc 1 "create from a bundle without config.json"
expected="bundle config.json does not exist: $(winepath_of "$work/bundles/empty/config.json")"
grep -F -q -x -- "$expected" "$work/err" ||
  fail "create without config.json printed: $(cat "$work/err")"
winc create -b "$bundle" other-id
expect_rc 1 "create with an id that is not the bundle's"
grep -q -x 'container id does not match bundle directory name: other-id' "$work/err" ||
  fail "create with another id printed: $(cat "$work/err")"

failing=it-winc-fail
write_bundle "$failing" '["cmd.exe"]'
calls_before=$(wc -l <"$work/calls.jsonl")
CFWIN_MOCK_HOST_FAIL=HcsCreateComputeSystem=0x80070005 \
  winc create -b "$(winepath_of "$work/bundles/$failing")" "$failing"
expect_rc 1 "create with a failing HcsCreateComputeSystem"
grep -q "^hcs::CreateComputeSystem $failing: " "$work/err" ||
  fail "the failed create printed: $(cat "$work/err")"
failing_namespace=$(namespace_guid "$failing")
tail -n +"$((calls_before + 1))" "$work/calls.jsonl" |
  jq -s -e --arg ns "$failing_namespace" 'any(.[]; .call == "HcnDeleteNamespace" and .id == $ns)' \
    >/dev/null || fail "the failed create did not delete namespace $failing_namespace"
! grep -q . "$work/host-state" || fail "the failed create left on the host: $(cat "$work/host-state")"
winc list --quiet
[ ! -s "$work/out" ] || fail "the failed create left a record: $(cat "$work/out")"

# When the namespace cannot be removed either, the error names it.
CFWIN_MOCK_HOST_FAIL=HcsCreateComputeSystem=0x80070005,HcnDeleteNamespace=0x80004005 \
  winc create -b "$(winepath_of "$work/bundles/$failing")" "$failing"
expect_rc 1 "create with failing HcsCreateComputeSystem and HcnDeleteNamespace"
grep -q "network namespace $failing_namespace was left behind" "$work/err" ||
  fail "the failed create did not name the namespace it left: $(cat "$work/err")"
winc delete --force "$failing"
expect_rc 0 "delete --force after a create that left its namespace"
! grep -q . "$work/host-state" || fail "delete --force left on the host: $(cat "$work/host-state")"

# A create of an id whose compute system exists (made under another --root)
# fails without deleting the namespace that system runs in.
taken=it-winc-taken
write_bundle "$taken" "[\"$(printf "%s" "$program" | tr '\\' '/')\", \"sleep\"]"
winc create -b "$(winepath_of "$work/bundles/$taken")" "$taken"
expect_rc 0 "create of $taken"
taken_namespace=$(namespace_guid "$taken")
set +e
"$wine" "$work/winc.exe" --root "$(winepath_of "$work/other-root")" create \
  -b "$(winepath_of "$work/bundles/$taken")" "$taken" >"$work/out" 2>"$work/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "create of $taken under another root exited $rc, expected 1"
grep -q "already exists\|ALREADY_EXISTS" "$work/err" ||
  fail "create of an existing compute system printed: $(cat "$work/err")"
grep -q "$taken_namespace" "$work/host-state" ||
  fail "the losing create deleted namespace $taken_namespace: $(cat "$work/host-state")"
winc delete --force "$taken"
expect_rc 0 "delete --force $taken"
! grep -q . "$work/host-state" || fail "delete --force $taken left: $(cat "$work/host-state")"

# A delete whose namespace step fails leaves no record that list shows but
# state cannot find; delete --force then removes the namespace.
halfgone=it-winc-halfgone
write_bundle "$halfgone" "[\"$(printf "%s" "$program" | tr '\\' '/')\", \"sleep\"]"
winc create -b "$(winepath_of "$work/bundles/$halfgone")" "$halfgone"
expect_rc 0 "create of $halfgone"
CFWIN_MOCK_HOST_FAIL=HcnDeleteNamespace=0x80004005 winc delete --force "$halfgone"
expect_rc 1 "delete --force with a failing HcnDeleteNamespace"
grep -q "delete --force $halfgone" "$work/err" ||
  fail "the failed delete did not say how to retry: $(cat "$work/err")"
winc list --quiet
! grep -q -x "$halfgone" "$work/out" || fail "list still shows $halfgone after its delete"
winc state "$halfgone"
expect_rc 1 "state of $halfgone after its delete"
winc delete --force "$halfgone"
expect_rc 0 "second delete --force of $halfgone"
! grep -q . "$work/host-state" || fail "delete --force $halfgone left: $(cat "$work/host-state")"

# ---- attached run: the exit code, then the container is gone ----
runner=it-winc-run
write_bundle "$runner" "[\"$(printf "%s" "$program" | tr '\\' '/')\", \"exit\", \"5\"]"
winc run --bundle "$(winepath_of "$work/bundles/$runner")" "$runner"
expect_rc 5 "attached run of mock_process exit 5"
winc state "$runner"
grep -q -x "container not found: $runner" "$work/err" || fail "run left $runner: $(cat "$work/err")"
! grep -q . "$work/host-state" || fail "attached run left on the host: $(cat "$work/host-state")"

# ---- attached run whose process fails to start: nothing is left ----
failed_run=it-winc-run-fails
write_bundle "$failed_run" "[\"$(printf "%s" "$program" | tr '\\' '/')\", \"exit\", \"0\"]"
CFWIN_MOCK_HOST_FAIL=HcsCreateProcess=0x80004005 \
  winc run --bundle "$(winepath_of "$work/bundles/$failed_run")" "$failed_run"
expect_rc 1 "run with a failing HcsCreateProcess"
grep -q "could not start command" "$work/err" ||
  fail "the failed run gave no start error: $(cat "$work/err")"
! grep -q . "$work/host-state" || fail "the failed run left on the host: $(cat "$work/host-state")"
winc list --quiet
[ ! -s "$work/out" ] || fail "the failed run left a record: $(cat "$work/out")"

# ---- detached run, as Guardian starts a sandbox ----
sandbox=it-winc-sandbox
write_bundle "$sandbox" "[\"$(printf "%s" "$program" | tr '\\' '/')\", \"sleep\"]"
winc run --detach --no-new-keyring --bundle "$(winepath_of "$work/bundles/$sandbox")" \
  --pid-file "$(winepath_of "$work/sandbox.pid")" "$sandbox"
expect_rc 0 "run --detach"
doc=$(documents HcsCreateProcess | tail -n 1)
check_field '.CreateStdInPipe' false
check_field '.CreateStdOutPipe' false
winc state "$sandbox"
[ "$(jq -r .status "$work/out")" = running ] || fail "state after run --detach: $(cat "$work/out")"
[ "$(jq -r .pid "$work/out")" = "$(cat "$work/sandbox.pid")" ] ||
  fail "the pid file of run --detach is not the state's pid"

# A pea joins its sandbox's namespace and is deleted with it.
pea=it-winc-pea
write_bundle "$pea" "[\"$(printf "%s" "$program" | tr '\\' '/')\", \"sleep\"]" \
  "{\"networkSharedContainerName\": \"$sandbox\"}"
winc run --detach --bundle "$(winepath_of "$work/bundles/$pea")" "$pea"
expect_rc 0 "run --detach of a pea"
doc=$(documents HcsCreateComputeSystem | tail -n 1)
check_field '.Owner' "\"$sandbox\""
check_field '.Container.Networking.Namespace' "\"$(namespace_guid "$sandbox")\""
jq -s -e --arg ns "$(namespace_guid "$pea")" 'any(.[]; .call == "HcnCreateNamespace" and .id == $ns)' \
  "$work/calls.jsonl" >/dev/null && fail "the pea got a namespace of its own"
winc delete --force "$sandbox"
expect_rc 0 "delete --force of a running container"
winc state "$pea"
grep -q -x "container not found: $pea" "$work/err" || fail "deleting $sandbox left its pea: $(cat "$work/err")"
jq -s -e --arg id "$sandbox" 'any(.[]; .call == "HcsShutDownComputeSystem" and .id == $id)' \
  "$work/calls.jsonl" >/dev/null || fail "delete --force did not shut the sandbox down"
! grep -q . "$work/host-state" || fail "delete --force left on the host: $(cat "$work/host-state")"

# ---- a start that cannot create the process leaves a stopped container ----
broken=it-winc-broken
write_bundle "$broken" '["C:/no/such-init"]'
winc create --bundle "$(winepath_of "$work/bundles/$broken")" "$broken"
expect_rc 0 "create with a missing init program"
winc start "$broken"
expect_rc 1 "start of a missing init program"
grep -q "could not start command 'C:\\\\no\\\\such-init.exe' in container: $broken\$" "$work/err" ||
  fail "start of a missing init program printed: $(cat "$work/err")"
winc state "$broken"
[ "$(jq -r .status "$work/out")" = stopped ] || fail "state after a failed start: $(cat "$work/out")"
winc delete "$broken"
expect_rc 0 "delete after a failed start"

# ---- a namespace named by the bundle is used, never created or deleted ----
named=it-winc-named
given=3f2504e0-4f89-11d3-9a0c-0305e82c3301
write_bundle "$named" '["cmd.exe"]' "{\"networkNamespace\": \"$given\"}"
winc create --bundle "$(winepath_of "$work/bundles/$named")" "$named"
expect_rc 0 "create in a named namespace"
doc=$(documents HcsCreateComputeSystem | tail -n 1)
check_field '.Container.Networking.Namespace' "\"$given\""
winc delete "$named"
expect_rc 0 "delete of a container in a named namespace"
jq -s -e --arg ns "$given" 'any(.[]; (.call == "HcnCreateNamespace" or .call == "HcnDeleteNamespace")
  and .id == $ns)' "$work/calls.jsonl" >/dev/null && fail "the runtime created or deleted namespace $given"
! grep -q . "$work/host-state" || fail "the named namespace test left: $(cat "$work/host-state")"

if [ "$status" = 0 ]; then
  echo "it_winc: the winc commands passed under Wine with the mock host DLLs"
fi
exit "$status"
