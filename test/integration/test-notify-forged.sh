#!/usr/bin/env bash
# The notify socket against what is not a job's message: READY=1 from an unrelated process, one
# claiming (as root may) the pid of another unrelated process, binary junk, NUL bytes, 64 KiB of
# text, a flood: all dropped and counted, the waiting job stays starting, pmd stays responsive.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

write_job wait <<EOF
[Service]
Type=notify
ExecStart=/bin/sleep 1000
TimeoutStartSec=30s
EOF

pmd_start_http
wait_until 5 job_state_is wait starting
sock="$T/notify"
[[ -S "$sock" ]] || fail "no notify socket at $sock"

# One sender for everything; /usr/bin/python3 or any python3, only the socket module is used.
cat >"$T/send.py" <<'EOF'
import os, socket, struct, sys
path, kind = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
def send(data, pid=None):
    if pid is None:
        s.sendto(data, path)
    else:
        creds = struct.pack("iII", pid, os.getuid(), os.getgid())
        s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, creds)], 0, path)
if kind == "ready":
    send(b"READY=1\nSTATUS=forged")
elif kind == "claim":
    send(b"READY=1\nSTATUS=forged", int(sys.argv[3]))
elif kind == "junk":
    send(bytes(range(256)) * 8)
    send(b"READY=1\0STATUS=nul")
    send(b"\n\n=\n==READY\n")
elif kind == "big":
    try:
        send(b"STATUS=" + b"x" * (64 * 1024 - 7))
    except OSError as e:
        print("big datagram refused by the kernel: %s" % e, file=sys.stderr)
elif kind == "flood":
    for i in range(20000):
        send(b"WATCHDOG=1")
EOF

python3 "$T/send.py" "$sock" ready
python3 "$T/send.py" "$sock" claim "$$"
python3 "$T/send.py" "$sock" junk
python3 "$T/send.py" "$sock" big
python3 "$T/send.py" "$sock" flood &
flood=$!
track_pid "$flood"
# Responsive during the flood: /status answers within the bound.
curl -fsS --max-time 2 "$HTTP/status/wait" >/dev/null || fail "/status did not answer during the flood"
wait "$flood" || fail "flood sender"

dropped() { (($(metric pmd_notify_datagrams_total 'outcome="dropped"') >= 20004)); }
wait_until 5 dropped || fail "dropped: $(metric pmd_notify_datagrams_total 'outcome="dropped"')"
[[ "$(metric pmd_notify_datagrams_total 'outcome="accepted"')" == 0 ]] || fail "something was accepted"
[[ "$(job_state wait)" == starting ]] || fail "a forged READY=1 made the job $(job_state wait)"
[[ "$(job_json wait status)" != forged ]] || fail "a forged STATUS= was taken"
[[ "$(sql "SELECT count(*) FROM heartbeats WHERE job='wait'")" == 0 ]] || fail "a forged heartbeat was stored"
pid_alive "$PMD_PID" || fail "pmd died"
echo ok
