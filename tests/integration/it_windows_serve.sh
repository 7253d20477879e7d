#!/bin/sh
# Checks `cfwin.exe serve` under Wine, which has no Host Compute Service:
# the help and the flag errors, and that serve stops at start naming the
# missing service. Then the build's mock computecore.dll (mocks/, whose
# calls all fail) goes into the prefix's system32. With it a console server
# on loopback must serve the Linux and the Windows client: ping, capacity,
# list and the Garden errors for unknown handles. A create must fail at the
# image storage, since this prefix has no vmcompute.dll, and store nothing.
# The console server must stop cleanly on Ctrl-C (SIGINT, which Wine turns
# into a console Ctrl-C event), and the same server as a Wine service on
# `sc stop`. The mock is removed at the end, because the checks after this
# script expect no computecore.dll. it_windows_garden.sh runs whole
# containers. it_windows.sh calls this script with its Wine setup in the
# environment.
# Usage: it_windows_serve.sh CFWIN_EXE WINE WORK_DIR [LINUX_CFWIN]
set -eu

exe=${1:?usage: it_windows_serve.sh CFWIN_EXE WINE WORK_DIR [LINUX_CFWIN]}
wine=${2:?usage: it_windows_serve.sh CFWIN_EXE WINE WORK_DIR [LINUX_CFWIN]}
work=${3:?usage: it_windows_serve.sh CFWIN_EXE WINE WORK_DIR [LINUX_CFWIN]}
linux_cfwin=${4:-}
status=0
server_pid=""
service="cfwin-serve-it-$$"

fail() {
  echo "it_windows_serve: $*" >&2
  status=1
}

mock_installed=""

cleanup() {
  if [ -n "$mock_installed" ]; then
    rm -f "$mock_installed"
  fi
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  "$wine" sc stop "$service" >/dev/null 2>&1 || true
  "$wine" sc delete "$service" >/dev/null 2>&1 || true
}
trap cleanup EXIT

winepath_of() {
  echo "Z:$1" | tr '/' '\\'
}

# Prints a TCP port on 127.0.0.1 that nothing listens on, as the kernel
# picks it. Without python3 it prints one port derived from the process id,
# which another program may hold; the servers here run one after another.
free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    return
  fi
  echo $((20000 + $$ % 20000))
}

# Runs cfwin.exe; stdout and stderr go to $work/out and $work/err, the exit
# status to $rc.
run_exe() {
  set +e
  "$wine" "$exe" "$@" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
}

# Runs a client (the Linux binary, or "exe" for cfwin.exe) against the
# server at 127.0.0.1:$port, with the same outputs as run_exe.
run_client() {
  client=$1
  shift
  if [ "$client" = exe ]; then
    run_exe client -t "127.0.0.1:$port" "$@"
    return
  fi
  set +e
  "$client" client -t "127.0.0.1:$port" "$@" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
}

# Waits until the server at 127.0.0.1:$port responds to ping, at most 120
# tries half a second apart, because Wine starts slowly on a new prefix.
wait_for_server() {
  tries=0
  until run_client "${linux_cfwin:-exe}" ping && [ "$rc" = 0 ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 120 ]; then
      return 1
    fi
    sleep 0.5
  done
}

run_exe serve --help
[ "$rc" = 0 ] || fail "serve --help exited $rc: $(cat "$work/err")"
for flag in --bind-ip --bind-port --depot --tls-cert --max-containers --network-pool; do
  grep -q -- "$flag" "$work/out" || fail "serve --help does not list $flag"
done
grep -q 'listens on TCP only' "$work/out" ||
  fail "serve --help does not say that cfwin.exe listens on TCP only"

run_exe serve --no-such-flag
[ "$rc" = 2 ] || fail "serve --no-such-flag exited $rc, expected 2"
grep -q -- 'unknown option --no-such-flag' "$work/err" ||
  fail "serve --no-such-flag printed: $(cat "$work/err")"

run_exe serve --bind-socket /tmp/garden.sock --depot "$(winepath_of "$work/depot-socket")"
[ "$rc" = 1 ] || fail "serve --bind-socket exited $rc, expected 1"
grep -q 'listens on TCP only' "$work/err" || fail "serve --bind-socket printed: $(cat "$work/err")"

# Starts a server from the console with depot $1, logging to $work/serve.log,
# and waits until it responds; exits the script when it does not.
start_console_server() {
  depot=$1
  port=$(free_port)
  "$wine" "$exe" serve --bind-ip 127.0.0.1 --bind-port "$port" --depot "$(winepath_of "$depot")" \
    >"$work/serve.log" 2>&1 &
  server_pid=$!
  if ! wait_for_server; then
    fail "the console server on 127.0.0.1:$port did not respond: $(tail -n 5 "$work/serve.log")"
    exit "$status"
  fi
}

# Stops the console server with Ctrl-C (SIGINT, which Wine turns into a
# console Ctrl-C event) and checks that it exits 0 after logging the stop.
stop_console_server() {
  kill -INT "$server_pid"
  set +e
  wait "$server_pid"
  rc=$?
  set -e
  server_pid=""
  [ "$rc" = 0 ] || fail "the console server exited $rc after Ctrl-C, expected 0"
  grep -q '"guardian.stopped"' "$work/serve.log" ||
    fail "the console server logged no stop: $(tail -n 3 "$work/serve.log")"
}

# Without the Host Compute Service the server stops at start.
run_exe serve --bind-ip 127.0.0.1 --bind-port "$(free_port)" \
  --depot "$(winepath_of "$work/no-hcs-depot")"
[ "$rc" = 1 ] || fail "serve without the Host Compute Service exited $rc, expected 1"
grep -q 'Host Compute Service is not available' "$work/err" ||
  fail "serve without the Host Compute Service printed: $(cat "$work/err")"

mock="$(dirname "$exe")/mocks/computecore.dll"
system32="${WINEPREFIX:-}/drive_c/windows/system32"
if [ ! -f "$mock" ] || [ ! -d "$system32" ] || [ -e "$system32/computecore.dll" ]; then
  fail "no mock computecore.dll at $mock, or $system32 has a computecore.dll already"
  exit "$status"
fi
cp "$mock" "$system32/computecore.dll"
mock_installed="$system32/computecore.dll"

start_console_server "$work/serve-depot"
[ -f "$depot/cfwin.db" ] || fail "the server made no store at $depot/cfwin.db"

clients="exe"
[ -n "$linux_cfwin" ] && clients="$linux_cfwin exe"
for client in $clients; do
  name=$(basename "$client")
  run_client "$client" ping
  [ "$rc" = 0 ] || fail "$name client ping exited $rc: $(cat "$work/err")"
  run_client "$client" --json capacity
  [ "$rc" = 0 ] || fail "$name client capacity exited $rc: $(cat "$work/err")"
  grep -q '"memory_in_bytes": *[1-9]' "$work/out" ||
    fail "$name client capacity has no memory: $(cat "$work/out")"
  grep -q '"max_containers": *256' "$work/out" ||
    fail "$name client capacity has not the default 256 containers: $(cat "$work/out")"
  run_client "$client" --json list
  [ "$rc" = 0 ] || fail "$name client list exited $rc: $(cat "$work/err")"
  grep -q '"Handles": *\[\]' "$work/out" || fail "$name client list is not empty: $(cat "$work/out")"

  run_client "$client" create --handle it-serve
  [ "$rc" = 1 ] || fail "$name client create exited $rc, expected 1"
  grep -q 'vmcompute.dll could not be loaded' "$work/err" ||
    fail "$name client create printed no message about vmcompute.dll: $(cat "$work/err")"
  run_client "$client" --json list
  grep -q '"Handles": *\[\]' "$work/out" ||
    fail "$name client list after the failed create is not empty: $(cat "$work/out")"
  if [ -n "$(ls -A "$depot/containers")" ]; then
    fail "the failed create left $(ls "$depot/containers") in $depot/containers"
  fi

  for command in "info it-none" "destroy it-none" "metrics it-none"; do
    # shellcheck disable=SC2086 # the command and its handle are two words
    run_client "$client" $command
    [ "$rc" = 1 ] || fail "$name client $command exited $rc, expected 1"
    grep -q 'unknown handle: it-none' "$work/err" ||
      fail "$name client $command printed: $(cat "$work/err")"
  done
done
if command -v sqlite3 >/dev/null; then
  count=$(sqlite3 "$depot/cfwin.db" 'SELECT count(*) FROM containers' 2>&1)
  [ "$count" = 0 ] || fail "the store holds $count containers after the failed creates"
fi

stop_console_server

# The same server run by Wine's service control manager: it must report
# RUNNING once it listens and STOPPED after `sc stop`, without the
# service-specific error (1066) of a failed run. `sc` prints the status
# the service reported last, so it is queried again until the service is
# in the expected state (at most 60 times, half a second apart).
wait_for_state() {
  tries=0
  until grep -q "STATE *: *$1 " "$work/sc"; do
    tries=$((tries + 1))
    [ "$tries" -gt 60 ] && return 1
    sleep 0.5
    "$wine" sc query "$service" >"$work/sc" 2>&1 || true
  done
}
port=$(free_port)
exe_path=$(winepath_of "$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")")
set +e
"$wine" sc create "$service" binPath= "$exe_path serve --bind-ip 127.0.0.1 --bind-port $port \
--depot $(winepath_of "$work/service-depot")" >"$work/sc" 2>&1
"$wine" sc start "$service" >"$work/sc" 2>&1
set -e
if ! wait_for_state 4; then
  fail "serve as a service did not report RUNNING: $(cat "$work/sc"); $(ls "$work"); $(tail -n 3 "$work"/service-depot/*.log 2>/dev/null)"
elif ! wait_for_server; then
  fail "serve as a service did not answer ping on 127.0.0.1:$port"
fi
"$wine" sc stop "$service" >"$work/sc" 2>&1 || true
if ! wait_for_state 1; then
  fail "serve as a service did not stop after sc stop: $(cat "$work/sc")"
fi
if grep -q 'WIN32_EXIT_CODE *: *1066' "$work/sc"; then
  fail "serve as a service stopped with a service-specific error: $(cat "$work/sc")"
fi
run_client "${linux_cfwin:-exe}" ping
[ "$rc" != 0 ] || fail "the stopped service still answers ping on 127.0.0.1:$port"

rm -f "$mock_installed"
mock_installed=""

[ "$status" = 0 ] && echo "it_windows_serve: cfwin.exe serve passed under Wine"
exit "$status"
