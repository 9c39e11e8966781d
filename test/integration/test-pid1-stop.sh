#!/usr/bin/env bash
# pmd as PID 1: SIGTERM stops every job in reverse dependency order, each within its own
# TimeoutStopSec=, then pmd exits 0; a second SIGINT during a stop sends SIGKILL to what is left.
set -euo pipefail
. "$(dirname "$0")/lib-pid1.sh"
require_pidns

write_job a <<'EOF2'
[Service]
ExecStart=/bin/sleep 1000
EOF2
write_job b <<'EOF2'
[Unit]
After=a
[Service]
ExecStart=/bin/sleep 1000
EOF2
write_job c <<'EOF2'
[Unit]
After=b
[Service]
ExecStart=/bin/sleep 1000
EOF2
# Ignores SIGTERM: SIGKILL after its 1 s.
write_job stubborn <<'EOF2'
[Service]
ExecStart=/bin/sh -c 'trap "" TERM; while :; do sleep 0.1; done'
TimeoutStopSec=1
EOF2

pid1_start
for j in a b c stubborn; do wait_until 10 job_state_is "$j" running; done
t0=$(_now_us)
kill -TERM "$PMD_PID"
pid1_wait_exit 10
t1=$(_now_us)
[[ "$PMD_EXIT" == 0 ]] || fail "pmd exited $PMD_EXIT after SIGTERM"
ms=$(((t1 - t0) / 1000))
((ms >= 900 && ms < 5000)) || fail "stop took ${ms} ms; expected about stubborn's 1 s"
order=$(sql "SELECT job FROM runs WHERE job IN ('a','b','c') ORDER BY \"end\", id DESC" | tr '\n' ' ')
[[ "$order" == "c b a " ]] || fail "stop order: $order (expected c b a)"
[[ "$(sql "SELECT result FROM runs WHERE job='stubborn'")" != "" ]] || fail "stubborn's run not closed"
grep -q "stubborn: did not stop within" "$T/pmd.out" || fail "no stop timeout for stubborn"

# A second SIGINT while stopping: SIGKILL to everything left, at once.
sed -i 's/TimeoutStopSec=1/TimeoutStopSec=60/' "$T/jobs/stubborn.job"
pid1_start
wait_until 10 job_state_is stubborn running
kill -INT "$PMD_PID"
wait_until 5 job_state_is stubborn stopping
t0=$(_now_us)
kill -INT "$PMD_PID"
pid1_wait_exit 10
t1=$(_now_us)
[[ "$PMD_EXIT" == 0 ]] || fail "pmd exited $PMD_EXIT after two SIGINTs"
(((t1 - t0) / 1000 < 3000)) || fail "the second SIGINT did not end the stop at once"
echo ok
