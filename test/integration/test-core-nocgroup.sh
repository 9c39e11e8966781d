#!/usr/bin/env bash
# Without cgroup v2 (pmd in a mount namespace with nothing on /sys/fs/cgroup): pmd says so and
# uses process groups: a job's CPU and memory are those of its process group read from /proc
# (the main process, its child, and the children it waited for), and a stop reaches the child as
# well.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_cmd unshare mount umount
[[ -x "$PMCTL" ]] || skip "pmctl not built"
unshare -m true 2>/dev/null || skip "no mount namespaces here"

write_job pair <<EOF
[Service]
ExecStart=/bin/sh -c 'sleep 1000 & echo \$! >$T/child.pid; head -c 300000000 /dev/zero | tail -c 1 >/dev/null; exec sleep 1000'
EOF
cat >"$T/pmd-in-ns" <<EOF
#!/bin/sh
umount -l /sys/fs/cgroup 2>/dev/null
mount -t tmpfs none /sys/fs/cgroup || exit 1
exec "$PMD" "\$@"
EOF
chmod +x "$T/pmd-in-ns"
unshare -m --propagation private "$T/pmd-in-ns" --job-dir "$T/jobs" --state-dir "$T/state" --log-dir "$T/log" \
        --socket "$T/pmd.sock" --bus none --http off </dev/null >>"$T/pmd.out" 2>&1 &
PMD_PID=$!
track_pid "$PMD_PID"
wait_until 10 test -e "$T/state/registry.db"
wait_until 10 job_state_is pair running
wait_until 10 test -s "$T/child.pid"
grep -q "No cgroup for jobs" "$T/pmd.out" || fail "pmd did not fall back to process groups"
child=$(cat "$T/child.pid")
track_pid "$child"

# CPU and memory from /proc, for the whole process group.
usage() {
        local j
        j=$(pmctl --json status pair)
        jq -e '.[0].cpu_seconds > 0 and .[0].memory_bytes > 0' <<<"$j" >/dev/null ||
                { echo "$j"; return 1; }
}
wait_until 10 usage || fail "no CPU or memory for pair: $(pmctl --json status pair)"

pmctl stop --wait pair || fail "stop"
gone() { ! pid_alive "$child"; }
wait_until 10 gone || fail "the job's child $child outlived the stop"
pmd_stop
echo ok
