#!/usr/bin/env bash
# A disk slower than a flooding job, and pmd's other work (issue 6): pmd runs in a cgroup v1 blkio
# group whose writes to the log's disk are throttled to RATE bytes/s (default 10 MB/s), with a job
# running `yes` flat out into its log and a job that restarts every 0.5 s (each start and exit is
# a registry commit, which waits behind what pmd has queued for the disk). For SECONDS (default
# 40), `pmctl list` is timed every 0.2 s (µs from bash's clock) and the system's Writeback (what
# is queued for the disk) sampled. Prints the median, 99th percentile and maximum of the answers,
# and the largest Writeback. Root only; writes a few GB to BENCH_DIR.
#   bench/bench-logs-slowdisk.sh [RATE] [SECONDS]
set -euo pipefail
RATE=${1:-10485760}
SECS=${2:-40}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PMD=${PMD:-$SRC/build/daemon/pmd}
PMCTL=${PMCTL:-$SRC/build/ctl/pmctl}
[[ -x "$PMD" && -x "$PMCTL" ]] || { echo "build first: make" >&2; exit 1; }
BENCH_DIR=${BENCH_DIR:-/tmp}
BLKIO=/sys/fs/cgroup/blkio
[[ -w $BLKIO/cgroup.procs ]] || { echo "needs root and the cgroup v1 blkio controller" >&2; exit 1; }

. "$SRC/bench/lib.sh"

D=$(mktemp -d "$BENCH_DIR/pmd-bench-slowdisk.XXXXXX")
mkdir -p "$D/jobs"
printf '[Service]\nExecStart=/usr/bin/yes a-line-of-log-output-written-as-fast-as-it-can-be\n[Log]\nMaxSize=2G\nMaxFiles=1\n' \
        >"$D/jobs/flood.job"
printf '[Service]\nExecStart=/bin/sh -c "echo hi; sleep 0.5"\nRestart=always\nRestartSec=500ms\n' >"$D/jobs/ping.job"
dev=$(findmnt -n -o MAJ:MIN -T "$D" | tr -d ' ')
[[ -e /sys/dev/block/$dev/partition ]] && dev=$(cat "/sys/dev/block/$dev/../dev")
CG=$BLKIO/pmd-bench-slowdisk-$$
mkdir "$CG"
echo "$dev $RATE" >"$CG/blkio.throttle.write_bps_device"
undo() {
        echo "$dev 0" >"$CG/blkio.throttle.write_bps_device" 2>/dev/null || true
        [[ -n "$pid" ]] && echo "$pid" >"$BLKIO/cgroup.procs" 2>/dev/null
        bench_pmd_stop
        rmdir "$CG" 2>/dev/null || true
        rm -rf "$D"
}
trap undo EXIT
bench_pmd_start "$D"
echo "$pid" >"$CG/cgroup.procs"
bench_wait_running "$D" 2

declare -a t=()
wb_max=0
end=$((${EPOCHREALTIME/[.,]/} + SECS * 1000000))
while ((${EPOCHREALTIME/[.,]/} < end)); do
        a=${EPOCHREALTIME/[.,]/}
        timeout 300 "$PMCTL" --socket "$D/sock" list >/dev/null
        b=${EPOCHREALTIME/[.,]/}
        t+=($((b - a)))
        wb=$(awk '$1 == "Writeback:" { print $2 }' /proc/meminfo)
        ((wb > wb_max)) && wb_max=$wb
        sleep 0.2
done
runs=$(sqlite3 -cmd '.timeout 1000' "$D/state/registry.db" "SELECT count(*) FROM runs WHERE job = 'ping'")
echo "writes throttled to $((RATE / 1000000)) MB/s for ${SECS} s, $(date -u +%Y-%m-%d), $(nproc) CPUs, $(uname -r), $PMD"
printf '%s\n' "${t[@]}" | sort -n | awk -v wb="$wb_max" -v runs="$runs" '{a[NR] = $1}
        END {printf "pmctl list: %d answers, median %.1f ms, p99 %.1f ms, max %.1f ms; Writeback at most %d MiB; %d runs of ping\n",
                NR, a[int((NR + 1) / 2)] / 1000, a[int(NR * 0.99 + 0.5)] / 1000, a[NR] / 1000, wb / 1024, runs}'
