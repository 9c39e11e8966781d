/* pmd's HTTP face (SPEC §10): libmicrohttpd driven from the manager's sd-event loop. */
#pragma once

#include <stdint.h>

#include "util/macro.h"
#include "util/time-util.h"

typedef struct Manager Manager;
typedef struct HttpServer HttpServer;

/* Limits. Every size a client controls is bounded; see http.c for why each is what it is. */
#define HTTP_BODY_MAX (64 * 1024)          /* request body: larger → 413 */
#define HTTP_HEADER_MAX (32 * 1024)        /* request line + headers per connection: larger → 414/431 */
#define HTTP_CONNECTIONS_MAX 4096          /* at once; fewer when the fd limit is low */
#define HTTP_IDLE_TIMEOUT_SEC 10           /* a connection with no traffic this long is closed */
#define HTTP_CACHE_USEC (1 * USEC_PER_SEC) /* /status and /metrics are re-rendered at most this stale */

/* Listen on listen ("ADDR:PORT", "[ADDR6]:PORT", "localhost:PORT"; "[::]" takes IPv4 too) and
 * serve from the manager's loop. */
int http_server_new(Manager *m, const char *listen, HttpServer **ret);
HttpServer *http_server_free(HttpServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, http_server_free);

/* "http://127.0.0.1:8610": where jobs reach pmd (PMD_HEARTBEAT_URL is this + "/pm/heartbeat"). */
const char *http_server_url(const HttpServer *s);
uint64_t http_server_n_requests(const HttpServer *s);
unsigned http_server_n_connections(const HttpServer *s);
