#!/usr/bin/env bash
# SIGHUP re-reads the job files: a new job starts, a removed one stops and leaves the list, a
# changed one restarts with its new command, an unchanged one keeps its pid.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

for j in keep change drop; do
        write_job $j <<EOF
[Service]
ExecStart=/bin/sleep 1000
EOF
done
pmd_start
for j in keep change drop; do wait_until 10 job_state_is $j running; done
keep_pid=$(job_pid keep)
change_pid=$(job_pid change)
drop_pid=$(job_pid drop)

rm "$T/jobs/drop.job"
write_job change <<EOF
[Service]
ExecStart=/bin/sleep 2000
EOF
write_job added <<EOF
[Service]
ExecStart=/bin/sleep 1000
EOF
kill -HUP "$PMD_PID"
wait_until 10 job_state_is added running
drop_gone() { [[ -z "$(job_state drop)" ]]; }
wait_until 10 drop_gone
wait_until 10 job_state_is change running
change_restarted() { [[ "$(job_pid change)" != "$change_pid" ]]; }
wait_until 5 change_restarted
[[ "$(job_pid keep)" == "$keep_pid" ]] || fail "unchanged job restarted"
pid_alive "$drop_pid" && fail "removed job still runs"
pid_alive "$change_pid" && fail "old process of the changed job still runs"
grep -q "sleep 2000" "/proc/$(job_pid change)/cmdline" 2>/dev/null ||
        tr '\0' ' ' <"/proc/$(job_pid change)/cmdline" | grep -q 2000 || fail "changed job runs the old command"

# A storm of SIGHUPs changes nothing and pmd stays up.
for _ in $(seq 50); do kill -HUP "$PMD_PID"; done
sleep 0.5
pid_alive "$PMD_PID" || fail "pmd died"
[[ "$(job_pid keep)" == "$keep_pid" ]] || fail "keep restarted by reloads"
echo ok
