#!/usr/bin/env bash
# Hostile HTTP clients: a 1 MB request line, a 1 MB header, a slowloris sending its headers a byte
# at a time, 1000 idle connections, binary junk. Each gets an error or is dropped; meanwhile a
# /status from another client answers within a bounded time, pmd's memory stays bounded, and
# once the clients are gone the connections are too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

for i in 1 2 3; do
        write_job "j$i" <<EOF
[Service]
ExecStart=/bin/sleep 1000
EOF
done
pmd_start_http
wait_until 5 job_state_is j3 running

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$PMD_PID/status"; }
rss0=$(rss)

# Each abuser is a python client; it prints what came back (the status line, or "closed").
cat >"$T/abuse.py" <<'EOF'
import socket, sys, time
port, kind = int(sys.argv[1]), sys.argv[2]
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    return s
def answer(s):
    try:
        data = s.recv(200)
    except (ConnectionResetError, socket.timeout) as e:
        return "closed (%s)" % type(e).__name__
    return data.split(b"\r\n")[0].decode(errors="replace") if data else "closed"
def sendall(s, data):
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
if kind == "longline":
    s = conn(); sendall(s, b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n"); print(answer(s))
elif kind == "longheader":
    s = conn(); sendall(s, b"GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (1 << 20) + b"\r\n\r\n"); print(answer(s))
elif kind == "junk":
    s = conn(); sendall(s, bytes(range(256)) * 64 + b"\r\n\r\n"); print(answer(s))
elif kind == "slowloris":
    # A header line a byte every 0.5 s, for 6 s: the loop must not wait for it.
    s = conn(); sendall(s, b"GET /status HTTP/1.1\r\nHost: x\r\n")
    for c in b"X-Slow: " + b"s" * 11:
        sendall(s, bytes([c])); time.sleep(0.5)
    print("slowloris done")
elif kind == "idle":
    n = int(sys.argv[3]); socks = []
    for i in range(n):
        socks.append(conn())
    print("opened %d" % len(socks), flush=True)
    time.sleep(float(sys.argv[4]))
EOF

a=$(python3 "$T/abuse.py" "$HTTP_PORT" longline)
[[ "$a" == "HTTP/1.1 414"* || "$a" == "HTTP/1.1 431"* || "$a" == closed* ]] || fail "1 MB request line: $a"
a=$(python3 "$T/abuse.py" "$HTTP_PORT" longheader)
[[ "$a" == "HTTP/1.1 431"* || "$a" == "HTTP/1.1 413"* || "$a" == closed* ]] || fail "1 MB header: $a"
a=$(python3 "$T/abuse.py" "$HTTP_PORT" junk)
[[ "$a" == "HTTP/1.1 400"* || "$a" == closed* ]] || fail "binary junk: $a"
# Junk straight from /dev/urandom, without waiting for an answer.
head -c 65536 /dev/urandom | timeout 5 python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$HTTP_PORT)); s.sendall(sys.stdin.buffer.read()); s.close()" 2>/dev/null || true

# The slowloris and 1000 idle connections at once; /status must still answer meanwhile.
ulimit -n 4096 2>/dev/null || true
python3 "$T/abuse.py" "$HTTP_PORT" slowloris >"$T/slow.out" 2>&1 &
slow=$!
track_pid "$slow"
python3 "$T/abuse.py" "$HTTP_PORT" idle 1000 8 >"$T/idle.out" 2>&1 &
idle=$!
track_pid "$idle"
opened() { grep -q "opened 1000" "$T/idle.out"; }
wait_until 10 opened || fail "could not open 1000 connections: $(cat "$T/idle.out")"
(($(metric pmd_http_connections) >= 1000)) || fail "pmd does not see the idle connections"
for i in 1 2 3 4 5; do
        start=$(_now_us)
        curl -fsS --max-time 2 "$HTTP/status" | jq -e '.jobs | length == 3' >/dev/null ||
                fail "/status did not answer with 1000 idle connections and a slowloris"
        echo "concurrent /status $i: $((($(_now_us) - start) / 1000)) ms"
        sleep 0.5
done
kill -KILL "$idle" "$slow" 2>/dev/null || true
wait "$idle" "$slow" 2>/dev/null || true

# Idle connections are closed by pmd's idle timeout at the latest; here the clients went away.
gone() { (($(metric pmd_http_connections) <= 1)); }
wait_until 15 gone || fail "connections left: $(metric pmd_http_connections)"

# Memory: what 1000 connections cost is given back (a margin for the allocator).
rss1=$(rss)
echo "pmd RSS: ${rss0} kB before, ${rss1} kB after"
((rss1 < rss0 + 32768)) || fail "RSS grew from $rss0 kB to $rss1 kB"
pid_alive "$PMD_PID" || fail "pmd died"
http_get /healthz >/dev/null
echo ok
