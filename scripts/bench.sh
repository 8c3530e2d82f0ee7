#!/usr/bin/env bash
# `make bench`: release build, then each figure beside a baseline measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product fission
BIN=.build/release/fission
PORT=${BENCH_PORT:-18090}
DURATION=${BENCH_SECONDS:-10}
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== $(swift --version 2>/dev/null | head -1)"

export FISSION_VAR_DIR="$work"
echo "== money core on SQLite: $BIN bench"
env -u DATABASE_URL "$BIN" migrate --yes >/dev/null
env -u DATABASE_URL "$BIN" bench

if [ -n "${DATABASE_URL:-}" ]; then
  echo "== money core on PostgreSQL (schema bench_$$): $BIN bench"
  export PGOPTIONS='-c client_min_messages=warning'
  psql "$DATABASE_URL" -qc "CREATE SCHEMA bench_$$" >/dev/null
  FISSION_PG_SCHEMA=bench_$$ "$BIN" migrate --yes >/dev/null
  FISSION_PG_SCHEMA=bench_$$ "$BIN" bench --allocations 0
  psql "$DATABASE_URL" -qc "DROP SCHEMA bench_$$ CASCADE" >/dev/null
fi

echo "== HTTP: wrk -t2 -c64 -d${DURATION}s against /healthz, baseline a static file from the same server"
env -u DATABASE_URL "$BIN" serve --env production --hostname 127.0.0.1 --port "$PORT" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
rps() { wrk -t2 -c64 -d"${DURATION}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
static=$(rps "http://127.0.0.1:$PORT/css/mall.css")
health=$(rps "http://127.0.0.1:$PORT/healthz")
echo "static /css/mall.css: $static req/s"
echo "/healthz (SQLite SELECT 1): $health req/s"
awk -v h="$health" -v s="$static" 'BEGIN { printf "ratio /healthz ÷ static file: %.2f\n", h / s }'
