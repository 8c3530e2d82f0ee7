#!/usr/bin/env bash
# Fuzzes the API of a freshly migrated and seeded server on loopback with schemathesis: every
# check, a new random seed each run, once per audience (anonymous, member, merchant staff,
# operator) over the operations tagged for it, then signing out everywhere. Fails when a check
# fails, a warning that tests/api/schemathesis.toml makes fatal appears, or the server dies.
# Uses DATABASE_URL when set (PostgreSQL), otherwise a throw-away SQLite file.
#
#   FUZZ_SEED=123 bash scripts/api-fuzz.sh      replay the run that printed seed 123
#   FUZZ_ROLES="merchant platform"               only these audiences
#   FUZZ_MAX_EXAMPLES=20                         examples per operation and phase
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FISSION_BIN:-.build/debug/fission}
PORT=${FUZZ_PORT:-18081}
SEED=${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
ROLES=${FUZZ_ROLES:-anonymous member merchant platform signout}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-20}
BASE="http://127.0.0.1:$PORT"
work=$(mktemp -d)
trap '[ -z "${server:-}" ] || kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

[ -x .venv/bin/schemathesis ] || { python3 -m venv .venv && .venv/bin/pip install -q -r tests/api/requirements.txt; }
.venv/bin/pip install -q -r tests/api/requirements.txt

echo "== schemathesis seed $SEED (replay with FUZZ_SEED=$SEED bash scripts/api-fuzz.sh)"

# Tokens must outlive the whole run; a cheap hash keeps the seeded logins fast.
export FISSION_VAR_DIR="$work" FISSION_BCRYPT_COST=4 FISSION_ACCESS_TOKEN_SECONDS=7200
"$BIN" migrate --yes >"$work/migrate.log" 2>&1
"$BIN" seed --demo >"$work/seed.log" 2>&1
# Each fuzzed request names its own client address in X-Forwarded-For (tests/api/hooks.py):
# the per-address limits on anonymous applications, uploads, SMS codes and logins would
# otherwise answer most of them with 429 and leave the handlers behind the limits untested.
FISSION_TRUST_FORWARDED_FOR=1 "$BIN" serve --hostname 127.0.0.1 --port "$PORT" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

server_alive() {
  kill -0 "$server" 2>/dev/null && curl -fsS --max-time 10 "$BASE/healthz" >/dev/null 2>&1
}

die_if_server_died() {
  server_alive && return 0
  echo "!! The server (pid $server) died or stopped answering /healthz during: $1" >&2
  echo "!! Replay with FUZZ_SEED=$SEED. Last lines of its log:" >&2
  tail -n 60 "$work/serve.log" >&2
  exit 1
}
die_if_server_died "start-up"

# One login per account, before any fuzzing: the fuzzer's failed logins count against the demo
# accounts and would slow or lock these logins later in the run.
login() {
  curl -fsS -X POST "$BASE$1" -H 'Content-Type: application/json' -d "$2" |
    .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])'
}
declare -A token
token[member]=$(login /api/v1/auth/login '{"phone":"13800138000","password":"Member2026"}')
token[merchant]=$(login /api/v1/auth/staff-login '{"username":"nuannuan","password":"Shop2026","console":"merchant"}')
token[platform]=$(login /api/v1/auth/staff-login '{"username":"admin","password":"Admin2026","console":"platform"}')

# The hooks give schema-valid cases ids of rows that exist and unused codes and logins; the
# operator's review links start from pending applications, products from a brand, the shop's
# order operations from orders a member placed, distribution from distributors, commissions and
# withdrawals in every state.
export SCHEMATHESIS_HOOKS=tests/api/hooks.py FUZZ_BASE="$BASE" FUZZ_SEED="$SEED" FUZZ_SERVER_LOG="$work/serve.log" FUZZ_CODES_FILE="$work/codes.txt" FUZZ_DISTRIBUTION_FILE="$work/distribution.json" FUZZ_TICKETS_FILE="$work/tickets.txt"
FUZZ_LICENCE_IMAGE=$(FUZZ_ROLE=prepare FUZZ_TOKEN= FUZZ_OPERATOR_TOKEN=${token[platform]} FUZZ_MEMBER_TOKEN=${token[member]} FUZZ_MERCHANT_TOKEN=${token[merchant]} .venv/bin/python tests/api/hooks.py prepare)
# The shop's run places an order of its own for 改价, which no other run then pays or cancels.
export FUZZ_LICENCE_IMAGE FUZZ_MEMBER_TOKEN=${token[member]}

# Each audience runs over the operations tagged for it in the contract; the `ignored_auth`
# check also sends every protected request without the token.
declare -A tags=(
  [anonymous]="storefront auth applicant"
  [member]="member"
  [merchant]="merchant"
  [platform]="platform"
  [signout]="signout"
)

status=0
for role in $ROLES; do
  # Signing out everywhere ends the token it is sent with: last, with a login of its own.
  if [ "$role" = signout ]; then
    token[signout]=$(login /api/v1/auth/login '{"phone":"13900139000","password":"Member2026"}')
  fi
  args=()
  for tag in ${tags[$role]}; do args+=(--include-tag "$tag"); done
  [ "$role" = anonymous ] || args+=(-H "Authorization: Bearer ${token[$role]}")
  # These operations link nowhere: no stateful phase for them.
  case $role in member | signout) args+=(--phases examples,coverage,fuzzing) ;; esac
  echo "== schemathesis as $role (tags: ${tags[$role]}; seed $SEED)"
  FUZZ_ROLE=$role FUZZ_TOKEN=${token[$role]:-} .venv/bin/schemathesis --config-file tests/api/schemathesis.toml run "$BASE/openapi.json" \
    "${args[@]}" --checks all --seed "$SEED" --max-examples "$MAX_EXAMPLES" --no-color || status=1
  die_if_server_died "schemathesis as $role"
done

if [ $status -ne 0 ]; then
  echo "!! schemathesis failed (a check, an error or a warning above); replay with FUZZ_SEED=$SEED bash scripts/api-fuzz.sh" >&2
fi
exit $status
