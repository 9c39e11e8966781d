#!/usr/bin/env bash
# The log directory removed while a job writes (issue 6, "faults"), then put back; then replaced
# by a file (pmd cannot make its log there: "Not a directory"), then put back. Each time pmd keeps
# running, says so in its log and in the job's status, holds the job's output back, and once the
# directory is there again writes on where it stopped: the files of the three phases together
# hold every line once, in order.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

write_job tick <<'EOF'
[Service]
ExecStart=/bin/sh -c 'i=0; while :; do i=$$((i + 1)); echo "tick $$i"; sleep 0.01; done'
EOF
pmd_start
wait_until 10 job_state_is tick running
lines_in() { [[ -e "$1" ]] && (($(wc -l <"$1") >= $2)); }
wait_until 10 lines_in "$T/log/tick.log" 20

status_says() { # (whole output first: grep -q stops reading at the match)
        local out
        out=$(pmctl status tick 2>&1) || true
        grep -q "$1" <<<"$out"
}
count_of() { grep -c "$1" "$T/pmd.out" || true; }
reported() { (($(count_of "$1") >= $2)); }

# 1. Removed. The open descriptor keeps the old file readable.
exec 3<"$T/log/tick.log"
rm -rf "$T/log"
wait_until 10 reported "tick: cannot write its log .*No such file or directory" 1
status_says "Log blocked: No such file or directory" || fail "status: $(pmctl status tick 2>&1)"
job_state_is tick running || fail "tick is $(job_state tick)"
sleep 0.5 # lines come meanwhile, and wait
mkdir "$T/log"
wait_until 10 reported "tick: writing its log .* again" 1
wait_until 10 lines_in "$T/log/tick.log" 20
status_says "Log blocked" && fail "still blocked: $(pmctl status tick 2>&1)"

# 2. Replaced by a file: pmd cannot make its log there.
exec 4<"$T/log/tick.log"
rm -rf "$T/log"
touch "$T/log"
# (pmd may try between the rm and the touch: then it reports the first reason only.)
wait_until 10 reported "tick: cannot write its log .*\(Not a directory\|No such file or directory\)" 2
status_says "Log blocked: " || fail "status: $(pmctl status tick 2>&1)"
pid_alive "$PMD_PID" || fail "pmd died"
sleep 0.5
rm "$T/log"
mkdir "$T/log"
wait_until 10 reported "tick: writing its log .* again" 2
wait_until 10 lines_in "$T/log/tick.log" 20

pmctl stop tick >/dev/null
wait_until 10 job_state_is tick stopped
{ cat <&3; cat <&4; cat "$T/log/tick.log"; } >"$T/all"
exec 3<&- 4<&-
n=$(grep -c ' stdout tick [0-9]*$' "$T/all")
((n > 100)) || fail "only $n lines"
awk '{print $4}' "$T/all" | awk 'NR != $1 { print "line " NR " is tick " $1; bad = 1; exit } END { exit bad }' ||
        fail "lines lost or repeated across the removals"
echo ok
