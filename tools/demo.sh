#!/usr/bin/env bash
# `make demo`: runs the built pmd in the foreground on the example jobs of units/examples, with
# its state, logs and control socket in .demo/. Builds nothing (make does); Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

PMD=build/daemon/pmd
PMCTL=build/ctl/pmctl
[[ -x "$PMD" ]] || { echo "demo: $PMD is not built; run: make demo" >&2; exit 1; }
mkdir -p .demo/state .demo/log

# What to try, one per line as "NEEDS|TEXT": the line is shown only when NEEDS (a file) is
# executable, or always when NEEDS is "-". Edit freely.
HINTS="
$PMCTL|  $PMCTL --socket .demo/pmd.sock list
$PMCTL|  $PMCTL --socket .demo/pmd.sock status ticker
$PMCTL|  $PMCTL --socket .demo/pmd.sock restart --wait web
$PMCTL|  $PMCTL --socket .demo/pmd.sock stop stubborn     (ignores SIGTERM: SIGKILL after 3 s)
$PMCTL|  $PMCTL --socket .demo/pmd.sock logs -f flaky
-|  tail -f .demo/log/*.log
-|  sqlite3 .demo/state/registry.db 'select * from runs'
-|  cat /tmp/pmd-demo/setup-done                       (written by the oneshot job setup)
-|  curl localhost:8610/status                          (HTTP: /status, /status/web, /metrics)
-|  curl localhost:8610/metrics
"

echo "pmd demo: jobs from units/examples/, state and logs in .demo/"
echo "  ticker    prints the date every 2 s (Restart=always)"
echo "  flaky     fails after 3 s; restarts with back-off, gives up after 3 retries (start-limit)"
echo "  setup     a oneshot that writes /tmp/pmd-demo/setup-done"
echo "  web       python3 http.server on 127.0.0.1:8099; worker Requires= and is After= it"
echo "  stubborn  ignores SIGTERM; stopping it escalates to SIGKILL after 3 s"
echo
echo "In another terminal, in $PWD, try:"
while IFS='|' read -r needs text; do
        [[ -n "$needs" ]] || continue
        if [[ "$needs" == - || -x "$needs" ]]; then
                echo "$text"
        fi
done <<<"$HINTS"
echo
echo "Ctrl-C stops pmd and its jobs."
echo

exec "$PMD" --job-dir units/examples --state-dir .demo/state --log-dir .demo/log --socket .demo/pmd.sock
