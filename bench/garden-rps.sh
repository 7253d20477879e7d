#!/bin/bash
# Benchmark: requests per second of `cfwin serve` for GET /ping and for GET
# /containers/H/info, with a new TCP connection per request as the Go Garden
# client makes, against nginx serving a static `{}` file on loopback.
# nginx runs as this script's own process (one worker, as cfwin serves from
# one event loop thread), with its own config and prefix under a temporary
# directory. The load generator is bench/garden-load.c.
# Target: at least half of nginx's requests per second.
# Usage: bench/garden-rps.sh [REQUESTS] [THREADS] [BUILD_DIR]
#        (as root; defaults 20000 requests, 4 threads, build dir build-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-20000}
threads=${2:-4}
build=${3:-build-bench}

work=$(mktemp -d /tmp/cfwin-bench-rps-XXXXXX)
garden_pid=
nginx_pid=
cleanup() {
  if [ -n "$nginx_pid" ]; then
    kill -TERM "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  garden_stop
  rm -rf "$work"
}
trap cleanup EXIT
. bench/garden-common.sh

# nginx from Debian's package, unpacked under the work directory: apt fetches
# it, and no maintainer script runs, so no system-wide nginx service starts.
(cd "$work" && apt-get download -q nginx >/dev/null 2>&1)
dpkg-deb -x "$work"/nginx_*.deb "$work/nginx-root"
nginx=$work/nginx-root/usr/sbin/nginx

garden_build
cc -std=gnu17 -O2 -Wall -Wextra -o "$build/garden-load" bench/garden-load.c -lpthread
garden_start
garden_call POST /containers '{"handle":"bench-info"}' >/dev/null

nginx_port=$(garden_free_port)
mkdir -p "$work/nginx/www" "$work/nginx/logs"
printf '{}\n' >"$work/nginx/www/ping"
cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/nginx/www;
    default_type application/json;
  }
}
CONF
"$nginx" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$nginx_port/ping" >/dev/null 2>&1 && break
  sleep 0.1
done

# Prints the requests per second of one run: measure PORT PATH.
measure() {
  "$build/garden-load" 127.0.0.1 "$1" "$2" "$requests" "$threads" | awk '{ print $NF }'
}

# Prints the median of the numbers given.
median() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
    END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# A warm-up run of each, then $rounds interleaved rounds of the three.
rounds=5
measure "$garden_port" /ping >/dev/null
measure "$nginx_port" /ping >/dev/null
ping_runs=()
info_runs=()
nginx_runs=()
for _ in $(seq "$rounds"); do
  ping_runs+=($(measure "$garden_port" /ping))
  nginx_runs+=($(measure "$nginx_port" /ping))
  info_runs+=($(measure "$garden_port" /containers/bench-info/info))
done
ping_rps=$(median "${ping_runs[@]}")
info_rps=$(median "${info_runs[@]}")
nginx_rps=$(median "${nginx_runs[@]}")

echo "requests per run: $requests, $threads client threads, new connection per request"
echo "medians of $rounds interleaved rounds (all runs: ping ${ping_runs[*]};" \
  "info ${info_runs[*]}; nginx ${nginx_runs[*]})"
printf '%-32s %8s req/s\n' "cfwin GET /ping" "$ping_rps" "cfwin GET /containers/H/info" \
  "$info_rps" "nginx 1.22 static {}" "$nginx_rps"
awk -v p="$ping_rps" -v i="$info_rps" -v n="$nginx_rps" 'BEGIN {
  printf "ratio ping/nginx: %.2f   info/nginx: %.2f   (target: at least 0.50)\n", p / n, i / n }'
