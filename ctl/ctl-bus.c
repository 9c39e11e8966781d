/* pmctl's connection to pmd and the view of jobs over it. pmd is found on the private socket of
 * the current mode first (/run/pmd/private as root, $XDG_RUNTIME_DIR/pmd/private with --user),
 * which works in a container with no bus, then on the bus where pmd owns org.pmd1; --socket and
 * --bus choose one. D-Bus errors are turned into words and into the exit status of SPEC §9. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "strv.h"

static sd_bus *ctl_connection = NULL;
static bool ctl_is_private = false;
static bool ctl_quiet = false;

void ctl_bus_set_quiet(bool quiet) {
        ctl_quiet = quiet;
}

/* A connection error: reported unless quiet. */
#define connect_error(...) (ctl_quiet ? 0 : ctl_error(0, __VA_ARGS__))

int ctl_error(int ret, const char *fmt, ...) {
        va_list ap;

        fputs("pmctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return ret;
}

static int connect_private(const char *path, sd_bus **ret) {
        union {
                struct sockaddr sa;
                struct sockaddr_un un;
        } sa = { .un.sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        sd_bus *bus = NULL;
        int r;

        if (strlen(path) >= sizeof(sa.un.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.un.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, &sa.sa, sizeof(sa.un)) < 0)
                return -errno;
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_fd(bus, fd, fd);
        if (r < 0)
                goto fail;
        TAKE_FD(fd);
        r = sd_bus_negotiate_fds(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                goto fail;
        *ret = bus;
        return 0;
fail:
        sd_bus_unref(bus);
        return r;
}

static int connect_bus(const char *what, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        if (streq(what, "system"))
                return sd_bus_open_system(ret);
        if (streq(what, "user"))
                return sd_bus_open_user(ret);
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, what);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

static char *default_socket_path(void) {
        char *p = NULL;

        if (arg_user) {
                /* As pmd --user picks it: $XDG_RUNTIME_DIR, else /run/user/UID. */
                const char *rt = getenv("XDG_RUNTIME_DIR");
                if (rt && *rt ? asprintf(&p, "%s/pmd/private", rt) < 0 :
                                asprintf(&p, "/run/user/%u/pmd/private", (unsigned) getuid()) < 0)
                        return NULL;
                return p;
        }
        return strdup("/run/pmd/private");
}

sd_bus *ctl_bus(void) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (ctl_connection)
                return ctl_connection;

        if (arg_socket) {
                r = connect_private(arg_socket, &ctl_connection);
                if (r < 0) {
                        connect_error("cannot reach pmd at %s: %s", arg_socket, strerror(-r));
                        return NULL;
                }
                ctl_is_private = true;
                return ctl_connection;
        }
        if (arg_bus && !streq(arg_bus, "none")) {
                r = connect_bus(arg_bus, &ctl_connection);
                if (r < 0) {
                        connect_error("cannot reach pmd on the bus %s: %s", arg_bus, strerror(-r));
                        return NULL;
                }
                return ctl_connection;
        }

        path = default_socket_path();
        if (path) {
                r = connect_private(path, &ctl_connection);
                if (r >= 0) {
                        ctl_is_private = true;
                        return ctl_connection;
                }
                if (arg_verbose)
                        connect_error("private socket %s: %s, trying the bus", path, strerror(-r));
        } else
                r = -ENXIO;
        if (arg_bus) /* "none": the private socket only */ {
                connect_error("cannot reach pmd at %s: %s", path ?: "(no XDG_RUNTIME_DIR)", strerror(-r));
                return NULL;
        }

        {
                int k = connect_bus(arg_user ? "user" : "system", &ctl_connection);
                if (k < 0) {
                        if (r == -EACCES || r == -EPERM)
                                connect_error("cannot reach pmd: %s: permission denied (need root or group pmd), "
                                          "and no bus: %s", path, strerror(-k));
                        else
                                connect_error("cannot reach pmd: %s: %s, and no %s bus: %s",
                                          path ?: "(no XDG_RUNTIME_DIR)", strerror(-r),
                                          arg_user ? "user" : "system", strerror(-k));
                        return NULL;
                }
        }
        return ctl_connection;
}

void ctl_bus_close(void) {
        ctl_connection = sd_bus_flush_close_unref(ctl_connection);
}

const char *ctl_destination(void) {
        return ctl_is_private ? NULL : PMD_BUS_NAME;
}

int ctl_call(const char *member, sd_bus_error *error, sd_bus_message **ret_reply, const char *types, ...) {
        sd_bus *bus = ctl_bus();
        va_list ap;
        int r;

        if (!bus)
                return -ENOTCONN;
        va_start(ap, types);
        r = sd_bus_call_methodv(bus, ctl_destination(), PMD_BUS_PATH, PMD_MANAGER_IFACE, member, error,
                                ret_reply, types, ap);
        va_end(ap);
        return r;
}

int ctl_get_manager_property(const char *property, char type, void *ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus *bus = ctl_bus();
        char sig[2] = { type, 0 };
        int r;

        if (!bus)
                return -ENOTCONN;
        r = sd_bus_get_property(bus, ctl_destination(), PMD_BUS_PATH, PMD_MANAGER_IFACE, property, error,
                                &reply, sig);
        if (r < 0)
                return r;
        if (type == 's') {
                const char *s;
                r = sd_bus_message_read(reply, "s", &s);
                if (r < 0)
                        return r;
                *(char **) ret = strdup(s);
                return *(char **) ret ? 0 : -ENOMEM;
        }
        return sd_bus_message_read_basic(reply, type, ret);
}

static const char *error_in_words(const sd_bus_error *e, int r, int *ret_exit) {
        *ret_exit = CTL_EXIT_FAILED;
        if (e && e->name) {
                if (streq(e->name, SD_BUS_ERROR_ACCESS_DENIED))
                        return "permission denied (need root or group pmd)";
                if (streq(e->name, "org.pmd1.Error.NoSuchJob")) {
                        *ret_exit = CTL_EXIT_NO_SUCH_JOB;
                        return "no such job";
                }
                if (streq(e->name, "org.pmd1.Error.InvalidArgs") || streq(e->name, SD_BUS_ERROR_INVALID_ARGS)) {
                        *ret_exit = CTL_EXIT_USAGE;
                        return e->message ?: "invalid argument";
                }
                if (streq(e->name, SD_BUS_ERROR_NOT_SUPPORTED))
                        return e->message ?: "not supported by this pmd";
                if (streq(e->name, SD_BUS_ERROR_SERVICE_UNKNOWN) || streq(e->name, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                        *ret_exit = CTL_EXIT_UNREACHABLE;
                        return "pmd is not running (nobody owns org.pmd1 on the bus)";
                }
                if (streq(e->name, SD_BUS_ERROR_NO_REPLY) || streq(e->name, SD_BUS_ERROR_TIMEOUT)) {
                        *ret_exit = CTL_EXIT_UNREACHABLE;
                        return "pmd did not answer in time";
                }
                if (streq(e->name, SD_BUS_ERROR_DISCONNECTED)) {
                        *ret_exit = CTL_EXIT_UNREACHABLE;
                        return "lost the connection to pmd";
                }
                if (streq(e->name, SD_BUS_ERROR_UNKNOWN_METHOD) || streq(e->name, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
                    streq(e->name, SD_BUS_ERROR_UNKNOWN_INTERFACE))
                        return "this pmd does not know that call (a different version?)";
                if (e->message)
                        return e->message;
        }
        switch (r) {
        case -ECONNRESET:
        case -ENOTCONN:
        case -EPIPE:
        case -ECONNREFUSED:
        case -ENOENT:
                *ret_exit = CTL_EXIT_UNREACHABLE;
                return "lost the connection to pmd";
        case -ETIMEDOUT:
                *ret_exit = CTL_EXIT_UNREACHABLE;
                return "pmd did not answer in time";
        default:
                return strerror(r < 0 ? -r : r);
        }
}

bool ctl_report_job_error(const sd_bus_error *error, int r, const char *job, int *ret) {
        int k = ctl_report_error(error, r, "%s", job);

        if (*ret != CTL_EXIT_NO_SUCH_JOB && *ret != CTL_EXIT_UNREACHABLE)
                *ret = k;
        return k == CTL_EXIT_UNREACHABLE;
}

int ctl_report_error(const sd_bus_error *error, int r, const char *fmt, ...) {
        int ret;
        const char *words = error_in_words(error, r, &ret);
        va_list ap;

        fputs("pmctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s", words);
        if (arg_verbose && error && error->name)
                fprintf(stderr, " [%s%s%s]", error->name, error->message ? ": " : "", error->message ?: "");
        fputc('\n', stderr);
        return ret;
}

/* ---- jobs ------------------------------------------------------------------------------------ */

void job_info_done(JobInfo *j) {
        free(j->path);
        free(j->name);
        free(j->description);
        free(j->state);
        free(j->result);
        free(j->status_text);
        free(j->exec_start);
        free(j->source_path);
        free(j->log_path);
        free(j->type);
        *j = (JobInfo) {};
}

static int read_variant_string(sd_bus_message *m, char **s) {
        const char *v;
        int r;

        r = sd_bus_message_read(m, "v", "s", &v);
        if (r < 0)
                return r;
        free(*s);
        *s = strdup(v);
        return *s ? 0 : -ENOMEM;
}

int job_info_read(sd_bus_message *m, JobInfo *j) {
        static const struct {
                const char *name;
                char type;
                size_t offset;
        } map[] = {
                { "Name", 's', offsetof(JobInfo, name) },
                { "Description", 's', offsetof(JobInfo, description) },
                { "State", 's', offsetof(JobInfo, state) },
                { "Result", 's', offsetof(JobInfo, result) },
                { "StatusText", 's', offsetof(JobInfo, status_text) },
                { "ExecStart", 's', offsetof(JobInfo, exec_start) },
                { "SourcePath", 's', offsetof(JobInfo, source_path) },
                { "LogPath", 's', offsetof(JobInfo, log_path) },
                { "Type", 's', offsetof(JobInfo, type) },
                { "MainPID", 'u', offsetof(JobInfo, main_pid) },
                { "RestartCount", 'u', offsetof(JobInfo, restart_count) },
                { "ExitStatus", 'i', offsetof(JobInfo, exit_status) },
                { "StateChangeTimestamp", 't', offsetof(JobInfo, state_change_ts) },
                { "LastHeartbeatTimestamp", 't', offsetof(JobInfo, last_heartbeat_ts) },
                { "RunStartTimestamp", 't', offsetof(JobInfo, run_start_ts) },
                { "CPUUsageNSec", 't', offsetof(JobInfo, cpu_nsec) },
                { "MemoryCurrent", 't', offsetof(JobInfo, memory) },
                { "TimeoutStartUSec", 't', offsetof(JobInfo, timeout_start_usec) },
                { "TimeoutStopUSec", 't', offsetof(JobInfo, timeout_stop_usec) },
                { "Enabled", 'b', offsetof(JobInfo, enabled) },
        };
        int r;

        j->exit_status = -1;
        j->cpu_nsec = j->memory = UINT64_MAX;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;
                size_t i;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                for (i = 0; i < ELEMENTSOF(map); i++)
                        if (streq(map[i].name, key))
                                break;
                if (i == ELEMENTSOF(map))
                        r = sd_bus_message_skip(m, "v");
                else if (map[i].type == 's')
                        r = read_variant_string(m, (char **) ((uint8_t *) j + map[i].offset));
                else if (map[i].type == 'b') {
                        int b;
                        char sig[2] = { 'b', 0 };
                        r = sd_bus_message_read(m, "v", sig, &b);
                        if (r >= 0)
                                *(bool *) ((uint8_t *) j + map[i].offset) = b;
                } else {
                        char sig[2] = { map[i].type, 0 };
                        r = sd_bus_message_enter_container(m, 'v', sig);
                        if (r >= 0)
                                r = sd_bus_message_read_basic(m, map[i].type, (uint8_t *) j + map[i].offset);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int job_info_get(const char *name, JobInfo *ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        JobInfo j = {};
        const char *path;
        int r;

        r = ctl_call("GetJob", error, &reply, "s", name);
        if (r < 0)
                return (error && sd_bus_error_has_name(error, "org.pmd1.Error.NoSuchJob")) ? -ENOENT : r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        j.path = strdup(path);
        if (!j.path)
                return -ENOMEM;
        reply = sd_bus_message_unref(reply);
        r = sd_bus_call_method(ctl_bus(), ctl_destination(), j.path, "org.freedesktop.DBus.Properties", "GetAll",
                               error, &reply, "s", PMD_JOB_IFACE);
        if (r >= 0)
                r = job_info_read(reply, &j);
        if (r < 0) {
                job_info_done(&j);
                return r;
        }
        *ret = j;
        return 0;
}

void job_info_list_free(JobInfo *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                job_info_done(&l[i]);
        free(l);
}

static int job_info_cmp(const void *a, const void *b) {
        const JobInfo *x = a, *y = b;
        return strcmp(x->name ?: "", y->name ?: "");
}

int job_info_list(JobInfo **ret, size_t *ret_n, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        JobInfo *l = NULL;
        size_t n = 0, allocated = 0;
        int r;

        if (!ctl_bus())
                return -ENOTCONN;
        r = sd_bus_call_method(ctl_bus(), ctl_destination(), PMD_BUS_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", error, &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                goto fail;
        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                const char *path;

                r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                if (r < 0)
                        goto fail;
                while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        const char *iface;

                        r = sd_bus_message_read(reply, "s", &iface);
                        if (r < 0)
                                goto fail;
                        if (streq(iface, PMD_JOB_IFACE)) {
                                if (GREEDY_REALLOC(l, allocated, n + 1, 16) < 0) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                l[n] = (JobInfo) {};
                                l[n].path = strdup(path);
                                n++;
                                r = job_info_read(reply, &l[n - 1]);
                        } else
                                r = sd_bus_message_skip(reply, "a{sv}");
                        if (r < 0)
                                goto fail;
                        r = sd_bus_message_exit_container(reply);
                        if (r < 0)
                                goto fail;
                }
                if (r < 0)
                        goto fail;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        goto fail;
        }
        if (r < 0)
                goto fail;
        if (n > 0)
                qsort(l, n, sizeof(JobInfo), job_info_cmp);
        *ret = l;
        *ret_n = n;
        return 0;
fail:
        job_info_list_free(l, n);
        return r;
}
