#!/usr/bin/env bash
# A job's life through the registry: running, its grandchildren killed with it, a job that
# ignores SIGTERM killed after TimeoutStopSec, and nothing left behind when pmd stops (processes,
# open runs, cgroups).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

write_job web <<EOF
[Unit]
Description=a web-ish job
[Service]
ExecStart=/bin/sh -c 'sleep 1000 & echo \$! > $T/grandchild.pid; echo started; exec sleep 1000'
EOF
write_job stubborn <<EOF
[Service]
ExecStart=/bin/sh -c 'trap "" TERM; echo \$\$ > $T/stubborn.pid; while :; do sleep 0.2; done'
TimeoutStopSec=1s
EOF
write_job once <<EOF
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo done > $T/once.out'
EOF

pmd_start
wait_until 10 job_state_is web running
wait_until 10 job_state_is stubborn running
wait_until 10 job_state_is once exited
[[ "$(cat "$T/once.out")" == done ]] || fail "oneshot did not run"
wait_until 5 test -s "$T/grandchild.pid"
web_pid=$(job_pid web)
gc=$(cat "$T/grandchild.pid")
pid_alive "$web_pid" || fail "web's main pid $web_pid not alive"
pid_alive "$gc" || fail "grandchild not alive"
[[ "$(sql "SELECT result FROM jobs WHERE name='web'")" == success ]] || fail "result"
[[ "$(sql "SELECT count(*) FROM runs WHERE job='web' AND end IS NULL OR (job='web' AND end=0)")" == 1 ]] ||
        fail "one open run expected"
wait_until 5 grep -q started "$T/log/web.log"

# web's cgroup, where pmd could make one: its directory and the instance's (pmd-jobs-HASH).
web_cg=
cg_rel=$(sed -n 's/^0:://p' "/proc/$web_pid/cgroup")
cg_mnt=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
if [[ "$cg_rel" == */web.job && -n "$cg_mnt" ]]; then
        web_cg=$cg_mnt$cg_rel
        [[ -d "$web_cg" ]] || fail "web's cgroup $web_cg is not there"
fi

mapfile -t before < <(descendants "$PMD_PID")
((${#before[@]} >= 4)) || fail "expected the jobs' processes under pmd, got ${before[*]}"

pmd_stop 15 || fail "pmd needed SIGKILL"
[[ "$PMD_EXIT" == 0 ]] || fail "pmd exited $PMD_EXIT"
for p in "${before[@]}"; do
        pid_alive "$p" && fail "process $p survived pmd's stop"
done
pid_alive "$gc" && fail "the backgrounded grandchild survived"
[[ "$(sql "SELECT result FROM runs WHERE job='stubborn' ORDER BY id DESC LIMIT 1")" == timeout ]] ||
        fail "stubborn's run should end with result timeout: $(sql "SELECT * FROM runs WHERE job='stubborn'")"
[[ "$(job_state stubborn)" == stopped ]] || fail "stubborn state $(job_state stubborn)"
[[ "$(sql "SELECT count(*) FROM runs WHERE end IS NULL OR end=0")" == 0 ]] || fail "runs left open"
grep -q "did not stop within" "$T/pmd.out" || fail "no message about the stop timeout"
# Nothing left in the cgroup tree either: the job's group and the instance's are removed.
if [[ -n "$web_cg" ]]; then
        [[ ! -d "$web_cg" ]] || fail "web's cgroup $web_cg left behind"
        [[ ! -d "$(dirname "$web_cg")" ]] || fail "pmd's group $(dirname "$web_cg") left behind"
fi
echo ok
