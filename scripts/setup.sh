#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks for vitlens, then the npm dependencies
# (which builds the native addon and compiles the TypeScript). Needs Node.js >= 20.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "vitlens setup: Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none)); install it (e.g. from nodejs.org or NodeSource), then run this again" >&2
  exit 1
fi

packages=(libdnnl-dev g++ make python3 chromium fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "vitlens setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
# onnxruntime-node (a dev dependency: bench/compare.js's forward anchor) ships its CPU binary in
# the package; its install script would only fetch GPU providers, which vitlens never uses.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
