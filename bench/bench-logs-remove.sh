#!/usr/bin/env bash
# What removing large rotated files costs the other jobs (issue 6): `pmctl list` over pmd's
# private socket, timed every 20 ms for SECONDS (default 30), in three phases of the same run:
#   1. idle: pmd with one job that does not log;
#   2. a job running `yes LINE` flat out into its log with the default MaxSize=10M, MaxFiles=1;
#   3. the same with MaxSize=SIZE (default 1G): each rotation drops a file of SIZE.
# Times in µs from bash's own clock ($EPOCHREALTIME), so only pmctl and pmd's answer are measured.
# Prints the median, 99th percentile and maximum of each phase. Needs 3 × SIZE free in BENCH_DIR.
#   bench/bench-logs-remove.sh [SIZE] [SECONDS]
set -euo pipefail
SIZE=${1:-1G}
SECS=${2:-30}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PMD=${PMD:-$SRC/build/daemon/pmd}
PMCTL=${PMCTL:-$SRC/build/ctl/pmctl}
[[ -x "$PMD" && -x "$PMCTL" ]] || { echo "build first: make" >&2; exit 1; }
BENCH_DIR=${BENCH_DIR:-/tmp}
LINE=$(printf '%099d' 0)

. "$SRC/bench/lib.sh"

# phase NAME [MAXSIZE]: prints NAME and the answers' median, p99 and max; with MAXSIZE, a flooding
# job.
phase() {
        local name=$1 max=${2:-} d
        d=$(mktemp -d "$BENCH_DIR/pmd-bench-remove.XXXXXX")
        mkdir -p "$d/jobs"
        printf '[Service]\nExecStart=/bin/sleep 100000\n' >"$d/jobs/quiet.job"
        [[ -n "$max" ]] && printf '[Service]\nExecStart=/usr/bin/yes %s\n[Log]\nMaxSize=%s\nMaxFiles=1\n' \
                "$LINE" "$max" >"$d/jobs/flood.job"
        bench_pmd_start "$d"
        bench_wait_running "$d" $([[ -n "$max" ]] && echo 2 || echo 1)
        bench_time_pmctl "$d/sock" "$SECS" 0.02
        bench_pmd_stop
        rm -rf "$d"
        printf '%-34s %s\n' "$name" "$(bench_times_summary)"
}

echo "pmctl list every 20 ms for ${SECS} s per phase, $(date -u +%Y-%m-%d), $(nproc) CPUs, $(uname -r), $PMD"
phase "idle"
phase "flood, MaxSize=10M MaxFiles=1" 10M
phase "flood, MaxSize=$SIZE MaxFiles=1" "$SIZE"
