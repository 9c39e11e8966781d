/* The SQLite registry (SPEC §11): jobs and their enable state, every run, heartbeats, the audit
 * log. No SQL leaves registry.c. Writes are batched: the first write opens a transaction, the
 * manager commits once per event-loop iteration (registry_commit), so starting 1000 jobs costs a
 * few commits. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/macro.h"
#include "util/time-util.h"

typedef struct Registry Registry;

/* PRAGMA user_version of the schema this build writes. Older files are migrated on open. */
#define REGISTRY_SCHEMA_VERSION 3

/* Opens (creating) path in WAL mode, synchronous=FULL, runs migrations up to the current
 * PRAGMA user_version, and closes runs left open by a pmd that was killed (end time = now,
 * result "abandoned"); *ret_n_abandoned says how many. A file with a newer schema than
 * REGISTRY_SCHEMA_VERSION is left untouched: -EPROTO. now_realtime USEC_INFINITY leaves open runs
 * open (a re-executed pmd still supervises them). Other errors: -EBADMSG (corrupt / not a
 * database), -ENOENT / -EACCES (cannot open), -EBUSY (another writer holds the lock), -ENOSPC,
 * -EOPNOTSUPP (WAL unavailable), -EIO. */
int registry_open(const char *path, usec_t now_realtime, Registry **ret, unsigned *ret_n_abandoned);
Registry *registry_free(Registry *r); /* commits what is pending, then closes */
DEFINE_TRIVIAL_CLEANUP_FUNC(Registry *, registry_free);

/* Commit the open batch, if any. Cheap when nothing is pending. On -EBUSY the batch stays open and
 * a later commit may succeed; on any other error the batch is rolled back (lost). */
int registry_commit(Registry *r);

/* Text of the last failure, for log messages (registry.c does not log). Valid until the next call. */
const char *registry_last_error(Registry *r);

/* Every write below joins the open batch (opening one if needed); reads see the batch too. List
 * functions return the number of entries passed to cb, or cb's first negative return; cb must not
 * call the same list function. */

/* Job rows: current state snapshot. */
int registry_job_update(Registry *r, const char *name, const char *state, const char *result,
                        pid_t pid, unsigned restarts, usec_t since_realtime, const char *status_text);
int registry_job_delete(Registry *r, const char *name); /* job file removed; runs/audit stay */
/* Enable state set with pmctl enable/disable: *ret = 1/0, or -1 when never set. */
int registry_job_get_enabled(Registry *r, const char *name, int *ret);
int registry_job_set_enabled(Registry *r, const char *name, bool enabled);

/* Runs. exit_code is CLD_EXITED/CLD_KILLED/CLD_DUMPED (0 when it never ran), status the exit
 * status or signal. run_end of an unknown id: -ENOENT. */
int registry_run_begin(Registry *r, const char *name, pid_t pid, usec_t start_realtime, int64_t *ret_id);
int registry_run_end(Registry *r, int64_t id, usec_t end_realtime, int exit_code, int exit_status,
                     const char *result);
/* Where the run's output starts in the job's current log file (LOG_DIR/NAME.log); 0 again after
 * a rotation. -ENOENT for an unknown id. */
int registry_run_set_log_offset(Registry *r, int64_t id, uint64_t offset);

/* Audit: actor is "uid:0", "pmd", "http:alice" …; outcome "ok" or an error text. */
int registry_audit(Registry *r, usec_t ts_realtime, const char *actor, const char *action,
                   const char *job, const char *outcome);

typedef struct RegistryAuditEntry {
        int64_t id;
        usec_t ts;
        const char *actor, *action, *job, *outcome;
} RegistryAuditEntry;
/* The last n entries, oldest first. */
int registry_audit_list(Registry *r, unsigned n,
                        int (*cb)(const RegistryAuditEntry *e, void *userdata), void *userdata);

typedef struct RegistryRun {
        int64_t id;
        const char *job;
        pid_t pid;
        usec_t start, end; /* end 0 = still running */
        int exit_code, exit_status;
        const char *result;
        int64_t log_offset; /* -1: not known (no log, or recorded by an older pmd) */
} RegistryRun;
/* The last n runs of a job (or all jobs when job is NULL), oldest first. */
int registry_run_list(Registry *r, const char *job, unsigned n,
                      int (*cb)(const RegistryRun *e, void *userdata), void *userdata);

/* Heartbeats: appends one and keeps only the last keep_last of that job; the job's counter of
 * heartbeats ever received goes up by one (a job row is created if there is none). Heartbeats go
 * with registry_job_delete. */
int registry_heartbeat_add(Registry *r, const char *job, usec_t ts_realtime, const char *source,
                           const char *status, unsigned keep_last);
typedef struct RegistryHeartbeat {
        int64_t id;
        const char *job;
        usec_t ts;
        const char *source, *status; /* may be NULL */
} RegistryHeartbeat;
/* The last n heartbeats of a job, oldest first. */
int registry_heartbeat_last(Registry *r, const char *job, unsigned n,
                            int (*cb)(const RegistryHeartbeat *h, void *userdata), void *userdata);
/* Heartbeats ever recorded for job (0 for an unknown job). */
int registry_heartbeat_count(Registry *r, const char *job, uint64_t *ret);

/* Bounded growth: keeps the last keep_runs_per_job finished runs of each job (open runs always
 * stay) and the last keep_audit audit entries. Joins the batch; returns the number of rows
 * deleted. */
int registry_prune(Registry *r, unsigned keep_runs_per_job, unsigned keep_audit);

/* A consistent copy (SQLite online backup) of what is committed (the open batch is committed
 * first) to path, which must not exist (-EEXIST): a backup never overwrites anything. */
int registry_backup(Registry *r, const char *path);
