# Helpers for the HTTP and notify tests, on top of lib.sh (source lib.sh first).
#
#   free_port            print a TCP port on 127.0.0.1 that nothing listens on now
#   pmd_start_http [ARG...]   pick HTTP_PORT, start pmd with --http 127.0.0.1:HTTP_PORT, set
#                        HTTP (the base URL) and wait (10 s) until /healthz answers
#   http_get PATH        curl -fsS (bounded: 5 s) HTTP/PATH
#   job_json NAME FIELD  one field of GET /status/NAME (jq -r)
#   metric NAME [LABELS] the value of one sample of GET /metrics, e.g. metric pmd_job_up 'job="a"'

require_cmd curl jq python3

free_port() {
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_http_up() {
        curl -fsS --max-time 1 "$HTTP/healthz" >/dev/null
}

pmd_start_http() {
        HTTP_PORT=$(free_port)
        HTTP="http://127.0.0.1:$HTTP_PORT"
        pmd_start --http "127.0.0.1:$HTTP_PORT" "$@"
        wait_until 10 _http_up
}

http_get() {
        curl -fsS --max-time 5 "$HTTP$1"
}

job_json() {
        http_get "/status/$1" | jq -r ".$2"
}

metric() {
        local name=$1 labels=${2:-}
        if [[ -n "$labels" ]]; then
                http_get /metrics | awk -v k="$name{$labels}" '$1 == k { print $2 }'
        else
                http_get /metrics | awk -v k="$name" '$1 == k { print $2 }'
        fi
}
