#!/usr/bin/env bash
# `make bench`: release build, then each figure beside a baseline measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
# BENCH_ONLY=orders runs only place + pay, BENCH_ONLY=distribution only commission and settlement, BENCH_ONLY=marketing only
# checkout pricing, BENCH_ONLY=flash only the flash sale; BENCH_BIN uses a binary already built.
ONLY=${BENCH_ONLY:-all}
if [ -z "${BENCH_BIN:-}" ]; then swift build -c release --product fission; fi
BIN=${BENCH_BIN:-.build/release/fission}
PORT=${BENCH_PORT:-18090}
DURATION=${BENCH_SECONDS:-10}
PRODUCTS=${BENCH_PRODUCTS:-10000}
work=$(mktemp -d)
trap '[ -z "${server:-}" ] || kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export PGOPTIONS='-c client_min_messages=warning'

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== $(swift --version 2>/dev/null | head -1)"

export FISSION_VAR_DIR="$work"
if [ "$ONLY" = all ]; then
echo "== money core on SQLite: $BIN bench"
env -u DATABASE_URL "$BIN" migrate --yes >/dev/null
env -u DATABASE_URL "$BIN" bench
fi

# Commission: the pure calculation, then settling 100k and 1M frozen commissions (BENCH_SETTLE_SIZES to change).
if [ "$ONLY" = all ] || [ "$ONLY" = distribution ]; then
  echo "== commission calculation: $BIN bench-commission"
  "$BIN" bench-commission
  for n in ${BENCH_SETTLE_SIZES:-100000 1000000}; do
    echo "== settlement on SQLite: $BIN bench-settlement --count $n"
    (unset DATABASE_URL; export FISSION_SQLITE_PATH="$work/settle-$n.sqlite"
     "$BIN" migrate --yes >/dev/null; /usr/bin/time -f "peak RSS %M KiB" "$BIN" bench-settlement --count "$n"; rm -f "$FISSION_SQLITE_PATH"*)
    if [ -n "${DATABASE_URL:-}" ]; then
      echo "== settlement on PostgreSQL: $BIN bench-settlement --count $n"
      psql "$DATABASE_URL" -qc "CREATE SCHEMA bench_settle_$$_$n" >/dev/null
      FISSION_PG_SCHEMA=bench_settle_$$_$n "$BIN" migrate --yes >/dev/null
      FISSION_PG_SCHEMA=bench_settle_$$_$n "$BIN" bench-settlement --count "$n"
      psql "$DATABASE_URL" -qc "DROP SCHEMA bench_settle_$$_$n CASCADE" >/dev/null
    fi
  done
fi

# Marketing: pricing 20-line carts with three promotions and a coupon, beside the plain checkout of the same carts.
if [ "$ONLY" = all ] || [ "$ONLY" = marketing ]; then
  echo "== checkout pricing: $BIN bench-pricing"
  "$BIN" bench-pricing
fi
[ "$ONLY" = marketing ] && exit 0

# verify-ledger's time and peak RSS on a filled throw-away ledger; 1M only with BENCH_LEDGER_1M=1.
LEDGER_SIZES="100000${BENCH_LEDGER_1M:+ 1000000}"
[ "$ONLY" = all ] || LEDGER_SIZES=""
for n in $LEDGER_SIZES; do
  echo "== verify-ledger on SQLite: $BIN bench-ledger-verify --transactions $n"
  (unset DATABASE_URL; export FISSION_SQLITE_PATH="$work/ledger-$n.sqlite"
   "$BIN" migrate --yes >/dev/null; "$BIN" bench-ledger-verify --transactions "$n"; rm -f "$FISSION_SQLITE_PATH"*)
done

rps() { wrk -t2 -c64 -d"${DURATION}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# HTTP figures for one database: /healthz as the baseline, then the catalog endpoints.
http_bench() {
  local label=$1
  echo "== $label: $BIN bench-catalog --products $PRODUCTS"
  local ids
  ids=$("$BIN" bench-catalog --products "$PRODUCTS")
  echo "$ids" | grep created
  "$BIN" bench-export
  local category product
  category=$(echo "$ids" | sed -n 's/^category=//p')
  product=$(echo "$ids" | sed -n 's/^product=//p')
  local base="http://127.0.0.1:$PORT"
  local health
  for cache in 2000 0; do
    FISSION_SMS_PROVIDER=none FISSION_STOREFRONT_CACHE_MS=$cache "$BIN" serve --env production --hostname 127.0.0.1 --port "$PORT" >"$work/serve.log" 2>&1 &
    server=$!
    for _ in $(seq 1 50); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
    [ "$cache" = 0 ] || health=$(rps "$base/healthz")
    local list detail search
    list=$(rps "$base/api/v1/products?categoryId=$category&limit=20")
    detail=$(rps "$base/api/v1/products/$product")
    search=$(rps "$base/api/v1/products?q=%E5%A5%B6%E7%B2%89&limit=20")
    if [ "$cache" = 0 ]; then echo "wrk -t2 -c64 -d${DURATION}s, $PRODUCTS products, storefront cache off (FISSION_STOREFRONT_CACHE_MS=0):"
    else
      echo "wrk -t2 -c64 -d${DURATION}s, $PRODUCTS products, storefront cache ${cache} ms (the default):"
      echo "  /healthz                                   $health req/s (baseline)"
    fi
    echo "  /api/v1/products?categoryId=…&limit=20     $list req/s = $(ratio "$list" "$health") of /healthz"
    echo "  /api/v1/products/{id}                      $detail req/s = $(ratio "$detail" "$health") of /healthz"
    echo "  /api/v1/products?q=奶粉&limit=20            $search req/s = $(ratio "$search" "$health") of /healthz"
    [ "$cache" = 0 ] || input_costs "$base" "$server"
    kill "$server"; wait "$server" 2>/dev/null || true
  done
}

# Server CPU per request, from /proc: the largest anonymous form against /healthz, 20 of each.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
input_costs() {
  local base=$1 pid=$2 n=20 before after form health
  head -c 1048000 /dev/zero | tr '\0' 'x' | sed 's/xxxxxx/a[]=1\&/g' >"$work/form.txt"
  before=$(cpu_ms "$pid")
  for _ in $(seq $n); do curl -s -o /dev/null -X POST -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$work/form.txt" "$base/login"; done
  after=$(cpu_ms "$pid"); form=$(( (after - before) ))
  before=$(cpu_ms "$pid")
  for _ in $(seq $n); do curl -s -o /dev/null "$base/healthz"; done
  after=$(cpu_ms "$pid"); health=$(( (after - before) ))
  echo "  maximal anonymous form (1 MB of a[]=1&, refused 413 before decoding): $(awk -v t="$form" -v n=$n 'BEGIN { printf "%.1f", t / n }') ms CPU each; /healthz $(awk -v t="$health" -v n=$n 'BEGIN { printf "%.1f", t / n }') ms; the decoder it replaced took 145 s"
}

# Place + pay from the balance over HTTP (16 buyers at once) beside hand-written SQL doing the
# same writes in the same two transactions, on a fresh database; the server's peak RSS after.
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
orders_bench() {
  local label=$1 concurrency=${BENCH_ORDER_CONCURRENCY:-16}
  local base="http://127.0.0.1:$PORT"
  "$BIN" migrate --yes >/dev/null
  "$BIN" bench-orders setup --buyers 64 --file "$work/buyers.json" >/dev/null
  local raw http
  raw=$("$BIN" bench-orders baseline --file "$work/buyers.json" --seconds "$DURATION" --concurrency "$concurrency")
  FISSION_SMS_PROVIDER=none FISSION_JOBS=off "$BIN" serve --env production --hostname 127.0.0.1 --port "$PORT" >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 50); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  http=$("$BIN" bench-orders load --url "$base" --file "$work/buyers.json" --seconds "$DURATION" --concurrency "$concurrency")
  local rss
  rss=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$server/status")
  kill "$server"; wait "$server" 2>/dev/null || true
  echo "== place + pay on $label: $BIN bench-orders (64 buyers, $concurrency at once, ${DURATION}s each)"
  echo "  raw SQL, same writes   $(echo "$raw" | field orders_per_second) orders/s, p99 $(echo "$raw" | field p99_ms) ms (baseline)"
  echo "  HTTP checkout + pay    $(echo "$http" | field orders_per_second) orders/s = $(ratio "$(echo "$http" | field orders_per_second)" "$(echo "$raw" | field orders_per_second)") of the baseline, p50 $(echo "$http" | field p50_ms) ms, p99 $(echo "$http" | field p99_ms) ms, failures $(echo "$http" | field failures)"
  echo "  server peak RSS        $rss MiB"
}

# Flash sale: 12 800 purchase attempts from 32 clients (each its own buyer) for N units through the
# normal checkout over HTTP, then through the queue (排队下单: the unit at once, the order built
# after), beside the bare conditional decrement from 32 connections; fails loudly unless exactly N
# sell in each (and, through the queue, N orders are built).
flash_bench() {
  local label=$1 units=${BENCH_FLASH_UNITS:-500} clients=${BENCH_FLASH_CLIENTS:-32} attempts=${BENCH_FLASH_ATTEMPTS:-12800}
  local base="http://127.0.0.1:$PORT"
  "$BIN" migrate --yes >/dev/null
  "$BIN" bench-flash setup --units "$units" --clients "$clients" --file "$work/flash.json" >/dev/null
  local raw http
  # One PostgreSQL connection per client for the baseline (the pool is per event loop, one loop per core).
  raw=$(FISSION_PG_POOL=$(( (clients + $(nproc) - 1) / $(nproc) )) "$BIN" bench-flash baseline --file "$work/flash.json" --clients "$clients" --attempts "$attempts")
  FISSION_SMS_PROVIDER=none FISSION_JOBS=off "$BIN" serve --env production --hostname 127.0.0.1 --port "$PORT" >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 50); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  if ! http=$("$BIN" bench-flash load --url "$base" --file "$work/flash.json" --clients "$clients" --attempts "$attempts"); then
    echo "!! FLASH SALE BENCHMARK FAILED on $label: $http" >&2
    kill "$server"; wait "$server" 2>/dev/null || true
    exit 1
  fi
  if ! queued=$("$BIN" bench-flash queue --url "$base" --file "$work/flash.json" --clients "$clients" --attempts "$attempts"); then
    echo "!! FLASH SALE QUEUE BENCHMARK FAILED on $label: $queued" >&2
    kill "$server"; wait "$server" 2>/dev/null || true
    exit 1
  fi
  # The ceiling for any purchase path on this server: a signed-in POST refused at once (an unknown
  # item: the token checked against the database, the body decoded, a 404 written), by wrk.
  local ceiling
  ceiling=$(python3 - "$work/flash.json" "$work/ceiling.lua" <<'PY'
import json, sys
setup = json.load(open(sys.argv[1]))
buyer = setup["buyers"][0]
open(sys.argv[2], "w").write('wrk.method = "POST"\nwrk.body = \'{"addressId":"%s"}\'\nwrk.headers["Content-Type"] = "application/json"\n'
                             'wrk.headers["Authorization"] = "Bearer %s"\n' % (buyer["addressID"], buyer["token"]))
PY
  wrk -t2 -c"$clients" -d"${BENCH_FLASH_CEILING_SECONDS:-8}s" -s "$work/ceiling.lua" "$base/api/v1/flash-sales/items/00000000-0000-0000-0000-000000000000/tickets" | awk '/Requests\/sec/ {print $2}')
  kill "$server"; wait "$server" 2>/dev/null || true
  echo "== flash sale on $label: $BIN bench-flash ($attempts attempts, $clients clients, $units units; sold exactly $units in each)"
  echo "  raw SQL decrement      $(echo "$raw" | field purchases_per_second) purchases/s, $(echo "$raw" | field attempts_per_second) attempts/s (baseline)"
  echo "  HTTP flash checkout    $(echo "$http" | field purchases_per_second) purchases/s = $(ratio "$(echo "$http" | field purchases_per_second)" "$(echo "$raw" | field purchases_per_second)") of the baseline, $(echo "$http" | field attempts_per_second) attempts/s = $(ratio "$(echo "$http" | field attempts_per_second)" "$(echo "$raw" | field attempts_per_second)") of the baseline"
  echo "  HTTP queue (排队下单)  $(echo "$queued" | field purchases_per_second) purchases/s = $(ratio "$(echo "$queued" | field purchases_per_second)" "$(echo "$raw" | field purchases_per_second)") of the baseline, $(echo "$queued" | field attempts_per_second) attempts/s = $(ratio "$(echo "$queued" | field attempts_per_second)" "$(echo "$raw" | field attempts_per_second)") of the baseline; all $units orders built $(echo "$queued" | field orders_seconds) s after the first attempt ($(echo "$queued" | field orders_per_second) orders/s)"
  echo "  ceiling: signed-in POST refused at once (wrk -c$clients)  $ceiling requests/s = $(ratio "$ceiling" "$(echo "$raw" | field purchases_per_second)") of the baseline"
}

[ "$ONLY" = distribution ] && exit 0
if [ "$ONLY" = flash ]; then
  export FISSION_SQLITE_PATH="$work/flash.sqlite"
  (unset DATABASE_URL; flash_bench "SQLite")
  if [ -n "${DATABASE_URL:-}" ]; then
    psql "$DATABASE_URL" -qc "CREATE SCHEMA bench_flash_$$" >/dev/null
    (export FISSION_PG_SCHEMA=bench_flash_$$; flash_bench "PostgreSQL")
    psql "$DATABASE_URL" -qc "DROP SCHEMA bench_flash_$$ CASCADE" >/dev/null
  fi
  exit 0
fi
export FISSION_SQLITE_PATH="$work/orders.sqlite"
(unset DATABASE_URL; orders_bench "SQLite")
[ "$ONLY" != all ] || (export FISSION_SQLITE_PATH="$work/flash.sqlite"; unset DATABASE_URL; flash_bench "SQLite")

export FISSION_SQLITE_PATH="$work/catalog.sqlite"
[ "$ONLY" != all ] || (unset DATABASE_URL; "$BIN" migrate --yes >/dev/null; http_bench "SQLite")

if [ -n "${DATABASE_URL:-}" ]; then
  schema=bench_$$
  psql "$DATABASE_URL" -qc "CREATE SCHEMA $schema" >/dev/null
  if [ "$ONLY" = all ]; then
  echo "== money core on PostgreSQL (schema $schema): $BIN bench"
  FISSION_PG_SCHEMA=$schema "$BIN" migrate --yes >/dev/null
  FISSION_PG_SCHEMA=$schema "$BIN" bench --allocations 0
  fi
  for n in $LEDGER_SIZES; do
    echo "== verify-ledger on PostgreSQL: $BIN bench-ledger-verify --transactions $n"
    psql "$DATABASE_URL" -qc "CREATE SCHEMA ${schema}_v$n" >/dev/null
    FISSION_PG_SCHEMA=${schema}_v$n "$BIN" migrate --yes >/dev/null
    FISSION_PG_SCHEMA=${schema}_v$n "$BIN" bench-ledger-verify --transactions "$n"
    psql "$DATABASE_URL" -qc "DROP SCHEMA ${schema}_v$n CASCADE" >/dev/null
  done
  [ "$ONLY" != all ] || (export FISSION_PG_SCHEMA=$schema; http_bench "PostgreSQL")
  psql "$DATABASE_URL" -qc "CREATE SCHEMA ${schema}_orders" >/dev/null
  (export FISSION_PG_SCHEMA=${schema}_orders; orders_bench "PostgreSQL")
  psql "$DATABASE_URL" -qc "DROP SCHEMA ${schema}_orders CASCADE" >/dev/null
  if [ "$ONLY" = all ]; then
    psql "$DATABASE_URL" -qc "CREATE SCHEMA ${schema}_flash" >/dev/null
    (export FISSION_PG_SCHEMA=${schema}_flash; flash_bench "PostgreSQL")
    psql "$DATABASE_URL" -qc "DROP SCHEMA ${schema}_flash CASCADE" >/dev/null
  fi
  psql "$DATABASE_URL" -qc "DROP SCHEMA $schema CASCADE" >/dev/null
fi
