#!/usr/bin/env bash
# Log capture throughput (issue 6): SIZE bytes (default 1 GiB) of 100-byte lines from
# `yes LINE | head -c SIZE`, written
#   1. straight to a file:            sh -c 'yes … | head -c SIZE > file'
#   2. through cat:                   sh -c 'yes … | head -c SIZE | cat > file'
#   3. by a pmd job, [Log] Format=text
#   4. by a pmd job, [Log] Format=json
#   5/6. the same split over JOBS jobs at once (default 50), pmd text, and `| cat > file` each,
# all in the same run, on the same file system (BENCH_DIR, default /tmp). For pmd the time is from
# the start of the job (pmctl-free: the job is started by pmd at its start, the registry's run
# start time) to its state "exited" (pmd writes what is in the pipe before it records that), and
# pmd's CPU time (utime+stime from /proc) per GiB of input. ROUNDS rounds (default 3), medians.
#   bench/bench-logs.sh [SIZE_BYTES] [ROUNDS] [JOBS]
set -euo pipefail
SIZE=${1:-1073741824}
ROUNDS=${2:-3}
JOBS=${3:-50}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PMD=${PMD:-$SRC/build/daemon/pmd}
[[ -x "$PMD" ]] || { echo "build first: make" >&2; exit 1; }
BENCH_DIR=${BENCH_DIR:-/tmp}
LINE=$(printf '%099d' 0) # 99 characters + newline = 100 bytes
CLK=$(getconf CLK_TCK)

. "$SRC/bench/lib.sh"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }

# run_pmd FORMAT NJOBS DIR: pmd runs NJOBS jobs that write SIZE/NJOBS bytes each; prints
# "SECONDS CPU_SECONDS" (time from the first run's start to the last run's end, from the registry).
run_pmd() {
        local fmt=$1 n=$2 T=$3 each pid left ticks
        each=$((SIZE / n))
        mkdir -p "$T/jobs"
        for i in $(seq "$n"); do
                printf '[Service]\nType=oneshot\nExecStart=/bin/sh -c "yes %s | head -c %s"\n[Log]\nFormat=%s\nMaxSize=%s\nMaxFiles=1\n' \
                        "$LINE" "$each" "$fmt" $((SIZE * 2)) >"$T/jobs/w$i.job"
        done
        "$PMD" --job-dir "$T/jobs" --state-dir "$T/state" --log-dir "$T/log" --socket "$T/sock" \
                --bus none --http off --log-level warning </dev/null >"$T/pmd.out" 2>&1 &
        pid=$!
        for _ in $(seq 6000); do
                left=$(sqlite3 -cmd '.timeout 1000' "$T/state/registry.db" \
                        "SELECT $n - count(*) FROM jobs WHERE state = 'exited'" 2>/dev/null || echo 1)
                [[ "$left" == 0 ]] && break
                sleep 0.1
        done
        [[ "$left" == 0 ]] || { echo "jobs did not finish" >&2; kill "$pid"; exit 1; }
        ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
        local t
        t=$(sqlite3 "$T/state/registry.db" "SELECT (max(\"end\") - min(start)) / 1e6 FROM runs")
        kill "$pid"
        wait "$pid" || true
        pid=
        echo "$t $(awk -v t="$ticks" -v c="$CLK" 'BEGIN {printf "%.3f", t / c}')"
}

# DROP_CACHES=1: sync and drop the page cache before each measured command (root), so that no
# variant pays for the write-back of the files the one before it wrote and deleted.
settle() {
        if [[ "${DROP_CACHES:-0}" == 1 ]]; then
                sync
                echo 3 >/proc/sys/vm/drop_caches
        fi
}

declare -a R_FILE R_CAT R_TEXT R_JSON R_RAW R_CPU_T R_CPU_J R_CPU_R R_TEXT_N R_CAT_N R_CPU_N
for round in $(seq "$ROUNDS"); do
        D=$(mktemp -d "$BENCH_DIR/pmd-bench-logs.XXXXXX")
        settle; a=$(now); sh -c "yes $LINE | head -c $SIZE > $D/file"; b=$(now); R_FILE+=("$(secs "$a" "$b")"); rm -f "$D/file"
        settle; a=$(now); sh -c "yes $LINE | head -c $SIZE | cat > $D/file"; b=$(now); R_CAT+=("$(secs "$a" "$b")"); rm -f "$D/file"
        settle; read -r t c < <(run_pmd text 1 "$D/text"); R_TEXT+=("$t"); R_CPU_T+=("$c"); rm -rf "$D/text"
        settle; read -r t c < <(run_pmd json 1 "$D/json"); R_JSON+=("$t"); R_CPU_J+=("$c"); rm -rf "$D/json"
        settle; read -r t c < <(run_pmd raw 1 "$D/raw"); R_RAW+=("$t"); R_CPU_R+=("$c"); rm -rf "$D/raw"
        settle; read -r t c < <(run_pmd text "$JOBS" "$D/many"); R_TEXT_N+=("$t"); R_CPU_N+=("$c"); rm -rf "$D/many"
        each=$((SIZE / JOBS))
        settle; a=$(now)
        for i in $(seq "$JOBS"); do sh -c "yes $LINE | head -c $each | cat > $D/f$i" & done
        wait
        b=$(now); R_CAT_N+=("$(secs "$a" "$b")"); rm -f "$D"/f*
        rmdir "$D" 2>/dev/null || rm -rf "$D"
        echo "round $round: > file ${R_FILE[-1]} s, | cat ${R_CAT[-1]} s, pmd text ${R_TEXT[-1]} s (cpu ${R_CPU_T[-1]} s)," \
             "pmd json ${R_JSON[-1]} s (cpu ${R_CPU_J[-1]} s), pmd raw ${R_RAW[-1]} s (cpu ${R_CPU_R[-1]} s), $JOBS jobs: pmd text ${R_TEXT_N[-1]} s (cpu ${R_CPU_N[-1]} s)," \
             "| cat ${R_CAT_N[-1]} s"
done

m() { printf '%s\n' "$@" | median; }
file=$(m "${R_FILE[@]}"); cat1=$(m "${R_CAT[@]}"); text=$(m "${R_TEXT[@]}"); json=$(m "${R_JSON[@]}")
raw=$(m "${R_RAW[@]}"); cpur=$(m "${R_CPU_R[@]}")
cput=$(m "${R_CPU_T[@]}"); cpuj=$(m "${R_CPU_J[@]}"); textn=$(m "${R_TEXT_N[@]}"); catn=$(m "${R_CAT_N[@]}")
cpun=$(m "${R_CPU_N[@]}")
gib=$(awk -v s="$SIZE" 'BEGIN {print s / 1073741824}')
echo
echo "medians of $ROUNDS rounds, $SIZE bytes of 100-byte lines, $(date -u +%Y-%m-%d), $(nproc) CPUs, $(uname -r)"
awk -v f="$file" -v c="$cat1" -v t="$text" -v j="$json" -v ct="$cput" -v cj="$cpuj" -v r="$raw" -v cr="$cpur" -v tn="$textn" -v cn="$catn" \
        -v cpn="$cpun" -v g="$gib" -v n="$JOBS" 'BEGIN {
        printf "  > file          %7.2f s  %7.0f MiB/s\n", f, g * 1024 / f
        printf "  | cat > file    %7.2f s  %7.0f MiB/s\n", c, g * 1024 / c
        printf "  pmd text        %7.2f s  %7.0f MiB/s  %3.0f %% of | cat, %3.0f %% of > file, pmd CPU %.2f s/GiB\n", t, g * 1024 / t, 100 * c / t, 100 * f / t, ct / g
        printf "  pmd json        %7.2f s  %7.0f MiB/s  %3.0f %% of | cat, %3.0f %% of > file, pmd CPU %.2f s/GiB\n", j, g * 1024 / j, 100 * c / j, 100 * f / j, cj / g
        printf "  pmd raw         %7.2f s  %7.0f MiB/s  %3.0f %% of | cat, %3.0f %% of > file, pmd CPU %.2f s/GiB\n", r, g * 1024 / r, 100 * c / r, 100 * f / r, cr / g
        printf "  %d jobs pmd text %6.2f s  %7.0f MiB/s  %3.0f %% of %d x | cat (%.2f s), pmd CPU %.2f s/GiB\n", n, tn, g * 1024 / tn, 100 * cn / tn, n, cn, cpn / g
}'
