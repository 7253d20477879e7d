#!/bin/bash
# Benchmark: the whole life of a busybox container that runs `true`, through
# the runtime role's CLI (`cfwin runtime run`: create, start, wait, delete)
# against Debian's runc (`runc run`, which deletes the container when it
# exits), on the same bundle.
# Rounds are interleaved so both runtimes see the same machine state. Prints
# the median and mean wall time per container of each, and the ratio.
# Usage: bench/runtime-lifecycle.sh [ROUNDS]   (as root; default 50 rounds)
# CFWIN_BENCH_BINARY=PATH times that cfwin (the static build's, say) instead
# of building build/cfwin.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-50}

.ci/install-deps
dpkg-query -W -f='${Status}' runc 2>/dev/null | grep -q "ok installed" ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q runc >/dev/null
cfwin=${CFWIN_BENCH_BINARY:-build/cfwin}
if [ -z "${CFWIN_BENCH_BINARY:-}" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target cfwin >/dev/null
fi

work=$(mktemp -d /tmp/cfwin-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

# One bundle directory per runtime, named after the container id (winc's
# rule), sharing one busybox rootfs and the config `runc spec` writes, with
# the terminal turned off and the process set to `true`.
rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/true"
ln -s busybox "$rootfs/bin/sh"
(cd "$work" && runc spec)
python3 - "$work/config.json" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/true"]
spec["root"]["path"] = sys.argv[1].rsplit("/", 1)[0] + "/rootfs"
json.dump(spec, open(path, "w"), indent=2)
PY
for id in bench-cfwin bench-runc; do
  mkdir -p "$work/$id"
  cp "$work/config.json" "$work/$id/config.json"
done

cfwin_root=$work/cfwin-root
runc_root=$work/runc-root
mkdir -p "$cfwin_root" "$runc_root"

now_ns() { date +%s%N; }

cfwin_times=()
runc_times=()
for round in $(seq "$rounds"); do
  start=$(now_ns)
  "$cfwin" runtime --root "$cfwin_root" run --bundle "$work/bench-cfwin" bench-cfwin \
    </dev/null >/dev/null
  cfwin_times+=($(($(now_ns) - start)))

  start=$(now_ns)
  runc --root "$runc_root" run --bundle "$work/bench-runc" bench-runc </dev/null >/dev/null
  runc_times+=($(($(now_ns) - start)))
done

# Prints the median and the mean, in ms, of the nanosecond figures given.
stats() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1; sum += $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
          printf "%.2f %.2f\n", m / 1e6, sum / NR / 1e6 }'
}
read -r cfwin_median cfwin_mean < <(stats "${cfwin_times[@]}")
read -r runc_median runc_mean < <(stats "${runc_times[@]}")
echo "rounds: $rounds (interleaved), container runs /bin/true from a busybox rootfs"
printf '%-28s median %8s ms   mean %8s ms\n' "cfwin runtime run" "$cfwin_median" "$cfwin_mean"
printf '%-28s median %8s ms   mean %8s ms\n' "runc run" "$runc_median" "$runc_mean"
awk -v a="$cfwin_median" -v b="$runc_median" \
  'BEGIN { printf "ratio cfwin/runc (median): %.2f   (target: at most 0.50)\n", a / b }'
