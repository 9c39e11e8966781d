#!/usr/bin/env bash
# [Log] OnWriteError=drop when a write stops part way: pmd runs under a file size limit
# (RLIMIT_FSIZE, so a write fails with EFBIG and pmd is not killed by SIGXFSZ), the job writes
# past it and is not held back; the file ends with a whole line (the rest of the entry that was
# cut is kept, the entries after it dropped); after a rotation the log goes on and pmd says how
# many lines were dropped, also when it re-executed in between.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_cmd prlimit

write_job dropper <<EOF
[Service]
ExecStart=/bin/sh -c 'seq 1 300000; touch $T/dropper-done; while :; do echo tick; sleep 0.1; done'
[Log]
OnWriteError=drop
MaxSize=0
EOF
pmd_start_under() { # pmd_start with a prefix command
        "$@" "$PMD" --job-dir "$T/jobs" --state-dir "$T/state" --log-dir "$T/log" \
                --socket "$T/pmd.sock" --bus none --http off </dev/null >>"$T/pmd.out" 2>&1 &
        PMD_PID=$!
        track_pid "$PMD_PID"
        wait_until 10 test -e "$T/state/registry.db"
}
mkdir -p "$T/state" "$T/log"
# 2 MB: the job's 2.1 MB of numbers go past it; the registry stays far below.
pmd_start_under prlimit --fsize=2000000 --
wait_until 20 test -e "$T/dropper-done" || fail "the OnWriteError=drop job was held back"
pid_alive "$PMD_PID" || fail "pmd died at the file size limit"
wait_until 5 grep -q "dropper: cannot write its log .*File too large.*dropping its output" "$T/pmd.out" ||
        fail "no dropping message"
size=$(stat -c %s "$T/log/dropper.log")
((size <= 2000000)) || fail "dropper.log is $size bytes, above the limit"
line_ok='^[0-9T:.-]+Z stdout ([0-9]+|tick)$'
[[ "$(tail -c 1 "$T/log/dropper.log" | od -An -c | tr -d ' ')" == '\n' ]] || fail "dropper.log ends inside a line: $(tail -c 80 "$T/log/dropper.log" | od -An -c)"
bad=$(grep -cvE "$line_ok" "$T/log/dropper.log" || true)
[[ "$bad" == 0 ]] || fail "$bad broken lines: $(grep -vE "$line_ok" "$T/log/dropper.log" | head -3)"
seen=$(grep -cE ' stdout [0-9]+$' "$T/log/dropper.log")
((seen > 10000 && seen < 300000)) || fail "$seen numbered lines in the log"

# A re-execution while lines are being dropped: the new image counts on from the old one's count,
# and does not say again that the log cannot be written.
if [[ -x "$PMCTL" ]]; then
        "$PMCTL" --socket "$T/pmd.sock" daemon-reexec >/dev/null || fail "pmctl daemon-reexec"
        wait_until 10 grep -q "re-executed" "$T/pmd.out" || fail "pmd did not re-execute"
        pid_alive "$PMD_PID" || fail "pmd died re-executing"
        sleep 0.3 # some ticks to drop in the new image
        n=$(grep -c "dropper: cannot write its log" "$T/pmd.out")
        [[ "$n" == 1 ]] || fail "the failing log was reported $n times"
fi

# Room again: a rotation starts a new file; the ticks go on there and the loss is counted.
if [[ -x "$PMCTL" ]]; then
        "$PMCTL" --socket "$T/pmd.sock" logs --rotate dropper || fail "pmctl logs --rotate"
else
        mv "$T/log/dropper.log" "$T/log/dropper.log.1"
        kill -USR1 "$PMD_PID"
fi
wait_until 10 grep -q "dropper: writing its log .* again; [0-9]* line(s) were dropped meanwhile" "$T/pmd.out" ||
        fail "no count of dropped lines"
dropped=$(grep -o "dropper: writing its log .* again; [0-9]*" "$T/pmd.out" | grep -o '[0-9]*$')
((dropped >= 300000 - seen)) || fail "dropped $dropped, but $((300000 - seen)) numbers are missing"
wait_until 10 grep -q ' stdout tick$' "$T/log/dropper.log" || fail "the log did not go on"
bad=$(grep -cvE "$line_ok" "$T/log/dropper.log" || true)
[[ "$bad" == 0 ]] || fail "broken lines after the rotation"
echo ok
