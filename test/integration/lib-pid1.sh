# Helpers for the PID-1 tests, on top of lib.sh: pmd runs as PID 1 of a new PID namespace
# (`unshare --pid --fork --mount-proc`, with --user --map-root-user when not root). PMD_PID is pmd's
# pid as seen from here (the child of unshare), so signals, /proc and descendants() work as in the
# other tests; UNSHARE_PID is the unshare process, whose exit status is pmd's.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UNSHARE_PID=

# _unshare_cmd: the unshare prefix for this user.
_unshare_cmd() {
        if ((EUID == 0)); then
                echo "unshare --pid --fork --mount-proc"
        else
                echo "unshare --user --map-root-user --pid --fork --mount-proc"
        fi
}

# require_pidns: skip unless a PID namespace can be made here.
require_pidns() {
        require_cmd unshare
        # shellcheck disable=SC2046
        $(_unshare_cmd) true 2>/dev/null || skip "cannot create a PID namespace here"
}

# pid1_start [PMD-ARG...]: start pmd as PID 1 of a new PID namespace on the test's directories,
# output in $T/pmd.out; wait (10 s) for registry.db. Arguments go before pmd's own defaults'
# end, so "-- COMMAND" works.
pid1_start() {
        local deadline kids exe k
        exe=$(readlink -f "$PMD")
        # shellcheck disable=SC2046
        $(_unshare_cmd) "$PMD" --job-dir "$T/jobs" --state-dir "$T/state" --log-dir "$T/log" \
                --socket "$T/pmd.sock" --bus none --http off "$@" </dev/null >>"$T/pmd.out" 2>&1 &
        UNSHARE_PID=$!
        track_pid "$UNSHARE_PID"
        PMD_PID=
        deadline=$(($(_now_us) + 10000000))
        while :; do
                if [[ -z "$PMD_PID" ]]; then
                        # unshare's child, once it is pmd (before its exec it is still unshare).
                        kids=$(cat "/proc/$UNSHARE_PID/task/$UNSHARE_PID/children" 2>/dev/null || true)
                        for k in $kids; do
                                [[ "$(readlink "/proc/$k/exe" 2>/dev/null)" == "$exe" ]] && PMD_PID=$k
                        done
                fi
                [[ -n "$PMD_PID" && -e "$T/state/registry.db" ]] && return 0
                pid_alive "$UNSHARE_PID" || fail "pmd (PID 1) exited before creating registry.db"
                (($(_now_us) < deadline)) || fail "pmd (PID 1) did not create registry.db within 10 s"
                sleep 0.05
        done
}

# pid1_wait_exit TIMEOUT: wait for pmd (and unshare) to end; PMD_EXIT = its exit status. Fails the
# test after TIMEOUT seconds.
pid1_wait_exit() {
        local timeout=$1
        wait_until "$timeout" _unshare_gone || fail "pmd did not exit within ${timeout}s"
        PMD_EXIT=0
        wait "$UNSHARE_PID" 2>/dev/null || PMD_EXIT=$?
        PMD_PID=
}

_unshare_gone() {
        ! pid_alive "$UNSHARE_PID"
}

# pid1_run TIMEOUT PMD-ARG...: run pmd as PID 1 in the foreground; PMD_EXIT = its status.
pid1_run() {
        local timeout=$1
        shift
        PMD_EXIT=0
        # shellcheck disable=SC2046
        timeout "$timeout" $(_unshare_cmd) "$PMD" --job-dir "$T/jobs" --state-dir "$T/state" \
                --log-dir "$T/log" --socket "$T/pmd.sock" --bus none --http off "$@" </dev/null \
                >>"$T/pmd.out" 2>&1 || PMD_EXIT=$?
}

# zombies_of PID: print the pids of PID's zombie children.
zombies_of() {
        local d st
        for d in /proc/[0-9]*; do
                read -r st 2>/dev/null <"$d/stat" || continue
                st=${st##*) }
                [[ "${st%% *}" == Z ]] || continue
                st=${st#* }
                [[ "${st%% *}" == "$1" ]] && echo "${d#/proc/}"
        done
        return 0
}

# children_of PID: number of PID's children.
children_of() {
        local c
        c=$(cat "/proc/$1/task/$1/children" 2>/dev/null || true)
        set -- $c
        echo $#
}
