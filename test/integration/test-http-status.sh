#!/usr/bin/env bash
# GET /status, /status/NAME, /healthz and /metrics with curl: the JOB object of SPEC §10 with its
# exact fields and types, 404 for an unknown job, 405 for a wrong method, promtool on the live
# /metrics, CPU and memory of all the processes of a job, and IPv6.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
require_cmd promtool

write_job web <<EOF
[Unit]
Description=a "quoted" web server
[Service]
ExecStart=/bin/sh -c 'sleep 1000 & sleep 1000 & wait'
EOF
write_job once <<EOF
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'exit 3'
EOF
write_job idle <<EOF
[Service]
ExecStart=/bin/sleep 1000
AutoStart=no
EOF

pmd_start_http
wait_until 5 job_state_is web running
wait_until 5 job_state_is once failed

# /status: the top-level object and every JOB with exactly the fields of §10.
s=$(http_get /status)
echo "$s" | jq -e '.version and (.uptime_sec | type == "number") and (.jobs | length == 3)' >/dev/null ||
        fail "status: $s"
want='["cpu_seconds","description","exit_status","last_heartbeat","memory_bytes","name","pid","restarts","result","since","state","status"]'
for n in 0 1 2; do
        [[ "$(echo "$s" | jq -c ".jobs[$n] | keys")" == "$want" ]] || fail "fields of job $n: $(echo "$s" | jq -c ".jobs[$n]")"
done
[[ "$(echo "$s" | jq -r '[.jobs[].name] | join(",")')" == idle,once,web ]] || fail "jobs not sorted by name"

w=$(http_get /status/web)
echo "$w" | jq -e '.state == "running" and .result == "success" and (.pid | type == "number") and .pid > 0 and
        .restarts == 0 and .exit_status == null and .last_heartbeat == null and
        .description == "a \"quoted\" web server" and
        (.since | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}Z$")) and
        (.cpu_seconds | type == "number") and (.memory_bytes | type == "number")' >/dev/null || fail "web: $w"
[[ "$(echo "$w" | jq -r .pid)" == "$(job_pid web)" ]] || fail "pid differs from the registry's"
# Memory is that of all three processes (sh and two sleeps), not only the main pid's.
main_rss=$(awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$(job_pid web)/status")
(($(echo "$w" | jq -r .memory_bytes) > main_rss)) || fail "memory_bytes is only the main process's: $w"

o=$(http_get /status/once)
echo "$o" | jq -e '.state == "failed" and .result == "exit-code" and .exit_status == 3 and .pid == null' >/dev/null ||
        fail "once: $o"
i=$(http_get /status/idle)
echo "$i" | jq -e '.state == "stopped" and .pid == null and .cpu_seconds == 0 and .memory_bytes == 0' >/dev/null ||
        fail "idle: $i"

# The same object as pmctl --json, field for field (the sampled usage aside).
if [[ -x "$PMCTL" ]] && pmctl --json status once >"$T/ctl.json" 2>/dev/null; then
        strip='del(.cpu_seconds, .memory_bytes)'
        [[ "$(jq -c ".[0] | $strip" "$T/ctl.json")" == "$(http_get /status/once | jq -c "$strip")" ]] ||
                fail "pmctl --json and /status/once differ: $(cat "$T/ctl.json") vs $(http_get /status/once)"
fi

# Errors: JSON bodies with the right codes.
code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 5 "$HTTP/status/nope")
[[ "$code" == 404 ]] && jq -e '.error' "$T/body" >/dev/null || fail "unknown job: $code $(cat "$T/body")"
code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 5 "$HTTP/nowhere")
[[ "$code" == 404 ]] || fail "unknown path: $code"
code=$(curl -s -o /dev/null -D "$T/hdr" -w '%{http_code}' --max-time 5 -X DELETE "$HTTP/status")
[[ "$code" == 405 ]] && grep -qi '^Allow: GET' "$T/hdr" || fail "wrong method: $code $(cat "$T/hdr")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -I "$HTTP/status")
[[ "$code" == 200 ]] || fail "HEAD: $code"

http_get /healthz | jq -e '.status == "ok" and .jobs == 3' >/dev/null || fail "healthz"

# /metrics: valid for promtool, every family of §10 with HELP and TYPE, process_* of pmd.
http_get /metrics >"$T/metrics"
promtool check metrics <"$T/metrics" || fail "promtool check metrics"
for f in pmd_job_up pmd_job_state pmd_job_restarts_total pmd_job_cpu_seconds_total pmd_job_memory_rss_bytes \
        pmd_job_uptime_seconds pmd_job_last_exit_status pmd_job_last_heartbeat_timestamp_seconds \
        process_cpu_seconds_total process_resident_memory_bytes process_open_fds process_start_time_seconds; do
        grep -q "^# HELP $f " "$T/metrics" && grep -q "^# TYPE $f " "$T/metrics" || fail "no HELP/TYPE for $f"
done
[[ "$(metric pmd_job_up 'job="web"')" == 1 ]] || fail "pmd_job_up web"
[[ "$(metric pmd_job_up 'job="once"')" == 0 ]] || fail "pmd_job_up once"
[[ "$(metric pmd_job_state 'job="once",state="failed"')" == 1 ]] || fail "pmd_job_state"
[[ "$(metric pmd_job_last_exit_status 'job="once"')" == 3 ]] || fail "last exit status"
curl -sS -D - -o /dev/null "$HTTP/metrics" | grep -i '^Content-Type: text/plain; version=0.0.4' >/dev/null || fail "content type"

# IPv6: pmd on [::1]; and "[::]" takes IPv4 as well.
if python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
        pmd_stop
        port=$(free_port)
        pmd_start --http "[::1]:$port"
        wait_until 10 curl -fsS --max-time 1 "http://[::1]:$port/healthz"
        curl -fsS --max-time 5 "http://[::1]:$port/status/web" | jq -e '.name == "web"' >/dev/null || fail "IPv6"
        pmd_stop
        port=$(free_port)
        pmd_start --http "[::]:$port"
        wait_until 10 curl -fsS --max-time 1 "http://127.0.0.1:$port/healthz"
        wait_until 10 curl -fsS --max-time 1 "http://[::1]:$port/healthz"
fi
echo ok
