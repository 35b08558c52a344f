#!/usr/bin/env bash
# Installs what building Heimsight needs on Debian/Ubuntu, when it is missing:
# a C/C++ toolchain and libclang (the RocksDB crate compiles RocksDB and runs bindgen), and
# Node.js's npm for the web UI's front-end package (htmx, pinned by
# heimsight-server/ui/package-lock.json and embedded in the binary at build time).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cc >/dev/null 2>&1 || need+=(build-essential)
command -v c++ >/dev/null 2>&1 || need+=(g++)
# A libclang that bindgen can load (not libclang-cpp, which only looks alike): see find-libclang.sh.
bash scripts/find-libclang.sh >/dev/null || need+=(libclang-dev clang)
command -v npm >/dev/null 2>&1 || need+=(npm)
# The TLS tests make their certificates with the openssl command.
command -v openssl >/dev/null 2>&1 || need+=(openssl)

if [ ${#need[@]} -gt 0 ]; then
  echo "installing build dependencies: ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust from https://rustup.rs first" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

# htmx for the web UI, exactly as the lockfile pins it.
ui=heimsight-server/ui
if [ ! -f "$ui/node_modules/.package-lock.json" ] || [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
  echo "installing the web UI's npm packages (npm ci in $ui)" >&2
  (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error)
fi
