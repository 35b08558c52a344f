#!/usr/bin/env bash
# Builds Heimsight (release) and starts the server on the embedded RocksDB store.
# Extra arguments go to `heimsight serve`, e.g. scripts/serve.sh --port 9000 --data-dir /var/lib/heimsight
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/heimsight-target}"
exec cargo run --release --locked -p heimsight-cli --bin heimsight -- serve "$@"
