/* Re-execution: pmd's state across an execve() of its own binary, so that pmd can be upgraded in
 * place, PID 1 included, without a job noticing.
 *
 * Why it works: an exec keeps the pid, so every child is still pmd's child (still reaped by the
 * SIGCHLD source of the new image, which finds a zombie that died during the exec as well, since
 * SIGCHLD stays blocked and pending across it); CLOCK_MONOTONIC does not jump, so a deadline
 * written as a number is still the same deadline; and an fd without O_CLOEXEC survives, under the
 * same number. So the old image writes numbers and fd numbers as text to a memfd, and the new one
 * reads them back before any job could be started: a job found in the state is adopted exactly as
 * it was (state, pids, pidfds, timer, restart counters, run row in the registry), never started.
 *
 * Everything else the old image had is closed by the exec (every pmd fd is O_CLOEXEC): the loop,
 * the registry connection (its open batch is committed first), the lock on the state directory
 * (released at the exec, taken again by the new image). Modules that own something that must live
 * on (the notify socket, log pipes, the HTTP listener, bus connections) register a hook and take
 * their fds back at setup; see serialize.h.
 *
 * The exec runs from a defer source after the iteration that asked for it, so that the reply to a
 * D-Bus caller goes out first. A failure there (serialization, or execve itself) has no caller
 * left to return to: it is logged and audited here, every duplicated fd is closed, and pmd goes on
 * in the old image as if nothing happened. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec.h"
#include "manager.h"
#include "serialize.h"
#include "util/log.h"
#include "util/strv.h"

#define SERIALIZE_MAGIC "pmd-serialization 1"
#define SERIALIZE_SIZE_MAX (256u * 1024 * 1024)
#define SECTION_FDS "serialize"

typedef struct Hook {
        char *section;
        SerializeHook func;
        void *userdata;
} Hook;

typedef struct Entry {
        char *key, *value;
} Entry;

typedef struct Section {
        char *name;
        Entry *entries;
        size_t n, n_alloc;
        size_t next_fd; /* deserialize_take_fd(): entries before this were looked at */
} Section;

typedef struct PassedFd {
        int fd;
        bool taken;
} PassedFd;

struct Reexec {
        Hook *hooks;
        size_t n_hooks;

        /* The new image's view of the old one's state, until the first loop iteration. */
        bool active;
        Hashmap *sections; /* name → Section */
        Section **section_list;
        size_t n_sections;
        PassedFd *fds;
        size_t n_fds;
        sd_event_source *finish_source;

        sd_event_source *exec_source;
        char *actor;
};

struct Serializer {
        FILE *f;
        int *fds;
        size_t n_fds;
};

Reexec *reexec_new(void) {
        return calloc(1, sizeof(Reexec));
}

static void sections_free(Reexec *r) {
        for (size_t i = 0; i < r->n_sections; i++) {
                Section *s = r->section_list[i];
                for (size_t k = 0; k < s->n; k++) {
                        free(s->entries[k].key);
                        free(s->entries[k].value);
                }
                free(s->entries);
                free(s->name);
                free(s);
        }
        free(r->section_list);
        r->section_list = NULL;
        r->n_sections = 0;
        r->sections = hashmap_free(r->sections);
}

static void passed_fds_close(Reexec *r) {
        for (size_t i = 0; i < r->n_fds; i++)
                if (!r->fds[i].taken)
                        safe_close(r->fds[i].fd);
        free(r->fds);
        r->fds = NULL;
        r->n_fds = 0;
}

Reexec *reexec_free(Reexec *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_hooks; i++)
                free(r->hooks[i].section);
        free(r->hooks);
        sections_free(r);
        passed_fds_close(r);
        sd_event_source_disable_unref(r->finish_source);
        sd_event_source_disable_unref(r->exec_source);
        free(r->actor);
        free(r);
        return NULL;
}

/* ---- writing ---- */

static void put_escaped(FILE *f, const char *v) {
        for (const char *p = v; *p; p++) {
                if (*p == '\\')
                        fputs("\\\\", f);
                else if (*p == '\n')
                        fputs("\\n", f);
                else
                        fputc(*p, f);
        }
}

int serialize_item(Serializer *s, const char *key, const char *value) {
        assert(s && key);
        if (!value)
                return 0;
        if (strchr(key, '=') || strchr(key, '\n') || key[0] == '[')
                return -EINVAL;
        fputs(key, s->f);
        fputc('=', s->f);
        put_escaped(s->f, value);
        fputc('\n', s->f);
        return ferror(s->f) ? -EIO : 0;
}

int serialize_item_format(Serializer *s, const char *key, const char *fmt, ...) {
        _cleanup_free_ char *v = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&v, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return serialize_item(s, key, v);
}

int serialize_fd(Serializer *s, const char *key, int fd) {
        int copy, *a;

        if (fd < 0)
                return 0;
        /* A duplicate without O_CLOEXEC: the original keeps its flag, in case the exec fails. */
        copy = fcntl(fd, F_DUPFD, 3);
        if (copy < 0)
                return -errno;
        a = realloc(s->fds, (s->n_fds + 1) * sizeof(int));
        if (!a) {
                safe_close(copy);
                return -ENOMEM;
        }
        s->fds = a;
        s->fds[s->n_fds++] = copy;
        return serialize_item_format(s, key, "%d", copy);
}

int serialize_register(Manager *m, const char *section, SerializeHook hook, void *userdata) {
        Reexec *r = manager_get_reexec(m);
        Hook *h;

        assert(section && hook);
        if (!r)
                return -ENOMEM;
        if (streq(section, "manager") || streq(section, SECTION_FDS) || strneq(section, "job ", 4) ||
            strchr(section, ']') || strchr(section, '\n'))
                return -EINVAL;
        for (size_t i = 0; i < r->n_hooks; i++)
                if (streq(r->hooks[i].section, section))
                        return -EEXIST;
        h = realloc(r->hooks, (r->n_hooks + 1) * sizeof(Hook));
        if (!h)
                return -ENOMEM;
        r->hooks = h;
        h[r->n_hooks] = (Hook) { .section = strdup(section), .func = hook, .userdata = userdata };
        if (!h[r->n_hooks].section)
                return -ENOMEM;
        r->n_hooks++;
        return 0;
}

void serialize_unregister(Manager *m, const char *section) {
        Reexec *r = manager_get_reexec(m);

        for (size_t i = 0; r && i < r->n_hooks; i++)
                if (streq(r->hooks[i].section, section)) {
                        free(r->hooks[i].section);
                        memmove(r->hooks + i, r->hooks + i + 1, (r->n_hooks - i - 1) * sizeof(Hook));
                        r->n_hooks--;
                        return;
                }
}

static int serialize_job(Serializer *s, Job *j) {
        JobRuntime *rt = job_runtime(j);
        int r = 0;

        fprintf(s->f, "[job %s]\n", j->name);
#define U(k, v) (r = r < 0 ? r : serialize_item_format(s, k, "%" PRIu64, (uint64_t) (v)))
#define I(k, v) (r = r < 0 ? r : serialize_item_format(s, k, "%" PRIi64, (int64_t) (v)))
#define F(k, v) (r = r < 0 ? r : serialize_fd(s, k, v))
        r = serialize_item(s, "state", job_state_to_string(j->state));
        U("target", j->target);
        r = r < 0 ? r : serialize_item(s, "result", job_result_to_string(j->result));
        U("restart-requested", j->restart_requested);
        I("main-pid", j->main_pid);
        I("control-pid", j->control_pid);
        U("command-index", j->command_index);
        I("control-command", j->control_command);
        I("exit-code", j->exit_code);
        I("exit-status", j->exit_status);
        U("restart-count", j->restart_count);
        U("n-failures", j->n_failures);
        U("run-started", j->run_started);
        U("timer-usec", j->timer_usec);
        U("state-changed", j->state_changed);
        F("main-pidfd", rt->main_pidfd);
        F("control-pidfd", rt->control_pidfd);
        F("main-error-fd", rt->main_error_fd);
        F("control-error-fd", rt->control_error_fd);
        F("cgroup-fd", rt->cgroup_fd);
        U("main-exec-failed", rt->main_exec_failed);
        U("control-exec-failed", rt->control_exec_failed);
        I("main-pgid", rt->main_pgid);
        I("control-pgid", rt->control_pgid);
        U("waiting-group", rt->waiting_group);
        I("run-id", rt->run_id);
        U("state-change-realtime", rt->state_change_realtime);
        U("run-start-realtime", rt->run_start_realtime);
        U("last-heartbeat-realtime", rt->last_heartbeat_realtime);
        U("start-queued", rt->start_queued);
        U("stop-queued", rt->stop_queued);
        U("enabled", rt->enabled);
        r = r < 0 ? r : serialize_item(s, "spawn-error", rt->spawn_error);
        r = r < 0 ? r : serialize_item(s, "status-text", rt->status_text);
        r = r < 0 ? r : serialize_item(s, "heartbeat-token", rt->heartbeat_token);
        U("watchdog-override-usec", j->watchdog_override_usec);
#undef U
#undef I
#undef F
        return r;
}

static int serialize_all(Manager *m, Serializer *s) {
        Reexec *rx = manager_get_reexec(m);
        Job **l;
        size_t n;
        int r;

        fprintf(s->f, "%s\n[manager]\n", SERIALIZE_MAGIC);
        r = serialize_item_format(s, "startup-realtime", "%" PRIu64, (uint64_t) manager_get_startup_realtime(m));
        if (r < 0)
                return r;
        r = manager_list_jobs(m, &l, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = serialize_job(s, l[i]);
        free(l);
        if (r < 0)
                return r;
        for (size_t i = 0; rx && i < rx->n_hooks; i++) {
                fprintf(s->f, "[%s]\n", rx->hooks[i].section);
                r = rx->hooks[i].func(m, s, rx->hooks[i].userdata);
                if (r < 0)
                        return log_error_errno(r, "Failed to serialize '%s': %m", rx->hooks[i].section);
        }
        /* Last: every fd that crosses, so that the new image closes the ones nobody takes. */
        fprintf(s->f, "[%s]\nfds=", SECTION_FDS);
        for (size_t i = 0; i < s->n_fds; i++)
                fprintf(s->f, "%s%d", i ? " " : "", s->fds[i]);
        fputc('\n', s->f);
        return ferror(s->f) ? -EIO : 0;
}

/* The binary to exec: the one at the path we were started from, even when a package upgrade
 * replaced it (then /proc/self/exe names the old, deleted, inode); else our own image. */
static char *exec_path(void) {
        char buf[4096];
        ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
        const char *deleted = " (deleted)";

        if (n > 0) {
                buf[n] = 0;
                if ((size_t) n > strlen(deleted) && streq(buf + n - strlen(deleted), deleted))
                        buf[n - strlen(deleted)] = 0;
                if (access(buf, X_OK) >= 0)
                        return strdup(buf);
        }
        return strdup("/proc/self/exe");
}

/* Our original command line, from /proc/self/cmdline (getopt permutes argv, not the strings),
 * without a --deserialize of an earlier re-exec. */
static int own_argv(char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_fclose_ FILE *f = fopen("/proc/self/cmdline", "re");
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, sz = 0;
        bool options = true;
        int r;

        if (!f)
                return -errno;
        for (;;) {
                char *b = realloc(buf, sz + 4096);
                size_t k;
                if (!b)
                        return -ENOMEM;
                buf = b;
                k = fread(buf + sz, 1, 4096, f);
                sz += k;
                if (k < 4096)
                        break;
        }
        if (sz == 0)
                return -ENODATA;
        buf[sz - 1] = 0;
        for (size_t i = 0; i < sz; i += strlen(buf + i) + 1, n++) {
                const char *a = buf + i;
                if (options && n > 0 && streq(a, "--deserialize")) {
                        i += strlen(a) + 1; /* and its value */
                        if (i >= sz)
                                break;
                        continue;
                }
                if (options && strneq(a, "--deserialize=", 14))
                        continue;
                if (streq(a, "--"))
                        options = false;
                r = strv_extend(&l, a);
                if (r < 0)
                        return r;
        }
        if (!l)
                return -ENODATA;
        *ret = TAKE_PTR(l);
        return 0;
}

int reexec_now(Manager *m) {
        _cleanup_free_ char *path = exec_path();
        _cleanup_strv_free_ char **args = NULL, **argv = NULL;
        _cleanup_close_ int memfd = -EBADF;
        Serializer s = {};
        char num[32];
        int r, wfd;
        extern char **environ;

        if (!path)
                return -ENOMEM;
        r = own_argv(&args);
        if (r < 0)
                return r;
        memfd = memfd_create("pmd-serialization", 0); /* no MFD_CLOEXEC: it is for the new image */
        if (memfd < 0)
                return -errno;
        wfd = fcntl(memfd, F_DUPFD_CLOEXEC, 3);
        if (wfd < 0)
                return -errno;
        s.f = fdopen(wfd, "w");
        if (!s.f) {
                safe_close(wfd);
                return -ENOMEM;
        }
        if (manager_get_registry(m))
                (void) registry_commit(manager_get_registry(m));

        r = serialize_all(m, &s);
        if (fclose(s.f) != 0 && r >= 0)
                r = -errno;
        if (r >= 0 && lseek(memfd, 0, SEEK_SET) < 0)
                r = -errno;
        if (r >= 0) {
                (void) snprintf(num, sizeof(num), "%d", memfd);
                if (strv_extend(&argv, args[0]) < 0 || strv_extend(&argv, "--deserialize") < 0 ||
                    strv_extend(&argv, num) < 0)
                        r = -ENOMEM;
                for (size_t i = 1; r >= 0 && args[i]; i++)
                        if (strv_extend(&argv, args[i]) < 0)
                                r = -ENOMEM;
        }
        if (r >= 0) {
                log_info("Re-executing %s", path);
                fflush(stdout);
                fflush(stderr);
                (void) execve(path, argv, environ);
                r = -errno;
        }
        /* Still here: undo, so the old image goes on as if nothing had happened. */
        for (size_t i = 0; i < s.n_fds; i++)
                safe_close(s.fds[i]);
        free(s.fds);
        return r;
}

static int on_reexec(sd_event_source *src, void *userdata) {
        Manager *m = userdata;
        Reexec *rx = manager_get_reexec(m);
        _cleanup_free_ char *actor = TAKE_PTR(rx->actor);
        _cleanup_free_ char *outcome = NULL;
        int r;

        rx->exec_source = sd_event_source_disable_unref(rx->exec_source);
        r = reexec_now(m);
        /* Only a failure comes back here. */
        log_error_errno(r, "Re-execution failed, going on with the running image: %m");
        if (asprintf(&outcome, "failed: %s", strerror(-r)) < 0)
                outcome = NULL;
        manager_audit(m, actor ?: "?", "reexec", NULL, outcome ?: "failed");
        return 0;
}

int reexec_schedule(Manager *m, const char *actor) {
        Reexec *rx = manager_get_reexec(m);
        _cleanup_free_ char *path = exec_path();
        _cleanup_strv_free_ char **args = NULL;
        int r;

        if (!rx || !path)
                return -ENOMEM;
        if (rx->exec_source)
                return 0; /* asked twice in one iteration: one exec */
        /* What can be known now is checked now, so the caller hears of it. */
        if (access(path, X_OK) < 0)
                return -errno;
        r = own_argv(&args);
        if (r < 0)
                return r;
        rx->actor = actor ? strdup(actor) : NULL;
        r = sd_event_add_defer(manager_get_event(m), &rx->exec_source, on_reexec, m);
        if (r < 0)
                return r;
        /* After everything else pending, the registry commit and the caller's reply included. */
        (void) sd_event_source_set_priority(rx->exec_source, SD_EVENT_PRIORITY_IDLE + 1);
        return 0;
}

/* ---- reading ---- */

static void unescape(char *v) {
        char *w = v;
        for (char *p = v; *p; p++) {
                if (*p == '\\' && p[1] == 'n') {
                        *w++ = '\n';
                        p++;
                } else if (*p == '\\' && p[1] == '\\') {
                        *w++ = '\\';
                        p++;
                } else
                        *w++ = *p;
        }
        *w = 0;
}

static Section *section_add(Reexec *r, const char *name) {
        Section *s = calloc(1, sizeof(Section)), **l;

        if (!s)
                return NULL;
        s->name = strdup(name);
        l = realloc(r->section_list, (r->n_sections + 1) * sizeof(Section *));
        if (!s->name || !l) {
                free(s->name);
                free(s);
                return NULL;
        }
        r->section_list = l;
        l[r->n_sections++] = s;
        /* A name given twice: the first wins lookups, both are freed. */
        (void) hashmap_put(r->sections, s->name, s);
        return s;
}

static int section_append(Section *s, const char *key, const char *value) {
        if (GREEDY_REALLOC(s->entries, s->n_alloc, s->n + 1, 16) < 0)
                return -ENOMEM;
        s->entries[s->n] = (Entry) { .key = strdup(key), .value = strdup(value) };
        if (!s->entries[s->n].key || !s->entries[s->n].value) {
                free(s->entries[s->n].key);
                free(s->entries[s->n].value);
                return -ENOMEM;
        }
        unescape(s->entries[s->n].value);
        s->n++;
        return 0;
}

static int parse_passed_fds(Reexec *r) {
        Section *s = hashmap_get(r->sections, SECTION_FDS);
        const char *v = NULL;

        for (size_t i = 0; s && i < s->n; i++)
                if (streq(s->entries[i].key, "fds"))
                        v = s->entries[i].value;
        if (!v)
                return -EBADMSG;
        for (const char *p = v; *p;) {
                char *end;
                long fd = strtol(p, &end, 10);
                PassedFd *a;
                if (end == p || fd < 3 || fd > INT32_MAX)
                        return -EBADMSG;
                a = realloc(r->fds, (r->n_fds + 1) * sizeof(PassedFd));
                if (!a)
                        return -ENOMEM;
                r->fds = a;
                /* Ours now: O_CLOEXEC again, so that no job inherits it. */
                (void) fcntl((int) fd, F_SETFD, FD_CLOEXEC);
                r->fds[r->n_fds++] = (PassedFd) { .fd = (int) fd };
                p = end;
                while (*p == ' ')
                        p++;
        }
        return 0;
}

static int on_deserialize_finish(sd_event_source *src, void *userdata) {
        Manager *m = userdata;
        Reexec *r = manager_get_reexec(m);

        r->finish_source = sd_event_source_disable_unref(r->finish_source);
        for (size_t i = 0; i < r->n_fds; i++)
                if (!r->fds[i].taken)
                        log_debug("Re-execution: fd %d was not taken back, closing it", r->fds[i].fd);
        passed_fds_close(r);
        sections_free(r);
        r->active = false;
        return 0;
}

int deserialize_open(Manager *m, int fd) {
        Reexec *r = manager_get_reexec(m);
        _cleanup_close_ _unused_ int owned = fd; /* closed on every way out */
        _cleanup_free_ char *buf = NULL;
        Section *cur = NULL;
        struct stat st;
        size_t sz = 0;
        char *line, *next;
        int k;

        if (!r)
                return -ENOMEM;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || (uint64_t) st.st_size > SERIALIZE_SIZE_MAX)
                return -EBADMSG;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (sz < (size_t) st.st_size) {
                ssize_t n = pread(fd, buf + sz, (size_t) st.st_size - sz, (off_t) sz);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EBADMSG;
                sz += (size_t) n;
        }
        buf[sz] = 0;

        r->sections = hashmap_new_string();
        if (!r->sections)
                return -ENOMEM;
        line = buf;
        next = strchr(line, '\n');
        if (!next)
                return -EBADMSG;
        *next = 0;
        if (!streq(line, SERIALIZE_MAGIC))
                return -EPROTONOSUPPORT;
        for (line = next + 1; *line; line = next) {
                char *eq;
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                else
                        next = line + strlen(line);
                if (line[0] == '[') {
                        char *end = strrchr(line, ']');
                        if (!end)
                                return -EBADMSG;
                        *end = 0;
                        cur = section_add(r, line + 1);
                        if (!cur)
                                return -ENOMEM;
                        continue;
                }
                eq = strchr(line, '=');
                if (!eq || !cur)
                        continue; /* tolerate what a newer pmd may write */
                *eq = 0;
                k = section_append(cur, line, eq + 1);
                if (k < 0)
                        return k;
        }
        k = parse_passed_fds(r);
        if (k < 0)
                return k;
        k = sd_event_add_defer(manager_get_event(m), &r->finish_source, on_deserialize_finish, m);
        if (k < 0)
                return k;
        (void) sd_event_source_set_priority(r->finish_source, SD_EVENT_PRIORITY_IDLE);
        r->active = true;
        return 0;
}

bool deserialize_active(Manager *m) {
        Reexec *r = manager_get_reexec(m);
        return r && r->active;
}

const char *deserialize_get(Manager *m, const char *section, const char *key) {
        Reexec *r = manager_get_reexec(m);
        Section *s = r && r->active ? hashmap_get(r->sections, section) : NULL;

        for (size_t i = 0; s && i < s->n; i++)
                if (streq(s->entries[i].key, key))
                        return s->entries[i].value;
        return NULL;
}

static int parse_u64(const char *v, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || end == v || *end)
                return -EINVAL;
        *ret = x;
        return 0;
}

int deserialize_get_u64(Manager *m, const char *section, const char *key, uint64_t *ret) {
        const char *v = deserialize_get(m, section, key);
        return v ? parse_u64(v, ret) : -ENOENT;
}

int deserialize_foreach(Manager *m, const char *section,
                        int (*cb)(const char *key, const char *value, void *userdata), void *userdata) {
        Reexec *r = manager_get_reexec(m);
        Section *s = r && r->active ? hashmap_get(r->sections, section) : NULL;
        int k;

        for (size_t i = 0; s && i < s->n; i++) {
                k = cb(s->entries[i].key, s->entries[i].value, userdata);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int take_fd_value(Reexec *r, const char *value, int *ret) {
        char *end;
        long fd = strtol(value, &end, 10);

        if (end == value || *end)
                return -EBADF;
        for (size_t i = 0; i < r->n_fds; i++)
                if (r->fds[i].fd == fd) {
                        if (r->fds[i].taken)
                                return -EBADF;
                        r->fds[i].taken = true;
                        *ret = (int) fd;
                        return 0;
                }
        return -EBADF;
}

int deserialize_take_fd(Manager *m, const char *section, const char *key, int *ret_fd) {
        Reexec *r = manager_get_reexec(m);
        Section *s = r && r->active ? hashmap_get(r->sections, section) : NULL;

        for (; s && s->next_fd < s->n; s->next_fd++) {
                Entry *e = &s->entries[s->next_fd];
                if (!streq(e->key, key))
                        continue;
                s->next_fd++;
                return take_fd_value(r, e->value, ret_fd);
        }
        return -ENOENT;
}

/* ---- jobs ---- */

static int parse_i64(const char *v, int64_t *ret) {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end)
                return -EINVAL;
        *ret = x;
        return 0;
}

static int dup_string(char **field, const char *v) {
        char *c = strdup(v);
        if (!c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

/* One key of a job section onto the job. Unknown keys are skipped: a newer pmd's extras. */
static int job_apply(Reexec *rx, Job *j, const char *k, const char *v) {
        JobRuntime *rt = job_runtime(j);
        uint64_t u = 0;
        int64_t i = 0;
        int fd = -EBADF;

        if (streq(k, "state")) {
                JobState s = job_state_from_string(v);
                if (s < 0)
                        return -EINVAL;
                j->state = s; /* restoring, not a transition: no actions */
                return 0;
        }
        if (streq(k, "result")) {
                JobResult res = job_result_from_string(v);
                if (res < 0)
                        return -EINVAL;
                j->result = res;
                return 0;
        }
        if (streq(k, "spawn-error"))
                return dup_string(&rt->spawn_error, v);
        if (streq(k, "status-text"))
                return dup_string(&rt->status_text, v);
        if (streq(k, "heartbeat-token"))
                return dup_string(&rt->heartbeat_token, v);
        if (strstr(k, "fd")) {
                if (take_fd_value(rx, v, &fd) < 0)
                        return -EBADF;
                if (streq(k, "main-pidfd"))
                        rt->main_pidfd = fd;
                else if (streq(k, "control-pidfd"))
                        rt->control_pidfd = fd;
                else if (streq(k, "main-error-fd"))
                        rt->main_error_fd = fd;
                else if (streq(k, "control-error-fd"))
                        rt->control_error_fd = fd;
                else if (streq(k, "cgroup-fd")) {
                        safe_close(rt->cgroup_fd);
                        rt->cgroup_fd = fd;
                } else
                        safe_close(fd);
                return 0;
        }
        if (strstr(k, "pid") || strstr(k, "pgid") || strstr(k, "exit-") || streq(k, "run-id") || streq(k, "control-command")) {
                if (parse_i64(v, &i) < 0)
                        return -EINVAL;
                if (streq(k, "main-pid"))
                        j->main_pid = (pid_t) i;
                else if (streq(k, "control-pid"))
                        j->control_pid = (pid_t) i;
                else if (streq(k, "main-pgid"))
                        rt->main_pgid = (pid_t) i;
                else if (streq(k, "control-pgid"))
                        rt->control_pgid = (pid_t) i;
                else if (streq(k, "exit-code"))
                        j->exit_code = (int) i;
                else if (streq(k, "exit-status"))
                        j->exit_status = (int) i;
                else if (streq(k, "run-id"))
                        rt->run_id = i;
                else if (streq(k, "control-command"))
                        j->control_command = (JobCommand) i;
                return 0;
        }
        if (parse_u64(v, &u) < 0)
                return 0;
        if (streq(k, "target"))
                j->target = u ? JOB_TARGET_RUNNING : JOB_TARGET_STOPPED;
        else if (streq(k, "restart-requested"))
                j->restart_requested = u;
        else if (streq(k, "command-index"))
                j->command_index = u;
        else if (streq(k, "restart-count"))
                j->restart_count = (unsigned) u;
        else if (streq(k, "n-failures"))
                j->n_failures = (unsigned) u;
        else if (streq(k, "run-started"))
                j->run_started = u;
        else if (streq(k, "timer-usec"))
                j->timer_usec = u;
        else if (streq(k, "state-changed"))
                j->state_changed = u;
        else if (streq(k, "main-exec-failed"))
                rt->main_exec_failed = u;
        else if (streq(k, "control-exec-failed"))
                rt->control_exec_failed = u;
        else if (streq(k, "waiting-group"))
                rt->waiting_group = u;
        else if (streq(k, "state-change-realtime"))
                rt->state_change_realtime = u;
        else if (streq(k, "run-start-realtime"))
                rt->run_start_realtime = u;
        else if (streq(k, "last-heartbeat-realtime"))
                rt->last_heartbeat_realtime = u;
        else if (streq(k, "start-queued"))
                rt->start_queued = u;
        else if (streq(k, "stop-queued"))
                rt->stop_queued = u;
        else if (streq(k, "enabled"))
                rt->enabled = u;
        else if (streq(k, "watchdog-override-usec"))
                j->watchdog_override_usec = u;
        return 0;
}

/* A job the new image does not know: its processes cannot be supervised, so they end. */
static void job_drop_orphan(Reexec *rx, Section *s) {
        for (size_t i = 0; i < s->n; i++) {
                int fd;
                if (!streq(s->entries[i].key, "main-pidfd") && !streq(s->entries[i].key, "control-pidfd"))
                        continue;
                if (take_fd_value(rx, s->entries[i].value, &fd) < 0)
                        continue;
                (void) pidfd_kill(fd, SIGKILL);
                safe_close(fd);
        }
}

int deserialize_jobs(Manager *m, char ***ret_dropped) {
        Reexec *rx = manager_get_reexec(m);
        int r = 0;

        if (!rx || !rx->active)
                return 0;
        for (size_t n = 0; n < rx->n_sections; n++) {
                Section *s = rx->section_list[n];
                Job *j;

                if (!strneq(s->name, "job ", 4))
                        continue;
                j = manager_get_job(m, s->name + 4);
                if (!j) {
                        job_drop_orphan(rx, s);
                        if (ret_dropped)
                                (void) strv_extend(ret_dropped, s->name + 4);
                        continue;
                }
                for (size_t i = 0; i < s->n; i++) {
                        int k = job_apply(rx, j, s->entries[i].key, s->entries[i].value);
                        if (k < 0 && r == 0)
                                r = k;
                }
                manager_job_adopt(m, j);
        }
        /* A child that died while we were exec'ing left a pending SIGCHLD; make sure of it. */
        (void) kill(getpid(), SIGCHLD);
        return r;
}
