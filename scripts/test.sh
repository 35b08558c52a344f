#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy, all tests and doc-tests, the examples and the
# dependency-direction rules of ARCHITECTURE.md. Installs what the build needs when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/browser-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/heimsight-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

step "set-up scripts"
bash scripts/tests/find-libclang.sh

step "cargo fmt --check"
cargo fmt --all --check

step "dependency direction"
fail=0
for bad in tokio prost rocksdb tonic librocksdb-sys; do
  if cargo tree --locked -q -p heimsight-core -e normal -i "$bad" >/dev/null 2>&1; then
    echo "heimsight-core must not depend on $bad"; fail=1
  fi
done
for crate in heimsight-query heimsight-ingest heimsight-alert; do
  if cargo tree --locked -q -p "$crate" -e normal -i librocksdb-sys >/dev/null 2>&1; then
    echo "$crate must not pull in RocksDB (depend on heimsight-store with default-features = false)"; fail=1
  fi
  if cargo tree --locked -q -p "$crate" -e normal -i heimsight-server >/dev/null 2>&1; then
    echo "$crate must not depend on heimsight-server"; fail=1
  fi
done
for bad in heimsight-notify heimsight-ingest; do
  if cargo tree --locked -q -p heimsight-alert -e normal -i "$bad" >/dev/null 2>&1; then
    echo "heimsight-alert must not depend on $bad (it sends through its Notifier trait)"; fail=1
  fi
done
if cargo tree --locked -q -p heimsight-store -e normal -i tokio >/dev/null 2>&1; then
  echo "heimsight-store must not depend on tokio"; fail=1
fi
for bad in heimsight-store heimsight-query heimsight-ingest heimsight-server heimsight-alert rocksdb librocksdb-sys; do
  if cargo tree --locked -q -p heimsight-notify -e normal -i "$bad" >/dev/null 2>&1; then
    echo "heimsight-notify must not depend on $bad (heimsight-core is its only Heimsight dependency)"; fail=1
  fi
done
# TLS uses rustls with ring; aws-lc-rs would need cmake and a long C build.
if cargo tree --locked -q --workspace -e normal -i aws-lc-rs >/dev/null 2>&1; then
  echo "nothing may pull in aws-lc-rs (use rustls with the ring provider)"; fail=1
fi
[ "$fail" -eq 0 ] || exit 1
echo "ok"

step "cargo clippy (all targets, -D warnings)"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "cargo build --examples"
cargo build --locked --workspace --examples

step "cargo test (unit, integration and doc-tests)"
cargo test --locked --workspace --no-fail-fast
