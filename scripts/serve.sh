#!/usr/bin/env bash
# Builds Heimsight (release) and starts the server on the embedded RocksDB store.
# Extra arguments go to `heimsight serve`, e.g. scripts/serve.sh --port 9000 --data-dir /var/lib/heimsight
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/heimsight-target}"
# Build the whole workspace (not just the CLI): every build selection then resolves the same
# features, so RocksDB compiles once per profile, not once per selection.
cargo build --release --locked --workspace --bins
exec "$CARGO_TARGET_DIR/release/heimsight" serve "$@"
