/* Job log capture as the manager sees it: the glue between the job table and logpipe.c. Each job
 * with StandardOutput=log or StandardError=log gets a JobLog at its first spawn; its settings
 * follow the job's config at every later spawn (a reload takes effect with the next run). What
 * the writer reports comes out here: a log that cannot be written (disk full, directory gone) is
 * a warning in pmd's log and the job's status text until it recovers, and a rotation resets the
 * registry's note of where the current run's output starts. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logpipe.h"
#include "manager-log.h"
#include "util/log.h"

#define BLOCKED_STATUS_PREFIX "Log blocked: "

static void job_log_notify(JobLog *l, JobLogEvent event, int error, void *userdata) {
        Job *j = userdata;
        JobRuntime *rt = job_runtime(j);
        Manager *m = rt->manager;
        char *text = NULL;

        switch (event) {
        case JOB_LOG_BLOCKED:
                log_warning_errno(error, "%s: cannot write its log '%s': %m; holding its output back (the job "
                                  "blocks once its pipe is full), retrying every second", j->name, job_log_path(l));
                if (asprintf(&text, BLOCKED_STATUS_PREFIX "%s", strerror(-error)) >= 0) {
                        free(rt->status_text);
                        rt->status_text = text;
                }
                break;
        case JOB_LOG_RESUMED:
                log_info("%s: writing its log '%s' again", j->name, job_log_path(l));
                if (rt->status_text && strneq(rt->status_text, BLOCKED_STATUS_PREFIX, strlen(BLOCKED_STATUS_PREFIX))) {
                        free(rt->status_text);
                        rt->status_text = NULL;
                }
                break;
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
