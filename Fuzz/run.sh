#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer + AddressSanitizer and runs each one.
#
#   Fuzz/run.sh [seconds]            run CommandFuzz and EnvelopeFuzz for <seconds> each (default 600);
#                                    exits non-zero if either finds a crash or broken invariant.
#   Fuzz/run.sh --planted [seconds]  build with a deliberate bug (-D PLANTED_BUG) and run CommandFuzz
#                                    (default 300 s); exits 0 only if the fuzzer finds the planted trap.
#
# Environment: FUZZ_JOBS=1 runs the targets one after the other (default: side by side when there
# are at least 2 CPUs). Seeds are read from Fuzz/Corpus/<target>/ and never written; new inputs go to
# Fuzz/.build/corpus/<target>/, crashing inputs to Fuzz/.build/findings/, logs to Fuzz/.build/logs/.
set -uo pipefail

cd "$(dirname "$0")"
planted=0
if [[ "${1:-}" == "--planted" ]]; then planted=1; shift; fi
if (( planted )); then seconds="${1:-300}"; else seconds="${1:-600}"; fi
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: $0 [--planted] [seconds]" >&2; exit 2; }

# gold drops the coverage-counter sections libFuzzer needs ("no interesting inputs"); link with lld.
build_flags=(-c debug --sanitize=fuzzer --sanitize=address -Xswiftc -use-ld=lld)
if (( planted )); then
    build_flags+=(--scratch-path .build/planted -Xswiftc -DPLANTED_BUG)
    targets=(CommandFuzz)
    out=.build/planted-run
    rm -rf "$out"   # start from the seeds only, so the result shows how fast the trap is found
else
    targets=(CommandFuzz EnvelopeFuzz)
    out=.build
fi

echo "== building (${build_flags[*]})"
# ld.gold warns about every ASan helper symbol; keep the log readable.
swift build "${build_flags[@]}" 2>&1 \
    | grep -vE "Cannot export local symbol|^(Fetching|Fetched|Computing|Computed|Creating working copy|Working copy) |^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Wrapping|Write)"
bin="$(swift build "${build_flags[@]}" --show-bin-path)"
for target in "${targets[@]}"; do
    [[ -x "$bin/$target" ]] || { echo "build failed: $bin/$target missing" >&2; exit 2; }
done

declare -A dict=([CommandFuzz]=Dictionaries/command.dict [EnvelopeFuzz]=Dictionaries/envelope.dict)

run_target() {
    local target=$1
    mkdir -p "$out/corpus/$target" "$out/findings" "$out/logs"
    SWIFT_BACKTRACE=enable=no "$bin/$target" \
        "$out/corpus/$target" "Corpus/$target" \
        -dict="${dict[$target]}" \
        -max_total_time="$seconds" -max_len=1024 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="$out/findings/$target-" -print_final_stats=1 \
        >"$out/logs/$target.log" 2>&1
}

jobs="${FUZZ_JOBS:-$(nproc)}"
declare -A status
echo "== fuzzing ${targets[*]} for ${seconds}s each"
if (( jobs >= 2 )); then
    declare -A pids
    for target in "${targets[@]}"; do run_target "$target" & pids[$target]=$!; done
    for target in "${targets[@]}"; do wait "${pids[$target]}"; status[$target]=$?; done
else
    for target in "${targets[@]}"; do run_target "$target"; status[$target]=$?; done
fi

found=0
for target in "${targets[@]}"; do
    log="$out/logs/$target.log"
    echo "== $target: exit ${status[$target]} (log $log)"
    grep -E "^#[0-9]+.*INITED" "$log" | tail -1
    grep -E "^#[0-9]+.* cov: " "$log" | tail -1
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec)" "$log"
    if (( status[$target] != 0 )); then
        found=1
        grep -E "Fatal error|invariant broken|PLANTED_BUG|ERROR: (AddressSanitizer|libFuzzer)|Test unit written|^Base64" "$log" | head -8
        echo
    fi
done

if (( planted )); then
    if (( found )) && grep -q "PLANTED_BUG" "$out/logs/CommandFuzz.log"; then
        echo "== planted bug found: the harness works"; exit 0
    fi
    echo "== planted bug NOT found in ${seconds}s" >&2; exit 1
fi
exit "$found"
