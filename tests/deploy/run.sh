#!/bin/sh
# Runs the deployment tests (test_deploy.rb): the BOSH templates rendered with BOSH's
# rules, the release layout and staging, the rootfs import on a small Windows-format
# layout, and a PowerShell grammar over every .ps1 file and rendered script.
# The grammar (tree-sitter-powershell's prebuilt wasm, run by web-tree-sitter, so no
# native build) is installed from the npm registry into BUILD_DIR/deploy-node once.
# Usage: tests/deploy/run.sh BUILD_DIR   (BUILD_DIR contains a built cfwin)
set -eu

if [ $# -ne 1 ]; then
  echo "usage: tests/deploy/run.sh BUILD_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
if [ ! -x "$build/cfwin" ]; then
  echo "deploy tests: $build/cfwin not found; build cfwin first" >&2
  exit 1
fi
for tool in ruby node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "deploy tests: $tool not found; run .ci/install-deps as root" >&2
    exit 1
  fi
done

grammar="web-tree-sitter@0.27.2 tree-sitter-powershell@0.26.4"
cache="$build/deploy-node"
if [ "$(cat "$cache/installed" 2>/dev/null)" != "$grammar" ]; then
  rm -rf "$cache"
  mkdir -p "$cache"
  # --ignore-scripts: tree-sitter-powershell's install script would build or load its
  # native Node addon, which the wasm grammar does not need.
  # shellcheck disable=SC2086
  npm install --prefix "$cache" --ignore-scripts --no-audit --no-fund --loglevel=error $grammar
  echo "$grammar" >"$cache/installed"
fi

CFWIN_BUILD_DIR="$build" DEPLOY_NODE_DIR="$cache" exec ruby "$here/test_deploy.rb"
