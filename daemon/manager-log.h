/* The manager's side of job log capture (logpipe.c): one JobLog per job, made at its first
 * spawn from the job's [Log] settings, its trouble turned into pmd's log and the job's status
 * text, its positions into the registry's runs. An extension of manager.c kept apart so that the
 * log plumbing does not crowd the state machine's driver. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "manager.h"

/* manager_new(): register the re-execution hook that carries the job log pipes across the exec. */
int manager_log_setup(Manager *m);
/* A re-executed pmd, after the jobs are taken back: take their log pipes (and what was read of
 * them but not written) back too, so that no line is lost and no job gets SIGPIPE. */
void manager_log_deserialize(Manager *m);

/* A descriptor for the child's stdout (err false) or stderr: the write end of the job's pipe. */
int manager_log_open_fd(Manager *m, Job *j, bool err, int *ret);
/* A process of the job was spawned: its pid goes into json entries. */
void manager_log_spawned(Manager *m, Job *j, pid_t pid);
/* A run began (its registry row exists): note where its output starts in NAME.log. */
void manager_log_run_begin(Manager *m, Job *j);
/* A run ended: what the job wrote is read and written out, unfinished lines included. */
void manager_log_run_end(Manager *m, Job *j);
/* pmctl logs --rotate JOB: rotate the log of job name now (or reopen it when someone else moved
 * it away). name NULL (SIGUSR1, logrotate's postrotate): reopen every job log that was moved
 * away, leave the others alone. -ENOENT: no such job. */
int manager_rotate_logs(Manager *m, const char *name, const char *actor);
