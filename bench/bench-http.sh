#!/usr/bin/env bash
# HTTP and heartbeat figures with N jobs (default 1000) on loopback, ROUNDS times (default 3),
# medians printed at the end:
#   - /status and /metrics requests per second (wrk, 2 threads, 32 connections, DUR seconds);
#   - the time of one /metrics scrape that is rendered afresh (curl time_total, cache expired);
#   - heartbeats per second over HTTP (wrk POSTing /pm/heartbeat with the job's token);
#   - heartbeats per second over the notify socket (a job sending WATCHDOG=1 as fast as it can;
#     pmd's rate is the accepted count over the time it took);
#   - pmd's CPU time and context switches over IDLE seconds with N jobs, HTTP on, no client.
#   bench/bench-http.sh [N] [ROUNDS] [DUR] [IDLE]
set -euo pipefail
N=${1:-1000}
ROUNDS=${2:-3}
DUR=${3:-10}
IDLE=${4:-10}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PMD=${PMD:-$SRC/build/daemon/pmd}
PY=/usr/bin/python3
[[ -x "$PMD" ]] || { echo "build first: make" >&2; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }

. "$SRC/bench/lib.sh"
free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rps() { awk '/^Requests\/sec:/ { printf "%d", $2 }'; }
metric() { curl -fsS "$URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
cpu_ticks() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }
ctxsw() { awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { s += $2 } END { print s }' "/proc/$1/status"; }

HB=2000000 # notify heartbeats per round
declare -a R_STATUS R_METRICS R_SCRAPE R_HTTPHB R_NOTIFYHB R_CPU R_CTX
for round in $(seq "$ROUNDS"); do
        T=$(mktemp -d /tmp/pmd-bench-http.XXXXXX)
        sleep_jobs "$T" "$N"
        # The heartbeat senders: one leaves its token, one pings over NOTIFY_SOCKET once told to.
        printf '[Service]\nExecStart=/bin/sh -c '\''echo $$PMD_HEARTBEAT_TOKEN > %s/token; exec sleep 100000'\''\n' "$T" \
                >"$T/jobs/hb.job"
        cat >"$T/ping.py" <<EOF
import os, socket, time
while not os.path.exists("$T/go"):
    time.sleep(0.01)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(os.environ["NOTIFY_SOCKET"])
for i in range($HB):
    s.send(b"WATCHDOG=1")
time.sleep(100000)
EOF
        printf '[Service]\nExecStart=%s %s/ping.py\n' "$PY" "$T" >"$T/jobs/ping.job"
        port=$(free_port)
        URL="http://127.0.0.1:$port"
        bench_pmd_start "$T" --http "127.0.0.1:$port"
        bench_wait_running "$T" $((N + 2))
        sleep 1

        # Idle first, before any client: CPU ticks and context switches over IDLE seconds.
        c0=$(cpu_ticks "$pid"); x0=$(ctxsw "$pid")
        sleep "$IDLE"
        c1=$(cpu_ticks "$pid"); x1=$(ctxsw "$pid")
        R_CPU+=($((c1 - c0))); R_CTX+=($((x1 - x0)))

        R_STATUS+=("$(wrk -t2 -c32 -d"${DUR}s" "$URL/status" | rps)")
        R_METRICS+=("$(wrk -t2 -c32 -d"${DUR}s" "$URL/metrics" | rps)")
        # One fresh /metrics scrape: the cache lives 1 s, so wait that out each time.
        ms=()
        for _ in 1 2 3 4 5; do
                sleep 1.2
                ms+=("$(curl -fsS -o /dev/null -w '%{time_total}' "$URL/metrics" | awk '{ printf "%.2f", $1 * 1000 }')")
        done
        R_SCRAPE+=("$(printf '%s\n' "${ms[@]}" | median)")

        token=$(cat "$T/token")
        cat >"$T/hb.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"job":"hb","status":"ok"}'
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
EOF
        R_HTTPHB+=("$(wrk -t2 -c32 -d"${DUR}s" -s "$T/hb.lua" "$URL/pm/heartbeat" | rps)")

        a0=$(metric 'pmd_notify_datagrams_total{outcome="accepted"}')
        t0=${EPOCHREALTIME/[.,]/}
        touch "$T/go"
        for _ in $(seq 1200); do
                a=$(metric 'pmd_notify_datagrams_total{outcome="accepted"}')
                ((a - a0 >= HB)) && break
                sleep 0.1
        done
        t1=${EPOCHREALTIME/[.,]/}
        R_NOTIFYHB+=("$(((a - a0) * 1000000 / (t1 - t0)))")

        echo "round $round: /status ${R_STATUS[-1]} req/s, /metrics ${R_METRICS[-1]} req/s," \
                "fresh scrape ${R_SCRAPE[-1]} ms, HTTP heartbeats ${R_HTTPHB[-1]}/s," \
                "notify heartbeats ${R_NOTIFYHB[-1]}/s, idle ${IDLE}s: ${R_CPU[-1]} ticks, ${R_CTX[-1]} context switches"
        bench_pmd_stop
        rm -rf "$T"
done
echo "median of $ROUNDS rounds, $N jobs: /status $(printf '%s\n' "${R_STATUS[@]}" | median) req/s;" \
        "/metrics $(printf '%s\n' "${R_METRICS[@]}" | median) req/s;" \
        "fresh /metrics scrape $(printf '%s\n' "${R_SCRAPE[@]}" | median) ms;" \
        "HTTP heartbeats $(printf '%s\n' "${R_HTTPHB[@]}" | median)/s;" \
        "notify heartbeats $(printf '%s\n' "${R_NOTIFYHB[@]}" | median)/s;" \
        "idle: $(printf '%s\n' "${R_CPU[@]}" | median) CPU ticks, $(printf '%s\n' "${R_CTX[@]}" | median) context switches in ${IDLE}s"
