#!/bin/bash
# Benchmark: pull and unpack a 5-layer image of about 300 MiB (uncompressed)
# from a docker-registry on loopback, with cfwin's image role against
#   skopeo copy to an OCI layout + umoci unpack, and
#   skopeo copy to a directory + GNU tar -xzf of each layer in order.
# Every tool starts from an empty store in each round, and the rounds are
# interleaved so all three see the same machine state. Prints the median
# wall time and peak resident memory of each, and the ratios to cfwin.
# Usage: bench/pull-unpack.sh [ROUNDS]   (as root; default 5 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}

.ci/install-deps
for p in umoci time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$p" >/dev/null
done
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target cfwin >/dev/null

work=$(mktemp -d /tmp/cfwin-bench-XXXXXX)
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/registry"
cat >"$work/registry.yml" <<YML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $work/registry}
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break
  sleep 0.1
done

# Five layers of 60 MiB each: half random bytes (incompressible), half
# repeated text (compresses well), in files of 1 MiB.
make_layer() {
  local dir=$1 seed=$2
  mkdir -p "$dir/layer$seed"
  for i in $(seq 30); do
    head -c 1048576 /dev/urandom >"$dir/layer$seed/random$i"
    # yes ends with SIGPIPE when head has enough, which pipefail reports.
    yes "layer $seed line $i of repeated text for compression" | head -c 1048576 \
      >"$dir/layer$seed/text$i" || true
  done
}
layout="$work/layout"
mkdir -p "$layout/blobs/sha256"
diff_ids=""
layers=""
for n in 1 2 3 4 5; do
  make_layer "$work/src" "$n"
  tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$work/src" -cf "$work/l.tar" "layer$n"
  diff=$(sha256sum "$work/l.tar" | cut -d' ' -f1)
  gzip -n -c "$work/l.tar" >"$work/l.tar.gz"
  digest=$(sha256sum "$work/l.tar.gz" | cut -d' ' -f1)
  size=$(stat -c %s "$work/l.tar.gz")
  mv "$work/l.tar.gz" "$layout/blobs/sha256/$digest"
  diff_ids="$diff_ids${diff_ids:+,}\"sha256:$diff\""
  layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$size}"
done
rm -rf "$work/src" "$work/l.tar"
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$diff_ids" >"$work/cfg"
cfg_digest=$(sha256sum "$work/cfg" | cut -d' ' -f1)
cfg_size=$(stat -c %s "$work/cfg")
mv "$work/cfg" "$layout/blobs/sha256/$cfg_digest"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$cfg_digest" "$cfg_size" "$layers" >"$work/m"
m_digest=$(sha256sum "$work/m" | cut -d' ' -f1)
m_size=$(stat -c %s "$work/m")
mv "$work/m" "$layout/blobs/sha256/$m_digest"
printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
  "$m_digest" "$m_size" >"$layout/index.json"
skopeo copy -q --dest-tls-verify=false "oci:$layout:latest" "docker://127.0.0.1:$port/bench:latest"
image="docker://127.0.0.1:$port/bench:latest"
printf 'insecure_registries:\n  - "127.0.0.1:%s"\n' "$port" >"$work/groot.yml"

# Runs one command under /usr/bin/time and appends "seconds kib" to a file.
measure() {
  local out=$1
  shift
  sync
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>"$work/last.err" || {
    cat "$work/last.err" >&2
    exit 1
  }
  cat "$work/time.txt" >>"$out"
}

run_cfwin() {
  build/cfwin image --driver-store "$1" --config "$work/groot.yml" pull "$image"
}
run_umoci() {
  skopeo copy -q --src-tls-verify=false "$image" "oci:$1/oci:latest" &&
    umoci unpack --rootless --image "$1/oci:latest" "$1/bundle" >/dev/null
}
run_tar() {
  skopeo copy -q --src-tls-verify=false "$image" "dir:$1/dir" &&
    mkdir -p "$1/rootfs" &&
    for blob in $(python3 -c 'import json,sys; print(" ".join(l["digest"].split(":")[1] for l in json.load(open(sys.argv[1]))["layers"]))' "$1/dir/manifest.json"); do
      tar -xzf "$1/dir/$blob" -C "$1/rootfs"
    done
}
export -f run_cfwin run_umoci run_tar
export image work

for round in $(seq "$rounds"); do
  for tool in cfwin umoci tar; do
    dest="$work/out-$tool-$round"
    mkdir -p "$dest"
    measure "$work/$tool.txt" bash -c "run_$tool $dest"
  done
  echo "round $round done" >&2
done
# Delete nothing until all rounds ran: see the note on ext4 inode reuse in
# docs/benchmarks.md.

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-28s %10s %14s\n' "tool" "median s" "peak RSS MiB"
for tool in cfwin umoci tar; do
  t=$(cut -d' ' -f1 "$work/$tool.txt" | median)
  m=$(cut -d' ' -f2 "$work/$tool.txt" | median)
  printf '%-28s %10s %14s\n' "$tool" "$t" "$((m / 1024))"
  eval "time_$tool=$t"
done
awk -v c="$time_cfwin" -v u="$time_umoci" -v t="$time_tar" 'BEGIN {
  printf "cfwin / (skopeo+umoci): %.2f (target <= 0.50)\n", c / u
  printf "cfwin / (skopeo+tar):   %.2f (target <= 1.00)\n", c / t
}'
