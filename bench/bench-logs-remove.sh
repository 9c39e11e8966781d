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

# phase NAME [MAXSIZE]: prints "NAME median p99 max" in ms; with MAXSIZE, a flooding job.
phase() {
        local name=$1 max=${2:-} d a b end
        local -a t=()
        d=$(mktemp -d "$BENCH_DIR/pmd-bench-remove.XXXXXX")
        mkdir -p "$d/jobs"
        printf '[Service]\nExecStart=/bin/sleep 100000\n' >"$d/jobs/quiet.job"
        [[ -n "$max" ]] && printf '[Service]\nExecStart=/usr/bin/yes %s\n[Log]\nMaxSize=%s\nMaxFiles=1\n' \
                "$LINE" "$max" >"$d/jobs/flood.job"
        bench_pmd_start "$d"
        bench_wait_running "$d" $([[ -n "$max" ]] && echo 2 || echo 1)
        end=$((${EPOCHREALTIME/[.,]/} + SECS * 1000000))
        while ((${EPOCHREALTIME/[.,]/} < end)); do
                a=${EPOCHREALTIME/[.,]/}
                "$PMCTL" --socket "$d/sock" list >/dev/null
                b=${EPOCHREALTIME/[.,]/}
                t+=($((b - a)))
                sleep 0.02
        done
        bench_pmd_stop
        rm -rf "$d"
        printf '%s\n' "${t[@]}" | sort -n | awk -v name="$name" '{a[NR] = $1}
                END {printf "%-34s %6d samples  median %7.1f ms  p99 %7.1f ms  max %7.1f ms\n", name, NR,
                        a[int((NR + 1) / 2)] / 1000, a[int(NR * 0.99 + 0.5)] / 1000, a[NR] / 1000}'
}

echo "pmctl list every 20 ms for ${SECS} s per phase, $(date -u +%Y-%m-%d), $(nproc) CPUs, $(uname -r), $PMD"
phase "idle"
phase "flood, MaxSize=10M MaxFiles=1" 10M
phase "flood, MaxSize=$SIZE MaxFiles=1" "$SIZE"
