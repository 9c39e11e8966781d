/* pmd's HTTP face: libmicrohttpd run from the manager's sd-event loop, with no thread of its own.
 * MHD is started with MHD_USE_EPOLL and no internal polling thread; its epoll fd is an IO source on
 * our loop, and MHD_get_timeout() (relative milliseconds) drives one timer, re-armed after every
 * MHD_run(). With no connection open MHD has no timeout: nothing wakes pmd up.
 *
 * Requests are dispatched through a route table (method, path or path prefix, access level, body
 * limit, handler), so the REST API, the event stream and the dashboard of later work are more rows
 * and handlers, not a new dispatcher. Access levels are checked in one place (http_authorize());
 * today reads are open and a heartbeat needs its job's token; the token/role scheme of SPEC §10
 * slots in there.
 *
 * Limits keep a client from holding more than its share: the request line and headers live in
 * MHD's per-connection memory pool (HTTP_HEADER_MAX; beyond it MHD answers 414/431 and closes), a
 * body beyond HTTP_BODY_MAX is refused with 413 before or while it is read, connections are
 * capped (HTTP_CONNECTIONS_MAX, less when pmd's fd limit is low) and closed after
 * HTTP_IDLE_TIMEOUT_SEC without traffic. Because everything is event-driven, a slow client costs
 * one connection slot, never the loop.
 *
 * /status and /metrics with 1000 jobs are a few hundred kilobytes each, built from every job's
 * state and usage. They are rendered once and served as one shared MHD response until the
 * manager's generation counter moves (a state change, a heartbeat, a status text) or
 * HTTP_CACHE_USEC passes (usage and uptimes age), so a burst of readers costs one rendering. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "manager.h"
#include "metrics.h"
#include "util/log.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

typedef struct HttpRequest HttpRequest;

/* Who may use a route. */
typedef enum HttpAccess {
        HTTP_ACCESS_READ,      /* anonymous role on loopback (SPEC §10: viewer); today open */
        HTTP_ACCESS_JOB_TOKEN, /* the job's PMD_HEARTBEAT_TOKEN (or, later, an admin token) */
        HTTP_ACCESS_ADMIN,     /* admin role (later: the REST API's changes) */
} HttpAccess;

typedef struct HttpRoute {
        const char *method;  /* "GET" also serves HEAD */
        const char *path;    /* exact path, or with prefix: the part before the argument */
        bool prefix;         /* path + ARG: ARG (non-empty, no '/') is the request's argument */
        HttpAccess access;
        size_t body_max;     /* 0: no body accepted */
        MHD_Result_t (*handler)(HttpServer *s, HttpRequest *r);
} HttpRoute;

struct HttpRequest {
        struct MHD_Connection *connection;
        const HttpRoute *route;
        const char *method, *url;
        char *arg;           /* the path argument of a prefix route, URL-decoded */
        char *body;
        size_t body_size;
        bool body_too_large;
        bool answered;       /* a response was queued before the body (413) */
};

typedef struct HttpCache {
        struct MHD_Response *response; /* our reference; NULL when none */
        uint64_t generation;
        usec_t rendered;               /* monotonic */
} HttpCache;

struct HttpServer {
        Manager *manager;
        struct MHD_Daemon *daemon;
        sd_event_source *io_source, *timer_source;
        char *url;
        uint64_t n_requests;
        unsigned n_connections;
        HttpCache status_cache, metrics_cache;
};

/* ---- responses ---- */

static MHD_Result_t respond(HttpRequest *r, unsigned code, const char *type, char *body, size_t size) {
        struct MHD_Response *resp;
        MHD_Result_t ret;

        /* MUST_FREE: the buffer is MHD's from here on, free()d when the response goes. */
        resp = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (code == MHD_HTTP_UNAUTHORIZED)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        if (code == MHD_HTTP_METHOD_NOT_ALLOWED && r->route)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                               streq(r->route->method, "GET") ? "GET, HEAD" : r->route->method);
        ret = MHD_queue_response(r->connection, code, resp);
        MHD_destroy_response(resp);
        return ret;
}

/* A JSON body (compact, one line). Takes o. */
static MHD_Result_t respond_json(HttpRequest *r, unsigned code, json_t *o) {
        char *s;
        size_t n;

        if (!o)
                return MHD_NO;
        s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
        json_decref(o);
        if (!s)
                return MHD_NO;
        n = strlen(s);
        /* Room for the newline: curl users read the answer on a terminal. */
        char *t = realloc(s, n + 2);
        if (!t) {
                free(s);
                return MHD_NO;
        }
        t[n] = '\n';
        t[n + 1] = 0;
        return respond(r, code, "application/json", t, n + 1);
}

static MHD_Result_t respond_error(HttpRequest *r, unsigned code, const char *message) {
        return respond_json(r, code, json_pack("{s:s,s:i}", "error", message, "code", (int) code));
}

static MHD_Result_t respond_cached(HttpRequest *r, HttpCache *c) {
        /* The response is shared: MHD counts its references, each connection holds one. */
        return MHD_queue_response(r->connection, MHD_HTTP_OK, c->response);
}

static void cache_drop(HttpCache *c) {
        if (c->response)
                MHD_destroy_response(c->response);
        c->response = NULL;
}

static bool cache_fresh(HttpServer *s, const HttpCache *c) {
        return c->response && c->generation == manager_generation(s->manager) &&
                now_usec(CLOCK_MONOTONIC) < c->rendered + HTTP_CACHE_USEC;
}

static int cache_store(HttpServer *s, HttpCache *c, const char *type, char *body, size_t size) {
        struct MHD_Response *resp;

        resp = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return -ENOMEM;
        }
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        cache_drop(c);
        c->response = resp;
        c->generation = manager_generation(s->manager);
        c->rendered = now_usec(CLOCK_MONOTONIC);
        return 0;
}

/* ---- handlers ---- */

static json_t *job_object(HttpServer *s, Job *j, const JobUsage *u) {
        JobJsonInfo info;

        job_json_info_fill(s->manager, j, u, &info);
        return job_json_new(&info);
}

static MHD_Result_t handle_healthz(HttpServer *s, HttpRequest *r) {
        usec_t now = now_usec(CLOCK_REALTIME), start = manager_get_startup_realtime(s->manager);

        return respond_json(r, MHD_HTTP_OK,
                            json_pack("{s:s,s:s,s:I,s:I}", "status", "ok", "version", PMD_VERSION, "uptime_sec",
                                      (json_int_t) (now > start ? (now - start) / USEC_PER_SEC : 0), "jobs",
                                      (json_int_t) manager_n_jobs(s->manager)));
}

static int render_status(HttpServer *s, char **ret, size_t *ret_size) {
        _cleanup_free_ Job **jobs = NULL;
        _cleanup_free_ JobUsage *usage = NULL;
        usec_t now = now_usec(CLOCK_REALTIME), start = manager_get_startup_realtime(s->manager);
        json_t *o, *a;
        size_t n;
        char *t;
        int r;

        r = manager_list_jobs(s->manager, &jobs, &n);
        if (r < 0)
                return r;
        usage = calloc(n ? n : 1, sizeof(JobUsage));
        if (!usage)
                return -ENOMEM;
        (void) job_usage_sample(s->manager, jobs, n, usage);

        a = json_array();
        o = json_pack("{s:s,s:I,s:o}", "version", PMD_VERSION, "uptime_sec",
                      (json_int_t) (now > start ? (now - start) / USEC_PER_SEC : 0), "jobs", a);
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(a, job_object(s, jobs[i], &usage[i])) < 0) {
                        json_decref(o);
                        return -ENOMEM;
                }
        t = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
        json_decref(o);
        if (!t)
                return -ENOMEM;
        n = strlen(t);
        char *u = realloc(t, n + 2);
        if (!u) {
                free(t);
                return -ENOMEM;
        }
        u[n] = '\n';
        u[n + 1] = 0;
        *ret = u;
        *ret_size = n + 1;
        return 0;
}

static MHD_Result_t handle_status(HttpServer *s, HttpRequest *r) {
        char *body;
        size_t size;
        int k;

        if (!cache_fresh(s, &s->status_cache)) {
                k = render_status(s, &body, &size);
                if (k < 0 || cache_store(s, &s->status_cache, "application/json", body, size) < 0)
                        return respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        }
        return respond_cached(r, &s->status_cache);
}

static MHD_Result_t handle_status_job(HttpServer *s, HttpRequest *r) {
        Job *j = manager_get_job(s->manager, r->arg);
        JobUsage u;

        if (!j)
                return respond_error(r, MHD_HTTP_NOT_FOUND, "no such job");
        (void) job_usage_sample(s->manager, &j, 1, &u);
        return respond_json(r, MHD_HTTP_OK, job_object(s, j, &u));
}

static MHD_Result_t handle_metrics(HttpServer *s, HttpRequest *r) {
        _cleanup_free_ Job **jobs = NULL;
        _cleanup_free_ JobUsage *usage = NULL;
        char *body;
        size_t n, size;

        if (!cache_fresh(s, &s->metrics_cache)) {
                if (manager_list_jobs(s->manager, &jobs, &n) < 0 || !(usage = calloc(n ? n : 1, sizeof(JobUsage))))
                        return respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
                (void) job_usage_sample(s->manager, jobs, n, usage);
                if (metrics_format(s->manager, jobs, n, usage, &body, &size) < 0 ||
                    cache_store(s, &s->metrics_cache, "text/plain; version=0.0.4; charset=utf-8", body, size) < 0)
                        return respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        }
        return respond_cached(r, &s->metrics_cache);
}

/* Constant time in the contents: how much of a guess is right must not show in the timing. The
 * length is no secret (every token is 64 hex digits). */
static bool token_equal(const char *a, const char *b) {
        size_t n = strlen(a);
        volatile unsigned char d = 0;

        if (n != strlen(b))
                return false;
        for (size_t i = 0; i < n; i++)
                d |= (unsigned char) a[i] ^ (unsigned char) b[i];
        return d == 0;
}

/* The bearer token of the request, or NULL. */
static const char *bearer_token(HttpRequest *r) {
        const char *h = MHD_lookup_connection_value(r->connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

        if (!h || strncasecmp(h, "Bearer ", 7) != 0)
                return NULL;
        h += 7;
        while (*h == ' ')
                h++;
        return *h ? h : NULL;
}

static MHD_Result_t handle_heartbeat(HttpServer *s, HttpRequest *r) {
        json_error_t err;
        json_t *o, *name, *status;
        _cleanup_free_ char *status_text = NULL;
        const char *token;
        char ts[64];
        Job *j;
        int k;

        o = json_loadb(r->body ?: "", r->body_size, JSON_REJECT_DUPLICATES, &err);
        if (!o)
                return respond_error(r, MHD_HTTP_BAD_REQUEST, "malformed JSON");
        name = json_object_get(o, "job");
        if (!json_is_object(o) || !json_is_string(name)) {
                json_decref(o);
                return respond_error(r, MHD_HTTP_BAD_REQUEST, "expected {\"job\": NAME, \"status\": ANY}");
        }
        token = bearer_token(r);
        if (!token) {
                json_decref(o);
                return respond_error(r, MHD_HTTP_UNAUTHORIZED, "a bearer token is needed");
        }
        j = manager_get_job(s->manager, json_string_value(name));
        if (!j) {
                json_decref(o);
                return respond_error(r, MHD_HTTP_NOT_FOUND, "no such job");
        }
        if (!job_runtime(j)->heartbeat_token || !token_equal(token, job_runtime(j)->heartbeat_token)) {
                json_decref(o);
                return respond_error(r, MHD_HTTP_UNAUTHORIZED, "invalid token");
        }
        /* Any JSON: a string is the status text as it is, anything else its compact JSON text. */
        status = json_object_get(o, "status");
        if (json_is_string(status))
                status_text = strdup(json_string_value(status));
        else if (status && !json_is_null(status))
                status_text = json_dumps(status, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(o);

        k = manager_heartbeat(s->manager, j->name, "http", status_text, "http:job-token");
        if (k < 0)
                return respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "heartbeat failed");
        return respond_json(r, MHD_HTTP_OK,
                            json_pack("{s:s,s:s}", "job", j->name, "last_heartbeat",
                                      format_rfc3339(ts, sizeof(ts), job_runtime(j)->last_heartbeat_realtime)));
}

static const HttpRoute routes[] = {
        { "GET", "/healthz", false, HTTP_ACCESS_READ, 0, handle_healthz },
        { "GET", "/status", false, HTTP_ACCESS_READ, 0, handle_status },
        { "GET", "/status/", true, HTTP_ACCESS_READ, 0, handle_status_job },
        { "GET", "/metrics", false, HTTP_ACCESS_READ, 0, handle_metrics },
        { "POST", "/pm/heartbeat", false, HTTP_ACCESS_JOB_TOKEN, HTTP_BODY_MAX, handle_heartbeat },
};

/* ---- dispatch ---- */

/* The route of path; *ret_path_route (a route of the path, with another method) tells a wrong
 * method (405) from an unknown path (404). */
static const HttpRoute *route_find(const char *method, const char *path, const HttpRoute **ret_path_route) {
        bool head = streq(method, "HEAD");

        *ret_path_route = NULL;
        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                const HttpRoute *rt = &routes[i];
                size_t l = strlen(rt->path);

                if (rt->prefix ? !(strneq(path, rt->path, l) && path[l] && !strchr(path + l, '/'))
                               : !streq(path, rt->path))
                        continue;
                *ret_path_route = rt;
                if (streq(method, rt->method) || (head && streq(rt->method, "GET")))
                        return rt;
        }
        return NULL;
}

/* 0 when the request may use its route, else the HTTP status to refuse it with. Job tokens are
 * checked by the heartbeat handler, which knows the job from the body. */
static unsigned http_authorize(HttpServer *s, HttpRequest *r) {
        switch (r->route->access) {
        case HTTP_ACCESS_READ:
        case HTTP_ACCESS_JOB_TOKEN:
                return 0;
        case HTTP_ACCESS_ADMIN:
                return MHD_HTTP_UNAUTHORIZED; /* no admin tokens yet */
        default:
                assert_not_reached();
        }
}

static MHD_Result_t on_request(void *cls, struct MHD_Connection *connection, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls) {
        HttpServer *s = cls;
        HttpRequest *r = *con_cls;
        const HttpRoute *known;

        if (!r) {
                /* First call: the headers are in, the body (if any) is not. */
                const char *cl;

                r = calloc(1, sizeof(HttpRequest));
                if (!r)
                        return MHD_NO;
                *con_cls = r;
                r->connection = connection;
                r->method = method;
                r->url = url;
                s->n_requests++;
                r->route = route_find(method, url, &known);
                if (!r->route) {
                        r->answered = true;
                        r->route = known; /* for the Allow header */
                        return known ? respond_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed")
                                     : respond_error(r, MHD_HTTP_NOT_FOUND, "not found");
                }
                if (r->route->prefix) {
                        r->arg = strdup(url + strlen(r->route->path));
                        if (!r->arg)
                                return MHD_NO;
                }
                unsigned code = http_authorize(s, r);
                if (code != 0) {
                        r->answered = true;
                        return respond_error(r, code, code == MHD_HTTP_UNAUTHORIZED ? "unauthorized" : "forbidden");
                }
                /* Refuse an announced oversized body before reading any of it. */
                cl = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
                if (cl && strtoull(cl, NULL, 10) > r->route->body_max) {
                        r->answered = true;
                        return respond_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
                }
                return MHD_YES;
        }

        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;

                *upload_data_size = 0;
                if (r->answered || r->body_too_large)
                        return MHD_YES; /* discard */
                if (r->body_size + n > r->route->body_max) {
                        /* Chunked, or a lying Content-Length: stop keeping it. */
                        r->body_too_large = true;
                        free(r->body);
                        r->body = NULL;
                        return MHD_YES;
                }
                char *b = realloc(r->body, r->body_size + n + 1);
                if (!b)
                        return MHD_NO;
                memcpy(b + r->body_size, upload_data, n);
                r->body = b;
                r->body_size += n;
                r->body[r->body_size] = 0;
                return MHD_YES;
        }

        /* The whole request is in. */
        if (r->answered)
                return MHD_YES;
        r->answered = true;
        if (r->body_too_large)
                return respond_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
        return r->route->handler(s, r);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
        HttpRequest *r = *con_cls;

        if (!r)
                return;
        free(r->arg);
        free(r->body);
        free(r);
        *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
        HttpServer *s = cls;

        if (toe == MHD_CONNECTION_NOTIFY_STARTED)
                s->n_connections++;
        else if (s->n_connections > 0)
                s->n_connections--;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
        char buf[512];

        /* Client misbehaviour lands here too: debug level, never a flood at warning level. */
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        buf[strcspn(buf, "\n")] = 0;
        log_debug("http: %s", buf);
}

/* ---- the loop ---- */

static void http_rearm(HttpServer *s) {
        MHD_UNSIGNED_LONG_LONG ms;

        if (MHD_get_timeout(s->daemon, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(s->timer_source, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(s->timer_source, now_usec(CLOCK_MONOTONIC) + (usec_t) ms * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(s->timer_source, SD_EVENT_ONESHOT);
}

static void http_run(HttpServer *s) {
        if (MHD_run(s->daemon) != MHD_YES)
                log_debug("http: MHD_run() failed");
        http_rearm(s);
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        http_run(userdata);
        return 0;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        http_run(userdata);
        return 0;
}

/* ---- setup ---- */

static bool is_loopback(const struct sockaddr *sa) {
        if (sa->sa_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr) >> 24) == 127;
        if (sa->sa_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;
                return IN6_IS_ADDR_LOOPBACK(a) ||
                        (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
        }
        return false;
}

static bool is_any(const struct sockaddr *sa) {
        if (sa->sa_family == AF_INET)
                return ((const struct sockaddr_in *) sa)->sin_addr.s_addr == htonl(INADDR_ANY);
        return sa->sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *) sa)->sin6_addr);
}

/* "ADDR:PORT" → a bound, listening socket; *ret_url is how a job on this host reaches it. */
static int http_listen(const char *listen_spec, int *ret_fd, char **ret_url) {
        _cleanup_free_ char *host = NULL;
        const char *port, *colon;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
        struct addrinfo *ai = NULL;
        struct sockaddr_storage bound;
        socklen_t bl = sizeof(bound);
        char hbuf[INET6_ADDRSTRLEN], url[128];
        int fd, r, one = 1, zero = 0;
        unsigned p;

        if (listen_spec[0] == '[') {
                colon = strchr(listen_spec, ']');
                if (!colon || colon[1] != ':')
                        return -EINVAL;
                host = strndup(listen_spec + 1, (size_t) (colon - listen_spec - 1));
                port = colon + 2;
        } else {
                colon = strrchr(listen_spec, ':');
                if (!colon || strchr(listen_spec, ':') != colon)
                        return -EINVAL; /* an IPv6 address needs its brackets */
                host = strndup(listen_spec, (size_t) (colon - listen_spec));
                port = colon + 1;
        }
        if (!host)
                return -ENOMEM;
        if (sscanf(port, "%u", &p) != 1 || p > 65535 || strspn(port, "0123456789") != strlen(port))
                return -EINVAL;

        /* Numeric first: resolving names may block, and pmd's loop must not. "localhost" is the
         * one name taken, as the IPv4 loopback. */
        if (isempty(host) || streq(host, "*"))
                r = getaddrinfo("::", port, &(struct addrinfo) { .ai_socktype = SOCK_STREAM,
                                                                 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, &ai);
        else if (streq(host, "localhost"))
                r = getaddrinfo("127.0.0.1", port, &(struct addrinfo) { .ai_socktype = SOCK_STREAM,
                                                                        .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, &ai);
        else {
                hints.ai_flags |= AI_NUMERICHOST;
                r = getaddrinfo(host, port, &hints, &ai);
        }
        if (r != 0)
                return r == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;

        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                r = -errno;
                freeaddrinfo(ai);
                return r;
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        /* "[::]" serves IPv4 too (as v4-mapped addresses). */
        if (ai->ai_family == AF_INET6 && is_any(ai->ai_addr))
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0 ||
            getsockname(fd, (struct sockaddr *) &bound, &bl) < 0) {
                r = -errno;
                freeaddrinfo(ai);
                safe_close(fd);
                return r;
        }
        if (!is_loopback(ai->ai_addr))
                log_warning("HTTP on %s is not loopback-only and is plain HTTP: anyone who can reach it "
                            "can read job states", listen_spec);
        freeaddrinfo(ai);

        p = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *) &bound)->sin_port
                                             : ((struct sockaddr_in6 *) &bound)->sin6_port);
        if (is_any((struct sockaddr *) &bound))
                (void) snprintf(url, sizeof(url), "http://127.0.0.1:%u", p);
        else if (bound.ss_family == AF_INET)
                (void) snprintf(url, sizeof(url), "http://%s:%u",
                                inet_ntop(AF_INET, &((struct sockaddr_in *) &bound)->sin_addr, hbuf, sizeof(hbuf)) ?: "127.0.0.1", p);
        else
                (void) snprintf(url, sizeof(url), "http://[%s]:%u",
                                inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &bound)->sin6_addr, hbuf, sizeof(hbuf)) ?: "::1", p);
        *ret_url = strdup(url);
        if (!*ret_url) {
                safe_close(fd);
                return -ENOMEM;
        }
        *ret_fd = fd;
        return 0;
}

int http_server_new(Manager *m, const char *listen_spec, HttpServer **ret) {
        _cleanup_(http_server_freep) HttpServer *s = NULL;
        const union MHD_DaemonInfo *info;
        struct rlimit rl;
        unsigned limit = HTTP_CONNECTIONS_MAX;
        int fd, r;

        assert(m);
        assert(listen_spec);
        assert(ret);

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->manager = m;

        r = http_listen(listen_spec, &fd, &s->url);
        if (r < 0)
                return r;

        /* Connections must leave fds for the jobs (pidfds, pipes, logs): half of the limit. */
        if (getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 2 < limit)
                limit = (unsigned) MAX(rl.rlim_cur / 2, (rlim_t) 16);

        s->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                     on_request, s,
                                     MHD_OPTION_LISTEN_SOCKET, fd,
                                     MHD_OPTION_CONNECTION_LIMIT, limit,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) HTTP_IDLE_TIMEOUT_SEC,
                                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) HTTP_HEADER_MAX,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                     MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                     MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                                     MHD_OPTION_END);
        if (!s->daemon) {
                safe_close(fd);
                return -EIO;
        }

        info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return -EIO;
        r = sd_event_add_io(manager_get_event(m), &s->io_source, info->epoll_fd, EPOLLIN, on_io, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->io_source, "http");
        r = sd_event_add_time(manager_get_event(m), &s->timer_source, CLOCK_MONOTONIC, USEC_INFINITY, 0, on_timer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->timer_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(s->timer_source, "http-timer");
        http_rearm(s);

        log_info("HTTP on %s (%s)", listen_spec, s->url);
        *ret = TAKE_PTR(s);
        return 0;
}

HttpServer *http_server_free(HttpServer *s) {
        if (!s)
                return NULL;
        s->io_source = sd_event_source_disable_unref(s->io_source);
        s->timer_source = sd_event_source_disable_unref(s->timer_source);
        cache_drop(&s->status_cache);
        cache_drop(&s->metrics_cache);
        if (s->daemon)
                MHD_stop_daemon(s->daemon); /* closes the listening socket and every connection */
        free(s->url);
        free(s);
        return NULL;
}

const char *http_server_url(const HttpServer *s) {
        return s ? s->url : NULL;
}

uint64_t http_server_n_requests(const HttpServer *s) {
        return s ? s->n_requests : 0;
}

unsigned http_server_n_connections(const HttpServer *s) {
        return s ? s->n_connections : 0;
}
