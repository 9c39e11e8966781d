#!/usr/bin/env bash
# D-Bus and pmctl with N running jobs (default 1000), over pmd's private socket (issue 3):
#   - `pmctl list` end to end (process start to exit, output to /dev/null), and `pmctl list --json`;
#   - the ListJobs round trip alone (bench-bus-client.c: one connection, call, reply read), and
#     that of GetManagedObjects (every job's properties, CPU and memory included: what
#     `pmctl list` asks for);
#   - 100 StartJob calls in a row through one connection, each waiting for its reply (100 jobs
#     with AutoStart=no beside the N running ones, so each call really queues a start).
# CALLS timed calls per round (default 50), ROUNDS rounds (default 3), medians.
#   bench/bench-bus.sh [N] [ROUNDS] [CALLS]
set -euo pipefail
N=${1:-1000}
ROUNDS=${2:-3}
CALLS=${3:-50}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PMD=${PMD:-$SRC/build/daemon/pmd}
PMCTL=${PMCTL:-$SRC/build/ctl/pmctl}
[[ -x "$PMD" && -x "$PMCTL" ]] || { echo "build first: make" >&2; exit 1; }

. "$SRC/bench/lib.sh"
# Times in µs from bash's own clock ($EPOCHREALTIME, no process of its own), so that only pmctl
# is in the interval.

W=$(mktemp -d /tmp/pmd-bench-bus.XXXXXX)
trap 'bench_pmd_stop; rm -rf "$W"' EXIT
# shellcheck disable=SC2046
cc -O2 -o "$W/client" "$SRC/bench/bench-bus-client.c" $(pkg-config --cflags --libs libsystemd)

declare -a R_LIST R_JSON R_RT R_GMO R_START R_START1
for round in $(seq "$ROUNDS"); do
        T="$W/r$round"
        sleep_jobs "$T" "$N"
        sleep_jobs "$T" 100 q $'AutoStart=no\n'
        bench_pmd_start "$T"
        bench_wait_running "$T" "$N"
        sleep 1

        list=() json=()
        for _ in $(seq "$CALLS"); do
                a=${EPOCHREALTIME/[.,]/}; "$PMCTL" --socket "$T/sock" list >/dev/null; b=${EPOCHREALTIME/[.,]/}
                list+=($((10#$b - 10#$a)))
                a=${EPOCHREALTIME/[.,]/}; "$PMCTL" --socket "$T/sock" --json list >/dev/null; b=${EPOCHREALTIME/[.,]/}
                json+=($((10#$b - 10#$a)))
        done
        lines=$("$PMCTL" --socket "$T/sock" list | wc -l)
        "$W/client" "$T/sock" "$CALLS" >"$T/client.out"
        read -r _ jobs rt _ _ < <(grep '^listjobs' "$T/client.out")
        read -r _ gmo _ _ < <(grep '^managed' "$T/client.out")
        read -r _ ns total per max < <("$W/client" "$T/sock" 1 $(printf 'q%d ' $(seq 100)) | grep startjob)
        ml=$(printf '%s\n' "${list[@]}" | median); mj=$(printf '%s\n' "${json[@]}" | median)
        ms() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
        echo "round $round: $jobs jobs ($((lines - 1)) listed); pmctl list $(ms "$ml") ms," \
                "pmctl --json list $(ms "$mj") ms, ListJobs round trip ${rt} µs, GetManagedObjects ${gmo} µs," \
                "$ns StartJob in a row ${total} ms (median ${per} µs, max ${max} µs)"
        R_LIST+=("$ml"); R_JSON+=("$mj"); R_RT+=("$rt"); R_GMO+=("$gmo"); R_START+=("$total"); R_START1+=("$per")
        bench_pmd_stop
done
echo "medians of $ROUNDS rounds ($CALLS calls each), $N jobs running:"
echo "  pmctl list, end to end       $(printf '%s\n' "${R_LIST[@]}" | median | awk '{printf "%.1f", $1/1000}') ms   (target < 50 ms)"
echo "  pmctl --json list            $(printf '%s\n' "${R_JSON[@]}" | median | awk '{printf "%.1f", $1/1000}') ms"
echo "  ListJobs round trip          $(printf '%s\n' "${R_RT[@]}" | median | awk '{printf "%.2f", $1/1000}') ms   (target < 5 ms)"
echo "  GetManagedObjects round trip $(printf '%s\n' "${R_GMO[@]}" | median | awk '{printf "%.2f", $1/1000}') ms"
echo "  100 StartJob in a row        $(printf '%s\n' "${R_START[@]}" | median) ms  (per call $(printf '%s\n' "${R_START1[@]}" | median) µs)"
