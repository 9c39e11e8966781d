#!/usr/bin/env bash
# pmd killed with SIGKILL: the registry stays intact, the next pmd closes the runs left open and
# carries on with the same registry.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

for i in 1 2 3; do
        write_job w$i <<EOF
[Service]
ExecStart=/bin/sh -c 'exit 1'
Restart=always
RestartSec=100ms
RestartMaxRetries=0
EOF
done
write_job long <<EOF
[Service]
ExecStart=/bin/sleep 1000
EOF
pmd_start
wait_until 10 job_state_is long running
long_pid=$(job_pid long)
track_pid "$long_pid"
sleep 1
kill -KILL "$PMD_PID"
wait "$PMD_PID" 2>/dev/null || true
PMD_PID=
[[ "$(sql "PRAGMA integrity_check")" == ok ]] || fail "integrity_check after kill -9"
open=$(sql "SELECT count(*) FROM runs WHERE end IS NULL OR end=0")
((open >= 1)) || fail "expected open runs after kill -9"
kill -KILL "$long_pid" 2>/dev/null || true

pmd_start
# registry.db is there from the first pmd: wait for the second to have run the job anew.
wait_until 10 job_state_is long running
long_restarted() { [[ "$(job_pid long)" != "$long_pid" ]]; }
wait_until 10 long_restarted
[[ "$(sql "PRAGMA integrity_check")" == ok ]] || fail "integrity_check after restart"
[[ "$(sql "SELECT count(*) FROM runs WHERE result='abandoned'")" -ge 1 ]] || fail "no abandoned runs"
grep -q "did not stop cleanly" "$T/pmd.out" || fail "no message about the abandoned runs"

# A second pmd on the same state directory refuses to start instead of supervising twice.
rc=0
timeout 10 "$PMD" --job-dir "$T/jobs" --state-dir "$T/state" --log-dir "$T/log" --socket "$T/pmd2.sock" \
        --bus none --http off >"$T/second.out" 2>&1 || rc=$?
[[ $rc != 0 && $rc != 124 ]] || fail "second pmd: exit $rc"
grep -q "Another pmd is running" "$T/second.out" || fail "second pmd: $(cat "$T/second.out")"
pid_alive "$PMD_PID" || fail "first pmd died"
echo ok
