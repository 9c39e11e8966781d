#!/usr/bin/env bash
# Re-execution of pmd as PID 1 (D-Bus Reexecute on the private socket) in the middle of a restart
# back-off and of a stop timeout: pmd keeps its pid, every job keeps its pid (none restarted), the
# back-off restart and the SIGKILL after TimeoutStopSec= come when they were due, and no log line
# is lost, neither in a file the job writes nor in the log pmd captures. Driven with pmctl on the
# private socket (busctl insists on a bus's Hello, which a peer-to-peer socket has not).
set -euo pipefail
. "$(dirname "$0")/lib-pid1.sh"
require_pidns
[[ -x "$PMCTL" ]] || skip "pmctl not built: $PMCTL"
require_cmd nsenter

# pmctl from inside pmd's namespaces: its credentials then make sense to pmd.
pmctl() {
        nsenter -t "$PMD_PID" --pid --mount "$PMCTL" --socket "$T/pmd.sock" "$@"
}

write_job steady <<'EOF2'
[Service]
ExecStart=/bin/sleep 1000
EOF2
# Counts forever, one line each 20 ms, to pmd's log capture and to a file of its own.
write_job counter <<EOF2
[Service]
ExecStart=/bin/sh -c 'i=0; while :; do i=\$\$((i+1)); echo "line \$\$i"; echo "line \$\$i" >>$T/counter.out; sleep 0.02; done'
EOF2
# Fails at once; restarts after 3 s.
write_job flaky <<'EOF2'
[Service]
ExecStart=/bin/false
Restart=always
RestartSec=3s
RestartMaxDelaySec=3s
RestartMaxRetries=0
EOF2
# Ignores SIGTERM: a stop ends with SIGKILL after 3 s.
write_job stubborn <<'EOF2'
[Service]
ExecStart=/bin/sh -c 'trap "" TERM; while :; do sleep 0.1; done'
TimeoutStopSec=3
EOF2

pid1_start
for j in steady counter stubborn; do wait_until 10 job_state_is "$j" running; done
wait_until 10 job_state_is flaky backoff
if ! out=$(pmctl reload 2>&1); then
        skip "the private socket does not answer D-Bus calls yet: $out"
fi

pids_before=$(sql "SELECT name, pid FROM jobs WHERE name IN ('steady','counter','stubborn') ORDER BY name")
flaky_runs=$(sql "SELECT count(*) FROM runs WHERE job='flaky'")
flaky_failed_at=$(_now_us)
pmctl stop stubborn >/dev/null
wait_until 5 job_state_is stubborn stopping
stop_at=$(_now_us)
sleep 1

if ! out=$(pmctl daemon-reexec 2>&1); then
        case "$out" in
        *UnknownMethod* | *NotSupported* | *"not supported"*) skip "Reexecute is not available: $out" ;;
        *) fail "Reexecute failed: $out" ;;
        esac
fi
wait_until 10 grep -q "running (re-executed)" "$T/pmd.out"
pid_alive "$PMD_PID" || fail "pmd is gone"
wait_until 10 pmctl reload

# Uptime counts from the first start (more than the 1 s slept above), not from the exec.
up=$(pmctl --json list | jq .uptime_sec)
((up >= 1)) || fail "uptime after the re-execution is $up s"

# Nothing was restarted: same pids, the same runs.
[[ "$(sql "SELECT name, pid FROM jobs WHERE name IN ('steady','counter','stubborn') ORDER BY name")" == \
        "$pids_before" ]] || fail "pids changed: $(sql "SELECT name, pid FROM jobs")"
[[ "$(sql "SELECT count(*) FROM runs WHERE job IN ('steady','counter')")" == 2 ]] || fail "a job was restarted"
[[ "$(sql "SELECT count(*) FROM runs WHERE result='abandoned'")" == 0 ]] || fail "runs were abandoned"
job_state_is stubborn stopping || fail "stubborn is $(job_state stubborn), expected still stopping"

# The stop timeout fires when it was due (3 s after the stop), not anew.
wait_until 10 job_state_is stubborn stopped
ms=$((($(_now_us) - stop_at) / 1000))
((ms >= 2800 && ms < 4500)) || fail "stubborn stopped ${ms} ms after its stop; its timeout was 3 s"

# The back-off restart too (3 s after the failure), once.
more_runs() { (($(sql "SELECT count(*) FROM runs WHERE job='flaky'") > flaky_runs)); }
wait_until 10 more_runs
ms=$((($(_now_us) - flaky_failed_at) / 1000))
((ms >= 2000 && ms < 4500)) || fail "flaky restarted ${ms} ms after its failure; its back-off was 3 s"

# The counter kept counting through the exec, in both outputs, without a gap.
sleep 0.5
check_seq() {
        local f=$1 n
        n=$(grep -o 'line [0-9]*' "$f" | awk '{print $2}' | awk 'NR > 1 && $1 != prev + 1 { print "gap after " prev; exit } { prev = $1 }')
        [[ -z "$n" ]] || fail "$f: $n"
}
check_seq "$T/counter.out"
[[ -s "$T/log/counter.log" ]] || fail "no captured log of counter"
check_seq "$T/log/counter.log"
last_file=$(tail -n1 "$T/counter.out" | awk '{print $2}')
last_log=$(grep -o 'line [0-9]*' "$T/log/counter.log" | tail -n1 | awk '{print $2}')
((last_log + 25 >= last_file)) || fail "pmd's capture of counter stopped at $last_log (file at $last_file)"
job_state_is counter running || fail "counter is $(job_state counter)"

kill -TERM "$PMD_PID"
pid1_wait_exit 15
[[ "$PMD_EXIT" == 0 ]] || fail "pmd exited $PMD_EXIT"
echo ok
