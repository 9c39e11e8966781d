/* The job state machine: events in, actions out, no fork, no clocks, no fds.
 *
 * A Job is one supervised program. The manager feeds it events (job_start, job_stop,
 * job_on_exit, job_on_timeout, job_on_ready, …) with the current monotonic time as a parameter;
 * each handler changes the job's fields and appends the actions the manager must carry out, in
 * order (spawn a command, send a signal, arm the job's one timer, persist and announce a state
 * change, resolve the main pid of a forking job). Nothing here reads a clock or touches a
 * process, so test-job.c drives every transition with fake time.
 *
 * Internal states, and what each means (the public SPEC §4 state is derived by one table):
 *
 *   DEAD         nothing runs, nothing scheduled                               → stopped
 *   START_PRE    an ExecStartPre= command runs (control process)               → starting
 *   START        the main process runs and is not ready yet: waiting for exec
 *                (Type=exec), READY=1 (notify), the parent's exit and PIDFile
 *                (forking); for Type=oneshot the command itself runs           → starting (oneshot: running)
 *   START_POST   an ExecStartPost= command runs, main is up                    → starting
 *   RUNNING      the main process is up                                        → running
 *   RELOAD       an ExecReload= command runs, main is up                       → running
 *   STOP         an ExecStop= command runs, main still up                      → stopping
 *   STOP_SIGTERM KillSignal= sent to what is left, waiting TimeoutStopSec=     → stopping
 *   STOP_SIGKILL SIGKILL sent to what is left, waiting once more               → stopping
 *   AUTO_RESTART the run failed (or ended, Restart=always); a restart is timed → backoff
 *   EXITED       a oneshot job finished with success                           → exited
 *   FAILED       failed and will not be restarted                              → failed
 *
 * Transitions (→ on event):
 *   DEAD/EXITED/FAILED/AUTO_RESTART  --start-->  START_PRE (if ExecStartPre=) or START
 *   START_PRE  --control exit ok-->  next ExecStartPre= or START; --fail/timeout--> STOP_SIGTERM
 *   START      --ready-->  START_POST or RUNNING; simple: straight to RUNNING after the spawn
 *   START      --main exit (oneshot, ok)-->  next ExecStart= or START_POST or EXITED
 *   START      --main exit (forking, ok)-->  RESOLVE_MAIN_PID action; then ready or failure
 *   RUNNING    --main exit-->  STOP_SIGTERM if processes are left, else the end of the run
 *   any up state  --stop-->  STOP (if ExecStop=) or STOP_SIGTERM
 *   STOP_SIGTERM  --timeout-->  STOP_SIGKILL  --timeout-->  end of the run (gives up waiting)
 *   end of the run: restart requested → START; target stopped → DEAD (or FAILED on failure);
 *                   Restart= says so → AUTO_RESTART (or FAILED/start-limit past the retries);
 *                   otherwise DEAD / EXITED (oneshot success) / FAILED
 *   AUTO_RESTART  --timeout-->  START
 *   RUNNING    --watchdog (timer, or WATCHDOG=trigger)-->  STOP_SIGTERM, SIGABRT to main, result watchdog
 *   RUNNING    --heartbeat-->  RUNNING, watchdog deadline pushed (the one timer moves)
 *   START_POST/RUNNING/RELOAD  --stopping (STOPPING=1)-->  STOP_SIGTERM without a signal
 *   START_PRE/START/START_POST/RELOAD/STOP/STOP_SIGTERM  --extend timeout-->  later deadline
 *
 * Fields: `state` is written by job_set_state() only; `target` is what the user wants (running
 * or stopped); `result` is the first failure of the current run ("first failure wins").
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "job-config.h"
#include "util/hashmap.h"
#include "util/time-util.h"

typedef enum JobState {
        JOB_DEAD,
        JOB_START_PRE,
        JOB_START,
        JOB_START_POST,
        JOB_RUNNING,
        JOB_RELOAD,
        JOB_STOP,
        JOB_STOP_SIGTERM,
        JOB_STOP_SIGKILL,
        JOB_AUTO_RESTART,
        JOB_EXITED,
        JOB_FAILED,
        _JOB_STATE_MAX,
        _JOB_STATE_INVALID = -EINVAL,
} JobState;

/* The public states of SPEC §4. */
typedef enum JobPublicState {
        JOB_PUBLIC_STOPPED,
        JOB_PUBLIC_STARTING,
        JOB_PUBLIC_RUNNING,
        JOB_PUBLIC_STOPPING,
        JOB_PUBLIC_BACKOFF,
        JOB_PUBLIC_EXITED,
        JOB_PUBLIC_FAILED,
        _JOB_PUBLIC_STATE_MAX,
        _JOB_PUBLIC_STATE_INVALID = -EINVAL,
} JobPublicState;

typedef enum JobResult {
        JOB_SUCCESS,
        JOB_FAILURE_EXIT_CODE,
        JOB_FAILURE_SIGNAL,
        JOB_FAILURE_TIMEOUT,
        JOB_FAILURE_WATCHDOG,
        JOB_FAILURE_START_LIMIT,
        JOB_FAILURE_SPAWN_ERROR,
        JOB_FAILURE_DEPENDENCY,
        JOB_FAILURE_CONFIG,
        _JOB_RESULT_MAX,
        _JOB_RESULT_INVALID = -EINVAL,
} JobResult;

typedef enum JobTarget {
        JOB_TARGET_STOPPED,
        JOB_TARGET_RUNNING,
} JobTarget;

/* Which command list a control or main process runs. */
typedef enum JobCommand {
        JOB_COMMAND_START_PRE,
        JOB_COMMAND_START,
        JOB_COMMAND_START_POST,
        JOB_COMMAND_RELOAD,
        JOB_COMMAND_STOP,
        _JOB_COMMAND_MAX,
        _JOB_COMMAND_INVALID = -EINVAL,
} JobCommand;

typedef enum KillWho {
        KILL_WHO_MAIN,    /* the main process only */
        KILL_WHO_CONTROL, /* the control process only */
        KILL_WHO_ALL,     /* every process of the job, as KillMode= says */
} KillWho;

typedef enum JobActionType {
        JOB_ACTION_SPAWN,            /* run command[index] of list `command`, as main or control */
        JOB_ACTION_KILL,             /* send `signal` to `who` */
        JOB_ACTION_TIMER,            /* arm the job's timer at `usec` (USEC_INFINITY: disarm) */
        JOB_ACTION_STATE_CHANGED,    /* persist and announce the (new) state */
        JOB_ACTION_RUN_BEGIN,        /* a run's main process was spawned: record it */
        JOB_ACTION_RUN_END,          /* the run is over: record exit and result */
        JOB_ACTION_RESOLVE_MAIN_PID, /* forking: find the daemon (PIDFile= or the child left) */
        JOB_ACTION_AUDIT_RESTART,    /* an automatic restart happened (actor "pmd") */
} JobActionType;

typedef struct JobAction {
        JobActionType type;
        JobCommand command; /* SPAWN */
        size_t index;       /* SPAWN: which command of the list */
        bool main;          /* SPAWN: as the main process (else control) */
        int signal;         /* KILL */
        KillWho who;        /* KILL */
        usec_t usec;        /* TIMER */
} JobAction;

#define JOB_ACTIONS_MAX 16

typedef struct JobActions {
        JobAction items[JOB_ACTIONS_MAX];
        size_t n;
} JobActions;

/* What the manager knows about a process that ended. */
typedef struct ExitInfo {
        bool main;        /* the main process (else the control process) */
        int code;         /* CLD_EXITED, CLD_KILLED, CLD_DUMPED; 0 for a spawn failure */
        int status;       /* exit status or signal number */
        bool spawn_error; /* it never got to exec (ExecError reported, or fork failed) */
        bool group_empty; /* no other process of the job is left */
} ExitInfo;

typedef struct Job {
        char *name;
        JobConfig *config; /* owned */

        JobState state;          /* written by job_set_state() only */
        JobTarget target;
        JobResult result;        /* of the current/last run: first failure wins */
        bool restart_requested;  /* a manual restart: start again once stopped */

        pid_t main_pid;          /* 0: none; set by the manager after a spawn */
        pid_t control_pid;
        size_t command_index;    /* which command of the current list runs */
        JobCommand control_command;

        int exit_code;           /* of the last main process: CLD_* */
        int exit_status;

        unsigned restart_count;  /* automatic restarts since the job was loaded / reset */
        unsigned n_failures;     /* consecutive failed runs (backoff and retry limit) */
        usec_t run_started;      /* monotonic: when the current run became running */
        usec_t timer_usec;       /* the armed deadline, USEC_INFINITY when none */
        usec_t state_changed;    /* monotonic time of the last state change */
        usec_t watchdog_override_usec; /* WATCHDOG_USEC= of this run; 0: WatchdogSec= holds */

        /* ExecReload=, for whoever waits on a reload (D-Bus ReloadJob): the reloads ended so far
         * (one runs at a time, so the one under way is number reloads_ended + 1), and how the
         * last one ended: JOB_SUCCESS, the result of the command that failed,
         * JOB_FAILURE_TIMEOUT, or _JOB_RESULT_INVALID when the job stopped before it was done. */
        uint64_t reloads_ended;
        JobResult reload_result;

        /* Ordering, built by job_order_build(): the jobs this one starts after (After= here and
         * Before= there), and the reverse, the jobs that start after this one. */
        struct Job **after;
        size_t n_after;
        struct Job **dependents;
        size_t n_dependents;

        /* Owned by the manager (not touched by job.c): */
        void *manager_data;
} Job;

const char *job_state_to_string(JobState s);
JobState job_state_from_string(const char *s);
const char *job_public_state_to_string(JobPublicState s);
JobPublicState job_public_state_from_string(const char *s);
const char *job_result_to_string(JobResult r);
JobResult job_result_from_string(const char *s);
const char *job_command_to_string(JobCommand c);

int job_new(const char *name, JobConfig *config, Job **ret); /* takes config */
Job *job_free(Job *j);

JobPublicState job_public_state(const Job *j);
/* Up: running or on its way (starting, running, reloading); used for ordering and Requires=. */
bool job_is_active(const Job *j);
/* In a state where nothing runs (DEAD, EXITED, FAILED, AUTO_RESTART). */
bool job_is_inactive(const Job *j);
const ExecCommandList *job_command_list(const Job *j, JobCommand c);

/* Pure policy. */
bool job_shall_restart(const JobConfig *c, JobResult result);
usec_t job_restart_delay(const JobConfig *c, unsigned n_failures);

/* Events. Each returns 0 (actions appended) or < 0 on a programming error. */
int job_start(Job *j, usec_t now, JobActions *a);
int job_stop(Job *j, usec_t now, JobActions *a);
int job_restart(Job *j, usec_t now, JobActions *a);
int job_reload(Job *j, usec_t now, JobActions *a);
int job_on_exit(Job *j, const ExitInfo *e, usec_t now, JobActions *a);
int job_on_group_empty(Job *j, usec_t now, JobActions *a);
int job_on_timeout(Job *j, usec_t now, JobActions *a);
int job_on_ready(Job *j, usec_t now, JobActions *a);
/* forking: the manager found the daemon (pid > 0) or not (pid == 0). */
int job_on_main_pid(Job *j, pid_t pid, usec_t now, JobActions *a);
/* A Requires= job is missing or failed: the start fails with result dependency. */
int job_fail_dependency(Job *j, usec_t now, JobActions *a);
/* The watchdog deadline passed without a heartbeat, or the job asked for it (WATCHDOG=trigger):
 * RUNNING → SIGABRT to main, then the normal stop, result watchdog. */
int job_on_watchdog(Job *j, usec_t now, JobActions *a);
/* A heartbeat (WATCHDOG=1, HTTP, D-Bus): RUNNING pushes the watchdog deadline to now + the
 * interval; other states ignore it. Unlike job_on_ready it never makes a job ready. */
int job_on_heartbeat(Job *j, usec_t now, JobActions *a);
/* WATCHDOG_USEC=: the watchdog interval of this run from now on (a RUNNING job's deadline is
 * re-armed, a starting job's applies once it runs); a new start goes back to WatchdogSec=. */
int job_set_watchdog(Job *j, usec_t usec, usec_t now, JobActions *a);
/* The watchdog interval in force: WATCHDOG_USEC= of the run, else WatchdogSec=; 0 = none. */
usec_t job_watchdog_usec(const Job *j);
/* EXTEND_TIMEOUT_USEC=: a start, reload or stop deadline becomes now + usec where that is later
 * (never earlier, and "no limit" stays so). RUNNING (the watchdog) is not extended. */
int job_on_extend_timeout(Job *j, usec_t usec, usec_t now, JobActions *a);
/* STOPPING=1: an up job is going down on its own: STOP_SIGTERM without a signal, with the stop
 * deadline armed (then SIGKILL); its exit is handled by Restart= as any other. */
int job_on_stopping(Job *j, usec_t now, JobActions *a);
/* Forget a failed/exited state (a manual start does this too). */
void job_reset_counters(Job *j);

/* Ordering (job-order.c). Resolve After=/Before= of jobs[0..n) to edges between them (names
 * that are not jobs are ignored), find cycles and break each by dropping the edge that closes
 * it; every broken cycle is described in *ret_messages ("ordering cycle a -> b -> a, ignoring
 * After=b of a"). O(jobs + edges). */
int job_order_build(Job **jobs, size_t n, const Hashmap *by_name, char ***ret_messages);
void job_order_clear(Job *j);
