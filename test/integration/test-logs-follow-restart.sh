#!/usr/bin/env bash
# `pmctl logs -f` goes on across a restart of pmd: pmctl reads the log files itself, so when pmd
# stops (and its job with it) and a new pmd starts the job again, the follower shows the new
# run's lines after the old one's, none twice, and rotations on either side are followed too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Each run goes on counting where the last one stopped (the count is saved before it is printed).
cat >"$T/tick.sh" <<EOF
n=\$(cat "$T/count" 2>/dev/null || echo 0)
while :; do
        n=\$((n + 1))
        echo "\$n" >"$T/count"
        echo "tick \$n"
        sleep 0.02
done
EOF
write_job tick <<EOF
[Service]
ExecStart=/bin/sh $T/tick.sh
[Log]
MaxSize=2K
MaxFiles=2
EOF
pmd_start
wait_until 10 job_state_is tick running
wait_until 10 grep -q ' stdout tick ' "$T/log/tick.log"

"$PMCTL" --socket "$T/pmd.sock" logs -f -n 1 tick >"$T/follow.out" 2>"$T/follow.err" &
fpid=$!
track_pid "$fpid"
follower_has() { (($(wc -l <"$T/follow.out") >= $1)); }
wait_until 30 follower_has 100

pmd_stop
before=$(cat "$T/count")
pid_alive "$fpid" || fail "pmctl logs -f exited when pmd stopped: $(cat "$T/follow.err")"

pmd_start
wait_until 10 job_state_is tick running
# 100 ticks of the new run, with rotations (2K is about 50 lines).
follower_past() { (($(tail -1 "$T/follow.out" | awk '{print $4}') >= before + 100)); }
wait_until 30 follower_past || fail "follower stopped at $(tail -1 "$T/follow.out") (last tick before the restart: $before)"
kill "$fpid"
wait "$fpid" 2>/dev/null || true

# In order, nothing twice; the one gap allowed is at the restart (a tick counted but killed
# before it was printed).
awk '{print $4}' "$T/follow.out" |
        awk -v b="$before" 'NR > 1 && $1 <= prev { print "repeat at " prev " -> " $1; bad = 1 }
                NR > 1 && $1 != prev + 1 && !(prev <= b && $1 >= b) { print "gap at " prev " -> " $1; bad = 1 }
                { prev = $1 } END { exit bad }' ||
        fail "follower lost or repeated lines"
echo ok
