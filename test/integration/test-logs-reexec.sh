#!/usr/bin/env bash
# A job writing flat out while pmd re-executes (issue 6) loses nothing: the log pipes, and what
# pmd had read of them but not written, cross the exec; every line is in the log exactly once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N=2000000
write_job writer <<EOF
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'seq 1 $N; printf no-newline-at-the-end'
[Log]
MaxSize=0
EOF

pmd_start
wait_until 10 job_state_is writer running
pmctl daemon-reexec >/dev/null 2>&1 || skip "this pmd cannot re-execute"
sleep 0.2
pmctl daemon-reexec >/dev/null
wait_until 60 job_state_is writer exited
grep -q "re-executed" "$T/pmd.out" || fail "pmd did not re-execute"
L=$T/log/writer.log
count=$(grep -c ' stdout [0-9]*$' "$L")
[[ "$count" == "$N" ]] || fail "$count lines, want $N"
diff <(grep ' stdout [0-9]*$' "$L" | awk '{print $3}') <(seq 1 $N) >/dev/null || fail "lines out of order or changed"
grep -q ' stdout no-newline-at-the-end$' "$L" || fail "the unfinished last line"
echo ok
