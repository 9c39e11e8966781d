/* Job log capture as the manager sees it: the glue between the job table and logpipe.c. Each job
 * with StandardOutput=log or StandardError=log gets a JobLog at its first spawn; its settings
 * follow the job's config at every later spawn (a reload takes effect with the next run). What
 * the writer reports comes out here: a log that cannot be written (disk full, directory gone) is
 * a warning in pmd's log and the job's status text until it recovers, and a rotation resets the
 * registry's note of where the current run's output starts. Across a re-execution the pipes are
 * kept (serialize.c's "logpipe" section), so the jobs write on as if nothing happened. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logpipe.h"
#include "manager-log.h"
#include "serialize.h"
#include "util/log.h"

#define SECTION "logpipe"

#define BLOCKED_STATUS_PREFIX "Log blocked: "

static void job_log_notify(JobLog *l, JobLogEvent event, int error, void *userdata) {
        Job *j = userdata;
        JobRuntime *rt = job_runtime(j);
        Manager *m = rt->manager;
        char *text = NULL;

        switch (event) {
        case JOB_LOG_BLOCKED:
                if (j->config->log_drop_on_error)
                        log_warning_errno(error, "%s: cannot write its log '%s': %m; dropping its output "
                                          "(OnWriteError=drop), retrying every second", j->name, job_log_path(l));
                else
                        log_warning_errno(error, "%s: cannot write its log '%s': %m; holding its output back (the "
                                          "job blocks once its pipe is full), retrying every second", j->name,
                                          job_log_path(l));
                if (asprintf(&text, BLOCKED_STATUS_PREFIX "%s%s", strerror(-error),
                             j->config->log_drop_on_error ? " (dropping lines)" : "") >= 0) {
                        free(rt->status_text);
                        rt->status_text = text;
                }
                break;
        case JOB_LOG_RESUMED: {
                uint64_t dropped = job_log_take_dropped(l);
                if (dropped > 0)
                        log_warning("%s: writing its log '%s' again; %" PRIu64 " line(s) were dropped meanwhile",
                                    j->name, job_log_path(l), dropped);
                else
                        log_info("%s: writing its log '%s' again", j->name, job_log_path(l));
                if (rt->status_text && strneq(rt->status_text, BLOCKED_STATUS_PREFIX, strlen(BLOCKED_STATUS_PREFIX))) {
                        free(rt->status_text);
                        rt->status_text = NULL;
                }
                break;
        }
        case JOB_LOG_ROTATED:
        case JOB_LOG_REOPENED:
                log_debug("%s: log '%s' %s", j->name, job_log_path(l), event == JOB_LOG_ROTATED ? "rotated" : "reopened");
                /* The current run's output now starts at the top of the new file. */
                rt->log_offset = 0;
                if (rt->run_id > 0 && manager_get_registry(m))
                        (void) registry_run_set_log_offset(manager_get_registry(m), rt->run_id, 0);
                break;
        default:
                assert_not_reached();
        }
}

static void settings_from_config(Manager *m, Job *j, JobLogSettings *ret) {
        const JobConfig *c = j->config;

        *ret = (JobLogSettings) {
                .dir = manager_get_options(m)->log_dir,
                .name = j->name,
                .format = c->log_format,
                .max_size = c->log_max_size,
                .max_files = c->log_max_files,
                /* Default: yes when pmd is a container's PID 1, where stdout is what "docker logs"
                 * shows. */
                .console = c->log_console < 0 ? getpid() == 1 : c->log_console > 0,
                .drop_on_error = c->log_drop_on_error,
        };
}

int manager_log_open_fd(Manager *m, Job *j, bool err, int *ret) {
        JobRuntime *rt = job_runtime(j);
        JobLogSettings s;
        int r;

        settings_from_config(m, j, &s);
        if (!rt->log) {
                r = job_log_new(manager_get_log_context(m), &s, job_log_notify, j, &rt->log);
                if (r < 0)
                        return r;
        } else {
                r = job_log_configure(rt->log, &s);
                if (r < 0)
                        return r;
        }
        return job_log_open_fd(rt->log, err ? LOG_STREAM_STDERR : LOG_STREAM_STDOUT, ret);
}

void manager_log_spawned(Manager *m, Job *j, pid_t pid) {
        JobRuntime *rt = job_runtime(j);
        /* The pipes are shared by every process of the job; the main process names them while it
         * runs, an ExecStop= beside it does not. */
        if (rt->log && (j->main_pid <= 0 || j->main_pid == pid))
                job_log_set_pid(rt->log, pid);
}

void manager_log_run_begin(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);

        if (!rt->log)
                return;
        rt->log_offset = job_log_offset(rt->log);
        if (rt->run_id > 0 && manager_get_registry(m))
                (void) registry_run_set_log_offset(manager_get_registry(m), rt->run_id, rt->log_offset);
}

void manager_log_run_end(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);
        if (rt->log)
                (void) job_log_flush(rt->log);
}

static void rotate_one(Job *j, bool reopen_only) {
        JobRuntime *rt = job_runtime(j);
        int r;

        if (!rt->log)
                return;
        r = job_log_rotate(rt->log, reopen_only);
        if (r < 0)
                log_warning_errno(r, "%s: Failed to rotate its log '%s': %m", j->name, job_log_path(rt->log));
}

int manager_rotate_logs(Manager *m, const char *name, const char *actor) {
        Job **l;
        size_t n;
        int r;

        if (name) {
                Job *j = manager_get_job(m, name);
                if (!j) {
                        manager_audit(m, actor, "rotate-logs", name, "no such job");
                        return -ENOENT;
                }
                rotate_one(j, false);
                manager_audit(m, actor, "rotate-logs", name, "ok");
                return 0;
        }
        r = manager_list_jobs(m, &l, &n);
        if (r < 0)
                return r;
        log_info("Reopening the job logs that were moved away (%s)", actor);
        for (size_t i = 0; i < n; i++)
                rotate_one(l[i], true);
        free(l);
        manager_audit(m, actor, "rotate-logs", NULL, "ok");
        return 0;
}

/* ---- re-execution ---- */

static char *hex_encode(const LogBuffer *b) {
        static const char hex[] = "0123456789abcdef";
        char *s = malloc(b->len * 2 + 1);
        if (!s)
                return NULL;
        for (size_t i = 0; i < b->len; i++) {
                s[2 * i] = hex[(uint8_t) b->data[i] >> 4];
                s[2 * i + 1] = hex[(uint8_t) b->data[i] & 15];
        }
        s[b->len * 2] = '\0';
        return s;
}

static int hex_decode(const char *s, LogBuffer *ret) {
        size_t n = strlen(s);

        if (n % 2 != 0 || log_buffer_reserve(ret, n / 2) < 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i += 2) {
                int hi = s[i] >= 'a' ? s[i] - 'a' + 10 : s[i] - '0', lo = s[i + 1] >= 'a' ? s[i + 1] - 'a' + 10 : s[i + 1] - '0';
                if (hi < 0 || hi > 15 || lo < 0 || lo > 15)
                        return -EINVAL;
                ret->data[ret->len++] = (char) (hi << 4 | lo);
        }
        return 0;
}

static int serialize_bytes(Serializer *s, const char *key, const LogBuffer *b) {
        _cleanup_free_ char *hex = NULL;

        if (b->len == 0)
                return 0;
        hex = hex_encode(b);
        if (!hex)
                return -ENOMEM;
        return serialize_item(s, key, hex);
}

/* Keys: "NAME:stdout:r", "NAME:stdout:w", "NAME:stdout:carry" (hex), "NAME:pending" (hex), and
 * "NAME:dropped" (decimal) while an OnWriteError=drop log cannot be written. */
static int logs_serialize(Manager *m, Serializer *s, void *userdata) {
        Job **l;
        size_t n;
        int r;

        r = manager_list_jobs(m, &l, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                JobLog *jl = job_runtime(l[i])->log;
                char key[JOB_NAME_MAX + 32];

                if (!jl)
                        continue;
                for (LogStream st = 0; st < _LOG_STREAM_MAX && r >= 0; st++) {
                        int rfd, wfd;
                        job_log_get_pipe(jl, st, &rfd, &wfd);
                        if (rfd < 0)
                                continue;
                        (void) snprintf(key, sizeof(key), "%s:%s:r", l[i]->name, log_stream_to_string(st));
                        r = serialize_fd(s, key, rfd);
                        (void) snprintf(key, sizeof(key), "%s:%s:w", l[i]->name, log_stream_to_string(st));
                        if (r >= 0)
                                r = serialize_fd(s, key, wfd);
                        (void) snprintf(key, sizeof(key), "%s:%s:carry", l[i]->name, log_stream_to_string(st));
                        if (r >= 0)
                                r = serialize_bytes(s, key, job_log_get_carry(jl, st));
                }
                (void) snprintf(key, sizeof(key), "%s:pending", l[i]->name);
                if (r >= 0)
                        r = serialize_bytes(s, key, job_log_get_pending(jl));
                uint64_t dropped;
                if (r >= 0 && job_log_get_failing(jl, &dropped)) {
                        (void) snprintf(key, sizeof(key), "%s:dropped", l[i]->name);
                        r = serialize_item_format(s, key, "%" PRIu64, dropped);
                }
        }
        free(l);
        return r;
}

int manager_log_setup(Manager *m) {
        return serialize_register(m, SECTION, logs_serialize, NULL);
}

static void deserialize_job(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);
        char key[JOB_NAME_MAX + 32];
        const char *v;
        int r;

        for (LogStream st = 0; st < _LOG_STREAM_MAX; st++) {
                _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
                LogBuffer carry = {};

                (void) snprintf(key, sizeof(key), "%s:%s:r", j->name, log_stream_to_string(st));
                if (deserialize_take_fd(m, SECTION, key, &rfd) < 0)
                        continue;
                (void) snprintf(key, sizeof(key), "%s:%s:w", j->name, log_stream_to_string(st));
                if (deserialize_take_fd(m, SECTION, key, &wfd) < 0)
                        continue;
                if (!rt->log) {
                        JobLogSettings s;
                        settings_from_config(m, j, &s);
                        r = job_log_new(manager_get_log_context(m), &s, job_log_notify, j, &rt->log);
                        if (r < 0) {
                                log_warning_errno(r, "%s: Failed to take its log back: %m", j->name);
                                return;
                        }
                }
                r = job_log_adopt_pipe(rt->log, st, rfd, wfd);
                if (r < 0) {
                        log_warning_errno(r, "%s: Failed to take its %s pipe back: %m", j->name,
                                          log_stream_to_string(st));
                        continue;
                }
                TAKE_FD(rfd);
                TAKE_FD(wfd);
                (void) snprintf(key, sizeof(key), "%s:%s:carry", j->name, log_stream_to_string(st));
                v = deserialize_get(m, SECTION, key);
                if (v && hex_decode(v, &carry) >= 0)
                        (void) job_log_put_back(rt->log, st, carry.data, carry.len);
                log_buffer_done(&carry);
        }
        if (rt->log) {
                LogBuffer pending = {};
                (void) snprintf(key, sizeof(key), "%s:pending", j->name);
                v = deserialize_get(m, SECTION, key);
                if (v && hex_decode(v, &pending) >= 0)
                        (void) job_log_put_back_pending(rt->log, pending.data, pending.len);
                log_buffer_done(&pending);
                (void) snprintf(key, sizeof(key), "%s:dropped", j->name);
                uint64_t dropped;
                if (deserialize_get_u64(m, SECTION, key, &dropped) >= 0)
                        job_log_put_back_failing(rt->log, dropped);
                job_log_set_pid(rt->log, j->main_pid);
        }
}

void manager_log_deserialize(Manager *m) {
        Job **l;
        size_t n;

        if (manager_list_jobs(m, &l, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                deserialize_job(m, l[i]);
        free(l);
}
