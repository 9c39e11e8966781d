#!/usr/bin/env bash
# A real Prometheus server (Debian's package, its own data directory, scraping pmd every second on
# loopback): its query API returns pmd_job_up of our jobs and a restart counter that grew. pmd's
# label "job" meets the target label of the same name: Prometheus keeps it as "exported_job".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
require_cmd prometheus

write_job up <<EOF
[Service]
ExecStart=/bin/sleep 1000
EOF
write_job flappy <<EOF
[Service]
ExecStart=/bin/sh -c 'sleep 0.3; exit 1'
Restart=always
RestartSec=200ms
RestartMaxDelaySec=200ms
RestartMaxRetries=0
EOF
pmd_start_http
wait_until 5 job_state_is up running

prom_port=$(free_port)
mkdir -p "$T/prom"
cat >"$T/prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pmd
    static_configs:
      - targets: ['127.0.0.1:$HTTP_PORT']
EOF
prometheus --config.file="$T/prom/prometheus.yml" --storage.tsdb.path="$T/prom/data" \
        --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$T/prom/out" 2>&1 &
prom=$!
track_pid "$prom"
PROM="http://127.0.0.1:$prom_port"

query() { # query EXPR → the value of the first result, or nothing
        curl -fsS --max-time 2 --data-urlencode "query=$1" "$PROM/api/v1/query" |
                jq -r 'select(.status == "success") | .data.result[0].value[1] // empty'
}
prom_ready() { curl -fsS --max-time 1 "$PROM/-/ready" >/dev/null; }
target_up() { [[ "$(query 'up{job="pmd"}')" == 1 ]]; }
job_up() { [[ "$(query 'pmd_job_up{exported_job="up"}')" == 1 ]]; }
wait_until 30 prom_ready || fail "prometheus did not start: $(cat "$T/prom/out")"
wait_until 20 target_up || fail "prometheus cannot scrape pmd: $(curl -s "$PROM/api/v1/targets")"
wait_until 10 job_up

# The restart counter, as Prometheus saw it, grew between two scrapes.
first=$(query 'pmd_job_restarts_total{exported_job="flappy"}')
grew() { local v; v=$(query 'pmd_job_restarts_total{exported_job="flappy"}'); [[ -n "$v" && "$v" -gt "${first:-0}" ]]; }
wait_until 15 grew || fail "restart counter did not grow: $first"
incr() { local v; v=$(query 'increase(pmd_job_restarts_total{exported_job="flappy"}[10s])'); [[ -n "$v" ]] && awk -v v="$v" 'BEGIN { exit !(v > 0) }'; }
wait_until 15 incr || fail "increase() of the restart counter is not positive"
[[ -n "$(query 'process_resident_memory_bytes{job="pmd"}')" ]] || fail "process_* of pmd not scraped"
kill -TERM "$prom"
wait "$prom" 2>/dev/null || true
echo ok
