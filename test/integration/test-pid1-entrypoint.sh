#!/usr/bin/env bash
# The entrypoint form `pmd -- COMMAND` as PID 1: COMMAND is the job "main", pmd exits with its
# status (128+N for signal N, 127 when it cannot be run), signals sent to pmd reach main first, and
# only when main has ended are the other jobs stopped. main has pmd's stdin, and its terminal as the
# foreground.
set -euo pipefail
. "$(dirname "$0")/lib-pid1.sh"
require_pidns

write_job side <<'EOF2'
[Service]
ExecStart=/bin/sleep 1000
EOF2

pid1_run 20 -- sh -c 'exit 7'
[[ "$PMD_EXIT" == 7 ]] || fail "sh -c 'exit 7': pmd exited $PMD_EXIT"
pid1_run 20 -- sh -c 'kill -9 $$'
[[ "$PMD_EXIT" == 137 ]] || fail "sh -c 'kill -9 \$\$': pmd exited $PMD_EXIT"
pid1_run 20 -- /no/such/command
[[ "$PMD_EXIT" == 127 ]] || fail "a command that cannot run: pmd exited $PMD_EXIT"
# The words are passed as they are: no $VAR expansion by pmd.
pid1_run 20 -- sh -c 'test "$1" = "\$HOME" && exit 3' sh '$HOME'
[[ "$PMD_EXIT" == 3 ]] || fail "arguments were changed: pmd exited $PMD_EXIT"

# main reads pmd's stdin (`docker run -i`); other jobs do not.
# shellcheck disable=SC2046
out=$(echo hello | timeout 20 $(_unshare_cmd) "$PMD" --job-dir "$T/jobs" --state-dir "$T/state" \
        --log-dir "$T/log" --socket "$T/pmd.sock" --bus none --http off -- sh -c 'read -r x; echo "got $x"' \
        2>>"$T/pmd.out") || fail "pmd -- sh reading stdin: exit $?"
[[ "$out" == "got hello" ]] || fail "main did not read pmd's stdin: '$out'"
# On a terminal (`docker run -it`), main is its foreground process group, so a shell is
# interactive and ^C reaches it: exit 9 when its group is the terminal's foreground.
if command -v script >/dev/null; then
        cat >"$T/fg.sh" <<'EOF2'
#!/bin/sh
test -t 0 || exit 5
read -r _ _ _ _ pgrp _ _ tpgid _ </proc/$$/stat
[ "$pgrp" = "$tpgid" ] || exit 6
exit 9
EOF2
        chmod +x "$T/fg.sh"
        rc=0
        timeout 20 script -qec "$(_unshare_cmd) $PMD --job-dir $T/jobs --state-dir $T/state --log-dir $T/log \
                --socket $T/pmd.sock --bus none --http off -- $T/fg.sh" /dev/null </dev/null >>"$T/pmd.out" 2>&1 || rc=$?
        [[ "$rc" == 9 ]] || fail "main on a terminal: exit $rc (5: no terminal, 6: not the foreground)"
fi

# Forwarding: main records the signals it gets; SIGTERM makes it exit 42. The side job must still
# run while main handles the signals, and be stopped after.
cat >"$T/main.sh" <<EOF2
#!/bin/bash
trap 'echo USR2 >>"$T/got"' USR2
trap 'echo HUP >>"$T/got"' HUP
trap 'echo WINCH >>"$T/got"' WINCH
trap 'echo TERM >>"$T/got"; sleep 0.3; exit 42' TERM
touch "$T/ready"
while :; do sleep 0.05; done
EOF2
chmod +x "$T/main.sh"
pid1_start -- "$T/main.sh"
wait_until 10 test -e "$T/ready"
wait_until 10 job_state_is side running
for sig in USR2 HUP WINCH; do
        kill -"$sig" "$PMD_PID"
        wait_until 5 grep -qx "$sig" "$T/got"
done
pid_alive "$PMD_PID" || fail "pmd died of a forwarded signal"
job_state_is side running || fail "side stopped before main ended: $(job_state side)"
kill -TERM "$PMD_PID"
wait_until 5 grep -qx TERM "$T/got"
pid1_wait_exit 15
[[ "$PMD_EXIT" == 42 ]] || fail "after SIGTERM to main: pmd exited $PMD_EXIT, expected main's 42"
[[ "$(job_state side)" == stopped ]] || fail "side is $(job_state side) after pmd exited"
grep -q "Passing SIGUSR2 on to main" "$T/pmd.out" || fail "no forwarding logged"

# SIGRTMIN+4 (poweroff) in a container stops everything, main included, and exits 0.
rm -f "$T/ready"
pid1_start -- sleep 1000
wait_until 10 job_state_is main running
kill -s "$(($(kill -l RTMIN) + 4))" "$PMD_PID"
pid1_wait_exit 15
[[ "$PMD_EXIT" == 0 ]] || fail "SIGRTMIN+4 in a container: pmd exited $PMD_EXIT"
echo ok
