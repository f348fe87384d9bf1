#!/usr/bin/env bash
# Runs every benchmark scenario against milestone-bot and against the Node peer, side by side, and prints
# one table (docs/PERFORMANCE.md). Each scenario gets a freshly started server (ours on a new temporary
# database); results go to Benchmarks/results/<time>/ as JSON, plus table.txt and table.md.
#
# Usage: Benchmarks/run.sh [--quick] [--scenario NAME]... [--target ours|peer] [--no-build]
#   --quick      small sizes and short runs: a smoke test of the whole pipeline (about 2 minutes)
#   --scenario   connections, fanout-pairs, fanout-rooms, commands, commands-paced, replay, startup (repeatable;
#                default all)
#   --target     run only against our server or only against the peer
#   --no-build   use the binaries already built
# Environment: MILESTONE_BOT (server binary; default .build/release/milestone-bot, built here),
#   SWIFT_BUILD_FLAGS (extra flags for the server's release build; default works around a Swift 6.3.1
#   optimizer crash, "CopyPropagation" in MilestoneCore Step.edit, with copy propagation off), BENCH_PORT (default 18080; the peer
#   uses BENCH_PORT+10), LOADGEN_THREADS (generator event loops, default 2).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
QUICK=0
BUILD=1
SCENARIOS=()
TARGETS=(ours peer)
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --no-build) BUILD=0 ;;
        --scenario) SCENARIOS+=("$2"); shift ;;
        --target) TARGETS=("$2"); shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ ${#SCENARIOS[@]} -eq 0 ] && SCENARIOS=(connections fanout-pairs fanout-rooms commands commands-paced replay startup)

# Server and generator each hold up to ~10,000 sockets.
ulimit -n "$(ulimit -Hn)"

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUN_DIR="$HERE/results/$STAMP$([ $QUICK = 1 ] && echo -quick || true)"
WORK=$(mktemp -d /tmp/milestone-bench.XXXXXX)
mkdir -p "$RUN_DIR"
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

SERVER_BIN=${MILESTONE_BOT:-$ROOT/.build/release/milestone-bot}
LOADGEN=$HERE/.build/release/loadgen
NODE=$(command -v node)
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
if [ $BUILD = 1 ]; then
    echo "building milestone-bot (release) -> $RUN_DIR/build-server.log"
    # shellcheck disable=SC2086
    (cd "$ROOT" && swift build -c release --product milestone-bot ${SWIFT_BUILD_FLAGS--Xswiftc -Xfrontend -Xswiftc -enable-copy-propagation=false}) > "$RUN_DIR/build-server.log" 2>&1 \
        || { tail -20 "$RUN_DIR/build-server.log"; exit 1; }
    echo "building loadgen (release) -> $RUN_DIR/build-loadgen.log"
    (cd "$HERE" && swift build -c release) > "$RUN_DIR/build-loadgen.log" 2>&1 || { tail -20 "$RUN_DIR/build-loadgen.log"; exit 1; }
fi

PORT_OURS=${BENCH_PORT:-18080}
PORT_PEER=$((PORT_OURS + 10))
# A benchmark-only secret and key. Limits are set so that they never get in the way: the per-connection
# rate limit and burst (the replay scenario's writer sends 1,000 lines at once), flood strikes, and the
# queue a slow reader may build. Everything else is bot-config/server.yaml as shipped.
export AUTH_SIGNING_SECRET=bench-signing-secret-0123456789abcdef0123456789
export AUTH_API_KEY=bench-api-key-0123456789abcdef
export LIMITS_MESSAGES_PER_SECOND=1000000
export LIMITS_MESSAGE_BURST=1000000
export LIMITS_FLOOD_STRIKES_BEFORE_CLOSE=1000000
export LIMITS_MAX_QUEUED_MESSAGES=100000
# The per-user read budget and the queue's byte bound (both newer than the first benchmarks) out of the
# way too: the replay scenario reads 1,000 messages at once.
export LIMITS_READ_BYTES_PER_SECOND=1000000000
export LIMITS_READ_BYTES_BURST=1000000000
export LIMITS_MAX_QUEUED_BYTES=1073741824
export LOG_LEVEL=${LOG_LEVEL:-warning}
COMMON=(--secret "$AUTH_SIGNING_SECRET" --api-key "$AUTH_API_KEY" --event-loops "${LOADGEN_THREADS:-2}")

wait_for_health() {  # port pid
    for _ in $(seq 1 600); do
        curl -sf "http://127.0.0.1:$1/health" > /dev/null 2>&1 && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

start_server() {  # target log [database]
    if [ "$1" = ours ]; then
        (cd "$ROOT" && exec "$SERVER_BIN" serve --port "$PORT_OURS" --database "$3") > "$2" 2>&1 &
        SERVER_PID=$!
        PORT=$PORT_OURS
    else
        "$NODE" "$HERE/peer/broadcast-server.js" "$PORT_PEER" > "$2" 2>&1 &
        SERVER_PID=$!
        PORT=$PORT_PEER
    fi
    wait_for_health "$PORT" "$SERVER_PID" || { echo "the $1 server did not start; see $2" >&2; tail -5 "$2" >&2; exit 1; }
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# Sizes: full (the issue's shapes) or quick (a smoke test).
if [ $QUICK = 1 ]; then
    CONNECTIONS=(--connections 1000)
    PAIRS=(--threads 500 --rate 2500 --duration 5 --warmup 1 --drain 10)
    ROOMS=(--threads 10 --rate 50 --duration 5 --warmup 1 --drain 10)
    COMMANDS=(--contracts 100 --cycles 5 --duration 30)
    COMMANDS_PACED=(--contracts 100 --cycles 5 --duration 10 --rate 1000)
    REPLAY=(--missed 1000 --repeats 3)
    STARTUP_CONTRACTS=100; STARTUP_MESSAGES=20000; STARTUP=(--repeats 3)
else
    CONNECTIONS=(--connections 10000)
    # The drain outlasts the backlog an overloaded server builds (p99 ~25 s at 25,000 offered): cut off
    # earlier, deliveries still in flight behind an acknowledged line would count as lost.
    PAIRS=(--threads 5000 --rate 25000 --duration 20 --warmup 3 --drain 90)
    ROOMS=(--threads 100 --rate 500 --duration 20 --warmup 3 --drain 20)
    COMMANDS=(--contracts 1000 --cycles 10 --duration 60)
    # The target's rate: 5,000 money commands/s = 10,000 commands/s (half of the cycle moves money).
    COMMANDS_PACED=(--contracts 1000 --cycles 10 --duration 20 --rate "${PACED_RATE:-10000}")
    REPLAY=(--missed 1000 --repeats 7)
    STARTUP_CONTRACTS=1000; STARTUP_MESSAGES=1000000; STARTUP=(--repeats 5)
fi

run_scenario() {  # scenario target
    local scenario=$1 target=$2 out="$RUN_DIR/$1-$2.json" log="$RUN_DIR/$1-$2.server.log"
    local args=()
    case "$scenario" in
        connections) args=("${CONNECTIONS[@]}") ;;
        fanout-pairs) args=("${PAIRS[@]}") ;;
        fanout-rooms) args=("${ROOMS[@]}") ;;
        commands) args=("${COMMANDS[@]}") ;;
        commands-paced) args=("${COMMANDS_PACED[@]}") ;;
        replay) args=("${REPLAY[@]}") ;;
    esac
    if [ "$scenario" = startup ]; then
        run_startup "$target" "$out" "$log"
        return
    fi
    start_server "$target" "$log" "$WORK/$scenario.sqlite"
    (cd "$ROOT" && "$LOADGEN" "${scenario%-paced}" --target "$target" --port "$PORT" --server-pid "$SERVER_PID" --out "$out" \
        "${COMMON[@]}" "${args[@]}") 2> "$RUN_DIR/$scenario-$target.loadgen.log" \
        || echo "$scenario [$target] FAILED: $(tail -1 "$RUN_DIR/$scenario-$target.loadgen.log")"
    stop_server
}

run_startup() {  # target out log
    if [ "$1" = ours ]; then
        local db="$WORK/startup.sqlite"
        start_server ours "$3" "$db"
        "$LOADGEN" contracts --port "$PORT" --count "$STARTUP_CONTRACTS" "${COMMON[@]}" 2>> "$RUN_DIR/startup-ours.loadgen.log"
        stop_server
        python3 "$HERE/fill_database.py" --database "$db" --messages "$STARTUP_MESSAGES" >> "$RUN_DIR/startup-ours.loadgen.log"
        "$SERVER_BIN" verify --database "$db" | tail -1 >> "$RUN_DIR/startup-ours.loadgen.log" \
            || { echo "startup [ours]: the filled database does not verify; see $RUN_DIR/startup-ours.loadgen.log"; return; }
        (cd "$ROOT" && "$LOADGEN" startup --target ours --port "$PORT_OURS" --messages "$STARTUP_MESSAGES" --out "$2" "${STARTUP[@]}" \
            -- "$SERVER_BIN" serve --port "$PORT_OURS" --database "$db") 2>> "$RUN_DIR/startup-ours.loadgen.log" \
            || echo "startup [ours] FAILED: $(tail -1 "$RUN_DIR/startup-ours.loadgen.log")"
    else
        "$LOADGEN" startup --target peer --port "$PORT_PEER" --out "$2" "${STARTUP[@]}" \
            -- "$NODE" "$HERE/peer/broadcast-server.js" "$PORT_PEER" 2> "$RUN_DIR/startup-peer.loadgen.log" \
            || echo "startup [peer] FAILED: $(tail -1 "$RUN_DIR/startup-peer.loadgen.log")"
    fi
}

{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git -C "$ROOT" rev-parse --short HEAD)$([ $QUICK = 1 ] && echo ' (quick)' || true)"
    echo "# $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(swift --version 2>&1 | head -1), node $("$NODE" --version)"
} | tee "$RUN_DIR/machine.txt"
for scenario in "${SCENARIOS[@]}"; do
    for target in "${TARGETS[@]}"; do
        run_scenario "$scenario" "$target"
    done
done
echo
"$LOADGEN" table "$RUN_DIR" | tee "$RUN_DIR/table.txt"
{ cat "$RUN_DIR/machine.txt"; echo; "$LOADGEN" table --markdown "$RUN_DIR"; } > "$RUN_DIR/table.md"
cp "$RUN_DIR/table.md" "$HERE/results/latest$([ $QUICK = 1 ] && echo -quick || true).md"
echo "results: $RUN_DIR"
