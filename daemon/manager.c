/* The Manager: pmd's one sd-event loop and everything that happens in it. It owns the job table,
 * turns the world's events (a child reaped, a timer, an exec-error pipe, a signal, a call from
 * D-Bus or HTTP) into calls of the job state machine, and carries out the actions that come back
 * in order: spawning through exec.c, signalling through pidfds, arming the job's one timer,
 * persisting every state change in the registry's open batch and announcing it to observers.
 *
 * Reaping: one SIGCHLD source reaps every child with waitid(P_ALL) and looks the pid up in a hash
 * map, as systemd's PID 1 does. A peek-then-reap scheme with a pidfd source per child cannot see
 * past a tracked zombie to the untracked ones behind it, and pmd as PID 1 or subreaper gets many
 * untracked orphans. Pidfds are still taken for every process, and used for every signal, so a
 * signal never reaches a recycled pid.
 *
 * Batching: the first registry write of a loop iteration opens a transaction; a post source at
 * idle priority commits it once nothing else is pending, before the loop next sleeps. Ordering
 * work (which queued job may start or stop now) runs from a defer source, looking only at the
 * jobs whose predecessors changed, so starting n jobs is O(n + edges).
 *
 * Idle means idle: with nothing happening no timer is armed and nothing polls. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "bus.h"
#include "conf-load.h"
#include "exec.h"
#include "http.h"
#include "logpipe.h"
#include "manager-log.h"
#include "manager.h"
#include "metrics.h"
#include "notify.h"
#include "pid1.h"
#include "serialize.h"
#include "util/cmdline.h"
#include "util/log.h"
#include "util/strv.h"

#define AUDIT_KEEP 100000
#define RUNS_KEEP_PER_JOB 1000

typedef struct Observer {
        ManagerJobObserver func;
        void *userdata;
} Observer;

struct Manager {
        ManagerOptions options;
        sd_event *event;
        Hashmap *jobs; /* name → Job */
        Hashmap *pids; /* pid → Job (main or control process) */
        Registry *registry;
        CGroupRoot *cgroup_root;

        sd_event_source *signal_sources[8];
        sd_event_source *commit_source; /* post, idle priority */
        sd_event_source *queue_source;  /* defer: ordering work */

        Job **candidates; /* jobs whose start/stop may have become possible */
        size_t n_candidates, n_candidates_alloc;
        Job **processing; /* the batch of candidates being worked on */
        size_t n_processing;

        Observer *observers;
        size_t n_observers;
        JobChange *changes; /* announced after the next commit (names owned) */
        size_t n_changes;

        unsigned n_waiting_group; /* jobs waiting for their process group to empty */
        unsigned n_busy;          /* jobs not inactive (shutdown waits for 0) */
        bool shutting_down;
        int exit_status;
        usec_t startup_realtime;
        int lock_fd; /* flock on STATE_DIR/pmd.lock: one pmd per state directory */
        Pid1Action action;                   /* what follows the shutdown (pid1.c) */
        sd_event_source *forward_sources[8]; /* -- COMMAND: signals passed on to main */
        Reexec *reexec;                      /* serialize.c: hooks, and what the old image left */
        LogContext *log_context; /* job output capture (logpipe.c, manager-log.c) */
        NotifyServer *notify; /* NOTIFY_SOCKET of the jobs (notify.c) */
        HttpServer *http;     /* NULL with --http off or when it could not start (http.c) */
        uint64_t generation;  /* manager_generation() */
        Bus *bus;    /* the D-Bus face: system/user bus and the private socket */
        uint64_t usage_iteration; /* of the jobs' usage (JobRuntime.usage), when usage_valid */
        bool usage_valid;
};

static void manager_dispatch(Manager *m, Job *j, JobActions *a);
static void queue_candidate(Manager *m, Job *j);
static int manager_load_jobs(Manager *m, bool reload);

/* ---- small helpers ---- */

static usec_t now_mono(void) {
        return now_usec(CLOCK_MONOTONIC);
}

static usec_t now_real(void) {
        return now_usec(CLOCK_REALTIME);
}

static char *opt_strdup(const char *s) {
        return s ? strdup(s) : NULL;
}

static int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, mode) < 0 && errno != EEXIST)
                                return -errno;
                        *s = '/';
                }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static const char *job_public_state_string(const Job *j) {
        return job_public_state_to_string(job_public_state(j));
}

static void set_status_text(Job *j, const char *text) {
        JobRuntime *rt = job_runtime(j);
        char *c = opt_strdup(text);
        if (text && !c)
                return;
        rt->manager->generation++;
        free(rt->status_text);
        rt->status_text = c;
}

/* ---- job table ---- */

static JobRuntime *runtime_new(Manager *m) {
        JobRuntime *rt = calloc(1, sizeof(JobRuntime));
        if (!rt)
                return NULL;
        rt->manager = m;
        rt->main_pidfd = rt->control_pidfd = -EBADF;
        rt->main_error_fd = rt->control_error_fd = -EBADF;
        rt->cgroup_fd = -EBADF;
        return rt;
}

static void runtime_close_exec(JobRuntime *rt, bool main) {
        if (main) {
                rt->main_exec_source = sd_event_source_disable_unref(rt->main_exec_source);
                rt->main_error_fd = safe_close(rt->main_error_fd);
        } else {
                rt->control_exec_source = sd_event_source_disable_unref(rt->control_exec_source);
                rt->control_error_fd = safe_close(rt->control_error_fd);
        }
}

static void runtime_close_process(JobRuntime *rt, bool main) {
        runtime_close_exec(rt, main);
        if (main)
                rt->main_pidfd = safe_close(rt->main_pidfd);
        else
                rt->control_pidfd = safe_close(rt->control_pidfd);
}

static void runtime_free(JobRuntime *rt) {
        if (!rt)
                return;
        runtime_close_process(rt, true);
        runtime_close_process(rt, false);
        rt->timer = sd_event_source_disable_unref(rt->timer);
        rt->group_source = sd_event_source_disable_unref(rt->group_source);
        safe_close(rt->cgroup_fd);
        job_config_free(rt->next_config);
        rt->log = job_log_free(rt->log);
        free(rt->spawn_error);
        free(rt->status_text);
        if (rt->heartbeat_token)
                explicit_bzero(rt->heartbeat_token, strlen(rt->heartbeat_token));
        free(rt->heartbeat_token);
        free(rt);
}

static void manager_drop_job(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);

        m->generation++;
        hashmap_remove(m->jobs, j->name);
        if (j->main_pid > 0)
                hashmap_remove(m->pids, HASHMAP_UINT(j->main_pid));
        if (j->control_pid > 0)
                hashmap_remove(m->pids, HASHMAP_UINT(j->control_pid));
        for (size_t i = 0; i < m->n_candidates; i++)
                if (m->candidates[i] == j)
                        m->candidates[i] = NULL;
        for (size_t i = 0; i < m->n_processing; i++)
                if (m->processing[i] == j)
                        m->processing[i] = NULL;
        for (size_t i = 0; i < m->n_changes; i++)
                if (m->changes[i].job == j)
                        m->changes[i].job = NULL;
        if (m->cgroup_root && rt->cgroup_fd >= 0)
                (void) cgroup_job_remove(m->cgroup_root, j->name);
        runtime_free(rt);
        j->manager_data = NULL;
        job_free(j);
}

static int manager_add_job(Manager *m, JobConfig *c, Job **ret) {
        _cleanup_(job_config_freep) JobConfig *config = c;
        JobRuntime *rt;
        Job *j;
        int r, enabled = -1;

        r = job_new(config->name, config, &j);
        if (r < 0)
                return r;
        TAKE_PTR(config);
        rt = runtime_new(m);
        if (!rt) {
                job_free(j);
                return -ENOMEM;
        }
        j->manager_data = rt;
        r = hashmap_put(m->jobs, j->name, j);
        if (r < 0) {
                runtime_free(rt);
                job_free(j);
                return r;
        }
        if (m->registry)
                (void) registry_job_get_enabled(m->registry, j->name, &enabled);
        rt->enabled = enabled >= 0 ? enabled : j->config->auto_start;
        rt->state_change_realtime = now_real();
        m->generation++;
        *ret = j;
        return 0;
}

/* Settle things that depend on the config: the kill mode pmd can honour, a rejected file. */
static void job_apply_config(Manager *m, Job *j) {
        JobConfig *c = j->config;
        _cleanup_strv_free_ char **capped = NULL;

        if (c->error)
                return;
        if (exec_check_rlimits(c, &capped) > 0)
                STRV_FOREACH(w, capped)
                        log_warning("%s: %s", j->name, *w);
        if (c->runner)
                log_warning("%s: Runner=%s: runner plugins are not supported yet, running ExecStart=", j->name,
                            c->runner);
        if (c->type == SERVICE_NOTIFY && !m->notify)
                log_warning("%s: Type=notify without a notify socket: it will time out after "
                            "TimeoutStartSec=", j->name);
        if (!c->kill_mode_set)
                c->kill_mode = m->cgroup_root ? KILL_CONTROL_GROUP : KILL_PROCESS_GROUP;
        else if (c->kill_mode == KILL_CONTROL_GROUP && !m->cgroup_root) {
                log_warning("%s: KillMode=control-group needs a cgroup pmd cannot make here, "
                            "using process-group", j->name);
                c->kill_mode = KILL_PROCESS_GROUP;
        }
}

/* A job whose file was rejected is listed as failed/config with the error as its status. */
static void job_mark_config_error(Manager *m, Job *j) {
        JobActions a = {};

        j->result = JOB_FAILURE_CONFIG;
        set_status_text(j, j->config->error);
        if (j->state != JOB_FAILED) {
                j->state = JOB_FAILED; /* from DEAD, with nothing running: no actions needed */
                j->state_changed = now_mono();
        }
        a.items[a.n++] = (JobAction) { .type = JOB_ACTION_STATE_CHANGED };
        manager_dispatch(m, j, &a);
}

Job *manager_get_job(Manager *m, const char *name) {
        return name ? hashmap_get(m->jobs, name) : NULL;
}

size_t manager_n_jobs(Manager *m) {
        return hashmap_size(m->jobs);
}

static int job_compare(const void *a, const void *b) {
        return strcmp((*(Job *const *) a)->name, (*(Job *const *) b)->name);
}

int manager_list_jobs(Manager *m, Job ***ret, size_t *ret_n) {
        size_t n = hashmap_size(m->jobs), i = 0, it = 0;
        Job **l = calloc(n ? n : 1, sizeof(Job *));
        void *v;

        if (!l)
                return -ENOMEM;
        while (hashmap_iterate(m->jobs, &it, &v, NULL))
                l[i++] = v;
        qsort(l, n, sizeof(Job *), job_compare);
        *ret = l;
        *ret_n = n;
        return 0;
}

/* ---- process groups ---- */

static bool pgid_alive(pid_t pgid) {
        return pgid > 0 && (kill(-pgid, 0) >= 0 || errno != ESRCH);
}

static bool job_group_empty(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);

        /* KillMode=process: what the main process leaves behind is not ours to wait for. */
        if (j->config->kill_mode == KILL_PROCESS)
                return true;
        if (rt->cgroup_fd >= 0)
                return cgroup_job_populated(rt->cgroup_fd) == 0;
        return !pgid_alive(rt->main_pgid) && !pgid_alive(rt->control_pgid);
}

static void job_kill(Manager *m, Job *j, KillWho who, int sig) {
        JobRuntime *rt = job_runtime(j);

        if (who == KILL_WHO_MAIN || who == KILL_WHO_ALL)
                if (rt->main_pidfd >= 0)
                        (void) pidfd_kill(rt->main_pidfd, sig);
        if (who == KILL_WHO_CONTROL || who == KILL_WHO_ALL)
                if (rt->control_pidfd >= 0)
                        (void) pidfd_kill(rt->control_pidfd, sig);
        if (who != KILL_WHO_ALL)
                return;
        if (rt->cgroup_fd >= 0 && j->config->kill_mode != KILL_PROCESS_GROUP) {
                (void) cgroup_job_kill(rt->cgroup_fd, sig);
                return;
        }
        if (rt->main_pgid > 0 && kill(-rt->main_pgid, sig) < 0 && errno == ESRCH)
                rt->main_pgid = 0;
        if (rt->control_pgid > 0 && kill(-rt->control_pgid, sig) < 0 && errno == ESRCH)
                rt->control_pgid = 0;
}

/* ---- spawning ---- */

/* NOTIFY_SOCKET for every process of the job (as systemd), WATCHDOG_USEC/WATCHDOG_PID for the main
 * process (the pid is written by the child, see exec.h), PMD_HEARTBEAT_URL/TOKEN when HTTP is on. */
static int heartbeat_environment(Manager *m, Job *j, bool main, char ***env) {
        JobRuntime *rt = job_runtime(j);
        char *s = NULL;
        int r = 0;

        if (m->notify && (asprintf(&s, "NOTIFY_SOCKET=%s", notify_server_address(m->notify)) < 0 ||
                          strv_env_set(env, s) < 0))
                r = -ENOMEM;
        free(TAKE_PTR(s));
        if (r >= 0 && main && job_watchdog_usec(j) > 0 &&
            (asprintf(&s, "WATCHDOG_USEC=%llu", (unsigned long long) job_watchdog_usec(j)) < 0 ||
             strv_env_set(env, s) < 0 || strv_env_set(env, "WATCHDOG_PID=            ") < 0))
                r = -ENOMEM;
        free(TAKE_PTR(s));
        if (r >= 0 && m->http && rt->heartbeat_token &&
            (asprintf(&s, "PMD_HEARTBEAT_URL=%s/pm/heartbeat", http_server_url(m->http)) < 0 ||
             strv_env_set(env, s) < 0))
                r = -ENOMEM;
        free(TAKE_PTR(s));
        if (r >= 0 && m->http && rt->heartbeat_token &&
            (asprintf(&s, "PMD_HEARTBEAT_TOKEN=%s", rt->heartbeat_token) < 0 || strv_env_set(env, s) < 0))
                r = -ENOMEM;
        free(TAKE_PTR(s));
        return r;
}

/* A fresh random heartbeat token for each run: a process of an earlier run cannot vouch for this
 * one. */
static int new_heartbeat_token(JobRuntime *rt) {
        uint8_t b[32];
        char *t;

        if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b))
                return -errno;
        t = malloc(sizeof(b) * 2 + 1);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < sizeof(b); i++)
                (void) snprintf(t + 2 * i, 3, "%02x", b[i]);
        explicit_bzero(b, sizeof(b));
        if (rt->heartbeat_token)
                explicit_bzero(rt->heartbeat_token, strlen(rt->heartbeat_token));
        free(rt->heartbeat_token);
        rt->heartbeat_token = t;
        return 0;
}

static int build_environment(Manager *m, Job *j, bool main, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        extern char **environ;
        char buf[64];
        int r;

        /* pmd's own environment, as supervisord and PM2 pass theirs, without what belongs to
         * pmd's own supervisor. */
        STRV_FOREACH(e, environ) {
                if (strneq(*e, "NOTIFY_SOCKET=", 14) || strneq(*e, "LISTEN_", 7) ||
                    strneq(*e, "WATCHDOG_", 9) || strneq(*e, "INVOCATION_ID=", 14))
                        continue;
                /* With User=, exec.c sets these for that user. */
                if (j->config->user && (strneq(*e, "HOME=", 5) || strneq(*e, "USER=", 5) ||
                                        strneq(*e, "LOGNAME=", 8) || strneq(*e, "SHELL=", 6)))
                        continue;
                if (strv_extend(&env, *e) < 0)
                        return -ENOMEM;
        }
        if (!strv_env_get(env, "PATH") &&
            strv_env_set(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") < 0)
                return -ENOMEM;
        STRV_FOREACH(e, j->config->environment)
                if (strv_env_set(&env, *e) < 0)
                        return -ENOMEM;
        STRV_FOREACH(f, j->config->environment_files) {
                bool optional = (*f)[0] == '-';
                r = env_file_read(*f + optional, &env);
                if (r < 0 && !(optional && r == -ENOENT))
                        return log_warning_errno(r, "%s: Failed to read EnvironmentFile '%s': %m",
                                                 j->name, *f + optional);
        }
        _cleanup_free_ char *pmd_job = NULL;
        if (asprintf(&pmd_job, "PMD_JOB=%s", j->name) < 0 || strv_env_set(&env, pmd_job) < 0)
                return -ENOMEM;
        if (!main && j->main_pid > 0) {
                (void) snprintf(buf, sizeof(buf), "MAINPID=%d", (int) j->main_pid);
                if (strv_env_set(&env, buf) < 0)
                        return -ENOMEM;
        }
        r = heartbeat_environment(m, j, main, &env);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(env);
        return 0;
}

static int open_output(Manager *m, Job *j, const OutputSpec *o, int *ret) {
        int fd;

        switch (o->kind) {
        case OUTPUT_NULL:
                *ret = -EBADF;
                return 0;
        case OUTPUT_INHERIT:
                *ret = fcntl(o == &j->config->std_error ? STDERR_FILENO : STDOUT_FILENO,
                             F_DUPFD_CLOEXEC, 3);
                return *ret < 0 ? -errno : 0;
        case OUTPUT_FILE:
        case OUTPUT_APPEND:
                fd = open(o->path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY |
                                           (o->kind == OUTPUT_APPEND ? O_APPEND : 0), 0640);
                if (fd < 0)
                        return -errno;
                *ret = fd;
                return 0;
        case OUTPUT_LOG:
                /* A pipe that pmd reads: LOG_DIR/NAME.log with timestamps, rotation, [Log]. */
                return manager_log_open_fd(m, j, o == &j->config->std_error, ret);
        default:
                assert_not_reached();
        }
}

static int on_exec_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static int job_spawn(Manager *m, Job *j, JobCommand c, size_t index, bool main) {
        JobRuntime *rt = job_runtime(j);
        const ExecCommandList *l = job_command_list(j, c);
        _cleanup_strv_free_ char **env = NULL, **argv = NULL;
        _cleanup_close_ int out = -EBADF, err = -EBADF;
        const ExecCommand *cmd;
        ExecChild child;
        int r;

        assert(index < l->n);
        cmd = &l->commands[index];

        /* The first command of a run: a new heartbeat token. */
        if (!rt->heartbeat_token || (index == 0 && (c == JOB_COMMAND_START_PRE ||
                                                    (c == JOB_COMMAND_START && main &&
                                                     j->config->exec_start_pre.n == 0)))) {
                r = new_heartbeat_token(rt);
                if (r < 0)
                        return log_error_errno(r, "%s: Failed to make a heartbeat token: %m", j->name);
        }
        r = build_environment(m, j, main, &env);
        if (r < 0)
                return r;
        r = exec_command_expand(cmd, env, &argv);
        if (r < 0)
                return r;
        r = open_output(m, j, &j->config->std_output, &out);
        if (r < 0)
                return log_error_errno(r, "%s: Failed to open its output: %m", j->name);
        r = open_output(m, j, &j->config->std_error, &err);
        if (r < 0)
                return log_error_errno(r, "%s: Failed to open its error output: %m", j->name);
        if (err < 0 && j->config->std_error.kind == OUTPUT_NULL) {
                err = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (err < 0)
                        return -errno;
        }

        if (m->cgroup_root && rt->cgroup_fd < 0) {
                r = cgroup_job_open(m->cgroup_root, j->name, &rt->cgroup_fd);
                if (r < 0)
                        log_warning_errno(r, "%s: Failed to create its cgroup, using its process group: %m",
                                          j->name);
        }

        ExecRequest req = {
                .path = cmd->path,
                .argv = argv,
                .envp = env,
                .config = j->config,
                .full_privileges = cmd->flags & (EXEC_COMMAND_FULL_PRIVILEGES | EXEC_COMMAND_NO_SETUID),
                .stdin_fd = j->config->stdin_inherit ? STDIN_FILENO : -EBADF,
                .foreground_tty = j->config->stdin_inherit && main && isatty(STDIN_FILENO),
                .stdout_fd = out,
                .stderr_fd = err,
                .pgid = 0,
                .cgroup_fd = rt->cgroup_fd,
                .watchdog_pid = main && job_watchdog_usec(j) > 0,
        };
        r = exec_spawn(&req, &child);
        if (r < 0)
                return log_error_errno(r, "%s: Failed to fork for %s: %m", j->name, job_command_to_string(c));

        r = hashmap_replace(m->pids, HASHMAP_UINT(child.pid), j);
        if (r < 0) {
                /* Cannot track it: kill it rather than leave it unsupervised. */
                (void) pidfd_kill(child.pidfd, SIGKILL);
                safe_close(child.pidfd);
                safe_close(child.error_fd);
                return r;
        }

        runtime_close_process(rt, main);
        if (main) {
                rt->main_exec_failed = false;
                j->main_pid = child.pid;
                rt->main_pidfd = child.pidfd;
                rt->main_error_fd = child.error_fd;
                rt->main_pgid = child.pid;
                r = sd_event_add_io(m->event, &rt->main_exec_source, child.error_fd, EPOLLIN, on_exec_pipe, j);
        } else {
                rt->control_exec_failed = false;
                j->control_pid = child.pid;
                rt->control_pidfd = child.pidfd;
                rt->control_error_fd = child.error_fd;
                rt->control_pgid = child.pid;
                r = sd_event_add_io(m->event, &rt->control_exec_source, child.error_fd, EPOLLIN,
                                    on_exec_pipe, j);
        }
        if (r < 0)
                log_warning_errno(r, "%s: Failed to watch the exec of pid %d: %m", j->name, (int) child.pid);

        manager_log_spawned(m, j, child.pid);
        log_debug("%s: %s pid %d (%s)", j->name, main ? "main" : "control", (int) child.pid,
                  job_command_to_string(c));
        return 0;
}

static void record_exec_error(Job *j, bool main, const ExecError *e) {
        JobRuntime *rt = job_runtime(j);
        const ExecCommandList *l = job_command_list(j, main ? JOB_COMMAND_START : j->control_command);
        const char *path = j->command_index < l->n ? l->commands[j->command_index].path : "?";

        if (main)
                rt->main_exec_failed = true;
        else
                rt->control_exec_failed = true;
        free(rt->spawn_error);
        rt->spawn_error = exec_error_format(e, path, j->config);
        log_error("%s: %s", j->name, rt->spawn_error ? rt->spawn_error : "Failed to execute");
        set_status_text(j, rt->spawn_error);
}

/* At the child's exit: did it fail before exec? The report may still sit in the pipe. */
static bool collect_exec_error(Job *j, bool main) {
        JobRuntime *rt = job_runtime(j);
        int fd = main ? rt->main_error_fd : rt->control_error_fd;
        bool *failed = main ? &rt->main_exec_failed : &rt->control_exec_failed;
        ExecError e;
        bool r;

        if (fd >= 0 && exec_read_error(fd, &e) > 0)
                record_exec_error(j, main, &e);
        r = *failed;
        *failed = false;
        return r;
}

static int on_exec_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Job *j = userdata;
        JobRuntime *rt = job_runtime(j);
        Manager *m = rt->manager;
        bool main = s == rt->main_exec_source;
        ExecError e;
        JobActions a = {};
        int r;

        r = exec_read_error(fd, &e);
        if (r == -EAGAIN)
                return 0;
        if (r > 0) {
                /* Remember it: the exit handler turns it into result spawn-error. */
                record_exec_error(j, main, &e);
                runtime_close_exec(rt, main);
                return 0;
        }
        /* EOF: exec succeeded. */
        runtime_close_exec(rt, main);
        if (main) {
                if (j->config->type == SERVICE_EXEC) {
                        job_on_ready(j, now_mono(), &a);
                        manager_dispatch(m, j, &a);
                }
        }
        return 0;
}

/* forking: the daemon is PIDFile='s pid, or the one child left in the job's group. */
static pid_t resolve_forking_pid(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);
        pid_t pid = 0;

        if (j->config->pid_file) {
                _cleanup_fclose_ FILE *f = fopen(j->config->pid_file, "re");
                long v;
                if (!f) {
                        log_error("%s: Failed to open PIDFile '%s': %m", j->name, j->config->pid_file);
                        return 0;
                }
                if (fscanf(f, "%ld", &v) != 1 || v <= 1 || v > INT32_MAX) {
                        log_error("%s: PIDFile '%s' holds no valid pid", j->name, j->config->pid_file);
                        return 0;
                }
                pid = (pid_t) v;
                if (kill(pid, 0) < 0 && errno == ESRCH) {
                        log_error("%s: PIDFile '%s' names pid %d, which does not exist", j->name,
                                  j->config->pid_file, (int) pid);
                        return 0;
                }
                return pid;
        }

        if (rt->cgroup_fd >= 0) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;
                if (cgroup_job_pids(rt->cgroup_fd, &pids, &n) >= 0 && n == 1)
                        return pids[0];
                log_error("%s: Type=forking without PIDFile=: %zu processes left, cannot tell the daemon",
                          j->name, n);
                return 0;
        }

        /* Process groups: the daemon was reparented to pmd (subreaper/PID 1); it is the one child
         * of pmd that no job tracks. */
        {
                _cleanup_(closedirp) DIR *d = opendir("/proc");
                struct dirent *de;
                pid_t self = getpid(), found = 0;
                unsigned n = 0;

                if (!d)
                        return 0;
                while ((de = readdir(d))) {
                        char path[64], buf[512], *p;
                        long ppid;
                        pid_t q = (pid_t) atol(de->d_name);
                        if (q <= 0 || hashmap_get(m->pids, HASHMAP_UINT(q)))
                                continue;
                        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) q);
                        _cleanup_fclose_ FILE *f = fopen(path, "re");
                        if (!f || !fgets(buf, sizeof(buf), f))
                                continue;
                        p = strrchr(buf, ')');
                        if (!p || sscanf(p + 2, "%*c %ld", &ppid) != 1 || ppid != self)
                                continue;
                        found = q;
                        n++;
                }
                if (n == 1)
                        return found;
                log_error("%s: Type=forking without PIDFile=: %u untracked children, cannot tell the daemon",
                          j->name, n);
                return 0;
        }
}

static void job_take_main_pid(Manager *m, Job *j, pid_t pid) {
        JobRuntime *rt = job_runtime(j);
        int fd;

        fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0) {
                log_warning_errno(errno, "%s: Failed to open a pidfd for pid %d: %m", j->name, (int) pid);
                return;
        }
        runtime_close_process(rt, true);
        rt->main_pidfd = fd;
        rt->main_pgid = getpgid(pid) > 0 ? getpgid(pid) : 0;
        (void) hashmap_replace(m->pids, HASHMAP_UINT(pid), j);
        log_info("%s: daemon has pid %d", j->name, (int) pid);
}

/* ---- carrying out actions ---- */

/* Remember a change for the observers: they hear of it once it is committed (on_commit). */
static void queue_change_full(Manager *m, Job *j, JobChangeKind kind) {
        JobChange *c;
        char *name;

        if (m->n_observers == 0)
                return;
        name = strdup(j->name);
        c = realloc(m->changes, (m->n_changes + 1) * sizeof(JobChange));
        if (!name || !c) {
                free(name);
                if (c)
                        m->changes = c;
                log_oom();
                return;
        }
        m->changes = c;
        m->changes[m->n_changes++] = (JobChange) {
                .job = j,
                .name = name,
                .state = job_public_state(j),
                .result = j->result,
                .pid = j->main_pid,
                .kind = kind,
        };
}

static void queue_change(Manager *m, Job *j) {
        queue_change_full(m, j, JOB_CHANGE_STATE);
}

static void announce_changes(Manager *m) {
        /* Observers may cause more changes: take the list as it is. */
        while (m->n_changes > 0) {
                JobChange *l = TAKE_PTR(m->changes);
                size_t n = m->n_changes;

                m->n_changes = 0;
                for (size_t i = 0; i < n; i++) {
                        for (size_t k = 0; k < m->n_observers; k++)
                                m->observers[k].func(m, &l[i], m->observers[k].userdata);
                        free((char *) l[i].name);
                }
                free(l);
        }
}

static void job_state_changed(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);
        bool inactive = job_is_inactive(j);
        int r;

        m->generation++;
        rt->state_change_realtime = now_real();
        if (j->state == JOB_RUNNING && j->main_pid > 0 && rt->spawn_error == NULL &&
            j->result == JOB_SUCCESS && j->config->error == NULL)
                set_status_text(j, NULL);

        if (m->registry) {
                r = registry_job_update(m->registry, j->name, job_public_state_string(j),
                                        job_result_to_string(j->result), j->main_pid, j->restart_count,
                                        rt->state_change_realtime, rt->status_text);
                if (r < 0)
                        log_warning_errno(r, "%s: Failed to record the state in the registry: %m", j->name);
        }

        if (j->state == JOB_AUTO_RESTART)
                log_info("%s: %s (%s), restart %u in %s", j->name, job_public_state_string(j),
                         job_result_to_string(j->result), j->restart_count + 1,
                         format_timespan((char[32]) {}, 32,
                                         (j->timer_usec - now_mono() + 500) / USEC_PER_MSEC * USEC_PER_MSEC));
        else if (j->result != JOB_SUCCESS && inactive)
                log_warning("%s: %s (%s)", j->name, job_public_state_string(j), job_result_to_string(j->result));
        else if (j->main_pid > 0 && j->state == JOB_RUNNING)
                log_info("%s: %s (pid %d)", j->name, job_public_state_string(j), (int) j->main_pid);
        else
                log_info("%s: %s", j->name, job_public_state_string(j));

        queue_change(m, j);

        /* The entrypoint form: main's end is pmd's end, with main's status. */
        if (m->options.main_argv && m->options.main_argv[0] && inactive && j->state != JOB_AUTO_RESTART && !m->shutting_down &&
            streq(j->name, PID1_MAIN_JOB)) {
                int status = pid1_main_exit_status(j->exit_code, j->exit_status,
                                                   j->result == JOB_FAILURE_SPAWN_ERROR);
                log_info("main ended, stopping the other jobs, then exiting with status %d", status);
                (void) manager_shutdown(m, status, "pmd:main-ended");
        }

        /* Ordering: whoever waited on this job may go now. */
        for (size_t i = 0; i < j->n_dependents; i++)
                if (job_runtime(j->dependents[i])->start_queued)
                        queue_candidate(m, j->dependents[i]);
        for (size_t i = 0; i < j->n_after; i++)
                if (job_runtime(j->after[i])->stop_queued)
                        queue_candidate(m, j->after[i]);
        /* Requires= on a job that failed: those that wait on it fail too. A reload that waited
         * for this job to stop goes on. */
        if (rt->start_queued || rt->stop_queued ||
            (inactive && (rt->next_config || rt->remove_when_stopped)))
                queue_candidate(m, j);
}

static int on_job_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void job_arm_timer(Manager *m, Job *j, usec_t usec) {
        JobRuntime *rt = job_runtime(j);
        int r;

        if (usec == USEC_INFINITY) {
                if (rt->timer)
                        (void) sd_event_source_set_enabled(rt->timer, SD_EVENT_OFF);
                return;
        }
        if (!rt->timer) {
                r = sd_event_add_time(m->event, &rt->timer, CLOCK_MONOTONIC, usec, 0, on_job_timer, j);
                if (r < 0) {
                        log_error_errno(r, "%s: Failed to arm its timer: %m", j->name);
                        return;
                }
                return;
        }
        (void) sd_event_source_set_time(rt->timer, usec);
        (void) sd_event_source_set_enabled(rt->timer, SD_EVENT_ONESHOT);
}

/* Waiting for what is left of a job's processes to go. The last of them may not be pmd's child
 * (its own parent reaps it), so with a cgroup pmd watches cgroup.events, which the kernel
 * signals with EPOLLPRI when "populated" changes; without one, each orphan pmd reaps is a
 * chance to look again, and the stop timeout bounds the wait. */
static void stop_waiting_group(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);

        if (!rt->waiting_group)
                return;
        rt->waiting_group = false;
        m->n_waiting_group--;
        rt->group_source = sd_event_source_disable_unref(rt->group_source);
}

static int on_group_events(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void start_waiting_group(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);
        int fd, r;

        rt->waiting_group = true;
        m->n_waiting_group++;
        if (rt->cgroup_fd < 0 || j->config->kill_mode == KILL_PROCESS_GROUP)
                return;
        fd = openat(rt->cgroup_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        r = sd_event_add_io(m->event, &rt->group_source, fd, EPOLLPRI, on_group_events, j);
        if (r < 0) {
                safe_close(fd);
                return;
        }
        (void) sd_event_source_set_io_fd_own(rt->group_source, true);
}

static void busy_account(Manager *m, Job *j, bool was_inactive) {
        bool inactive = job_is_inactive(j);
        if (was_inactive && !inactive)
                m->n_busy++;
        else if (!was_inactive && inactive)
                m->n_busy--;
}

static void manager_check_exit(Manager *m) {
        if (m->shutting_down && m->n_busy == 0)
                (void) sd_event_exit(m->event, m->exit_status);
}

static void manager_dispatch(Manager *m, Job *j, JobActions *a) {
        JobRuntime *rt = job_runtime(j);
        bool spawn_failed = false, spawn_failed_main = false;

        for (size_t i = 0; i < a->n; i++) {
                JobAction *act = &a->items[i];

                switch (act->type) {
                case JOB_ACTION_SPAWN:
                        if (job_spawn(m, j, act->command, act->index, act->main) < 0) {
                                spawn_failed = true;
                                spawn_failed_main = act->main;
                        }
                        break;
                case JOB_ACTION_KILL:
                        job_kill(m, j, act->who, act->signal);
                        break;
                case JOB_ACTION_TIMER:
                        job_arm_timer(m, j, act->usec);
                        break;
                case JOB_ACTION_STATE_CHANGED:
                        job_state_changed(m, j);
                        break;
                case JOB_ACTION_RUN_BEGIN:
                        rt->run_start_realtime = now_real();
                        free(rt->spawn_error);
                        rt->spawn_error = NULL;
                        if (m->registry && j->main_pid > 0 &&
                            registry_run_begin(m->registry, j->name, j->main_pid, rt->run_start_realtime,
                                               &rt->run_id) < 0)
                                rt->run_id = 0;
                        manager_log_run_begin(m, j);
                        break;
                case JOB_ACTION_RUN_END:
                        manager_log_run_end(m, j);
                        if (m->registry && rt->run_id > 0)
                                (void) registry_run_end(m->registry, rt->run_id, now_real(), j->exit_code,
                                                        j->exit_status, job_result_to_string(j->result));
                        rt->run_id = 0;
                        rt->main_pgid = rt->control_pgid = 0;
                        stop_waiting_group(m, j);
                        break;
                case JOB_ACTION_RESOLVE_MAIN_PID: {
                        JobActions b = {};
                        pid_t pid = resolve_forking_pid(m, j);
                        if (pid > 0)
                                job_take_main_pid(m, j, pid);
                        job_on_main_pid(j, pid, now_mono(), &b);
                        manager_dispatch(m, j, &b);
                        break;
                }
                case JOB_ACTION_AUDIT_RESTART:
                        manager_audit(m, "pmd", "restart", j->name, "ok");
                        break;
                default:
                        assert_not_reached();
                }
        }

        if (spawn_failed) {
                /* The fork itself failed: the same as a child that could not exec. */
                JobActions b = {};
                ExitInfo e = { .main = spawn_failed_main, .spawn_error = true,
                               .group_empty = job_group_empty(m, j) };
                if (spawn_failed_main)
                        j->main_pid = 0;
                else
                        j->control_pid = 0;
                if (!rt->spawn_error)
                        set_status_text(j, "Failed to spawn the process");
                job_on_exit(j, &e, now_mono(), &b);
                manager_dispatch(m, j, &b);
                return;
        }

        /* Stopping with nothing of ours left but maybe the group: wait for it, or go on. */
        if ((j->state == JOB_STOP_SIGTERM || j->state == JOB_STOP_SIGKILL) && j->main_pid == 0 &&
            j->control_pid == 0) {
                if (job_group_empty(m, j)) {
                        JobActions b = {};
                        job_on_group_empty(j, now_mono(), &b);
                        manager_dispatch(m, j, &b);
                } else if (!rt->waiting_group)
                        start_waiting_group(m, j);
        }
}

/* Run one event of the state machine on a job, with the accounting around it. */
#define JOB_EVENT(m, j, call)                                           \
        do {                                                            \
                JobActions _a = {};                                     \
                bool _was_inactive = job_is_inactive(j);                \
                (void) (call);                                          \
                manager_dispatch((m), (j), &_a);                        \
                busy_account((m), (j), _was_inactive);                  \
                manager_check_exit(m);                                  \
        } while (0)

static int on_group_events(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Job *j = userdata;
        Manager *m = job_runtime(j)->manager;

        if (!job_group_empty(m, j))
                return 0;
        stop_waiting_group(m, j);
        JOB_EVENT(m, j, job_on_group_empty(j, now_mono(), &_a));
        return 0;
}

static int on_job_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Job *j = userdata;
        Manager *m = job_runtime(j)->manager;

        if (j->state == JOB_STOP_SIGTERM)
                log_warning("%s: did not stop within %s, sending SIGKILL", j->name,
                            format_timespan((char[32]) {}, 32, j->config->timeout_stop_usec));
        else if (j->state == JOB_START_PRE || j->state == JOB_START || j->state == JOB_START_POST)
                log_warning("%s: did not start within %s", j->name,
                            format_timespan((char[32]) {}, 32, j->config->timeout_start_usec));
        JOB_EVENT(m, j, job_on_timeout(j, now_mono(), &_a));
        return 0;
}

/* ---- reaping ---- */

static void log_exit(Job *j, bool main, const siginfo_t *si) {
        const char *what = main ? "main process" : "control process";
        if (si->si_code == CLD_EXITED)
                log_full(si->si_status == 0 ? LOG_INFO : LOG_WARNING, "%s: %s %d exited, status=%d", j->name,
                         what, (int) si->si_pid, si->si_status);
        else
                log_warning("%s: %s %d killed by %s%s", j->name, what, (int) si->si_pid,
                            signal_to_string(si->si_status) ?: "a signal",
                            si->si_code == CLD_DUMPED ? " (core dumped)" : "");
}

static void check_waiting_groups(Manager *m) {
        Job **l = NULL;
        size_t n = 0, k = 0;

        if (m->n_waiting_group == 0)
                return;
        if (manager_list_jobs(m, &l, &n) < 0)
                return;
        for (size_t i = 0; i < n && k < m->n_waiting_group; i++) {
                Job *j = l[i];
                JobRuntime *rt = job_runtime(j);
                if (!rt->waiting_group)
                        continue;
                k++;
                if (job_group_empty(m, j)) {
                        stop_waiting_group(m, j);
                        JOB_EVENT(m, j, job_on_group_empty(j, now_mono(), &_a));
                }
        }
        free(l);
}

static int on_sigchld(sd_event_source *s, const struct signalfd_siginfo *ssi, void *userdata) {
        Manager *m = userdata;
        bool untracked = false;

        for (;;) {
                siginfo_t si = {};
                Job *j;

                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0) {
                        if (errno == EINTR)
                                continue;
                        break; /* ECHILD: nothing left */
                }
                if (si.si_pid == 0)
                        break;

                j = hashmap_remove(m->pids, HASHMAP_UINT(si.si_pid));
                if (!j) {
                        log_debug("Reaped untracked process %d", (int) si.si_pid);
                        untracked = true;
                        continue;
                }

                bool main = si.si_pid == j->main_pid;
                if (!main && si.si_pid != j->control_pid) {
                        log_debug("%s: reaped stale process %d", j->name, (int) si.si_pid);
                        continue;
                }
                bool spawn_error = collect_exec_error(j, main);
                runtime_close_process(job_runtime(j), main);
                if (!spawn_error)
                        log_exit(j, main, &si);
                if (main) {
                        j->main_pid = 0;
                } else
                        j->control_pid = 0;

                ExitInfo e = {
                        .main = main,
                        .code = spawn_error ? 0 : si.si_code,
                        .status = spawn_error ? 0 : si.si_status,
                        .spawn_error = spawn_error,
                        .group_empty = job_group_empty(m, j),
                };
                /* job.c wants the pid it knew, to tell main from control; it clears it itself. */
                if (main)
                        j->main_pid = si.si_pid;
                else
                        j->control_pid = si.si_pid;
                JOB_EVENT(m, j, job_on_exit(j, &e, now_mono(), &_a));
        }

        if (untracked)
                check_waiting_groups(m);
        return 0;
}

/* ---- ordering queue ---- */

static void queue_candidate(Manager *m, Job *j) {
        if (GREEDY_REALLOC(m->candidates, m->n_candidates_alloc, m->n_candidates + 1, 64) < 0) {
                log_oom();
                return;
        }
        m->candidates[m->n_candidates++] = j;
        (void) sd_event_source_set_enabled(m->queue_source, SD_EVENT_ONESHOT);
}

/* Not on its way anywhere: its start (if any) finished, successfully or not. Internal states,
 * because a running oneshot is publicly "running" but its start is not done. */
static bool job_settled(const Job *j) {
        const JobRuntime *rt = job_runtime(j);
        return !rt->start_queued && !rt->stop_queued &&
                (j->state == JOB_RUNNING || j->state == JOB_RELOAD || job_is_inactive(j));
}

static bool job_up(const Job *j) {
        JobPublicState s = job_public_state(j);
        return s == JOB_PUBLIC_RUNNING || s == JOB_PUBLIC_EXITED;
}

static void try_start(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);

        if (!rt->start_queued)
                return;
        for (size_t i = 0; i < j->n_after; i++)
                if (!job_settled(j->after[i]))
                        return; /* still waiting; it will be a candidate again */

        rt->start_queued = false;
        STRV_FOREACH(name, j->config->requires) {
                Job *d = manager_get_job(m, *name);
                bool ordered = false;
                for (size_t i = 0; d && i < j->n_after; i++)
                        ordered = ordered || j->after[i] == d;
                if (!d || d->config->error || (ordered && !job_up(d)) ||
                    (!ordered && job_settled(d) && !job_up(d) && job_is_inactive(d) &&
                     d->state != JOB_AUTO_RESTART && d->state != JOB_DEAD)) {
                        log_error("%s: required job '%s' %s", j->name, *name,
                                  !d ? "does not exist" : "is not running");
                        char *msg = NULL;
                        if (asprintf(&msg, "Requires=%s: %s", *name, !d ? "no such job" : "not running") >= 0) {
                                set_status_text(j, msg);
                                free(msg);
                        }
                        JOB_EVENT(m, j, job_fail_dependency(j, now_mono(), &_a));
                        return;
                }
        }
        JOB_EVENT(m, j, job_start(j, now_mono(), &_a));
}

static void try_stop(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);

        if (!rt->stop_queued)
                return;
        /* Stop order is the reverse of start order: those that start after us stop first. */
        for (size_t i = 0; i < j->n_dependents; i++) {
                Job *d = j->dependents[i];
                if (job_runtime(d)->stop_queued || job_public_state(d) == JOB_PUBLIC_STOPPING)
                        return;
        }
        rt->stop_queued = false;
        JOB_EVENT(m, j, job_stop(j, now_mono(), &_a));
}

static void job_finish_pending(Manager *m, Job *j);

static int on_queue(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        /* New candidates may be added while we go: take the list as it is now. A job dropped
         * meanwhile is NULLed in this batch by manager_drop_job(). */
        while (m->n_candidates > 0) {
                m->processing = m->candidates;
                m->n_processing = m->n_candidates;
                m->candidates = NULL;
                m->n_candidates = m->n_candidates_alloc = 0;
                for (size_t i = 0; i < m->n_processing; i++) {
                        Job *j = m->processing[i];
                        if (!j)
                                continue;
                        try_stop(m, j);
                        if (m->processing[i])
                                try_start(m, j);
                        if (m->processing[i] && job_is_inactive(j))
                                job_finish_pending(m, j);
                }
                free(m->processing);
                m->processing = NULL;
                m->n_processing = 0;
        }
        return 0;
}

static void enqueue_start(Manager *m, Job *j, unsigned depth) {
        JobRuntime *rt = job_runtime(j);

        if (rt->start_queued || depth > 64)
                return;
        if (j->config->error) {
                job_mark_config_error(m, j);
                return;
        }
        rt->stop_queued = false;
        rt->start_queued = true;
        queue_candidate(m, j);
        /* Pull in what it Requires= and Wants=. */
        STRV_FOREACH(name, j->config->requires) {
                Job *d = manager_get_job(m, *name);
                if (d && !job_is_active(d) && d->state != JOB_EXITED)
                        enqueue_start(m, d, depth + 1);
        }
        STRV_FOREACH(name, j->config->wants) {
                Job *d = manager_get_job(m, *name);
                if (d && !job_is_active(d) && d->state != JOB_EXITED && !d->config->error)
                        enqueue_start(m, d, depth + 1);
        }
}

static void enqueue_stop(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);

        rt->start_queued = false;
        if (job_is_inactive(j) && j->state != JOB_AUTO_RESTART)
                return;
        rt->stop_queued = true;
        queue_candidate(m, j);
}

/* A stop takes along every job that Requires= it, transitively, as systemd's does. A manual stop
 * is rare: a scan of the table is fine here. */
static void enqueue_stop_with_requirers(Manager *m, Job *j, unsigned depth) {
        Job **l;
        size_t n;

        enqueue_stop(m, j);
        if (depth > 64 || manager_list_jobs(m, &l, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                if (strv_contains(l[i]->config->requires, j->name) && !job_runtime(l[i])->stop_queued &&
                    (!job_is_inactive(l[i]) || l[i]->state == JOB_AUTO_RESTART))
                        enqueue_stop_with_requirers(m, l[i], depth + 1);
        free(l);
}

/* ---- the calls of the control faces ---- */

void manager_audit(Manager *m, const char *actor, const char *action, const char *job, const char *outcome) {
        if (!m->registry)
                return;
        if (registry_audit(m->registry, now_real(), actor ?: "?", action, job, outcome) < 0)
                log_warning("Failed to write the audit record of %s %s", action, job ?: "");
}

static int lookup(Manager *m, const char *name, const char *actor, const char *action, Job **ret) {
        Job *j = manager_get_job(m, name);
        if (!j) {
                manager_audit(m, actor, action, name, "no such job");
                return -ENOENT;
        }
        *ret = j;
        return 0;
}

/* A job that may be started now: it exists, pmd is not shutting down, its file was accepted. The
 * request is audited either way. */
static int lookup_startable(Manager *m, const char *name, const char *actor, const char *action, Job **ret) {
        Job *j;
        int r = lookup(m, name, actor, action, &j);
        if (r < 0)
                return r;
        if (m->shutting_down) {
                manager_audit(m, actor, action, name, "shutting down");
                return -ESHUTDOWN;
        }
        manager_audit(m, actor, action, name, j->config->error ? "config error" : "ok");
        if (j->config->error)
                return -ENOEXEC;
        *ret = j;
        return 0;
}

int manager_start_job(Manager *m, const char *name, const char *actor) {
        Job *j;
        int r = lookup_startable(m, name, actor, "start", &j);
        if (r < 0)
                return r;
        if (job_is_inactive(j))
                job_reset_counters(j);
        enqueue_start(m, j, 0);
        return 0;
}

int manager_stop_job(Manager *m, const char *name, const char *actor) {
        Job *j;
        int r = lookup(m, name, actor, "stop", &j);
        if (r < 0)
                return r;
        manager_audit(m, actor, "stop", name, "ok");
        enqueue_stop_with_requirers(m, j, 0);
        return 0;
}

int manager_restart_job(Manager *m, const char *name, const char *actor) {
        Job *j;
        int r = lookup_startable(m, name, actor, "restart", &j);
        if (r < 0)
                return r;
        if (job_is_inactive(j)) {
                job_reset_counters(j);
                enqueue_start(m, j, 0);
                return 0;
        }
        job_runtime(j)->start_queued = job_runtime(j)->stop_queued = false;
        JOB_EVENT(m, j, job_restart(j, now_mono(), &_a));
        return 0;
}

int manager_reload_job(Manager *m, const char *name, const char *actor) {
        Job *j;
        int r = lookup(m, name, actor, "reload-job", &j);
        if (r < 0)
                return r;
        JOB_EVENT(m, j, r = job_reload(j, now_mono(), &_a));
        manager_audit(m, actor, "reload-job", name,
                      r == -EOPNOTSUPP ? "no ExecReload=" : r == -EBUSY ? "not running" : "ok");
        return r;
}

int manager_kill_job(Manager *m, const char *name, int sig, const char *actor) {
        Job *j;
        int r = lookup(m, name, actor, "kill", &j);
        if (r < 0)
                return r;
        if (sig <= 0 || sig >= _NSIG) {
                manager_audit(m, actor, "kill", name, "invalid signal");
                return -EINVAL;
        }
        manager_audit(m, actor, "kill", name, signal_to_string(sig) ?: "ok");
        job_kill(m, j, KILL_WHO_ALL, sig);
        return 0;
}

int manager_enable_job(Manager *m, const char *name, bool enable, const char *actor) {
        Job *j;
        int r = lookup(m, name, actor, enable ? "enable" : "disable", &j);
        if (r < 0)
                return r;
        job_runtime(j)->enabled = enable;
        if (m->registry) {
                r = registry_job_set_enabled(m->registry, name, enable);
                if (r < 0) {
                        manager_audit(m, actor, enable ? "enable" : "disable", name, "registry error");
                        return r;
                }
        }
        manager_audit(m, actor, enable ? "enable" : "disable", name, "ok");
        return 0;
}

int manager_heartbeat(Manager *m, const char *name, const char *source, const char *status, const char *actor) {
        Job *j = manager_get_job(m, name);
        JobRuntime *rt;

        if (!j)
                return -ENOENT;
        rt = job_runtime(j);
        rt->last_heartbeat_realtime = now_real();
        m->generation++;
        if (status && *status)
                set_status_text(j, status);
        if (m->registry)
                (void) registry_heartbeat_add(m->registry, name, rt->last_heartbeat_realtime, source, status, 100);
        /* Not job_on_ready(): a heartbeat feeds the watchdog, it does not make a notify job ready. */
        JOB_EVENT(m, j, job_on_heartbeat(j, now_mono(), &_a));
        return 0;
}

int manager_shutdown(Manager *m, int exit_status, const char *actor) {
        size_t it = 0;
        void *v;

        if (m->shutting_down) {
                /* Asked again while stopping: kill everything left at once. */
                log_warning("Shutdown asked again: sending SIGKILL to every job left");
                while (hashmap_iterate(m->jobs, &it, &v, NULL))
                        if (!job_is_inactive(v))
                                job_kill(m, v, KILL_WHO_ALL, SIGKILL);
                return 0;
        }
        log_info("Stopping every job (%s)", actor);
        manager_audit(m, actor, "shutdown", NULL, "ok");
        m->shutting_down = true;
        m->exit_status = exit_status;
        while (hashmap_iterate(m->jobs, &it, &v, NULL))
                enqueue_stop(m, v);
        manager_check_exit(m);
        return 0;
}

/* ---- loading and reloading ---- */

static void diag_log(void *userdata, DiagLevel level, const DiagLoc *loc, const char *msg) {
        _cleanup_free_ char *s = diag_format(loc, msg);
        if (level == DIAG_ERROR)
                log_error("%s", s ?: msg);
        else
                log_warning("%s", s ?: msg);
}

/* Jobs whose reload waited for them to stop: apply the new file, or drop the job. */
static void job_finish_pending(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);

        if (!job_is_inactive(j) || j->state == JOB_AUTO_RESTART)
                return;
        if (rt->remove_when_stopped) {
                log_info("%s: removed", j->name);
                if (m->registry)
                        (void) registry_job_delete(m->registry, j->name);
                queue_change_full(m, j, JOB_CHANGE_REMOVED);
                manager_drop_job(m, j);
                return;
        }
        if (rt->next_config) {
                job_config_free(j->config);
                j->config = TAKE_PTR(rt->next_config);
                job_apply_config(m, j);
                if (j->config->error) {
                        job_mark_config_error(m, j);
                        return;
                }
                if (j->state == JOB_FAILED && j->result == JOB_FAILURE_CONFIG) {
                        j->state = JOB_DEAD;
                        j->result = JOB_SUCCESS;
                        set_status_text(j, NULL);
                }
                if (rt->was_active) {
                        rt->was_active = false;
                        enqueue_start(m, j, 0);
                }
        }
}

static int rebuild_order(Manager *m) {
        _cleanup_strv_free_ char **messages = NULL;
        Job **l;
        size_t n;
        int r;

        r = manager_list_jobs(m, &l, &n);
        if (r < 0)
                return r;
        r = job_order_build(l, n, m->jobs, &messages);
        free(l);
        STRV_FOREACH(msg, messages)
                log_warning("%s", *msg);
        return r;
}

static int manager_load_jobs(Manager *m, bool reload) {
        Diag diag = { .func = diag_log, .userdata = m };
        JobConfig **configs = NULL;
        Hashmap *seen = NULL;
        size_t n = 0, it = 0;
        void *v;
        int r;

        r = conf_load_dirs(m->options.job_dirs, &diag, &configs, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to read the job directories: %m");

        /* The entrypoint form: main comes from the command line, never from a file. */
        if (m->options.main_argv && m->options.main_argv[0]) {
                JobConfig *mc = NULL, **l;
                size_t k = 0;

                r = pid1_main_config(m->options.main_argv, &mc);
                if (r < 0)
                        log_error_errno(r, "Failed to make the job '%s' of the command line: %m", PID1_MAIN_JOB);
                else if (!(l = realloc(configs, (n + 1) * sizeof(JobConfig *))))
                        job_config_free(mc);
                else {
                        configs = l;
                        for (size_t i = 0; i < n; i++) {
                                if (!streq(configs[i]->name, PID1_MAIN_JOB)) {
                                        configs[k++] = configs[i];
                                        continue;
                                }
                                log_warning("%s: ignored, the job '%s' is the command given after --",
                                            configs[i]->source_path ?: "?", PID1_MAIN_JOB);
                                job_config_free(configs[i]);
                        }
                        configs[k++] = mc;
                        n = k;
                }
        }

        seen = hashmap_new_string();
        if (!seen) {
                job_config_array_free(configs, n);
                return log_oom();
        }

        for (size_t i = 0; i < n; i++) {
                JobConfig *c = TAKE_PTR(configs[i]);
                Job *j = manager_get_job(m, c->name);

                if (j) {
                        JobRuntime *rt = job_runtime(j);
                        (void) hashmap_put(seen, j->name, j);
                        rt->remove_when_stopped = false;
                        if (c->fingerprint == j->config->fingerprint && !c->error == !j->config->error &&
                            !rt->next_config) {
                                job_config_free(c);
                                continue;
                        }
                        log_info("%s: job file changed", j->name);
                        job_config_free(rt->next_config);
                        rt->next_config = c;
                        if (!job_is_inactive(j) || j->state == JOB_AUTO_RESTART) {
                                rt->was_active = true;
                                enqueue_stop(m, j);
                        } else
                                job_finish_pending(m, j);
                        continue;
                }

                r = manager_add_job(m, c, &j);
                if (r < 0) {
                        log_error_errno(r, "Failed to add job: %m");
                        continue;
                }
                (void) hashmap_put(seen, j->name, j);
                job_apply_config(m, j);
                if (j->config->error)
                        job_mark_config_error(m, j);
                else if (m->registry)
                        (void) registry_job_update(m->registry, j->name, "stopped", "success", 0, 0,
                                                   job_runtime(j)->state_change_realtime, NULL);
                if (reload) {
                        log_info("%s: new job", j->name);
                        queue_change_full(m, j, JOB_CHANGE_ADDED);
                }
        }
        free(configs);

        /* Jobs whose files are gone: stop, then drop. */
        {
                Job **gone = NULL;
                size_t n_gone = 0;
                gone = calloc(hashmap_size(m->jobs) + 1, sizeof(Job *));
                if (gone) {
                        it = 0;
                        while (hashmap_iterate(m->jobs, &it, &v, NULL))
                                if (!hashmap_get(seen, ((Job *) v)->name))
                                        gone[n_gone++] = v;
                        for (size_t i = 0; i < n_gone; i++) {
                                job_runtime(gone[i])->remove_when_stopped = true;
                                if (job_is_inactive(gone[i]) && gone[i]->state != JOB_AUTO_RESTART)
                                        job_finish_pending(m, gone[i]);
                                else
                                        enqueue_stop(m, gone[i]);
                        }
                        free(gone);
                }
        }
        hashmap_free(seen);

        r = rebuild_order(m);
        if (r < 0)
                return log_error_errno(r, "Failed to order the jobs: %m");

        /* A re-executed pmd takes its jobs back as they were, before anything could start them. */
        if (!reload && deserialize_active(m)) {
                _cleanup_strv_free_ char **dropped = NULL;
                r = deserialize_jobs(m, &dropped);
                if (r < 0)
                        log_warning_errno(r, "Some state of the previous image could not be taken back: %m");
                STRV_FOREACH(d, dropped)
                        log_warning("%s: its job file is gone, killed what was left of it after the re-execution",
                                    *d);
                manager_log_deserialize(m);
                /* Uptime counts from the first start, not from the re-execution. */
                uint64_t t;
                if (deserialize_get_u64(m, "manager", "startup-realtime", &t) >= 0 && t > 0)
                        m->startup_realtime = (usec_t) t;
        }

        /* Start what should run and does not: at startup every enabled job; on reload the new
         * ones (and fixed ones), which are inactive and not failed yet. */
        it = 0;
        while (hashmap_iterate(m->jobs, &it, &v, NULL)) {
                Job *j = v;
                JobRuntime *rt = job_runtime(j);
                if (!rt->enabled || j->config->error || rt->remove_when_stopped || rt->next_config)
                        continue;
                if (j->state == JOB_DEAD && j->result == JOB_SUCCESS && j->restart_count == 0 &&
                    rt->run_start_realtime == 0)
                        enqueue_start(m, j, 0);
        }
        return 0;
}

int manager_reload(Manager *m, const char *actor) {
        int r;

        log_info("Reloading job files (%s)", actor);
        r = manager_load_jobs(m, true);
        manager_audit(m, actor, "reload", NULL, r < 0 ? "failed" : "ok");
        return r;
}

/* ---- signals ---- */

/* `pmd -- COMMAND`: main_argv is an empty list without a command. */
static bool entrypoint_form(Manager *m) {
        return m->options.main_argv && m->options.main_argv[0];
}

/* The entrypoint form: a signal sent to pmd is meant for main, as with tini; main's end then
 * stops the others. The RTMIN requests are pmd's own, and once main is gone (or pmd is stopping)
 * every signal is pmd's again: a second SIGINT then escalates as usual. */
static bool forward_to_main(Manager *m, int sig) {
        Job *j;

        if (!entrypoint_form(m) || m->shutting_down || (sig >= SIGRTMIN + 3 && sig <= SIGRTMIN + 5))
                return false;
        j = manager_get_job(m, PID1_MAIN_JOB);
        if (!j || j->main_pid <= 0 || job_runtime(j)->main_pidfd < 0)
                return false;
        log_info("Passing %s on to main (pid %d)", signal_to_string(sig) ?: "a signal", (int) j->main_pid);
        job_kill(m, j, KILL_WHO_MAIN, sig);
        return true;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *ssi, void *userdata) {
        Manager *m = userdata;
        int sig = (int) ssi->ssi_signo;

        if (forward_to_main(m, sig))
                return 0;
        if (sig == SIGTERM || sig == SIGINT) {
                if (m->shutting_down && sig == SIGTERM)
                        return 0;
                (void) manager_shutdown(m, 0, sig == SIGTERM ? "signal:SIGTERM" : "signal:SIGINT");
        } else if (sig == SIGHUP)
                (void) manager_reload(m, "signal:SIGHUP");
        else if (sig == SIGUSR1)
                (void) manager_rotate_logs(m, NULL, "signal:SIGUSR1");
        else if (sig == SIGRTMIN + 3 || sig == SIGRTMIN + 4 || sig == SIGRTMIN + 5)
                (void) manager_shutdown_action(m, sig == SIGRTMIN + 3 ? PID1_HALT :
                                                  sig == SIGRTMIN + 4 ? PID1_POWEROFF : PID1_REBOOT,
                                               sig == SIGRTMIN + 3 ? "signal:SIGRTMIN+3" :
                                               sig == SIGRTMIN + 4 ? "signal:SIGRTMIN+4" : "signal:SIGRTMIN+5");
        return 0;
}

static int on_commit(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        int r;

        if (m->registry) {
                r = registry_commit(m->registry);
                if (r < 0)
                        log_warning_errno(r, "Failed to commit to the registry: %m");
        }
        /* Committed first, announced second: who hears of a change finds it in the registry. */
        announce_changes(m);
        return 0;
}

/* ---- lifecycle ---- */

int manager_new(const ManagerOptions *o, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
        sigset_t mask;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->options.job_dirs = strv_copy(o->job_dirs);
        m->options.state_dir = opt_strdup(o->state_dir);
        m->options.log_dir = opt_strdup(o->log_dir);
        m->options.socket_path = opt_strdup(o->socket_path);
        m->options.bus = opt_strdup(o->bus);
        m->options.http = opt_strdup(o->http);
        m->options.plugin_dir = opt_strdup(o->plugin_dir);
        m->options.user_mode = o->user_mode;
        m->options.main_argv = strv_copy(o->main_argv);
        m->jobs = hashmap_new_string();
        m->pids = hashmap_new_uint64();
        m->reexec = reexec_new();
        if (!m->reexec)
                return -ENOMEM;
        if (!m->options.state_dir || !m->options.log_dir || !m->jobs || !m->pids)
                return -ENOMEM;
        m->startup_realtime = now_real();
        m->lock_fd = -EBADF;

        r = sd_event_new(&m->event);
        if (r < 0)
                return r;

        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaddset(&mask, sigs[i]);
        for (int i = 3; i <= 5; i++)
                sigaddset(&mask, SIGRTMIN + i);
        sigaddset(&mask, SIGUSR1);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        (void) signal(SIGPIPE, SIG_IGN);
        /* A terminal never stops pmd: the entrypoint's main may have taken it as its foreground
         * while pmd writes its log there. */
        (void) signal(SIGTTOU, SIG_IGN);
        (void) signal(SIGTTIN, SIG_IGN);
        /* A file size limit (LimitFSIZE= on pmd's own unit) makes a write fail with EFBIG, handled
         * as any write error, instead of killing pmd. */
        (void) signal(SIGXFSZ, SIG_IGN);
        /* The log takes a write lease for an instant (logpipe.c, "Removing a large file"); should
         * someone open the file just then, the lease break's SIGIO must not kill pmd. */
        (void) signal(SIGIO, SIG_IGN);

        /* Children are reaped after everything else of an iteration ran, at a lower priority. */
        r = sd_event_add_signal(m->event, &m->signal_sources[0], SIGCHLD, on_sigchld, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_priority(m->signal_sources[0], SD_EVENT_PRIORITY_NORMAL + 10);
        for (size_t i = 1; i < ELEMENTSOF(sigs); i++) {
                r = sd_event_add_signal(m->event, &m->signal_sources[i], sigs[i], on_signal, m);
                if (r < 0)
                        return r;
        }
        for (int i = 3; i <= 5; i++) {
                r = sd_event_add_signal(m->event, &m->signal_sources[i + 1], SIGRTMIN + i, on_signal, m);
                if (r < 0)
                        return r;
        }
        /* SIGUSR1: rotate or reopen the job logs (logrotate's postrotate). */
        r = sd_event_add_signal(m->event, &m->signal_sources[7], SIGUSR1, on_signal, m);
        if (r < 0)
                return r;
        r = log_context_new(m->event, &m->log_context);
        if (r < 0)
                return r;
        r = manager_log_setup(m);
        if (r < 0)
                return r;

        if (m->options.main_argv && m->options.main_argv[0]) {
                /* What tini passes on besides what on_signal() has already (TERM, INT, HUP, USR1);
                 * the job-control and fault signals stay pmd's. */
                static const int fwd[] = { SIGQUIT, SIGUSR2, SIGWINCH, SIGALRM, SIGCONT };
                sigemptyset(&mask);
                for (size_t i = 0; i < ELEMENTSOF(fwd); i++)
                        sigaddset(&mask, fwd[i]);
                if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                        return -errno;
                for (size_t i = 0; i < ELEMENTSOF(fwd); i++) {
                        r = sd_event_add_signal(m->event, &m->forward_sources[i], fwd[i], on_signal, m);
                        if (r < 0 && r != -EBUSY) /* EBUSY: another part of pmd handles it already */
                                return r;
                }
        }

        r = sd_event_add_post(m->event, &m->commit_source, on_commit, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_priority(m->commit_source, SD_EVENT_PRIORITY_IDLE);
        r = sd_event_add_defer(m->event, &m->queue_source, on_queue, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(m->queue_source, SD_EVENT_OFF);

        if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                log_warning_errno(errno, "Failed to become a child subreaper, daemonised grandchildren "
                                         "will not be reaped by pmd: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

/* The notify socket and the HTTP server: a part that cannot start is logged and left off (SPEC
 * §6); pmd supervises without it. */
static void manager_start_faces(Manager *m) {
        _cleanup_free_ char *path = NULL;
        const char *slash;
        int r;

        /* The notify socket lives beside the private control socket (/run/pmd/notify). */
        slash = m->options.socket_path ? strrchr(m->options.socket_path, '/') : NULL;
        if (slash && slash > m->options.socket_path)
                r = asprintf(&path, "%.*s/notify", (int) (slash - m->options.socket_path), m->options.socket_path);
        else
                r = asprintf(&path, "%s/notify", m->options.state_dir);
        if (r < 0) {
                log_oom();
                return;
        }
        slash = strrchr(path, '/');
        if (slash > path) {
                _cleanup_free_ char *dir = strndup(path, (size_t) (slash - path));
                if (dir)
                        (void) mkdir_p(dir, 0755);
        }
        r = notify_server_new(m, path, &m->notify);
        if (r < 0)
                log_error_errno(r, "Failed to open the notify socket '%s', Type=notify and WATCHDOG=1 will "
                                   "not work: %m", path);
        else
                log_debug("Notify socket at %s", notify_server_address(m->notify));

        if (m->options.http && !streq(m->options.http, "off")) {
                r = http_server_new(m, m->options.http, &m->http);
                if (r < 0)
                        log_error_errno(r, "Failed to start the HTTP server on %s, carrying on without it: %m",
                                        m->options.http);
        }
}

int manager_startup(Manager *m) {
        _cleanup_free_ char *db = NULL;
        unsigned abandoned = 0;
        int r;

        r = mkdir_p(m->options.state_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create the state directory '%s': %m", m->options.state_dir);
        r = mkdir_p(m->options.log_dir, 0755);
        if (r < 0)
                log_warning_errno(r, "Failed to create the log directory '%s': %m", m->options.log_dir);

        /* Two pmds on one state directory would supervise the same jobs twice. */
        if (asprintf(&db, "%s/pmd.lock", m->options.state_dir) < 0)
                return log_oom();
        m->lock_fd = open(db, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (m->lock_fd < 0)
                return log_error_errno(errno, "Failed to open '%s': %m", db);
        if (flock(m->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        return log_error_errno(EBUSY, "Another pmd is running with the state directory '%s'",
                                               m->options.state_dir);
                return log_error_errno(errno, "Failed to lock '%s': %m", db);
        }
        free(db);
        if (asprintf(&db, "%s/registry.db", m->options.state_dir) < 0)
                return log_oom();
        /* Re-executed: the open runs are still running, not abandoned. */
        r = registry_open(db, deserialize_active(m) ? USEC_INFINITY : now_real(), &m->registry, &abandoned);
        if (r < 0)
                /* pmd supervises without a registry rather than not at all. */
                log_error_errno(r, "Failed to open the registry '%s', running without it: %m", db);
        else {
                if (abandoned > 0)
                        log_warning("Closed %u run(s) left open by a pmd that did not stop cleanly", abandoned);
                (void) registry_prune(m->registry, RUNS_KEEP_PER_JOB, AUDIT_KEEP);
        }

        /* The cgroup instance name: from the state directory, which the lock makes ours alone. */
        char instance[17];
        uint64_t h = 1469598103934665603ULL;
        _cleanup_free_ char *state_real = realpath(m->options.state_dir, NULL);
        for (const char *c = state_real ?: m->options.state_dir; *c; c++)
                h = (h ^ (unsigned char) *c) * 1099511628211ULL;
        (void) snprintf(instance, sizeof(instance), "%016llx", (unsigned long long) h);
        r = cgroup_root_open(instance, &m->cgroup_root);
        if (r < 0)
                log_info("No cgroup for jobs (%s), using process groups", strerror(-r));

        manager_start_faces(m);
        manager_audit(m, "pmd", "startup", NULL, "ok");

        /* Before the jobs start, so that their first state changes are announced. */
        r = bus_setup(m, &m->bus);
        if (r < 0)
                log_error_errno(r, "Failed to serve the control socket '%s', carrying on without it: %m",
                                m->options.socket_path);

        r = manager_load_jobs(m, false);
        if (r < 0)
                log_error("Continuing without the job files");
        return 0;
}

int manager_run(Manager *m, int *ret_exit_status) {
        int r = sd_event_loop(m->event);
        if (r < 0)
                return r;
        on_commit(NULL, m);
        *ret_exit_status = r;
        return 0;
}

Manager *manager_free(Manager *m) {
        size_t it = 0;
        void *v;
        Job **l;
        size_t n;

        if (!m)
                return NULL;
        /* The bus first: its observer must not see the jobs go. */
        m->bus = bus_free(m->bus);
        /* The other faces too: they call into the manager and hold sources on its loop. */
        m->http = http_server_free(m->http);
        m->notify = notify_server_free(m->notify);
        if (manager_list_jobs(m, &l, &n) >= 0) {
                for (size_t i = 0; i < n; i++)
                        manager_drop_job(m, l[i]);
                free(l);
        }
        (void) it;
        (void) v;
        for (size_t i = 0; i < ELEMENTSOF(m->signal_sources); i++)
                sd_event_source_disable_unref(m->signal_sources[i]);
        for (size_t i = 0; i < ELEMENTSOF(m->forward_sources); i++)
                sd_event_source_disable_unref(m->forward_sources[i]);
        reexec_free(m->reexec);
        sd_event_source_disable_unref(m->commit_source);
        sd_event_source_disable_unref(m->queue_source);
        m->log_context = log_context_free(m->log_context); /* after the jobs: their logs use it */
        registry_free(m->registry);
        safe_close(m->lock_fd);
        cgroup_root_free(m->cgroup_root);
        hashmap_free(m->jobs);
        hashmap_free(m->pids);
        free(m->candidates);
        for (size_t i = 0; i < m->n_changes; i++)
                free((char *) m->changes[i].name);
        free(m->changes);
        free(m->observers);
        sd_event_unref(m->event);
        strv_free(m->options.job_dirs);
        free(m->options.state_dir);
        free(m->options.log_dir);
        free(m->options.socket_path);
        free(m->options.bus);
        free(m->options.http);
        free(m->options.plugin_dir);
        strv_free(m->options.main_argv);
        free(m);
        return NULL;
}

sd_event *manager_get_event(Manager *m) {
        return m->event;
}

Registry *manager_get_registry(Manager *m) {
        return m->registry;
}

const ManagerOptions *manager_get_options(Manager *m) {
        return &m->options;
}

usec_t manager_get_startup_realtime(Manager *m) {
        return m->startup_realtime;
}

LogContext *manager_get_log_context(Manager *m) {
        return m->log_context;
}

int manager_add_observer(Manager *m, ManagerJobObserver f, void *userdata) {
        Observer *o = realloc(m->observers, (m->n_observers + 1) * sizeof(Observer));
        if (!o)
                return -ENOMEM;
        o[m->n_observers++] = (Observer) { .func = f, .userdata = userdata };
        m->observers = o;
        return 0;
}

/* Usage for the D-Bus properties: every job's, sampled at most once per loop iteration by
 * job_usage_sample() (the same numbers as /status and /metrics), so that listing n jobs costs
 * one sample, not n. */
static int usage_refresh(Manager *m) {
        _cleanup_free_ JobUsage *u = NULL;
        _cleanup_free_ Job **l = NULL;
        uint64_t iteration = 0;
        size_t n = 0;
        int r;

        (void) sd_event_get_iteration(m->event, &iteration);
        if (m->usage_valid && m->usage_iteration == iteration)
                return 0;
        r = manager_list_jobs(m, &l, &n);
        if (r < 0)
                return r;
        u = calloc(n ? n : 1, sizeof(JobUsage));
        if (!u)
                return -ENOMEM;
        r = job_usage_sample(m, l, n, u);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                job_runtime(l[i])->usage = u[i];
        m->usage_iteration = iteration;
        m->usage_valid = true;
        return 0;
}

int manager_job_usage(Manager *m, Job *j, JobUsage *ret) {
        int r = usage_refresh(m);
        if (r < 0)
                return r;
        *ret = job_runtime(j)->usage;
        return 0;
}

/* ---- for the notify socket and the HTTP face ---- */

/* A process in a job's cgroup: /proc/PID/cgroup names ".../pmd-jobs-INSTANCE/NAME.job". */
static Job *job_by_cgroup(Manager *m, pid_t pid) {
        char path[64], line[4096];
        const char *root = cgroup_root_path(m->cgroup_root), *root_base;
        _cleanup_fclose_ FILE *f = NULL;

        if (!root)
                return NULL;
        root_base = strrchr(root, '/') ? strrchr(root, '/') + 1 : root;
        (void) snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return NULL;
        while (fgets(line, sizeof(line), f)) {
                char *nl = strchr(line, '\n'), *base, *parent;
                size_t n;
                Job *j;

                if (!strneq(line, "0::", 3))
                        continue;
                if (nl)
                        *nl = 0;
                base = strrchr(line, '/');
                if (!base || base == line)
                        return NULL;
                *base++ = 0;
                parent = strrchr(line, '/');
                parent = parent ? parent + 1 : line;
                n = strlen(base);
                if (isempty(root_base) || !streq(parent, root_base) || n <= 4 || !streq(base + n - 4, ".job"))
                        return NULL;
                base[n - 4] = 0;
                j = manager_get_job(m, base);
                return j && job_runtime(j)->cgroup_fd >= 0 ? j : NULL;
        }
        return NULL;
}

Job *manager_job_by_pid(Manager *m, pid_t pid) {
        Job *j;
        pid_t pgid;

        if (pid <= 0)
                return NULL;
        j = hashmap_get(m->pids, HASHMAP_UINT(pid));
        if (j)
                return j;
        if (m->cgroup_root && (j = job_by_cgroup(m, pid)))
                return j;
        /* Process groups: each run's main and control process lead their own group, so the
         * group id is the pid of one of them. */
        pgid = getpgid(pid);
        if (pgid > 0 && (j = hashmap_get(m->pids, HASHMAP_UINT(pgid)))) {
                JobRuntime *rt = job_runtime(j);
                if (rt->main_pgid == pgid || rt->control_pgid == pgid)
                        return j;
        }
        return NULL;
}

void manager_job_actions(Manager *m, Job *j, JobActions *a, bool was_inactive) {
        manager_dispatch(m, j, a);
        busy_account(m, j, was_inactive);
        manager_check_exit(m);
}

void manager_set_status_text(Manager *m, Job *j, const char *text) {
        JobRuntime *rt = job_runtime(j);

        if (streq(rt->status_text ?: "", text ?: ""))
                return;
        set_status_text(j, text);
        if (m->registry)
                (void) registry_job_update(m->registry, j->name, job_public_state_string(j),
                                           job_result_to_string(j->result), j->main_pid, j->restart_count,
                                           rt->state_change_realtime, rt->status_text);
}

int manager_job_set_main_pid(Manager *m, Job *j, pid_t pid) {
        JobActions a = {};

        if (pid <= 0)
                return -EINVAL;
        if (pid == j->main_pid)
                return 0;
        /* Only while the job has a main process to replace (or is starting up). */
        if (j->main_pid <= 0 && j->state != JOB_START)
                return -ESRCH;
        job_take_main_pid(m, j, pid);
        if (job_runtime(j)->main_pidfd < 0)
                return -ESRCH;
        j->main_pid = pid;
        a.items[a.n++] = (JobAction) { .type = JOB_ACTION_STATE_CHANGED };
        manager_dispatch(m, j, &a);
        return 0;
}

uint64_t manager_generation(Manager *m) {
        return m->generation;
}

NotifyServer *manager_get_notify(Manager *m) {
        return m->notify;
}

HttpServer *manager_get_http(Manager *m) {
        return m->http;
}

CGroupRoot *manager_get_cgroup_root(Manager *m) {
        return m->cgroup_root;
}

/* ---- PID 1 and re-execution (pid1.c, serialize.c) ---- */

int manager_shutdown_action(Manager *m, Pid1Action action, const char *actor) {
        if (action < 0 || action >= _PID1_ACTION_MAX)
                return -EINVAL;
        /* A halt, power-off or reboot asked during a plain stop says what follows it. */
        if (action != PID1_EXIT) {
                if (!m->shutting_down || m->action != action)
                        log_info("%s requested (%s)", pid1_action_to_string(action), actor);
                m->action = action;
        }
        return manager_shutdown(m, 0, actor);
}

Pid1Action manager_get_action(Manager *m) {
        return m->action;
}

int manager_reexecute(Manager *m, const char *actor) {
        int r;

        if (m->shutting_down) {
                manager_audit(m, actor, "reexec", NULL, "shutting down");
                return -ESHUTDOWN;
        }
        r = reexec_schedule(m, actor);
        if (r < 0) {
                manager_audit(m, actor, "reexec", NULL, "failed");
                return log_error_errno(r, "Cannot re-execute (%s): %m", actor);
        }
        manager_audit(m, actor, "reexec", NULL, "ok");
        log_info("Re-execution requested (%s)", actor);
        return 0;
}

Reexec *manager_get_reexec(Manager *m) {
        return m->reexec;
}

void manager_job_adopt(Manager *m, Job *j) {
        JobRuntime *rt = job_runtime(j);
        int r;

        if (j->main_pid > 0)
                (void) hashmap_replace(m->pids, HASHMAP_UINT(j->main_pid), j);
        if (j->control_pid > 0)
                (void) hashmap_replace(m->pids, HASHMAP_UINT(j->control_pid), j);
        if (rt->main_error_fd >= 0) {
                r = sd_event_add_io(m->event, &rt->main_exec_source, rt->main_error_fd, EPOLLIN, on_exec_pipe, j);
                if (r < 0)
                        log_warning_errno(r, "%s: Failed to watch the exec of pid %d: %m", j->name, (int) j->main_pid);
        }
        if (rt->control_error_fd >= 0) {
                r = sd_event_add_io(m->event, &rt->control_exec_source, rt->control_error_fd, EPOLLIN,
                                    on_exec_pipe, j);
                if (r < 0)
                        log_warning_errno(r, "%s: Failed to watch the exec of pid %d: %m", j->name,
                                          (int) j->control_pid);
        }
        /* The same monotonic deadline as before the exec: the clock did not move. */
        if (j->timer_usec != USEC_INFINITY)
                job_arm_timer(m, j, j->timer_usec);
        if (!job_is_inactive(j))
                m->n_busy++;
        if (rt->waiting_group)
                m->n_waiting_group++;
        if (rt->start_queued || rt->stop_queued)
                queue_candidate(m, j);
        m->generation++;
        /* Loading wrote "stopped" for every job it found; put the true state back. */
        if (m->registry)
                (void) registry_job_update(m->registry, j->name, job_public_state_string(j),
                                           job_result_to_string(j->result), j->main_pid, j->restart_count,
                                           rt->state_change_realtime, rt->status_text);
}
