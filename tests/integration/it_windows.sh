#!/bin/sh
# Checks the mingw-w64 build of cfwin.exe: it imports only Windows system
# DLLs, and under Wine `version`, `help`, `serve` (it_windows_serve.sh),
# `network up`, `runtime` and `image` behave as on a Windows host without
# the Containers feature. When cfwin.exe has the client role, `client ping`
# must reach a Linux `cfwin serve` on loopback. Then it_windows_image.sh
# runs the image role with a recording vmcompute.dll, it_winc.sh the
# runtime role against mock host DLLs and it_windows_garden.sh containers
# through `serve` against both.
# Usage: tests/integration/it_windows.sh MINGW_BUILD_DIR [LINUX_CFWIN]
# Exits 77 (skip) for the Wine part when wine64 is not installed.
set -eu

build=${1:?usage: it_windows.sh MINGW_BUILD_DIR [LINUX_CFWIN]}
linux_cfwin=${2:-}
exe="$build/cfwin.exe"
status=0

fail() {
  echo "it_windows: $*" >&2
  status=1
}

if [ ! -f "$exe" ]; then
  echo "it_windows: $exe is missing; configure $build with -DCFWIN_WINDOWS_EXE=ON" >&2
  exit 1
fi

# DLLs present on every Windows host that cfwin may import at link time.
# computecore, computenetwork and vmcompute are loaded at run time instead.
system_dlls='kernel32|advapi32|msvcrt|ws2_32|user32|ole32|oleaut32|bcrypt|crypt32|secur32'
system_dlls="$system_dlls|iphlpapi|shell32|userenv|dbghelp|psapi|ntdll|shlwapi|rpcrt4"
for program in $(find "$build" -name '*.exe' -not -path '*/CMakeFiles/*'); do
  for dll in $(x86_64-w64-mingw32-objdump -p "$program" | awk '/DLL Name:/ {print $3}'); do
    name=$(echo "$dll" | tr 'A-Z' 'a-z' | sed 's/\.dll$//')
    if ! echo "$name" | grep -E -q -x "$system_dlls|api-ms-win-.*"; then
      fail "$(basename "$program") imports $dll, which is not a Windows system DLL"
    fi
  done
done
[ "$status" = 0 ] && echo "it_windows: every .exe imports only Windows system DLLs"

wine=$(command -v wine64 || true)
if [ -z "$wine" ] && [ -x /usr/lib/wine/wine64 ]; then
  wine=/usr/lib/wine/wine64 # Debian's wine64 package without the wine wrapper
fi
if [ -z "$wine" ]; then
  echo "it_windows: wine64 is not installed; skipping the Wine checks" >&2
  [ "$status" = 0 ] && exit 77
  exit "$status"
fi

work=$(mktemp -d /tmp/cfwin-wine-XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  # The prefix's wineserver exits by itself once its programs have ended.
  WINEPREFIX="$work/prefix" "$(dirname "$wine")/wineserver64" -w 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="

# Prints the Windows path of a Unix path: Wine maps / to drive Z:.
winepath_of() {
  echo "Z:$1" | tr '/' '\\'
}

# Runs cfwin.exe with the given arguments; stdout and stderr go to
# $work/out and $work/err, the exit status to $rc.
run_exe() {
  set +e
  "$wine" "$exe" "$@" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
}

# Sends bytes that a text-mode C runtime would change (CR LF, Ctrl-Z, NUL,
# a lone LF) through cfwin.exe's client to a container of the Linux server
# and back: stdin and stdout of `run`, then `stream-in` and `stream-out`.
# Needs root and cfwin-mkimage next to the Linux cfwin for the container.
check_binary_streams() {
  target=$1
  mkimage="$(dirname "$linux_cfwin")/cfwin-mkimage"
  if [ "$(id -u)" != 0 ] || [ ! -x "$mkimage" ]; then
    echo "it_windows: binary streams not tested (needs root and $mkimage)" >&2
    return 0
  fi
  "$mkimage" "$work/depot/default-rootfs" >/dev/null
  "$linux_cfwin" client -t "$target" create --handle binary >/dev/null ||
    { fail "the Linux client could not create the container binary"; return 0; }
  printf 'a\r\nb\032c\000d\ne' >"$work/bytes"
  set +e
  "$wine" "$exe" client -t "$target" run binary -- cat <"$work/bytes" >"$work/echoed" 2>"$work/err"
  rc=$?
  set -e
  [ "$rc" = 0 ] || fail "cfwin.exe client run cat exited $rc: $(cat "$work/err")"
  cmp -s "$work/bytes" "$work/echoed" ||
    fail "client run changed the bytes: sent $(od -c "$work/bytes"), got $(od -c "$work/echoed")"

  mkdir -p "$work/tree"
  head -c 100000 /dev/urandom >"$work/tree/random"
  tar -C "$work/tree" -cf "$work/in.tar" random
  set +e
  "$wine" "$exe" client -t "$target" stream-in binary --to /tmp <"$work/in.tar" 2>"$work/err"
  in_rc=$?
  "$wine" "$exe" client -t "$target" stream-out binary --from /tmp/random >"$work/out.tar" \
    2>"$work/err"
  out_rc=$?
  set -e
  [ "$in_rc" = 0 ] || fail "cfwin.exe client stream-in exited $in_rc: $(cat "$work/err")"
  [ "$out_rc" = 0 ] || fail "cfwin.exe client stream-out exited $out_rc: $(cat "$work/err")"
  mkdir -p "$work/back"
  if tar -C "$work/back" -xf "$work/out.tar" 2>"$work/err"; then
    cmp -s "$work/tree/random" "$work/back/random" ||
      fail "stream-in and stream-out through cfwin.exe changed the file"
  else
    fail "stream-out through cfwin.exe gave no valid tar: $(cat "$work/err")"
  fi
  "$linux_cfwin" client -t "$target" destroy binary >/dev/null ||
    fail "the Linux client could not destroy the container binary"
}

run_exe version --json
[ "$rc" = 0 ] || fail "cfwin.exe version --json exited $rc: $(cat "$work/err")"
grep -q '"target": "x86_64-windows"' "$work/out" || fail "version --json: no Windows target"
grep -q '"static": true' "$work/out" || fail "version --json: not static"

run_exe version
[ "$rc" = 0 ] || fail "cfwin.exe version exited $rc"
head -n 1 "$work/out" | grep -q '^cfwin [0-9]' || fail "version printed: $(head -n 1 "$work/out")"

run_exe help
[ "$rc" = 0 ] || fail "cfwin.exe help exited $rc"
grep -q 'serve' "$work/out" || fail "help does not list serve"

# The Garden server from the console and as a Wine service.
"$(dirname "$0")/it_windows_serve.sh" "$exe" "$wine" "$work" "$linux_cfwin" ||
  fail "it_windows_serve.sh failed"

# The network role reaches the HCN backend, which must name the missing
# computenetwork.dll instead of failing somewhere else.
printf '{"network_name":"winc-nat","subnet_range":"172.30.0.0/22","gateway_address":"172.30.0.1"}' \
  >"$work/network.json"
set +e
echo '{"Pid":1234,"Properties":{}}' |
  "$wine" "$exe" network --configFile "$(winepath_of "$work/network.json")" --action up \
    --handle it-windows >"$work/out" 2>"$work/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "cfwin.exe network up exited $rc, expected 1"
grep -q 'computenetwork.dll' "$work/err" ||
  fail "network up printed no message about computenetwork.dll: $(cat "$work/err")"
# The system message inside it must not break the line.
grep -q 'computenetwork.dll.*Install-WindowsFeature' "$work/err" ||
  fail "network up split its message over lines: $(cat "$work/err")"

# The runtime role: its help works without HCS, and `state`, `create` and
# `delete` must name the missing computecore.dll.
run_exe runtime --help
[ "$rc" = 0 ] || fail "cfwin.exe runtime --help exited $rc: $(cat "$work/err")"
grep -q 'state' "$work/out" || fail "runtime --help does not list state: $(cat "$work/out")"
for command in "state it-windows" "create it-windows" "delete it-windows"; do
  # shellcheck disable=SC2086 # the command and its argument are two words
  run_exe runtime $command
  [ "$rc" = 1 ] || fail "cfwin.exe runtime $command exited $rc, expected 1"
  grep -q 'computecore.dll' "$work/err" ||
    fail "runtime $command printed no message about computecore.dll: $(cat "$work/err")"
done

# The same role under the plugin name winc.exe, picked from argv[0].
cp "$exe" "$work/winc.exe"
set +e
"$wine" "$work/winc.exe" state it-windows >"$work/out" 2>"$work/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "winc.exe state exited $rc, expected 1"
grep -q 'computecore.dll' "$work/err" ||
  fail "winc.exe state printed no message about computecore.dll: $(cat "$work/err")"

# The image role: help works, and create, delete and stats must name the
# missing vmcompute.dll. groot prints its errors on stdout.
store=$(winepath_of "$work/store")
run_exe image --help
[ "$rc" = 0 ] || fail "cfwin.exe image --help exited $rc: $(cat "$work/err")"
grep -q 'driver-store' "$work/out" || fail "image --help does not name --driver-store"
for command in "create oci:///none it-windows" "delete it-windows" "stats it-windows"; do
  # shellcheck disable=SC2086 # the command and its arguments are separate words
  run_exe image --driver-store "$store" $command
  [ "$rc" = 1 ] || fail "cfwin.exe image $command exited $rc, expected 1"
  grep -q 'vmcompute.dll' "$work/out" ||
    fail "image $command printed no message about vmcompute.dll: $(cat "$work/out" "$work/err")"
done
run_exe image create oci:///none it-windows
[ "$rc" = 1 ] || fail "cfwin.exe image create without --driver-store exited $rc, expected 1"
grep -q -- '--driver-store is required' "$work/out" ||
  fail "image create without --driver-store printed: $(cat "$work/out")"

# pull, create, stats and delete end to end with the recording
# vmcompute.dll in this prefix's System32. It comes after the checks above,
# which need a prefix without vmcompute.dll.
set +e
WINE="$wine" sh "$(dirname "$0")/it_windows_image.sh" "$build"
image_rc=$?
set -e
if [ "$image_rc" = 77 ]; then
  echo "it_windows: the image role's end-to-end checks were skipped" >&2
elif [ "$image_rc" != 0 ]; then
  fail "tests/integration/it_windows_image.sh exited $image_rc"
fi

run_exe client ping
if grep -q 'client role is not built' "$work/err"; then
  echo "it_windows: cfwin.exe has no client role yet; client ping not tested" >&2
elif [ -z "$linux_cfwin" ]; then
  echo "it_windows: no Linux cfwin given; client ping not tested" >&2
else
  port=$((20000 + $$ % 20000))
  "$linux_cfwin" serve --bind-ip 127.0.0.1 --bind-port "$port" --depot "$work/depot" \
    --disable-network >"$work/server.log" 2>&1 &
  server_pid=$!
  tries=0
  until "$linux_cfwin" client -t "127.0.0.1:$port" ping >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then
      fail "the Linux server on 127.0.0.1:$port did not answer: $(tail -n 5 "$work/server.log")"
      break
    fi
    sleep 0.1
  done
  run_exe client -t "127.0.0.1:$port" ping
  [ "$rc" = 0 ] || fail "cfwin.exe client ping exited $rc: $(cat "$work/err")"
  check_binary_streams "127.0.0.1:$port"
fi

# The runtime role end to end, against mock host DLLs in a prefix of its
# own.
set +e
sh "$(dirname "$0")/it_winc.sh" "$build"
winc_rc=$?
set -e
if [ "$winc_rc" = 77 ]; then
  echo "it_windows: it_winc.sh skipped" >&2
elif [ "$winc_rc" != 0 ]; then
  fail "it_winc.sh failed with status $winc_rc"
fi

# Containers through `cfwin.exe serve`, against the mock host DLLs in a
# prefix of its own.
set +e
sh "$(dirname "$0")/it_windows_garden.sh" "$build" "$linux_cfwin"
garden_rc=$?
set -e
if [ "$garden_rc" = 77 ]; then
  echo "it_windows: it_windows_garden.sh skipped" >&2
elif [ "$garden_rc" != 0 ]; then
  fail "it_windows_garden.sh failed with status $garden_rc"
fi

if [ "$status" = 0 ]; then
  echo "it_windows: cfwin.exe passed under Wine"
fi
exit "$status"
