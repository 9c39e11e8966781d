#!/usr/bin/env bash
# pmctl against pmd's private socket with no bus at all (--bus none): every verb of SPEC §9 that
# this version has, every exit status (0, 1, 2, 3, 4, 5), --json parsed by jq, --wait semantics,
# names that need bus-path escaping, and the private socket under load: 200 clients at once, and
# clients that connect and never speak, while pmd stays responsive.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

require_cmd jq python3 sqlite3

write_job web <<EOF
[Unit]
Description=a web server
[Service]
ExecStart=sleep 1000
EOF
write_job once <<EOF
[Service]
Type=oneshot
ExecStart=true
EOF
write_job bad <<EOF
[Service]
ExecStart=false
Restart=no
AutoStart=no
EOF
write_job idle <<EOF
[Service]
ExecStart=sleep 1000
AutoStart=no
EOF
write_job 'a-b.c@x' <<EOF
[Service]
ExecStart=sleep 1000
EOF
# A command with a byte that is not UTF-8 (written as a C escape in the file): D-Bus strings must
# be UTF-8, so pmd shows it as \xff.
write_job latin <<'EOF'
[Service]
ExecStart=/bin/sleep 1000 "a\xffb"
AutoStart=no
EOF
write_job chatty <<EOF
[Service]
ExecStart=sh -c 'for i in \$(seq 1 30); do echo line\$i; done; exec sleep 1000'
EOF

pmd_start
wait_until 10 job_state_is web running
wait_until 10 job_state_is once exited
wait_until 10 job_state_is chatty running

# expect STATUS CMD...: run pmctl, check its exit status.
expect() {
        local want=$1 rc=0
        shift
        timeout 30 "$PMCTL" --socket "$T/pmd.sock" "$@" >"$T/out" 2>"$T/err" || rc=$?
        ((rc == want)) || fail "pmctl $*: exit $rc, expected $want; stdout: $(cat "$T/out"); stderr: $(cat "$T/err")"
}

# list: the table, without colours when not on a terminal.
expect 0 list
head -n1 "$T/out" | grep -Eq '^NAME +STATE +PID +UPTIME +RESTARTS +CPU +MEM +STATUS$' || fail "list header: $(head -n1 "$T/out")"
grep -Eq '^web +running +[0-9]+ ' "$T/out" || fail "list: $(cat "$T/out")"
grep -Eq '^a-b\.c@x +running' "$T/out" || fail "list lacks the escaped name"
! grep -q $'\e' "$T/out" || fail "colours on a pipe"
expect 0 list --names
[[ "$(wc -l <"$T/out")" -eq 7 ]] || fail "list --names: $(cat "$T/out")"

# --json: the /status object.
expect 0 --json list
jq -e '.version and (.uptime_sec >= 0) and (.jobs | length == 7)' "$T/out" >/dev/null || fail "list --json: $(cat "$T/out")"
jq -e '.jobs[] | select(.name == "web") | .state == "running" and (.pid > 0) and .description == "a web server"
        and (.since | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")) and .last_heartbeat == null and .result == "success"
        and has("restarts") and has("exit_status") and has("status") and has("cpu_seconds") and has("memory_bytes")' \
        "$T/out" >/dev/null || fail "job object: $(jq '.jobs[] | select(.name == "web")' "$T/out")"
jq -e '.jobs[] | select(.name == "once") | .state == "exited" and .exit_status == 0 and .pid == null' "$T/out" \
        >/dev/null || fail "oneshot object"

# status: 0 running, 3 not running, 4 no such job.
expect 0 status web
grep -q 'a web server' "$T/out" && grep -q 'State: running' "$T/out" && grep -q 'Command: sleep 1000' "$T/out" &&
        grep -q "File: $T/jobs/web.job" "$T/out" || fail "status web: $(cat "$T/out")"
expect 3 status idle
expect 3 status web idle
expect 4 status nosuch
grep -q '^pmctl: nosuch: no such job' "$T/err" || fail "status nosuch: $(cat "$T/err")"
expect 4 status web nosuch
expect 0 status 'a-b.c@x'
expect 0 --json status web 'a-b.c@x'
jq -e 'length == 2 and .[0].name == "web" and .[1].name == "a-b.c@x"' "$T/out" >/dev/null || fail "status --json"
expect 2 status "$(printf 'a%.0s' {1..10000})"

# status shows the last log lines (when the log file is written).
if wait_until 10 grep -q line30 "$T/log/chatty.log" 2>/dev/null; then
        expect 0 status chatty
        grep -q 'line30' "$T/out" && ! grep -q 'line20$' "$T/out" || fail "status chatty log lines: $(cat "$T/out")"
        expect 0 logs -n 5 chatty
        [[ "$(cat "$T/out")" == *line26*line30* && "$(wc -l <"$T/out")" -eq 5 ]] || fail "logs -n 5: $(cat "$T/out")"
        expect 0 logs -n 3 --json chatty
        [[ "$(jq -s 'length' "$T/out")" -eq 3 ]] || fail "logs --json: $(cat "$T/out")"
else
        echo "note: no log file for chatty, log checks not run" >&2
fi
expect 4 logs nosuch

# start/stop/restart --wait.
expect 0 start --wait idle
job_state_is idle running || fail "idle not running after start --wait"
pid=$(job_pid idle)
expect 0 restart --wait idle
[[ "$(job_pid idle)" != "$pid" ]] || fail "restart --wait kept the pid"
expect 0 stop --wait idle
job_state_is idle stopped || fail "idle not stopped after stop --wait"
expect 0 stop idle # stopping a stopped job is no error
expect 0 start --wait once
expect 1 start --wait bad
grep -q 'bad: start failed' "$T/err" || fail "start --wait bad: $(cat "$T/err")"
expect 4 start nosuch
expect 4 start --wait nosuch
expect 2 start 'bad name'

# kill: names and numbers; bad signals are usage errors.
expect 0 kill -s CONT web
expect 0 kill --signal SIGCONT web
expect 0 kill -s 18 web
expect 2 kill -s NOPE web
expect 2 kill -s 999 web
expect 4 kill nosuch
job_state_is web running || fail "web stopped by SIGCONT"

# enable/disable, heartbeat.
expect 0 disable web
expect 0 enable web
expect 4 enable nosuch
expect 0 heartbeat web "all good"
expect 0 --json status web
jq -e '.[0].last_heartbeat != null' "$T/out" >/dev/null || fail "no heartbeat time: $(cat "$T/out")"
expect 4 heartbeat nosuch

# events: one JSON object per change.
timeout 30 "$PMCTL" --socket "$T/pmd.sock" --json events >"$T/events" 2>"$T/events.err" &
ev=$!
track_pid "$ev"
sleep 1 # let it subscribe
expect 0 restart web
saw_restart() {
        grep -q '"job":"web"' "$T/events" && grep -q '"state":"stopping"' "$T/events" &&
                grep -q '"state":"running"' "$T/events"
}
wait_until 10 saw_restart
jq -e -s 'all(.[]; has("ts") and has("job") and has("state") and has("result") and has("pid"))' "$T/events" \
        >/dev/null || fail "events --json: $(cat "$T/events")"
kill "$ev" 2>/dev/null || true

# audit, backup, reload, daemon-reexec.
expect 0 audit -n 100
grep -Eq 'uid:0 +restart +web +ok' "$T/out" || fail "audit: $(cat "$T/out")"
expect 0 --json audit
jq -e 'length > 0 and all(.[]; has("ts") and has("actor") and has("action") and has("outcome"))' "$T/out" \
        >/dev/null || fail "audit --json"
expect 0 backup "$T/backup.db"
[[ "$(sqlite3 "$T/backup.db" 'PRAGMA integrity_check')" == ok ]] || fail "backup is not a sound database"
[[ "$(sqlite3 "$T/backup.db" "SELECT count(*) FROM audit")" -gt 0 ]] || fail "backup has no audit rows"
expect 1 backup "$T/no/such/dir/backup.db"
expect 0 reload
expect 3 status latin
grep -q 'a\\xffb' "$T/out" || fail "status of a job with invalid UTF-8: $(cat "$T/out")"
# Rotation on request: the current log moves to NAME.log.1 and a new one starts.
expect 0 logs --rotate web
wait_until 5 test -e "$T/log/web.log.1"
expect 4 logs --rotate nosuchjob
web_pid=$(job_pid web)
uptime_before=$("$PMCTL" --socket "$T/pmd.sock" --json list | jq .uptime_sec)
expect 0 daemon-reexec
pmctl_answers() { "$PMCTL" --socket "$T/pmd.sock" list >/dev/null 2>&1; }
reexeced() { grep -q "running (re-executed)" "$T/pmd.out"; }
wait_until 10 reexeced
wait_until 10 pmctl_answers
pid_alive "$PMD_PID" || fail "pmd gone after daemon-reexec"
[[ "$(job_pid web)" == "$web_pid" ]] || fail "web restarted by daemon-reexec"
uptime_after=$("$PMCTL" --socket "$T/pmd.sock" --json list | jq .uptime_sec)
((uptime_after >= uptime_before)) || fail "uptime restarted with the re-execution: $uptime_before -> $uptime_after"

# user add|passwd|del on STATE_DIR/users.
echo secret | "$PMCTL" --socket "$T/pmd.sock" user add alice --role admin || fail "user add"
grep -Eq '^alice:admin:\$(y|6)\$' "$T/state/users" || fail "users file: $(cat "$T/state/users")"
[[ "$(stat -c %a "$T/state/users")" == 600 ]] || fail "users file mode"
h=$(cut -d: -f3 "$T/state/users")
python3 -c 'import crypt,sys; sys.exit(crypt.crypt("secret", sys.argv[1]) != sys.argv[1])' "$h" 2>/dev/null ||
        echo "note: python3 crypt cannot check this hash method" >&2
echo other | "$PMCTL" --state-dir "$T/state" --bus none --socket "$T/nope" user passwd alice || fail "user passwd"
grep -q '^alice:admin:' "$T/state/users" && [[ "$(cut -d: -f3 "$T/state/users")" != "$h" ]] || fail "passwd"
expect 1 user add alice </dev/null
expect 2 user add 'bad:name'
expect 2 user add bob --role root
expect 0 user del alice
[[ ! -s "$T/state/users" ]] || fail "user del left: $(cat "$T/state/users")"

# Bad usage: 2.
expect 2
expect 2 frobnicate
expect 2 start
expect 2 --bogus list
expect 2 logs
expect 2 --timeout nope start web

# Not reachable: 5.
rc=0
"$PMCTL" --socket "$T/nope.sock" list 2>"$T/err" || rc=$?
((rc == 5)) || fail "unreachable: exit $rc"
grep -q '^pmctl: ' "$T/err" || fail "unreachable message: $(cat "$T/err")"

# 200 clients at once: each is served.
for i in $(seq 1 200); do
        timeout 30 "$PMCTL" --socket "$T/pmd.sock" list --names >/dev/null 2>&1 &
        pids+=($!)
done
ok=0
for p in "${pids[@]}"; do
        wait "$p" && ok=$((ok + 1))
done
((ok == 200)) || fail "only $ok of 200 concurrent clients were served"

# 200 connections that never speak: pmd stays responsive, and drops them after its timeout.
cat >"$T/silent.py" <<'EOF'
import socket, sys, time
path, n, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
socks = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    socks.append(s)
print("connected", flush=True)
deadline = time.time() + hold
closed = 0
for s in socks:
    s.settimeout(max(0.01, deadline - time.time()))
    try:
        if s.recv(1) == b"":
            closed += 1
    except (socket.timeout, ConnectionResetError):
        pass
print("closed", closed, flush=True)
EOF
timeout 40 python3 "$T/silent.py" "$T/pmd.sock" 200 20 >"$T/silent.out" &
sp=$!
track_pid "$sp"
wait_until 10 grep -q connected "$T/silent.out"
start=$(_now_us)
expect 0 list
(($(_now_us) - start < 5000000)) || fail "list took over 5 s with 200 silent clients"
# Over the connection limit: the newest silent clients push out the oldest, a real client still gets in.
timeout 40 python3 "$T/silent.py" "$T/pmd.sock" 100 1 >/dev/null &
sp2=$!
track_pid "$sp2"
expect 0 list
wait "$sp" || true
grep -q 'closed 200' "$T/silent.out" || fail "silent clients were not dropped: $(cat "$T/silent.out")"
expect 0 list

# poweroff: every job stops and pmd ends with 0.
expect 0 poweroff
wait_until 15 _pmd_gone
PMD_EXIT=0
wait "$PMD_PID" || PMD_EXIT=$?
PMD_PID=
((PMD_EXIT == 0)) || fail "pmd exited with $PMD_EXIT after poweroff"
expect 5 list
echo "ok"
