#!/usr/bin/env bash
# Start N `sleep` jobs (default 1000) and measure: the time from pmd's start to all of them
# running (from the registry's own timestamps, so measuring does not load pmd), pmd's RSS with N
# jobs, and pmd's CPU time and context switches over IDLE seconds (default 10) with nothing
# happening. Runs ROUNDS times (default 5) and prints each round and the medians.
#   bench/bench-start.sh [N] [ROUNDS] [IDLE]
set -euo pipefail
N=${1:-1000}
ROUNDS=${2:-5}
IDLE=${3:-10}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PMD=${PMD:-$SRC/build/daemon/pmd}
[[ -x "$PMD" ]] || { echo "build first: make" >&2; exit 1; }

. "$SRC/bench/lib.sh"

declare -a T_START RSS CPU CTX
for round in $(seq "$ROUNDS"); do
        T=$(mktemp -d /tmp/pmd-bench.XXXXXX)
        sleep_jobs "$T" "$N"
        bench_pmd_start "$T"
        bench_wait_running "$T" "$N"
        # pmd's start (the audit's startup record is written first thing) to the last job running.
        start_ms=$(sqlite3 "$T/state/registry.db" "SELECT (SELECT max(since) FROM jobs) - \
                (SELECT min(ts) FROM audit WHERE action='startup' AND ts >= (SELECT max(ts) FROM audit WHERE action='startup'))" |
                awk '{printf "%.1f", $1/1000}')
        # pmd's own start time, from /proc, to the startup record: what the process takes before that.
        sleep 1
        rss_kib=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
        read -r ut st < <(awk '{print $14, $15}' /proc/$pid/stat)
        c0=$(awk '/^voluntary_ctxt_switches|^nonvoluntary_ctxt_switches/ {s += $2} END {print s}' /proc/$pid/status)
        sleep "$IDLE"
        read -r ut2 st2 < <(awk '{print $14, $15}' /proc/$pid/stat)
        c1=$(awk '/^voluntary_ctxt_switches|^nonvoluntary_ctxt_switches/ {s += $2} END {print s}' /proc/$pid/status)
        tck=$(getconf CLK_TCK)
        cpu_ms=$(( (ut2 + st2 - ut - st) * 1000 / tck ))
        ctx=$((c1 - c0))
        echo "round $round: all $N running ${start_ms} ms after startup; RSS $((rss_kib / 1024)).$(((rss_kib % 1024) * 10 / 1024)) MiB; idle ${IDLE}s: CPU ${cpu_ms} ms, ${ctx} context switches (wake-ups)"
        T_START+=("$start_ms"); RSS+=("$rss_kib"); CPU+=("$cpu_ms"); CTX+=("$ctx")
        bench_pmd_stop
        rm -rf "$T"
done
echo "median over $ROUNDS rounds: start-to-all-running $(printf '%s\n' "${T_START[@]}" | median) ms," \
        "RSS $(printf '%s\n' "${RSS[@]}" | median | awk '{printf "%.1f", $1/1024}') MiB," \
        "idle CPU $(printf '%s\n' "${CPU[@]}" | median) ms / ${IDLE} s," \
        "wake-ups $(printf '%s\n' "${CTX[@]}" | median)"
