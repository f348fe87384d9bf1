#!/usr/bin/env bash
# Validates docs/openapi.yaml and runs schemathesis against `milestone-bot serve --demo` on a temporary database.
# Needs: pip install openapi-spec-validator schemathesis. Exits non-zero on any failure.
# MILESTONE_BOT: the server binary (default .build/debug/milestone-bot); MAX_EXAMPLES (default 20).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${MILESTONE_BOT:-.build/debug/milestone-bot}"
SPEC=docs/openapi.yaml
TMP="$(mktemp -d)"
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

openapi-spec-validator "$SPEC"

"$BIN" serve --demo --port 0 --database "$TMP/server.sqlite" >"$TMP/out" 2>"$TMP/err" &
PID=$!
for _ in $(seq 1 300); do grep -q '^Health:' "$TMP/out" 2>/dev/null && break; sleep 0.1; done
PORT="$(grep -oP 'serving on http://[^:/\s]+:\K[0-9]+' "$TMP/out" || true)"
export ST_TOKEN="$(grep -A3 '^moderator mia' "$TMP/out" | grep -oP 'token: \K\S+' || true)"
export ST_API_KEY="$(grep -oP 'X-Api-Key\).*: \K[0-9A-Za-z_-]+$' "$TMP/out" || true)"
if [ -z "$PORT" ] || [ -z "$ST_TOKEN" ] || [ -z "$ST_API_KEY" ]; then
  echo "server did not print its port, mia's token and the API key:" >&2; cat "$TMP/out" "$TMP/err" >&2; exit 1
fi
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

# Each operation gets the scheme its `security` names: mia's bearer token or the platform key; {id} is the demo contract.
cat >"$TMP/schemathesis.toml" <<'EOF'
[auth.openapi.bearerAuth]
bearer = "${ST_TOKEN}"
[auth.openapi.apiKey]
api_key = "${ST_API_KEY}"
[parameters]
"path.id" = "demo"

# Rules the schema cannot state, so a schema-valid request may still be refused: a contract's buyer and
# freelancer must differ; an empty `assignee=` is refused, which the coverage phase takes for an absent one.
[[operations]]
include-path = "/api/contracts"
include-method = "POST"
checks.positive_data_acceptance.enabled = false

[[operations]]
include-path = "/api/disputes"
include-method = "GET"
checks.positive_data_acceptance.enabled = false
EOF

schemathesis --config-file "$TMP/schemathesis.toml" run "$SPEC" --url "http://127.0.0.1:$PORT" \
  --max-examples "${MAX_EXAMPLES:-20}" --seed 1 --max-failures 200
