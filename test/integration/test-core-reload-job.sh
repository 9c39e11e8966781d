#!/usr/bin/env bash
# `pmctl reload JOB` (D-Bus ReloadJob) runs the job's ExecReload= commands one after the other, with
# $MAINPID, while the job stays running with the same pid, and returns once they are done, failing
# when one of them failed or timed out (as `systemctl reload`); a job without ExecReload= or one
# that is not running gets a clear error; every request is audited.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[[ -x "$PMCTL" ]] || skip "pmctl not built"

cat >"$T/web.sh" <<EOF
#!/bin/bash
trap 'echo hup >>"$T/got"' HUP
while :; do sleep 0.05; done
EOF
chmod +x "$T/web.sh"
write_job web <<EOF
[Service]
ExecStart=$T/web.sh
ExecReload=/bin/sh -c 'echo first >>$T/got; kill -HUP \$MAINPID'
ExecReload=/bin/sh -c 'echo "second \$MAINPID" >>$T/got'
EOF
# Takes a while: pmctl returns only after it.
write_job slow <<EOF
[Service]
ExecStart=/bin/sleep 1000
ExecReload=/bin/sh -c 'sleep 1; touch $T/slow-done'
EOF
write_job bad <<EOF
[Service]
ExecStart=/bin/sleep 1000
ExecReload=/bin/sh -c 'exit 3'
EOF
write_job hang <<EOF
[Service]
ExecStart=/bin/sleep 1000
ExecReload=/bin/sleep 1000
TimeoutStartSec=1s
EOF
write_job plain <<EOF
[Service]
ExecStart=/bin/sleep 1000
EOF
write_job off <<EOF
[Service]
ExecStart=/bin/sleep 1000
ExecReload=/bin/true
AutoStart=no
EOF

pmd_start
wait_until 10 job_state_is web running
wait_until 10 job_state_is plain running
pid=$(job_pid web)

pmctl reload web || fail "pmctl reload web"
# Both commands have run, in order, when pmctl returns; main's HUP trap runs whenever its sleep ends.
[[ "$(grep -v '^hup$' "$T/got" 2>/dev/null)" == "$(printf 'first\nsecond %s' "$pid")" ]] ||
        fail "reload commands: $(cat "$T/got" 2>/dev/null)"
wait_until 10 grep -qx hup "$T/got" || fail "main got no SIGHUP"
[[ "$(job_pid web)" == "$pid" ]] || fail "web has a new pid after the reload"
job_state_is web running || fail "web is $(job_state web) after the reload"
[[ "$(sql "SELECT count(*) FROM runs WHERE job='web'")" == 1 ]] || fail "web was restarted"

for j in slow bad hang; do wait_until 10 job_state_is "$j" running; done
pmctl reload slow || fail "pmctl reload slow"
[[ -e "$T/slow-done" ]] || fail "pmctl reload returned before the reload command ended"
# A failing command, and one past TimeoutStartSec=: an error naming the result; the job runs on.
rc=0
pmctl reload bad 2>"$T/err" || rc=$?
[[ "$rc" == 1 ]] || fail "reload of bad: exit $rc"
grep -q "failed: exit-code" "$T/err" || fail "error for bad: $(cat "$T/err")"
rc=0
pmctl reload hang 2>"$T/err" || rc=$?
[[ "$rc" == 1 ]] || fail "reload of hang: exit $rc"
grep -q "failed: timeout" "$T/err" || fail "error for hang: $(cat "$T/err")"
job_state_is bad running || fail "bad is $(job_state bad) after its failed reload"
job_state_is hang running || fail "hang is $(job_state hang) after its reload timed out"
[[ "$(sql "SELECT count(*) FROM runs WHERE job IN ('bad', 'hang')")" == 2 ]] || fail "a job was restarted"

# No ExecReload=: NotSupported, in words.
rc=0
pmctl reload plain 2>"$T/err" || rc=$?
((rc != 0)) || fail "reload of a job without ExecReload= succeeded"
grep -q "no ExecReload=" "$T/err" || fail "error for plain: $(cat "$T/err")"
# Not running.
rc=0
pmctl reload off 2>"$T/err" || rc=$?
((rc != 0)) || fail "reload of a stopped job succeeded"
grep -q "not running" "$T/err" || fail "error for off: $(cat "$T/err")"
rc=0
pmctl reload nosuch 2>"$T/err" || rc=$?
[[ "$rc" == 4 ]] || fail "reload of an unknown job: exit $rc"
# Without a job, reload still re-reads the job files.
pmctl reload || fail "pmctl reload (job files)"

wait_until 5 sql_ge "SELECT count(*) FROM audit WHERE action='reload-job' AND job='web' AND outcome='ok'" 1 ||
        fail "reload of web not audited"
wait_until 5 sql_ge "SELECT count(*) FROM audit WHERE action='reload-job' AND job='plain' AND outcome='no ExecReload='" 1 ||
        fail "refused reload not audited"
job_state_is plain running || fail "plain disturbed"
echo ok
