#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy, the docs, all tests and doc-tests, the examples and the
# dependency-direction rules of ARCHITECTURE.md. Installs what the build needs when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/browser-deps.sh
bash scripts/prometheus-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/heimsight-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

step "set-up scripts"
bash scripts/tests/find-libclang.sh

step "paths named in ARCHITECTURE.md"
bash scripts/check-architecture-paths.sh

step "cargo fmt --check"
cargo fmt --all --check

step "dependency direction"
fail=0
# depends ARGS... DEP: whether the normal dependencies of the selection (cargo tree ARGS) reach
# the package DEP (EDGES=normal,dev: the dev-dependencies too). cargo tree fails when DEP is not in the selection's resolve at all, and prints
# nothing when DEP is there only through dev-dependencies; any other failure stops the script,
# so that a broken manifest can never pass for "no such dependency".
depends() {
  local dep="${*: -1}" args=("${@:1:$#-1}") out
  if out="$(cargo tree --locked -q -e "${EDGES:-normal}" "${args[@]}" -i "$dep" 2>&1)"; then
    [ -n "$out" ]
  elif grep -q "did not match any packages" <<<"$out"; then
    return 1
  else
    echo "cargo tree ${args[*]} -i $dep failed:" >&2
    echo "$out" >&2
    exit 1
  fi
}
for bad in tokio prost rocksdb tonic librocksdb-sys; do
  if depends -p heimsight-core "$bad"; then
    echo "heimsight-core must not depend on $bad"; fail=1
  fi
done
for crate in heimsight-query heimsight-ingest heimsight-alert; do
  # Not even for its own tests: a plain `cargo test -p $crate` must not compile RocksDB.
  if EDGES=normal,dev depends -p "$crate" librocksdb-sys; then
    echo "$crate must not pull in RocksDB, not even in its tests (depend on heimsight-store with default-features = false)"; fail=1
  fi
  if depends -p "$crate" heimsight-server; then
    echo "$crate must not depend on heimsight-server"; fail=1
  fi
done
for bad in heimsight-notify heimsight-ingest; do
  if depends -p heimsight-alert "$bad"; then
    echo "heimsight-alert must not depend on $bad (it sends through its Notifier trait)"; fail=1
  fi
done
# The server opens no store itself: RocksDB is its `rocksdb` feature, off by default.
if depends -p heimsight-server librocksdb-sys; then
  echo "heimsight-server must not pull in RocksDB with its default features"; fail=1
fi
for bad in heimsight-alert heimsight-notify maud; do
  if depends -p heimsight-server --no-default-features "$bad"; then
    echo "heimsight-server without default features must not depend on $bad"; fail=1
  fi
done
# ...and the check itself sees what the features bring in.
if ! depends -p heimsight-server --features rocksdb librocksdb-sys; then
  echo "the dependency check is broken: heimsight-server's rocksdb feature brings in RocksDB"; fail=1
fi
if depends -p heimsight-store tokio; then
  echo "heimsight-store must not depend on tokio"; fail=1
fi
for bad in heimsight-store heimsight-query heimsight-ingest heimsight-server heimsight-alert rocksdb librocksdb-sys; do
  if depends -p heimsight-notify "$bad"; then
    echo "heimsight-notify must not depend on $bad (heimsight-core is its only Heimsight dependency)"; fail=1
  fi
done
# The data generator and the load driver are unpublished tools (xtask/): no published crate
# may need them.
for crate in heimsight-core heimsight-store heimsight-ingest heimsight-query heimsight-alert heimsight-notify heimsight-server heimsight-cli; do
  if depends -p "$crate" --all-features heimsight-datagen; then
    echo "$crate must not depend on heimsight-datagen (only dev-dependencies may)"; fail=1
  fi
done
if ! depends -p heimsight-bench heimsight-datagen; then
  echo "the dependency check is broken: heimsight-bench depends on heimsight-datagen"; fail=1
fi
# TLS uses rustls with ring; aws-lc-rs would need cmake and a long C build.
if depends --workspace aws-lc-rs; then
  echo "nothing may pull in aws-lc-rs (use rustls with the ring provider)"; fail=1
fi
[ "$fail" -eq 0 ] || exit 1
echo "ok"

step "cargo clippy (all targets, -D warnings)"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "heimsight-server's feature sets (none; ui alone; alerting alone)"
cargo clippy --locked -p heimsight-server --no-default-features -- -D warnings
cargo clippy --locked -p heimsight-server --no-default-features --features ui -- -D warnings
cargo clippy --locked -p heimsight-server --no-default-features --features alerting -- -D warnings

step "cargo doc (no broken or ambiguous links)"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --workspace --no-deps

step "cargo build --examples"
cargo build --locked --workspace --examples

# A plain `cargo test --workspace` needs no network and no browser: the end-to-end tests that
# need the Python peers from PyPI (the OpenTelemetry SDK, aiosmtpd, pyte) or Chromium are
# #[ignore]d with a reason starting "e2e:", and run here with --include-ignored.
step "cargo test (unit, integration, doc-tests and the e2e suites)"
cargo test --locked --workspace --no-fail-fast -- --include-ignored
