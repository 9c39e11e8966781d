#!/usr/bin/env bash
# Type=forking: a daemon that double-forks is tracked by PIDFile= (or as the one child left),
# reaped by pmd as subreaper, and killed on stop; no zombie is left.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cat >"$T/daemonize.sh" <<EOF
#!/bin/sh
# fork, setsid, fork: the classic daemon
( setsid sh -c 'sleep 1000 & echo \$! > $T/\$1.pid; exit 0' _ "\$1" ) &
wait
EOF
chmod +x "$T/daemonize.sh"
write_job withpid <<EOF
[Service]
Type=forking
PIDFile=$T/withpid.pid
ExecStart=$T/daemonize.sh withpid
EOF
write_job nopid <<EOF
[Service]
Type=forking
ExecStart=$T/daemonize.sh nopid
EOF

pmd_start
wait_until 10 job_state_is withpid running
[[ "$(job_pid withpid)" == "$(cat "$T/withpid.pid")" ]] || fail "withpid main pid"
wait_until 10 job_state_is nopid running
[[ "$(job_pid nopid)" == "$(cat "$T/nopid.pid")" ]] || fail "nopid main pid"
d1=$(cat "$T/withpid.pid")
d2=$(cat "$T/nopid.pid")
# The daemons were reparented to pmd.
[[ "$(awk '{print $4}' /proc/$d1/stat)" == "$PMD_PID" ]] || fail "daemon not reparented to pmd"

kill -TERM "$d1"
wait_until 10 job_state_is withpid stopped
zombies=$(ps -o stat= --ppid "$PMD_PID" | grep -c Z || true)
[[ "$zombies" == 0 ]] || fail "zombies under pmd"
pmd_stop 10
pid_alive "$d2" && fail "nopid's daemon survived"
echo ok
