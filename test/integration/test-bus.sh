#!/usr/bin/env bash
# The D-Bus interface (SPEC §8) on a private dbus-daemon, driven by clients no one here wrote:
# busctl (tree, introspect, get-property, call, monitor) and dbus-send. Authorization: a caller
# that is not root and not in group pmd may read but is refused a change, and the refusal is
# audited. Bad input gets the documented errors and pmd carries on.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

require_cmd dbus-daemon busctl dbus-send setpriv sqlite3
require_root

# A bus of our own: its own config and socket, everything allowed (pmd checks rights itself).
cat >"$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=$T/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOF
chmod 755 "$T" # the unprivileged caller must reach the bus socket
dbus-daemon --config-file="$T/bus.conf" --fork --print-address=3 --print-pid=4 3>"$T/bus.addr" 4>"$T/bus.pid"
track_pid "$(cat "$T/bus.pid")"
A=$(head -n1 "$T/bus.addr")
[[ -n "$A" ]] || fail "dbus-daemon printed no address"

write_job web <<EOF
[Unit]
Description=a web server
[Service]
ExecStart=sleep 1000
EOF
write_job 'a-b.c@x' <<EOF
[Service]
ExecStart=sleep 1000
EOF
write_job asnobody <<EOF
[Service]
ExecStart=sleep 1000
User=nobody
EOF

pmd_start --bus "$A"
name_owned() {
        busctl --address="$A" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                GetNameOwner s org.pmd1
}
wait_until 10 name_owned
wait_until 10 job_state_is web running
wait_until 10 job_state_is 'a-b.c@x' running

bctl() {
        timeout 10 busctl --address="$A" "$@"
}
dsend() {
        timeout 10 dbus-send --bus="$A" --print-reply --dest=org.pmd1 "$@"
}

# busctl tree and introspection show the job objects, with the name escaped.
bctl tree org.pmd1 >"$T/tree"
grep -q '/org/pmd1/job/web' "$T/tree" || fail "tree lacks web: $(cat "$T/tree")"
grep -q '/org/pmd1/job/a_2db_2ec_40x' "$T/tree" || fail "tree lacks the escaped job: $(cat "$T/tree")"
bctl introspect org.pmd1 /org/pmd1 >"$T/intro"
for m in ListJobs GetJob StartJob StopJob RestartJob KillJob EnableJob DisableJob Reload Reexecute Heartbeat \
        JobStateChanged Version Jobs; do
        grep -q "^\.$m " "$T/intro" || fail "introspection of /org/pmd1 lacks $m"
done
bctl introspect org.pmd1 /org/pmd1/job/web >"$T/intro-job"
for p in Name Description State Result MainPID ExitStatus RestartCount StateChangeTimestamp \
        LastHeartbeatTimestamp StatusText CPUUsageNSec MemoryCurrent; do
        grep -q "^\.$p " "$T/intro-job" || fail "introspection of a job lacks $p"
done

# Properties and calls.
[[ "$(bctl get-property org.pmd1 /org/pmd1 org.pmd1.Manager Jobs)" == "u 3" ]] || fail "Jobs is not 3"
bctl get-property org.pmd1 /org/pmd1 org.pmd1.Manager Version | grep -q '^s "' || fail "no Version"
[[ "$(bctl get-property org.pmd1 /org/pmd1/job/web org.pmd1.Job State)" == 's "running"' ]] || fail "web not running"
[[ "$(bctl get-property org.pmd1 /org/pmd1/job/web org.pmd1.Job Description)" == 's "a web server"' ]] ||
        fail "bad Description"
pid=$(bctl get-property org.pmd1 /org/pmd1/job/web org.pmd1.Job MainPID | cut -d' ' -f2)
[[ "$pid" == "$(job_pid web)" ]] || fail "MainPID $pid is not the registry's $(job_pid web)"
bctl call org.pmd1 /org/pmd1 org.pmd1.Manager ListJobs | grep -q '"web" "running" "success"' || fail "ListJobs"
[[ "$(bctl call org.pmd1 /org/pmd1 org.pmd1.Manager GetJob s 'a-b.c@x')" == 'o "/org/pmd1/job/a_2db_2ec_40x"' ]] ||
        fail "GetJob of the escaped name"
dsend /org/pmd1 org.pmd1.Manager.GetJob string:web | grep -q 'object path "/org/pmd1/job/web"' ||
        fail "dbus-send GetJob"
bctl call org.pmd1 /org/pmd1 org.freedesktop.DBus.ObjectManager GetManagedObjects | grep 'org.pmd1.Job' >/dev/null ||
        fail "GetManagedObjects lists no job"

# A restart seen by busctl monitor: JobStateChanged and PropertiesChanged.
timeout 20 busctl --address="$A" monitor org.pmd1 >"$T/monitor" 2>&1 &
mon=$!
track_pid "$mon"
sleep 1 # let the monitor subscribe (busctl offers no readiness signal)
bctl call org.pmd1 /org/pmd1 org.pmd1.Manager RestartJob s web
wait_until 10 job_state_is web running
monitor_saw() {
        grep -q 'Member=JobStateChanged' "$T/monitor" && grep -q 'STRING "stopping"' "$T/monitor" &&
                grep -q 'Member=PropertiesChanged' "$T/monitor" && grep -q 'Path=/org/pmd1/job/web' "$T/monitor"
}
wait_until 10 monitor_saw
[[ "$(job_pid web)" != "$pid" ]] || fail "RestartJob did not restart web"

# A job that a reload adds, then removes: the object manager's InterfacesAdded/Removed.
timeout 30 busctl --address="$A" monitor org.pmd1 >"$T/monitor2" 2>&1 &
mon2=$!
track_pid "$mon2"
sleep 1 # let the monitor subscribe
printf '[Service]\nExecStart=sleep 1000\n' >"$T/jobs/late.job"
bctl call org.pmd1 /org/pmd1 org.pmd1.Manager Reload
wait_until 10 job_state_is late running
rm "$T/jobs/late.job"
bctl call org.pmd1 /org/pmd1 org.pmd1.Manager Reload
late_gone() { [[ -z "$(job_state late)" ]]; }
wait_until 10 late_gone
monitor_saw_late() {
        grep -A3 'Member=InterfacesAdded' "$T/monitor2" | grep -q 'OBJECT_PATH "/org/pmd1/job/late"' &&
                grep -A3 'Member=InterfacesRemoved' "$T/monitor2" | grep -q 'OBJECT_PATH "/org/pmd1/job/late"'
}
wait_until 10 monitor_saw_late || fail "no InterfacesAdded/Removed for late: $(grep -c Interfaces "$T/monitor2")"
[[ "$(grep -c 'Member=InterfacesRemoved' "$T/monitor2")" == 1 ]] || fail "InterfacesRemoved more than once"

# A caller without rights: may read, may not change; the refusal is audited.
nobody() {
        setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}
nobody timeout 10 busctl --address="$A" call org.pmd1 /org/pmd1 org.pmd1.Manager ListJobs | grep '"web"' >/dev/null ||
        fail "nobody cannot list"
if nobody timeout 10 dbus-send --bus="$A" --print-reply --dest=org.pmd1 /org/pmd1 org.pmd1.Manager.StopJob \
        string:web 2>"$T/err"; then
        fail "nobody could stop web"
fi
grep -q 'org.freedesktop.DBus.Error.AccessDenied' "$T/err" || fail "not AccessDenied: $(cat "$T/err")"
job_state_is web running || fail "web was stopped by nobody"
wait_until 5 sql_ge "SELECT count(*) FROM audit WHERE actor='uid:65534' AND action='stop' AND outcome LIKE 'denied%'" 1 ||
        fail "the refusal is not in the audit log"
wait_until 5 sql_ge "SELECT count(*) FROM audit WHERE actor='uid:0' AND action='restart' AND job='web'" 1 ||
        fail "root's restart is not in the audit log"

# Heartbeat from the job's own uid is allowed; from another unprivileged uid it is refused.
wait_until 10 job_state_is asnobody running
nobody timeout 10 busctl --address="$A" call org.pmd1 /org/pmd1 org.pmd1.Manager Heartbeat ss asnobody "alive" ||
        fail "nobody cannot heartbeat its own job"
wait_until 5 sql_ge "SELECT count(*) FROM heartbeats WHERE job='asnobody'" 1 || fail "heartbeat not stored"
if nobody timeout 10 busctl --address="$A" call org.pmd1 /org/pmd1 org.pmd1.Manager Heartbeat ss web "x" \
        2>"$T/err"; then
        fail "nobody could heartbeat root's job"
fi
grep -qi 'denied' "$T/err" || fail "heartbeat refusal: $(cat "$T/err")"

# Bad input: each gets its error, pmd carries on.
expect_error() { # NAME ARGS...: the call fails with error NAME
        local want=$1
        shift
        if dsend "$@" >/dev/null 2>"$T/err"; then
                fail "$* succeeded"
        fi
        grep -q "$want" "$T/err" || fail "$*: expected $want, got: $(cat "$T/err")"
}
expect_error org.pmd1.Error.NoSuchJob /org/pmd1 org.pmd1.Manager.StopJob string:nosuch
expect_error org.pmd1.Error.NoSuchJob /org/pmd1 org.pmd1.Manager.GetJob string:nosuch
expect_error org.pmd1.Error.InvalidArgs /org/pmd1 org.pmd1.Manager.StartJob string:'bad name'
expect_error org.pmd1.Error.InvalidArgs /org/pmd1 org.pmd1.Manager.GetJob string:"$(printf 'a%.0s' {1..10000})"
expect_error org.pmd1.Error.InvalidArgs /org/pmd1 org.pmd1.Manager.KillJob string:web int32:999
expect_error org.pmd1.Error.InvalidArgs /org/pmd1 org.pmd1.Manager.KillJob string:web int32:-1
expect_error org.pmd1.Error.InvalidArgs /org/pmd1 org.pmd1.Manager.Heartbeat string:web \
        string:"$(printf 'x%.0s' {1..100000})"
expect_error org.freedesktop.DBus.Error.InvalidArgs /org/pmd1 org.pmd1.Manager.StopJob int32:3
expect_error org.freedesktop.DBus.Error.InvalidArgs /org/pmd1 org.pmd1.Manager.StopJob
expect_error org.freedesktop.DBus.Error.UnknownMethod /org/pmd1 org.pmd1.Manager.Frobnicate
expect_error org.freedesktop.DBus.Error.UnknownObject /org/pmd1/job/nosuch org.freedesktop.DBus.Properties.GetAll \
        string:org.pmd1.Job
job_state_is web running || fail "web disturbed by bad input"

# Reexecute over the bus: pmd execs itself anew, keeps its pid and the jobs' pids, and comes back
# on the bus.
web_pid=$(job_pid web)
bctl call org.pmd1 /org/pmd1 org.pmd1.Manager Reexecute || fail "Reexecute failed"
back_on_bus() { bctl call org.pmd1 /org/pmd1 org.pmd1.Manager ListJobs >/dev/null 2>&1; }
reexeced() { grep -q "running (re-executed)" "$T/pmd.out"; }
wait_until 10 reexeced
wait_until 10 back_on_bus
pid_alive "$PMD_PID" || fail "pmd gone after Reexecute"
[[ "$(job_pid web)" == "$web_pid" ]] || fail "web restarted by Reexecute"

# Heartbeat and KillJob by root.
bctl call org.pmd1 /org/pmd1 org.pmd1.Manager Heartbeat ss web "all good"
[[ "$(bctl get-property org.pmd1 /org/pmd1/job/web org.pmd1.Job LastHeartbeatTimestamp)" != "t 0" ]] ||
        fail "no heartbeat time"
bctl call org.pmd1 /org/pmd1 org.pmd1.Manager KillJob si 'a-b.c@x' 15
wait_until 10 job_state_is 'a-b.c@x' stopped

# pmctl over the bus alone (no socket given: --bus names the bus).
"$PMCTL" --bus "$A" list >"$T/list" || fail "pmctl --bus list failed"
grep -q '^web ' "$T/list" || fail "pmctl --bus list lacks web"
set +e
nobody "$PMCTL" --bus "$A" stop web 2>"$T/err"
rc=$?
set -e
((rc == 1)) || fail "pmctl stop as nobody: exit $rc"
grep -q 'permission denied' "$T/err" || fail "pmctl stop as nobody: $(cat "$T/err")"

# Still responsive, and stops cleanly.
[[ "$(bctl get-property org.pmd1 /org/pmd1/job/web org.pmd1.Job State)" == 's "running"' ]] || fail "web"
pmd_stop
((PMD_EXIT == 0)) || fail "pmd exited with $PMD_EXIT"
[[ ! -e "$T/pmd.sock" ]] || fail "the private socket was left behind"
echo "ok"
