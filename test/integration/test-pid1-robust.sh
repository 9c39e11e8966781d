#!/usr/bin/env bash
# pmd as PID 1 survives what is not its fault: a broken job file, a job that crashes in a loop, a
# storm of 1000 SIGHUPs, a job that closes its stdout at once; and it still answers and stops.
set -euo pipefail
. "$(dirname "$0")/lib-pid1.sh"
require_pidns

write_job broken <<'EOF2'
[Service]
ExecStart=
Restart=sometimes
EOF2
write_job crasher <<'EOF2'
[Service]
ExecStart=/bin/sh -c 'kill -SEGV $$$$'
Restart=always
RestartSec=50ms
RestartMaxDelaySec=100ms
RestartMaxRetries=0
EOF2
write_job closer <<'EOF2'
[Service]
ExecStart=/bin/sh -c 'exec >&- 2>&-; sleep 1000'
EOF2
write_job steady <<'EOF2'
[Service]
ExecStart=/bin/sleep 1000
EOF2

pid1_start
wait_until 10 job_state_is steady running
wait_until 10 job_state_is broken failed
[[ "$(sql "SELECT result FROM jobs WHERE name='broken'")" == config ]] || fail "broken: not result config"
restarts_above() { (($(sql "SELECT restarts FROM jobs WHERE name='crasher'") >= $1)); }
wait_until 20 restarts_above 5
for _ in $(seq 1000); do kill -HUP "$PMD_PID"; done
pid_alive "$PMD_PID" || fail "pmd died in the SIGHUP storm"
# Still responsive: a new job file is picked up by the next reload.
write_job late <<'EOF2'
[Service]
ExecStart=/bin/sleep 1000
EOF2
kill -HUP "$PMD_PID"
wait_until 10 job_state_is late running
job_state_is closer running || fail "closer is $(job_state closer)"
job_state_is steady running || fail "steady is $(job_state steady)"
kill -TERM "$PMD_PID"
pid1_wait_exit 15
[[ "$PMD_EXIT" == 0 ]] || fail "pmd exited $PMD_EXIT"
echo ok
