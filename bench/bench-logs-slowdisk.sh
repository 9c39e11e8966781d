#!/usr/bin/env bash
# A disk slower than a flooding job, and pmd's other work (issue 6). pmd runs a job writing `yes`
# flat out into its log and a job that restarts every 0.5 s (each start and exit is a registry
# commit, whose fdatasync waits behind what is queued for the disk). Writes are throttled to RATE
# bytes/s (default 10 MB/s) with the cgroup v1 blkio controller, in one of two ways:
#   SLOW=pmd (default): pmd's own writes to the disk under BENCH_DIR, in a group of its own (the
#     kernel's write-back of the log, done by its flusher, goes at the disk's real speed);
#   SLOW=device: every write to a 8 GiB ext4 file system on a loop device made for the run (with
#     a journal), which holds pmd's state and logs: a disk that is slow for everyone.
# For SECONDS (default 40), `pmctl list` is timed every 0.2 s (µs from bash's clock) and the
# system's Writeback (what is queued for disks) sampled. Prints the median, 99th percentile and
# maximum of the answers, the largest Writeback, and how often the restarting job ran. Root only.
#   [SLOW=pmd|device] bench/bench-logs-slowdisk.sh [RATE] [SECONDS]
set -euo pipefail
RATE=${1:-10485760}
SECS=${2:-40}
SLOW=${SLOW:-pmd}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PMD=${PMD:-$SRC/build/daemon/pmd}
PMCTL=${PMCTL:-$SRC/build/ctl/pmctl}
[[ -x "$PMD" && -x "$PMCTL" ]] || { echo "build first: make" >&2; exit 1; }
BENCH_DIR=${BENCH_DIR:-/tmp}
BLKIO=/sys/fs/cgroup/blkio
[[ -w $BLKIO/cgroup.procs ]] || { echo "needs root and the cgroup v1 blkio controller" >&2; exit 1; }

. "$SRC/bench/lib.sh"

W=$(mktemp -d "$BENCH_DIR/pmd-bench-slowdisk.XXXXXX")
D=$W
CG=
loop=
undo() {
        [[ -n "${rule:-}" ]] && echo "$dev 0" >"$rule" 2>/dev/null
        [[ -n "$CG" && -n "$pid" ]] && echo "$pid" >"$BLKIO/cgroup.procs" 2>/dev/null
        bench_pmd_stop
        [[ -n "$CG" ]] && rmdir "$CG" 2>/dev/null
        if [[ -n "$loop" ]]; then
                umount "$W/mnt" 2>/dev/null
                losetup -d "$loop" 2>/dev/null
        fi
        rm -rf "$W"
}
trap undo EXIT
if [[ "$SLOW" == device ]]; then
        truncate -s 8G "$W/disk.img"
        loop=$(losetup -f --show "$W/disk.img")
        mkfs.ext4 -q "$loop"
        mkdir "$W/mnt"
        mount "$loop" "$W/mnt"
        D=$W/mnt
        dev=$(lsblk -dno MAJ:MIN "$loop" | tr -d ' ')
        rule=$BLKIO/blkio.throttle.write_bps_device
else
        dev=$(findmnt -n -o MAJ:MIN -T "$D" | tr -d ' ')
        [[ -e /sys/dev/block/$dev/partition ]] && dev=$(cat "/sys/dev/block/$dev/../dev")
        CG=$BLKIO/pmd-bench-slowdisk-$$
        mkdir "$CG"
        rule=$CG/blkio.throttle.write_bps_device
fi
mkdir -p "$D/jobs"
printf '[Service]\nExecStart=/usr/bin/yes a-line-of-log-output-written-as-fast-as-it-can-be\n[Log]\nMaxSize=1G\nMaxFiles=1\n' \
        >"$D/jobs/flood.job"
printf '[Service]\nExecStart=/bin/sh -c "echo hi; sleep 0.5"\nRestart=always\nRestartSec=500ms\n' >"$D/jobs/ping.job"
echo "$dev $RATE" >"$rule"
bench_pmd_start "$D"
[[ -n "$CG" ]] && echo "$pid" >"$CG/cgroup.procs"
bench_wait_running "$D" 2

wb_max=0
writeback() {
        local wb
        wb=$(awk '$1 == "Writeback:" { print $2 }' /proc/meminfo)
        ((wb > wb_max)) && wb_max=$wb
        return 0
}
bench_time_pmctl "$D/sock" "$SECS" 0.2 writeback
runs=$(sqlite3 -cmd '.timeout 300000' "$D/state/registry.db" "SELECT count(*) FROM runs WHERE job = 'ping'")
echo "SLOW=$SLOW: writes throttled to $((RATE / 1000000)) MB/s for ${SECS} s, $(date -u +%Y-%m-%d), $(nproc) CPUs," \
        "$(uname -r), $PMD"
echo "pmctl list: $(bench_times_summary); Writeback at most $((wb_max / 1024)) MiB; $runs runs of ping"
