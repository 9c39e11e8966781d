#!/usr/bin/env bash
# Start N `sleep` jobs (default 1000) and measure: the time from pmd's start to all of them
# running (from the registry's own timestamps, so measuring does not load pmd), pmd's RSS with N
# jobs, and pmd's CPU time and context switches over IDLE seconds (default 10) with nothing
# happening. Runs ROUNDS times (default 5) and prints each round and the medians.
#   bench/bench-start.sh [N] [ROUNDS] [IDLE]
set -euo pipefail
N=${1:-1000}
ROUNDS=${2:-5}
IDLE=${3:-10}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PMD=${PMD:-$SRC/build/daemon/pmd}
[[ -x "$PMD" ]] || { echo "build first: make" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# A pmd left running by a failed round would load every later measurement: stop it on any exit.
pid=
trap '[[ -z "$pid" ]] || { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }' EXIT

declare -a T_START RSS CPU CTX
for round in $(seq "$ROUNDS"); do
        T=$(mktemp -d /tmp/pmd-bench.XXXXXX)
        mkdir -p "$T/jobs"
        for i in $(seq "$N"); do
                printf '[Service]\nExecStart=/bin/sleep 100000\n' >"$T/jobs/s$i.job"
        done
        "$PMD" --job-dir "$T/jobs" --state-dir "$T/state" --log-dir "$T/log" --socket "$T/sock" \
                --bus none --http off --log-level warning </dev/null >"$T/pmd.out" 2>&1 &
        pid=$!
        # Wait (bounded, 60 s) until every job is running, polling the registry gently.
        for _ in $(seq 600); do
                n=$(sqlite3 -cmd '.timeout 1000' "$T/state/registry.db" \
                        "SELECT count(*) FROM jobs WHERE state='running'" 2>/dev/null || echo 0)
                [[ "$n" == "$N" ]] && break
                sleep 0.1
        done
        [[ "$n" == "$N" ]] || { echo "only $n of $N running" >&2; kill "$pid"; exit 1; }
        # pmd's start (the audit's startup record is written first thing) to the last job running.
        start_ms=$(sqlite3 "$T/state/registry.db" "SELECT (SELECT max(since) FROM jobs) - \
                (SELECT min(ts) FROM audit WHERE action='startup' AND ts >= (SELECT max(ts) FROM audit WHERE action='startup'))" |
                awk '{printf "%.1f", $1/1000}')
        # pmd's own start time, from /proc, to the startup record: what the process takes before that.
        sleep 1
        rss_kib=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
        read -r ut st < <(awk '{print $14, $15}' /proc/$pid/stat)
        c0=$(awk '/^voluntary_ctxt_switches|^nonvoluntary_ctxt_switches/ {s += $2} END {print s}' /proc/$pid/status)
        sleep "$IDLE"
        read -r ut2 st2 < <(awk '{print $14, $15}' /proc/$pid/stat)
        c1=$(awk '/^voluntary_ctxt_switches|^nonvoluntary_ctxt_switches/ {s += $2} END {print s}' /proc/$pid/status)
        tck=$(getconf CLK_TCK)
        cpu_ms=$(( (ut2 + st2 - ut - st) * 1000 / tck ))
        ctx=$((c1 - c0))
        echo "round $round: all $N running ${start_ms} ms after startup; RSS $((rss_kib / 1024)).$(((rss_kib % 1024) * 10 / 1024)) MiB; idle ${IDLE}s: CPU ${cpu_ms} ms, ${ctx} context switches (wake-ups)"
        T_START+=("$start_ms"); RSS+=("$rss_kib"); CPU+=("$cpu_ms"); CTX+=("$ctx")
        kill -TERM "$pid"
        wait "$pid" || true
        pid=
        rm -rf "$T"
done
echo "median over $ROUNDS rounds: start-to-all-running $(printf '%s\n' "${T_START[@]}" | median) ms," \
        "RSS $(printf '%s\n' "${RSS[@]}" | median | awk '{printf "%.1f", $1/1024}') MiB," \
        "idle CPU $(printf '%s\n' "${CPU[@]}" | median) ms / ${IDLE} s," \
        "wake-ups $(printf '%s\n' "${CTX[@]}" | median)"
