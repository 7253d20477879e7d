#!/bin/bash
# Benchmark: the network role's host-port allocation (bench/port-alloc.c),
# 4000 allocations from the default pool against winc-network's target of
# a mean under 1.5 ms. Builds the store and base libraries in build/ and
# the benchmark program next to them, then runs it.
# Usage: bench/port-alloc.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target cfwin_store cfwin_base >/dev/null
cc -std=gnu17 -D_GNU_SOURCE -O2 -Wall -Wextra -Iinternal -o "$build/bench-port-alloc" \
  bench/port-alloc.c "$build/libcfwin_store.a" "$build/libcfwin_base.a" \
  $(pkg-config --libs sqlite3 jansson) -lmbedcrypto -lpthread
"$build/bench-port-alloc"
