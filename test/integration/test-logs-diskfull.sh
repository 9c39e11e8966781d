#!/usr/bin/env bash
# The log directory's disk fills up (issue 6, "faults"): pmd keeps running, says so in its log and
# in the job's status, and holds the job back (it blocks on its pipe) instead of dropping lines;
# once there is room again every line is in the files exactly once. A job with
# [Log] OnWriteError=drop is not held back: its lines are dropped and counted, and its log goes on
# once there is room. pmd runs in a mount namespace of its own with a 256 KiB tmpfs on the log
# directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_cmd unshare nsenter mount
unshare -m true 2>/dev/null || skip "no mount namespaces here"

N=1000000 # 6.9 MB: more than the pipe and pmd's buffers hold
write_job writer <<EOF
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'seq 1 $N; echo done'
[Log]
MaxSize=1M
MaxFiles=100
EOF

write_job dropper <<EOF
[Service]
ExecStart=/bin/sh -c 'seq 1 300000; touch $T/dropper-done; while :; do echo tick; sleep 0.2; done'
[Log]
OnWriteError=drop
EOF

cat >"$T/pmd-in-ns" <<EOF
#!/bin/sh
mount -t tmpfs -o size=256k tmpfs "$T/log" || exit 1
exec "$PMD" "\$@"
EOF
chmod +x "$T/pmd-in-ns"
REAL_PMD=$PMD
PMD="unshare -m --propagation private $T/pmd-in-ns"
# pmd_start checks that $PMD is executable: start it by hand with the same arguments.
unshare -m --propagation private "$T/pmd-in-ns" --job-dir "$T/jobs" --state-dir "$T/state" --log-dir "$T/log" \
        --socket "$T/pmd.sock" --bus none --http off </dev/null >>"$T/pmd.out" 2>&1 &
PMD_PID=$!
wait_until 10 test -e "$T/state/registry.db"
pmd_pid_in_ns() {
        # unshare execs the script, which execs pmd: same pid.
        echo "$PMD_PID"
}

wait_until 10 grep -q "cannot write its log" "$T/pmd.out"
grep "cannot write its log" "$T/pmd.out" | grep -q "No space left on device" || fail "no ENOSPC message"
pid_alive "$PMD_PID" || fail "pmd died"
[[ "$(job_state writer)" == running ]] || fail "writer should be held back, is $(job_state writer)"
# Held back: the writer does not advance while the disk is full.
if command -v "$PMCTL" >/dev/null && pmctl status writer >"$T/status.out" 2>&1; then
        grep -q "Log blocked: No space left on device" "$T/status.out" || fail "status: $(cat "$T/status.out")"
fi
sleep 1.5
[[ "$(job_state writer)" == running ]] || fail "writer went on while the disk was full"
# The dropper is not held back: it got through its 300000 lines with the disk full.
wait_until 10 test -e "$T/dropper-done" || fail "the OnWriteError=drop job was held back"
grep -q "dropper: cannot write its log .*dropping its output" "$T/pmd.out" || fail "no dropping message"
if command -v "$PMCTL" >/dev/null && pmctl status dropper >"$T/status.out" 2>&1; then
        grep -q "Log blocked: No space left on device (dropping lines)" "$T/status.out" ||
                fail "dropper status: $(cat "$T/status.out")"
fi

# Room again: grow the tmpfs inside pmd's namespace.
nsenter -t "$(pmd_pid_in_ns)" -m mount -o remount,size=64m "$T/log"
wait_until 20 job_state_is writer exited
wait_until 5 grep -q "writer: writing its log .* again" "$T/pmd.out"
# The dropper's log goes on, and pmd says how much was lost.
wait_until 10 grep -q "dropper: writing its log .* again; [0-9]* line(s) were dropped meanwhile" "$T/pmd.out" ||
        fail "no count of dropped lines"
dropped=$(grep -o "dropper: writing its log .* again; [0-9]*" "$T/pmd.out" | grep -o '[0-9]*$')
((dropped > 0 && dropped <= 300100)) || fail "dropped $dropped lines"
wait_until 10 grep -q ' stdout tick$' "/proc/$PMD_PID/root$T/log/dropper.log" || fail "dropper's log did not go on"
# Lines are dropped whole: every line in the file is a whole entry.
bad=$(grep -cvE '^[0-9T:.-]+Z stdout ([0-9]+|tick)$' "/proc/$PMD_PID/root$T/log/dropper.log" || true)
[[ "$bad" == 0 ]] || fail "$bad broken lines in dropper.log: $(grep -vE '^[0-9T:.-]+Z stdout ([0-9]+|tick)$' "/proc/$PMD_PID/root$T/log/dropper.log" | head -3)"
root=/proc/$PMD_PID/root$T/log
count=$(cat "$root"/writer.log* | grep -c ' stdout [0-9]*$')
[[ "$count" == "$N" ]] || fail "$count lines, want $N"
[[ "$(cat "$root"/writer.log* | awk '{print $3}' | grep -E '^[0-9]+$' | sort -n | uniq -d | wc -l)" == 0 ]] ||
        fail "lines twice"
grep -q ' stdout done$' "$root/writer.log" || fail "last line"
PMD=$REAL_PMD
echo ok
