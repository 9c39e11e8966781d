#!/usr/bin/env bash
# Restart policy end to end: the gaps between runs grow as RestartSec doubles, the retries run
# out into failed/start-limit, and each automatic restart is audited with actor pmd.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

write_job flaky <<EOF
[Service]
ExecStart=/bin/sh -c 'exit 3'
Restart=on-failure
RestartSec=200ms
RestartMaxDelaySec=1s
RestartMaxRetries=4
EOF
write_job clean <<EOF
[Service]
ExecStart=/bin/true
Restart=on-failure
EOF

pmd_start
wait_until 20 job_state_is flaky failed
[[ "$(sql "SELECT result FROM jobs WHERE name='flaky'")" == start-limit ]] || fail "result"
[[ "$(sql "SELECT count(*) FROM runs WHERE job='flaky'")" == 5 ]] || fail "expected 1+4 runs"
[[ "$(sql "SELECT restarts FROM jobs WHERE name='flaky'")" == 4 ]] || fail "restart count"
[[ "$(sql "SELECT count(*) FROM audit WHERE actor='pmd' AND action='restart' AND job='flaky'")" == 4 ]] ||
        fail "automatic restarts not audited"

# Gaps between one run's end and the next start: at least 200, 400, 800, 1000 ms.
mapfile -t rows < <(sql "SELECT start, end FROM runs WHERE job='flaky' ORDER BY id")
expect=(200000 400000 800000 1000000)
for i in 1 2 3 4; do
        prev_end=${rows[i - 1]#*|}
        start=${rows[i]%|*}
        gap=$((start - prev_end))
        echo "gap $i: ${gap} us (at least ${expect[i - 1]})"
        ((gap >= expect[i - 1] - 5000)) || fail "gap $i too short: $gap"
done
[[ "$(sql "SELECT exit_status FROM runs WHERE job='flaky' LIMIT 1")" == 3 ]] || fail "exit status"

# A clean exit is not a failure: no restart, state stopped.
wait_until 5 job_state_is clean stopped
[[ "$(sql "SELECT count(*) FROM runs WHERE job='clean'")" == 1 ]] || fail "clean restarted"
echo ok
