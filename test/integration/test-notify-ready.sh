#!/usr/bin/env bash
# Type=notify with real clients: systemd-notify --ready/--status from a child of the job's shell
# (NotifyAccess=all), python3's systemd.daemon.notify as the main process (NotifyAccess=main, the
# default). A notify job that never gets ready fails after TimeoutStartSec=; EXTEND_TIMEOUT_USEC=
# buys time; NotifyAccess=main refuses a child; STOPPING=1 and MAINPID= are honoured; the
# environment has NOTIFY_SOCKET.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
require_cmd systemd-notify
/usr/bin/python3 -c 'import systemd.daemon' 2>/dev/null || skip "needs python3-systemd (Debian's python3)"

# systemd-notify from the shell: ready after 1 s, then a status of its own.
write_job shell <<EOF
[Service]
Type=notify
NotifyAccess=all
ExecStart=/bin/sh -c 'echo "\$NOTIFY_SOCKET" > $T/shell.env; sleep 1; systemd-notify --ready --status="warming up"; sleep 0.5; systemd-notify --status="serving"; exec sleep 1000'
EOF
# python3-systemd as the main process itself.
cat >"$T/py.py" <<'EOF'
import sys, time
from systemd import daemon
time.sleep(0.5)
daemon.notify("STATUS=python says hi\nREADY=1")
time.sleep(1000)
EOF
write_job py <<EOF
[Service]
Type=notify
ExecStart=/usr/bin/python3 $T/py.py
EOF
# Never ready: fails after 1 s with result timeout.
write_job never <<EOF
[Service]
Type=notify
ExecStart=/bin/sleep 1000
TimeoutStartSec=1s
EOF
# Asks for more time (6 s beyond its 1 s limit), then gets ready at 4 s.
write_job slow <<EOF
[Service]
Type=notify
ExecStart=/usr/bin/python3 -c 'from systemd import daemon; import time; daemon.notify("EXTEND_TIMEOUT_USEC=6000000"); time.sleep(4); daemon.notify("READY=1"); time.sleep(1000)'
TimeoutStartSec=1s
EOF
# NotifyAccess=main (default): READY=1 from a child of the main process is refused; the job
# times out. (Not systemd-notify here: run by root it sends with its parent's pid, on purpose.)
cat >"$T/ready.py" <<'EOF'
import sys
from systemd import daemon
open(sys.argv[1], "w").write(str(daemon.notify("READY=1")))
EOF
write_job child <<EOF
[Service]
Type=notify
ExecStart=/bin/sh -c '/usr/bin/python3 $T/ready.py $T/child.sent; exec sleep 1000'
TimeoutStartSec=2s
EOF
# STOPPING=1, then an exit 1: failed, no signal needed.
write_job stopper <<EOF
[Service]
Type=notify
ExecStart=/usr/bin/python3 -c 'from systemd import daemon; import time; daemon.notify("READY=1"); time.sleep(1); daemon.notify("STOPPING=1"); time.sleep(0.5); raise SystemExit(1)'
TimeoutStopSec=20s
EOF

pmd_start_http
# Not running before READY=1 (it sends it after 1 s); pmd may still be starting the jobs.
wait_until 5 job_state_is shell starting || fail "shell is not starting: $(job_state shell)"
wait_until 5 job_state_is py running
[[ "$(job_json py status)" == "python says hi" ]] || fail "py status: $(job_json py status)"
wait_until 5 job_state_is shell running
[[ "$(cat "$T/shell.env")" == "$T/notify" ]] || fail "NOTIFY_SOCKET=$(cat "$T/shell.env")"
shell_status() { [[ "$(job_json shell status)" == serving ]]; }
wait_until 5 shell_status
wait_until 5 sql_is "SELECT status_text FROM jobs WHERE name='shell'" serving || fail "status not in the registry"

wait_until 5 job_state_is never failed
[[ "$(sql "SELECT result FROM jobs WHERE name='never'")" == timeout ]] || fail "never: result"

# slow: still starting past its 1 s limit (extended; never, with the same limit, has failed by
# now), running once it sends READY=1 at 4 s.
[[ "$(job_state slow)" == starting ]] || fail "slow: $(job_state slow) (EXTEND_TIMEOUT_USEC= ignored?)"
wait_until 10 job_state_is slow running

wait_until 5 job_state_is child failed
[[ "$(cat "$T/child.sent")" == True ]] || fail "the child did not send its READY=1"
[[ "$(sql "SELECT result FROM jobs WHERE name='child'")" == timeout ]] || fail "child: result"

wait_until 5 job_state_is stopper failed
[[ "$(sql "SELECT result FROM jobs WHERE name='stopper'")" == exit-code ]] || fail "stopper: result"
grep -q 'stopper: stopping' "$T/pmd.out" || fail "STOPPING=1 did not show as stopping"

# Refused and junk datagrams were counted, not acted upon.
(($(metric pmd_notify_datagrams_total 'outcome="dropped"') >= 1)) || fail "the refused READY=1 was not counted"
(($(metric pmd_notify_datagrams_total 'outcome="accepted"') >= 5)) || fail "accepted datagrams"
echo ok
