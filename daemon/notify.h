/* The sd_notify datagram socket (SPEC §5): one per pmd, its address handed to every job as
 * NOTIFY_SOCKET. The parser is apart from the socket so that the fuzzer and the unit tests reach
 * it without a manager. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/macro.h"
#include "util/time-util.h"

typedef struct Manager Manager;
typedef struct NotifyServer NotifyServer;

/* The largest datagram read whole; a longer one is truncated by the kernel and dropped (systemd
 * reads PIPE_BUF bytes as well: sd_notify messages are a few short lines). */
#define NOTIFY_BUFFER_MAX 4096
/* STATUS= text kept at most (a datagram cannot be longer anyway). */
#define NOTIFY_STATUS_MAX 2048

typedef struct NotifyMessage {
        bool ready;            /* READY=1 */
        bool reloading;        /* RELOADING=1 (accepted, not acted upon) */
        bool stopping;         /* STOPPING=1 */
        bool watchdog;         /* WATCHDOG=1 */
        bool watchdog_trigger; /* WATCHDOG=trigger */
        const char *status;    /* STATUS=…, points into the parsed buffer; NULL if absent */
        usec_t watchdog_usec;  /* WATCHDOG_USEC=, 0 if absent */
        usec_t extend_timeout_usec; /* EXTEND_TIMEOUT_USEC=, 0 if absent */
        pid_t main_pid;        /* MAINPID=, 0 if absent */
        unsigned n_ignored;    /* lines not understood, or values that do not parse */
} NotifyMessage;

/* Parse one datagram of n bytes in buf, which is modified (lines are cut in place) and must have
 * room for one more byte (buf[n] is written). -EBADMSG for a datagram that is not a notify
 * message at all (embedded NUL bytes, empty); unknown or invalid lines are counted, not fatal, as
 * systemd does. */
int notify_message_parse(char *buf, size_t n, NotifyMessage *ret);

/* Bind the socket at path (a file path; "@name" for an abstract socket) and watch it on the
 * manager's loop. */
int notify_server_new(Manager *m, const char *path, NotifyServer **ret);
NotifyServer *notify_server_free(NotifyServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(NotifyServer *, notify_server_free);

/* The value of NOTIFY_SOCKET for jobs. */
const char *notify_server_address(const NotifyServer *s);
/* Datagrams taken and acted upon, and dropped (no credentials, from no job, refused by
 * NotifyAccess=, truncated, not a notify message): for /metrics. */
uint64_t notify_server_n_received(const NotifyServer *s);
uint64_t notify_server_n_dropped(const NotifyServer *s);
