#!/usr/bin/env bash
# The log benchmark of issue 18, repeatable: loads the realistic data set (9 M logs by default)
# into a fresh `heimsight serve` over OTLP/HTTP with the shared load driver, waits until the
# store's merges are done, stops it cleanly (which writes the memtables to SST files) to measure
# the bytes on disk per log (as left, and after `heimsight compact`), starts it again on the same
# data and reports the median time of
# each query of the table (warm: 5 runs after one warm-up), and the ingest rate.
#
#   OTLP_LOAD=~/.cache/otlp-load/release/otlp-load scripts/bench-logs.sh
#
# Settings (environment):
#   OTLP_LOAD   the driver (build: cargo build --release --locked --manifest-path
#               ../shared/tools/otlp-load/Cargo.toml --target-dir ~/.cache/otlp-load)
#   HEIMSIGHT   the server binary [$CARGO_TARGET_DIR/release/heimsight, else target/release/heimsight]
#   TOTAL       logs to load [9000000]
#   RUNS        timed runs per query [5]
#   KEEP=1      keep the data directory (printed) instead of deleting it
#   DATA_DIR    use this (fresh) data directory
# Needs curl and python3. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

OTLP_LOAD="${OTLP_LOAD:-$HOME/.cache/otlp-load/release/otlp-load}"
target="${CARGO_TARGET_DIR:-target}"
HEIMSIGHT="${HEIMSIGHT:-$target/release/heimsight}"
TOTAL="${TOTAL:-9000000}"
RUNS="${RUNS:-5}"
for f in "$OTLP_LOAD" "$HEIMSIGHT"; do
  [ -x "$f" ] || { echo "not found or not executable: $f (see the header of $0)" >&2; exit 1; }
done

data="${DATA_DIR:-$(mktemp -d /tmp/heimsight-bench-logs.XXXXXX)}"
log="$data.server.log"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
otlp=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
api="http://127.0.0.1:$port"

server=
start() {
  "$HEIMSIGHT" serve --host 127.0.0.1 --port "$port" --otlp-http-port "$otlp" --otlp-grpc-port 0 \
    --data-dir "$data/db" --retention-logs 365d --log-level warn >>"$log" 2>&1 &
  server=$!
  for _ in $(seq 300); do curl -sf "$api/health" >/dev/null && return; sleep 0.1; done
  echo "the server did not start:" >&2; cat "$log" >&2; exit 1
}
stop() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
cleanup() {
  stop
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$data" "$log"; else echo "data kept in $data" >&2; fi
}
trap cleanup EXIT
start

echo "cores: $(nproc); logs: $TOTAL; server: $HEIMSIGHT" >&2
echo "loading…" >&2
load=$("$OTLP_LOAD" --url "http://127.0.0.1:$otlp" --signal logs --seed 2 --batch 1000 \
  --start-time 2026-11-25T00:00:00Z --total "$TOTAL" -c 4)
echo "$load" >&2
rate=$(sed -n 's/.*throughput \([0-9]*\) records\/s.*/\1/p' <<<"$load")
rss=$(ps -o rss= -p "$server" | tr -d ' ')

# Merges are done when the merge counter has not moved for 10 s and nothing is compacting.
metric() {
  curl -sf "$api/metrics" | awk -v s="$1" 'index($0, s" ") == 1 {print $2}'
}
echo "waiting for merges…" >&2
last=-1; still=0
for _ in $(seq 600); do
  merges=$(metric 'heimsight_store_background_work_total{work="log_merges"}')
  busy=$(metric 'heimsight_store_background_running{work="compactions"}')
  if [ "$merges" = "$last" ] && [ "${busy:-0}" = 0 ]; then
    still=$((still + 1)); [ "$still" -ge 10 ] && break
  else
    still=0; last="$merges"
  fi
  sleep 1
done

# A clean stop writes the memtables to SST files: then every record is in the files measured.
stop
sst=$(find "$data/db" -name '*.sst' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
wal=$(find "$data/db" -name '*.log' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
all=$(du -sb "$data/db" | cut -f1)
# The same once RocksDB has dropped what merges replaced (which it does lazily).
"$HEIMSIGHT" compact --data-dir "$data/db" -o json >&2
compacted=$(find "$data/db" -name '*.sst' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
start

# The median of RUNS timed runs (after a warm-up) of one query, in ms.
time_query() {
  local q=$1 start=$2 end=$3 body
  body=$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1], "start": sys.argv[2], "end": sys.argv[3]}))' "$q" "$start" "$end")
  curl -sf -o /dev/null -X POST -H 'content-type: application/json' -d "$body" "$api/api/v1/query" \
    || { echo "query failed: $q" >&2; curl -s -X POST -H 'content-type: application/json' -d "$body" "$api/api/v1/query" >&2; return 1; }
  for _ in $(seq "$RUNS"); do
    curl -s -o /dev/null -w '%{time_total}\n' -X POST -H 'content-type: application/json' -d "$body" "$api/api/v1/query"
  done | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]*1000}'
}

d=2026-11-25T
echo
echo "| figure ($TOTAL logs, $(nproc) cores, median of $RUNS warm runs) | Heimsight |"
echo "|---|---|"
echo "| errors by service | $(time_query "SELECT service, count(*) AS errors FROM logs WHERE level = 'error' GROUP BY service ORDER BY errors DESC" ${d}00:00:00Z ${d}03:00:00Z) ms |"
echo "| newest 100 with a rare word, MATCH | $(time_query "SELECT * FROM logs WHERE MATCH('imbalance') ORDER BY timestamp DESC LIMIT 100" ${d}00:00:00Z ${d}03:00:00Z) ms |"
echo "| the same, message CONTAINS | $(time_query "SELECT * FROM logs WHERE message CONTAINS 'imbalance' ORDER BY timestamp DESC LIMIT 100" ${d}00:00:00Z ${d}03:00:00Z) ms |"
echo "| count of logs with the word | $(time_query "SELECT count(*) FROM logs WHERE MATCH('imbalance')" ${d}00:00:00Z ${d}03:00:00Z) ms |"
echo "| newest 100 in a 10 s window | $(time_query "SELECT * FROM logs ORDER BY timestamp DESC LIMIT 100" ${d}02:29:00Z ${d}02:29:10Z) ms |"
echo "| logs of one trace id (count) | $(time_query "SELECT count(*) FROM logs WHERE trace_id = 'ed04c5d9874f0d18225bd81ad54eed05'" ${d}00:00:00Z ${d}03:00:00Z) ms |"
echo "| per-minute counts over the last hour | $(time_query "SELECT bucket(timestamp, 1m) AS minute, count(*) AS n FROM logs GROUP BY minute ORDER BY minute" ${d}01:30:00Z ${d}02:30:00Z) ms |"
python3 - "$sst" "$all" "$wal" "$TOTAL" "$rate" "$rss" "$compacted" <<'EOF'
import sys
sst, total, wal, n, rate, rss, compacted = (int(x or 0) for x in sys.argv[1:])
print(f"| bytes on disk per log (SST files) | {sst / n:.1f} B |")
print(f"| the same after `heimsight compact` | {compacted / n:.1f} B |")
print(f"| bytes per log, whole data directory without the WAL | {(total - wal) / n:.1f} B (WAL after the clean stop: {wal / 1e6:.1f} MB) |")
print(f"| OTLP/HTTP logs/s (driver on the same machine, -c 4) | {rate / 1000:.1f} k/s (server RSS after loading {rss / 1024:.0f} MiB) |")
EOF
