#!/usr/bin/env bash
# pmd as PID 1 of a PID namespace: 1000 orphans of a job, killed all at once, are every one reaped
# (no zombie is left), and pmd goes on supervising.
set -euo pipefail
. "$(dirname "$0")/lib-pid1.sh"
require_pidns

# The orphans: 1000 sleeps whose parent shell is gone, so that they are reparented to PID 1 (pmd).
# They stay in the job's process group, which the job kills in one go (itself included) when told.
cat >"$T/orphans.sh" <<EOF2
#!/bin/sh
for i in \$(seq 1000); do (sleep 1000 &); done
touch "$T/spawned"
while [ ! -e "$T/go" ]; do sleep 0.1; done
kill -KILL 0
EOF2
chmod +x "$T/orphans.sh"
write_job orphans <<EOF2
[Service]
ExecStart=$T/orphans.sh
KillMode=process
EOF2
write_job other <<'EOF2'
[Service]
ExecStart=/bin/sleep 1000
EOF2

pid1_start
wait_until 10 job_state_is orphans running
wait_until 60 test -e "$T/spawned"
n=$(children_of "$PMD_PID")
((n >= 1000)) || fail "expected >= 1000 children of pmd (orphans), got $n"

touch "$T/go"
no_zombie_and_few_children() {
        [[ -z "$(zombies_of "$PMD_PID")" ]] && (($(children_of "$PMD_PID") < 10))
}
wait_until 20 no_zombie_and_few_children || fail "zombies left: $(zombies_of "$PMD_PID" | wc -l)"
pid_alive "$PMD_PID" || fail "pmd died"
job_state_is other running || fail "the other job is $(job_state other)"
grep -q "Reaped untracked" "$T/pmd.out" || true

kill -TERM "$PMD_PID"
pid1_wait_exit 15
[[ "$PMD_EXIT" == 0 ]] || fail "pmd exited $PMD_EXIT"
echo ok
