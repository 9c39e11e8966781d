#!/usr/bin/env bash
# Where the log throughput goes (issue 6): `yes LINE | head -c SIZE` writing into `cat > file` and
# into a pmd job's text log, ROUNDS rounds (default 3) of each. Measured around the producer
# itself, by the shell that runs it: the wall time, the CPU time of `yes` and `head` together
# (bash's time), and the idle time of all CPUs meanwhile (/proc/stat, idle + iowait). With
# DROP_CACHES=1 the page cache is synced and dropped before each (root). Medians.
#   bench/bench-logs-idle.sh [SIZE_BYTES] [ROUNDS]
set -euo pipefail
SIZE=${1:-1073741824}
ROUNDS=${2:-3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PMD=${PMD:-$SRC/build/daemon/pmd}
[[ -x "$PMD" ]] || { echo "build first: make" >&2; exit 1; }
BENCH_DIR=${BENCH_DIR:-/tmp}
LINE=$(printf '%099d' 0)

. "$SRC/bench/lib.sh"

D=$(mktemp -d "$BENCH_DIR/pmd-bench-idle.XXXXXX")
# The producer, measuring itself; its figures go to the file $1: "wall_s cpu_s idle_cpu_s".
cat >"$D/producer.sh" <<EOF
idle() { awk '/^cpu / { print (\$5 + \$6) / $(getconf CLK_TCK) }' /proc/stat; }
i0=\$(idle); t0=\$EPOCHREALTIME
TIMEFORMAT='%U %S'
{ time (yes $LINE | head -c $SIZE) ; } 2>"\$1.cpu"
t1=\$EPOCHREALTIME; i1=\$(idle)
read -r u s <"\$1.cpu"
echo "\$t0 \$t1 \$u \$s \$i0 \$i1" | awk '{ printf "%.3f %.3f %.3f\n", \$2 - \$1, \$3 + \$4, \$6 - \$5 }' >"\$1"
EOF

settle() {
        if [[ "${DROP_CACHES:-0}" == 1 ]]; then
                sync
                echo 3 >/proc/sys/vm/drop_caches
        fi
}

declare -a CW CC CI PW PC PI
for round in $(seq "$ROUNDS"); do
        settle
        bash "$D/producer.sh" "$D/cat.m" | cat >"$D/file"
        rm -f "$D/file"
        read -r w c i <"$D/cat.m"
        CW+=("$w"); CC+=("$c"); CI+=("$i")

        settle
        P=$D/pmd
        mkdir -p "$P/jobs"
        printf '[Service]\nType=oneshot\nExecStart=/bin/bash %s/producer.sh %s/pmd.m\n[Log]\nMaxSize=%s\nMaxFiles=1\n' \
                "$D" "$D" $((SIZE * 2)) >"$P/jobs/w.job"
        rm -f "$D/pmd.m"
        bench_pmd_start "$P"
        for _ in $(seq 6000); do
                [[ -s "$D/pmd.m" ]] && break
                sleep 0.1
        done
        bench_pmd_stop
        [[ -s "$D/pmd.m" ]] || { echo "the pmd job did not finish" >&2; exit 1; }
        read -r w c i <"$D/pmd.m"
        PW+=("$w"); PC+=("$c"); PI+=("$i")
        rm -rf "$P"
        echo "round $round: into cat: ${CW[-1]} s, yes+head CPU ${CC[-1]} s, idle ${CI[-1]} CPU-s;" \
                "into pmd: ${PW[-1]} s, yes+head CPU ${PC[-1]} s, idle ${PI[-1]} CPU-s"
done
rm -rf "$D"

m() { printf '%s\n' "$@" | median; }
echo
echo "medians of $ROUNDS rounds, $SIZE bytes of 100-byte lines, $(date -u +%Y-%m-%d), $(nproc) CPUs, $(uname -r)"
printf '  yes | head | cat > file   %6.2f s   yes+head CPU %5.2f s   all CPUs idle %5.2f CPU-s\n' \
        "$(m "${CW[@]}")" "$(m "${CC[@]}")" "$(m "${CI[@]}")"
printf '  yes | head into pmd text  %6.2f s   yes+head CPU %5.2f s   all CPUs idle %5.2f CPU-s\n' \
        "$(m "${PW[@]}")" "$(m "${PC[@]}")" "$(m "${PI[@]}")"
