/* The one Manager: the sd-event loop, the job table, SIGCHLD and timers, and the calls that the
 * control faces (D-Bus, HTTP, signals) share. Bus and HTTP are two faces of one manager call:
 * add the call here, then expose it in both. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "job.h"
#include "pid1.h"
#include "registry.h"
#include "util/hashmap.h"

typedef struct Manager Manager;
typedef struct CGroupRoot CGroupRoot;
typedef struct JobLog JobLog;
typedef struct LogContext LogContext;

typedef struct ManagerOptions {
        char **job_dirs;
        char *state_dir;
        char *log_dir;
        char *socket_path;
        char *bus;          /* "system", "user", "none" or an address; NULL = system if reachable */
        char *http;         /* "ADDR:PORT" or "off" */
        char *plugin_dir;
        bool user_mode;
        char **main_argv;   /* "-- COMMAND ARGS": the job "main" */
} ManagerOptions;

/* What the manager keeps per job beside the state machine (Job.manager_data). */
/* A job's resource usage (job_usage_sample() in metrics.c). */
typedef struct JobUsage {
        uint64_t cpu_nsec;     /* UINT64_MAX: unknown */
        uint64_t memory_bytes; /* UINT64_MAX: unknown */
} JobUsage;

typedef struct JobRuntime {
        Manager *manager;
        sd_event_source *timer;
        int main_pidfd, control_pidfd;
        sd_event_source *main_exec_source, *control_exec_source; /* exec-error pipes */
        int main_error_fd, control_error_fd;
        char *spawn_error;            /* what failed in the child, for the status text */
        bool main_exec_failed, control_exec_failed; /* the child reported a failure before exec */
        pid_t main_pgid, control_pgid; /* process groups of the run (process-group kill mode) */
        int cgroup_fd;                /* the job's cgroup, or -1 */
        bool waiting_group;           /* stopping: waiting for the group to empty */
        sd_event_source *group_source; /* cgroup.events watch while waiting_group */
        int64_t run_id;               /* registry row of the current run, 0 if none */
        usec_t state_change_realtime; /* µs since the epoch */
        usec_t run_start_realtime;
        usec_t last_heartbeat_realtime;
        char *status_text;            /* STATUS= or the last error */
        bool start_queued, stop_queued; /* waiting for ordering */
        JobConfig *next_config;       /* reload: apply after the stop */
        bool remove_when_stopped;     /* reload: the file is gone */
        bool was_active;              /* reload: restart after applying next_config */
        bool enabled;                 /* AutoStart= or the registry's enable state */
        JobLog *log;                  /* output capture (manager-log.c), made at the first spawn */
        uint64_t log_offset;          /* where the current run's output starts in NAME.log */
        char *heartbeat_token;        /* PMD_HEARTBEAT_TOKEN of the current run (hex), NULL before */
        JobUsage usage;               /* for the D-Bus properties, as of Manager.usage_iteration */
} JobRuntime;

static inline JobRuntime *job_runtime(const Job *j) {
        return j->manager_data;
}

int manager_new(const ManagerOptions *o, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Open the registry, load the job files, start what should run. */
int manager_startup(Manager *m);
/* Run the loop until shutdown; *ret_exit_status is what pmd should exit with. */
int manager_run(Manager *m, int *ret_exit_status);

sd_event *manager_get_event(Manager *m);
Registry *manager_get_registry(Manager *m);
const ManagerOptions *manager_get_options(Manager *m);
usec_t manager_get_startup_realtime(Manager *m);
LogContext *manager_get_log_context(Manager *m);

Job *manager_get_job(Manager *m, const char *name);
size_t manager_n_jobs(Manager *m);
/* All jobs sorted by name; the array is owned by the caller (free()), the jobs are not. */
int manager_list_jobs(Manager *m, Job ***ret, size_t *ret_n);

/* Control calls. actor names who asked ("uid:1000", "pmd", "signal"), for the audit log.
 * -ENOENT no such job, -EINVAL bad argument; 0 when the request is queued. */
int manager_start_job(Manager *m, const char *name, const char *actor);
int manager_stop_job(Manager *m, const char *name, const char *actor);
int manager_restart_job(Manager *m, const char *name, const char *actor);
/* Run the job's ExecReload= commands (the job stays running): -EOPNOTSUPP without any, -EBUSY
 * unless it is running and no reload runs. */
int manager_reload_job(Manager *m, const char *name, const char *actor);
int manager_kill_job(Manager *m, const char *name, int sig, const char *actor);
int manager_enable_job(Manager *m, const char *name, bool enable, const char *actor);
int manager_reload(Manager *m, const char *actor);
/* Stop everything in reverse order, then leave the loop with exit_status. */
int manager_shutdown(Manager *m, int exit_status, const char *actor);
int manager_heartbeat(Manager *m, const char *name, const char *source, const char *status,
                      const char *actor);
/* Write an audit record (e.g. a refused call). */
void manager_audit(Manager *m, const char *actor, const char *action, const char *job, const char *outcome);

/* Observers: told of every state change of a job, after the loop iteration's registry batch that
 * holds it was committed (so a client that hears of a change finds it in the registry). The
 * change carries the state as it was at that moment; job is NULL when the job is gone since (a
 * reload removed it). A job that a reload adds or removes comes with a change of its own. */
typedef enum JobChangeKind {
        JOB_CHANGE_STATE,
        JOB_CHANGE_ADDED,
        JOB_CHANGE_REMOVED,
} JobChangeKind;
typedef struct JobChange {
        Job *job;
        const char *name;
        JobPublicState state;
        JobResult result;
        pid_t pid;
        JobChangeKind kind;
} JobChange;
typedef void (*ManagerJobObserver)(Manager *m, const JobChange *c, void *userdata);
int manager_add_observer(Manager *m, ManagerJobObserver f, void *userdata);

/* For the notify socket and the HTTP face (notify.c, http.c). */
/* The job a process belongs to: its main or control process, else by the job's cgroup, else by
 * its process group; NULL for a process of no job. */
Job *manager_job_by_pid(Manager *m, pid_t pid);
/* Carry out the actions of a job event (job_on_*()) the way the manager's own events are: in
 * order, with the accounting of busy jobs and the shutdown check. was_inactive is
 * job_is_inactive() from before the event. */
void manager_job_actions(Manager *m, Job *j, JobActions *a, bool was_inactive);
/* STATUS= and the like: the job's status text (NULL clears it). */
void manager_set_status_text(Manager *m, Job *j, const char *text);
/* MAINPID=: pid (a process of the job, checked by the caller) becomes the main process. */
int manager_job_set_main_pid(Manager *m, Job *j, pid_t pid);
/* Goes up with every change a reader of /status could see (state, status text, heartbeat, jobs
 * added or removed): lets the HTTP face cache what it rendered. */
uint64_t manager_generation(Manager *m);
typedef struct NotifyServer NotifyServer;
typedef struct HttpServer HttpServer;
NotifyServer *manager_get_notify(Manager *m);
HttpServer *manager_get_http(Manager *m);
CGroupRoot *manager_get_cgroup_root(Manager *m);

/* Usage of all processes of a job (cgroup, else the process group from /proc); UINT64_MAX for
 * what is not known. */
int manager_job_usage(Manager *m, Job *j, JobUsage *ret);

/* PID 1 (pid1.c). Stop every job as manager_shutdown() does, then: PID1_EXIT leaves the loop (pmd
 * exits); halt, poweroff and reboot leave it too, and main.c ends the system with reboot(2) in
 * --boot mode, or exits 0 in a container. A later request overrides the action of an earlier
 * one. Used by SIGRTMIN+3/+4/+5 and by the bus's Halt/PowerOff/Reboot. */
int manager_shutdown_action(Manager *m, Pid1Action action, const char *actor);
/* What the loop ended for; PID1_EXIT unless halt, poweroff or reboot was asked. */
Pid1Action manager_get_action(Manager *m);

/* Re-execution (serialize.c): check that pmd can exec itself, then do it right after this loop
 * iteration (so the caller's reply goes out first), keeping every job. 0 = scheduled; -ESHUTDOWN
 * while stopping; else why it cannot happen. A failure of the exec itself is logged and audited,
 * and pmd goes on in the old image. */
int manager_reexecute(Manager *m, const char *actor);
typedef struct Reexec Reexec;
Reexec *manager_get_reexec(Manager *m);
/* serialize.c, in the new image: the job's fields were restored; register its pids, exec pipes,
 * timer and accounting with the loop, as if it had been running here all along. */
void manager_job_adopt(Manager *m, Job *j);
