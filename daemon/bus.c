/* The D-Bus face of the manager. It serves org.pmd1.Manager at /org/pmd1 and one org.pmd1.Job
 * object per job (a fallback vtable under /org/pmd1/job with a node enumerator and an object
 * manager, so introspection and `busctl tree` list them) on two kinds of connection at once: the
 * bus named by --bus, where pmd takes the name org.pmd1, and every connection accepted on the
 * private socket, each a peer-to-peer sd-bus server. It holds no state of its own beyond the
 * connections: every call is a manager_*() call, and every state change the manager reports to
 * its observer is announced as JobStateChanged and PropertiesChanged on every connection.
 *
 * Authorization comes from credentials, never from the caller's word. On the private socket they
 * are the peer's SO_PEERCRED/SO_PEERGROUPS, known without asking anyone. On the bus they are what
 * the bus daemon says about the sender (GetConnectionCredentials), asked asynchronously — pmd
 * never blocks on a call out — and cached by unique name, which a bus never reuses. A changing
 * call waits for that answer and is then dispatched again. Reads are open to all; changing calls
 * need uid 0 or the group `pmd`; a refusal is audited here, everything else by the manager. */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "bus.h"
#include "manager-log.h"
#include "manager.h"
#include "util/utf8.h"
#include "registry.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/strv.h"

#define BUS_NAME "org.pmd1"
#define BUS_PATH "/org/pmd1"
#define BUS_JOB_PREFIX "/org/pmd1/job"
#define BUS_MANAGER_IFACE "org.pmd1.Manager"
#define BUS_JOB_IFACE "org.pmd1.Job"
#define BUS_ERROR_NO_SUCH_JOB "org.pmd1.Error.NoSuchJob"
#define BUS_ERROR_INVALID_ARGS "org.pmd1.Error.InvalidArgs"

/* Bounds, so that no client can make pmd hold resources without limit. */
#define PRIVATE_CONNECTIONS_MAX 256u
#define PRIVATE_AUTH_TIMEOUT_USEC (10 * USEC_PER_SEC) /* connect, then authenticate by then */
#define PRIVATE_WRITE_QUEUE_MAX 4096u                 /* a client that stops reading is dropped */
#define ACCEPT_BURST_MAX 64u                          /* accepts per wakeup, then yield */
#define CREDS_CACHE_MAX 1024u
#define AUDIT_LIST_MAX 100000u
#define AUDIT_LIST_DEFAULT 50u

typedef struct PrivateConn PrivateConn;
typedef struct AuthQuery AuthQuery;

struct PrivateConn {
        Bus *owner;
        sd_bus *bus;
        sd_event_source *auth_timer;  /* drops a client that never finishes authenticating */
        sd_event_source *free_source; /* set once dropped: frees the connection outside its callbacks */
        PrivateConn *prev, *next;
};

/* A ReloadJob call waiting for the end of its reload; answered by pending_reloads_check(). */
typedef struct PendingReload {
        sd_bus_message *call;
        char *job;
        uint64_t ticket; /* the job's reloads_ended once this reload has ended */
        struct PendingReload *next;
} PendingReload;

/* What the bus daemon told us about a sender. */
typedef struct CachedCreds {
        char *sender; /* the key */
        uid_t uid;
        bool privileged;
} CachedCreds;

/* A changing call on the bus waiting for its sender's credentials. */
struct AuthQuery {
        Bus *owner;
        sd_bus_message *call;
        sd_bus_message_handler_t handler;
        sd_bus_slot *slot;
        AuthQuery *prev, *next;
};

struct Bus {
        Manager *manager;
        sd_event *event;

        sd_bus *bus;              /* the system/user/--bus connection, NULL when none */
        sd_bus_slot *disconnect_slot;

        int listen_fd;
        sd_event_source *listen_source;
        char *socket_path;
        PrivateConn *conns;
        unsigned n_conns;

        bool have_pmd_group;
        gid_t pmd_gid;

        Hashmap *creds_cache;     /* sender → CachedCreds */
        AuthQuery *queries;
        PendingReload *reloads;

        /* The call being dispatched again once its sender's credentials arrived. */
        sd_bus_message *authorized_call;
        uid_t authorized_uid;
        bool authorized_privileged;
};

#define LIST_PREPEND(head, item)                  \
        do {                                      \
                (item)->prev = NULL;              \
                (item)->next = (head);            \
                if (head)                         \
                        (head)->prev = (item);    \
                (head) = (item);                  \
        } while (0)

#define LIST_REMOVE(head, item)                           \
        do {                                              \
                if ((item)->next)                         \
                        (item)->next->prev = (item)->prev; \
                if ((item)->prev)                         \
                        (item)->prev->next = (item)->next; \
                else                                      \
                        (head) = (item)->next;            \
                (item)->prev = (item)->next = NULL;       \
        } while (0)

static void sd_bus_creds_unrefp_local(sd_bus_creds **c) {
        if (*c)
                sd_bus_creds_unref(*c);
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

/* ---- names and errors ---------------------------------------------------------------------- */

static bool name_ok(const char *name) {
        return name && strnlen(name, JOB_NAME_MAX + 1) <= JOB_NAME_MAX && job_name_is_valid(name);
}

static int read_job_name(sd_bus_message *msg, const char **ret, sd_bus_error *error) {
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        if (!name_ok(name))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "Invalid job name '%.64s%s'.",
                                         name, strlen(name) > 64 ? "…" : "");
        *ret = name;
        return 0;
}

/* Turns a manager error into the D-Bus error a client sees. */
static int set_manager_error(sd_bus_error *error, int r, const char *name) {
        switch (r) {
        case -ENOENT:
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_JOB, "No job named '%s'.", strempty(name));
        case -EINVAL:
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "Invalid argument.");
        case -EOPNOTSUPP:
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "not supported by this pmd");
        default:
                return sd_bus_error_set_errno(error, r);
        }
}

static char *job_object_path(const char *name) {
        char *p = NULL;

        if (sd_bus_path_encode(BUS_JOB_PREFIX, name, &p) < 0)
                return NULL;
        return p;
}

/* ---- authorization ------------------------------------------------------------------------- */

static bool gids_contain(const gid_t *gids, size_t n, gid_t g) {
        for (size_t i = 0; i < n; i++)
                if (gids[i] == g)
                        return true;
        return false;
}

/* When the bus does not tell the groups of a sender (dbus-daemon before 1.15), the group
 * database says which groups its uid belongs to. */
static bool uid_in_group(uid_t uid, gid_t group) {
        struct passwd pw, *pwp = NULL;
        char buf[4096];
        gid_t gids[256];
        int n = ELEMENTSOF(gids);

        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) != 0 || !pwp)
                return false;
        if (pw.pw_gid == group)
                return true;
        if (getgrouplist(pw.pw_name, pw.pw_gid, gids, &n) < 0)
                return false; /* more than 256 groups: not worth a retry loop for a refusal */
        return gids_contain(gids, (size_t) n, group);
}

static bool creds_privileged(Bus *b, uid_t uid, gid_t egid, bool have_gids, const gid_t *gids, size_t n) {
        if (uid == 0)
                return true;
        if (!b->have_pmd_group)
                return false;
        if (have_gids)
                return egid == b->pmd_gid || gids_contain(gids, n, b->pmd_gid);
        return uid_in_group(uid, b->pmd_gid);
}

static void creds_cache_put(Bus *b, const char *sender, uid_t uid, bool privileged) {
        CachedCreds *c;

        if (!b->creds_cache) {
                b->creds_cache = hashmap_new_string();
                if (!b->creds_cache)
                        return;
        }
        if (hashmap_get(b->creds_cache, sender))
                return;
        if (hashmap_size(b->creds_cache) >= CREDS_CACHE_MAX) {
                /* Forget everything: the cache only saves a round trip to the bus daemon. */
                size_t i = 0;
                void *v;
                while (hashmap_iterate(b->creds_cache, &i, &v, NULL)) {
                        free(((CachedCreds *) v)->sender);
                        free(v);
                }
                b->creds_cache = hashmap_free(b->creds_cache);
                b->creds_cache = hashmap_new_string();
                if (!b->creds_cache)
                        return;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                return;
        c->sender = strdup(sender);
        if (!c->sender) {
                free(c);
                return;
        }
        c->uid = uid;
        c->privileged = privileged;
        if (hashmap_put(b->creds_cache, c->sender, c) < 0) {
                free(c->sender);
                free(c);
        }
}

static AuthQuery *auth_query_free(AuthQuery *q) {
        if (!q)
                return NULL;
        LIST_REMOVE(q->owner->queries, q);
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->call);
        free(q);
        return NULL;
}

static int on_creds_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AuthQuery *q = userdata;
        Bus *b = q->owner;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *call = sd_bus_message_ref(q->call);
        sd_bus_message_handler_t handler = q->handler;
        uint32_t uid = UINT32_MAX;
        _cleanup_free_ gid_t *gids = NULL;
        size_t n_gids = 0;
        bool have_gids = false, privileged;
        int r;

        auth_query_free(q);

        if (sd_bus_message_is_method_error(reply, NULL)) {
                r = sd_bus_reply_method_errorf(call, SD_BUS_ERROR_ACCESS_DENIED,
                                               "Cannot determine the caller's credentials: %s",
                                               sd_bus_message_get_error(reply)->message);
                goto finish;
        }

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                goto bad;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        goto bad;
                if (streq(key, "UnixUserID")) {
                        r = sd_bus_message_read(reply, "v", "u", &uid);
                } else if (streq(key, "UnixGroupIDs")) {
                        const uint32_t *a;
                        size_t sz;

                        r = sd_bus_message_enter_container(reply, 'v', "au");
                        if (r < 0)
                                goto bad;
                        r = sd_bus_message_read_array(reply, 'u', (const void **) &a, &sz);
                        if (r < 0)
                                goto bad;
                        n_gids = sz / sizeof(uint32_t);
                        gids = calloc(n_gids ?: 1, sizeof(gid_t));
                        if (!gids)
                                goto bad;
                        for (size_t i = 0; i < n_gids; i++)
                                gids[i] = a[i];
                        have_gids = true;
                        r = sd_bus_message_exit_container(reply);
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r < 0)
                        goto bad;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        goto bad;
        }
        if (r < 0 || uid == UINT32_MAX)
                goto bad;

        /* The primary gid is not in UnixGroupIDs' contract; the group list is what counts. */
        privileged = creds_privileged(b, uid, (gid_t) -1, have_gids, gids, n_gids);
        if (sd_bus_message_get_sender(call))
                creds_cache_put(b, sd_bus_message_get_sender(call), uid, privileged);

        /* Dispatch the call again, now with known credentials. */
        b->authorized_call = call;
        b->authorized_uid = uid;
        b->authorized_privileged = privileged;
        (void) sd_bus_message_rewind(call, true);
        r = handler(call, b, &error);
        b->authorized_call = NULL;
        if (sd_bus_error_is_set(&error))
                r = sd_bus_reply_method_error(call, &error);
        else if (r < 0)
                r = sd_bus_reply_method_errno(call, r, NULL);
        goto finish;

bad:
        r = sd_bus_reply_method_errorf(call, SD_BUS_ERROR_ACCESS_DENIED,
                                       "Cannot determine the caller's credentials.");
finish:
        if (r < 0)
                log_debug_errno(r, "Failed to reply to a call: %m");
        sd_bus_message_unref(call);
        return 0;
}

/* Decides whether the sender of msg may make a changing call. Returns 1 with *ret_actor set
 * ("uid:N") when it may; < 0 with error set when it may not (the refusal is audited); 0 when the
 * answer is pending — the handler then returns 1 and is called again with the answer. */
/* Whether job j's processes run as uid (User=, a name or a number; pmd's own uid without it). */
static bool job_runs_as(const Job *j, uid_t uid) {
        const char *user;
        struct passwd pw, *res = NULL;
        char buf[4096], *end;
        unsigned long v;

        if (!j)
                return false;
        user = j->config->user;
        if (isempty(user))
                return uid == geteuid();
        errno = 0;
        v = strtoul(user, &end, 10);
        if (errno == 0 && *end == '\0' && end != user)
                return (uid_t) v == uid;
        return getpwnam_r(user, &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_uid == uid;
}

static int bus_authorize(Bus *b, sd_bus_message *msg, sd_bus_message_handler_t handler,
                         const char *action, const char *job, char **ret_actor, sd_bus_error *error) {
        sd_bus *bus = sd_bus_message_get_bus(msg);
        uid_t uid;
        bool privileged;
        int r;

        if (msg == b->authorized_call) {
                uid = b->authorized_uid;
                privileged = b->authorized_privileged;
        } else if (bus != b->bus || !sd_bus_message_get_sender(msg)) {
                /* Private connection: the peer's credentials from the socket. */
                _cleanup_(sd_bus_creds_unrefp_local) sd_bus_creds *creds = NULL;
                const gid_t *gids = NULL;
                gid_t egid = (gid_t) -1;
                int n;

                r = sd_bus_get_owner_creds(bus, SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID |
                                           SD_BUS_CREDS_SUPPLEMENTARY_GIDS, &creds);
                if (r < 0 || sd_bus_creds_get_euid(creds, &uid) < 0) {
                        manager_audit(b->manager, "unknown", action, job, "denied: no credentials");
                        return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                "Cannot determine the caller's credentials.");
                }
                (void) sd_bus_creds_get_egid(creds, &egid);
                n = sd_bus_creds_get_supplementary_gids(creds, &gids);
                privileged = creds_privileged(b, uid, egid, n >= 0, gids, n >= 0 ? (size_t) n : 0);
        } else {
                const char *sender = sd_bus_message_get_sender(msg);
                CachedCreds *c = b->creds_cache ? hashmap_get(b->creds_cache, sender) : NULL;

                if (c) {
                        uid = c->uid;
                        privileged = c->privileged;
                } else {
                        AuthQuery *q = calloc(1, sizeof(*q));
                        if (!q)
                                return -ENOMEM;
                        q->owner = b;
                        q->call = sd_bus_message_ref(msg);
                        q->handler = handler;
                        LIST_PREPEND(b->queries, q);
                        r = sd_bus_call_method_async(b->bus, &q->slot, "org.freedesktop.DBus",
                                                     "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                                     "GetConnectionCredentials", on_creds_reply, q, "s",
                                                     sender);
                        if (r < 0) {
                                auth_query_free(q);
                                return r;
                        }
                        return 0;
                }
        }

        if (asprintf(ret_actor, "uid:%u", (unsigned) uid) < 0)
                return -ENOMEM;
        /* A heartbeat may also come from the job itself: the uid it runs as. */
        if (!privileged && streq(action, "heartbeat") && job && job_runs_as(manager_get_job(b->manager, job), uid))
                privileged = true;
        if (!privileged) {
                manager_audit(b->manager, *ret_actor, action, job, "denied");
                free(*ret_actor);
                *ret_actor = NULL;
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Permission denied: changing calls need uid 0 or the group 'pmd'.");
        }
        return 1;
}

/* ---- org.pmd1.Manager ---------------------------------------------------------------------- */

static const char *job_state_string(Job *j) {
        return job_public_state_to_string(job_public_state(j));
}

static int method_list_jobs(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ Job **jobs = NULL;
        size_t n = 0;
        int r;

        r = manager_list_jobs(b->manager, &jobs, &n);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssuut)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                Job *j = jobs[i];
                JobRuntime *rt = job_runtime(j);

                r = sd_bus_message_append(reply, "(sssuut)", j->name, job_state_string(j),
                                          job_result_to_string(j->result), (uint32_t) j->main_pid,
                                          (uint32_t) j->restart_count,
                                          (uint64_t) (rt ? rt->state_change_realtime : 0));
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_job(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        _cleanup_free_ char *path = NULL;
        const char *name;
        int r;

        r = read_job_name(msg, &name, error);
        if (r < 0)
                return r;
        if (!manager_get_job(b->manager, name))
                return set_manager_error(error, -ENOENT, name);
        path = job_object_path(name);
        if (!path)
                return -ENOMEM;
        return sd_bus_reply_method_return(msg, "o", path);
}

/* ---- ReloadJob: the answer comes when the reload has ended, as with systemctl reload ---- */

static PendingReload *pending_reload_free(PendingReload *p) {
        PendingReload *next = p->next;

        sd_bus_message_unref(p->call);
        free(p->job);
        free(p);
        return next;
}

static int pending_reload_add(Bus *b, sd_bus_message *call, const char *name) {
        Job *j = manager_get_job(b->manager, name);
        PendingReload *p;

        if (!j)
                return -ENOENT;
        p = calloc(1, sizeof(PendingReload));
        if (!p || !(p->job = strdup(name))) {
                free(p);
                return -ENOMEM;
        }
        p->call = sd_bus_message_ref(call);
        p->ticket = j->reloads_ended + 1; /* the one just begun: one at a time */
        p->next = b->reloads;
        b->reloads = p;
        return 0;
}

static void pending_reload_answer(PendingReload *p, const Job *j) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!j)
                (void) sd_bus_error_setf(&error, SD_BUS_ERROR_FAILED, "Job '%s' was removed before its reload ended.",
                                         p->job);
        else if (j->reload_result == _JOB_RESULT_INVALID)
                (void) sd_bus_error_setf(&error, SD_BUS_ERROR_FAILED, "Job '%s' stopped before its reload ended.",
                                         p->job);
        else if (j->reload_result != JOB_SUCCESS)
                (void) sd_bus_error_setf(&error, SD_BUS_ERROR_FAILED, "Reload of job '%s' failed: %s.", p->job,
                                         job_result_to_string(j->reload_result));
        r = sd_bus_error_is_set(&error) ? sd_bus_reply_method_error(p->call, &error)
                                        : sd_bus_reply_method_return(p->call, NULL);
        if (r < 0) /* the caller went away meanwhile */
                log_debug_errno(r, "Failed to answer the reload of %s: %m", p->job);
}

/* After a change of the job: answer the calls whose reload has ended (or whose job is gone). */
static void pending_reloads_check(Bus *b, const JobChange *c) {
        for (PendingReload **pp = &b->reloads; *pp;) {
                PendingReload *p = *pp;
                Job *j = c->job;

                if (!streq(p->job, c->name) || (j && j->reloads_ended < p->ticket)) {
                        pp = &p->next;
                        continue;
                }
                pending_reload_answer(p, j);
                *pp = pending_reload_free(p);
        }
}

typedef enum JobVerb {
        VERB_START,
        VERB_STOP,
        VERB_RESTART,
        VERB_RELOAD,
        VERB_ENABLE,
        VERB_DISABLE,
} JobVerb;

static const char *const verb_action[] = {
        [VERB_START] = "start",
        [VERB_STOP] = "stop",
        [VERB_RESTART] = "restart",
        [VERB_RELOAD] = "reload-job",
        [VERB_ENABLE] = "enable",
        [VERB_DISABLE] = "disable",
};

static int job_verb(sd_bus_message *msg, Bus *b, JobVerb verb, sd_bus_message_handler_t self,
                    sd_bus_error *error) {
        _cleanup_free_ char *actor = NULL;
        const char *name;
        int r;

        r = read_job_name(msg, &name, error);
        if (r < 0)
                return r;
        r = bus_authorize(b, msg, self, verb_action[verb], name, &actor, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        switch (verb) {
        case VERB_START:
                r = manager_start_job(b->manager, name, actor);
                break;
        case VERB_STOP:
                r = manager_stop_job(b->manager, name, actor);
                break;
        case VERB_RESTART:
                r = manager_restart_job(b->manager, name, actor);
                break;
        case VERB_RELOAD:
                r = manager_reload_job(b->manager, name, actor);
                if (r == -EOPNOTSUPP)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                                 "Job '%s' has no ExecReload=.", name);
                if (r == -EBUSY)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                                 "Job '%s' is not running, or a reload of it is under way.", name);
                if (r >= 0 && pending_reload_add(b, msg, name) >= 0)
                        return 1; /* answered when the reload has ended */
                break;
        case VERB_ENABLE:
        case VERB_DISABLE:
                r = manager_enable_job(b->manager, name, verb == VERB_ENABLE, actor);
                break;
        default:
                assert_not_reached();
        }
        if (r < 0)
                return set_manager_error(error, r, name);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_start_job(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return job_verb(msg, userdata, VERB_START, method_start_job, error);
}

static int method_stop_job(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return job_verb(msg, userdata, VERB_STOP, method_stop_job, error);
}

static int method_restart_job(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return job_verb(msg, userdata, VERB_RESTART, method_restart_job, error);
}

static int method_reload_job(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return job_verb(msg, userdata, VERB_RELOAD, method_reload_job, error);
}

static int method_enable_job(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return job_verb(msg, userdata, VERB_ENABLE, method_enable_job, error);
}

static int method_disable_job(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return job_verb(msg, userdata, VERB_DISABLE, method_disable_job, error);
}

static int method_kill_job(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        _cleanup_free_ char *actor = NULL;
        const char *name;
        int32_t sig;
        int r;

        r = read_job_name(msg, &name, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "i", &sig);
        if (r < 0)
                return r;
        if (sig <= 0 || sig >= _NSIG)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "Invalid signal number %" PRIi32 ".", sig);
        r = bus_authorize(b, msg, method_kill_job, "kill", name, &actor, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_kill_job(b->manager, name, sig, actor);
        if (r < 0)
                return set_manager_error(error, r, name);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        _cleanup_free_ char *actor = NULL;
        int r;

        r = bus_authorize(b, msg, method_reload, "reload", NULL, &actor, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_reload(b->manager, actor);
        if (r < 0)
                return set_manager_error(error, r, NULL);
        return sd_bus_reply_method_return(msg, NULL);
}

/* RotateLogs(as names): rotate the named jobs' logs now; an empty list reopens the logs that were
 * moved away (what SIGUSR1 does, for an outside logrotate). */
static int method_rotate_logs(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        _cleanup_free_ char *actor = NULL;
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = sd_bus_message_read_strv(msg, &names);
        if (r < 0)
                return r;
        STRV_FOREACH(n, names)
                if (!job_name_is_valid(*n))
                        return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGS, "Invalid job name.");
        r = bus_authorize(b, msg, method_rotate_logs, "rotate-logs", names ? names[0] : NULL, &actor, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (strv_length(names) == 0)
                r = manager_rotate_logs(b->manager, NULL, actor);
        STRV_FOREACH(n, names) {
                r = manager_rotate_logs(b->manager, *n, actor);
                if (r < 0)
                        return set_manager_error(error, r, *n);
        }
        if (r < 0)
                return set_manager_error(error, r, NULL);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_reexecute(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        _cleanup_free_ char *actor = NULL;
        int r;

        r = bus_authorize(b, msg, method_reexecute, "reexec", NULL, &actor, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        /* Scheduled for after this iteration: the reply goes out before the exec. */
        r = manager_reexecute(b->manager, actor);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot re-execute: %s", strerror(-r));
        return sd_bus_reply_method_return(msg, NULL);
}

static int shutdown_verb(sd_bus_message *msg, Bus *b, const char *action, sd_bus_message_handler_t self,
                         sd_bus_error *error) {
        _cleanup_free_ char *actor = NULL;
        int r;

        r = bus_authorize(b, msg, self, action, NULL, &actor, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        /* Reply first: the shutdown may end the loop before the reply would be written. */
        r = sd_bus_reply_method_return(msg, NULL);
        if (r < 0)
                return r;
        /* Halt, power-off and reboot all stop every job and leave the loop with 0; a --boot pmd
         * then calls reboot(2), a container exits 0 (SPEC §6). */
        r = manager_shutdown_action(b->manager, pid1_action_from_string(action), actor);
        if (r < 0)
                log_warning_errno(r, "Failed to start %s requested over D-Bus: %m", action);
        return 1;
}

static int method_halt(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return shutdown_verb(msg, userdata, "halt", method_halt, error);
}

static int method_poweroff(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return shutdown_verb(msg, userdata, "poweroff", method_poweroff, error);
}

static int method_reboot(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return shutdown_verb(msg, userdata, "reboot", method_reboot, error);
}

static int method_heartbeat(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        _cleanup_free_ char *actor = NULL;
        const char *name, *status;
        int r;

        r = read_job_name(msg, &name, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "s", &status);
        if (r < 0)
                return r;
        if (strlen(status) > 4096)
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGS, "Status text too long (4096 bytes at most).");
        r = bus_authorize(b, msg, method_heartbeat, "heartbeat", name, &actor, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = manager_heartbeat(b->manager, name, "dbus", isempty(status) ? NULL : status, actor);
        if (r < 0)
                return set_manager_error(error, r, name);
        return sd_bus_reply_method_return(msg, NULL);
}

static int append_audit_entry(const RegistryAuditEntry *e, void *userdata) {
        sd_bus_message *reply = userdata;

        return sd_bus_message_append(reply, "(tssss)", (uint64_t) e->ts, e->actor ?: "", e->action ?: "",
                                     e->job ?: "", e->outcome ?: "");
}

static int method_list_audit(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *actor = NULL;
        Registry *reg;
        uint32_t n;
        int r;

        r = sd_bus_message_read(msg, "u", &n);
        if (r < 0)
                return r;
        /* Who did what is for administrators, as over HTTP (admin role). */
        r = bus_authorize(b, msg, method_list_audit, "audit-read", NULL, &actor, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (n == 0)
                n = AUDIT_LIST_DEFAULT;
        n = MIN(n, AUDIT_LIST_MAX);

        reg = manager_get_registry(b->manager);
        if (!reg)
                return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "The registry is not open.");
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(tssss)");
        if (r < 0)
                return r;
        r = registry_audit_list(reg, n, append_audit_entry, reply);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read the audit log: %m");
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Backup(h fd): the client opens the destination itself (with its own rights) and hands pmd the
 * fd, so a member of group pmd cannot make pmd write as root wherever it likes. pmd backs up into
 * its state directory, copies the result into the fd and removes its copy. */
static int copy_file_to_fd(const char *path, int out) {
        _cleanup_close_ int in = -EBADF;
        char buf[64 * 1024];
        ssize_t k;

        in = open(path, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return -errno;
        if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) < 0)
                return -errno;
        while ((k = read(in, buf, sizeof(buf))) != 0) {
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (ssize_t off = 0; off < k;) {
                        ssize_t w = write(out, buf + off, (size_t) (k - off));
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                return -errno;
                        }
                        off += w;
                }
        }
        if (fsync(out) < 0 && errno != EINVAL)
                return -errno;
        return 0;
}

static int method_backup(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const ManagerOptions *o = manager_get_options(b->manager);
        _cleanup_free_ char *actor = NULL, *tmp = NULL;
        Registry *reg;
        struct stat st;
        int fd, flags, r;

        r = sd_bus_message_read(msg, "h", &fd);
        if (r < 0)
                return r;
        r = bus_authorize(b, msg, method_backup, "backup", NULL, &actor, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        /* Only a regular file open for writing: a pipe or a FIFO could block the loop. */
        flags = fcntl(fd, F_GETFL);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || flags < 0 || (flags & O_ACCMODE) == O_RDONLY) {
                manager_audit(b->manager, actor, "backup", NULL, "invalid argument");
                return sd_bus_error_set(error, BUS_ERROR_INVALID_ARGS,
                                        "Backup needs a regular file opened for writing.");
        }
        reg = manager_get_registry(b->manager);
        if (!reg || !o || !o->state_dir)
                return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "The registry is not open.");
        if (asprintf(&tmp, "%s/.backup-%d-%" PRIu64 ".db", o->state_dir, (int) getpid(),
                     now_usec(CLOCK_MONOTONIC)) < 0)
                return -ENOMEM;
        r = registry_backup(reg, tmp);
        if (r >= 0)
                r = copy_file_to_fd(tmp, fd);
        (void) unlink(tmp);
        manager_audit(b->manager, actor, "backup", NULL, r < 0 ? strerror(-r) : "ok");
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Backup failed: %m");
        return sd_bus_reply_method_return(msg, NULL);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PMD_VERSION);
}

static int property_get_n_jobs(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) manager_n_jobs(b->manager));
}

/* Text that came from files or processes: D-Bus strings must be valid UTF-8, so invalid bytes
 * are shown as \xNN instead of failing the whole call. */
static int append_text(sd_bus_message *reply, const char *s) {
        _cleanup_free_ char *e = NULL;

        s = s ?: "";
        if (utf8_is_valid(s, strlen(s)))
                return sd_bus_message_append(reply, "s", s);
        e = utf8_escape_invalid(s);
        if (!e)
                return -ENOMEM;
        return sd_bus_message_append(reply, "s", e);
}

static int property_get_manager_string(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error) {
        Bus *b = userdata;
        const ManagerOptions *o = manager_get_options(b->manager);
        const char *v = NULL;

        if (o) {
                if (streq(property, "LogDir"))
                        v = o->log_dir;
                else if (streq(property, "StateDir"))
                        v = o->state_dir;
                else if (streq(property, "ControlSocket"))
                        v = o->socket_path;
        }
        return append_text(reply, v);
}

static int property_get_startup(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return sd_bus_message_append(reply, "t", (uint64_t) manager_get_startup_realtime(b->manager));
}

static int property_get_user_mode(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const ManagerOptions *o = manager_get_options(b->manager);
        return sd_bus_message_append(reply, "b", o && o->user_mode);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Jobs", "u", property_get_n_jobs, 0, 0),
        /* Extensions (pmd(8)): */
        SD_BUS_PROPERTY("LogDir", "s", property_get_manager_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("StateDir", "s", property_get_manager_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ControlSocket", "s", property_get_manager_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("StartupTimestamp", "t", property_get_startup, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UserMode", "b", property_get_user_mode, 0, SD_BUS_VTABLE_PROPERTY_CONST),

        SD_BUS_METHOD_WITH_ARGS("ListJobs", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssuut)", jobs),
                                method_list_jobs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetJob", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", job),
                                method_get_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StartJob", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_start_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StopJob", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_stop_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RestartJob", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_restart_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReloadJob", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_reload_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("KillJob", SD_BUS_ARGS("s", name, "i", signal), SD_BUS_NO_RESULT,
                                method_kill_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("EnableJob", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_enable_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DisableJob", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_disable_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", NULL, NULL, method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RotateLogs", SD_BUS_ARGS("as", names), SD_BUS_NO_RESULT, method_rotate_logs,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reexecute", NULL, NULL, method_reexecute, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Heartbeat", SD_BUS_ARGS("s", name, "s", status), SD_BUS_NO_RESULT,
                                method_heartbeat, SD_BUS_VTABLE_UNPRIVILEGED),
        /* Extensions (pmd(8)): */
        SD_BUS_METHOD_WITH_ARGS("ListAudit", SD_BUS_ARGS("u", n), SD_BUS_RESULT("a(tssss)", entries),
                                method_list_audit, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Backup", SD_BUS_ARGS("h", fd), SD_BUS_NO_RESULT,
                                method_backup, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Halt", NULL, NULL, method_halt, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("PowerOff", NULL, NULL, method_poweroff, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reboot", NULL, NULL, method_reboot, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("JobStateChanged", SD_BUS_ARGS("s", name, "s", state, "s", result,
                                "u", main_pid), 0),
        SD_BUS_VTABLE_END,
};

/* ---- org.pmd1.Job -------------------------------------------------------------------------- */

static int job_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret_found,
                    sd_bus_error *error) {
        Bus *b = userdata;
        _cleanup_free_ char *name = NULL;
        Job *j;

        if (sd_bus_path_decode(path, BUS_JOB_PREFIX, &name) <= 0 || !name_ok(name))
                return 0;
        j = manager_get_job(b->manager, name);
        if (!j)
                return 0;
        *ret_found = j;
        return 1;
}

static int job_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                         sd_bus_error *error) {
        Bus *b = userdata;
        _cleanup_free_ Job **jobs = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        int r;

        r = manager_list_jobs(b->manager, &jobs, &n);
        if (r < 0)
                return r;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                l[i] = job_object_path(jobs[i]->name);
                if (!l[i])
                        return -ENOMEM;
        }
        *ret_nodes = TAKE_PTR(l);
        return 0;
}

/* Job properties: one getter switching on the name keeps the table readable. */
static int job_property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        JobRuntime *rt = job_runtime(j);
        Manager *m = rt ? rt->manager : NULL;
        const JobConfig *c = j->config;

        if (streq(property, "Name"))
                return sd_bus_message_append(reply, "s", j->name);
        if (streq(property, "Description"))
                return append_text(reply, c ? c->description : NULL);
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", job_state_string(j));
        if (streq(property, "Result"))
                return sd_bus_message_append(reply, "s", job_result_to_string(j->result) ?: "");
        if (streq(property, "MainPID"))
                return sd_bus_message_append(reply, "u", (uint32_t) j->main_pid);
        if (streq(property, "ExitStatus")) {
                /* The exit status, 128+N for a signal N (as the entrypoint form exits), -1 before
                 * any run ended. */
                int32_t v = -1;
                if (j->exit_code == CLD_EXITED)
                        v = j->exit_status;
                else if (j->exit_code == CLD_KILLED || j->exit_code == CLD_DUMPED)
                        v = 128 + j->exit_status;
                return sd_bus_message_append(reply, "i", v);
        }
        if (streq(property, "RestartCount"))
                return sd_bus_message_append(reply, "u", (uint32_t) j->restart_count);
        if (streq(property, "StateChangeTimestamp"))
                return sd_bus_message_append(reply, "t", (uint64_t) (rt ? rt->state_change_realtime : 0));
        if (streq(property, "LastHeartbeatTimestamp"))
                return sd_bus_message_append(reply, "t", (uint64_t) (rt ? rt->last_heartbeat_realtime : 0));
        if (streq(property, "RunStartTimestamp"))
                return sd_bus_message_append(reply, "t", (uint64_t) (rt ? rt->run_start_realtime : 0));
        if (streq(property, "StatusText")) {
                const char *s = rt ? rt->status_text : NULL;
                if (!s && c)
                        s = c->error;
                return append_text(reply, s);
        }
        if (streq(property, "CPUUsageNSec") || streq(property, "MemoryCurrent")) {
                JobUsage u = { .cpu_nsec = UINT64_MAX, .memory_bytes = UINT64_MAX };
                if (m)
                        (void) manager_job_usage(m, j, &u);
                return sd_bus_message_append(reply, "t", streq(property, "MemoryCurrent") ? u.memory_bytes : u.cpu_nsec);
        }
        if (streq(property, "SourcePath"))
                return append_text(reply, c ? c->source_path : NULL);
        if (streq(property, "Enabled"))
                return sd_bus_message_append(reply, "b", rt ? rt->enabled : (c && c->auto_start));
        if (streq(property, "Type"))
                return sd_bus_message_append(reply, "s", c ? (service_type_to_string(c->type) ?: "") : "");
        if (streq(property, "TimeoutStartUSec"))
                return sd_bus_message_append(reply, "t", (uint64_t) (c ? c->timeout_start_usec : 0));
        if (streq(property, "TimeoutStopUSec"))
                return sd_bus_message_append(reply, "t", (uint64_t) (c ? c->timeout_stop_usec : 0));
        if (streq(property, "LogPath")) {
                const ManagerOptions *o = m ? manager_get_options(m) : NULL;
                _cleanup_free_ char *p = NULL;
                if (o && o->log_dir && asprintf(&p, "%s/%s.log", o->log_dir, j->name) < 0)
                        return -ENOMEM;
                return append_text(reply, p);
        }
        if (streq(property, "ExecStart")) {
                _cleanup_free_ char *s = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&s, &len);
                if (!f)
                        return -ENOMEM;
                for (size_t i = 0; c && i < c->exec_start.n; i++) {
                        const ExecCommand *e = &c->exec_start.commands[i];
                        if (i > 0)
                                fputs(" ; ", f);
                        if (e->flags & EXEC_COMMAND_IGNORE_FAILURE)
                                fputc('-', f);
                        if (e->flags & EXEC_COMMAND_ARGV0)
                                fprintf(f, "@%s ", e->path);
                        STRV_FOREACH(a, e->argv) {
                                if (a != e->argv)
                                        fputc(' ', f);
                                if (**a && !strpbrk(*a, " \t\n\"'\\$;"))
                                        fputs(*a, f);
                                else {
                                        fputc('"', f);
                                        for (const char *p = *a; *p; p++) {
                                                if (strchr("\"\\$", *p))
                                                        fputc('\\', f);
                                                fputc(*p, f);
                                        }
                                        fputc('"', f);
                                }
                        }
                }
                if (fclose(f) != 0)
                        return -ENOMEM;
                return append_text(reply, s);
        }
        return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "Unknown property %s.", property);
}

#define JOB_PROPERTY(name, sig, flags) SD_BUS_PROPERTY(name, sig, job_property_get, 0, flags)
#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable job_vtable[] = {
        SD_BUS_VTABLE_START(0),
        JOB_PROPERTY("Name", "s", SD_BUS_VTABLE_PROPERTY_CONST),
        JOB_PROPERTY("Description", "s", EMITS),
        JOB_PROPERTY("State", "s", EMITS),
        JOB_PROPERTY("Result", "s", EMITS),
        JOB_PROPERTY("MainPID", "u", EMITS),
        JOB_PROPERTY("ExitStatus", "i", EMITS),
        JOB_PROPERTY("RestartCount", "u", EMITS),
        JOB_PROPERTY("StateChangeTimestamp", "t", EMITS),
        JOB_PROPERTY("LastHeartbeatTimestamp", "t", EMITS),
        JOB_PROPERTY("StatusText", "s", EMITS),
        /* Sampled when read; announcing every tick would be noise. */
        JOB_PROPERTY("CPUUsageNSec", "t", 0),
        JOB_PROPERTY("MemoryCurrent", "t", 0),
        /* Extensions (pmd(8)): */
        JOB_PROPERTY("RunStartTimestamp", "t", EMITS),
        JOB_PROPERTY("ExecStart", "s", EMITS),
        JOB_PROPERTY("SourcePath", "s", EMITS),
        JOB_PROPERTY("Enabled", "b", EMITS),
        JOB_PROPERTY("Type", "s", EMITS),
        JOB_PROPERTY("TimeoutStartUSec", "t", EMITS),
        JOB_PROPERTY("TimeoutStopUSec", "t", EMITS),
        JOB_PROPERTY("LogPath", "s", SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

/* ---- connections --------------------------------------------------------------------------- */

static int bus_add_objects(Bus *b, sd_bus *bus) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, BUS_PATH, BUS_MANAGER_IFACE, manager_vtable, b);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(bus, NULL, BUS_JOB_PREFIX, BUS_JOB_IFACE, job_vtable, job_find, b);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(bus, NULL, BUS_JOB_PREFIX, job_enumerate, b);
        if (r < 0)
                return r;
        return sd_bus_add_object_manager(bus, NULL, BUS_PATH);
}

static int private_conn_free_cb(sd_event_source *s, void *userdata);

static PrivateConn *private_conn_free(PrivateConn *c) {
        if (!c)
                return NULL;
        LIST_REMOVE(c->owner->conns, c);
        c->owner->n_conns--;
        sd_event_source_unref(c->auth_timer);
        sd_event_source_unref(c->free_source);
        if (c->bus) {
                (void) sd_bus_detach_event(c->bus);
                sd_bus_close_unref(c->bus);
        }
        free(c);
        return NULL;
}

/* Closes now, frees on the next loop iteration: dropping may happen inside the connection's own
 * callbacks (a slow reader found while emitting a signal during one of its calls). */
static void private_conn_drop(PrivateConn *c) {
        if (c->free_source)
                return;
        sd_bus_close(c->bus);
        if (sd_event_add_defer(c->owner->event, &c->free_source, private_conn_free_cb, c) < 0)
                c->free_source = NULL; /* freed with the Bus then */
}

static int private_conn_free_cb(sd_event_source *s, void *userdata) {
        private_conn_free(userdata);
        return 0;
}

static int on_private_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        private_conn_drop(userdata);
        return 0;
}

static int on_private_auth_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        PrivateConn *c = userdata;

        c->auth_timer = sd_event_source_unref(c->auth_timer);
        if (sd_bus_is_ready(c->bus) <= 0) {
                log_debug("Private connection did not authenticate in time, closing it.");
                private_conn_drop(c);
        }
        return 0;
}

static int private_conn_new(Bus *b, int fd) {
        _cleanup_close_ int fd_close = fd;
        PrivateConn *c;
        sd_id128_t id;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->owner = b;
        LIST_PREPEND(b->conns, c);
        b->n_conns++;

        r = sd_bus_new(&c->bus);
        if (r < 0)
                goto fail;
        r = sd_bus_set_fd(c->bus, fd, fd);
        if (r < 0)
                goto fail;
        TAKE_FD(fd_close);
        r = sd_id128_randomize(&id);
        if (r < 0)
                goto fail;
        r = sd_bus_set_server(c->bus, true, id);
        if (r < 0)
                goto fail;
        /* Identity comes from SO_PEERCRED, not from the AUTH line, so any AUTH is fine. */
        r = sd_bus_set_anonymous(c->bus, true);
        if (r < 0)
                goto fail;
        r = sd_bus_negotiate_fds(c->bus, true);
        if (r < 0)
                goto fail;
        r = sd_bus_set_description(c->bus, "private");
        if (r < 0)
                goto fail;
        r = bus_add_objects(b, c->bus);
        if (r < 0)
                goto fail;
        r = sd_bus_match_signal(c->bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_private_disconnected, c);
        if (r < 0)
                goto fail;
        r = sd_bus_start(c->bus);
        if (r < 0)
                goto fail;
        r = sd_bus_attach_event(c->bus, b->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                goto fail;
        r = sd_event_add_time_relative(b->event, &c->auth_timer, CLOCK_MONOTONIC, PRIVATE_AUTH_TIMEOUT_USEC,
                                       USEC_PER_SEC / 10, on_private_auth_timeout, c);
        if (r < 0)
                goto fail;
        return 0;

fail:
        private_conn_free(c);
        return r;
}

static int on_private_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Bus *b = userdata;

        for (unsigned i = 0; i < ACCEPT_BURST_MAX; i++) {
                int cfd, r;

                cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        log_warning_errno(errno, "Failed to accept a private connection, ignoring: %m");
                        return 0;
                }
                if (b->n_conns >= PRIVATE_CONNECTIONS_MAX) {
                        /* Make room by closing the oldest client that never authenticated, so
                         * that silent clients cannot lock out a real one; else refuse. */
                        PrivateConn *victim = NULL;
                        for (PrivateConn *c = b->conns; c; c = c->next)
                                if (!c->free_source && sd_bus_is_ready(c->bus) <= 0)
                                        victim = c; /* the list is newest first: keep the last */
                        if (!victim) {
                                log_debug("Too many private connections (%u), refusing one.", b->n_conns);
                                safe_close(cfd);
                                continue;
                        }
                        log_debug("Too many private connections, closing the oldest unauthenticated one.");
                        private_conn_free(victim); /* not inside its callbacks: free at once */
                }
                r = private_conn_new(b, cfd);
                if (r < 0)
                        log_warning_errno(r, "Failed to set up a private connection, ignoring: %m");
        }
        return 0;
}

static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        return 0;
}

static int private_listen(Bus *b) {
        union {
                struct sockaddr sa;
                struct sockaddr_un un;
        } sa = { .un.sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        mode_t old_umask;
        int r;

        if (strlen(b->socket_path) >= sizeof(sa.un.sun_path))
                return log_error_errno(ENAMETOOLONG, "Control socket path too long: %s", b->socket_path);
        strcpy(sa.un.sun_path, b->socket_path);

        r = mkdir_parents(b->socket_path, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create the directory of %s: %m", b->socket_path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create the control socket: %m");
        /* A stale socket of an earlier pmd would make bind fail. */
        (void) unlink(b->socket_path);
        /* The socket is born 0660: no window where anyone else may connect. */
        old_umask = umask(0117);
        r = bind(fd, &sa.sa, sizeof(sa.un));
        umask(old_umask);
        if (r < 0)
                return log_error_errno(errno, "Failed to bind %s: %m", b->socket_path);
        if (b->have_pmd_group && chown(b->socket_path, (uid_t) -1, b->pmd_gid) < 0)
                log_warning_errno(errno, "Failed to give %s to group pmd, ignoring: %m", b->socket_path);
        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "Failed to listen on %s: %m", b->socket_path);

        r = sd_event_add_io(b->event, &b->listen_source, fd, EPOLLIN, on_private_accept, b);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the control socket: %m");
        b->listen_fd = TAKE_FD(fd);
        return 0;
}

static int on_bus_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;

        log_warning("Lost the connection to the bus; carrying on with the private socket only.");
        /* Pending credential queries die with the bus. */
        while (b->queries)
                auth_query_free(b->queries);
        b->disconnect_slot = sd_bus_slot_unref(b->disconnect_slot);
        (void) sd_bus_detach_event(b->bus);
        /* The bus is inside its own callback here; sd-bus keeps it alive until it returns. */
        b->bus = sd_bus_close_unref(b->bus);
        return 0;
}

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_warning("Failed to take the bus name " BUS_NAME ": %s", e->message ?: e->name);
        else
                log_debug("Acquired the bus name " BUS_NAME ".");
        return 0;
}

static int bus_connect(Bus *b) {
        const ManagerOptions *o = manager_get_options(b->manager);
        const char *what = o ? o->bus : NULL;
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        bool explicit = what != NULL;
        int r;

        if (what && streq(what, "none"))
                return 0;
        if (!what)
                what = (o && o->user_mode) ? "user" : "system";

        if (streq(what, "system"))
                r = sd_bus_open_system(&bus);
        else if (streq(what, "user"))
                r = sd_bus_open_user(&bus);
        else {
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_address(bus, what);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, true);
                if (r >= 0)
                        r = sd_bus_start(bus);
        }
        if (r < 0) {
                /* Not fatal (SPEC §6): the private socket is always there. */
                log_full_errno(explicit ? LOG_WARNING : LOG_INFO, r,
                               "Cannot connect to the %s bus, carrying on without it: %m",
                               explicit ? what : (o && o->user_mode ? "user" : "system"));
                return 0;
        }

        r = bus_add_objects(b, bus);
        if (r < 0)
                return log_error_errno(r, "Failed to register bus objects: %m");
        r = sd_bus_match_signal(bus, &b->disconnect_slot, "org.freedesktop.DBus.Local", NULL,
                                "org.freedesktop.DBus.Local", "Disconnected", on_bus_disconnected, b);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the bus connection: %m");
        r = sd_bus_request_name_async(bus, NULL, BUS_NAME, 0, on_name_acquired, b);
        if (r < 0) {
                log_warning_errno(r, "Failed to request the bus name " BUS_NAME ", carrying on without the bus: %m");
                b->disconnect_slot = sd_bus_slot_unref(b->disconnect_slot);
                return 0;
        }
        r = sd_bus_attach_event(bus, b->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        b->bus = TAKE_PTR(bus);
        return 0;
}

/* ---- announcing changes -------------------------------------------------------------------- */

/* The object manager's signals, for a job that a reload added or removed. */
static void emit_job_added_removed(sd_bus *bus, const JobChange *c, const char *path) {
        int r = 0;

        if (c->kind == JOB_CHANGE_REMOVED)
                r = sd_bus_emit_interfaces_removed(bus, path, BUS_JOB_IFACE, NULL);
        else if (c->kind == JOB_CHANGE_ADDED && c->job)
                r = sd_bus_emit_interfaces_added(bus, path, BUS_JOB_IFACE, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to announce the %s of %s: %m",
                                c->kind == JOB_CHANGE_ADDED ? "addition" : "removal", c->name);
}

static void emit_job_changed(sd_bus *bus, const JobChange *c, const char *path) {
        int r;

        r = sd_bus_emit_signal(bus, BUS_PATH, BUS_MANAGER_IFACE, "JobStateChanged", "sssu", c->name,
                               job_public_state_to_string(c->state), job_result_to_string(c->result) ?: "",
                               (uint32_t) c->pid);
        /* The job's object only while there is one. */
        if (r >= 0 && c->job)
                r = sd_bus_emit_properties_changed(bus, path, BUS_JOB_IFACE, "State", "Result", "MainPID",
                                                   "ExitStatus", "RestartCount", "StateChangeTimestamp",
                                                   "LastHeartbeatTimestamp", "StatusText",
                                                   "RunStartTimestamp", "Enabled", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to announce the state of %s: %m", c->name);
}

static void on_job_changed(Manager *m, const JobChange *j, void *userdata) {
        Bus *b = userdata;
        _cleanup_free_ char *path = job_object_path(j->name);

        pending_reloads_check(b, j);
        if (!path)
                return;
        if (b->bus && sd_bus_is_ready(b->bus) > 0) {
                emit_job_added_removed(b->bus, j, path);
                emit_job_changed(b->bus, j, path);
        }
        for (PrivateConn *c = b->conns, *next; c; c = next) {
                uint64_t queued = 0;

                next = c->next;
                if (c->free_source || sd_bus_is_ready(c->bus) <= 0)
                        continue;
                /* A client that stopped reading would make pmd queue without end. */
                if (sd_bus_get_n_queued_write(c->bus, &queued) >= 0 && queued >= PRIVATE_WRITE_QUEUE_MAX) {
                        log_warning("A control client stopped reading (%" PRIu64 " messages queued), dropping it.",
                                    queued);
                        private_conn_drop(c);
                        continue;
                }
                emit_job_added_removed(c->bus, j, path);
                emit_job_changed(c->bus, j, path);
        }
}

/* ---- setup and teardown -------------------------------------------------------------------- */

int bus_setup(Manager *m, Bus **ret) {
        _cleanup_(bus_freep) Bus *b = NULL;
        const ManagerOptions *o = manager_get_options(m);
        struct group gr, *grp = NULL;
        char buf[4096];
        int r;

        assert(m);
        assert(ret);

        b = calloc(1, sizeof(*b));
        if (!b)
                return log_oom();
        b->manager = m;
        b->listen_fd = -EBADF;
        b->event = sd_event_ref(manager_get_event(m));

        if (getgrnam_r("pmd", &gr, buf, sizeof(buf), &grp) == 0 && grp) {
                b->have_pmd_group = true;
                b->pmd_gid = grp->gr_gid;
        }

        if (o && o->socket_path)
                b->socket_path = strdup(o->socket_path);
        else {
                const char *rt = getenv("XDG_RUNTIME_DIR");
                if (o && o->user_mode && rt)
                        r = asprintf(&b->socket_path, "%s/pmd/private", rt);
                else
                        r = asprintf(&b->socket_path, "/run/pmd/private");
                if (r < 0)
                        b->socket_path = NULL;
        }
        if (!b->socket_path)
                return log_oom();

        /* Each face that cannot start is left off alone: the bus without the socket, or the other
         * way round. */
        (void) private_listen(b); /* both log what went wrong */
        (void) bus_connect(b);
        r = manager_add_observer(m, on_job_changed, b);
        if (r < 0)
                return log_error_errno(r, "Failed to watch job state changes: %m");

        *ret = TAKE_PTR(b);
        return 0;
}

Bus *bus_free(Bus *b) {
        if (!b)
                return NULL;

        while (b->queries)
                auth_query_free(b->queries);
        while (b->reloads)
                b->reloads = pending_reload_free(b->reloads);
        while (b->conns)
                private_conn_free(b->conns);
        b->disconnect_slot = sd_bus_slot_unref(b->disconnect_slot);
        if (b->bus) {
                (void) sd_bus_detach_event(b->bus);
                /* No flush: pmd never blocks on a peer, and a reply is written when it is sent. */
                sd_bus_close_unref(b->bus);
        }
        sd_event_source_unref(b->listen_source);
        if (b->listen_fd >= 0) {
                safe_close(b->listen_fd);
                (void) unlink(b->socket_path);
        }
        if (b->creds_cache) {
                size_t i = 0;
                void *v;
                while (hashmap_iterate(b->creds_cache, &i, &v, NULL)) {
                        free(((CachedCreds *) v)->sender);
                        free(v);
                }
                hashmap_free(b->creds_cache);
        }
        free(b->socket_path);
        sd_event_unref(b->event);
        free(b);
        return NULL;
}
