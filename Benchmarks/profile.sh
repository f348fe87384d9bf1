#!/usr/bin/env bash
# Profiles milestone-bot under one benchmark scenario (docs/PERFORMANCE.md, "Where the time goes").
# CPU: `perf record` (cpu-clock, call graphs) around the whole server process while the generator runs a
# scaled-down scenario; memory: heaptrack around the server during the `connections` scenario.
#
# Usage: Benchmarks/profile.sh SCENARIO [--dwarf]
#   SCENARIO   commands | fanout-pairs | connections
#   --dwarf    unwind with DWARF (slower, larger) instead of frame pointers
# Environment: MILESTONE_BOT (server binary, default .build/release/milestone-bot: a release build keeps its
#   DWARF, so no separate build is needed), BENCH_PORT (default 18080), PERF_FREQ (default 999 Hz),
#   PROFILE_ARGS (override the scenario's loadgen sizes).
# Output: Benchmarks/results/profile-<scenario>-<time>/ (perf.data or heaptrack file, reports, logs; not committed).
# Needs: perf (linux-perf), heaptrack, python3; the generator built (Benchmarks/run.sh builds it).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SCENARIO=${1:?"usage: $0 commands|fanout-pairs|connections [--dwarf]"}
CALLGRAPH=fp
[ "${2:-}" = --dwarf ] && CALLGRAPH=dwarf,16384
ulimit -n "$(ulimit -Hn)"

SERVER_BIN=${MILESTONE_BOT:-$ROOT/.build/release/milestone-bot}
LOADGEN=$HERE/.build/release/loadgen
PORT=${BENCH_PORT:-18080}
OUT="$HERE/results/profile-$SCENARIO-$(date -u +%Y%m%dT%H%M%SZ)"
WORK=$(mktemp -d /tmp/milestone-prof.XXXXXX)
mkdir -p "$OUT"
trap 'rm -rf "$WORK"' EXIT

export AUTH_SIGNING_SECRET=bench-signing-secret-0123456789abcdef0123456789
export AUTH_API_KEY=bench-api-key-0123456789abcdef
export LIMITS_MESSAGES_PER_SECOND=1000000 LIMITS_MESSAGE_BURST=1000000 LIMITS_FLOOD_STRIKES_BEFORE_CLOSE=1000000
export LIMITS_MAX_QUEUED_MESSAGES=100000 LOG_LEVEL=warning
COMMON=(--secret "$AUTH_SIGNING_SECRET" --api-key "$AUTH_API_KEY" --port "$PORT" --event-loops 2)

case "$SCENARIO" in
    commands) ARGS=(--contracts 300 --cycles 10 --duration 40) ;;
    fanout-pairs) ARGS=(--threads 500 --rate 2500 --duration 10 --warmup 2 --drain 10) ;;
    connections) ARGS=(--connections 2000 --settle 3) ;;
    *) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
# shellcheck disable=SC2206
[ -n "${PROFILE_ARGS:-}" ] && ARGS=($PROFILE_ARGS)

SERVE=("$SERVER_BIN" serve --port "$PORT" --database "$WORK/db.sqlite")
if [ "$SCENARIO" = connections ]; then
    (cd "$ROOT" && exec heaptrack -o "$OUT/heaptrack" "${SERVE[@]}") > "$OUT/server.log" 2>&1 &
else
    (cd "$ROOT" && exec perf record -F "${PERF_FREQ:-999}" -e cpu-clock --call-graph "$CALLGRAPH" -o "$OUT/perf.data" \
        -- "${SERVE[@]}") > "$OUT/server.log" 2>&1 &
fi
WRAPPER=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/health" > /dev/null 2>&1 && break; sleep 0.1; done
SERVER_PID=$(pgrep -P "$WRAPPER" -f 'milestone-bot serve' || echo "$WRAPPER")
(cd "$ROOT" && "$LOADGEN" "$SCENARIO" "${COMMON[@]}" --server-pid "$SERVER_PID" --out "$OUT/result.json" "${ARGS[@]}") \
    2> "$OUT/loadgen.log" || echo "loadgen failed: $(tail -1 "$OUT/loadgen.log")"
kill -INT "$SERVER_PID" 2>/dev/null || true
wait "$WRAPPER" 2>/dev/null || true

if [ "$SCENARIO" = connections ]; then
    # The largest peak consumers, each with up to 60 call sites; sites called about once per connection
    # are the per-connection cost.
    heaptrack_print -f "$OUT"/heaptrack*.zst --print-peaks 1 --print-allocators 0 --print-temporary 0 \
        --print-leaks 0 -n 6 -s 60 2>/dev/null | swift demangle --simplified > "$OUT/heaptrack.txt" || true
    CONNS=$(echo "${ARGS[*]}" | sed -n 's/.*--connections \([0-9]*\).*/\1/p')
    python3 "$HERE/heaptrack_per_connection.py" "$OUT/heaptrack.txt" "${CONNS:-2000}" > "$OUT/per-connection.txt"
    head -6 "$OUT/per-connection.txt"
    echo "heaptrack report: $OUT/{per-connection,heaptrack}.txt"
else
    perf report -i "$OUT/perf.data" --no-children --sort symbol --stdio --percent-limit 0.5 -g none \
        > "$OUT/self.txt" 2>/dev/null
    perf report -i "$OUT/perf.data" --children --sort symbol --stdio --percent-limit 2 -g none \
        > "$OUT/inclusive.txt" 2>/dev/null
    perf report -i "$OUT/perf.data" --no-children --sort dso --stdio -g none > "$OUT/dso.txt" 2>/dev/null
    # Exclusive buckets (Benchmarks/profile_buckets.py): each sample counted once, where it was caused.
    perf script -i "$OUT/perf.data" -F comm,tid,ip,sym --no-inline 2>/dev/null | swift demangle --simplified \
        > "$OUT/stacks.txt"
    python3 "$HERE/profile_buckets.py" < "$OUT/stacks.txt" > "$OUT/buckets.txt"
    cat "$OUT/buckets.txt"
    echo "perf reports: $OUT/{buckets,self,inclusive,dso}.txt"
fi
