#!/usr/bin/env bash
# The full test run (`make check`, CI):
#   a. a normal build with -Werror in build/, then test/run-tests.sh on it;
#   b. an ASan+UBSan build in build-asan/, then test/run-tests.sh on it (a leak or UB fails);
#   c. a clang libFuzzer build in build-fuzz/, then every fuzzer for FUZZ_SECONDS (20) on a copy
#      of its corpus test/fuzz/NAME/ (the tree stays untouched; crashes are kept in
#      build-fuzz/fuzz-artifacts/NAME/ to be added to the corpus by hand).
# A build that fails counts as one failed test (and its tests do not run). The last line of the
# output is the one summary of all parts: "N passed, N failed, N skipped"; the exit status is 0
# only when nothing failed. Packages: tools/install-deps.sh (make check runs it first).
#
# env: BUILD_DIR, ASAN_BUILD_DIR, FUZZ_BUILD_DIR (directories), FUZZ_SECONDS, FUZZ_JOBS,
#      CHECK_PARTS (default "normal asan fuzz"), and those of test/run-tests.sh.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
SRC_DIR=$PWD

BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
CHECK_PARTS=${CHECK_PARTS:-normal asan fuzz}

# Sanitizer settings for every process of parts b and c: stop at the first error, non-zero.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:disable_coredump=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-print_suppressions=0}

total_passed=0 total_failed=0 total_skipped=0
failures=()
start_all=$SECONDS

section() {
        echo
        echo "==== $* ===="
}

# setup_build DIR [MESON-OPTION...]: configure DIR (or reconfigure it with these options) and
# build it; output to DIR/check-build.log, its tail shown when it fails. Returns non-zero on
# failure.
setup_build() {
        local dir=$1 tmplog log rc=0
        shift
        log="$dir/check-build.log"
        tmplog=$(mktemp "${TMPDIR:-/tmp}/pmd-build.XXXXXX")
        {
                if [[ -f "$dir/meson-private/coredata.dat" ]]; then
                        meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@"
                else
                        rm -rf "$dir"
                        meson setup "$dir" "$@"
                fi && ninja -C "$dir"
        } </dev/null >"$tmplog" 2>&1 || rc=$?
        # (meson --wipe empties DIR, so the log is written elsewhere and moved in afterwards)
        mkdir -p "$dir"
        mv -f "$tmplog" "$log"
        if ((rc != 0)); then
                echo "FAIL build $dir (exit $rc); its log ($log):"
                tail -n 80 "$log" | sed 's/^/| /'
                return 1
        fi
        echo "built $dir ($(grep -c '^\[' "$log" || true) build steps)"
}

# tests_of DIR: run test/run-tests.sh on DIR and add its counts to the totals.
tests_of() {
        local dir=$1 passed failed skipped
        bash test/run-tests.sh "$dir" || true
        if [[ -f "$dir/test-logs/summary" ]]; then
                # summary: passed=N failed=N skipped=N
                read -r passed failed skipped < <(sed 's/[a-z]*=//g' "$dir/test-logs/summary")
        else
                echo "FAIL run-tests $dir (no summary written)"
                passed=0 failed=1 skipped=0
        fi
        total_passed=$((total_passed + passed))
        total_failed=$((total_failed + failed))
        total_skipped=$((total_skipped + skipped))
        ((failed == 0)) || failures+=("$dir: $failed failed (logs in $dir/test-logs/)")
}

build_failed() {
        total_failed=$((total_failed + 1))
        failures+=("$1: build failed (log: $1/check-build.log)")
}

# ---- a. normal build, warnings are errors
if [[ " $CHECK_PARTS " == *" normal "* ]]; then
        section "a. normal build ($BUILD_DIR, -Dwerror_all=true)"
        t=$SECONDS
        if setup_build "$BUILD_DIR" -Dwerror_all=true; then
                tests_of "$BUILD_DIR"
        else
                build_failed "$BUILD_DIR"
        fi
        echo "(part a: $((SECONDS - t)) s)"
fi

# ---- b. ASan + UBSan
if [[ " $CHECK_PARTS " == *" asan "* ]]; then
        section "b. ASan+UBSan build ($ASAN_BUILD_DIR)"
        t=$SECONDS
        if setup_build "$ASAN_BUILD_DIR" -Db_sanitize=address,undefined -Db_lundef=false; then
                tests_of "$ASAN_BUILD_DIR"
        else
                build_failed "$ASAN_BUILD_DIR"
        fi
        echo "(part b: $((SECONDS - t)) s)"
fi

# ---- c. libFuzzer
# run_fuzzer NAME BINARY: one bounded libFuzzer run on a temp copy of test/fuzz/NAME/; prints
# PASS/FAIL and writes the word to LOGDIR/NAME.result.
run_fuzzer() {
        local name=$1 bin=$2 corpus log rc=0 artifacts report
        log="$FUZZ_LOG_DIR/$name.log"
        artifacts="$FUZZ_BUILD_DIR/fuzz-artifacts/$name"
        mkdir -p "$artifacts"
        corpus=$(mktemp -d "${TMPDIR:-/tmp}/pmd-$name.XXXXXX")
        if [[ -d "test/fuzz/$name" ]]; then
                cp -r "test/fuzz/$name/." "$corpus/"
        fi
        # A smaller ASan quarantine: inputs of 150 KB (the long-line seeds) otherwise let freed
        # memory pile up past libFuzzer's RSS limit without any leak.
        ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=64" \
        timeout --kill-after=10 $((FUZZ_SECONDS + 120)) "$bin" \
                -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=3072 -print_final_stats=1 \
                -artifact_prefix="$(readlink -f "$artifacts")/" "$corpus" </dev/null >"$log" 2>&1 || rc=$?
        rm -rf "$corpus"
        if ((rc == 0)); then
                report="PASS $name ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
                        grep -o '[0-9]*$' || echo '?') runs in ${FUZZ_SECONDS}s)"
                echo PASS >"$FUZZ_LOG_DIR/$name.result"
        else
                report="FAIL $name (exit $rc); artifacts in $artifacts/, log $log"$'\n'
                report+=$(tail -n 40 "$log" | sed 's/^/| /')
                echo FAIL >"$FUZZ_LOG_DIR/$name.result"
        fi
        {
                flock 9
                echo "$report"
        } 9>>"$FUZZ_LOG_DIR/.print-lock"
}

if [[ " $CHECK_PARTS " == *" fuzz "* ]]; then
        section "c. libFuzzer build ($FUZZ_BUILD_DIR, clang), ${FUZZ_SECONDS}s per fuzzer"
        t=$SECONDS
        if CC=clang setup_build "$FUZZ_BUILD_DIR" -Dfuzzing=true -Db_sanitize=address,undefined \
                        -Db_lundef=false; then
                FUZZ_LOG_DIR="$FUZZ_BUILD_DIR/fuzz-logs"
                rm -rf "$FUZZ_LOG_DIR"
                mkdir -p "$FUZZ_LOG_DIR"
                # The libFuzzer binaries: executables named fuzz-* (the *-replay ones are for
                # run-tests.sh).
                mapfile -t fuzzers < <(meson introspect "$FUZZ_BUILD_DIR" --targets | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["type"] == "executable" and t["name"].startswith("fuzz-") and not t["name"].endswith("-replay"):
        print(t["name"] + "\t" + t["filename"][0])')
                if ((${#fuzzers[@]} == 0)); then
                        echo "FAIL no fuzzers found in $FUZZ_BUILD_DIR"
                        echo FAIL >"$FUZZ_LOG_DIR/no-fuzzers.result"
                fi
                for f in "${fuzzers[@]}"; do
                        while (($(jobs -rp | wc -l) >= FUZZ_JOBS)); do wait -n || true; done
                        run_fuzzer "${f%%$'\t'*}" "${f#*$'\t'}" &
                done
                wait
                passed=0 failed=0
                for r in "$FUZZ_LOG_DIR"/*.result; do
                        [[ -e "$r" ]] || continue
                        if [[ $(<"$r") == PASS ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
                done
                echo "$passed passed, $failed failed"
                total_passed=$((total_passed + passed))
                total_failed=$((total_failed + failed))
                ((failed == 0)) || failures+=("$FUZZ_BUILD_DIR: $failed fuzzers failed (logs in $FUZZ_LOG_DIR/)")
        else
                build_failed "$FUZZ_BUILD_DIR"
        fi
        echo "(part c: $((SECONDS - t)) s)"
fi

section "summary ($((SECONDS - start_all)) s)"
for f in "${failures[@]}"; do
        echo "failed: $f"
done
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
((total_failed == 0))
