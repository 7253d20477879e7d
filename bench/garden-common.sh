#!/bin/bash
# Shared steps of the Garden benchmarks (sourced, not run): build cfwin in
# release mode, make a busybox OCI image, and start and stop a `cfwin serve`
# of its own on loopback with a depot under the work directory.
# The caller sets $build and $work and installs the EXIT trap that calls
# garden_stop.

garden_build() {
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" --target cfwin cfwin-mkimage cfwin_garden >/dev/null
}

# Prints a TCP port on 127.0.0.1 that was free a moment ago.
garden_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts `cfwin serve` on 127.0.0.1:$garden_port and $work/garden.sock, without
# container networking, and waits until it responds to ping. Sets garden_pid.
garden_start() {
  "$build/cfwin-mkimage" "$work/image" latest >/dev/null
  garden_port=$(garden_free_port)
  "$build/cfwin" serve --bind-ip 127.0.0.1 --bind-port "$garden_port" \
    --bind-socket "$work/garden.sock" --depot "$work/depot" \
    --default-rootfs "oci://$work/image:latest" --disable-network --log-level error \
    >"$work/garden.log" 2>&1 &
  garden_pid=$!
  for _ in $(seq 300); do
    if curl -sf --unix-socket "$work/garden.sock" http://api/ping >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "cfwin serve did not respond to ping within 30 s; see $work/garden.log" >&2
  return 1
}

# Sends one Garden call over the unix socket: garden_call METHOD PATH [BODY].
garden_call() {
  curl -sS --fail-with-body --unix-socket "$work/garden.sock" -X "$1" ${3:+-d "$3"} "http://api$2"
}

# Destroys every container, then stops the server by its pid.
garden_stop() {
  if [ -n "${garden_pid:-}" ] && kill -0 "$garden_pid" 2>/dev/null; then
    for handle in $(garden_call GET '/containers?garden.state=all' |
      python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)["Handles"]))'); do
      garden_call DELETE "/containers/$handle" >/dev/null || true
    done
    kill -TERM "$garden_pid"
    wait "$garden_pid" || true
  fi
  garden_pid=
}

# Resident memory of a process in KiB.
rss_kib() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}
