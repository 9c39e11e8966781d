/* pmd's end of the sd_notify protocol. One datagram socket per pmd (a file beside the private
 * control socket, or an abstract name where no such path fits) with SO_PASSCRED, so the kernel
 * stamps every datagram with the sender's pid, uid and gid; a sender cannot claim another pid
 * unless it is privileged. That pid is matched to a job through the manager (its main or control
 * pid, else the job's cgroup or process group), checked against NotifyAccess=, and the message is
 * turned into the job's events: READY=1 → job_on_ready, WATCHDOG=1 → a heartbeat, WATCHDOG=trigger
 * → the watchdog fires now, WATCHDOG_USEC= → a new deadline, EXTEND_TIMEOUT_USEC= → a later
 * start/stop deadline, STOPPING=1 → the job is on its way down, MAINPID= → the main process
 * changed, STATUS= → the status text. Anything else is dropped and counted: a datagram without
 * credentials, from a process of no job, refused by NotifyAccess=, truncated, or with NUL bytes.
 *
 * File descriptors passed along (BARRIER=1 of systemd-notify, FDSTORE=1) are closed once the
 * datagram has been handled: closing the barrier fd is what tells systemd-notify that its message
 * has been processed, and keeps it (and so its pid) alive until then. pmd keeps no fd store.
 *
 * The socket is read in bounded batches per wake-up, so a flood of datagrams cannot starve the
 * rest of the loop; nothing here blocks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "manager.h"
#include "notify.h"
#include "util/log.h"

/* Datagrams handled per wake-up before the loop gets a turn (level-triggered: the rest come at
 * the next iteration). */
#define NOTIFY_BATCH 256
/* File descriptors accepted in one datagram (systemd-notify sends one for BARRIER=1); more make
 * the control data truncated: the datagram is dropped and what came is closed. */
#define NOTIFY_FD_MAX 16
/* Receive buffer: room for bursts of heartbeats from many jobs. */
#define NOTIFY_RCVBUF (8 * 1024 * 1024)

struct NotifyServer {
        Manager *manager;
        int fd;
        sd_event_source *source;
        char *path;    /* the socket file to unlink, NULL for an abstract socket */
        char *address; /* NOTIFY_SOCKET */
        uint64_t n_received, n_dropped;
};

/* ---- the parser ---- */

/* Valid UTF-8 without control characters other than tab: a status is shown on terminals. */
static bool status_text_ok(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                unsigned n;
                uint32_t c;

                if (*p < 0x80) {
                        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
                                return false;
                        p++;
                        continue;
                }
                if ((*p & 0xe0) == 0xc0)
                        n = 1, c = *p & 0x1f;
                else if ((*p & 0xf0) == 0xe0)
                        n = 2, c = *p & 0x0f;
                else if ((*p & 0xf8) == 0xf0)
                        n = 3, c = *p & 0x07;
                else
                        return false;
                p++;
                for (unsigned i = 0; i < n; i++, p++) {
                        if ((*p & 0xc0) != 0x80)
                                return false;
                        c = (c << 6) | (*p & 0x3f);
                }
                /* Overlong forms, surrogates and what is beyond Unicode. */
                if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) || (n == 3 && c < 0x10000) ||
                    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
                        return false;
        }
        return true;
}

/* A decimal number without sign, spaces or a base prefix, as systemd's safe_atou64 takes it. */
static int parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!*s || *s < '0' || *s > '9')
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

int notify_message_parse(char *buf, size_t n, NotifyMessage *ret) {
        NotifyMessage m = {};
        char *line, *next;

        assert(buf);
        assert(ret);

        if (n == 0 || memchr(buf, 0, n))
                return -EBADMSG;
        buf[n] = 0;

        for (line = buf; line; line = next) {
                uint64_t v;
                char *eq;

                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (!*line)
                        continue;
                eq = strchr(line, '=');
                if (!eq) {
                        m.n_ignored++;
                        continue;
                }
                *eq = 0;
                const char *key = line, *value = eq + 1;

                if (streq(key, "READY") && streq(value, "1"))
                        m.ready = true;
                else if (streq(key, "RELOADING") && streq(value, "1"))
                        m.reloading = true;
                else if (streq(key, "STOPPING") && streq(value, "1"))
                        m.stopping = true;
                else if (streq(key, "WATCHDOG") && streq(value, "1"))
                        m.watchdog = true;
                else if (streq(key, "WATCHDOG") && streq(value, "trigger"))
                        m.watchdog_trigger = true;
                else if (streq(key, "STATUS")) {
                        if (strlen(value) <= NOTIFY_STATUS_MAX && status_text_ok(value))
                                m.status = value;
                        else
                                m.n_ignored++;
                } else if (streq(key, "WATCHDOG_USEC")) {
                        if (parse_u64(value, &v) >= 0 && v > 0 && v < USEC_INFINITY)
                                m.watchdog_usec = v;
                        else
                                m.n_ignored++;
                } else if (streq(key, "EXTEND_TIMEOUT_USEC")) {
                        if (parse_u64(value, &v) >= 0 && v > 0 && v < USEC_INFINITY)
                                m.extend_timeout_usec = v;
                        else
                                m.n_ignored++;
                } else if (streq(key, "MAINPID")) {
                        if (parse_u64(value, &v) >= 0 && v > 1 && v <= INT32_MAX)
                                m.main_pid = (pid_t) v;
                        else
                                m.n_ignored++;
                } else if (streq(key, "BARRIER") || streq(key, "ERRNO") || streq(key, "BUSERROR") ||
                           streq(key, "MONOTONIC_USEC") || streq(key, "NOTIFYACCESS")) {
                        /* Known to systemd and harmless to ignore: the barrier works by the fd
                         * being closed, the rest pmd has no use for. */
                } else
                        m.n_ignored++;
        }
        *ret = m;
        return 0;
}

/* ---- the socket ---- */

static void close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                safe_close(fds[i]);
}

/* What the datagram may do, given who sent it. */
static bool access_ok(const Job *j, pid_t pid) {
        switch (j->config->notify_access) {
        case NOTIFY_ALL:
                return true;
        case NOTIFY_MAIN:
                return pid == j->main_pid;
        case NOTIFY_NONE:
                return false;
        default:
                return false;
        }
}

static void run_event(Manager *m, Job *j, int (*f)(Job *, usec_t, JobActions *)) {
        JobActions a = {};
        bool was_inactive = job_is_inactive(j);

        (void) f(j, now_usec(CLOCK_MONOTONIC), &a);
        manager_job_actions(m, j, &a, was_inactive);
}

static void notify_apply(NotifyServer *s, Job *j, pid_t pid, const NotifyMessage *msg) {
        Manager *m = s->manager;
        char actor[32];
        JobActions a;
        bool was_inactive;

        (void) snprintf(actor, sizeof(actor), "pid:%d", (int) pid);

        if (msg->main_pid > 0 && msg->main_pid != j->main_pid) {
                /* Only a process of the job itself can become its main process: otherwise a
                 * job could make pmd signal anything. */
                if (manager_job_by_pid(m, msg->main_pid) == j)
                        (void) manager_job_set_main_pid(m, j, msg->main_pid);
                else
                        log_warning("%s: MAINPID=%d is not a process of the job, ignoring", j->name,
                                    (int) msg->main_pid);
        }
        /* READY=1 before STATUS=: becoming ready clears the status text of the start, and
         * "READY=1\nSTATUS=Serving" must leave "Serving". */
        if (msg->ready && j->config->type == SERVICE_NOTIFY)
                run_event(m, j, job_on_ready);
        if (msg->status && !msg->watchdog)
                manager_set_status_text(m, j, msg->status);
        if (msg->watchdog_usec > 0) {
                a = (JobActions) {};
                was_inactive = job_is_inactive(j);
                (void) job_set_watchdog(j, msg->watchdog_usec, now_usec(CLOCK_MONOTONIC), &a);
                manager_job_actions(m, j, &a, was_inactive);
        }
        if (msg->extend_timeout_usec > 0) {
                a = (JobActions) {};
                was_inactive = job_is_inactive(j);
                (void) job_on_extend_timeout(j, msg->extend_timeout_usec, now_usec(CLOCK_MONOTONIC), &a);
                manager_job_actions(m, j, &a, was_inactive);
        }
        if (msg->watchdog)
                /* The heartbeat carries the status along into the registry. */
                (void) manager_heartbeat(m, j->name, "notify", msg->status, actor);
        if (msg->stopping)
                run_event(m, j, job_on_stopping);
        if (msg->watchdog_trigger) {
                log_warning("%s: watchdog triggered by pid %d", j->name, (int) pid);
                run_event(m, j, job_on_watchdog);
        }
}

static void drop(NotifyServer *s, const char *why, pid_t pid) {
        s->n_dropped++;
        /* Debug only: a flood of junk must not become a flood of log lines. */
        log_debug("Dropped a notify datagram%s%.0d: %s", pid > 0 ? " from pid " : "", (int) pid, why);
}

static void handle_one(NotifyServer *s, char *buf, ssize_t n, struct msghdr *mh) {
        int fds[NOTIFY_FD_MAX];
        size_t n_fds = 0;
        struct ucred *ucred = NULL;
        NotifyMessage msg;
        Job *j;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                if (c->cmsg_level != SOL_SOCKET)
                        continue;
                if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                        ucred = (struct ucred *) CMSG_DATA(c);
                else if (c->cmsg_type == SCM_RIGHTS) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < k; i++) {
                                int fd;
                                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                                if (n_fds < ELEMENTSOF(fds))
                                        fds[n_fds++] = fd;
                                else
                                        safe_close(fd);
                        }
                }
        }

        if (mh->msg_flags & MSG_CTRUNC)
                drop(s, "control data truncated", ucred ? ucred->pid : 0);
        else if (mh->msg_flags & MSG_TRUNC || (size_t) n > NOTIFY_BUFFER_MAX)
                drop(s, "too long", ucred ? ucred->pid : 0);
        else if (!ucred || ucred->pid <= 0)
                drop(s, "no credentials", 0);
        else if (notify_message_parse(buf, (size_t) n, &msg) < 0)
                drop(s, "not a notify message", ucred->pid);
        else if (!(j = manager_job_by_pid(s->manager, ucred->pid)))
                drop(s, "from a process of no job", ucred->pid);
        else if (!access_ok(j, ucred->pid)) {
                drop(s, "refused by NotifyAccess=", ucred->pid);
                log_debug("%s: notify message from pid %d refused by NotifyAccess=%s", j->name,
                          (int) ucred->pid, notify_access_to_string(j->config->notify_access));
        } else {
                s->n_received++;
                notify_apply(s, j, ucred->pid, &msg);
        }
        /* Last: this releases a BARRIER=1 waiter, whose message is now handled. */
        close_fds(fds, n_fds);
}

static int on_notify(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        NotifyServer *s = userdata;

        for (unsigned k = 0; k < NOTIFY_BATCH; k++) {
                char buf[NOTIFY_BUFFER_MAX + 1];
                union {
                        struct cmsghdr h;
                        uint8_t b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * NOTIFY_FD_MAX)];
                } control;
                struct iovec iov = { .iov_base = buf, .iov_len = NOTIFY_BUFFER_MAX };
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof(control),
                };
                ssize_t n;

                n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                log_warning_errno(errno, "Failed to read from the notify socket: %m");
                        break;
                }
                handle_one(s, buf, n, &mh);
        }
        return 0;
}

static int make_address(const char *path, struct sockaddr_un *sa, socklen_t *ret_len, char **ret_abstract) {
        size_t l;

        *sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        *ret_abstract = NULL;
        if (path && path[0] == '/' && (l = strlen(path)) < sizeof(sa->sun_path)) {
                memcpy(sa->sun_path, path, l + 1);
                *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + l + 1);
                return 0;
        }
        if (path && path[0] == '@' && (l = strlen(path)) < sizeof(sa->sun_path)) {
                memcpy(sa->sun_path + 1, path + 1, l - 1);
                *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + l);
                *ret_abstract = strdup(path);
                return *ret_abstract ? 1 : -ENOMEM;
        }
        /* The path does not fit in sun_path: an abstract name unique to this pmd instead. */
        uint64_t rnd;
        char name[64];
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                rnd = (uint64_t) now_usec(CLOCK_MONOTONIC);
        l = (size_t) snprintf(name, sizeof(name), "@pmd/notify/%d/%016llx", (int) getpid(),
                              (unsigned long long) rnd);
        memcpy(sa->sun_path + 1, name + 1, l - 1);
        *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + l);
        *ret_abstract = strdup(name);
        return *ret_abstract ? 1 : -ENOMEM;
}

int notify_server_new(Manager *m, const char *path, NotifyServer **ret) {
        _cleanup_(notify_server_freep) NotifyServer *s = NULL;
        struct sockaddr_un sa;
        socklen_t salen;
        char *abstract;
        int r, one = 1, size = NOTIFY_RCVBUF;

        assert(m);
        assert(ret);

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->manager = m;
        s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->fd < 0)
                return -errno;

        r = make_address(path, &sa, &salen, &abstract);
        if (r < 0)
                return r;
        if (r == 0) {
                /* A socket file left by an earlier pmd (killed, or before a re-exec). */
                (void) unlink(path);
                s->path = strdup(path);
                s->address = strdup(path);
                if (!s->path || !s->address)
                        return -ENOMEM;
        } else
                s->address = abstract;

        if (bind(s->fd, (struct sockaddr *) &sa, salen) < 0)
                return -errno;
        /* Jobs that run as other users must be able to send; who sent is checked by credentials. */
        if (s->path)
                (void) chmod(s->path, 0666);
        if (setsockopt(s->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                return -errno;
        if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));

        r = sd_event_add_io(manager_get_event(m), &s->source, s->fd, EPOLLIN, on_notify, s);
        if (r < 0)
                return r;
        /* After the job events of the same iteration (a READY=1 right after the spawn waits for
         * the spawn's bookkeeping), before the idle commit. */
        (void) sd_event_source_set_priority(s->source, SD_EVENT_PRIORITY_NORMAL + 5);
        (void) sd_event_source_set_description(s->source, "notify");

        *ret = TAKE_PTR(s);
        return 0;
}

NotifyServer *notify_server_free(NotifyServer *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->source);
        safe_close(s->fd);
        if (s->path)
                (void) unlink(s->path);
        free(s->path);
        free(s->address);
        free(s);
        return NULL;
}

const char *notify_server_address(const NotifyServer *s) {
        return s ? s->address : NULL;
}

uint64_t notify_server_n_received(const NotifyServer *s) {
        return s ? s->n_received : 0;
}

uint64_t notify_server_n_dropped(const NotifyServer *s) {
        return s ? s->n_dropped : 0;
}
