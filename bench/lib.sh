# Helpers of the benchmarks (sourced): medians, N `sleep` jobs, and one pmd at a time that is
# stopped on any exit of the script (a pmd left running by a failed round would load every later
# measurement).

# median: the median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# sleep_jobs DIR N [PREFIX [EXTRA]]: N jobs PREFIX1 … PREFIXN (default s) running `sleep 100000`
# in DIR/jobs, each with the extra [Service] lines EXTRA.
sleep_jobs() {
        local dir=$1 n=$2 prefix=${3:-s} extra=${4:-}
        mkdir -p "$dir/jobs"
        for i in $(seq "$n"); do
                printf '[Service]\nExecStart=/bin/sleep 100000\n%s' "$extra" >"$dir/jobs/$prefix$i.job"
        done
}

# bench_pmd_start DIR [PMD-ARG...]: pmd on DIR/jobs with its state, logs and socket in DIR, no bus,
# HTTP off unless an argument says otherwise, output in DIR/pmd.out; its pid in $pid.
pid=
bench_pmd_start() {
        local dir=$1
        shift
        "$PMD" --job-dir "$dir/jobs" --state-dir "$dir/state" --log-dir "$dir/log" --socket "$dir/sock" \
                --bus none --http off --log-level warning "$@" </dev/null >"$dir/pmd.out" 2>&1 &
        pid=$!
}

# bench_wait_running DIR N: wait (bounded, 60 s, polling the registry gently) until N jobs run;
# stops the script when they do not.
bench_wait_running() {
        local dir=$1 want=$2 n=0
        for _ in $(seq 600); do
                n=$(sqlite3 -cmd '.timeout 1000' "$dir/state/registry.db" \
                        "SELECT count(*) FROM jobs WHERE state='running'" 2>/dev/null || echo 0)
                [[ "$n" == "$want" ]] && return 0
                sleep 0.1
        done
        echo "only $n of $want jobs running" >&2
        exit 1
}

# bench_pmd_stop: stop the pmd of bench_pmd_start and wait for it.
bench_pmd_stop() {
        [[ -n "$pid" ]] || return 0
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=
}
trap bench_pmd_stop EXIT

# bench_time_pmctl SOCK SECONDS PAUSE [SAMPLER]: `pmctl --socket SOCK list` again and again for
# SECONDS, PAUSE seconds apart, each timed in µs from bash's own clock ($EPOCHREALTIME, no
# process of its own) into the array TIMES; SAMPLER, when given, is run after each answer.
TIMES=()
bench_time_pmctl() {
        local sock=$1 secs=$2 pause=$3 sampler=${4:-} a b end
        TIMES=()
        end=$((${EPOCHREALTIME/[.,]/} + secs * 1000000))
        while ((${EPOCHREALTIME/[.,]/} < end)); do
                a=${EPOCHREALTIME/[.,]/}
                timeout 300 "$PMCTL" --socket "$sock" list >/dev/null || true
                b=${EPOCHREALTIME/[.,]/}
                TIMES+=($((b - a)))
                [[ -n "$sampler" ]] && "$sampler"
                sleep "$pause"
        done
}

# bench_times_summary: "N answers, median … ms, p99 … ms, max … ms" of TIMES.
bench_times_summary() {
        printf '%s\n' "${TIMES[@]}" | sort -n | awk '{a[NR] = $1}
                END {printf "%d answers, median %.1f ms, p99 %.1f ms, max %.1f ms", NR,
                        a[int((NR + 1) / 2)] / 1000, a[int(NR * 0.99 + 0.5)] / 1000, a[NR] / 1000}'
}
