#!/usr/bin/env bash
# Heartbeats over HTTP (POST /pm/heartbeat with the job's PMD_HEARTBEAT_TOKEN, from the job itself
# with curl) and over D-Bus (pmctl heartbeat): each is stored in the registry with its source and
# status, shown by /status and pmctl status, and feeds the watchdog. Bad requests: malformed JSON
# → 400, no or a wrong token → 401, unknown job → 404, a body over the limit → 413; a token of an
# earlier run no longer works.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

# The job keeps its heartbeat URL and token where the test can read them, then beats every 0.3 s
# with curl, a JSON status included; its watchdog is 2 s.
cat >"$T/beat.sh" <<'EOF'
echo "$PMD_HEARTBEAT_URL $PMD_HEARTBEAT_TOKEN" >"$1"
n=0
while :; do
        n=$((n + 1))
        curl -fsS --max-time 2 -H "Authorization: Bearer $PMD_HEARTBEAT_TOKEN" \
                -d "{\"job\":\"beat\",\"status\":{\"n\":$n}}" "$PMD_HEARTBEAT_URL" >/dev/null
        sleep 0.3
done
EOF
write_job beat <<EOF
[Service]
ExecStart=/bin/sh $T/beat.sh $T/beat.env
WatchdogSec=2s
Restart=on-failure
EOF
write_job other <<EOF
[Service]
ExecStart=/bin/sleep 1000
EOF

pmd_start_http
wait_until 5 test -s "$T/beat.env"
read -r url token <"$T/beat.env"
[[ "$url" == "$HTTP/pm/heartbeat" ]] || fail "PMD_HEARTBEAT_URL=$url"
[[ "$token" =~ ^[0-9a-f]{64}$ ]] || fail "PMD_HEARTBEAT_TOKEN=$token"

# The job's own heartbeats keep it alive past several watchdog periods.
sleep 5
[[ "$(job_state beat)" == running ]] || fail "beat was not kept alive by its heartbeats"
[[ "$(sql "SELECT count(*) FROM runs WHERE job='beat'")" == 1 ]] || fail "beat was restarted"
j=$(http_get /status/beat)
echo "$j" | jq -e '.last_heartbeat != null and (.status | test("^\\{\"n\":[0-9]+\\}$"))' >/dev/null ||
        fail "heartbeat not in /status: $j"
wait_until 5 sql_is "SELECT source FROM heartbeats WHERE job='beat' ORDER BY id DESC LIMIT 1" http ||
        fail "heartbeat not in the registry"
wait_until 5 sql_ge "SELECT count(*) FROM heartbeats WHERE job='beat'" 10 || fail "too few heartbeats stored"
hb=$(metric pmd_job_last_heartbeat_timestamp_seconds 'job="beat"')
[[ "${hb%%.*}" -ge $(($(date +%s) - 5)) ]] || fail "metric of the last heartbeat: $hb"

# A heartbeat as a job would send one, by the test (same token), with a string status.
r=$(curl -fsS --max-time 5 -H "Authorization: Bearer $token" -d '{"job":"beat","status":"all good"}' "$url")
echo "$r" | jq -e '.job == "beat" and .last_heartbeat' >/dev/null || fail "answer: $r"

post() { # post AUTH-HEADER BODY → prints the HTTP code
        curl -s -o "$T/body" -w '%{http_code}' --max-time 5 ${1:+-H "$1"} --data-binary "$2" "$url"
}
[[ "$(post "Authorization: Bearer $token" '{"job":')" == 400 ]] || fail "malformed JSON"
[[ "$(post "Authorization: Bearer $token" '["beat"]')" == 400 ]] || fail "not an object"
[[ "$(post "Authorization: Bearer $token" '{"status":1}')" == 400 ]] || fail "no job"
[[ "$(post "" '{"job":"beat"}')" == 401 ]] || fail "no token"
wrong=${token%?}$([[ "${token: -1}" == 0 ]] && echo 1 || echo 0)
[[ "$(post "Authorization: Bearer $wrong" '{"job":"beat"}')" == 401 ]] || fail "wrong token"
[[ "$(post "Authorization: Basic $token" '{"job":"beat"}')" == 401 ]] || fail "not a bearer token"
# Another job's token does not open this one.
[[ "$(post "Authorization: Bearer $token" '{"job":"other"}')" == 401 ]] || fail "token of another job"
[[ "$(post "Authorization: Bearer $token" '{"job":"nope"}')" == 404 ]] || fail "unknown job"
jq -e '.error' "$T/body" >/dev/null || fail "error body is not JSON"
head -c 100000 /dev/zero | tr '\0' ' ' >"$T/big"
[[ "$(post "Authorization: Bearer $token" "@$T/big")" == 413 ]] || fail "body over the limit"
# Chunked, so the size is not announced: refused once too much came.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $token" \
        -H 'Transfer-Encoding: chunked' --data-binary "@$T/big" "$url")
[[ "$code" == 413 ]] || fail "chunked body over the limit: $code"
[[ "$(sql "SELECT count(*) FROM audit WHERE action='heartbeat' AND outcome != 'ok'")" -ge 0 ]]

# D-Bus: pmctl heartbeat over the private socket.
if [[ -x "$PMCTL" ]]; then
        pmctl heartbeat other "from pmctl" || fail "pmctl heartbeat"
        wait_until 5 sql_is "SELECT source || '|' || status FROM heartbeats WHERE job='other' ORDER BY id DESC LIMIT 1" "dbus|from pmctl" ||
                fail "D-Bus heartbeat not stored"
        [[ "$(job_json other status)" == "from pmctl" ]] || fail "D-Bus heartbeat status"
        [[ "$(job_json other last_heartbeat)" != null ]] || fail "D-Bus heartbeat time"
        pmctl status other | grep 'Heartbeat:' >/dev/null || fail "pmctl status shows no heartbeat"
fi

# A new run has a new token: the old one is refused.
runs_of_beat_are() { [[ "$(sql "SELECT count(*) FROM runs WHERE job='beat'")" == "$1" ]]; }
token_changed() { [[ "$(cut -d' ' -f2 "$T/beat.env")" != "$token" ]]; }
kill -KILL "$(job_pid beat)"
wait_until 10 runs_of_beat_are 2
wait_until 5 job_state_is beat running
wait_until 5 token_changed
[[ "$(post "Authorization: Bearer $token" '{"job":"beat"}')" == 401 ]] || fail "the old run's token still works"

# Stored heartbeats stay bounded per job.
n=$(sql "SELECT count(*) FROM heartbeats WHERE job='beat'")
((n <= 100)) || fail "heartbeats are not bounded: $n"
echo ok
