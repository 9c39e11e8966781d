#!/usr/bin/env bash
# After= waits for the predecessor to finish starting; Requires= on a missing job fails with
# result dependency; stop order is the reverse of start order.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

write_job setup <<EOF
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'sleep 1; echo ready > $T/setup.done'
EOF
write_job app <<EOF
[Unit]
After=setup
Requires=setup
[Service]
ExecStart=/bin/sh -c 'test -f $T/setup.done || exit 9; trap "echo app >> $T/stop-order; exit 0" TERM; while :; do sleep 0.1; done'
EOF
write_job front <<EOF
[Unit]
After=app
Wants=app
[Service]
ExecStart=/bin/sh -c 'trap "echo front >> $T/stop-order; exit 0" TERM; while :; do sleep 0.1; done'
EOF
write_job orphan <<EOF
[Unit]
Requires=nothere
[Service]
ExecStart=/bin/sleep 1000
EOF
write_job loop1 <<EOF
[Unit]
After=loop2
[Service]
ExecStart=/bin/sleep 1000
EOF
write_job loop2 <<EOF
[Unit]
After=loop1
[Service]
ExecStart=/bin/sleep 1000
EOF

pmd_start
wait_until 10 job_state_is setup exited
wait_until 10 job_state_is app running
wait_until 10 job_state_is front running
setup_end=$(sql "SELECT end FROM runs WHERE job='setup'")
app_start=$(sql "SELECT start FROM runs WHERE job='app'")
((app_start >= setup_end)) || fail "app started before setup finished"
wait_until 5 job_state_is orphan failed
[[ "$(sql "SELECT result FROM jobs WHERE name='orphan'")" == dependency ]] || fail "orphan result"
wait_until 10 job_state_is loop1 running
wait_until 10 job_state_is loop2 running
grep -q "Ordering cycle" "$T/pmd.out" || fail "cycle not reported"

pmd_stop 15
[[ "$(cat "$T/stop-order" | tr '\n' ' ')" == "front app " ]] || fail "stop order: $(cat "$T/stop-order")"
echo ok
