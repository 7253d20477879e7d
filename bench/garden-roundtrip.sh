#!/bin/bash
# Benchmark: the full Garden round trip a user makes for a short task,
# create -> run `true` -> destroy through the Garden API of `cfwin serve`
# (bench/garden-roundtrip.c, over the unix socket), against Debian's runc
# running `true` in a bundle of the same busybox, with `runc run`, which
# deletes the container when it exits (runc's spelling of `--rm`).
# The server runs without container networking (--disable-network), since
# the runc bundle gets no network either.
# Rounds are interleaved so both see the same machine state. Prints the
# median and mean of each and the ratio. Target: at most runc's time.
# Usage: bench/garden-roundtrip.sh [ROUNDS] [BUILD_DIR]
#        (as root; defaults 30 rounds, build dir build-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-30}
build=${2:-build-bench}

work=$(mktemp -d /tmp/cfwin-bench-roundtrip-XXXXXX)
garden_pid=
trap 'garden_stop; rm -rf "$work"' EXIT
. bench/garden-common.sh

dpkg-query -W -f='${Status}' runc 2>/dev/null | grep -q "ok installed" ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q runc >/dev/null
garden_build
cc -std=gnu17 -D_GNU_SOURCE -O2 -Wall -Wextra -Iinternal -o "$build/garden-roundtrip" \
  bench/garden-roundtrip.c "$build/libcfwin_garden.a" "$build/libcfwin_base.a" \
  $(pkg-config --libs jansson) -lhttp_parser -lmbedtls -lmbedx509 -lmbedcrypto -lpthread
garden_start

# The runc bundle: the same busybox binary the server's image is made of,
# and the config `runc spec` writes, with the terminal off and `true` to run.
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/sys" \
  "$bundle/rootfs/dev" "$bundle/rootfs/tmp"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
ln -s busybox "$bundle/rootfs/bin/sh"
(cd "$bundle" && runc spec)
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/true"]
json.dump(spec, open(path, "w"), indent=2)
PY
runc_root=$work/runc-root
mkdir -p "$runc_root"

now_ns() { date +%s%N; }

garden_times=()
create_times=()
run_times=()
destroy_times=()
runc_times=()
for round in $(seq "$rounds"); do
  read -r total create run destroy < <("$build/garden-roundtrip" "$work/garden.sock" "bench-$round")
  garden_times+=("$total")
  create_times+=("$create")
  run_times+=("$run")
  destroy_times+=("$destroy")
  start=$(now_ns)
  runc --root "$runc_root" run --bundle "$bundle" "bench-runc-$round" </dev/null >/dev/null
  runc_times+=($(($(now_ns) - start)))
done

# Prints the median and the mean, in ms, of the nanosecond figures given.
stats() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1; sum += $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
          printf "%.2f %.2f\n", m / 1e6, sum / NR / 1e6 }'
}
read -r garden_median garden_mean < <(stats "${garden_times[@]}")
read -r runc_median runc_mean < <(stats "${runc_times[@]}")
echo "rounds: $rounds (interleaved); each runs /bin/true from a busybox rootfs"
printf '%-40s median %8s ms   mean %8s ms\n' \
  "cfwin Garden create+run+destroy" "$garden_median" "$garden_mean" \
  "runc run (deletes on exit)" "$runc_median" "$runc_mean"
read -r create_median _ < <(stats "${create_times[@]}")
read -r run_median _ < <(stats "${run_times[@]}")
read -r destroy_median _ < <(stats "${destroy_times[@]}")
echo "cfwin steps (median): create $create_median ms, run $run_median ms," \
  "destroy $destroy_median ms"
awk -v a="$garden_median" -v b="$runc_median" \
  'BEGIN { printf "ratio cfwin/runc (median): %.2f   (target: at most 1.00)\n", a / b }'
