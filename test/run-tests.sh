#!/usr/bin/env bash
# Runs every test of one build directory and prints one line per test, then "N passed, N failed,
# N skipped":
#   1. the unit tests and fuzz replays meson knows (`meson introspect BUILD_DIR --tests`, with the
#      args, workdir and env meson records), TEST_JOBS at a time (default: number of CPUs);
#   2. the integration tests test/integration/test-*.sh, each as `bash SCRIPT` with PMD, PMCTL,
#      BUILD_DIR and SRC_DIR set, INTEGRATION_JOBS at a time (default 1: they time things).
# Exit status of a test: 0 pass, 77 skip, anything else fail (124: timeout). Every test's whole
# output is kept in BUILD_DIR/test-logs/NAME.log; a failure also prints its last lines here.
# The counts are also written to BUILD_DIR/test-logs/summary as "passed=N failed=N skipped=N".
#
# usage: test/run-tests.sh BUILD_DIR [NAME-GLOB...]   (globs select tests by name, e.g. 'test-job*')
# env:   TEST_JOBS, INTEGRATION_JOBS, UNIT_TIMEOUT (300 s), INTEGRATION_TIMEOUT (600 s),
#        TAIL_LINES (40)
set -euo pipefail

if (($# < 1)) || [[ "$1" == -h || "$1" == --help ]]; then
        echo "usage: $0 BUILD_DIR [NAME-GLOB...]" >&2
        exit 2
fi

SRC_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
BUILD_DIR=$(cd "$1" && pwd)
shift
FILTERS=("$@")

TEST_JOBS=${TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
INTEGRATION_JOBS=${INTEGRATION_JOBS:-1}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
INTEGRATION_TIMEOUT=${INTEGRATION_TIMEOUT:-600}
TAIL_LINES=${TAIL_LINES:-40}

LOG_DIR="$BUILD_DIR/test-logs"
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR/integration"
LOCK="$LOG_DIR/.print-lock"
: >"$LOCK"

export SRC_DIR BUILD_DIR
export PMD="$BUILD_DIR/daemon/pmd"
export PMCTL="$BUILD_DIR/ctl/pmctl"

selected() {
        local f
        ((${#FILTERS[@]} == 0)) && return 0
        for f in "${FILTERS[@]}"; do
                # shellcheck disable=SC2053
                [[ "$1" == $f || "${1#integration/}" == $f ]] && return 0
        done
        return 1
}

# run_test NAME TIMEOUT WORKDIR ENV-ASSIGNMENTS-FILE -- CMD...
# Runs one test in the background-safe way: output to its log, result to NAME.result, and the
# report (result line, plus the log's tail for a failure) printed under a lock so that parallel
# tests do not interleave.
run_test() {
        local name=$1 tmo=$2 workdir=$3 envfile=$4
        shift 5
        local log="$LOG_DIR/$name.log" rc=0 start end secs word report note
        start=${EPOCHREALTIME/[.,]/}
        # (the outer 2>/dev/null hides bash's "Aborted ..." note about a test killed by a signal)
        {
                (
                        cd "$workdir"
                        if [[ -s "$envfile" ]]; then
                                while IFS= read -r -d '' kv; do export "$kv"; done <"$envfile"
                        fi
                        exec timeout --kill-after=10 "$tmo" "$@"
                ) </dev/null >"$log" 2>&1
        } 2>/dev/null || rc=$?
        end=${EPOCHREALTIME/[.,]/}
        secs=$(printf '%d.%d' $(((end - start) / 1000000)) $((((end - start) / 100000) % 10)))
        note=
        if ((rc > 128 && rc != 137)); then
                note=": signal $(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
        fi
        case $rc in
                0)  word=PASS; report="PASS $name (${secs}s)" ;;
                77) word=SKIP; report="SKIP $name" ;;
                124|137)
                    word=FAIL; report="FAIL $name (timeout after ${tmo}s, exit $rc)" ;;
                *)  word=FAIL; report="FAIL $name (exit $rc$note, ${secs}s)" ;;
        esac
        echo "$word" >"$LOG_DIR/$name.result"
        {
                flock 9
                echo "$report"
                if [[ $word == FAIL ]]; then
                        echo "---- last $TAIL_LINES lines of $log"
                        tail -n "$TAIL_LINES" "$log" | sed 's/^/| /'
                        echo "----"
                fi
        } 9>>"$LOCK"
}

# Runs at most $1 background jobs: call before starting one.
throttle() {
        while (($(jobs -rp | wc -l) >= $1)); do
                wait -n || true
        done
}

# ---- 1. unit tests and fuzz replays, as meson records them
# One record per test: name, timeout, workdir, env (NUL-separated VAR=value, in a file), cmd.
TESTS_TSV="$LOG_DIR/.tests"
if ! meson introspect "$BUILD_DIR" --tests >"$LOG_DIR/.tests.json" 2>"$LOG_DIR/.introspect.err"; then
        echo "FAIL meson-introspect"
        sed 's/^/| /' "$LOG_DIR/.introspect.err"
        echo "FAIL" >"$LOG_DIR/meson-introspect.result"
        echo '[]' >"$LOG_DIR/.tests.json"
fi
python3 - "$LOG_DIR/.tests.json" "$SRC_DIR" "$LOG_DIR" >"$TESTS_TSV" <<'PY'
import json, os, shlex, sys
tests = json.load(open(sys.argv[1]))
src, logdir = sys.argv[2], sys.argv[3]
for t in tests:
    name = t["name"].replace("/", "_")
    envfile = os.path.join(logdir, "." + name + ".env")
    with open(envfile, "w") as f:
        for k, v in (t.get("env") or {}).items():
            f.write("%s=%s\0" % (k, v))
    workdir = t.get("workdir") or src
    print("\t".join([name, workdir, envfile, " ".join(shlex.quote(c) for c in t["cmd"])]))
PY

while IFS=$'\t' read -r name workdir envfile cmdline; do
        selected "$name" || continue
        eval "cmd=($cmdline)"
        throttle "$TEST_JOBS"
        run_test "$name" "$UNIT_TIMEOUT" "$workdir" "$envfile" -- "${cmd[@]}" &
done <"$TESTS_TSV"
wait

# ---- 2. integration tests
shopt -s nullglob
for script in "$SRC_DIR"/test/integration/test-*.sh; do
        name="integration/$(basename "$script" .sh)"
        selected "$name" || continue
        throttle "$INTEGRATION_JOBS"
        run_test "$name" "$INTEGRATION_TIMEOUT" "$SRC_DIR" /dev/null -- bash "$script" &
done
wait

# ---- summary
passed=0 failed=0 skipped=0
while IFS= read -r -d '' f; do
        case $(<"$f") in
                PASS) passed=$((passed + 1)) ;;
                SKIP) skipped=$((skipped + 1)) ;;
                *)    failed=$((failed + 1)) ;;
        esac
done < <(find "$LOG_DIR" -name '*.result' -print0)
echo "passed=$passed failed=$failed skipped=$skipped" >"$LOG_DIR/summary"
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
