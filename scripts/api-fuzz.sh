#!/usr/bin/env bash
# Runs schemathesis against the API of a freshly migrated and seeded server on loopback.
# Uses DATABASE_URL when set (PostgreSQL), otherwise a throw-away SQLite file.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FISSION_BIN:-.build/debug/fission}
PORT=${FUZZ_PORT:-18081}
work=$(mktemp -d)
trap '[ -z "${server:-}" ] || kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -r tests/api/requirements.txt

export FISSION_VAR_DIR="$work" FISSION_BCRYPT_COST=4
"$BIN" migrate --yes >"$work/migrate.log" 2>&1
"$BIN" seed >"$work/seed.log" 2>&1
"$BIN" serve --hostname 127.0.0.1 --port "$PORT" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

token() {
  curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/auth/staff-login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$2\",\"console\":\"$3\"}" |
    .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])'
}
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
status=0
# Once as an operator and once as merchant staff, so that both consoles' routes answer with data.
for who in "admin Admin2026 platform" "nuannuan Shop2026 merchant"; do
  set -- $who
  echo "== schemathesis as $1 ($3)"
  .venv/bin/schemathesis run "http://127.0.0.1:$PORT/openapi.json" \
    -H "Authorization: Bearer $(token "$1" "$2" "$3")" \
    --checks "$checks" --max-examples 60 --seed 1 || status=1
done
exit $status
