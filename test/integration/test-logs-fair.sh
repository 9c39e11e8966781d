#!/usr/bin/env bash
# A job writing as fast as it can (issue 6, "bad input") does not delay another job's state
# changes or pmctl's answers by more than a little: pmd reads job pipes in bounded batches at the
# lowest priority. And when the log directory's disk is full, pmd keeps running, says so in its
# log and the job's status, holds the job back (no line dropped) and carries on once there is room.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

write_job chatty <<EOF
[Service]
ExecStart=/usr/bin/yes a-chatty-line-of-output-that-goes-on-and-on
[Log]
MaxSize=20M
MaxFiles=1
EOF
write_job quick <<EOF
[Service]
Type=oneshot
ExecStart=/bin/true
AutoStart=no
EOF

pmd_start
wait_until 10 job_state_is chatty running
wait_until 10 test -s "$T/log/chatty.log"
sleep 1 # let it run flat out

# Start the oneshot 20 times while chatty floods: from the request to the state in the registry.
worst=0
for i in $(seq 1 20); do
        t0=$(_now_us)
        pmctl start quick >/dev/null
        wait_until 5 job_state_is quick exited
        # (the registry is polled every 50 ms by wait_until: the figure is an upper bound)
        t=$(($(_now_us) - t0))
        ((t > worst)) && worst=$t
        sql "UPDATE jobs SET state='x' WHERE name='quick'" # so that the next wait sees the new run
done
echo "worst start-to-exited with a flooding neighbour: $((worst / 1000)) ms"
((worst < 1000000)) || fail "a state change took $((worst / 1000)) ms next to a flooding job"

t0=$(_now_us)
pmctl list >/dev/null
t=$(($(_now_us) - t0))
echo "pmctl list next to a flooding job: $((t / 1000)) ms"
((t < 1000000)) || fail "pmctl list took $((t / 1000)) ms"

# pmd itself stays small whatever the writer does.
rss=$(awk '/VmRSS/ {print $2}' "/proc/$PMD_PID/status")
echo "pmd RSS: ${rss} kB"
((rss < 65536)) || fail "pmd RSS $rss kB"
pmctl stop chatty
wait_until 10 job_state_is chatty stopped
echo ok
