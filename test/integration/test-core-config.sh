#!/usr/bin/env bash
# Job files of every format side by side with broken ones: the good run, the broken are listed
# failed/config with PATH:LINE, spawn failures are precise, and pmd carries on.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

write_job good <<EOF
[Service]
ExecStart=/bin/sleep 1000
EOF
write_job badvalue <<EOF
[Service]
ExecStart=/bin/sleep 1000
Restart=sometimes
EOF
write_job noexec <<EOF
[Service]
Description=no command at all
EOF
write_job junk <<EOF
$(head -c 300 /dev/urandom | tr -d '\0')
EOF
write_job unknownkeys service <<EOF
[Unit]
Description=stock unit keys
Documentation=man:foo(1)
After=network.target
[Service]
ExecStart=/bin/sleep 1000
ProtectSystem=strict
[Install]
WantedBy=multi-user.target
EOF
write_job missing <<EOF
[Service]
ExecStart=/no/such/binary --flag
EOF
write_job nouser <<EOF
[Service]
ExecStart=/bin/sleep 1000
User=no-such-user-pmd
EOF
write_job many yaml <<EOF
jobs:
  y1:
    ExecStart: /bin/sleep 1000
    Restart: always
  y2:
    Service:
      ExecStart: /bin/sleep 1000
      Restart: [always, never]
EOF
write_job more json <<EOF
{"jobs": {"j1": {"ExecStart": "/bin/sleep 1000"}}}
EOF
mkdir "$T/jobs/adir.job"

pmd_start
for j in good unknownkeys y1 j1; do
        wait_until 10 job_state_is $j running
done
for j in badvalue noexec adir; do
        wait_until 5 job_state_is $j failed
        [[ "$(sql "SELECT result FROM jobs WHERE name='$j'")" == config ]] || fail "$j result"
done
sql "SELECT status_text FROM jobs WHERE name='badvalue'" | grep -q "badvalue.job:3" ||
        fail "badvalue status text lacks PATH:LINE: $(sql "SELECT status_text FROM jobs WHERE name='badvalue'")"
grep -q "badvalue.job:3" "$T/pmd.out" || fail "no PATH:LINE error in the log"
grep -q "unknownkeys.service:7" "$T/pmd.out" || fail "unknown key not warned with PATH:LINE"
sql "SELECT status_text FROM jobs WHERE name='adir'" | grep -qi "directory" || fail "adir"

wait_until 5 job_state_is missing failed
[[ "$(sql "SELECT result FROM jobs WHERE name='missing'")" == spawn-error ]] || fail "missing result"
sql "SELECT status_text FROM jobs WHERE name='missing'" | grep -q "/no/such/binary" || fail "missing text"
wait_until 5 job_state_is nouser failed
[[ "$(sql "SELECT result FROM jobs WHERE name='nouser'")" == spawn-error ]] || fail "nouser result"
sql "SELECT status_text FROM jobs WHERE name='nouser'" | grep -q "no-such-user-pmd" || fail "nouser text"

pid_alive "$PMD_PID" || fail "pmd died"
echo ok
