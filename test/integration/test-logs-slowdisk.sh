#!/usr/bin/env bash
# A disk slower than a job's output: the kernel keeps what waits for the disk in memory up to its
# background amount (vm.dirty_background_*), and half as much again; past that it holds the writer,
# pmd, in write(2), and every job with it. pmd stops short of that: past the background amount it
# holds the flooding job back (stops reading its pipe) until the disk catches up, so it goes on
# answering. The disk is made slow for pmd alone, 10 MB/s, with the blkio controller's write
# throttle; the write-back that pmd starts is counted against it. Checked: once the job is held to
# the disk's pace, what waits for the disk is short of where the kernel holds writers (before, pmd
# was held there), and the log grows at about the disk's pace (the kernel's own write-back, which
# the limit does not count, takes some of it faster); once the disk is fast again, the job
# runs at full speed again; and at most 32 MiB of the log is queued for the disk at a time.
# (Before Linux 6.5, without cachestat(2), the growth and the queue are not checked: see below.)
# On a large machine this writes a few GB.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_cmd findmnt
case $(stat -f -c %T "$T/log") in
tmpfs | ramfs) skip "the log directory is in memory ($(stat -f -c %T "$T/log")): no disk to wait for" ;;
esac
BLKIO=/sys/fs/cgroup/blkio
[[ -w $BLKIO/cgroup.procs ]] || skip "needs the cgroup v1 blkio controller at $BLKIO"

# The log takes what the kernel writes in the background (a tenth of the memory) and then some.
need=$(awk '$1 == "MemAvailable:" { printf "%.0f\n", $2 * 1024 / 5 + 2 * 1073741824 }' /proc/meminfo)
free=$(df --output=avail -B1 "$T/log" | tail -n 1)
((free > need)) || skip "needs $((need / 1048576)) MiB free on the log's file system ($((free / 1048576)) MiB)"

# The whole disk under the log directory (throttle rules take disks, not partitions).
dev=$(findmnt -n -o MAJ:MIN -T "$T/log" | tr -d ' ')
[[ -e /sys/dev/block/$dev/partition ]] && dev=$(cat "/sys/dev/block/$dev/../dev")
CG=$BLKIO/pmd-test-slowdisk-$$
mkdir "$CG"
echo "$dev 10485760" >"$CG/blkio.throttle.write_bps_device" 2>/dev/null ||
        { rmdir "$CG"; skip "cannot throttle writes to $dev"; }

# Lift the limit before anything removes the log (what is queued goes out at once), and take
# pmd back out of the group, whatever ends the test.
home=
slow_undo() {
        echo "$dev 0" >"$CG/blkio.throttle.write_bps_device" 2>/dev/null
        [[ -n "$home" && -n "$PMD_PID" ]] && echo "$PMD_PID" >"$BLKIO$home/cgroup.procs" 2>/dev/null
        rmdir "$CG" 2>/dev/null
        return 0
}
trap '_rc=$?; set +e; slow_undo; (exit $_rc); _cleanup' EXIT

write_job flood <<EOF
[Service]
ExecStart=/usr/bin/yes a-line-of-log-output-written-as-fast-as-it-can-be
[Log]
MaxSize=2G
MaxFiles=4
EOF
pmd_start
wait_until 10 job_state_is flood running
home=$(sed -n 's/^[0-9]*:blkio:\(.*\)$/\1/p' "/proc/$PMD_PID/cgroup")
[[ -n "$home" ]] || fail "pmd is in no blkio group: $(cat "/proc/$PMD_PID/cgroup")"
echo "$PMD_PID" >"$CG/cgroup.procs"

# The sizes of the log's files. A rotation may rename one between the glob and stat: try again
# (a few times; the window is a rename's).
logsize() {
        local i sizes
        for i in 1 2 3 4 5; do
                sizes=$(stat -c %s "$T"/log/flood.log* 2>/dev/null) && break
        done
        awk '{ s += $1 } END { printf "%.0f\n", s }' <<<"$sizes"
}
meminfo() { awk -v k="$1:" '$1 == k { printf "%.0f\n", $2 * 1024 }' /proc/meminfo; }
# held: the log grew by less than 32 MiB in the last second.
last=$(logsize)
held() {
        local now
        sleep 1
        now=$(logsize)
        (((now - last) < 32 * 1048576)) && return 0
        last=$now
        return 1
}
wait_until 60 held
echo "log $(logsize) bytes, growing by $(( ($(logsize) - last) / 1048576 )) MiB/s"
# Where the kernel holds writers: half-way from the background amount to the limit.
avail=$(meminfo MemAvailable)
bg=$(cat /proc/sys/vm/dirty_background_bytes)
((bg > 0)) || bg=$((avail / 100 * $(cat /proc/sys/vm/dirty_background_ratio)))
hard=$(cat /proc/sys/vm/dirty_bytes)
((hard > 0)) || hard=$((avail / 100 * $(cat /proc/sys/vm/dirty_ratio)))
waiting=$(($(meminfo Dirty) + $(meminfo Writeback)))
echo "held back with $((waiting / 1048576)) MiB waiting for the disk; the kernel writes in the background" \
        "from $((bg / 1048576)) MiB and holds writers from $(((bg + hard) / 2 / 1048576)) MiB"
((waiting < (bg + hard) / 2)) || fail "pmd was held by the kernel: $waiting bytes wait for the disk"

s0=$(logsize)
t0=$(_now_us)
worst=0
inflight=0
for _ in $(seq 10); do
        a=$(_now_us)
        pmctl list >/dev/null
        t=$(($(_now_us) - a))
        ((t > worst)) && worst=$t
        w=$(meminfo Writeback)
        ((w > inflight)) && inflight=$w
        sleep 0.5
done
s1=$(logsize)
dt=$(($(_now_us) - t0))
grew=$((s1 - s0))
# Twice the limit, and the 32 MiB a log may be ahead twice over; at memory speed it would be GBs.
allowed=$((2 * 10485760 * dt / 1000000 + 64 * 1048576))
echo "at 10 MB/s: the log grew by $((grew / 1048576)) MiB in $((dt / 1000)) ms (allowed $((allowed / 1048576)) MiB);" \
        "pmctl list took $((worst / 1000)) ms at worst; at most $((inflight / 1048576)) MiB were being written"
# Without cachestat(2) pmd goes by the system's amount only, which the kernel's own write-back,
# not slowed here, brings down at the real disk's speed: the limit above is not the disk's pace;
# nor can pmd tell how much of the log is being written.
IFS=. read -r kmaj kmin _ < <(uname -r)
if ((kmaj > 6 || (kmaj == 6 && ${kmin%%[!0-9]*} >= 5))); then
        ((grew <= allowed)) || fail "the log grew by $grew bytes in $((dt / 1000)) ms on a 10 MB/s disk"
        # What pmd queues for the disk, everything else written there (the registry's commits
        # first) waits behind: at most 32 MiB of the log at a time (pmd.job(5)); the rest of the
        # system writes at the disk's real speed here. Without that bound, GBs queued at 10 MB/s.
        ((inflight <= 96 * 1048576)) || fail "$((inflight / 1048576)) MiB were being written at once"
else
        echo "Linux $(uname -r) has no cachestat(2): the growth and what is queued are not checked"
fi
((grew > 0)) || fail "the job was not let go on at the disk's pace"
job_state_is flood running || fail "flood is $(job_state flood)"

# The disk is fast again: the job goes on at full speed.
echo "$dev 0" >"$CG/blkio.throttle.write_bps_device"
s2=$(logsize)
more() { (($(logsize) > s2 + 200 * 1048576)); }
wait_until 60 more
pmctl stop flood >/dev/null
wait_until 10 job_state_is flood stopped

# Whole lines only (the last 100 MB of the log; the first line there may be cut by tail).
bad=$(tail -c 100000000 "$T/log/flood.log" | tail -n +2 |
        grep -cv ' stdout a-line-of-log-output-written-as-fast-as-it-can-be$' || true)
((bad == 0)) || fail "$bad lines of the log are not whole"
echo ok
