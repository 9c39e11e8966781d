# Helpers for integration tests; bash, safe under `set -euo pipefail`. A test looks like:
#
#       #!/usr/bin/env bash
#       set -euo pipefail
#       . "$(dirname "$0")/lib.sh"
#       write_job hello <<EOF
#       [Service]
#       ExecStart=sleep 1000
#       EOF
#       pmd_start
#       wait_until 5 job_state_is hello running
#       pid=$(job_pid hello)
#       ...
#
# test/run-tests.sh runs each test as `bash SCRIPT` with PMD, PMCTL, BUILD_DIR and SRC_DIR set;
# run alone, they default to build/. Exit 0 = pass, 77 = skip, anything else = fail. Every wait
# is bounded, and cleanup is by pid only (no pkill/killall: other tests and other pmds run on the
# same machine).

set -euo pipefail

SRC_DIR=${SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SRC_DIR/build}
PMD=${PMD:-$BUILD_DIR/daemon/pmd}
PMCTL=${PMCTL:-$BUILD_DIR/ctl/pmctl}
export SRC_DIR BUILD_DIR PMD PMCTL

# The per-test temp dir and its parts: job files, pmd's state (registry.db), job logs.
T=$(mktemp -d "${TMPDIR:-/tmp}/pmd-test.XXXXXX")
mkdir -p "$T/jobs" "$T/state" "$T/log"
PMD_PID=
PMD_EXIT=
_TRACKED_PIDS=()
_FAIL_MSG=
_ERR_AT=
# The command that ended the test under `set -e`, for the report at the end.
trap '_ERR_AT="$? $LINENO ${BASH_SOURCE[0]}"' ERR

# _now_us: the time in microseconds (bash's EPOCHREALTIME, no fork).
_now_us() {
        local t=${EPOCHREALTIME/[.,]/}
        echo "$t"
}

# _secs_to_us SECONDS: "5", "0.5" or "2.25" → microseconds.
_secs_to_us() {
        local s=$1 int frac
        int=${s%%.*}
        frac=
        [[ "$s" == *.* ]] && frac=${s#*.}
        frac=${frac}000000
        echo $((10#${int:-0} * 1000000 + 10#${frac:0:6}))
}

# pid_alive PID: true while PID exists and is not a zombie.
pid_alive() {
        local st
        [[ -n "${1:-}" ]] || return 1
        { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
        st=${st##*) }
        [[ "${st%% *}" != Z ]]
}

# fail MSG...: print MSG to stderr and end the test as failed.
fail() {
        _FAIL_MSG="FAIL: $*"
        echo "$_FAIL_MSG" >&2
        exit 1
}

# skip MSG...: print why and end the test as skipped (exit 77).
skip() {
        echo "SKIP: $*" >&2
        exit 77
}

# require_root: skip unless running as root.
require_root() {
        ((EUID == 0)) || skip "needs root"
}

# require_cmd CMD...: skip unless every CMD is in PATH.
require_cmd() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 || skip "needs $c"
        done
}

# track_pid PID...: remember PIDs to kill (SIGKILL, by pid) when the test ends.
track_pid() {
        _TRACKED_PIDS+=("$@")
}

# wait_until TIMEOUT_SECONDS CMD [ARG...]: re-run CMD every 50 ms until it succeeds (return 0),
# or TIMEOUT (seconds, may be fractional) passes: then print what was awaited and CMD's last
# output, and return 1 (which ends a `set -e` test). CMD may be a shell function.
wait_until() {
        local timeout=$1 deadline out
        shift
        deadline=$(($(_now_us) + $(_secs_to_us "$timeout")))
        out="$T/.wait_until.out"
        while :; do
                if "$@" >"$out" 2>&1; then
                        return 0
                fi
                if (($(_now_us) >= deadline)); then
                        echo "wait_until: timed out after ${timeout}s waiting for: $*" >&2
                        if [[ -s "$out" ]]; then
                                echo "wait_until: its last output:" >&2
                                tail -n 20 "$out" | sed 's/^/  /' >&2
                        fi
                        return 1
                fi
                sleep 0.05
        done
}

# pmd_start [EXTRA-ARG...]: start $PMD in the background on the temp dir ($T/jobs, $T/state,
# $T/log, socket $T/pmd.sock, no bus, no HTTP), output to $T/pmd.out, pid in PMD_PID; wait (10 s
# at most) until it has created $T/state/registry.db. Fails the test, showing pmd.out, if pmd
# dies or does not get there in time.
pmd_start() {
        local deadline
        [[ -x "$PMD" ]] || fail "pmd binary not found: $PMD"
        [[ -z "$PMD_PID" ]] || ! pid_alive "$PMD_PID" || fail "pmd_start: pmd already running ($PMD_PID)"
        "$PMD" --job-dir "$T/jobs" --state-dir "$T/state" --log-dir "$T/log" --socket "$T/pmd.sock" \
                --bus none --http off "$@" </dev/null >>"$T/pmd.out" 2>&1 &
        PMD_PID=$!
        PMD_EXIT=
        deadline=$(($(_now_us) + 10000000))
        until [[ -e "$T/state/registry.db" ]]; do
                if ! pid_alive "$PMD_PID"; then
                        PMD_EXIT=0
                        wait "$PMD_PID" || PMD_EXIT=$?
                        fail "pmd exited (status $PMD_EXIT) before creating registry.db"
                fi
                (($(_now_us) < deadline)) || fail "pmd did not create registry.db within 10 s"
                sleep 0.05
        done
}

# _pmd_gone: true once PMD_PID has exited.
_pmd_gone() {
        ! pid_alive "$PMD_PID"
}

# descendants PID: print the pids of every live descendant of PID (children first), from /proc.
descendants() {
        local -A kids=()
        local d st ppid pid queue=("$1")
        for d in /proc/[0-9]*; do
                read -r st 2>/dev/null <"$d/stat" || continue
                st=${st##*) }   # "STATE PPID ..." after the (comm)
                st=${st#* }
                ppid=${st%% *}
                kids[$ppid]+="${d#/proc/} "
        done
        while ((${#queue[@]})); do
                pid=${queue[0]}
                queue=("${queue[@]:1}")
                for d in ${kids[$pid]:-}; do
                        echo "$d"
                        queue+=("$d")
                done
        done
}

# pmd_stop [TIMEOUT_SECONDS]: SIGTERM to pmd, wait (default 10 s) for it to exit, then SIGKILL
# (and its leftover descendants). Sets PMD_EXIT to its exit status (128+N for a signal N) and
# clears PMD_PID; returns 0 (check PMD_EXIT yourself) unless pmd needed SIGKILL: then 1.
pmd_stop() {
        local timeout=${1:-10} rc=0 left=()
        [[ -n "$PMD_PID" ]] || return 0
        kill -TERM "$PMD_PID" 2>/dev/null || true
        if ! wait_until "$timeout" _pmd_gone 2>/dev/null; then
                echo "pmd_stop: pmd ($PMD_PID) ignored SIGTERM for ${timeout}s, sending SIGKILL" >&2
                mapfile -t left < <(descendants "$PMD_PID")
                kill -KILL "$PMD_PID" "${left[@]}" 2>/dev/null || true
                rc=1
        fi
        PMD_EXIT=0
        wait "$PMD_PID" 2>/dev/null || PMD_EXIT=$?
        PMD_PID=
        return $rc
}

# pmctl ARG...: run $PMCTL against this test's pmd (--socket $T/pmd.sock).
pmctl() {
        "$PMCTL" --socket "$T/pmd.sock" "$@"
}

# sql "SQL": run SQL on $T/state/registry.db (sqlite3 -batch, waiting up to 2 s on a busy
# database); prints the rows, '|'-separated.
sql() {
        sqlite3 -batch -cmd '.timeout 2000' "$T/state/registry.db" "$1"
}

# sql_is QUERY VALUE: the registry answers QUERY with VALUE. Writes reach the registry in
# batches committed right after the event that made them, so a check that follows an
# answer from pmd (not a state change, which is announced after its commit) waits:
#   wait_until 5 sql_is "SELECT …" 1
sql_is() {
        local got
        got=$(sql "$1")
        [[ "$got" == "$2" ]] || { echo "registry: '$got', expected '$2' for: $1"; return 1; }
}

# sql_ge QUERY N: the registry answers QUERY with a number of at least N.
sql_ge() {
        local got
        got=$(sql "$1")
        [[ "$got" =~ ^[0-9]+$ ]] && ((got >= $2)) || { echo "registry: '$got', expected >= $2 for: $1"; return 1; }
}

# _sql_quote STR: STR as an SQL string literal.
_sql_quote() {
        printf "'%s'" "${1//\'/\'\'}"
}

# job_state NAME: print the state of job NAME from the registry's jobs table (empty if unknown).
job_state() {
        sql "SELECT state FROM jobs WHERE name=$(_sql_quote "$1")"
}

# job_state_is NAME STATE: true when job NAME's state is STATE (for wait_until).
job_state_is() {
        local s
        s=$(job_state "$1") || return 1
        [[ "$s" == "$2" ]]
}

# job_pid NAME: print the pid of job NAME's main process from the registry's jobs table.
job_pid() {
        sql "SELECT pid FROM jobs WHERE name=$(_sql_quote "$1")"
}

# write_job NAME [EXT] <<EOF ... EOF: write stdin to $T/jobs/NAME.EXT (EXT default "job"; e.g.
# "service", or "yaml"/"json" where NAME is then just the file name).
write_job() {
        cat >"$T/jobs/$1.${2:-job}"
}

# The EXIT trap: stop pmd (SIGTERM, 3 s, then SIGKILL to it and whatever of its descendants are
# left), kill every tracked pid (SIGKILL, by pid), show pmd.out when the test failed, remove $T.
_cleanup() {
        local rc=$? p line file left=()
        trap - EXIT ERR
        set +e
        if [[ -n "$PMD_PID" ]] && pid_alive "$PMD_PID"; then
                kill -TERM "$PMD_PID" 2>/dev/null
                if ! wait_until 3 _pmd_gone 2>/dev/null; then
                        mapfile -t left < <(descendants "$PMD_PID")
                        kill -KILL "$PMD_PID" "${left[@]}" 2>/dev/null
                fi
                wait "$PMD_PID" 2>/dev/null
        fi
        for p in "${_TRACKED_PIDS[@]}"; do
                [[ -n "$p" ]] && kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
        done
        if ((rc != 0 && rc != 77)); then
                if [[ -s "$T/pmd.out" ]]; then
                        echo "---- pmd output ($T/pmd.out, last 100 lines)" >&2
                        tail -n 100 "$T/pmd.out" >&2
                        echo "----" >&2
                fi
                # Last, so that it is what a runner showing the tail of the output shows first.
                if [[ -n "$_FAIL_MSG" ]]; then
                        echo "$_FAIL_MSG" >&2
                elif [[ -n "$_ERR_AT" ]]; then
                        read -r p line file <<<"$_ERR_AT"
                        echo "FAIL: status $p at ${file##*/}:$line: $(sed -n "${line}{s/^[[:space:]]*//;p}" "$file" 2>/dev/null)" >&2
                else
                        echo "FAIL: exit status $rc" >&2
                fi
        fi
        # A stuck mount or a busy file must not keep the test from ending.
        rm -rf "$T" 2>/dev/null
        exit $rc
}
trap _cleanup EXIT
