#!/bin/bash
# Benchmark: resident memory of `cfwin serve` per idle container. Starts a
# server of its own (without container networking), reads its VmRSS after a
# ping with no container, creates 50 containers that run nothing but their
# init, reads VmRSS again and prints the growth per container. It also prints
# the memory of the 50 container init processes, which the server does not
# own: their RSS, and their PSS, which splits pages they share (the cfwin
# binary they run) between the processes that map them.
# No target was set; the figure is recorded in docs/benchmarks.md.
# Usage: bench/garden-memory.sh [CONTAINERS] [BUILD_DIR]
#        (as root; defaults 50 containers, build dir build-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
containers=${1:-50}
build=${2:-build-bench}

work=$(mktemp -d /tmp/cfwin-bench-memory-XXXXXX)
garden_pid=
trap 'garden_stop; rm -rf "$work"' EXIT
. bench/garden-common.sh

garden_build
garden_start
garden_call GET /ping >/dev/null
# A first container and its destroy load the image and warm the allocator.
garden_call POST /containers '{"handle":"bench-warm"}' >/dev/null
garden_call DELETE /containers/bench-warm >/dev/null
rss_empty=$(rss_kib "$garden_pid")
for i in $(seq "$containers"); do
  garden_call POST /containers "{\"handle\":\"bench-idle-$i\"}" >/dev/null
done
garden_call GET /ping >/dev/null
rss_full=$(rss_kib "$garden_pid")
init_count=0
init_rss=0
init_pss=0
for pid in $(pgrep -P "$garden_pid" || true); do
  # A child that exits between pgrep and the reads is skipped.
  rss=$(rss_kib "$pid" 2>/dev/null) || continue
  pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
  init_count=$((init_count + 1))
  init_rss=$((init_rss + rss))
  init_pss=$((init_pss + pss))
done

echo "cfwin serve RSS with 0 containers:  $rss_empty KiB"
echo "cfwin serve RSS with $containers containers: $rss_full KiB"
awk -v a="$rss_empty" -v b="$rss_full" -v n="$containers" \
  'BEGIN { printf "server memory per idle container: %.1f KiB (no target set)\n", (b - a) / n }'
echo "container init processes ($init_count): RSS $init_rss KiB, PSS $init_pss KiB in total"
