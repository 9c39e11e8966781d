#!/usr/bin/env bash
# WatchdogSec=: the job gets WATCHDOG_USEC and its own pid as WATCHDOG_PID (so sd_watchdog_enabled()
# says yes); WATCHDOG=1 keeps it alive; when the pings stop it gets SIGABRT, ends with result
# watchdog and Restart= brings it back. WATCHDOG=trigger fires at once; WATCHDOG_USEC= changes
# the interval.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
/usr/bin/python3 -c 'import systemd.daemon' 2>/dev/null || skip "needs python3-systemd (Debian's python3)"

# Pings every 0.2 s for 2 s (the watchdog is 1 s), then hangs.
cat >"$T/dog.py" <<'EOF'
import os, sys, time
from systemd import daemon
with open(sys.argv[1], "a") as f:
    f.write("%s %s %d %s\n" % (os.environ.get("WATCHDOG_USEC"), os.environ.get("WATCHDOG_PID"), os.getpid(),
                               daemon.watchdog_enabled() if hasattr(daemon, "watchdog_enabled") else "?"))
daemon.notify("READY=1")
for i in range(10):
    daemon.notify("WATCHDOG=1\nSTATUS=ping %d" % i)
    time.sleep(0.2)
time.sleep(1000)
EOF
write_job dog <<EOF
[Service]
Type=notify
ExecStart=/usr/bin/python3 $T/dog.py $T/dog.env
WatchdogSec=1s
Restart=on-failure
RestartSec=200ms
EOF
# Asks for the watchdog itself.
write_job trig <<EOF
[Service]
Type=notify
ExecStart=/usr/bin/python3 -c 'from systemd import daemon; import time; daemon.notify("READY=1"); time.sleep(0.5); daemon.notify("WATCHDOG=trigger"); time.sleep(1000)'
EOF
# No WatchdogSec=, but WATCHDOG_USEC=500000 from the job: killed 0.5 s after it stops pinging.
write_job late <<EOF
[Service]
Type=notify
ExecStart=/usr/bin/python3 -c 'from systemd import daemon; import time; daemon.notify("READY=1"); daemon.notify("WATCHDOG_USEC=500000"); time.sleep(1000)'
EOF

pmd_start_http
wait_until 5 job_state_is dog running
read -r usec wpid pid _ <"$T/dog.env"
[[ "$usec" == 1000000 ]] || fail "WATCHDOG_USEC=$usec"
[[ "$wpid" == "$pid" ]] || fail "WATCHDOG_PID=$wpid, the process is $pid"
[[ "$(job_pid dog)" == "$pid" ]] || fail "main pid"

# Alive while it pings (2 s, twice the watchdog); its pings are heartbeats.
sleep 1.5
[[ "$(job_state dog)" == running && "$(sql "SELECT count(*) FROM runs WHERE job='dog'")" == 1 ]] ||
        fail "dog did not survive while pinging"
(($(sql "SELECT count(*) FROM heartbeats WHERE job='dog' AND source='notify'") >= 5)) || fail "pings not stored"
[[ "$(job_json dog status)" == "ping "* ]] || fail "status of the pings"

# Then the watchdog: SIGABRT, result watchdog, restarted.
dog_bitten() { [[ -n "$(sql "SELECT 1 FROM runs WHERE job='dog' AND result='watchdog'")" ]]; }
dog_back() { (($(wc -l <"$T/dog.env") >= 2)); }
wait_until 10 dog_bitten
sig=$(sql "SELECT exit_status FROM runs WHERE job='dog' AND result='watchdog' LIMIT 1")
[[ "$sig" == 6 ]] || fail "killed by signal $sig, not SIGABRT"
wait_until 10 dog_back
wait_until 5 job_state_is dog running
(($(job_json dog restarts) >= 1)) || fail "restart count"

wait_until 5 job_state_is trig failed
[[ "$(sql "SELECT result FROM jobs WHERE name='trig'")" == watchdog ]] || fail "WATCHDOG=trigger"

wait_until 5 job_state_is late failed
[[ "$(sql "SELECT result FROM jobs WHERE name='late'")" == watchdog ]] || fail "WATCHDOG_USEC="
echo ok
